"""The last step of a rewrite: make the new code fit the project's checks.

Runs once per rewritten file, after every pass, on the text all passes produced: the imports
(dead ones removed, repeats dropped, isort's order kept: `import_block`) and the lines the
rewrite made too long (`wrap`). Neither knows anything about HTTP.
"""
from __future__ import annotations

from typing import List, Optional, Tuple

import libcst as cst

from unfake_async.codemod.engine.layout import pieces
from unfake_async.codemod.engine.layout.explode import explode_multiline_arguments
from unfake_async.codemod.engine.layout.imports import tidy_imports
from unfake_async.codemod.engine.layout.statement_lines import (
    any_within,
    lines_within,
    multi_line_spans,
    parse,
    top_level_line_ranges,
)
from unfake_async.codemod.engine.layout.tracked_codegen import StatementTexts
from unfake_async.codemod.engine.layout.wrap import (
    join_rewritten_statements,
    known_lines,
    wrap_long_lines_and_code,
)


def finish(original: str, code: str, *, line_length: int, path: Optional[str] = None,
           original_module: Optional[cst.Module] = None) -> str:
    """`code`, the rewrite of `original`, with its imports and long lines put in order.
    `original_module`: `original` parsed already, if it was (it is only read)."""
    try:
        original_module = import_view(original_module or pieces.parse_module(original))
        tree = parse(code)  # None where Python's parser does not take it
        module = pieces.parse_module(code, tree)
    except cst.ParserSyntaxError:
        return code
    module = tidy_imports(original, original_module, module, code, path, tree)
    tree = None
    known = known_lines(original)
    texts = StatementTexts()
    # Line work needs positions (metadata over the whole tree): only the top-level statements
    # where it can change something get it, each in a module of its own (columns are the same there).
    body = list(module.body)
    for index, spanning in _statements_to_lay_out(module, texts.code(module), known, line_length):
        alone = module.with_changes(body=[body[index]], header=[], footer=[])
        if spanning:  # joining and exploding work on what spans lines; wrapping on any long line
            alone = join_rewritten_statements(alone, known)
            alone = explode_multiline_arguments(alone, known, module.default_indent)
        alone, text = wrap_long_lines_and_code(alone, known, line_length)
        body[index] = alone.body[0]
        if text is not None and alone.has_trailing_newline:
            texts.remember(module, body[index], text)  # alone in a module, its text is the module's
    return texts.code(module.with_changes(body=body))


def import_view(module: cst.Module) -> cst.Module:
    """`module` with the bodies of its top-level defs and classes emptied: all the layout reads
    of the original (its import block, its module-level imports, every statement's leading
    lines), without the original's whole tree held while the rewrite is parsed beside it
    (a 10,000-line module's tree: about 20 MB once parsed)."""
    emptied = cst.IndentedBlock(body=[cst.SimpleStatementLine(body=[cst.Pass()])])
    return module.with_changes(body=[
        statement.with_changes(body=emptied) if isinstance(statement, (cst.FunctionDef, cst.ClassDef)) else statement
        for statement in module.body
    ])


def _statements_to_lay_out(module: cst.Module, text: str, known, line_length: int) -> List[Tuple[int, bool]]:
    """(index, whether a new line of it lies inside a statement or call spanning lines) of each
    top-level statement holding a line the rewrite wrote (not in `known`) that the layout steps
    can change: one longer than `line_length` (wrap), or one inside something spanning lines
    (join, explode). Line ranges come from Python's `ast`: LibCST's positions would cost a
    metadata pass over the file, and the steps' own, one per statement, 3 ms each (6 s at
    2,000 rewritten coroutines). `text`: `module`'s code."""
    lines = text.splitlines()
    new = [number for number, line in enumerate(lines, start=1) if line.strip() not in known]
    if not new:
        return []
    tree = parse(text)
    if tree is None:
        return [(index, True) for index in range(len(module.body))]
    spanning = sorted(lines_within(new, multi_line_spans(tree)))
    long = [number for number in new if len(lines[number - 1]) > line_length]
    chosen = []
    for index, (start, end) in enumerate(top_level_line_ranges(module, tree)):
        spans = any_within(spanning, start, end)
        if spans or any_within(long, start, end):
            chosen.append((index, spans))
    return chosen

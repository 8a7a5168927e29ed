"""The last step of a rewrite: make the new code fit the project's checks.

Runs once per rewritten file, after every pass, on the text all passes produced: the imports
(dead ones removed, repeats dropped, isort's order kept: `import_block`) and the lines the
rewrite made too long (`wrap`). Neither knows anything about HTTP.
"""
from __future__ import annotations

import ast
from typing import List, Optional

import libcst as cst

from unfake_async.codemod.engine.layout.explode import explode_multiline_arguments
from unfake_async.codemod.engine.layout.imports import tidy_imports
from unfake_async.codemod.engine.layout.wrap import (
    join_rewritten_statements,
    known_lines,
    wrap_long_lines,
)


def finish(original: str, code: str, *, line_length: int, path: Optional[str] = None,
           original_module: Optional[cst.Module] = None) -> str:
    """`code`, the rewrite of `original`, with its imports and long lines put in order.
    `original_module`: `original` parsed already, if it was (it is only read)."""
    try:
        original_module = original_module or cst.parse_module(original)
        module = cst.parse_module(code)
    except cst.ParserSyntaxError:
        return code
    module = tidy_imports(original, original_module, module, path)
    known = known_lines(original)
    # Line work needs positions (metadata over the whole tree): only the top-level statements
    # holding a new line get it, each in a module of its own (columns are the same there).
    body = list(module.body)
    for index in _statements_with_new_lines(module, known):
        alone = module.with_changes(body=[body[index]], header=[], footer=[])
        alone = join_rewritten_statements(alone, known)
        alone = explode_multiline_arguments(alone, known, module.default_indent)
        alone = wrap_long_lines(alone, known, line_length)
        body[index] = alone.body[0]
    return module.with_changes(body=body).code


def _statements_with_new_lines(module: cst.Module, known) -> List[int]:
    """Indexes of the top-level statements with a line that is not in `known`. Python's `ast`
    gives their line ranges (LibCST's positions would cost a metadata pass over the file)."""
    text = module.code
    new = [number for number, line in enumerate(text.splitlines(), start=1) if line.strip() not in known]
    if not new:
        return []
    try:
        nodes = iter(ast.parse(text).body)
    except (SyntaxError, ValueError):
        return list(range(len(module.body)))
    found = []
    for index, statement in enumerate(module.body):
        count = len(statement.body) if isinstance(statement, cst.SimpleStatementLine) else 1
        group = [next(nodes) for _ in range(count)]
        start = min(node.lineno for top in group for node in [top, *getattr(top, "decorator_list", ())])
        end = max(top.end_lineno or top.lineno for top in group)
        if any(start <= number <= end for number in new):
            found.append(index)
    return found

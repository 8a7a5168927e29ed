"""Where each top-level statement of a LibCST module sits in its text, from Python's `ast`.

LibCST's positions are a metadata pass over the whole tree (1.6 s for a 10,000-line module);
`ast` gives every statement's first and last line for the cost of its parse (0.1 s). The layout
steps use it to work on the few statements a rewrite touched, or that name an import it may
remove, instead of the whole module.
"""
from __future__ import annotations

import ast
from bisect import bisect_left, bisect_right
from typing import Iterable, List, Optional, Set, Tuple

import libcst as cst

from unfake_async.codemod.engine.local_slice import first_line

_COMPOUND = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.If, ast.For, ast.AsyncFor,
             ast.While, ast.With, ast.AsyncWith, ast.Try) + tuple(
                 getattr(ast, name) for name in ("Match", "TryStar") if hasattr(ast, name))  # 3.10, 3.11


def parse(text: str) -> Optional[ast.Module]:
    """`text`'s `ast`; None where this interpreter's parser does not take it (newer syntax)."""
    try:
        return ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def top_level_line_ranges(module: cst.Module, tree: ast.Module) -> List[Tuple[int, int]]:
    """(first line, last line) of each statement of `module.body`, in order, where `tree` is the
    `ast` of `module`'s code; decorators count as part of what they decorate, the comments and
    blank lines LibCST attaches above a statement do not."""
    nodes = iter(tree.body)
    ranges = []
    for statement in module.body:
        # `a = 1; b = 2` is one LibCST statement line and two `ast` statements.
        count = len(statement.body) if isinstance(statement, cst.SimpleStatementLine) else 1
        group = [next(nodes) for _ in range(count)]
        start = min(first_line(top) for top in group)
        end = max(top.end_lineno or top.lineno for top in group)
        ranges.append((start, end))
    return ranges


def multi_line_spans(tree: ast.Module) -> List[Tuple[int, int]]:
    """(first line, last line) of every simple statement and every call that spans lines: where
    the layout may join or explode what a rewrite wrote (a line of its own elsewhere is left
    as it is, unless it is too long)."""
    return [
        (node.lineno, node.end_lineno)
        for node in ast.walk(tree)
        if isinstance(node, (ast.stmt, ast.Call)) and not isinstance(node, _COMPOUND)
        and node.end_lineno is not None and node.end_lineno > node.lineno
    ]


def any_within(numbers: List[int], start: int, end: int) -> bool:
    """Whether one of `numbers` (sorted) lies in [start, end]."""
    at = bisect_left(numbers, start)
    return at < len(numbers) and numbers[at] <= end


def lines_within(numbers: List[int], spans: Iterable[Tuple[int, int]]) -> Set[int]:
    """The `numbers` (sorted) that lie within one of `spans` (first line, last line)."""
    found: Set[int] = set()
    for start, end in spans:
        found.update(numbers[bisect_left(numbers, start):bisect_right(numbers, end)])
    return found

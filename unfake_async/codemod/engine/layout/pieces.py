"""`cst.parse_module` of a big module, one piece of top-level statements at a time.

LibCST's native parser holds about 550 bytes per character of the text while it parses (its
tokens and its own tree before it makes the Python one), freed once the module is built: for the
14,000-line rewrite of a 2,000-site module, 205 MB of a 305 MB peak, where the resulting tree is
25 MB. Parsed in pieces of ~64,000 characters, the transient is a piece's.

A piece ends where the parse cannot tell it was cut: before a top-level statement preceded only
by empty lines (no comment, no whitespace: an indented comment there would go to the previous
block's footer), after the statement before them ends (Python's `ast` gives where). The empty
lines, which the piece's own parse puts in its module header, go back to the statement's
`leading_lines`, where the whole module's parse puts them. The indentation and newline LibCST
detects for a module are those of its first indented block and first newline; a piece whose
detection differs from the first piece's (or a first piece without an indented block) makes
the whole text parse in one go, as before. `tests/test_layout_pieces.py` compares the pieced
tree with the whole parse, node for node (`deep_equals`), on every fixture.
"""
from __future__ import annotations

import ast
from typing import List, Optional

import libcst as cst

from unfake_async.codemod.engine.local_slice import first_line

# Characters: below twice this, one parse (its transient is small enough).
PIECE_CHARS = 64_000


def parse_module(code: str, tree: Optional[ast.Module] = None, piece_chars: int = PIECE_CHARS) -> cst.Module:
    """`cst.parse_module(code)`, parsed in pieces when `code` is long. `tree`: `code`'s `ast`,
    if the caller has it (None where Python's parser rejected it: one parse then)."""
    if len(code) < 2 * piece_chars:
        return cst.parse_module(code)
    if tree is None:
        try:
            tree = ast.parse(code)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return cst.parse_module(code)
    lines = code.splitlines(keepends=True)
    starts = _piece_starts(tree, lines, piece_chars)
    if not starts:
        return cst.parse_module(code)
    try:
        joined = _joined(lines, starts)
    except cst.ParserSyntaxError:
        joined = None  # the whole text says where, or parses after all
    return joined or cst.parse_module(code)


def _piece_starts(tree: ast.Module, lines: List[str], piece_chars: int) -> List[int]:
    """The 0-based line numbers where pieces after the first begin, each at least `piece_chars`
    after the previous one's start."""
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    starts: List[int] = []
    begun = 0
    previous_end = None
    for statement in tree.body:
        first = first_line(statement)
        end = statement.end_lineno or statement.lineno
        if previous_end is not None and first > previous_end:
            # 1-based lines previous_end+1 .. first-1 lie between the two statements.
            gap = lines[previous_end:first - 1]
            if all(line in ("\n", "\r\n", "\r") for line in gap) and offsets[previous_end] - offsets[begun] >= piece_chars:
                starts.append(previous_end)
                begun = previous_end
        previous_end = end if previous_end is None else max(previous_end, end)
    if starts and offsets[-1] - offsets[starts[-1]] < piece_chars // 2:
        starts.pop()  # a short last piece: joined to the one before
    return starts


def _joined(lines: List[str], starts: List[int]) -> Optional[cst.Module]:
    bounds = [0] + starts + [len(lines)]
    first = cst.parse_module("".join(lines[bounds[0]:bounds[1]]))
    if not any(isinstance(getattr(s, "body", None), cst.IndentedBlock) for s in first.body):
        return None  # the module's indentation may be detected later in the text
    body = list(first.body)
    last = first
    for begin, end in zip(bounds[1:], bounds[2:]):
        piece = cst.parse_module("".join(lines[begin:end]))
        if (piece.default_indent, piece.default_newline) != (first.default_indent, first.default_newline):
            return None  # the piece's blocks would be written relative to another indentation
        opening = piece.body[0]
        body.append(opening.with_changes(leading_lines=[*piece.header, *opening.leading_lines]))
        body.extend(piece.body[1:])
        last = piece
    return first.with_changes(body=body, footer=last.footer, has_trailing_newline=last.has_trailing_newline)


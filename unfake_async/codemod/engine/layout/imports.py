"""The module's import block after a rewrite, as the project's isort (ruff's `I`) wants it.

The passes add imports with LibCST's `AddImportsVisitor` (which appends them after the last
import) and drop the ones they know went dead. This module finishes the job once per rewritten
file: it removes imports whose last use the rewrite took away and new imports that repeat one
the module already has (dead_imports.py), and puts the block back in isort's order.

It re-sorts only a block that was in isort's order before (as ruff's defaults sort it: sections
future, standard library, third party, first party, local, one blank line between them; plain
`import x` before `from x import y` within a section; one blank line after the block, two before
a def or class). A block in some other order is the project's own choice: new imports are then
left where LibCST put them. LibCST has no isort of its own and isort is not a dependency; the
ordering below is the small part of it a block of plain imports needs.
"""
from __future__ import annotations

import ast
import re
import sys
from typing import FrozenSet, List, Optional, Sequence, Tuple

import libcst as cst
from libcst.helpers import get_full_name_for_node

from unfake_async.codemod.engine.layout.dead_imports import (
    drop_repeated,
    no_new_blank_lines_at_the_top,
    remove_newly_unused,
)
from unfake_async.codemod.engine.layout.first_party import first_party_names

_FUTURE, _STDLIB, _THIRD_PARTY, _FIRST_PARTY, _LOCAL = range(5)
# Python 3.10+ knows its standard library; on 3.9 the names the migration adds and meets.
_STDLIB_NAMES: FrozenSet[str] = frozenset(getattr(sys, "stdlib_module_names", ())) or frozenset({
    "abc", "asyncio", "base64", "collections", "concurrent", "contextlib", "dataclasses",
    "functools", "hashlib", "http", "io", "itertools", "json", "logging", "os", "pathlib", "re",
    "ssl", "socket", "sys", "threading", "time", "typing", "urllib", "uuid", "warnings",
})


def tidy_imports(original: str, original_module: cst.Module, module: cst.Module, code: str,
                 path: Optional[str] = None, tree: Optional[ast.Module] = None) -> cst.Module:
    """`module` (the rewrite of `original`, parsed from `code`, whose `ast` `tree` is, if the
    caller has it) with dead, repeated and misplaced imports fixed."""
    module = remove_newly_unused(original, module, code, tree)
    module = drop_repeated(original_module, module, _leading_statements(module))
    module = no_new_blank_lines_at_the_top(original_module, module)
    before = _block(original_module)
    if before is None:
        return module
    first_party = first_party_names(path)
    if not _is_sorted(before, first_party):
        return module
    block = _block(module)
    if block is None:
        return module
    return _sorted_block(block, first_party, _head_lines(before))


def _head_lines(before: _Block) -> Optional[List[cst.EmptyLine]]:
    """What stood above the original block (blank lines after the docstring, a comment): the
    block keeps it whichever import now comes first. None: the original had no imports."""
    if not before.statements:
        return [cst.EmptyLine(indent=False)] if before.start else None
    return _attached_comments(before.statements[0])[0]


def _leading_statements(module: cst.Module) -> List[cst.CSTNode]:
    block = _block(module)
    return block.statements if block is not None else []


# -- the block and its order -------------------------------------------------------------------


class _Block:
    """The run of plain import statements at the top of a module (after its docstring)."""

    def __init__(self, module: cst.Module, start: int, end: int) -> None:
        self.module, self.start, self.end = module, start, end
        self.statements: List[cst.SimpleStatementLine] = list(module.body[start:end])

    @property
    def following(self) -> Optional[cst.BaseStatement]:
        return self.module.body[self.end] if self.end < len(self.module.body) else None


def _is_import_line(statement: cst.CSTNode) -> bool:
    return (isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1
            and isinstance(statement.body[0], (cst.Import, cst.ImportFrom)))


def _block(module: cst.Module) -> Optional[_Block]:
    body = module.body
    start = 0
    if body and isinstance(body[0], cst.SimpleStatementLine) and len(body[0].body) == 1 \
            and isinstance(body[0].body[0], cst.Expr) and isinstance(body[0].body[0].value, cst.SimpleString):
        start = 1
    end = start
    while end < len(body) and _is_import_line(body[end]):
        end += 1
    if end == start:
        return _Block(module, start, start)
    return _Block(module, start, end)



def _module_name(small: cst.CSTNode) -> str:
    if isinstance(small, cst.Import):
        return get_full_name_for_node(small.names[0].name) or ""
    return "." * len(small.relative) + (get_full_name_for_node(small.module) or "" if small.module else "")


def _section(small: cst.CSTNode, first_party: FrozenSet[str]) -> int:
    name = _module_name(small)
    if name.startswith("."):
        return _LOCAL
    if name == "__future__":
        return _FUTURE
    top = name.split(".")[0]
    if top in _STDLIB_NAMES:
        return _STDLIB
    return _FIRST_PARTY if top in first_party else _THIRD_PARTY


def _natural(text: str) -> Tuple:
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text.lower()))


def _member_key(name: str) -> Tuple:
    """ruff's order-by-type: CONSTANTS, then Classes, then the rest."""
    kind = 0 if name.isupper() and len(name) > 1 else 1 if name[:1].isupper() else 2
    return (kind, _natural(name), name)


def _alias_name(alias: cst.ImportAlias) -> str:
    return get_full_name_for_node(alias.name) or ""


def _statement_key(small: cst.CSTNode) -> Tuple:
    name = _module_name(small)
    first = small.names[0] if not isinstance(small.names, cst.ImportStar) else None
    asname = get_full_name_for_node(first.asname.name) if first is not None and first.asname else ""
    return (isinstance(small, cst.ImportFrom), _natural(name), name, asname or "")


def _sorted_members(small: cst.CSTNode) -> cst.CSTNode:
    if not isinstance(small, cst.ImportFrom) or isinstance(small.names, cst.ImportStar) or len(small.names) < 2:
        return small
    if small.lpar is not None:
        return small  # a parenthesised member list: its layout is the formatter's
    names = sorted(small.names, key=lambda alias: _member_key(_alias_name(alias)))
    comma = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
    names = [alias.with_changes(comma=comma) for alias in names[:-1]] + [
        names[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)]
    return small.with_changes(names=names)


def _attached_comments(statement: cst.SimpleStatementLine) -> Tuple[List[cst.EmptyLine], List[cst.EmptyLine]]:
    """(lines before the statement's own comments, its own comments: those right above it)."""
    lines = list(statement.leading_lines)
    cut = len(lines)
    while cut > 0 and lines[cut - 1].comment is not None:
        cut -= 1
    return lines[:cut], lines[cut:]


def _render(block: _Block, first_party: FrozenSet[str],
            head: Optional[List[cst.EmptyLine]] = None) -> Optional[List[cst.SimpleStatementLine]]:
    """The block's statements in isort's order, or None when it holds what that order cannot
    place (a comment between sections, `import a, b` on one line)."""
    if not block.statements:
        return []
    if head is None:
        head, _ = _attached_comments(block.statements[0])
    entries = []
    for index, statement in enumerate(block.statements):
        loose, own = _attached_comments(statement)
        if index and any(line.comment is not None for line in loose):
            return None
        small = statement.body[0]
        if isinstance(small, cst.Import) and len(small.names) > 1:
            return None
        entries.append((_section(small, first_party), _statement_key(small), own, statement))
    entries.sort(key=lambda entry: (entry[0], entry[1]))
    rendered, section = [], None
    for position, (kind, _, own, statement) in enumerate(entries):
        if position == 0:
            leading = list(head) + own
        elif kind != section:
            leading = [cst.EmptyLine(indent=False)] + own
        else:
            leading = own
        section = kind
        small = _sorted_members(statement.body[0])
        rendered.append(statement.with_changes(body=[small], leading_lines=leading))
    return rendered


def _blank_lines_after(statement: Optional[cst.BaseStatement]) -> Optional[int]:
    """How many blank lines ruff wants between the block and `statement` (None: no statement)."""
    if statement is None:
        return None
    return 2 if isinstance(statement, (cst.FunctionDef, cst.ClassDef)) else 1


def _leading_blank_count(statement: cst.BaseStatement) -> int:
    count = 0
    for line in statement.leading_lines:
        if line.comment is not None:
            break
        count += 1
    return count


def _is_sorted(block: _Block, first_party: FrozenSet[str]) -> bool:
    rendered = _render(block, first_party)
    if rendered is None:
        return False
    if not block.statements:
        return True
    same = cst.Module(body=rendered).code == cst.Module(body=block.statements).code
    wanted = _blank_lines_after(block.following)
    return same and (wanted is None or _leading_blank_count(block.following) == wanted)


def _sorted_block(block: _Block, first_party: FrozenSet[str],
                  head: Optional[List[cst.EmptyLine]]) -> cst.Module:
    rendered = _render(block, first_party, head)
    if rendered is None or not rendered:
        return block.module
    body: Sequence[cst.BaseStatement] = list(block.module.body)
    following = block.following
    tail = list(body[block.end:])
    wanted = _blank_lines_after(following)
    if following is not None and wanted is not None:
        comments = list(following.leading_lines)[_leading_blank_count(following):]
        tail[0] = following.with_changes(leading_lines=[cst.EmptyLine(indent=False)] * wanted + comments)
    return block.module.with_changes(body=list(body[:block.start]) + rendered + tail)

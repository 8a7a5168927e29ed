"""The module's import block after a rewrite, as the project's isort (ruff's `I`) wants it.

The passes add imports with LibCST's `AddImportsVisitor` (which appends them after the last
import) and drop the ones they know went dead. This module finishes the job once per rewritten
file: it removes imports whose last use the rewrite took away (`RemoveImportsVisitor`, which
asks the scope analysis, so an import still used anywhere, `__all__` included, stays), drops a
new import that repeats one the module already has, and puts the block back in isort's order.

It re-sorts only a block that was in isort's order before (as ruff's defaults sort it: sections
future, standard library, third party, first party, local, one blank line between them; plain
`import x` before `from x import y` within a section; one blank line after the block, two before
a def or class). A block in some other order is the project's own choice: new imports are then
left where LibCST put them. LibCST has no isort of its own and isort is not a dependency; the
ordering below is the small part of it a block of plain imports needs.
"""
from __future__ import annotations

import ast
import os
import re
import sys
from functools import lru_cache
from typing import FrozenSet, List, Optional, Sequence, Set, Tuple

import libcst as cst
from libcst.metadata import MetadataWrapper
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import GatherUnusedImportsVisitor, RemoveImportsVisitor
from libcst.helpers import get_absolute_module_from_package_for_import, get_full_name_for_node

_FUTURE, _STDLIB, _THIRD_PARTY, _FIRST_PARTY, _LOCAL = range(5)
# Python 3.10+ knows its standard library; on 3.9 the names the migration adds and meets.
_STDLIB_NAMES: FrozenSet[str] = frozenset(getattr(sys, "stdlib_module_names", ())) or frozenset({
    "abc", "asyncio", "base64", "collections", "concurrent", "contextlib", "dataclasses",
    "functools", "hashlib", "http", "io", "itertools", "json", "logging", "os", "pathlib", "re",
    "ssl", "socket", "sys", "threading", "time", "typing", "urllib", "uuid", "warnings",
})


def tidy_imports(original: str, original_module: cst.Module, module: cst.Module,
                 path: Optional[str] = None) -> cst.Module:
    """`module` (the rewrite of `original`) with dead, repeated and misplaced imports fixed."""
    module = _remove_newly_unused(original, module, module.code)
    module = _drop_repeated(original_module, module)
    module = _no_new_blank_lines_at_the_top(original_module, module)
    before = _block(original_module)
    if before is None:
        return module
    first_party = _first_party_names(path)
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


# -- dead and repeated imports ---------------------------------------------------------------


def _used_names(source: str) -> Set[str]:
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return set()
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}


# RemoveImportsVisitor names a relative import by its absolute module, which it computes from
# the context's package. Where the file sits in its package does not matter for "is this alias
# still used", so a made-up package deep enough for any relative import stands in for it.
_STAND_IN_PACKAGE = ".".join(f"_unfake_async_level{level}" for level in range(8))


def _absolute_module(statement: cst.ImportFrom) -> Optional[str]:
    return get_absolute_module_from_package_for_import(_STAND_IN_PACKAGE, statement)


def _aliases(module: cst.Module):
    """(statement, alias) of every top-level import but `__future__` and star imports."""
    for statement in module.body:
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if isinstance(small, cst.Import):
                for alias in small.names:
                    yield small, alias
            elif (isinstance(small, cst.ImportFrom) and not isinstance(small.names, cst.ImportStar)
                  and _absolute_module(small) is not None
                  and (small.relative or get_full_name_for_node(small.module) != "__future__")):
                for alias in small.names:
                    yield small, alias


def _binding(statement, alias: cst.ImportAlias) -> str:
    if alias.asname is not None:
        return get_full_name_for_node(alias.asname.name) or ""
    name = get_full_name_for_node(alias.name) or ""
    return name.split(".")[0] if isinstance(statement, cst.Import) else name


def _remove_newly_unused(original: str, module: cst.Module, rewritten: str) -> cst.Module:
    """Drop the imports the original used and the rewrite no longer does (LibCST decides what is
    unused; an import that was unused before is the project's business and stays)."""
    used_before = _used_names(original)
    # A name still read somewhere in the rewrite keeps its import: the scope analysis (the costly
    # part) is only asked about names the rewrite no longer reads as code (it also finds uses
    # in string annotations and `__all__`).
    used_after = _used_names(rewritten)
    context = CodemodContext(full_package_name=_STAND_IN_PACKAGE)
    candidates = False
    package_imports = []
    for statement, alias in _aliases(module):
        binding = _binding(statement, alias)
        if binding not in used_before or binding in used_after:
            continue
        if isinstance(statement, cst.ImportFrom) and statement.module is None:
            package_imports.append(alias)
            continue
        asname = get_full_name_for_node(alias.asname.name) if alias.asname is not None else None
        name = get_full_name_for_node(alias.name)
        if isinstance(statement, cst.Import):
            RemoveImportsVisitor.remove_unused_import(context, name, asname=asname)
        else:
            RemoveImportsVisitor.remove_unused_import(
                context, _absolute_module(statement), name, asname)
        candidates = True
    if package_imports:
        module = _remove_unused_package_imports(module, package_imports)
    if not candidates:
        return module
    return RemoveImportsVisitor(context).transform_module(module)


class _GatherUnusedPackageImports(GatherUnusedImportsVisitor):
    """LibCST's gatherer, also asked about `from . import name` (it skips imports that name no
    module, and so RemoveImportsVisitor never removes them)."""

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        if node.module is None and not isinstance(node.names, cst.ImportStar):
            self.handle_import(node)
            return False
        return super().visit_ImportFrom(node)


class _DropAliases(cst.CSTTransformer):
    def __init__(self, aliases: Set[cst.ImportAlias]) -> None:
        super().__init__()
        self.aliases = aliases

    def leave_ImportFrom(self, original_node: cst.ImportFrom, updated_node: cst.ImportFrom):
        if isinstance(original_node.names, cst.ImportStar):
            return updated_node
        keep = [alias for alias in original_node.names if alias not in self.aliases]
        if len(keep) == len(original_node.names):
            return updated_node
        if not keep:
            return cst.RemoveFromParent()
        keep[-1] = keep[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        return updated_node.with_changes(names=keep)


def _remove_unused_package_imports(module: cst.Module, candidates: List[cst.ImportAlias]) -> cst.Module:
    """`from . import name` aliases among `candidates` that the scope analysis finds unused
    (no reference, not in `__all__`, not in a string annotation) are dropped."""
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    wrapper.resolve_many(_GatherUnusedPackageImports.get_inherited_dependencies())
    gatherer = _GatherUnusedPackageImports(CodemodContext(wrapper=wrapper))
    wrapper.visit(gatherer)
    unused = {alias for alias, _ in gatherer.unused_imports} & set(candidates)
    if not unused:
        return module
    return module.visit(_DropAliases(unused))


def _import_keys(module: cst.Module, top_level_only: bool) -> List[Tuple[cst.CSTNode, str]]:
    """(statement, key) for each import anywhere at module level (in `if`/`try` too)."""
    found = []
    for statement in (module.body if top_level_only else _module_level_statements(module)):
        if isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1:
            small = statement.body[0]
            if isinstance(small, (cst.Import, cst.ImportFrom)):
                found.append((statement, cst.Module(body=[small.with_changes(semicolon=cst.MaybeSentinel.DEFAULT)]).code.strip()))
    return found


def _module_level_statements(module: cst.Module):
    """Every statement that runs at import time: the body, and inside `if`/`try` there."""
    pending = list(module.body)
    while pending:
        statement = pending.pop()
        yield statement
        if not isinstance(statement, (cst.If, cst.Try)):
            continue
        pending.extend(statement.body.body)
        for handler in getattr(statement, "handlers", ()):
            pending.extend(handler.body.body)
        for extra in (getattr(statement, "orelse", None), getattr(statement, "finalbody", None)):
            if isinstance(extra, cst.If):
                pending.append(extra)  # elif
            elif extra is not None:
                pending.extend(extra.body.body)


def _drop_repeated(original: cst.Module, module: cst.Module) -> cst.Module:
    """A top-level import the rewrite added that the module already had (at module level, maybe
    inside `try`/`if`, maybe further down, after code) is dropped (ruff F811). The module's own
    stays where it was; the copies dropped are those in the leading import block, where LibCST
    adds imports, first."""
    had = {key for _, key in _import_keys(original, top_level_only=False)}
    had_top = [key for _, key in _import_keys(original, top_level_only=True)]
    block = _block(module)
    leading = set(block.statements) if block is not None else set()
    occurrences: dict = {}
    for statement, key in _import_keys(module, top_level_only=True):
        occurrences.setdefault(key, []).append(statement)
    drop = set()
    for key, statements in occurrences.items():
        keep = had_top.count(key) or (0 if key in had else 1)
        extra = len(statements) - keep
        if extra <= 0:
            continue
        order = [s for s in statements if s in leading] + [s for s in reversed(statements) if s not in leading]
        drop.update(order[:extra])
    if not drop:
        return module
    return module.with_changes(body=[s for s in module.body if s not in drop])


def _no_new_blank_lines_at_the_top(original: cst.Module, module: cst.Module) -> cst.Module:
    """The blank lines that stood between removed imports and the code do not move to the top of
    the file (black and ruff format remove them)."""
    if not module.body or module.header or (original.body and original.body[0].leading_lines
                                            and original.body[0].leading_lines[0].comment is None):
        return module
    lines = list(module.body[0].leading_lines)
    while lines and lines[0].comment is None:
        lines.pop(0)
    return module.with_changes(body=[module.body[0].with_changes(leading_lines=lines)] + list(module.body[1:]))


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


@lru_cache(maxsize=64)
def _first_party_in(root: str) -> FrozenSet[str]:
    names = set()
    for folder in (root, os.path.join(root, "src")):
        try:
            entries = os.listdir(folder)
        except OSError:
            continue
        for entry in entries:
            if entry.endswith(".py"):
                names.add(entry[:-3])
            elif os.path.isdir(os.path.join(folder, entry)) and entry.isidentifier():
                names.add(entry)
    return frozenset(names)


def _own_top_package(directory: str) -> Optional[str]:
    """The top-level package a file in `directory` belongs to (the outermost of the folders
    with an `__init__.py` above it, through namespace folders without one, as the migration's
    client_source.py finds it), or None for a file outside any package."""
    while not os.path.exists(os.path.join(directory, "__init__.py")):
        parent = os.path.dirname(directory)
        if parent == directory or any(os.path.exists(os.path.join(directory, marker))
                                      for marker in ("pyproject.toml", "setup.py", "setup.cfg", ".git")):
            return None
        directory = parent
    top = None
    while os.path.exists(os.path.join(directory, "__init__.py")):
        top = os.path.basename(directory)
        parent = os.path.dirname(directory)
        if parent == directory:
            break
        directory = parent
    return top if top and top.isidentifier() else None


def _first_party_names(path: Optional[str]) -> FrozenSet[str]:
    """Top-level names ruff counts as first party: modules and packages in the project root or
    its `src/` (ruff's default `src = [".", "src"]`); the root is where pyproject.toml or .git is.
    The file's own top-level package counts too, found or not: the project's client module is
    imported from it (`from shop._http_client import ...`), and ruff, run from the folder that
    holds the package (its default project root), places that import as first party."""
    if not path or path.startswith("<"):
        return frozenset()
    directory = os.path.dirname(os.path.abspath(path))
    own = _own_top_package(directory)
    names = frozenset([own]) if own else frozenset()
    while True:
        if any(os.path.exists(os.path.join(directory, marker)) for marker in ("pyproject.toml", ".git")):
            return _first_party_in(directory) | names
        parent = os.path.dirname(directory)
        if parent == directory:
            return names
        directory = parent


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

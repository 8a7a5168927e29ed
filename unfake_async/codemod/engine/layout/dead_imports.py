"""Imports a rewrite left dead or repeated, removed with LibCST's own means.

An import whose last use the rewrite took away goes (`RemoveImportsVisitor`, which asks the scope
analysis, so an import still used anywhere, `__all__` and string annotations included, stays); an
import the rewrite added that the module already had goes (ruff F811); an import that was unused
before the rewrite is the project's business and stays.
"""
from __future__ import annotations

import ast
import re
from typing import Collection, List, Optional, Set, Tuple

import libcst as cst
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import GatherUnusedImportsVisitor, RemoveImportsVisitor
from libcst.helpers import get_absolute_module_from_package_for_import, get_full_name_for_node

from unfake_async.codemod.engine.layout.statement_lines import any_within, parse, top_level_line_ranges
from unfake_async.codemod.engine.metadata import MetadataWrapper


def _used_names(source: str) -> Set[str]:
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return set()
    return _names(tree)


def _names(tree: Optional[ast.Module]) -> Set[str]:
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)} if tree is not None else set()


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


def remove_newly_unused(original: str, module: cst.Module, rewritten: str,
                        tree: Optional[ast.Module] = None) -> cst.Module:
    """Drop the imports the original used and the rewrite no longer does (LibCST decides what is
    unused; an import that was unused before is the project's business and stays). `tree`:
    `rewritten`'s `ast`, if the caller parsed it."""
    used_before = _used_names(original)
    # A name still read somewhere in the rewrite keeps its import: the scope analysis (the costly
    # part) is only asked about names the rewrite no longer reads as code (it also finds uses
    # in string annotations and `__all__`).
    tree = parse(rewritten) if tree is None else tree  # read again by `_statements_naming`
    used_after = _names(tree)
    context = CodemodContext(full_package_name=_STAND_IN_PACKAGE)
    candidates: Set[cst.ImportAlias] = set()
    package_imports: Set[cst.ImportAlias] = set()
    bindings: Set[str] = set()
    for statement, alias in _aliases(module):
        binding = _binding(statement, alias)
        if binding not in used_before or binding in used_after:
            continue
        bindings.add(binding)
        if isinstance(statement, cst.ImportFrom) and statement.module is None:
            package_imports.add(alias)
            continue
        asname = get_full_name_for_node(alias.asname.name) if alias.asname is not None else None
        name = get_full_name_for_node(alias.name)
        if isinstance(statement, cst.Import):
            RemoveImportsVisitor.remove_unused_import(context, name, asname=asname)
        else:
            RemoveImportsVisitor.remove_unused_import(
                context, _absolute_module(statement), name, asname)
        candidates.add(alias)
    if not candidates and not package_imports:
        return module
    naming = _statements_naming(module, rewritten, tree, bindings)
    unused = _unused_aliases(module.with_changes(body=[module.body[i] for i in naming]))
    remover = _RemoveImports(context, unused & candidates, unused & package_imports)
    body = list(module.body)
    for index in reversed(naming):
        # Each statement in a module of its own: one that loses all its imports is dropped
        # the way LibCST drops it from a body.
        kept = cst.Module(body=[body[index]]).visit(remover).body
        body[index:index + 1] = kept
    return module.with_changes(body=body)


def _statements_naming(module: cst.Module, text: str, tree: Optional[ast.Module],
                       words: Collection[str]) -> List[int]:
    """Indexes of the top-level statements whose lines hold one of `words` as a word: any use
    of an import's binding (code, a string annotation, `__all__`, a rebinding) is in one of
    them, so LibCST's scope analysis of those statements alone finds every use the whole
    module's would (on a 2,000-site module, 16 s of the 23 s a diff took). `tree`: `text`'s
    `ast`, None where it does not parse."""
    if tree is None:
        return list(range(len(module.body)))
    ranges = top_level_line_ranges(module, tree)
    pattern = re.compile(r"\b(?:%s)\b" % "|".join(map(re.escape, sorted(words))))
    lines = [number for number, line in enumerate(text.splitlines(), start=1) if pattern.search(line)]
    return [index for index, (start, end) in enumerate(ranges) if any_within(lines, start, end)]


class _GatherUnusedPackageImports(GatherUnusedImportsVisitor):
    """LibCST's gatherer, also asked about `from . import name` (it skips imports that name no
    module, and so RemoveImportsVisitor never removes them)."""

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        if node.module is None and not isinstance(node.names, cst.ImportStar):
            self.handle_import(node)
            return False
        return super().visit_ImportFrom(node)


def _unused_aliases(module: cst.Module) -> Set[cst.ImportAlias]:
    """The import aliases of `module` that LibCST's scope analysis finds unused (no reference,
    not in `__all__`, not in a string annotation)."""
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    wrapper.resolve_many(_GatherUnusedPackageImports.get_inherited_dependencies())
    gatherer = _GatherUnusedPackageImports(CodemodContext(wrapper=wrapper))
    wrapper.visit(gatherer)
    return {alias for alias, _ in gatherer.unused_imports}


class _RemoveImports(RemoveImportsVisitor):
    """RemoveImportsVisitor told which aliases are unused (found on the statements that name
    them, `_statements_naming`) instead of analysing the scopes of the whole module, and
    dropping the unused `from . import name` aliases among `package_imports` too."""

    def __init__(self, context: CodemodContext, unused: Set[cst.ImportAlias],
                 package_imports: Set[cst.ImportAlias]) -> None:
        super().__init__(context)
        self._unused_imports = {alias: None for alias in unused}
        self._package_imports = package_imports

    def visit_Module(self, node: cst.Module) -> None:
        """The unused aliases are known already (`__init__`)."""

    def leave_ImportFrom(self, original_node: cst.ImportFrom, updated_node: cst.ImportFrom):
        if original_node.module is not None or isinstance(original_node.names, cst.ImportStar):
            return super().leave_ImportFrom(original_node, updated_node)
        keep = [alias for alias in original_node.names if alias not in self._package_imports]
        if len(keep) == len(original_node.names):
            return updated_node
        if not keep:
            return cst.RemoveFromParent()
        keep[-1] = keep[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        return updated_node.with_changes(names=keep)


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


def drop_repeated(original: cst.Module, module: cst.Module,
                  leading: Collection[cst.CSTNode]) -> cst.Module:
    """A top-level import the rewrite added that the module already had (at module level, maybe
    inside `try`/`if`, maybe further down, after code) is dropped (ruff F811). The module's own
    stays where it was; the copies dropped are those in `leading` (the import block at the top,
    where LibCST adds imports) first."""
    had = {key for _, key in _import_keys(original, top_level_only=False)}
    had_top = [key for _, key in _import_keys(original, top_level_only=True)]
    leading = set(leading)
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


def no_new_blank_lines_at_the_top(original: cst.Module, module: cst.Module) -> cst.Module:
    """The blank lines that stood between removed imports and the code do not move to the top of
    the file (black and ruff format remove them)."""
    if not module.body or module.header or (original.body and original.body[0].leading_lines
                                            and original.body[0].leading_lines[0].comment is None):
        return module
    lines = list(module.body[0].leading_lines)
    while lines and lines[0].comment is None:
        lines.pop(0)
    return module.with_changes(body=[module.body[0].with_changes(leading_lines=lines)] + list(module.body[1:]))

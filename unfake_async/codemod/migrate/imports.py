"""Add and remove the imports a rewrite scheduled, at the cost of the imports, not of the module.

`AddImportsVisitor(context).transform_module(m)` then `RemoveImportsVisitor(...)` is LibCST's
way, and on a big module it costs more than the rest of the fix: each `transform_module` deep
copies the module, and the removal runs LibCST's scope analysis over the whole rewritten module
to learn whether each scheduled import is still used (a generated module with 500
`to_thread(requests.get, ...)` sites: 60% of its `--diff`). Here:

- the additions visit the module directly: `AddImportsVisitor` reads no metadata, so the copy
  buys nothing (the module was built by this run and nobody else holds it); and it only ever
  changes the module's own statements (the imports at the top), so it does not descend into
  function and class bodies;
- when Python's `ast` of the rewritten text shows that no scheduled import's name is referenced
  at all (no `Name`, no word in any string, no `__all__`), LibCST's scope analysis could only
  find those imports unused, and the removal is told so instead of computing it. Anything else
  (a name still referenced, even if shadowed; text `ast` rejects) takes LibCST's own path. The
  told removal skips function and class bodies too when no scheduled name is imported there.

The removal itself (which statements go, commas, comments) is always LibCST's
`RemoveImportsVisitor`; tests/test_migrate_imports.py checks both paths give the same text.
"""
from __future__ import annotations

import ast
import re
from typing import Optional, Sequence, Set, Tuple

import libcst as cst
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import AddImportsVisitor, RemoveImportsVisitor


def apply_scheduled_imports(module: cst.Module, context: CodemodContext, *, shortcut: bool = True,
                            code: Optional[str] = None) -> cst.Module:
    """What `AddImportsVisitor(context).transform_module(module)` followed by
    `RemoveImportsVisitor(context).transform_module(...)` returns, in code. `code`: `module`'s
    code when the caller has it (a module's codegen is a second per 10,000 lines); the imports
    the additions write hold no name a removal asks about, so it answers for their result too."""
    if not shortcut:
        module = AddImportsVisitor(context).transform_module(module)
        return RemoveImportsVisitor(context).transform_module(module)
    module = module.visit(_TopLevelAddImports(context))
    scheduled = RemoveImportsVisitor._get_imports_from_context(context)
    if not scheduled:
        return module  # nothing to remove: the visitor would keep every import as it is
    found = _surely_unused(module, scheduled, code)
    if found is None:
        return RemoveImportsVisitor(context).transform_module(module)
    unused, nested = found
    return module.visit(_RemoveKnownUnused(context, unused, descend=nested))


def _binding(module_or_obj: str, alias: Optional[str]) -> str:
    """The local name an import binds (`import a.b` binds `a`)."""
    return alias or module_or_obj.split(".")[0]


def _surely_unused(module: cst.Module, scheduled, code: Optional[str] = None) -> Optional[Tuple[Set[str], bool]]:
    """The names the scheduled imports bind, when none of them is referenced in `module` (whose
    code `code` is, before the additions, if given), and whether a def or class body imports
    one of them; else None."""
    names = {_binding(obj if obj is not None else name, alias) for name, obj, alias in scheduled}
    code = module.code if code is None else code
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    words = re.compile(r"\b(?:%s)\b" % "|".join(map(re.escape, sorted(names))))
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and (node.id in names or node.id == "__all__"):
            return None
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and words.search(node.value):
            return None  # a string annotation may name it
    nested = any(
        isinstance(inner, (ast.Import, ast.ImportFrom))
        for statement in tree.body if isinstance(statement, _DEFINITIONS)
        for inner in ast.walk(statement)
    )
    return names, nested


_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


class _TopLevelAddImports(AddImportsVisitor):
    """`AddImportsVisitor` changes the imports at the top of the module and the module itself
    (`leave_ImportFrom` of a gathered top import, `leave_Module`), nothing in a def or class."""

    def visit_Module(self, node: cst.Module) -> None:
        # LibCST's gatherer of the imports already there walks the whole module, then reads only
        # the leading run of import lines (after a docstring) in `leave_Module`: give it that run
        # and the statement that ends it, not a 10,000-line SDK client.
        super().visit_Module(node.with_changes(body=_leading_imports(node.body)))

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return False


def _leading_imports(body: Sequence[cst.BaseStatement]) -> Sequence[cst.BaseStatement]:
    """The first statement (maybe a docstring) and the import lines after it, with the statement
    that ends them: a prefix of `body` at least as long as what `_GatherTopImportsBeforeStatements`
    reads (it stops at the first line that is not one import alone)."""
    for index, statement in enumerate(body[1:], start=1):
        if not (isinstance(statement, cst.SimpleStatementLine)
                and isinstance(statement.body[0], (cst.Import, cst.ImportFrom))):
            return body[:index + 1]
    return body


class _RemoveKnownUnused(RemoveImportsVisitor):
    """LibCST's removal, told which imports are unused instead of running its scope analysis."""

    def __init__(self, context: CodemodContext, unused: Set[str], descend: bool) -> None:
        super().__init__(context)
        self._unused_names = unused
        self._descend = descend

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return self._descend

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return self._descend

    def visit_Module(self, node: cst.Module) -> None:
        return None  # `_unused_imports` is filled by the two visits below

    def visit_Import(self, node: cst.Import) -> None:
        for alias in node.names:
            if _binding(alias.evaluated_name, alias.evaluated_alias) in self._unused_names:
                self._unused_imports[alias] = node

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        if isinstance(node.names, cst.ImportStar):
            return
        for alias in node.names:
            if (alias.evaluated_alias or alias.evaluated_name) in self._unused_names:
                self._unused_imports[alias] = node

"""The shared client as a service for every pass: which expression reaches it, and adding it.

The core pass and the passes that move other code onto the shared client (a client created per
call, sync httpx, sync helpers) all call the same generated helpers, so one module never ends up
with two kinds of client. Use `client_expression` for the call sites, then `ensure_clients` once on
the rewritten module: it adds what the expressions need (module helper, class getters, imports)
and is a no-op for what is already there.
"""
from __future__ import annotations

from typing import Iterable, Optional, Tuple

import libcst as cst
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import AddImportsVisitor, RemoveImportsVisitor

from unfake_async.codemod.engine.pass_protocol import PassContext
from unfake_async.codemod.migrate.client import client_imports
from unfake_async.codemod.migrate.client_source import (
    INLINE_SOURCE,
    ClientSource,
    client_source,
    for_module,
)
from unfake_async.codemod.migrate.rewrite import (
    add_class_client,
    add_client_factory,
    add_module_client,
)
from unfake_async.settings import Settings


def source_for(context: PassContext) -> ClientSource:
    """Where this file's migrated code gets its client (client_source.py)."""
    return for_module(client_source(context.settings, context.path), context.source)


def client_expression(settings: Settings, in_class_method: bool,
                      source: ClientSource = INLINE_SOURCE) -> cst.BaseExpression:
    """The shared accessor (`http_client()`) when the client is defined elsewhere; else
    `self._get_client()` inside a method (with `self`), and `_http_client()` outside."""
    if source.shared:
        return cst.parse_expression(source.call_code)
    if in_class_method:
        return cst.parse_expression(f"self.{settings.client_getter}()")
    return cst.parse_expression(f"{settings.module_client_function}()")


class _AddClients(cst.CSTTransformer):
    def __init__(self, settings: Settings, class_names: Iterable[str]) -> None:
        super().__init__()
        self.settings = settings
        self.class_names = set(class_names)
        self.depth = 0

    def visit_ClassDef(self, node: cst.ClassDef) -> Optional[bool]:
        self.depth += 1
        return True

    def leave_ClassDef(self, original_node: cst.ClassDef, updated_node: cst.ClassDef) -> cst.ClassDef:
        self.depth -= 1
        # Only top-level classes: a name can repeat in nested scopes, the top level is unambiguous.
        if self.depth == 0 and updated_node.name.value in self.class_names:
            return add_class_client(updated_node, self.settings)
        return updated_node


def ensure_clients(module: cst.Module, settings: Settings, *, module_client: bool,
                   class_names: Iterable[str] = (), add_imports: Iterable[Tuple[str, Optional[str]]] = (),
                   remove_unused: Iterable[Tuple[str, Optional[str]]] = (),
                   source: ClientSource = INLINE_SOURCE) -> cst.Module:
    """Add the module-level client (when `module_client`) and a client to each top-level class
    named in `class_names`, plus the imports they need. Idempotent.

    A pass's own import changes go through here too (`add_imports`, and `remove_unused`: imports
    to drop when nothing uses them any more), so that the imports are fixed once, and before the
    generated code is inserted: import bookkeeping over that long code would cost more than the
    rest of the fix."""
    class_names = list(class_names)
    remove_unused = list(remove_unused)
    additions = list(add_imports)
    if source.shared:
        # The client is defined elsewhere: import its accessor, and write no client code.
        if module_client or class_names:
            additions.append((source.module, source.accessor))
        module_client, class_names = False, []
        if f"{settings.target}." not in module.code:
            additions = [a for a in additions if a != (settings.target, None)]
    elif module_client or class_names:
        additions += client_imports(settings)
    context = CodemodContext()
    for name, obj in additions:
        AddImportsVisitor.add_needed_import(context, name, obj)
    for name, obj in remove_unused:
        RemoveImportsVisitor.remove_unused_import(context, name, obj)
    if additions:
        module = AddImportsVisitor(context).transform_module(module)
    if remove_unused:
        module = RemoveImportsVisitor(context).transform_module(module)
    if class_names:
        module = module.visit(_AddClients(settings, class_names))
    if module_client:
        return add_module_client(module, settings)
    if class_names:
        return add_client_factory(module, settings)
    return module

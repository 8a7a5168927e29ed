"""UFA008's edit: the helpers become `async def` (an offloading decorator goes), every use is
awaited, and executors, loops and imports left without a use are removed."""
from __future__ import annotations

from typing import Callable, Dict, List, Sequence, Set

import libcst as cst
import libcst.matchers as m
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import AddImportsVisitor, RemoveImportsVisitor

from unfake_async.codemod.analysis.async_scope import ModuleView, ReplaceNodes, awaited
from unfake_async.codemod.analysis.names import code
from unfake_async.codemod.engine.layout.wrap import one_line_arguments
from unfake_async.codemod.migrate import cleanup
from unfake_async.codemod.passes.sync_helpers.model import Helper, Use


def rewrite(view: ModuleView, helpers: List[Helper], clean: bool = True, remote_uses: Sequence[Use] = ()) -> str:
    """`remote_uses`: uses of other modules' helpers that the run makes `async def` there."""
    edits: Dict[cst.CSTNode, Callable] = {}
    dead_names: Set[str] = set()
    dead_attributes: Set[str] = set()
    uses = [use for helper in helpers for use in helper.uses] + list(remote_uses)
    for helper in helpers:
        dropped = helper.definition.decorators.index(helper.decorator) if helper.decorator is not None else -1
        edits[helper.definition] = lambda updated, dropped=dropped: updated.with_changes(
            asynchronous=cst.Asynchronous(),
            decorators=[d for index, d in enumerate(updated.decorators) if index != dropped])
    for use in uses:
        if use.kind == "decorator":
            continue
        _edit_use(use, view, edits)
        for candidate in (use.executor, use.loop):
            if isinstance(candidate, cst.Name) and candidate.value != "None":
                dead_names.add(candidate.value)
            elif m.matches(candidate, m.Attribute(value=m.Name("self"), attr=m.Name())):
                dead_attributes.add(candidate.attr.value)
    module = view.module.visit(ReplaceNodes(edits, view.parents))  # down to the edits only
    if not clean:
        return module.code
    module = cleanup.remove_dead_code(module, dead_names, dead_attributes)
    project = view.project
    # The package lets RemoveImportsVisitor match a relative import (`from .utils import to_thread`).
    context = CodemodContext(full_module_name=project.module, full_package_name=project.package) if project else CodemodContext()
    if any(use.kind == "offload" and not isinstance(view.parents.get(use.call), cst.Await) for use in uses):
        AddImportsVisitor.add_needed_import(context, "asyncio")
        module = AddImportsVisitor(context).transform_module(module)
    for helper in helpers:
        if helper.decorator is not None:  # the decorator's import, when nothing else uses it
            expression = helper.decorator.decorator
            target = expression.func if isinstance(expression, cst.Call) else expression
            for name in view.imported(target):
                module_name, _, obj = name.rpartition(".")
                if module_name:
                    RemoveImportsVisitor.remove_unused_import(context, module_name, obj)
    RemoveImportsVisitor.remove_unused_import(context, "concurrent.futures", "ThreadPoolExecutor")
    RemoveImportsVisitor.remove_unused_import(context, "functools", "partial")
    RemoveImportsVisitor.remove_unused_import(context, "functools")
    RemoveImportsVisitor.remove_unused_import(context, "concurrent.futures")
    return RemoveImportsVisitor(context).transform_module(module).code


def _edit_use(use: Use, view: ModuleView, edits: Dict[cst.CSTNode, Callable]) -> None:
    call = cst.Call(func=use.func, args=one_line_arguments(use.args))
    parent = view.parents.get(use.call)
    if use.kind == "direct":
        original = use.call
        edits[original] = lambda updated: awaited(original, updated.with_changes(lpar=[], rpar=[]), view.parents)
    elif isinstance(parent, cst.Await):
        edits[parent] = lambda updated: updated.with_changes(expression=call)
    else:
        # A future that is not awaited here (gathered, stored): schedule the coroutine at once,
        # as the executor started the thread at once.
        edits[use.call] = lambda updated: cst.parse_expression(f"asyncio.ensure_future({code(call)})")

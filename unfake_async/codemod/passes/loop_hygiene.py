"""Loop hygiene inside coroutines: UFA009 `asyncio.get_event_loop()`, UFA010 `time.sleep(x)`.

Runs after the core pass: the core removes `loop = asyncio.get_event_loop()` lines that its
migration left dead, so this pass only rewrites the getters that are still used.
"""
from __future__ import annotations

from typing import Callable, Dict, List, Optional, Set, Tuple

import libcst as cst
from libcst.metadata import ParentNodeProvider, ScopeProvider

from unfake_async.codemod.analysis.async_scope import ModuleView, ReplaceNodes, awaited
from unfake_async.codemod.analysis.names import code as _code
from unfake_async.codemod.engine.model import FixSafety
from unfake_async.codemod.engine.pass_protocol import PassContext, PassOutcome
from unfake_async.codemod.engine.prechecks import prefilter

SLEEP = frozenset({"time.sleep"})
GET_EVENT_LOOP = frozenset({"asyncio.get_event_loop", "asyncio.events.get_event_loop"})

MESSAGES = {
    "UFA009": "`{what}()` inside a coroutine: use `asyncio.get_running_loop()`, which cannot create a "
              "stray loop and is not deprecated",
    "UFA010": "`{what}({args})` blocks the event loop inside `async def`: every other task stops for the "
              "whole pause; use `await asyncio.sleep(...)`",
}
SLEEP_UNSAFE = ("other tasks now run during the pause; code that relied on the whole event loop "
                "stopping (a global rate limit, waiting for a thread) changes behaviour")


class LoopHygienePass:
    """Rules UFA009 and UFA010."""

    rule_ids = ("UFA009", "UFA010")
    # Every finding is about one call, its coroutine and its imports: when no other pass can
    # fire, a check run analyses `local_slice.function_local_slice(source, local_calls)`.
    local_calls = SLEEP | GET_EVENT_LOOP
    # Every finding is a call to one of these run by a coroutine: without one (`ast` says), the
    # pass is skipped (transform._applies).
    required_calls = local_calls

    def run(self, context: PassContext) -> PassOutcome:
        if "sleep" not in context.source and "get_event_loop" not in context.source:
            return PassOutcome()
        view = ModuleView(context.wrapper)
        findings = []
        edits: Dict[cst.CSTNode, Callable] = {}
        imports_used: List[Tuple[str, Optional[str], Optional[str]]] = []
        owned_by_core = _Lazy(lambda: _loops_the_core_removes(context))
        for call in view.calls():
            if not isinstance(call.func, (cst.Name, cst.Attribute)) or view.async_function_of(call) is None:
                continue
            qualified = view.imported(call.func)
            if qualified & GET_EVENT_LOOP and not call.args:
                if call in owned_by_core():
                    continue
                rule, safety, reason, edit = "UFA009", FixSafety.SAFE, None, _running_loop(call)
                what = "asyncio.get_event_loop"
            elif qualified & SLEEP:
                rule, safety, reason, edit = "UFA010", FixSafety.UNSAFE, SLEEP_UNSAFE, _asyncio_sleep(call, view)
                what = "time.sleep"
                if view.in_generator_expression(call):
                    safety, reason, edit = FixSafety.NONE, "the call is inside a generator expression, where `await` would make it async", None
                elif any(arg.star for arg in call.args):
                    safety, reason, edit = FixSafety.NONE, "arguments are forwarded with * or **", None
            else:
                continue
            if not context.reportable(rule, call):
                continue
            fixed = edit is not None and context.wants_fix(safety)
            if fixed:
                edits[call] = edit
                imports_used.append(_import_of(call.func, view))
            args = ", ".join(_code(a.value) for a in call.args)
            findings.append(context.finding(rule, MESSAGES[rule].format(what=what, args=args), call,
                                            fix=safety, reason=reason, fixed=fixed))
        if not edits:
            return PassOutcome(findings)
        module = view.module.visit(ReplaceNodes(edits))
        return PassOutcome(findings, _fix_imports(module, imports_used).code)


class _Lazy:
    def __init__(self, compute):
        self._compute, self._value = compute, None

    def __call__(self):
        if self._value is None:
            self._value = self._compute()
        return self._value


def _loops_the_core_removes(context: PassContext) -> Set[cst.Call]:
    """`asyncio.get_event_loop()` calls whose loop only offloads work another rule's fix removes:
    requests calls the core migrates (UFA001), sync helpers UFA008 makes async, and other
    requests calls in the executor (a `stream=True` download is UFA007's).

    `loop = asyncio.get_event_loop()` followed by `await loop.run_in_executor(None, requests.get,
    url)` is one UFA001 finding: its fix removes the loop line, so UFA009 stays quiet about it.
    A requests call the core reports without a fix keeps its loop, and UFA009 reports that."""
    if not prefilter.has_trigger(context.source, "requests"):
        return set()  # every owner above offloads a requests call (and the core's gate is this)
    from unfake_async.codemod.analysis.detect import Detector
    from unfake_async.rules import ufa001_run_in_executor

    detector = Detector(context.settings, [ufa001_run_in_executor] if context.settings.rule_enabled("UFA001") else [])
    context.wrapper.visit(detector)
    if detector.sites:
        from unfake_async.codemod.migrate.plan import Planner

        planner = Planner(context.wrapper, context.settings)
        for site in detector.sites:
            planner.plan(site)  # adds the blockers found while planning (`verify=`, ...)
    owned_offloads = {site.report_node for site in detector.sites
                      if not site.blockers and context.reportable(site.rule_id, site.report_node)}
    view = ModuleView(context.wrapper)
    executor_calls = [call for call in view.calls()
                      if isinstance(call.func, cst.Attribute) and call.func.attr.value == "run_in_executor"]
    if executor_calls:
        from unfake_async.codemod.passes.sync_helpers import migratable_offloads

        owned_offloads |= migratable_offloads(context)
        # A requests call UFA001 did not take (with UFA001 on) belongs to another pass (UFA007).
        seen = {site.report_node for site in detector.sites}
        if context.settings.rule_enabled("UFA001"):
            owned_offloads |= {call for call in executor_calls
                               if call not in seen and len(call.args) > 1 and _mentions_requests(call.args[1].value, view)}
    loop_uses = {call.func.value for call in owned_offloads if isinstance(call.func, cst.Attribute)}
    scopes = context.wrapper.resolve(ScopeProvider)
    owned: Set[cst.Call] = set()
    for receiver in loop_uses:
        scope = scopes.get(receiver)
        if not isinstance(receiver, cst.Name) or scope is None:
            continue
        for assignment in scope[receiver.value]:
            value = _assigned_call(assignment, context)
            references = [reference.node for reference in getattr(assignment, "references", ())]
            if value is not None and references and all(node in loop_uses for node in references):
                owned.add(value)
    return owned


def _mentions_requests(expression: cst.BaseExpression, view: ModuleView) -> bool:
    """The callable handed to the executor refers to a requests function (`requests.get`, a
    lambda or partial around one)."""
    from unfake_async.codemod.analysis import names

    stack = [expression]
    while stack:
        node = stack.pop()
        if isinstance(node, (cst.Name, cst.Attribute)) and names.requests_function(view.lookup, node):
            return True
        stack.extend(node.children)
    return False


def _assigned_call(assignment, context: PassContext) -> Optional[cst.Call]:
    """The call in `name = <call>` for an assignment of `name`, else None."""
    parents = context.wrapper.resolve(ParentNodeProvider)
    target = parents.get(getattr(assignment, "node", None))
    statement = parents.get(target) if isinstance(target, cst.AssignTarget) else None
    if isinstance(statement, cst.Assign) and len(statement.targets) == 1 and isinstance(statement.value, cst.Call):
        return statement.value
    return None


def _running_loop(call: cst.Call) -> Callable[[cst.Call], cst.BaseExpression]:
    def edit(updated: cst.Call) -> cst.BaseExpression:
        func = updated.func
        if isinstance(func, cst.Attribute):
            # `asyncio.get_event_loop` / `aio.get_event_loop`: same module object, other function.
            return updated.with_changes(func=func.with_changes(attr=cst.Name("get_running_loop")))
        return updated.with_changes(func=cst.parse_expression("asyncio.get_running_loop"))

    return edit


def _asyncio_sleep(call: cst.Call, view: ModuleView) -> Callable[[cst.Call], cst.BaseExpression]:
    def edit(updated: cst.Call) -> cst.BaseExpression:
        sleep = updated.with_changes(func=cst.parse_expression("asyncio.sleep"), lpar=[], rpar=[])
        return awaited(call, sleep, view.parents)

    return edit


def _import_of(func: cst.BaseExpression, view: ModuleView) -> Tuple[str, Optional[str], Optional[str]]:
    """The import a rewritten call may have left unused, as (module, name, alias): `time` for
    `time.sleep`, `("time", "sleep", "pause")` for `from time import sleep as pause`."""
    qualified = sorted(view.imported(func))[0]
    module, _, name = qualified.rpartition(".")
    if isinstance(func, cst.Name):
        return module, name, func.value if func.value != name else None
    root = func
    while isinstance(root, cst.Attribute):
        root = root.value
    alias = root.value if isinstance(root, cst.Name) and root.value != module.split(".")[0] else None
    return module, None, alias


def _fix_imports(module: cst.Module, maybe_unused: List[Tuple[str, Optional[str], Optional[str]]]) -> cst.Module:
    # Imported here: libcst.codemod pulls in libcst.matchers (0.17 s), which reporting never needs.
    from libcst.codemod import CodemodContext
    from libcst.codemod.visitors import AddImportsVisitor, RemoveImportsVisitor

    context = CodemodContext()
    AddImportsVisitor.add_needed_import(context, "asyncio")
    for module_name, name, alias in dict.fromkeys(maybe_unused):
        if module_name.startswith("asyncio") and name is None:
            continue  # `asyncio` (or its alias) still serves the rewritten call
        RemoveImportsVisitor.remove_unused_import(context, module_name, name, alias)
    module = AddImportsVisitor(context).transform_module(module)
    return RemoveImportsVisitor(context).transform_module(module)

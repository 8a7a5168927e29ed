"""UFA008 sync-helper-in-executor: `await loop.run_in_executor(None, self._fetch, u)` where
`_fetch` is a plain `def` of the same class or module whose body makes the `requests` calls.

The fix makes the helper `async def` and awaits it at every call site; the core pass, which runs
next, then migrates the requests calls now inside an `async def` (UFA003) and removes the
executor that only served them. Nothing is changed when the helper is used anywhere else (called
from sync code, passed as a callback, decorated, overridden in a subclass, called on another
object, exported in `__all__`), or when the core could not migrate every requests call in it:
an `async def` that still calls requests would block the loop, which is worse than the thread.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Set, Tuple

import libcst as cst
import libcst.matchers as m
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import AddImportsVisitor, RemoveImportsVisitor
from libcst.metadata import PositionProvider, QualifiedNameSource, ScopeProvider

from unfake_async.codemod.analysis import names
from unfake_async.codemod.analysis.async_scope import ModuleView, ReplaceNodes, awaited
from unfake_async.codemod.analysis.names import code
from unfake_async.codemod.engine.layout.wrap import one_line_arguments
from unfake_async.codemod.analysis.project_helpers import RemoteHelper, remote_helper
from unfake_async.codemod.engine.model import FixLevel, FixSafety
from unfake_async.codemod.engine.pass_protocol import PassContext, PassOutcome
from unfake_async.codemod.migrate import cleanup

RULE_ID = "UFA008"
MESSAGES = {
    "offload": "`{helper}` makes `requests` calls and runs in a thread via `{via}`: fake async, each call "
               "holds a worker thread for the whole request; make the helper `async def` and await it",
    "direct": "`{helper}` makes `requests` calls and is called directly inside `async def` ({via}): the event "
              "loop waits for every request in it; make the helper `async def` and await it",
    "decorator": "`{helper}` makes `requests` calls and runs in a thread via its decorator `@{via}`: fake async, "
                 "each call holds a worker thread for the whole request; make it `async def` without the decorator",
}
UNSAFE = "the helper becomes a coroutine function: any caller this module cannot see must now await it"


@dataclass(eq=False)
class Use:
    """One place an async function runs the helper."""

    call: cst.CSTNode  # the offload call, the direct call of the helper, or its offloading decorator
    kind: str  # "offload" | "direct" | "decorator"
    via: str
    args: List[cst.Arg]
    func: cst.BaseExpression  # the helper as written at the site (`self._fetch`, `fetch`)
    executor: Optional[cst.BaseExpression] = None
    loop: Optional[cst.BaseExpression] = None
    blocker: Optional[str] = None


@dataclass(eq=False)
class Helper:
    definition: cst.FunctionDef
    class_def: Optional[cst.ClassDef]
    uses: List[Use] = field(default_factory=list)
    reason: Optional[str] = None
    requests_calls: int = 0
    # The decorator that runs the helper in a thread (`@sync_to_async`, the project's `@to_thread`):
    # the fix drops it and makes the helper `async def`; its callers already await it.
    decorator: Optional[cst.Decorator] = None

    @property
    def label(self) -> str:
        name = self.definition.name.value
        return f"self.{name}" if self.class_def is not None else name


class SyncHelperPass:
    """Rule UFA008. Runs before the core pass, which migrates the helper's requests calls."""

    rule_ids = (RULE_ID,)
    # A helper may call requests' functions or a Session's methods (a login helper on the class's
    # Session, issue 17): the module must refer to requests, nothing narrower.
    required_names = names.REQUESTS_REFERENCES
    coroutine_reach = names.REQUESTS_REACH
    # Reads `PassContext.project`: helpers of other modules (reported, not rewritten).
    uses_project = True

    def run(self, context: PassContext) -> PassOutcome:
        if "requests" not in context.source and not context.project:
            return PassOutcome()  # a helper can only call requests if the module imports it
        view = ModuleView(context.wrapper, context.project)
        finder = _Finder(view, context)
        helpers = finder.helpers()
        remote_found = [
            context.finding(RULE_ID, MESSAGES[use.kind].format(helper=remote.label, via=use.via), use.call,
                            fix=FixSafety.NONE, reason=remote.reason)
            for use, remote in finder.remote if context.reportable(RULE_ID, use.call)
        ]
        if not helpers:
            return PassOutcome(remote_found)
        for helper in helpers:
            _check_helper(helper, finder)
        open_helpers = [h for h in helpers if h.reason is None]
        if open_helpers:
            _check_core_migrates(open_helpers, view, context)
        chosen = [h for h in helpers if h.reason is None and context.wants_fix(FixSafety.UNSAFE)
                  and all(context.reportable(RULE_ID, use.call) for use in h.uses)]
        findings = remote_found
        for helper in helpers:
            safety = FixSafety.NONE if helper.reason else FixSafety.UNSAFE
            for use in helper.uses:
                if not context.reportable(RULE_ID, use.call):
                    continue
                message = MESSAGES[use.kind].format(helper=helper.label, via=use.via)
                findings.append(context.finding(RULE_ID, message, use.call, fix=safety,
                                                reason=helper.reason or UNSAFE, fixed=helper in chosen))
        if not chosen:
            return PassOutcome(findings)
        return PassOutcome(findings, _rewrite(view, chosen))


def migratable_offloads(context: PassContext) -> Set[cst.Call]:
    """The offload calls this pass rewrites at the unsafe level (for UFA009, which leaves the
    loop getters of these calls alone: the rewrite removes them)."""
    if not context.settings.rule_enabled(RULE_ID) or "requests" not in context.source:
        return set()
    view = ModuleView(context.wrapper, context.project)
    finder = _Finder(view, context)
    helpers = finder.helpers()
    for helper in helpers:
        _check_helper(helper, finder)
    open_helpers = [h for h in helpers if h.reason is None]
    if open_helpers:
        _check_core_migrates(open_helpers, view, context)
    return {use.call for h in open_helpers if h.reason is None for use in h.uses
            if use.kind == "offload" and context.reportable(RULE_ID, use.call)}


class _Finder:
    def __init__(self, view: ModuleView, context: PassContext) -> None:
        self.view = view
        self.settings = context.settings
        self.project = context.project
        self.scopes = context.wrapper.resolve(ScopeProvider)
        # Uses of another module's requests helper: reported, not rewritten.
        self.remote: List[Tuple[Use, RemoteHelper]] = []

    def helpers(self) -> List[Helper]:
        by_definition: Dict[cst.FunctionDef, Helper] = {}
        direct_names = self._direct_candidates()
        for call in self.view.calls():
            function = self.view.async_function_of(call)
            if function is None:
                continue
            use = self._offload(call)
            if use is None and _called_name(call.func) in direct_names:
                use = Use(call, "direct", function.name.value, list(call.args), call.func)
            if use is None:
                continue
            found = self.helper_of(use.func, function)
            if found is None:
                remote = remote_helper(self.view, use.func, function) if self.project else None
                if remote is not None and not (use.kind == "direct" and isinstance(self.view.parents.get(call), cst.Await)):
                    if use.kind == "direct":
                        use.via = f"{use.via} -> {remote.label} -> {remote.what}"
                    self.remote.append((use, remote))
                continue
            definition, class_def = found
            if use.kind == "direct" and (definition.asynchronous is not None or definition.decorators):
                continue  # an `async def` is awaited, a decorated one may be anything
            helper = by_definition.setdefault(definition, Helper(definition, class_def))
            helper.uses.append(use)
        for definition, class_def, decorator in self._offloading_decorators():
            helper = Helper(definition, class_def, decorator=decorator)
            helper.uses.append(Use(decorator, "decorator", code(decorator.decorator), [], definition.name))
            by_definition.setdefault(definition, helper)
        # Only helpers that make requests calls are fake async HTTP; others may do CPU work.
        result = []
        for helper in by_definition.values():
            calls = self.requests_calls(helper.definition)
            helper.requests_calls = len(calls)
            if helper.requests_calls:
                for use in helper.uses:
                    if use.kind == "direct":
                        use.via = f"{use.via} -> {definition_name(helper)} -> {code(calls[0].func)}"
                result.append(helper)
        return result

    def _direct_candidates(self) -> Set[str]:
        """Names a direct call must have to be a helper's: the plain `def`s of this module whose
        own body calls requests or a method of a `self.<attribute>` (checked properly later),
        and any name when another module offers requests helpers. Asking `helper_of` about
        every call of every coroutine costs more than the rest of the pass."""
        if self.project and self.project.requests_helpers:
            return _ANY_NAME
        found: Set[str] = set()
        for call in self.view.calls():
            func = call.func
            maybe_session = (isinstance(func, cst.Attribute) and func.attr.value in names.HTTP_METHODS
                             and m.matches(func.value, m.Attribute(value=m.Name("self"))))
            if not maybe_session and names.requests_function(self.view.lookup, func) is None:
                continue
            scope = self.view.innermost_scope(call)
            if isinstance(scope, cst.FunctionDef) and scope.asynchronous is None:
                found.add(scope.name.value)
        return found

    def _offloading_decorators(self):
        """(def, class, decorator) for each plain `def` with a decorator that runs it in a thread."""
        wraps = {name for name, kind in self.settings.offload_helpers if kind == "wrap"}
        for definition in self.view.nodes(cst.FunctionDef):
            if definition.asynchronous is not None or not definition.decorators:
                continue
            for decorator in definition.decorators:
                expression = decorator.decorator
                target = expression.func if isinstance(expression, cst.Call) else expression
                if self.view.imported(target) & wraps or self._project_decorator(target):
                    scope = self.view.parents.get(self.view.parents.get(definition))
                    yield definition, scope if isinstance(scope, cst.ClassDef) else None, decorator
                    break

    def _project_decorator(self, target: cst.BaseExpression) -> bool:
        if not self.project:
            return False
        module = self.project.module
        found = set(self.view.imported(target))
        found |= {f"{module}.{q.name}" if module else q.name for q in self.view.lookup(target)
                  if q.source is QualifiedNameSource.LOCAL and "<locals>" not in q.name}
        return any(self.project.offload_kind(name) == "decorator" for name in found)

    def _offload(self, call: cst.Call) -> Optional[Use]:
        """The helper function handed to a thread by `call`, with the arguments it gets."""
        use = self._offloaded_callable(call)
        return self._unwrap(use) if use is not None else None

    def _unwrap(self, use: Use) -> Use:
        """`partial(self._fetch, u)` and `lambda: self._fetch(u)` hand over the helper too."""
        func = use.func
        if names.is_partial(self.view.lookup, func) and func.args and func.args[0].keyword is None and not func.args[0].star:
            bound = list(func.args[1:])
            if any(a.star for a in bound):
                use.blocker = "partial() forwards *args/**kwargs"
            positional = [a for a in bound if a.keyword is None] + [a for a in use.args if a.keyword is None]
            keywords = [a for a in bound if a.keyword is not None] + [a for a in use.args if a.keyword is not None]
            use.func, use.args = func.args[0].value, _with_commas(positional + keywords)
        elif (isinstance(func, cst.Lambda) and not use.args and not func.params.params
              and func.params.star_arg is cst.MaybeSentinel.DEFAULT and not func.params.kwonly_params
              and func.params.star_kwarg is None and isinstance(func.body, cst.Call)):
            use.func, use.args = func.body.func, list(func.body.args)
        return use

    def _offloaded_callable(self, call: cst.Call) -> Optional[Use]:
        func = call.func
        helpers = dict(self.settings.offload_helpers)
        if isinstance(func, cst.Attribute) and func.attr.value == "run_in_executor":
            if len(call.args) < 2 or any(a.keyword is not None or a.star for a in call.args):
                return None
            return Use(call, "offload", "run_in_executor", list(call.args[2:]), call.args[1].value,
                       executor=call.args[0].value, loop=func.value)
        if isinstance(func, cst.Call):
            kinds = {helpers.get(n) for n in self.view.imported(func.func)}
            if "wrap" not in kinds or not func.args or func.args[0].keyword or func.args[0].star:
                return None
            return Use(call, "offload", code(func.func), list(call.args), func.args[0].value)
        kinds = {helpers.get(n) for n in self.view.imported(func)} - {None}
        if not kinds and isinstance(func, cst.Attribute) and func.attr.value in self.settings.offload_methods:
            kinds = {"call-args"}
        if not kinds & {"call", "call-args"} or not call.args or call.args[0].keyword or call.args[0].star:
            return None
        use = Use(call, "offload", code(func), list(call.args[1:]), call.args[0].value)
        if "call" not in kinds and any(a.keyword is not None for a in use.args):
            use.blocker = f"keyword arguments of `{use.via}` configure the thread, not the helper"
        return use

    def helper_of(self, func: cst.BaseExpression, function: cst.FunctionDef
                  ) -> Optional[Tuple[cst.FunctionDef, Optional[cst.ClassDef]]]:
        """The plain `def` that `func` names: `self.name` in the same class, or a function."""
        if m.matches(func, m.Attribute(value=m.Name("self"), attr=m.Name())):
            class_def = self.view.method_class(function)
            if class_def is None:
                return None
            methods = [s for s in class_def.body.body
                       if isinstance(s, cst.FunctionDef) and s.name.value == func.attr.value]
            return (methods[0], class_def) if len(methods) == 1 else None
        if isinstance(func, cst.Name):
            scope = self.scopes.get(func)
            if scope is None:
                return None
            assignments = list(scope[func.value])
            if len(assignments) == 1 and isinstance(getattr(assignments[0], "node", None), cst.FunctionDef):
                return assignments[0].node, None
        return None

    def requests_calls(self, definition: cst.FunctionDef) -> List[cst.Call]:
        """The requests calls a helper makes itself: `requests.get(...)`, or a call on the
        class's `requests.Session` attribute (`self.session.post(...)`, how API clients log in:
        the session then moves to the client whole, with the helper)."""
        sessions = self._session_attributes(definition)
        return [
            call for call in m.findall(definition.body, m.Call())
            if isinstance(call, cst.Call) and self.view.innermost_scope(call) is definition
            and (names.requests_function(self.view.lookup, call.func) is not None
                 or (isinstance(call.func, cst.Attribute) and call.func.attr.value in names.HTTP_METHODS
                     and m.matches(call.func.value, m.Attribute(value=m.Name("self"), attr=m.Name()))
                     and call.func.value.attr.value in sessions))
        ]

    def _session_attributes(self, definition: cst.FunctionDef) -> Set[str]:
        """`self.<name> = requests.Session()` in the methods of the class `definition` is a method of."""
        class_def = self.view.method_class(definition)
        if class_def is None:
            return set()
        found = set()
        for assign in m.findall(class_def, m.Assign(targets=[m.AssignTarget(m.Attribute(value=m.Name("self")))])):
            if names.is_session_constructor(self.view.lookup, assign.value):
                found.add(assign.targets[0].target.attr.value)
        return found


class _AnyName(set):
    def __contains__(self, item) -> bool:
        return item is not None


_ANY_NAME = _AnyName()


def _called_name(func: cst.BaseExpression) -> Optional[str]:
    if isinstance(func, cst.Name):
        return func.value
    if isinstance(func, cst.Attribute):
        return func.attr.value
    return None


def definition_name(helper: Helper) -> str:
    name = helper.definition.name.value
    return f"{helper.class_def.name.value}.{name}" if helper.class_def is not None else name


def _check_helper(helper: Helper, finder: _Finder) -> None:
    """Set `helper.reason` when making it `async def` could break a caller we cannot rewrite."""
    view, definition = finder.view, helper.definition
    blockers = [use.blocker for use in helper.uses if use.blocker]
    if helper.decorator is not None:
        if len(definition.decorators) > 1:
            helper.reason = "the helper has other decorators, which may not accept a coroutine function"
        elif m.findall(definition.body, m.Yield()):
            helper.reason = "the helper is a generator"
        return  # its callers already await what the decorator returned
    if definition.asynchronous is not None:
        helper.reason = "the helper is already `async def`"
    elif definition.decorators:
        helper.reason = "the helper is decorated; the decorator may not accept a coroutine function"
    elif m.findall(definition.body, m.Yield()):
        helper.reason = "the helper is a generator"
    elif blockers:
        helper.reason = blockers[0]
    elif helper.class_def is not None:
        helper.reason = _method_references(helper, view)
    else:
        helper.reason = _function_references(helper, finder)


def _method_references(helper: Helper, view: ModuleView) -> Optional[str]:
    name = helper.definition.name.value
    class_name = helper.class_def.name.value
    for class_def in view.nodes(cst.ClassDef):
        if class_def is helper.class_def:
            continue
        based = any(m.matches(base.value, m.Name(class_name) | m.Attribute(attr=m.Name(class_name))) for base in class_def.bases)
        if based and any(isinstance(s, cst.FunctionDef) and s.name.value == name for s in class_def.body.body):
            return f"`{name}` is overridden in subclass `{class_def.name.value}`"
    offloaded = {id(use.func) for use in helper.uses}
    for attribute in view.nodes(cst.Attribute):
        if attribute.attr.value != name or id(attribute) in offloaded:
            continue
        if not m.matches(attribute.value, m.Name("self")):
            return f"`{name}` is used on another object (`{code(attribute)}`)"
        function = view.innermost_scope(attribute)
        if not isinstance(function, cst.FunctionDef) or view.method_class(function) is not helper.class_def:
            return f"`{code(attribute)}` is used outside the class's methods"
        reason = _direct_use(helper, attribute, view)
        if reason:
            return reason
    return None


def _function_references(helper: Helper, finder: _Finder) -> Optional[str]:
    view, definition = finder.view, helper.definition
    name = definition.name.value
    exported = [small for statement in view.module.body if isinstance(statement, cst.SimpleStatementLine)
                for small in statement.body if m.matches(small, m.Assign(targets=[m.AssignTarget(m.Name("__all__"))]))]
    if any(m.findall(a.value, m.SimpleString(value=f'"{name}"') | m.SimpleString(value=f"'{name}'")) for a in exported):
        return f"`{name}` is exported in `__all__`"
    scope = finder.scopes.get(definition)
    offloaded = {id(use.func) for use in helper.uses}
    for assignment in scope[name] if scope is not None else ():
        for reference in assignment.references:
            node = reference.node
            if id(node) in offloaded:
                continue
            reason = _direct_use(helper, node, view)
            if reason:
                return reason
    return None


def _direct_use(helper: Helper, node: cst.CSTNode, view: ModuleView) -> Optional[str]:
    """A direct call `helper(...)` from async code becomes a use to await; anything else blocks."""
    parent = view.parents.get(node)
    label = code(node)
    if not (isinstance(parent, cst.Call) and parent.func is node):
        return f"`{label}` is referenced without being called (a callback or an alias)"
    if view.async_function_of(parent) is None:
        return f"`{label}` is also called from sync code"
    if view.in_generator_expression(parent):
        return f"`{label}` is called in a generator expression, where `await` would make it async"
    helper.uses.append(Use(parent, "direct", "", list(parent.args), node))
    return None


def _check_core_migrates(helpers: List[Helper], view: ModuleView, context: PassContext) -> None:
    """Try the rewrite and run the core pass on it: every requests call in each helper must be a
    finding the core can fix, or the helper stays sync (an async helper that still calls requests
    would block the event loop, which is worse than the thread it had)."""
    from unfake_async.codemod.passes.core import CorePass

    if not context.settings.rule_enabled("UFA003"):
        for helper in helpers:
            helper.reason = "UFA003 is disabled, so the requests calls in the helper would not be migrated"
        return
    candidate = _rewrite(view, helpers, clean=False)
    trial = PassContext.parse(candidate, context.settings, FixLevel.UNSAFE)
    outcome = CorePass().run(trial)
    positions = trial.wrapper.resolve(PositionProvider)
    for helper in helpers:
        span = _span_in(trial.module, helper, positions)
        inside = [f for f in outcome.findings if span and span[0] <= f.line <= span[1]]
        unfixable = [f for f in inside if f.fix is FixSafety.NONE]
        if unfixable:
            helper.reason = f"the core cannot migrate a requests call in the helper ({unfixable[0].reason})"
        elif len(inside) < helper.requests_calls:
            helper.reason = "a requests call in the helper is suppressed or not migratable"


def _span_in(module: cst.Module, helper: Helper, positions) -> Optional[Tuple[int, int]]:
    """First and last line of the (now async) helper in the rewritten module."""
    name = helper.definition.name.value
    if helper.class_def is not None:
        classes = [s for s in module.body if isinstance(s, cst.ClassDef) and s.name.value == helper.class_def.name.value]
        found = [s for c in classes for s in c.body.body if isinstance(s, cst.FunctionDef) and s.name.value == name]
    else:
        found = [d for d in m.findall(module, m.FunctionDef(name=m.Name(name))) if isinstance(d, cst.FunctionDef)]
    found = [d for d in found if d.asynchronous is not None]
    if len(found) != 1:
        return None
    position = positions[found[0]]
    return position.start.line, position.end.line


def _rewrite(view: ModuleView, helpers: List[Helper], clean: bool = True) -> str:
    edits: Dict[cst.CSTNode, Callable] = {}
    dead_names: Set[str] = set()
    dead_attributes: Set[str] = set()
    for helper in helpers:
        dropped = helper.definition.decorators.index(helper.decorator) if helper.decorator is not None else -1
        edits[helper.definition] = lambda updated, dropped=dropped: updated.with_changes(
            asynchronous=cst.Asynchronous(),
            decorators=[d for index, d in enumerate(updated.decorators) if index != dropped])
        for use in helper.uses:
            if use.kind == "decorator":
                continue
            _edit_use(use, view, edits)
            for candidate in (use.executor, use.loop):
                if isinstance(candidate, cst.Name) and candidate.value != "None":
                    dead_names.add(candidate.value)
                elif m.matches(candidate, m.Attribute(value=m.Name("self"), attr=m.Name())):
                    dead_attributes.add(candidate.attr.value)
    module = view.module.visit(ReplaceNodes(edits))
    if not clean:
        return module.code
    module = cleanup.remove_dead_code(module, dead_names, dead_attributes)
    project = view.project
    # The package lets RemoveImportsVisitor match a relative import (`from .utils import to_thread`).
    context = CodemodContext(full_module_name=project.module, full_package_name=project.package) if project else CodemodContext()
    if any(use.kind == "offload" and not isinstance(view.parents.get(use.call), cst.Await)
           for helper in helpers for use in helper.uses):
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


def _with_commas(args: List[cst.Arg]) -> List[cst.Arg]:
    """Arguments gathered from two calls: every one but the last needs its comma."""
    fixed = []
    for index, arg in enumerate(args):
        if index < len(args) - 1 and arg.comma is cst.MaybeSentinel.DEFAULT:
            arg = arg.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
        fixed.append(arg)
    return fixed



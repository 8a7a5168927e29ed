"""The helpers of this module that async code runs (through a thread, directly, or under an
offloading decorator), with every place it does; and the uses of other modules' helpers."""
from __future__ import annotations

from typing import Dict, List, Optional, Set, Tuple

import libcst as cst
import libcst.matchers as m
from libcst.metadata import QualifiedNameSource, ScopeProvider

from unfake_async.codemod.analysis import names
from unfake_async.codemod.analysis.async_scope import ModuleView
from unfake_async.codemod.analysis.names import code
from unfake_async.codemod.analysis.project_helpers import RemoteHelper, remote_helper
from unfake_async.codemod.engine.pass_protocol import PassContext
from unfake_async.codemod.passes.sync_helpers.model import Helper, Use, definition_name
from unfake_async.codemod.passes.sync_helpers.offloads import offloaded_use


class Finder:
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
            use = offloaded_use(self.view, self.settings, call)
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

"""Walks a module once and asks each rule whether a call inside `async def` is fake async.

The walk keeps a stack of enclosing scopes (functions, lambdas, classes) instead of flags, so that
"am I directly inside an async function?" stays right after nested functions and lambdas (the bug
in Fixit's time-sleep rule). Rules only see calls whose innermost scope is an `async def`.
"""
from __future__ import annotations

from typing import List, Optional, Sequence, Set, Tuple, Union

import libcst as cst
from libcst.metadata import (
    ParentNodeProvider,
    PositionProvider,
    QualifiedNameProvider,
    QualifiedNameSource,
    ScopeProvider,
)

from unfake_async.codemod.analysis import names
from unfake_async.codemod.analysis.async_scope import in_generator_expression
from unfake_async.codemod.analysis.offload import Offloaded, resolve_offloaded
from unfake_async.codemod.analysis.sessions import SessionTracker
from unfake_async.codemod.analysis.sites import Site
from unfake_async.codemod.analysis.stream_sites import is_stream_site
from unfake_async.settings import Settings

Scope = Union[cst.FunctionDef, cst.Lambda, cst.ClassDef]


class MatchContext:
    """What a rule's `match` may ask about the code around a call."""

    def __init__(self, detector: "Detector") -> None:
        self._detector = detector
        self.settings: Settings = detector.settings
        # What the tree tells about this module (`analysis.project.ProjectFacts`), or None.
        self.project = detector.project
        self.lookup = names.project_lookup(self._metadata_lookup, self.project)
        self.sessions = SessionTracker(detector, self.lookup)

    def _metadata_lookup(self, node: cst.CSTNode):
        return self._detector.get_metadata(QualifiedNameProvider, node, set())

    def qualified_names(self, node: cst.CSTNode) -> Set[str]:
        return names.imported_names(self.lookup, node)

    def parent(self, node: cst.CSTNode) -> Optional[cst.CSTNode]:
        return self._detector.get_metadata(ParentNodeProvider, node, None)

    @staticmethod
    def code(node: cst.CSTNode) -> str:
        return names.code(node)

    def inside_generator_expression(self, node: cst.CSTNode) -> bool:
        """True when `node` sits in a generator expression of the current function."""
        return in_generator_expression(node, self.parent)

    def is_partial(self, node: cst.BaseExpression) -> bool:
        return names.is_partial(self.lookup, node)

    def requests_target(self, func: cst.BaseExpression) -> Optional[Tuple[str, names.Receiver]]:
        """(method, receiver) when calling `func` sends a requests HTTP request."""
        method = names.requests_function(self.lookup, func)
        if method is not None:
            return method, names.MODULE
        if isinstance(func, cst.Attribute) and func.attr.value in names.HTTP_METHODS:
            receiver = self.sessions.receiver_for(func.value, self._detector.enclosing_class())
            if receiver is not None:
                return func.attr.value, receiver
        return None

    def offload_kinds(self, func: cst.BaseExpression) -> Set[str]:
        """How `func` hands over a callable (settings.DEFAULT_OFFLOAD_HELPERS' kinds, and the
        project's own: "direct" for a helper that calls it on the spot); empty when unknown."""
        helpers = dict(self.settings.offload_helpers)
        kinds = {helpers.get(name) for name in self.qualified_names(func)} - {None}
        if self.project:
            kinds |= {self.project.offload_kind(name) for name in self._project_names(func)} - {None}
        if not kinds:
            method = func.attr.value if isinstance(func, cst.Attribute) else getattr(func, "value", None)
            if method in self.settings.offload_methods:  # `hass.async_add_executor_job`, or a parameter
                kinds = {"call-args"}
        return kinds

    def _project_names(self, func: cst.BaseExpression) -> Set[str]:
        """Absolute names `func` may have in the project: imported, a function of this module,
        or `self.method` of the enclosing top-level class."""
        found = set(self.qualified_names(func))
        module = self.project.module
        for q in self.lookup(func):
            if q.source is QualifiedNameSource.LOCAL and "<locals>" not in q.name:
                found.add(f"{module}.{q.name}" if module else q.name)
        class_def = self._detector.enclosing_class()
        if (class_def is not None and isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name)
                and func.value.value == "self"):
            found.add(".".join(filter(None, [module, class_def.name.value, func.attr.value])))
        return found

    def unresolved_star_requests(self, what: str) -> bool:
        """`what` starts with a `requests` that only a star import of an unknown module binds."""
        return bool(self.project) and self.project.star_requests == "unresolved" and (
            what.split(".")[0] == "requests" and not self._detector.module_binds("requests"))

    def resolve_offloaded(self, func: cst.BaseExpression, args: Sequence[cst.Arg]) -> Optional[Offloaded]:
        return resolve_offloaded(func, args, self)

    def make_site(
        self,
        rule_id: str,
        call: cst.Call,
        offloaded: Offloaded,
        via: str,
        executor: Optional[cst.BaseExpression] = None,
    ) -> Site:
        parent = self.parent(call)
        awaited = isinstance(parent, cst.Await)
        site = Site(
            rule_id=rule_id,
            node=parent if awaited else call,
            report_node=call,
            request=offloaded.request,
            what=offloaded.what,
            via=via,
            function=self._detector.enclosing_function(),
            class_def=self._detector.enclosing_class(),
            wrapper=offloaded.wrapper,
            awaited=awaited,
            executor=executor,
            blockers=list(offloaded.blockers),
            unforwarded=list(offloaded.unforwarded),
        )
        if not offloaded.binds_lambda:
            lost = [a for a in offloaded.handed_over if not any(a is r for r in offloaded.request.args)]
            if lost:
                site.blockers.append(
                    "the fix would drop " + ", ".join(f"`{names.code(a).rstrip(', ')}`" for a in lost)
                )
        if offloaded.unforwarded:
            keywords = ", ".join(f"{name}=" for name in offloaded.unforwarded)
            site.unsafe.append(
                f"as written `{via}` passes no keyword arguments to `{offloaded.what}` and the call raises "
                f"TypeError; the fix sends {keywords} with the request, as the author meant"
            )
        if self.unresolved_star_requests(offloaded.what):
            site.unsafe.append(names.UNRESOLVED_STAR)
            site.notes.append(names.UNRESOLVED_STAR)
        return site


class Detector(cst.CSTVisitor):
    METADATA_DEPENDENCIES = (QualifiedNameProvider, ScopeProvider, ParentNodeProvider, PositionProvider)

    def __init__(self, settings: Settings, rules: Sequence, skip_streams: Optional[bool] = None,
                 project=None) -> None:
        super().__init__()
        self.settings = settings
        self.project = project
        self._rules = rules
        # `requests.get(u, stream=True)` belongs to UFA007's pass (streaming.py) while that rule
        # is on, so each call gets one finding; that pass runs the detector with False.
        self._skip_streams = settings.rule_enabled("UFA007") if skip_streams is None else skip_streams
        self._scopes: List[Scope] = []
        self.sites: List[Site] = []
        self.async_functions: List[cst.FunctionDef] = []
        self._ctx: Optional[MatchContext] = None
        self._claimed: Set[int] = set()

    # Scope bookkeeping -------------------------------------------------------------------
    def visit_Module(self, node: cst.Module) -> None:
        self._module = node
        self._ctx = MatchContext(self)

    def module_binds(self, name: str) -> bool:
        """Whether a module-level statement (an import, an assignment) binds `name`."""
        scope = self.get_metadata(ScopeProvider, self._module, None)
        return scope is not None and name in scope

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._scopes.append(node)
        if node.asynchronous is not None:
            self.async_functions.append(node)

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self._scopes.pop()

    def visit_Lambda(self, node: cst.Lambda) -> None:
        self._scopes.append(node)

    def leave_Lambda(self, original_node: cst.Lambda) -> None:
        self._scopes.pop()

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._scopes.append(node)

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self._scopes.pop()

    def in_async_function(self) -> bool:
        return bool(self._scopes) and isinstance(self._scopes[-1], cst.FunctionDef) and (
            self._scopes[-1].asynchronous is not None
        )

    def enclosing_function(self) -> cst.FunctionDef:
        return self._scopes[-1]  # only called when in_async_function()

    def enclosing_class(self) -> Optional[cst.ClassDef]:
        """The class whose method we are in (a method directly in a class body)."""
        if len(self._scopes) >= 2 and isinstance(self._scopes[-2], cst.ClassDef):
            return self._scopes[-2]
        return None

    # Matching ----------------------------------------------------------------------------
    def visit_Call(self, node: cst.Call) -> None:
        if not self.in_async_function() or id(node) in self._claimed:
            return
        for rule in self._rules:
            site = rule.match(node, self._ctx)
            if site is not None:
                if not (self._skip_streams and is_stream_site(site)):
                    self.sites.append(site)
                # The inner call of `sync_to_async(requests.get)(url)` is part of this site.
                if isinstance(node.func, cst.Call):
                    self._claimed.add(id(node.func))
                return

"""Decide, per site, what the rewrite emits and whether it is safe, unsafe or impossible.

Reads the code around each site: the arguments (arguments.py), how the response is used
afterwards, which `try` statements enclose the call, and which client the call should use.
Produces the node edits the rewriter applies; nothing here mutates the tree.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Set

import libcst as cst
import libcst.matchers as m
from libcst.metadata import ParentNodeProvider, QualifiedNameProvider, ScopeProvider

from unfake_async.codemod.analysis.names import code as _code
from unfake_async.codemod.analysis.names import project_lookup, resolved
from unfake_async.codemod.analysis.sites import Site
from unfake_async.codemod.migrate import exceptions, home_assistant
from unfake_async.codemod.migrate.arguments import (
    HttpxCall,
    map_arguments,
    map_auth,
    text_parameters,
)
from unfake_async.codemod.migrate.executor_cap import executor_cap
from unfake_async.codemod.migrate.session_attribute import (
    SessionAttributeMigration,
    plan_session_attribute,
)
from unfake_async.settings import Settings

# Response attributes that exist in requests but not (or differently) in httpx.
RENAMED_ATTRIBUTES = {"reason": "reason_phrase", "next": "next_request", "iter_content": "iter_bytes"}
UNSUPPORTED_ATTRIBUTES = {
    "raw": "the response's raw urllib3 stream (r.raw) has no httpx equivalent",
    "apparent_encoding": "httpx has no apparent_encoding",
    "connection": "httpx responses have no .connection adapter",
}


@dataclass
class SitePlan:
    site: Site
    call: Optional[HttpxCall] = None
    # "class" (self.<getter>()), "module" (<module function>()), or "session" (the session itself)
    client: str = "module"
    # Nodes to replace once this site is fixed: original node → builder(updated node).
    edits: Dict[cst.CSTNode, object] = field(default_factory=dict)
    tries: List[cst.Try] = field(default_factory=list)
    with_node: Optional[cst.With] = None
    # Set when the call goes through a Session attribute that becomes the class's client.
    session: Optional[SessionAttributeMigration] = None
    # In a Home Assistant integration: "hass" or "self.hass" when the call uses Home Assistant's
    # client (home_assistant.py), and whether that client verifies TLS.
    hass: Optional[str] = None
    verify_ssl: bool = True


class Planner:
    def __init__(self, wrapper: cst.MetadataWrapper, settings: Settings, project=None,
                 integration: bool = False) -> None:
        self.settings = settings
        # A Home Assistant integration (home_assistant.is_integration): a Session kept by a class
        # that has `self.hass` moves onto Home Assistant's create_async_httpx_client.
        self.integration = integration
        self.parents = wrapper.resolve(ParentNodeProvider)
        self.scopes = wrapper.resolve(ScopeProvider)
        self._qnames = wrapper.resolve(QualifiedNameProvider)
        # Re-exported requests (`from . import requests`) names its exceptions too.
        self._lookup = project_lookup(lambda node: resolved(self._qnames.get(node)), project)
        self.module = wrapper.module
        self._sessions: Dict[tuple, SessionAttributeMigration] = {}
        self._session_classes: Set[cst.ClassDef] = set()

    def prepare(self, sites: List[Site]) -> None:
        """Look at every site first: a Session attribute is migrated whole or not at all."""
        receivers: Dict[tuple, Set[cst.CSTNode]] = {}
        for site in sites:
            receiver = site.request.receiver
            if receiver.kind == "session-attribute" and site.class_def is not None:
                receivers.setdefault((site.class_def, receiver.attribute), set()).add(receiver.expression)
        if len({class_def for class_def, _ in receivers}) < len(receivers):
            for key in list(receivers):
                if sum(1 for other in receivers if other[0] is key[0]) > 1:
                    migration = SessionAttributeMigration(key[1])
                    migration.blockers.append("the class keeps more than one requests.Session; migrate them by hand")
                    self._sessions[key] = migration
        for key, nodes in receivers.items():
            if key not in self._sessions:
                hass = home_assistant.class_hass(key[0]) if self.integration else None
                self._sessions[key] = plan_session_attribute(
                    key[0], key[1], nodes, self.parents, self._lookup,
                    self.settings, self._map_auth, hass
                )
            self._session_classes.add(key[0])

    def _map_auth(self, value: cst.BaseExpression) -> Optional[cst.BaseExpression]:
        probe = HttpxCall(method="get", args=[])
        mapped = map_auth(value, probe, self.qualified, self.settings.target)
        return None if probe.blockers or probe.unsafe else mapped

    def qualified(self, node: cst.CSTNode) -> Set[str]:
        return {q.name for q in self._lookup(node)}

    def plan(self, site: Site) -> SitePlan:
        plan = SitePlan(site)
        plan.call = map_arguments(site.request, self.qualified, self.settings.target,
                                  text_parameters(site.function))
        site.blockers.extend(plan.call.blockers)
        site.unsafe.extend(plan.call.unsafe)
        site.notes.extend(plan.call.notes)
        self._choose_client(plan)
        if self.settings.keep_concurrency_cap and site.via == "run_in_executor":
            site.executor_cap, note = executor_cap(site.executor, site.class_def, self.module, self.qualified)
            if note:
                site.notes.append(note)
        if site.awaited:
            self._follow_response(plan)
        elif site.wrapper is not None:
            site.blockers.append("the thread's future is not awaited here and the lambda post-processes the response")
        else:
            site.unsafe.append("the request now starts as a task (asyncio.ensure_future) instead of a thread future")
        self._find_tries(plan)
        return plan

    # Which client ------------------------------------------------------------------------
    def _choose_client(self, plan: SitePlan) -> None:
        site = plan.site
        receiver = site.request.receiver
        if receiver.kind == "session-with":
            plan.with_node = self._enclosing_session_with(site)
            if plan.with_node is None:
                site.blockers.append("the `with requests.Session()` block is outside this function")
            plan.client = "session"
            return
        if receiver.kind == "session-attribute" and (site.class_def, receiver.attribute) in self._sessions:
            migration = self._sessions[(site.class_def, receiver.attribute)]
            if not self._is_instance_method(site):
                site.blockers.append("the Session attribute is used outside an instance method")
            site.blockers.extend(b for b in migration.blockers if b not in site.blockers)
            site.unsafe.extend(u for u in migration.unsafe if u not in site.unsafe)
            plan.session = migration
            plan.client = "class"
            return
        if not receiver.is_module:
            site.blockers.append(
                "the call goes through a requests.Session kept in a "
                + ("attribute" if receiver.kind == "session-attribute" else "variable or parameter")
                + "; migrate the session and its configuration to an httpx.AsyncClient by hand"
            )
            return
        if site.class_def in self._session_classes:
            # The class's client carries the session's headers, auth and cookies; a plain
            # requests.get() in the same class must not pick them up.
            plan.client = "module"
            return
        plan.client = "class" if self._is_instance_method(site) else "module"

    def _is_instance_method(self, site: Site) -> bool:
        function = site.function
        if site.class_def is None or not function.params.params:
            return False
        if function.params.params[0].name.value != "self":
            return False
        return not any(
            m.matches(d.decorator, m.Name("staticmethod") | m.Name("classmethod")) for d in function.decorators
        )

    def _enclosing_session_with(self, site: Site) -> Optional[cst.With]:
        name = site.request.receiver.expression
        current = self.parents.get(site.node)
        while current is not None and current is not site.function:
            if isinstance(current, cst.With) and current.asynchronous is None:
                for item in current.items:
                    if item.asname is not None and m.matches(item.asname.name, m.Name(name.value)):
                        return current
            current = self.parents.get(current)
        return None

    # The response ----------------------------------------------------------------------------
    def _follow_response(self, plan: SitePlan) -> None:
        site = plan.site
        parent = self.parents.get(site.node)
        if site.wrapper is not None:
            return  # the lambda consumed the response (.json(), .raise_for_status(), ...)
        if isinstance(parent, cst.Return):
            site.unsafe.append("the response is returned to callers, who now get an httpx.Response")
            return
        if isinstance(parent, cst.Expr):
            return
        if isinstance(parent, cst.Assign) and len(parent.targets) == 1 and isinstance(parent.targets[0].target, cst.Name):
            self._follow_variable(plan, parent.targets[0].target)
            return
        if isinstance(parent, (cst.Attribute,)):
            self._plan_attribute(plan, parent)
            return
        site.unsafe.append("the response is passed on as an httpx.Response")

    def _follow_variable(self, plan: SitePlan, target: cst.Name) -> None:
        site = plan.site
        scope = self.scopes.get(target)
        if scope is None:
            return
        assignments = list(scope.assignments[target.value])
        if len(assignments) != 1:
            site.unsafe.append(f"`{target.value}` is assigned more than once; check its other uses by hand")
        for assignment in assignments:
            for access in assignment.references:
                node = access.node
                parent = self.parents.get(node)
                if isinstance(parent, cst.Attribute) and parent.value is node:
                    self._plan_attribute(plan, parent)
                elif isinstance(parent, (cst.If, cst.While)) or m.matches(parent, m.UnaryOperation(operator=m.Not())):
                    plan.edits[node] = lambda updated: cst.parse_expression(f"{updated.value}.status_code < 400")
                elif isinstance(parent, cst.Comparison):
                    continue
                else:
                    site.unsafe.append(f"`{target.value}` leaves the function as an httpx.Response")
                    break

    def _plan_attribute(self, plan: SitePlan, attribute: cst.Attribute) -> None:
        site = plan.site
        name = attribute.attr.value
        parent = self.parents.get(attribute)
        if name in UNSUPPORTED_ATTRIBUTES:
            site.blockers.append(UNSUPPORTED_ATTRIBUTES[name])
        elif name == "text":
            _add(site.notes, "r.text: a text/* response without a charset decodes as UTF-8 in httpx "
                             "(ISO-8859-1 in requests); pass default_encoding= to the client if that matters")
        elif name == "encoding" and isinstance(parent, cst.AssignTarget):
            _add(site.unsafe, "setting r.encoding after r.text was read raises ValueError in httpx; "
                              "keep the assignment before the first .text")
        elif name == "headers" and not isinstance(parent, (cst.Subscript,)) and not (
            isinstance(parent, cst.Attribute) and parent.attr.value == "get"
        ):
            _add(site.notes, "r.headers: iterating or dict() gives lowercase names in httpx "
                             "(requests keeps the server's case)")
        elif name == "ok":
            tight = isinstance(parent, (cst.Attribute, cst.Subscript, cst.Comparison, cst.BinaryOperation, cst.Call)) or (
                isinstance(parent, cst.UnaryOperation) and not isinstance(parent.operator, cst.Not)
            )

            def status_below_400(updated: cst.Attribute) -> cst.BaseExpression:
                comparison = cst.Comparison(
                    left=updated.with_changes(attr=cst.Name("status_code")),
                    comparisons=[cst.ComparisonTarget(cst.LessThan(), cst.Integer("400"))],
                )
                return _parenthesize(comparison) if tight else comparison

            plan.edits[attribute] = status_below_400
        elif name == "is_permanent_redirect":
            plan.edits[attribute] = lambda updated: cst.parse_expression(
                "({0}.status_code in (301, 308) and 'location' in {0}.headers)".format(
                    _code(updated.value)
                )
            )
        elif name in RENAMED_ATTRIBUTES:
            if name == "iter_content" and isinstance(parent, cst.Call) and any(
                a.keyword is not None and a.keyword.value == "decode_unicode" for a in parent.args
            ):
                site.blockers.append("iter_content(decode_unicode=True) → use aiter_text() by hand")
                return
            plan.edits[attribute] = lambda updated, new=RENAMED_ATTRIBUTES[name]: updated.with_changes(attr=cst.Name(new))
        elif name == "iter_lines":
            site.unsafe.append("httpx's iter_lines() yields str, requests' yields bytes")
        elif name == "url" and not isinstance(parent, cst.Comparison):
            plan.edits[attribute] = lambda updated: cst.Call(func=cst.Name("str"), args=[cst.Arg(updated)])
        elif name == "raise_for_status" and isinstance(parent, cst.Call):
            if not plan.call.follows_redirects or plan.call.conditional:
                # httpx raises for 3xx/304 too; requests only for 4xx/5xx.
                plan.edits[parent] = lambda updated: _guarded_raise(updated)
        elif name == "close" and isinstance(parent, cst.Call):
            plan.edits[parent] = lambda updated: cst.Await(
                expression=updated.with_changes(func=updated.func.with_changes(attr=cst.Name("aclose")))
            )

    # Exceptions ------------------------------------------------------------------------------
    def _find_tries(self, plan: SitePlan) -> None:
        site = plan.site
        child: cst.CSTNode = site.node
        current = self.parents.get(child)
        contained = False
        while current is not None and current is not site.function:
            if isinstance(current, cst.Try) and _in_body(current, child):
                plan.tries.append(current)
                for handler in current.handlers:
                    if exceptions.catches_every_requests_error(handler, self.qualified) and not exceptions.reraises(handler):
                        contained = True
                    if _uses_response_attribute(handler) and exceptions.requests_exception_name(
                        sorted(self.qualified(handler.type) if handler.type else ())
                    ) in ("RequestException", "ConnectionError", "Timeout"):
                        site.unsafe.append("the handler reads e.response, which httpx transport errors do not have")
            child, current = current, self.parents.get(current)
        if not contained:
            site.unsafe.append(
                "requests exceptions raised here can reach callers, who may catch requests.RequestException; "
                "they now get httpx exceptions"
            )


def _add(reasons: List[str], reason: str) -> None:
    if reason not in reasons:
        reasons.append(reason)


def _in_body(node: cst.Try, child: cst.CSTNode) -> bool:
    return child is node.body


def _uses_response_attribute(handler: cst.ExceptHandler) -> bool:
    if handler.name is None or not isinstance(handler.name.name, cst.Name):
        return False
    name = handler.name.name.value
    return bool(m.findall(handler.body, m.Attribute(value=m.Name(name), attr=m.Name("response"))))


def _parenthesize(node: cst.BaseExpression) -> cst.BaseExpression:
    return node.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])


def _guarded_raise(call: cst.Call) -> cst.BaseExpression:
    response = _code(call.func.value)
    return cst.parse_expression(f"({response}.raise_for_status() if {response}.status_code >= 400 else None)")

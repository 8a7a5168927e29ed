"""What a callable handed to a thread does: `requests.get`, `partial(requests.get, u)`, a lambda.

Executor and to_thread shapes all hand over a callable plus arguments. This module turns that
pair into the one request it makes, or says why it cannot (several requests in one lambda,
`*args` forwarding, ...).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

import libcst as cst
import libcst.matchers as m

from unfake_async.codemod.analysis.names import code as _code
from unfake_async.codemod.analysis.sites import RequestCall, Wrapper


@dataclass
class Offloaded:
    request: RequestCall
    what: str
    wrapper: Optional[Wrapper] = None
    blockers: List[str] = field(default_factory=list)
    # The arguments the author handed to the helper for the function (after the callable).
    # Each must reach `request.args` (checked in `make_site`) unless a lambda binds them.
    handed_over: List[cst.Arg] = field(default_factory=list)
    binds_lambda: bool = False
    # Keywords handed to a helper that passes none to the function (`run_in_executor`,
    # `async_add_executor_job`): the original raises TypeError; the fix sends them as meant.
    unforwarded: List[str] = field(default_factory=list)


def resolve_offloaded(func: cst.BaseExpression, args: Sequence[cst.Arg], ctx) -> Optional[Offloaded]:
    """The request that `func(*args)` makes when run in a thread, or None if it is not requests."""
    offloaded = _resolve(func, args, ctx)
    if offloaded is not None:
        offloaded.handed_over = list(args)
        offloaded.binds_lambda = isinstance(func, cst.Lambda)
    return offloaded


def _resolve(func: cst.BaseExpression, args: Sequence[cst.Arg], ctx) -> Optional[Offloaded]:
    target = ctx.requests_target(func)
    if target is not None:
        method, receiver = target
        return Offloaded(RequestCall(method, receiver, list(args)), _code(func))
    if ctx.is_partial(func) and func.args and not func.args[0].keyword and not func.args[0].star:
        target = ctx.requests_target(func.args[0].value)
        if target is None:
            return None
        method, receiver = target
        bound = list(func.args[1:])
        positional = [a for a in bound if not a.keyword] + [a for a in args if not a.keyword]
        keywords = [a for a in bound if a.keyword] + [a for a in args if a.keyword]
        offloaded = Offloaded(RequestCall(method, receiver, positional + keywords), _code(func.args[0].value))
        if any(a.star for a in bound):
            offloaded.blockers.append("partial() forwards *args/**kwargs; the arguments cannot be mapped")
        return offloaded
    if isinstance(func, cst.Lambda):
        return _resolve_lambda(func, args, ctx)
    return None


def _resolve_lambda(func: cst.Lambda, args: Sequence[cst.Arg], ctx) -> Optional[Offloaded]:
    calls = [
        call
        for call in m.findall(func.body, m.Call())
        if isinstance(call, cst.Call) and ctx.requests_target(call.func) is not None
    ]
    if not calls:
        return None
    call = calls[0]
    method, receiver = ctx.requests_target(call.func)
    offloaded = Offloaded(RequestCall(method, receiver, list(call.args)), _code(call.func))
    if len(calls) > 1:
        offloaded.blockers.append("the lambda makes several requests; rewrite it as an async function by hand")
        return offloaded
    if any(isinstance(n, cst.Lambda) for n in m.findall(func.body, m.Lambda())):
        offloaded.blockers.append("the request sits in a nested lambda")
        return offloaded
    substitutions = _bind_parameters(func.params, args, offloaded.blockers)
    if offloaded.blockers:
        return offloaded
    body = func.body
    if substitutions:
        body = _substitute(body, substitutions)
        call = [c for c in m.findall(body, m.Call()) if isinstance(c, cst.Call) and c.func.deep_equals(call.func)][0]
        offloaded.request = RequestCall(method, receiver, list(call.args))
    if body is call:
        return offloaded
    offloaded.wrapper = _wrap_in(body, call)
    return offloaded


def _wrap_in(body: cst.BaseExpression, call: cst.Call) -> Wrapper:
    def wrap(awaited: cst.BaseExpression) -> cst.BaseExpression:
        parenthesized = awaited.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
        return body.deep_replace(call, parenthesized)

    return wrap


def _bind_parameters(
    params: cst.Parameters, args: Sequence[cst.Arg], blockers: List[str]
) -> Dict[str, cst.BaseExpression]:
    """Map lambda parameter names to the expressions they receive (argument or default)."""
    if params.star_arg is not cst.MaybeSentinel.DEFAULT and params.star_arg is not None:
        blockers.append("the lambda takes *args")
        return {}
    if params.star_kwarg is not None or params.kwonly_params or params.posonly_params:
        blockers.append("the lambda's parameters cannot be mapped")
        return {}
    if any(a.keyword or a.star for a in args):
        blockers.append("keyword or starred arguments to the lambda cannot be mapped")
        return {}
    if len(args) > len(params.params):
        blockers.append("more arguments than the lambda takes")
        return {}
    bound: Dict[str, cst.BaseExpression] = {}
    for index, param in enumerate(params.params):
        if index < len(args):
            value = args[index].value
        elif param.default is not None:
            value = param.default
        else:
            blockers.append(f"lambda parameter {param.name.value!r} gets no value")
            return {}
        if not isinstance(value, (cst.Name, cst.Attribute, cst.BaseString, cst.Integer, cst.Float)):
            # Substituting a call would evaluate it later, and maybe more than once.
            blockers.append(f"lambda parameter {param.name.value!r} is bound to a computed value")
            return {}
        bound[param.name.value] = value
    return bound


class _Substitute(cst.CSTTransformer):
    """Replace references to lambda parameters (never attribute names or keyword names)."""

    def __init__(self, mapping: Dict[str, cst.BaseExpression]) -> None:
        self._mapping = mapping
        self._protected: set = set()

    def visit_Attribute(self, node: cst.Attribute) -> None:
        self._protected.add(id(node.attr))

    def visit_Arg(self, node: cst.Arg) -> None:
        if node.keyword is not None:
            self._protected.add(id(node.keyword))

    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.BaseExpression:
        if id(original_node) in self._protected or original_node.value not in self._mapping:
            return updated_node
        return self._mapping[original_node.value]


def _substitute(body: cst.BaseExpression, mapping: Dict[str, cst.BaseExpression]) -> cst.BaseExpression:
    return body.visit(_Substitute(mapping))

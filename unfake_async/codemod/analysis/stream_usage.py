"""How a streamed requests response is used, and the edits that make it an httpx stream.

Inside `async with client.stream(...) as r:` the body must be read asynchronously:
`for chunk in r.iter_content(n)` becomes `async for chunk in r.aiter_bytes(n)`, and
`for line in r.iter_lines()` becomes `async for line in r.aiter_lines()`, which yields *str*
where requests yields *bytes*: the loop is adapted when every use of the line works the same
on str (`line.decode()` → `line`, `json.loads(line)`, a truth test), otherwise it is reported.
Anything that reads the whole body (`.content`, `.text`, `.json()`), `r.raw`, or the response
leaving the block (returned, passed on) is reported: there is no stream to rewrite it into.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Dict, List

import libcst as cst
import libcst.matchers as m

from unfake_async.codemod.analysis.names import code as _code

# Builds the replacement of a node from its updated version.
Edit = Callable[[cst.CSTNode], cst.CSTNode]

SAME_IN_HTTPX = ("status_code", "headers", "cookies", "history", "encoding", "is_redirect")
READS_BODY = ("content", "text", "json")
LINE_SPLIT_NOTE = (
    "aiter_lines() decodes each line with the response's charset (UTF-8 when it has none) and splits like "
    "str.splitlines(); requests' iter_lines() splits the bytes"
)


@dataclass
class StreamPlan:
    """The node edits for one streamed response, and what keeps them from being safe or possible."""

    edits: Dict[cst.CSTNode, Edit] = field(default_factory=dict)
    # For loops to turn into `async for`.
    loops: List[cst.For] = field(default_factory=list)
    blockers: List[str] = field(default_factory=list)
    unsafe: List[str] = field(default_factory=list)


def _keyword(call: cst.Call, name: str):
    return next((a.value for a in call.args if a.keyword is not None and a.keyword.value == name), None)


def _is_true(node) -> bool:
    return isinstance(node, cst.Name) and node.value == "True"


class UsagePlanner:
    """Plans the edits for every reference to the response variable."""

    def __init__(self, parents, scopes, qualified) -> None:
        self.parents = parents
        self.scopes = scopes
        self.qualified = qualified

    def plan(self, references: List[cst.Name], function: cst.FunctionDef, follows_redirects: bool) -> StreamPlan:
        plan = StreamPlan()
        for node in references:
            self._reference(plan, node, function, follows_redirects)
        return plan

    def _reference(self, plan: StreamPlan, node: cst.Name, function: cst.FunctionDef, follows: bool) -> None:
        parent = self.parents.get(node)
        if not (isinstance(parent, cst.Attribute) and parent.value is node):
            plan.blockers.append(f"the response leaves the stream block (`{_code(parent)}`)")
            return
        name = parent.attr.value
        call = self.parents.get(parent)
        called = isinstance(call, cst.Call) and call.func is parent
        if name in SAME_IN_HTTPX:
            return
        if name == "reason":
            plan.edits[parent] = lambda updated: updated.with_changes(attr=cst.Name("reason_phrase"))
        elif name == "url":
            plan.edits[parent] = lambda updated: cst.Call(func=cst.Name("str"), args=[cst.Arg(updated)])
        elif name == "ok":
            plan.edits[parent] = lambda updated: cst.parse_expression(f"({_code(updated.value)}.status_code < 400)")
        elif name == "raise_for_status" and called:
            if not follows:  # httpx also raises for 3xx, requests only for 4xx/5xx
                plan.edits[call] = lambda updated: cst.parse_expression(
                    "({0}.raise_for_status() if {0}.status_code >= 400 else None)".format(_code(updated.func.value)))
        elif name == "close" and called:
            plan.edits[call] = lambda updated: cst.Await(
                updated.with_changes(func=updated.func.with_changes(attr=cst.Name("aclose"))))
        elif name in ("iter_content", "iter_lines") and called:
            self._iteration(plan, call, name, function)
        elif name in READS_BODY:
            plan.blockers.append(f"`r.{name}` reads the whole body inside the stream; drop stream=True instead")
        elif name == "raw":
            plan.blockers.append("the response's raw urllib3 stream (r.raw) has no httpx equivalent")
        else:
            plan.blockers.append(f"`{_code(parent)}` is not rewritten for streamed responses")

    def _iteration(self, plan: StreamPlan, call: cst.Call, name: str, function: cst.FunctionDef) -> None:
        loop = self.parents.get(call)
        if not (isinstance(loop, cst.For) and loop.iter is call and loop.asynchronous is None):
            plan.blockers.append(f"`{_code(call)}` is consumed outside a plain `for` loop")
            return
        if self._enclosing_function(loop) is not function:
            plan.blockers.append(f"`{_code(call)}` is read in a nested function")
            return
        if _is_true(_keyword(call, "decode_unicode")):
            plan.blockers.append(f"{name}(decode_unicode=True) yields bytes or str depending on the encoding; "
                                 "use aiter_text()/aiter_lines() by hand")
            return
        if name == "iter_content":
            self._bytes(plan, call)
        else:
            if _keyword(call, "delimiter") is not None:
                plan.blockers.append("iter_lines(delimiter=...) has no httpx equivalent")
                return
            self._lines(plan, loop)
            plan.edits[call] = lambda updated: updated.with_changes(
                func=updated.func.with_changes(attr=cst.Name("aiter_lines")), args=[])
        plan.loops.append(loop)

    def _bytes(self, plan: StreamPlan, call: cst.Call) -> None:
        size = _keyword(call, "chunk_size")
        positional = [a for a in call.args if a.keyword is None]
        if size is None and positional:
            size = positional[0].value
        if size is None:
            plan.unsafe.append("iter_content() with no size yields 1-byte chunks; aiter_bytes() yields them as they arrive")
        args = [] if size is None or (isinstance(size, cst.Name) and size.value == "None") else [cst.Arg(size)]
        plan.edits[call] = lambda updated: updated.with_changes(
            func=updated.func.with_changes(attr=cst.Name("aiter_bytes")), args=args)

    def _lines(self, plan: StreamPlan, loop: cst.For) -> None:
        """Keep the loop body right now that each line is str: `.decode()` goes, json.loads and
        truth tests work the same; any other use of the line is reported."""
        if not isinstance(loop.target, cst.Name):
            plan.blockers.append("the iter_lines() loop target is not a plain name")
            return
        scope = self.scopes.get(loop.target)
        accesses = [a for assignment in scope.assignments[loop.target.value] if assignment.node is loop.target
                    for a in assignment.references] if scope is not None else []
        if scope is not None and len(scope.assignments[loop.target.value]) > 1:
            plan.blockers.append(f"`{loop.target.value}` is assigned elsewhere too; adapt the lines loop by hand")
            return
        for access in accesses:
            node = access.node
            parent = self.parents.get(node)
            grandparent = self.parents.get(parent) if parent is not None else None
            if m.matches(parent, m.Attribute(attr=m.Name("decode"))) and isinstance(grandparent, cst.Call) and (
                not grandparent.args or m.matches(grandparent.args[0].value, m.SimpleString())
                and str(grandparent.args[0].value.evaluated_value).lower().replace("-", "") in ("utf8",)
            ):
                plan.edits[grandparent] = lambda updated: updated.func.value
            elif isinstance(parent, cst.Arg) and isinstance(grandparent, cst.Call) and (
                "json.loads" in self.qualified(grandparent.func)
            ):
                continue
            elif isinstance(parent, (cst.If, cst.While)) or m.matches(parent, m.UnaryOperation(operator=m.Not())):
                continue
            else:
                plan.blockers.append(
                    f"iter_lines() yields bytes and aiter_lines() str; `{_code(parent)}` uses the line as bytes"
                )
                return
        plan.unsafe.append(LINE_SPLIT_NOTE)

    def _enclosing_function(self, node: cst.CSTNode):
        current = self.parents.get(node)
        while current is not None and not isinstance(current, (cst.FunctionDef, cst.Lambda)):
            current = self.parents.get(current)
        return current

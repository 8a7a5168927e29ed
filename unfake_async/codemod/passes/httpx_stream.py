"""UFA005 for `with httpx.stream(...) as r:` in `async def`: when the block only loops over the
body (`for chunk in r.iter_bytes():`) and reads it (`r.read()`), it becomes
`async with client.stream(...) as r:` with `async for chunk in r.aiter_bytes():` and
`await r.aread()`. httpx's sync and async responses mirror each other (`iter_lines` and
`aiter_lines` both yield `str`), so nothing else changes. Anything else done with the response
(passed on, returned, iterated outside a `for`, closed by hand) is reported instead.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Tuple

import libcst as cst
import libcst.matchers as m

from unfake_async.codemod.analysis.async_scope import ModuleView, awaited

ASYNC_TWINS = {"iter_bytes": "aiter_bytes", "iter_text": "aiter_text", "iter_lines": "aiter_lines",
               "iter_raw": "aiter_raw", "read": "aread"}
SYNC_ONLY = ("close", "__enter__", "__exit__")


@dataclass
class StreamBlock:
    """A `with httpx.stream(...) as name:` block whose response only feeds `for` loops and reads."""

    with_node: cst.With
    loops: List[cst.For] = field(default_factory=list)
    reads: List[cst.Call] = field(default_factory=list)

    def edits(self, parents) -> Dict[cst.CSTNode, Callable]:
        """The edits besides the call itself: `async with`, `async for ... aiter_*()`, `await aread()`."""
        found: Dict[cst.CSTNode, Callable] = {
            self.with_node: lambda updated: updated.with_changes(asynchronous=cst.Asynchronous()),
        }
        for loop in self.loops:
            found[loop] = _async_for
        for read in self.reads:
            found[read] = lambda updated, read=read: awaited(
                read, updated.with_changes(func=updated.func.with_changes(attr=cst.Name("aread")), lpar=[], rpar=[]), parents)
        return found


def _async_for(updated: cst.For) -> cst.For:
    func = updated.iter.func
    return updated.with_changes(asynchronous=cst.Asynchronous(),
                                iter=updated.iter.with_changes(func=func.with_changes(attr=cst.Name(ASYNC_TWINS[func.attr.value]))))


def stream_block(call: cst.Call, function: cst.FunctionDef, view: ModuleView) -> Tuple[Optional[StreamBlock], Optional[str]]:
    """The block `call` (an `httpx.stream(...)`) opens and what to change in it, or why not."""
    item = view.parents.get(call)
    with_node = view.parents.get(item) if isinstance(item, cst.WithItem) else None
    if not isinstance(with_node, cst.With) or item.item is not call:
        return None, "`httpx.stream()` is not the context manager of a `with` statement; convert it by hand"
    if with_node.asynchronous is not None or len(with_node.items) != 1:
        return None, "the `with` statement manages several things; convert it by hand"
    if item.asname is None or not isinstance(item.asname.name, cst.Name):
        return None, "the response is not bound to a name; convert it by hand"
    name = item.asname.name.value
    block = StreamBlock(with_node)
    for use in m.findall(with_node.body, m.Name(name)):
        reason = _use(use, name, function, view, block)
        if reason:
            return None, reason
    return block, None


def _use(use: cst.Name, name: str, function: cst.FunctionDef, view: ModuleView, block: StreamBlock) -> Optional[str]:
    parent = view.parents.get(use)
    if not (isinstance(parent, cst.Attribute) and parent.value is use):
        return f"the response `{name}` is passed on or stored; convert the block by hand"
    method = parent.attr.value
    call = view.parents.get(parent)
    if not (isinstance(call, cst.Call) and call.func is parent):
        return None  # an attribute both responses have (status_code, headers, ...)
    if method in SYNC_ONLY:
        return f"`{name}.{method}()` has no async twin here; convert the block by hand"
    if method not in ASYNC_TWINS:
        return None  # raise_for_status(), json() after a read: the same on both responses
    if view.async_function_of(call) is not function or view.in_generator_expression(call):
        return f"`{name}.{method}()` runs where `await`/`async for` cannot go; convert the block by hand"
    if method == "read":
        block.reads.append(call)
        return None
    loop = view.parents.get(call)
    if isinstance(loop, cst.For) and loop.iter is call and loop.asynchronous is None:
        block.loops.append(loop)
        return None
    return f"`{name}.{method}()` is not the iterable of a `for` loop; convert the block by hand"

"""Which callable an offload call hands to a thread, and the arguments it gets:
`loop.run_in_executor(pool, f, *args)`, `asyncio.to_thread(f, *args)`, configured helpers
(`offload-helpers`, `offload-methods`), `sync_to_async(f)(*args)`; through `partial(f, ...)`
and `lambda: f(...)` too."""
from __future__ import annotations

from typing import List, Optional

import libcst as cst

from unfake_async.codemod.analysis import names
from unfake_async.codemod.analysis.async_scope import ModuleView
from unfake_async.codemod.analysis.names import code
from unfake_async.codemod.passes.sync_helpers.model import Use


def offloaded_use(view: ModuleView, settings, call: cst.Call) -> Optional[Use]:
    """The helper function handed to a thread by `call`, with the arguments it gets."""
    use = _offloaded_callable(view, settings, call)
    return _unwrap(view, use) if use is not None else None


def _unwrap(view: ModuleView, use: Use) -> Use:
    """`partial(self._fetch, u)` and `lambda: self._fetch(u)` hand over the helper too."""
    func = use.func
    if names.is_partial(view.lookup, func) and func.args and func.args[0].keyword is None and not func.args[0].star:
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


def _offloaded_callable(view: ModuleView, settings, call: cst.Call) -> Optional[Use]:
    func = call.func
    helpers = dict(settings.offload_helpers)
    if isinstance(func, cst.Attribute) and func.attr.value == "run_in_executor":
        if len(call.args) < 2 or any(a.keyword is not None or a.star for a in call.args):
            return None
        return Use(call, "offload", "run_in_executor", list(call.args[2:]), call.args[1].value,
                   executor=call.args[0].value, loop=func.value)
    if isinstance(func, cst.Call):
        kinds = {helpers.get(n) for n in view.imported(func.func)}
        if "wrap" not in kinds or not func.args or func.args[0].keyword or func.args[0].star:
            return None
        return Use(call, "offload", code(func.func), list(call.args), func.args[0].value)
    kinds = {helpers.get(n) for n in view.imported(func)} - {None}
    if not kinds and isinstance(func, cst.Attribute) and func.attr.value in settings.offload_methods:
        kinds = {"call-args"}
    if not kinds & {"call", "call-args"} or not call.args or call.args[0].keyword or call.args[0].star:
        return None
    use = Use(call, "offload", code(func), list(call.args[1:]), call.args[0].value)
    if "call" not in kinds and any(a.keyword is not None for a in use.args):
        use.blocker = f"keyword arguments of `{use.via}` configure the thread, not the helper"
    return use


def _with_commas(args: List[cst.Arg]) -> List[cst.Arg]:
    """Arguments gathered from two calls: every one but the last needs its comma."""
    fixed = []
    for index, arg in enumerate(args):
        if index < len(args) - 1 and arg.comma is cst.MaybeSentinel.DEFAULT:
            arg = arg.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
        fixed.append(arg)
    return fixed

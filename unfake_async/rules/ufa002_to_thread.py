"""UFA002 requests-in-thread-offload: `asyncio.to_thread(requests.get, url)` and its cousins."""
from __future__ import annotations

from typing import Optional

# libcst is imported inside `match`: listing rules and their docs must not pay for the parser.
from unfake_async.codemod.engine.model import FixSafety
from unfake_async.rules.base import Example, Rule

RULE = Rule(
    id="UFA002",
    name="requests-in-thread-offload",
    summary="Blocking `requests` call pushed onto a thread with `asyncio.to_thread` or a framework helper",
    fix=FixSafety.UNSAFE,
    what_it_does="""
        Checks for thread-offload helpers inside `async def` whose callable sends a `requests`
        HTTP request: `asyncio.to_thread(requests.get, url)`, `asyncio.to_thread(lambda: ...)`,
        `anyio.to_thread.run_sync`, Starlette/FastAPI `run_in_threadpool`,
        `asgiref.sync.sync_to_async(requests.get)(url)`, `asyncer.asyncify(...)(...)` and Home
        Assistant's `hass.async_add_executor_job(requests.get, url)`. More helpers can be
        added with `extra-offload-helpers` / `extra-offload-methods` in `[tool.unfake-async]`.
    """,
    why_bad="""
        The request still blocks a thread for its whole duration; the helper only moves the wait
        off the event loop. `asyncio.to_thread` runs on the loop's default executor
        (`min(32, cpu_count + 4)` threads, shared with DNS resolution), so a burst of requests
        queues behind the pool and starves `getaddrinfo`; anyio's limiter defaults to 40
        threads. Each call also pays a thread hand-off and cannot share a connection pool
        with the event loop. An async client needs no threads at all.
    """,
    fix_safety="""
        Same as UFA001: the request is awaited on a shared `httpx.AsyncClient` that keeps
        requests' redirect, timeout and cookie behaviour, and `except requests.*` clauses around
        it are mapped. Unsafe when requests exceptions or the response can reach callers, safe
        when every requests error is handled locally. Helper-only keyword arguments (anyio's
        `limiter=`, `cancellable=`, `abandon_on_cancel=`) are dropped with the thread. Other
        keywords handed to a helper that passes none to the function
        (`anyio.to_thread.run_sync`, `hass.async_add_executor_job`) make the original raise
        TypeError; the fix sends them with the request as the author meant, and is unsafe.
    """,
    examples=(
        Example(
            before="""
                import asyncio

                import requests


                async def get_user(user_id):
                    r = await asyncio.to_thread(requests.get, f"https://api.example.com/users/{user_id}")
                    r.raise_for_status()
                    return r.json()
            """,
            after="""
                async def get_user(user_id):
                    r = await _http_client().get(f"https://api.example.com/users/{user_id}")
                    r.raise_for_status()
                    return r.json()
            """,
        ),
    ),
    valid=(
        """
        import asyncio
        import json

        async def load(text):
            return await asyncio.to_thread(json.loads, text)
        """,
        """
        import asyncio

        async def lookup(cache, key):
            session = {"get": 1}
            return await asyncio.to_thread(session.get, key)
        """,
    ),
)


# Keywords that "call-args" helpers take for themselves; they go with the thread. Any other
# keyword is not passed to the function: the helper raises TypeError for it.
HELPER_OPTIONS = {
    "anyio.to_thread.run_sync": ("abandon_on_cancel", "cancellable", "limiter"),
}


def _split_options(args, helper_names):
    """(arguments for the function, the helper's own options) of a "call-args" helper."""
    options = {option for name in helper_names for option in HELPER_OPTIONS.get(name, ())}
    own = [arg for arg in args if arg.keyword is not None and arg.keyword.value in options]
    return [arg for arg in args if not any(arg is o for o in own)], own


def match(call, ctx) -> Optional["object"]:
    """An offload helper call whose callable is a requests call, or None."""
    import libcst as cst

    if isinstance(call.func, cst.Call):
        inner = call.func
        kinds = ctx.offload_kinds(inner.func)
        if "wrap" not in kinds or not inner.args or inner.args[0].keyword or inner.args[0].star:
            return None
        offloaded = ctx.resolve_offloaded(inner.args[0].value, list(call.args))
        via = ctx.code(inner.func)
    else:
        kinds = ctx.offload_kinds(call.func)  # the settings' helpers and the project's own
        if not kinds & {"call", "call-args"} or not call.args:
            return None
        first = call.args[0]
        if first.keyword is not None or first.star:
            return None
        rest = list(call.args[1:])
        unforwarded = []
        if "call" not in kinds:
            rest, _options = _split_options(rest, ctx.qualified_names(call.func))
            unforwarded = [arg.keyword.value for arg in rest if arg.keyword is not None]
        offloaded = ctx.resolve_offloaded(first.value, rest)
        via = ctx.code(call.func)
        if offloaded is not None:
            offloaded.unforwarded = unforwarded
    if offloaded is None:
        return None
    if any(arg.star for arg in offloaded.request.args):
        offloaded.blockers.append("arguments are forwarded with * or **; they cannot be mapped")
    return ctx.make_site(RULE.id, call, offloaded, via=via)

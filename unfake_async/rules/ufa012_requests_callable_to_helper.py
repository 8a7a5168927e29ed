"""UFA012 requests-callable-to-helper: `await helper(requests.get, url)` whatever `helper` is."""
from __future__ import annotations

from typing import Optional

# libcst is imported inside `match`: listing rules and their docs must not pay for the parser.
from unfake_async.codemod.engine.model import FixSafety
from unfake_async.rules.base import Example, Rule

RULE = Rule(
    id="UFA012",
    name="requests-callable-to-helper",
    summary="A `requests` callable handed to an awaited helper this tool does not know as an offload",
    fix=FixSafety.UNSAFE,
    what_it_does="""
        Checks for an awaited call inside `async def` whose first argument is a callable that
        sends a `requests` HTTP request (`requests.get`, `partial(requests.post, url)`, a lambda
        that calls requests, a method of a `requests.Session`), when the helper it is handed
        to is not a known thread offload (those are UFA001/UFA002): a project's `run_sync`
        defined outside the checked tree, NiceGUI's `run.io_bound`, a helper that arrives as a
        parameter, or an `async def` helper of the project that calls its argument on the spot.
    """,
    why_bad="""
        Whatever the helper does with the callable, the request is a blocking `requests` call:
        either the helper runs it in a thread (fake async: a worker thread held for the whole
        request, concurrency capped by the pool) or it calls it directly, and then the event
        loop itself waits for the request.
    """,
    fix_safety="""
        The fix awaits the same request on the shared `httpx.AsyncClient` in place of the helper
        call, as for UFA002. When the project's helper was read and calls its argument with the
        rest of its arguments unchanged, the fix has UFA002's safety. Otherwise it is **unsafe**,
        with the reason "assumes `helper` calls its first argument with the rest": a helper
        that retries, logs or changes the arguments loses that behaviour.
    """,
    examples=(
        Example(
            before="""
                import requests

                from nicegui import run


                async def status(url):
                    r = await run.io_bound(requests.get, url, timeout=5)
                    return r.status_code
            """,
            after="""
                async def status(url):
                    r = await _http_client().get(url, timeout=httpx.Timeout(5, pool=None))
                    return r.status_code
            """,
        ),
    ),
    valid=(
        """
        import asyncio

        async def lookup(retry, cache, key):
            session = {"get": 1}
            return await retry(session.get, key)
        """,
        """
        import aiohttp
        import httpx

        CLIENT = httpx.AsyncClient()

        async def fetch(run, session: aiohttp.ClientSession, url):
            await run(CLIENT.get, url)
            return await run(session.get, url)
        """,
        """
        import asyncio

        async def jobs(project):
            return await asyncio.to_thread(project.jobs.get, 1)
        """,
    ),
)
ASSUMPTION = "assumes `{helper}` calls its first argument with the rest"


def match(call, ctx) -> Optional["object"]:
    """An awaited `helper(<requests callable>, *args)` the offload rules did not claim, or None."""
    import libcst as cst

    if isinstance(call.func, cst.Call) or not isinstance(ctx.parent(call), cst.Await):
        return None
    if not call.args or call.args[0].keyword is not None or call.args[0].star:
        return None
    kinds = ctx.offload_kinds(call.func)
    if kinds - {"direct"}:
        return None  # a known offload: UFA001/UFA002 own it
    offloaded = ctx.resolve_offloaded(call.args[0].value, list(call.args[1:]))
    if offloaded is None:
        return None
    if any(arg.star for arg in offloaded.request.args):
        offloaded.blockers.append("arguments are forwarded with * or **; they cannot be mapped")
    helper = ctx.code(call.func)
    site = ctx.make_site(RULE.id, call, offloaded, via=helper)
    if "direct" not in kinds:
        site.unsafe.append(ASSUMPTION.format(helper=helper))
    return site

"""UFA003 blocking-requests-in-async: `requests.get(url)` written straight inside `async def`."""
from __future__ import annotations

from typing import Optional

# libcst is imported inside `match`: listing rules and their docs must not pay for the parser.
from unfake_async.codemod.engine.model import FixSafety
from unfake_async.rules.base import Example, Rule

RULE = Rule(
    id="UFA003",
    name="blocking-requests-in-async",
    summary="Blocking `requests` call directly inside `async def`",
    fix=FixSafety.UNSAFE,
    what_it_does="""
        Checks for `requests` calls (`requests.get/post/put/patch/delete/head/options/request`,
        under any import spelling, and the same methods on a `requests.Session`) made directly
        in the body of an `async def`. The session is recognised by how it was created
        (`requests.Session()`, `with requests.Session() as s`, a `requests.Session` annotation),
        never by the method name, so `cache.get(key)` is not flagged.
    """,
    why_bad="""
        The call blocks the event loop thread until the server answers: every other coroutine,
        callback and timer in the process stops for the request's full latency, so a bot or
        web app serves one request at a time. It is the same defect as ruff's ASYNC210, which
        reports it without a fix.
    """,
    fix_safety="""
        The call becomes `await client.get(...)` on a shared `httpx.AsyncClient` that keeps
        requests' redirect, timeout and cookie behaviour; `except requests.*` clauses around it
        are mapped. Unsafe when requests exceptions or the response can reach callers, safe
        when every requests error is handled locally. A call inside a generator expression or
        a sync nested function is reported without a fix (an `await` cannot go there).
    """,
    examples=(
        Example(
            before="""
                import requests


                async def weather(city):
                    try:
                        r = requests.get("https://wttr.in/" + city, params={"format": "j1"}, timeout=10)
                        r.raise_for_status()
                    except requests.RequestException:
                        return None
                    return r.json()
            """,
            after="""
                async def weather(city):
                    try:
                        r = await _http_client().get(
                            "https://wttr.in/" + city,
                            params={"format": "j1"},
                            timeout=httpx.Timeout(10, pool=None),
                        )
                        r.raise_for_status()
                    except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError):
                        return None
                    return r.json()
            """,
            fix=FixSafety.SAFE,
        ),
    ),
    valid=(
        """
        async def handler(session, key):
            # a dict named session: not HTTP
            return session.get(key)
        """,
        """
        import requests

        def sync_helper(url):
            return requests.get(url).json()
        """,
        """
        import requests

        async def outer(url):
            def inner():
                return requests.get(url)
            return inner
        """,
    ),
)


def match(call, ctx) -> Optional["object"]:
    """A requests call written directly in the async function, or None."""
    from unfake_async.codemod.analysis.offload import Offloaded
    from unfake_async.codemod.analysis.sites import RequestCall

    target = ctx.requests_target(call.func)
    if target is None:
        return None
    method, receiver = target
    offloaded = Offloaded(RequestCall(method, receiver, list(call.args)), ctx.code(call.func))
    site = ctx.make_site(RULE.id, call, offloaded, via="")
    site.awaited = True  # the rewrite awaits the call in place
    if ctx.inside_generator_expression(call):
        site.blockers.append("the call is inside a generator expression, where `await` would make it async")
    return site

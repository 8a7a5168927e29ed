"""UFA005 sync-httpx-in-async: `httpx.get(...)` or a sync `httpx.Client` inside `async def`."""
from __future__ import annotations

from unfake_async.codemod.engine.model import FixSafety
from unfake_async.rules.base import Example, Rule

RULE = Rule(
    id="UFA005",
    name="sync-httpx-in-async",
    summary="Sync httpx/httpx2 request inside `async def`",
    fix=FixSafety.SAFE,
    what_it_does="""
        Checks for the blocking httpx API used directly in the body of an `async def`:
        the module functions `httpx.get/post/put/patch/delete/head/options/request/stream`
        (and the same in `httpx2`), and the network methods (`get`, `post`, ..., `request`,
        `send`, `stream`, `close`) of a sync `httpx.Client` / `httpx2.Client`. The client is
        recognised by how it was bound (`with httpx.Client() as c`, `c = httpx.Client()`, an
        annotation, a parameter annotation, `self.c = httpx.Client()`), never by the method name.
        The same shapes as flake8-async's ASYNC210 and ASYNC212.

        The fix awaits `httpx.get(url, ...)` on the module's shared `httpx.AsyncClient` (the
        one the requests migration generates) with the module function's own defaults written
        out, and turns a `with httpx.Client(...) as c:` block whose client only sends requests
        into `async with httpx.AsyncClient(...) as c:` (UFA004 then moves it to the shared
        client). `with httpx.stream(...) as r:` whose response only feeds `for` loops
        (`r.iter_bytes()`, `iter_text`, `iter_lines`, `iter_raw`) and `r.read()` becomes
        `async with <shared client>.stream(...) as r:` with `async for ... in r.aiter_bytes()`
        and `await r.aread()`. A client kept in a variable, an attribute or a parameter, a
        streamed response used any other way, and client options on `httpx.get()` (`verify=`,
        `cookies=`, `proxy=`, ...) are reported.
    """,
    why_bad="""
        httpx's sync API blocks the thread, and in a coroutine that thread runs the event loop:
        every other task waits for the whole request. It is the easiest case of fake async to
        miss, because the code already "uses httpx" - only the wrong half of it. Each
        `httpx.get()` also builds and tears down a whole client (connection pool, SSL context,
        TLS handshake) for one request.
    """,
    fix_safety="""
        Safe for `httpx.get()` & co.: the request goes through the same library, so it raises
        the same exceptions and returns the same `httpx.Response`; the module functions do not
        follow redirects and time out after 5 s, so the rewritten call passes
        `follow_redirects=False` and `timeout=httpx.Timeout(5.0, pool=None)` unless the caller
        gave them (`pool=None`: a throwaway client never waits for a free connection, so neither
        does the shared one). A `timeout=` given as an expression is passed through and the fix
        is unsafe: it would now also bound the wait for a pool slot. Safe for the `with` block:
        `httpx.AsyncClient` takes the same options and behaves the same way; blocks whose client
        is passed on, closed by hand, streamed or configured with sync-only options (transport,
        mounts, event hooks) are reported instead.
    """,
    examples=(
        Example(
            before="""
                import httpx


                async def weather(city):
                    r = httpx.get("https://wttr.in/" + city, params={"format": "j1"})
                    r.raise_for_status()
                    return r.json()
            """,
            after="""
                async def weather(city):
                    r = await _http_client().get(
                        "https://wttr.in/" + city,
                        params={"format": "j1"},
                        follow_redirects=False,
                        timeout=httpx.Timeout(5.0, pool=None),
                    )
                    r.raise_for_status()
                    return r.json()
            """,
            fix=FixSafety.SAFE,
        ),
    ),
    valid=(
        """
        import httpx

        async def fetch(client: httpx.AsyncClient, url):
            return (await client.get(url)).json()
        """,
        """
        import httpx

        def sync_fetch(url):
            with httpx.Client() as client:
                return client.get(url).json()
        """,
        """
        async def lookup(client, key):
            # an untyped parameter called client: not known to be httpx
            return client.get(key)
        """,
    ),
)

"""UFA004 per-call-client: an HTTP client created (and thrown away) for each call or iteration.

Detection and the fix live in `unfake_async.codemod.passes.per_call_client` (a pass of its own).
"""
from __future__ import annotations

from unfake_async.codemod.engine.model import FixSafety
from unfake_async.rules.base import Example, Rule

RULE = Rule(
    id="UFA004",
    name="per-call-client",
    summary="HTTP client created per call or per loop iteration",
    fix=FixSafety.SAFE,
    what_it_does="""
        Checks for `async with httpx.AsyncClient(...) as c:` (also `httpx2.AsyncClient`) and
        `async with aiohttp.ClientSession(...) as s:` inside an `async def` that runs per
        request, or inside a loop. Not flagged: a client made once in `__init__`, `__aenter__`,
        a lifespan/startup hook, a fixture, an async generator, `main()` (or a function the
        module runs with `asyncio.run`), and a client that is returned, yielded, stored or
        passed in: those live longer than one call.
    """,
    why_bad="""
        A client owns a connection pool. Building one per call loads an SSL context (about
        20 ms, on the event loop), and every request on it opens a new TCP connection and TLS
        handshake that is closed again when the block ends: a handler that makes one request
        pays a full connection setup every time, and a loop pays it per iteration. "Never create
        the session per request" is the first rule of both the httpx and aiohttp docs; a shared
        client reuses warm connections.
    """,
    fix_safety="""
        httpx: the `async with` goes and the requests go to the shared per-loop client (or the
        class's `_get_client()`), with the constructor's `headers`, `params`, `auth`,
        `timeout`, `follow_redirects` and `base_url` (joined to literal URLs) written on each
        call, and a bare client's own defaults too: `follow_redirects=False` and httpx's 5 s
        timeout (`pool=None`: a private pool never made a request wait for a slot). Safe when
        the block sends one request that does not follow redirects. Unsafe when the block sends
        several requests or follows redirects (its cookie jar carried cookies between them; the
        shared client keeps none), or when an option is now evaluated per request. No fix, with
        the reason, for client-only options (`verify`, `cert`, `proxy`, `transport`, `limits`,
        `http2`, `event_hooks`, `max_redirects`, `cookies`...), a client passed to helpers or
        used for more than requests, and for aiohttp (different API: create one session per
        loop at startup and pass it in).
    """,
    examples=(
        Example(
            before="""
                import httpx


                async def profile(user_id):
                    async with httpx.AsyncClient(headers={"Accept": "application/json"}) as client:
                        r = await client.get(f"https://api.example.com/users/{user_id}")
                    return r.json()
            """,
            after="""
                async def profile(user_id):
                    r = await _http_client().get(
                        f"https://api.example.com/users/{user_id}",
                        headers={"Accept": "application/json"},
                        follow_redirects=False,
                        timeout=httpx.Timeout(5.0, pool=None),
                    )
                    return r.json()
            """,
            fix=FixSafety.SAFE,
        ),
        Example(
            before="""
                import aiohttp


                async def fetch(url):
                    async with aiohttp.ClientSession() as session:
                        async with session.get(url) as response:
                            return await response.text()
            """,
            fix=FixSafety.NONE,
        ),
    ),
    valid=(
        """
        import httpx

        class Api:
            def __init__(self):
                self.client = httpx.AsyncClient()

            async def get(self, url):
                return await self.client.get(url)
        """,
        """
        import contextlib
        import httpx

        @contextlib.asynccontextmanager
        async def lifespan(app):
            async with httpx.AsyncClient() as client:
                app.state.client = client
                yield
        """,
        """
        import asyncio
        import httpx

        async def main():
            async with httpx.AsyncClient() as client:
                print((await client.get("https://example.com")).status_code)

        asyncio.run(main())
        """,
        """
        import httpx

        async def make_client():
            client = httpx.AsyncClient()
            return client
        """,
        """
        async def handler(session, key):
            return session.get(key)
        """,
    ),
)

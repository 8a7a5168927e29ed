"""UFA006 sync-urllib-in-async: urllib3 or `urllib.request.urlopen` inside `async def`."""
from __future__ import annotations

from unfake_async.codemod.engine.model import FixSafety
from unfake_async.rules.base import Example, Rule

RULE = Rule(
    id="UFA006",
    name="sync-urllib-in-async",
    summary="Blocking urllib3 / urllib request inside `async def`",
    fix=FixSafety.NONE,
    what_it_does="""
        Checks for `urllib3.request(...)`, calls on a urllib3 pool (`urllib3.PoolManager()`,
        `ProxyManager`, `HTTPConnectionPool`, `HTTPSConnectionPool`, recognised by how the
        variable was bound or annotated) and `urllib.request.urlopen(...)` made directly in
        the body of an `async def`, under any import spelling. The same shapes as
        flake8-async's ASYNC210 and ASYNC212. Reported with the rewrite to write by hand.
    """,
    why_bad="""
        urllib and urllib3 block the thread until the server answers; in a coroutine that is the
        event loop's thread, so every other task, timer and connection waits for the whole
        request.
    """,
    fix_safety="""
        No fix: the APIs differ from httpx's in ways a rewrite cannot hide. `urlopen` raises
        `HTTPError` for 4xx/5xx and returns a file-like object (`.read()`, `.status`,
        `.getheader()`); urllib3 never raises on a status and exposes `r.data` and `r.status`.
        The message names the httpx equivalents: `r = await client.get(url)`,
        `r.raise_for_status()`, `r.content`, `r.status_code`.
    """,
    examples=(
        Example(
            before="""
                import urllib.request


                async def fetch(url):
                    with urllib.request.urlopen(url) as response:
                        return response.read()
            """,
            fix=FixSafety.NONE,
        ),
    ),
    valid=(
        """
        import urllib.request

        def sync_fetch(url):
            return urllib.request.urlopen(url).read()
        """,
        """
        import urllib.parse

        async def build(base, path):
            return urllib.parse.urljoin(base, path)
        """,
    ),
)

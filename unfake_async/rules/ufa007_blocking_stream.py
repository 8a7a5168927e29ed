"""UFA007 blocking-stream: a `stream=True` requests download read chunk by chunk in async code.

Detection and the fix live in `unfake_async.codemod.passes.streaming` (a pass of its own); the core
rules leave these calls to it.
"""
from __future__ import annotations

from unfake_async.codemod.engine.model import FixSafety
from unfake_async.rules.base import Example, Rule

RULE = Rule(
    id="UFA007",
    name="blocking-stream",
    summary="Streamed `requests` download (`stream=True`) read on the event loop",
    fix=FixSafety.SAFE,
    what_it_does="""
        Checks for `requests.get(url, stream=True)` (any method, any import spelling) in an
        `async def`, called directly or pushed onto a thread (`run_in_executor`, `to_thread`,
        the other offload helpers); such a response is then read with `iter_content(n)`,
        `iter_lines()` or `raw`. Calls through a `requests.Session` are left to UFA001-UFA003.
    """,
    why_bad="""
        A streamed response blocks twice: the request, and every `iter_content()` /
        `iter_lines()` step, each a socket read on the event loop. Running the request in a
        thread does not help: the loop over the body still runs on the event loop thread, so a
        slow or large download stalls every other task for its whole duration.
    """,
    fix_safety="""
        `r = requests.get(u, stream=True)` (or `with requests.get(u, stream=True) as r:`)
        becomes `async with client.stream("GET", u) as r:` on the shared client, spanning the
        statements that use `r`; `for chunk in r.iter_content(n)` becomes
        `async for chunk in r.aiter_bytes(n)`. `iter_lines()` becomes `aiter_lines()`, which
        yields str instead of bytes: the loop is adapted when the line is only decoded, parsed
        with `json.loads` or truth-tested (unsafe: charset and line splitting can differ),
        otherwise reported. The arguments and `except requests.X` clauses are mapped as for
        UFA003. Safe when every requests error is handled in the function; unsafe otherwise
        (callers may catch `requests.RequestException`) and for `iter_content()` without a
        size (1-byte chunks in requests). Reported without a fix: the response returned or
        passed on, `r.raw`, `.content`/`.text`/`.json()` on a stream,
        `decode_unicode=True`, and calls through a `requests.Session`.
    """,
    examples=(
        Example(
            before="""
                import requests


                async def download(url, path):
                    try:
                        r = requests.get(url, stream=True, timeout=30)
                        r.raise_for_status()
                        with open(path, "wb") as f:
                            for chunk in r.iter_content(8192):
                                f.write(chunk)
                    except requests.RequestException:
                        return False
                    return True
            """,
            after="""
                async def download(url, path):
                    try:
                        async with _http_client().stream(
                            "GET", url, timeout=httpx.Timeout(30, pool=None)
                        ) as r:
                            r.raise_for_status()
                            with open(path, "wb") as f:
                                async for chunk in r.aiter_bytes(8192):
                                    f.write(chunk)
                    except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError):
                        return False
                    return True
            """,
            fix=FixSafety.SAFE,
        ),
        Example(
            before="""
                import requests


                async def open_stream(url):
                    r = requests.get(url, stream=True)
                    return r
            """,
            fix=FixSafety.NONE,
        ),
    ),
    valid=(
        """
        import requests

        def download(url, path):
            with requests.get(url, stream=True) as r:
                with open(path, "wb") as f:
                    for chunk in r.iter_content(8192):
                        f.write(chunk)
        """,
        """
        import httpx

        async def download(client: httpx.AsyncClient, url):
            async with client.stream("GET", url) as r:
                return [chunk async for chunk in r.aiter_bytes(8192)]
        """,
    ),
)

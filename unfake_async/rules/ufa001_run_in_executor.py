"""UFA001 requests-in-run-in-executor: `loop.run_in_executor(executor, requests.get, url)`."""
from __future__ import annotations

from typing import Optional

# libcst is imported inside `match`: listing rules and their docs must not pay for the parser.
from unfake_async.codemod.engine.model import FixSafety
from unfake_async.rules.base import Example, Rule

RULE = Rule(
    id="UFA001",
    name="requests-in-run-in-executor",
    summary="Blocking `requests` call pushed onto a thread with `loop.run_in_executor`",
    fix=FixSafety.UNSAFE,
    what_it_does="""
        Checks for `loop.run_in_executor(executor, ...)` inside `async def` where the callable
        sends a `requests` HTTP request: `requests.get` with positional arguments,
        `functools.partial(requests.post, url, json=...)`, a lambda such as
        `lambda: requests.get(url).json()`, or a method of a `requests.Session`. The loop may
        come from `asyncio.get_event_loop()`, `asyncio.get_running_loop()`, a local variable or
        `self.loop`; the executor may be `None`, an attribute, a module-level pool or an inline
        `ThreadPoolExecutor(...)`.
    """,
    why_bad="""
        This is fake async. Each request occupies a worker thread for its whole duration, so
        concurrency is capped at the pool size (a `ThreadPoolExecutor(max_workers=3)` serves three
        requests at a time however many coroutines wait; the default executor has
        `min(32, cpu_count + 4)` workers and is shared with DNS lookups), every call pays a
        thread hand-off, and each worker keeps its own stack. A real async client multiplexes
        all requests on the event loop and reuses pooled connections.
    """,
    fix_safety="""
        The fix awaits the same request on a shared `httpx.AsyncClient` built to behave like
        requests (redirects followed up to 30, no timeout unless one was given, no cookie
        persistence for module-level calls), maps `except requests.*` clauses around the call to
        httpx exceptions and removes the executor once nothing else uses it. It is **unsafe** when
        requests exceptions can escape to callers (they now receive httpx exceptions) or when
        the response leaves the function (it is an `httpx.Response`), and it is **safe** when the
        call sits in a `try` that handles every requests error locally. Calls whose behaviour
        cannot be kept (`stream=True`, per-call `verify`/`cert`/`proxies`, `hooks=`, file
        uploads, per-call `cookies=`) are reported without a fix. Keywords after the callable
        (`run_in_executor(None, requests.get, url, headers=h)`) are not passed on by
        `run_in_executor`, so the original raises TypeError; the fix sends them with the request
        as the author meant, and is unsafe for that reason.
    """,
    examples=(
        Example(
            before="""
                import asyncio
                from concurrent.futures import ThreadPoolExecutor

                import requests

                EXECUTOR = ThreadPoolExecutor(max_workers=3)


                async def fetch(url):
                    loop = asyncio.get_event_loop()
                    try:
                        r = await loop.run_in_executor(EXECUTOR, lambda: requests.get(url, timeout=5))
                    except requests.RequestException:
                        return None
                    return r.json()
            """,
            after="""
                async def fetch(url):
                    try:
                        r = await _http_client().get(url, timeout=httpx.Timeout(5, pool=None))
                    except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError):
                        return None
                    return r.json()
            """,
            fix=FixSafety.SAFE,
        ),
    ),
    valid=(
        """
        import asyncio

        def parse(text):
            return text.upper()

        async def main(loop, text):
            return await loop.run_in_executor(None, parse, text)
        """,
        """
        import asyncio
        import requests

        def sync_caller(loop, url):
            # not inside async def: nothing awaits here
            return loop.run_in_executor(None, requests.get, url)
        """,
    ),
)


def match(call, ctx) -> Optional["object"]:
    """A `X.run_in_executor(executor, <requests callable>, *args)` call, or None."""
    import libcst as cst

    if not (isinstance(call.func, cst.Attribute) and call.func.attr.value == "run_in_executor"):
        return None
    if len(call.args) < 2 or any(arg.keyword is not None or arg.star for arg in call.args[:2]):
        return None
    if any(arg.star for arg in call.args[2:]):
        return None
    executor, func, *rest = call.args
    offloaded = ctx.resolve_offloaded(func.value, rest)
    if offloaded is None:
        return None
    # run_in_executor(executor, func, *args) takes no keywords for func: they raise TypeError.
    offloaded.unforwarded = [arg.keyword.value for arg in rest if arg.keyword is not None]
    return ctx.make_site(RULE.id, call, offloaded, via="run_in_executor", executor=executor.value)

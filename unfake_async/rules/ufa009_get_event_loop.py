"""UFA009 get-event-loop-in-coroutine: `asyncio.get_event_loop()` called inside `async def`."""
from __future__ import annotations

from unfake_async.codemod.engine.model import FixSafety
from unfake_async.rules.base import Example, Rule

RULE = Rule(
    id="UFA009",
    name="get-event-loop-in-coroutine",
    summary="`asyncio.get_event_loop()` inside a coroutine",
    fix=FixSafety.SAFE,
    what_it_does="""
        Checks for `asyncio.get_event_loop()` (under any import spelling) called directly in the
        body of an `async def`, and rewrites it to `asyncio.get_running_loop()`. A call in a
        nested sync function or lambda is not flagged: that code may run where no loop is running.
    """,
    why_bad="""
        Inside a coroutine the loop is running, so the only loop you can mean is the running one.
        `get_event_loop()` is the pattern of the executor recipes (`loop.run_in_executor(None,
        requests.get, url)`) that keep HTTP calls on threads; it is deprecated for the no-loop
        case since Python 3.12 and, outside a running loop, creates or returns a loop that is not
        running, so a future scheduled on it never completes. `get_running_loop()` says what is
        meant and fails loudly instead.
    """,
    fix_safety="""
        Safe. When a loop is running, `asyncio.get_event_loop()` returns exactly
        `asyncio.get_running_loop()` (CPython checks the running loop first, since 3.7), and a
        coroutine driven by asyncio always runs with its loop running. The only difference is a
        coroutine stepped by something other than asyncio (trio, a manual `coro.send(None)`):
        there `get_event_loop()` would hand back a loop nobody runs, on which every future
        waits forever, and `get_running_loop()` raises `RuntimeError` at once.
    """,
    examples=(
        Example(
            before="""
                import asyncio


                async def compute(data):
                    loop = asyncio.get_event_loop()
                    return await loop.run_in_executor(None, sorted, data)
            """,
            after="""
                async def compute(data):
                    loop = asyncio.get_running_loop()
                    return await loop.run_in_executor(None, sorted, data)
            """,
            fix=FixSafety.SAFE,
        ),
    ),
    valid=(
        """
        import asyncio

        def main():
            loop = asyncio.get_event_loop()
            loop.run_until_complete(asyncio.sleep(0))
        """,
        """
        import asyncio

        async def outer():
            def callback():
                return asyncio.get_event_loop()
            return callback
        """,
        """
        async def handler(registry):
            # not asyncio's
            return registry.get_event_loop()
        """,
    ),
)

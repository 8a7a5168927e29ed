"""UFA010 time-sleep-in-async: `time.sleep(x)` inside `async def`."""
from __future__ import annotations

from unfake_async.codemod.engine.model import FixSafety
from unfake_async.rules.base import Example, Rule

RULE = Rule(
    id="UFA010",
    name="time-sleep-in-async",
    summary="Blocking `time.sleep()` inside `async def`",
    fix=FixSafety.UNSAFE,
    what_it_does="""
        Checks for `time.sleep(x)` (`import time`, `from time import sleep`, any alias, resolved
        by qualified name) called directly in the body of an `async def`, and rewrites it to
        `await asyncio.sleep(x)`. A call in a nested sync function or lambda is not async
        context and is not flagged; a call in a generator expression is reported without a fix
        (an `await` there would make the generator asynchronous).
    """,
    why_bad="""
        `time.sleep` suspends the thread, and in a coroutine that thread is the event loop's:
        every other task, timer and connection in the process stops for the whole pause. The
        retry loops and rate limits of HTTP clients (the seed code's "wait and try again") turn
        a one-second back-off for one request into a one-second outage for all of them. Same
        defect as ruff's ASYNC251, which has no fix.
    """,
    fix_safety="""
        Unsafe. The pause itself is kept, but other tasks now run during it: code that relied
        on the whole loop stopping (a crude global rate limit, giving a thread time to finish)
        behaves differently, and `asyncio.sleep` needs an asyncio loop where `time.sleep` ran
        under any runner.
    """,
    examples=(
        Example(
            before="""
                import time


                async def poll(job):
                    while not job.done():
                        time.sleep(0.5)
                    return job.result()
            """,
            after="""
                async def poll(job):
                    while not job.done():
                        await asyncio.sleep(0.5)
                    return job.result()
            """,
            fix=FixSafety.UNSAFE,
        ),
    ),
    valid=(
        """
        import time

        def backoff(attempt):
            time.sleep(2 ** attempt)
        """,
        """
        import time

        async def outer():
            def blocking_step():
                time.sleep(1)
            return blocking_step
        """,
        """
        import asyncio

        async def pause(clock):
            # a `sleep` method that is not time.sleep
            clock.sleep(1)
            await asyncio.sleep(1)
        """,
    ),
)

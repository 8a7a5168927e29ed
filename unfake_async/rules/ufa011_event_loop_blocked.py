"""UFA011 event-loop-blocked: the event loop did not come back for longer than a threshold.

A runtime-only rule: the shim's loop-lag watchdog reports it (`unfake_async.shim.watchdog`); the
static analysis has no call shape to match, so the rule is in `RUNTIME_RULES`, not `ALL_RULES`.
"""
from __future__ import annotations

from unfake_async.codemod.engine.model import FixSafety
from unfake_async.rules.base import Example, Rule

RULE = Rule(
    id="UFA011",
    name="event-loop-blocked",
    summary="The event loop was blocked longer than the watchdog's threshold (runtime only)",
    fix=FixSafety.NONE,
    what_it_does="""
        Reported at runtime by the shim's loop-lag watchdog, not by the static analysis. Each
        watched event loop (asyncio or uvloop) runs a heartbeat; a thread of the shim's own
        notices when the heartbeat is late by more than the threshold (100 ms by default),
        samples the loop thread's stack at that moment, and reports the application's frame
        there (the first frame outside the standard library and site-packages, within the
        running task) with the time the loop was blocked.

        It names what the patched entry points cannot see: a long call into C (`hashlib` over a
        large buffer, compression, a C extension's query), CPU-bound Python, and blocking
        functions bound to a name before the shim was installed (`from time import sleep`).
        Calls the patches do see are reported under their own rule (UFA003, UFA010, UFA900),
        not again as UFA011.

        Turn it on with `UNFAKE_ASYNC_SHIM_WATCHDOG=on` (or a threshold in ms, e.g. `250`),
        `unfake-async verify --watchdog-ms N` (on at 100 ms by default there), or
        `unfake_async.shim.install(mode, watchdog=0.1)`.
    """,
    why_bad="""
        While one coroutine holds the loop's thread, every other task, timer and connection of
        the process waits: a 300 ms hash in one request handler adds 300 ms to every request in
        flight, and health checks time out under load. asyncio's debug mode
        (`loop.slow_callback_duration`) says afterwards that a callback was slow, but not which
        line; the watchdog names the line while it is blocking.
    """,
    fix_safety="""
        No automatic fix. Move the work off the loop (`await asyncio.to_thread(hash_file, path)`
        for C code that releases the GIL, a process pool for CPU-bound Python), split it into
        steps that `await asyncio.sleep(0)` between them, or use an async library for I/O. The
        reported duration is a lower bound: the heartbeat ran that late.
    """,
    examples=(
        Example(
            before="""
                import hashlib


                async def upload(request):
                    body = await request.body()
                    digest = hashlib.sha256(body).hexdigest()  # 512 MB: the loop stops
                    return {"sha256": digest}
            """,
            after=None,
            fix=FixSafety.NONE,
        ),
    ),
    valid=(
        """
        import asyncio
        import hashlib


        async def upload(request):
            body = await request.body()
            digest = await asyncio.to_thread(lambda: hashlib.sha256(body).hexdigest())
            return {"sha256": digest}
        """,
    ),
)

"""The loop-lag watchdog: blocking that no patch can see (UFA011).

A C call (`hashlib` over a large buffer), a C extension, CPU-bound Python or a blocking function
bound before the shim was installed never passes through a patched entry point. What they all
do is keep the event loop from coming back. So each watched loop runs a heartbeat, a callback
that re-schedules itself every `interval` seconds; a daemon thread (never the loop's) checks
the heartbeats, and when one is more than `threshold` late it samples the loop thread's stack
with `sys._current_frames()`, takes the application's own frame (first frame outside the
standard library and site-packages, within the running task), and reports it as UFA011 once the
loop is back, with the time it was blocked.

Loops are watched from `run_forever` (patched on asyncio's BaseEventLoop and uvloop's Loop;
`run_until_complete` and `asyncio.run` go through it). The heartbeat costs one timer callback
per interval (threshold/4) on the loop; the thread wakes about once per threshold while the
loop is healthy.

The blocked time is measured by the heartbeat itself: how late it ran, a lower bound of the
stall (the loop may have stopped up to one interval before the beat was due). Not reported:
stalls during which the loop thread was idle in its selector, calls the patches already
reported (their wrapper is on the sampled stack), and, on Linux, stalls that were mostly the
loop thread waiting for a CPU (a loaded machine, a container's CPU quota): the kernel counts
that wait per thread (``/proc/self/task/<tid>/schedstat``), and it is taken off the stall
before it is compared with the threshold.
"""
from __future__ import annotations

import functools
import os
import sys
import threading
import time
from typing import Dict, Optional, Tuple

from unfake_async.shim import frames
from unfake_async.shim._state import publish, state
from unfake_async.shim.patches import Target
from unfake_async.shim.report import WATCHDOG_RULE, RuntimeFinding

DEFAULT_THRESHOLD = 0.1
BEATS_PER_THRESHOLD = 4  # the blocked time is a lower bound, short by up to one beat interval
SAMPLE_LIMIT = 128
# Modules whose frame at the top of the loop thread's stack means "waiting for I/O, not
# blocked": the selector, or (uvloop, whose selector is C) the run_forever wrapper below.
_IDLE_MODULES = ("selectors", __name__)
_WRAPPER_MODULES = ("unfake_async.shim.patches", "unfake_async.shim.offload")


class _RunQueueWait:
    """Seconds a thread has spent runnable but waiting for a CPU, from Linux's schedstat;
    always 0.0 where that is not available."""

    def __init__(self) -> None:
        self._fd: Optional[int] = None
        native_id = getattr(threading, "get_native_id", lambda: None)()
        try:
            self._fd = os.open(f"/proc/self/task/{native_id}/schedstat", os.O_RDONLY)
            self.read()
        except (OSError, ValueError, IndexError, TypeError):
            self.close()

    def read(self) -> float:
        if self._fd is None:
            return 0.0
        return int(os.pread(self._fd, 128, 0).split()[1]) / 1e9

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class _Stall:
    __slots__ = ("beat", "stack")

    def __init__(self, beat: Tuple[float, float], stack) -> None:
        self.beat = beat  # the last beat before the stall
        self.stack = stack  # the loop thread's stack, sampled during the stall


class _Watch:
    """One running loop and its heartbeat.

    `last_beat` is (monotonic time, the loop thread's run-queue wait so far), written by the
    loop thread only, as one tuple so the watchdog never reads half of a beat.
    """

    __slots__ = ("loop", "thread_id", "thread_name", "interval", "last_beat", "handle",
                 "stall", "run_queue")

    def __init__(self, loop, interval: float) -> None:
        self.loop = loop
        self.thread_id = threading.get_ident()
        self.thread_name = threading.current_thread().name
        self.interval = interval
        self.run_queue = _RunQueueWait()  # opened here: it must be the loop thread's
        self.last_beat = (time.monotonic(), self.run_queue.read())
        self.handle = loop.call_soon(self.beat)
        self.stall: Optional[_Stall] = None

    def beat(self) -> None:
        self.last_beat = (time.monotonic(), self.run_queue.read())
        self.handle = self.loop.call_later(self.interval, self.beat)


class Watchdog:
    """Watches every loop run while it exists; `close()` stops its thread."""

    def __init__(self, threshold: float = DEFAULT_THRESHOLD) -> None:
        if threshold <= 0:
            raise ValueError(f"watchdog threshold must be positive, got {threshold!r}")
        self.threshold = threshold
        self.interval = threshold / BEATS_PER_THRESHOLD
        self._watches: Dict[int, _Watch] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None

    def watch(self, loop) -> _Watch:
        """Start the heartbeat of `loop`, about to run in the calling thread."""
        watch = _Watch(loop, self.interval)
        with self._lock:
            self._watches[id(watch)] = watch
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="unfake-async-watchdog",
                                                daemon=True)
                self._thread.start()
        return watch

    def unwatch(self, watch: _Watch) -> None:
        """The loop stopped: cancel its heartbeat; a stall it ended on is reported now."""
        watch.handle.cancel()
        with self._lock:
            self._watches.pop(id(watch), None)
            stall, watch.stall = watch.stall, None
            now = (time.monotonic(), watch.run_queue.read())
            watch.run_queue.close()
        if stall is not None:
            self._report(watch, stall, now)

    def close(self) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)

    def _run(self) -> None:
        # The thread sleeps until the earliest moment a loop could be `threshold` late (each
        # beat moves that moment on), so a healthy loop costs it about one wakeup per
        # threshold, not one per beat; during a stall it looks once per beat interval.
        next_look = 0.0
        while not self._stop.wait(max(next_look - time.monotonic(), 0.001)):
            with self._lock:
                watches = list(self._watches.values())
            next_look = time.monotonic() + self.threshold
            for watch in watches:
                try:
                    next_look = min(next_look, self._check(watch))
                except Exception:  # the watchdog must never take the process down
                    continue

    def _check(self, watch: _Watch) -> float:
        """Look at one loop; returns when to look at it again."""
        with self._lock:  # against unwatch() in the loop's thread
            now = time.monotonic()
            if id(watch) not in self._watches:
                return now + self.threshold
            beat = watch.last_beat
            stall = watch.stall
            if stall is None:
                deadline = beat[0] + watch.interval + self.threshold
                if now < deadline:
                    return deadline
                stack = self._sample(watch)
                if stack is not None and beat is watch.last_beat:  # still stalled
                    watch.stall = _Stall(beat, stack)
                return now + watch.interval
            if beat is stall.beat:
                return now + watch.interval
            watch.stall = None  # the loop is back
        self._report(watch, stall, beat)
        return now + watch.interval

    def _sample(self, watch: _Watch) -> Optional[Tuple[frames.FrameInfo, ...]]:
        frame = sys._current_frames().get(watch.thread_id)
        if frame is None:
            return None
        try:
            root = frames.task_root_frame(watch.loop)
        except Exception:
            root = frames.LOOP_FRAMES
        stack = frames.capture(frame, SAMPLE_LIMIT, root or frames.LOOP_FRAMES)
        del frame
        if not stack or stack[0].module in _IDLE_MODULES:
            return None
        if any(info.module in _WRAPPER_MODULES for info in stack):
            return None  # inside a patched call: reported by its own rule
        return stack

    def _report(self, watch: _Watch, stall: _Stall, back: Tuple[float, float]) -> None:
        """`back`: (time, run-queue wait) when the loop came back (its first late beat)."""
        blocked = back[0] - (stall.beat[0] + watch.interval)  # how late the beat ran
        starved = max(back[1] - stall.beat[1], 0.0)
        if blocked - starved < self.threshold or state.mode is None:
            return  # late, but not held by the loop's own code for the threshold
        stack = stall.stack
        if frames.stack_is_allowed((stack,), state.allow_rules):
            return
        app = frames.first_app_frame(stack) or frames.first_user_frame(stack)
        site = app.site if app is not None else frames.site_of(stack)
        detail = f"{starved * 1000:.0f} ms of it waiting for a CPU" if starved >= 0.001 else ""
        publish(RuntimeFinding(
            rule_id=WATCHDOG_RULE, call="event loop blocked", detail=detail, site=site,
            thread=watch.thread_name, duration=blocked,
        ))


def _run_forever_factory(original):
    @functools.wraps(original)
    def run_forever(self, *args, **kwargs):
        dog = state.watchdog
        if dog is None:
            return original(self, *args, **kwargs)
        watch = dog.watch(self)
        try:
            return original(self, *args, **kwargs)
        finally:
            dog.unwatch(watch)

    run_forever.__unfake_async_original__ = original
    return run_forever


def watchdog_targets():
    return [
        Target("asyncio.base_events", "BaseEventLoop.run_forever", _run_forever_factory),
        Target("uvloop", "Loop.run_forever", _run_forever_factory),
    ]


def parse_threshold(value: str) -> Optional[float]:
    """``UNFAKE_ASYNC_SHIM_WATCHDOG``: "on" (100 ms), a number of milliseconds, or
    "off"/"0"/empty. Raises ValueError for anything else."""
    value = value.strip().lower()
    if value in ("", "0", "off", "no", "false"):
        return None
    if value in ("on", "yes", "true"):
        return DEFAULT_THRESHOLD
    milliseconds = float(value[:-2] if value.endswith("ms") else value)
    if milliseconds <= 0:
        return None
    return milliseconds / 1000


__all__ = ["DEFAULT_THRESHOLD", "Watchdog", "parse_threshold", "watchdog_targets"]

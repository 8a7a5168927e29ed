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
per interval on the loop; the thread wakes `POLLS_PER_THRESHOLD` times per threshold.

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
POLLS_PER_THRESHOLD = 4
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
    __slots__ = ("beat", "stack", "waited_before")

    def __init__(self, beat: float, stack, waited_before: float) -> None:
        self.beat = beat  # the last beat before the stall
        self.stack = stack  # the loop thread's stack, sampled during the stall
        self.waited_before = waited_before  # run-queue wait read while the loop was alive


class _Watch:
    """One running loop and its heartbeat. `last_beat` is written by the loop thread only."""

    __slots__ = ("loop", "thread_id", "thread_name", "interval", "last_beat", "handle",
                 "stall", "run_queue", "seen_beat", "waited_at_seen_beat")

    def __init__(self, loop, interval: float) -> None:
        self.loop = loop
        self.thread_id = threading.get_ident()
        self.thread_name = threading.current_thread().name
        self.interval = interval
        self.last_beat = time.monotonic()
        self.handle = loop.call_soon(self.beat)
        self.stall: Optional[_Stall] = None
        self.run_queue = _RunQueueWait()  # opened here: it must be the loop thread's
        # The watchdog's last look at a live loop: the beat it saw, and the run-queue wait then.
        self.seen_beat = self.last_beat
        self.waited_at_seen_beat = self.run_queue.read()

    def beat(self) -> None:
        self.last_beat = time.monotonic()
        self.handle = self.loop.call_later(self.interval, self.beat)


class Watchdog:
    """Watches every loop run while it exists; `close()` stops its thread."""

    def __init__(self, threshold: float = DEFAULT_THRESHOLD) -> None:
        if threshold <= 0:
            raise ValueError(f"watchdog threshold must be positive, got {threshold!r}")
        self.threshold = threshold
        self.interval = threshold / 4
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
            waited = watch.run_queue.read()
            watch.run_queue.close()
        if stall is not None:
            self._report(watch, stall, time.monotonic() - (stall.beat + watch.interval), waited)

    def close(self) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)

    def _run(self) -> None:
        poll = self.threshold / POLLS_PER_THRESHOLD
        while not self._stop.wait(poll):
            with self._lock:
                watches = list(self._watches.values())
            for watch in watches:
                try:
                    self._check(watch)
                except Exception:  # the watchdog must never take the process down
                    continue

    def _check(self, watch: _Watch) -> None:
        with self._lock:  # against unwatch() in the loop's thread
            if id(watch) not in self._watches:
                return
            beat = watch.last_beat
            stall = watch.stall
            if stall is None:
                if beat != watch.seen_beat:  # alive since the last look
                    watch.seen_beat, watch.waited_at_seen_beat = beat, watch.run_queue.read()
                elif time.monotonic() - (beat + watch.interval) > self.threshold:
                    stack = self._sample(watch)
                    if stack is not None and beat == watch.last_beat:  # still stalled
                        watch.stall = _Stall(beat, stack, watch.waited_at_seen_beat)
                return
            if beat == stall.beat:
                return
            watch.stall = None  # the loop is back: its beat ran this late
            watch.seen_beat, watch.waited_at_seen_beat = beat, watch.run_queue.read()
        self._report(watch, stall, beat - (stall.beat + watch.interval),
                     watch.waited_at_seen_beat)

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

    def _report(self, watch: _Watch, stall: _Stall, blocked: float, waited_after: float) -> None:
        starved = max(waited_after - stall.waited_before, 0.0)
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

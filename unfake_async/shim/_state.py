"""The shim's process-wide state and the one decision every wrapper makes.

Wrappers run on hot paths (asyncio's own non-blocking socket I/O goes through the patched
`socket.socket.send/recv`), so the checks that let a call through untouched are a C call
(`asyncio._get_running_loop`), an attribute test and a ContextVar read. Everything costly
(stack capture, allow-list, report) happens only for a call that will be reported.
"""
from __future__ import annotations

import contextvars
import logging
import threading
import warnings
from asyncio.events import _get_running_loop  # C implementation: the cheapest "on a loop?" test
from typing import List, Optional, Tuple

from unfake_async.shim import frames
from unfake_async.shim.report import Recorder, RuntimeFinding

MODES = ("warn", "raise", "log", "record")

# A child of the "unfake_async" logger: configure that one to route or silence the findings.
logger = logging.getLogger("unfake_async.shim")


class BlockingCallError(RuntimeError):
    """Raised in "raise" mode in place of (or, for fake async, inside) a blocking call."""

    def __init__(self, finding: RuntimeFinding) -> None:
        super().__init__(finding.message)
        self.finding = finding


class BlockingCallWarning(RuntimeWarning):
    """Issued in "warn" mode, once per site, pointing at the user's line."""


class Offload:
    """Where a worker thread's current job came from: set while a marked callable runs."""

    __slots__ = ("rule_id", "via", "stack")

    def __init__(self, rule_id: str, via: str, stack: Tuple[frames.FrameInfo, ...]) -> None:
        self.rule_id = rule_id
        self.via = via
        self.stack = stack  # the submitting coroutine's stack, innermost first


class _State:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.mode: Optional[str] = None  # None: not installed
        self.recorder = Recorder()
        self.allow_rules: List[Tuple[str, Optional[str]]] = []
        # Sites already warned about in the current mode (one warning per site).
        self.announced: set = set()
        # Log mode: each site's first `log_first` occurrences in full, then a count line at
        # every power of ten (10, 100, 1000...), so a busy service does not flood its logs.
        self.log_first = 3
        self.watchdog = None  # the loop-lag Watchdog while it runs


state = _State()
# Set while a reported (or allowed) call runs, so the layers below it stay quiet; also set by
# `allow_blocking()`. Task-local on the loop, thread-local in workers.
suppressed: contextvars.ContextVar = contextvars.ContextVar("unfake_async_suppressed", default=False)
# `worker.offload` is the Offload of the marked job running in this thread, if any.
worker = threading.local()
# The Offload of a thread-offload helper (asyncio.to_thread, run_in_threadpool...) whose
# coroutine is running: set from the caller's stack when the helper was *called*, because by
# the time the coroutine runs it may be in a task of its own (gather, create_task), whose
# stack no longer holds the caller.
offload_call: contextvars.ContextVar = contextvars.ContextVar("unfake_async_offload_call",
                                                              default=None)


def relevant_offload() -> Optional[Offload]:
    """The Offload if this thread runs a job a coroutine pushed off the loop, else None."""
    return getattr(worker, "offload", None)


def report(call: str, detail: str, rule_id: str, offload: Optional[Offload] = None,
           skip: int = 1) -> Optional[RuntimeFinding]:
    """Judge one blocking call, before it runs. Called only on the slow path.

    Returns the finding for the caller to `publish` (in log mode once the call is over, with
    its duration), or None when it is allowed; in "raise" mode records it and raises instead. `skip` is how
    many frames above report()'s caller to start the stack from.
    """
    mode = state.mode
    if mode is None:
        return None
    # On the loop's thread only the running task's frames made the call (see frames.capture).
    stack = frames.caller_stack(skip, in_task=offload is None)
    stacks = (stack, offload.stack) if offload is not None else (stack,)
    if frames.stack_is_allowed(stacks, state.allow_rules):
        return None
    if offload is None:
        site = frames.site_of(stack)
    else:  # in the worker: None when the offloaded callable itself made the call
        user = frames.first_user_frame(stack)
        site = user.site if user else None
    finding = RuntimeFinding(
        rule_id=rule_id, call=call, detail=detail, site=site,
        origin=frames.site_of(offload.stack) if offload is not None else None,
        via=offload.via if offload is not None else None,
        thread=threading.current_thread().name,
    )
    if mode == "raise":
        publish(finding)
        raise BlockingCallError(finding)
    return finding


def publish(finding: RuntimeFinding) -> None:
    """Record a finding and announce it as the mode says (raise mode announces nothing: the
    error does, where an error can be raised)."""
    mode = state.mode
    if mode is None:
        return
    count = state.recorder.add(finding)
    if mode == "warn" or (mode == "raise" and finding.after_the_fact):
        if finding.key in state.announced:
            return
        state.announced.add(finding.key)
        site = finding.site or finding.origin  # fake async via a bare callable: the coroutine
        warnings.warn_explicit(
            finding.message, BlockingCallWarning,
            site.filename if site else "<unknown>", site.lineno if site else 0,
        )
    elif mode == "log":
        _log(finding, count)


def _log(finding: RuntimeFinding, count: int) -> None:
    if count <= state.log_first:
        logger.warning("%s", finding.message, extra=finding.log_fields(count))
    elif _is_power_of_ten(count):
        logger.warning("%s occurrences so far of: %s", count, finding.message,
                       extra=finding.log_fields(count))


def _is_power_of_ten(number: int) -> bool:
    while number >= 10 and number % 10 == 0:
        number //= 10
    return number == 1


__all__ = [
    "BlockingCallError", "BlockingCallWarning", "MODES", "Offload", "_get_running_loop",
    "offload_call", "publish", "relevant_offload", "report", "state", "suppressed", "worker",
]

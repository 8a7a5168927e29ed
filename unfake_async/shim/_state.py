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
        # Sites already warned about or logged in the current mode (one message per site).
        self.announced: set = set()


state = _State()
# Set while a reported (or allowed) call runs, so the layers below it stay quiet; also set by
# `allow_blocking()`. Task-local on the loop, thread-local in workers.
suppressed: contextvars.ContextVar = contextvars.ContextVar("unfake_async_suppressed", default=False)
# `worker.offload` is the Offload of the marked job running in this thread, if any.
worker = threading.local()


def relevant_offload() -> Optional[Offload]:
    """The Offload if this thread runs a job a coroutine pushed off the loop, else None."""
    return getattr(worker, "offload", None)


def report(call: str, detail: str, rule_id: str, offload: Optional[Offload] = None,
           skip: int = 1) -> None:
    """Record one blocking call and act on it per the mode. Called only on the slow path.

    `skip` is how many frames above report()'s caller to start the stack from.
    """
    mode = state.mode
    if mode is None:
        return
    stack = frames.caller_stack(skip)
    stacks = (stack, offload.stack) if offload is not None else (stack,)
    if frames.stack_is_allowed(stacks, state.allow_rules):
        return
    user = frames.first_user_frame(stack)
    origin = frames.first_user_frame(offload.stack) if offload is not None else None
    finding = RuntimeFinding(
        rule_id=rule_id, call=call, detail=detail,
        site=user.site if user else None,
        origin=origin.site if origin else None,
        via=offload.via if offload is not None else None,
        thread=threading.current_thread().name,
    )
    state.recorder.add(finding)
    if mode == "raise":
        raise BlockingCallError(finding)
    if mode == "record" or finding.key in state.announced:
        return
    state.announced.add(finding.key)
    if mode == "warn":
        site = finding.site or finding.origin  # fake async via a bare callable: the coroutine
        warnings.warn_explicit(
            finding.message, BlockingCallWarning,
            site.filename if site else "<unknown>", site.lineno if site else 0,
        )
    else:
        logger.warning("%s", finding.message)


__all__ = [
    "BlockingCallError", "BlockingCallWarning", "MODES", "Offload", "_get_running_loop",
    "relevant_offload", "report", "state", "suppressed", "worker",
]

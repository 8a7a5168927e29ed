"""The shim's public functions; import them from `unfake_async.shim` (loaded lazily there)."""
from __future__ import annotations

import contextlib
from typing import Callable, Iterable, Iterator, List, Optional

from unfake_async.shim import frames
from unfake_async.shim._state import (
    MODES,
    BlockingCallError,
    BlockingCallWarning,
    state,
    suppressed,
)
from unfake_async.shim.installer import Installer
from unfake_async.shim.offload import offload_targets
from unfake_async.shim.patches import Target, builtin_targets, user_target
from unfake_async.shim.report import RULE_NAMES, RuntimeFinding, format_grouped, format_summary
from unfake_async.shim.watchdog import DEFAULT_THRESHOLD, Watchdog, watchdog_targets

__all__ = [
    "MODES", "RULE_NAMES", "BlockingCallError", "BlockingCallWarning", "RuntimeFinding",
    "allow", "allow_blocking", "findings", "install", "installed_mode", "register", "reset",
    "start_watchdog", "stop_watchdog", "summary", "uninstall", "verifying",
]

_installer = Installer()
_user_targets: List[Target] = []


def install(mode: str = "warn", *, allow: Iterable[str] = (), report_file: Optional[str] = None,
            watchdog: Optional[float] = None) -> None:
    """Patch the blocking entry points and start reporting in `mode`.

    Installing again only changes the mode (and adds `allow` rules). `report_file` mirrors each
    finding to a JSON-lines file as it happens (used by `unfake-async verify`). `watchdog`, a
    threshold in seconds (e.g. 0.1), also starts the loop-lag watchdog (UFA011, see
    `unfake_async.shim.watchdog`); it is off unless asked for.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}; got {mode!r}")
    rules = [frames.parse_allow_rule(rule) for rule in allow]
    with state.lock:
        state.allow_rules.extend(r for r in rules if r not in state.allow_rules)
        if report_file is not None:
            state.recorder.mirror_to(report_file)
        if state.mode is None:
            _installer.apply(builtin_targets() + offload_targets() + _user_targets)
        if state.mode != mode:
            state.announced.clear()
        state.mode = mode
        if watchdog is not None:
            start_watchdog(watchdog)


def start_watchdog(threshold: float = DEFAULT_THRESHOLD) -> None:
    """Watch every event loop run from now on (the shim must be installed): report UFA011 when
    one does not come back for `threshold` seconds."""
    with state.lock:
        if state.mode is None:
            raise RuntimeError("install() the shim before starting its watchdog")
        if state.watchdog is not None and state.watchdog.threshold == threshold:
            return
        stop_watchdog()
        state.watchdog = Watchdog(threshold)
        _installer.apply(watchdog_targets())


def stop_watchdog() -> None:
    """Stop the watchdog (loops already running keep a heartbeat that nobody checks)."""
    with state.lock:
        dog, state.watchdog = state.watchdog, None
    if dog is not None:
        dog.close()


def uninstall() -> None:
    """Restore every patched function; findings recorded so far stay readable."""
    with state.lock:
        stop_watchdog()
        state.mode = None
        _installer.undo_all()
        state.recorder.mirror_to(None)


def installed_mode() -> Optional[str]:
    """The current mode, or None when the shim is not installed."""
    return state.mode


def allow(*rules: str) -> None:
    """Never report calls with a matching frame anywhere on the stack (or on the stack of the
    coroutine that offloaded the work): "pkg.mod" for a module and its submodules,
    "pkg.mod:func" or "pkg.mod:Class.method" for one function."""
    parsed = [frames.parse_allow_rule(rule) for rule in rules]
    with state.lock:
        state.allow_rules.extend(r for r in parsed if r not in state.allow_rules)


@contextlib.contextmanager
def allow_blocking() -> Iterator[None]:
    """Calls inside this block are not reported (task-local on the loop; inherited by
    `asyncio.to_thread` jobs started inside it, which copy the context)."""
    token = suppressed.set(True)
    try:
        yield
    finally:
        suppressed.reset(token)


def register(spec: str, *, rule_id: str = "UFA900", when: Optional[Callable] = None) -> None:
    """Treat another function as blocking on the loop, e.g. ``register("psycopg2:connect")``.

    `when(*args, **kwargs)` can narrow it down (return False for calls that do not block).
    Applies now if installed (after the module's import if it is not imported yet) and on every
    later install.
    """
    target = user_target(spec, rule_id, when)
    with state.lock:
        _user_targets.append(target)
        if state.mode is not None:
            _installer.apply([target])


def findings(start: int = 0) -> List[RuntimeFinding]:
    """Every finding recorded since the last `reset()` (from index `start` on)."""
    return state.recorder.findings(start)


def summary() -> str:
    """The summary of the findings so far: exact counts by site."""
    return format_grouped(state.recorder.grouped())


def reset() -> None:
    """Forget the findings (the allow-list and the mode stay)."""
    state.recorder.clear()
    state.announced.clear()


class Verification:
    """What `verifying()` yields: the findings made inside its block."""

    def __init__(self) -> None:
        self._start = len(state.recorder)

    @property
    def findings(self) -> List[RuntimeFinding]:
        return state.recorder.findings(self._start)

    def summary(self) -> str:
        return format_summary(self.findings)


@contextlib.contextmanager
def verifying(mode: str = "raise", *, allow: Iterable[str] = (),
              watchdog: Optional[float] = None) -> Iterator[Verification]:
    """Install the shim for the block, then put back the mode, allow-list and watchdog it had
    before."""
    with state.lock:
        previous_mode, previous_rules = state.mode, list(state.allow_rules)
        previous_watchdog = state.watchdog
        install(mode, allow=allow)
        if watchdog is not None and previous_watchdog is None:
            start_watchdog(watchdog)
        verification = Verification()
    try:
        yield verification
    finally:
        with state.lock:
            state.allow_rules[:] = previous_rules
            if previous_mode is None:
                uninstall()
            else:
                state.mode = previous_mode
                if previous_watchdog is None:
                    stop_watchdog()

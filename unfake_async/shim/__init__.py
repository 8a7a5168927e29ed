"""The verifying runtime shim: catch blocking calls on the event loop, and fake async, as they run.

While installed, a blocking call made on a thread that is running an asyncio (or uvloop) event
loop is reported with the user's own frame and what blocked:

* HTTP through requests (`Session.send`), urllib3 (`HTTPConnectionPool.urlopen`), http.client
  (`HTTPConnection.putrequest`, so urllib.request too) or a sync `httpx.Client` → UFA003;
* blocking `socket` connect/send/recv and `socket.getaddrinfo`, `ssl.SSLSocket` I/O → UFA900;
* `time.sleep` (non-zero) → UFA010;
* any function you `register()` → UFA900 (or the id you give).

It also reports fake async: an HTTP request made in a worker thread that a coroutine started with
`loop.run_in_executor` / `executor.submit` (UFA001) or `asyncio.to_thread` / anyio /
starlette / asgiref helpers (UFA002), naming both the coroutine that offloaded the work and the
line that made the request. These are the static rules' ids (see `report` for the table).

Nothing is reported for threads with no running loop that are not running offloaded work, for
non-blocking sockets (asyncio's own I/O), or inside `allow_blocking()` / allow-listed modules and
functions. Reports describe requests by method and redacted URL only (see `redact`).

Modes: "warn" (a `BlockingCallWarning` once per site), "raise" (`BlockingCallError` instead of
the call; in a worker thread it propagates to the awaiting coroutine), "log" (logger
``unfake_async.shim``, a child of ``unfake_async``: each site's first 3 occurrences in full, then
a count at 10, 100, 1000..., with ``ufa_*`` extra fields, the call's duration among them),
"record" (silent). Every mode records every call; `findings()` and `summary()` read the record.

Offloads started inside tasks (`gather`, `create_task`, task groups, `asyncio.wait`) are reported
at the line that called the helper: the helpers capture their caller when called. On the loop's
thread a stack ends at the running task's coroutine, never at the line that started the loop.

The loop-lag watchdog (`install(mode, watchdog=0.1)`, ``UNFAKE_ASYNC_SHIM_WATCHDOG``, on by
default under ``verify``) reports UFA011 when a loop does not come back for the threshold, at the
application's line where its thread was: C calls, CPU-bound work, names the patches cannot see.

Ways to turn it on: `install()` / `uninstall()`, the `verifying()` context manager, the pytest
plugin (`pytest --unfake-async=raise`), ``UNFAKE_ASYNC_SHIM=warn|raise|log`` in the environment
of any Python process where unfake-async is installed (a .pth file reads it; or
`import unfake_async.shim.auto`), and ``unfake-async verify -- CMD``. See docs/shim.md.

Limits: names bound before install (``from time import sleep``) keep the original, and C
extensions and CPU-bound work pass no patch: only the watchdog sees them, after the threshold;
patching is CPython-tested (uvloop included).
"""
from __future__ import annotations

import importlib
from typing import Any, List

# The package stays cheap to import (the pytest plugin lives in it and is loaded in every pytest
# run): the API, and the patch machinery behind it, load on first use.
__all__ = [
    "MODES", "RULE_NAMES", "BlockingCallError", "BlockingCallWarning", "RuntimeFinding",
    "Verification", "allow", "allow_blocking", "findings", "install", "installed_mode",
    "register", "reset", "start_watchdog", "stop_watchdog", "summary", "uninstall", "verifying",
]


def __getattr__(name: str) -> Any:
    if name in __all__ or name == "_user_targets":
        return getattr(importlib.import_module("unfake_async.shim.api"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> List[str]:
    return sorted(set(globals()) | set(__all__))

"""Importing this module turns the shim on as the environment says.

* ``UNFAKE_ASYNC_SHIM``: ``warn``, ``raise``, ``log`` or ``record``; unset or empty: do nothing.
* ``UNFAKE_ASYNC_SHIM_ALLOW``: comma-separated allow rules ("pkg.mod", "pkg.mod:func").
* ``UNFAKE_ASYNC_SHIM_REPORT_DIR``: write this process's findings to
  ``<dir>/<pid>.jsonl`` as they happen (``unfake-async verify`` sets it and prints the summary);
  without it, the summary goes to stderr when the process exits, if anything was found.
* ``UNFAKE_ASYNC_SHIM_WATCHDOG``: ``on`` (100 ms) or a threshold in milliseconds starts the
  loop-lag watchdog (UFA011); unset, empty, ``0`` or ``off``: no watchdog.
* ``UNFAKE_ASYNC_SHIM_LOG_FIRST``: in log mode, how many occurrences of each site are logged in
  full before only counts are (default 3).

Where unfake-async is installed (from its wheel, or editable), ``unfake_async_shim.pth`` in
site-packages (source: ``_bootstrap/unfake_async_shim.pth``) imports this module in every Python
process of the environment whose ``UNFAKE_ASYNC_SHIM`` is set, ``python -I`` included;
``unfake-async verify`` also loads it through a ``sitecustomize``; or ``import
unfake_async.shim.auto`` first thing.
"""
from __future__ import annotations

import atexit
import os
import sys
from typing import Mapping, Optional

from unfake_async.shim._state import state
from unfake_async.shim.watchdog import parse_threshold

ENV_MODE = "UNFAKE_ASYNC_SHIM"
ENV_ALLOW = "UNFAKE_ASYNC_SHIM_ALLOW"
ENV_REPORT_DIR = "UNFAKE_ASYNC_SHIM_REPORT_DIR"
ENV_WATCHDOG = "UNFAKE_ASYNC_SHIM_WATCHDOG"
ENV_LOG_FIRST = "UNFAKE_ASYNC_SHIM_LOG_FIRST"


def _print_summary_at_exit() -> None:
    from unfake_async import shim

    # Only while still installed: code that turned the shim off has taken charge of reporting.
    if shim.installed_mode() is not None and shim.findings():
        print(shim.summary(), file=sys.stderr)


def _number(environ: Mapping[str, str], name: str, parse):
    value = environ.get(name, "").strip()
    if not value:
        return None
    try:
        return parse(value)
    except ValueError:
        print(f"unfake-async: ignoring {name}={value!r}", file=sys.stderr)
        return None


def activate_from_environment(environ: Mapping[str, str] = os.environ) -> Optional[str]:
    """Install the shim per `environ`; returns the mode, or None if the shim stays off."""
    from unfake_async import shim

    mode = environ.get(ENV_MODE, "").strip().lower()
    if not mode:
        return None
    if mode not in shim.MODES:
        print(f"unfake-async: ignoring {ENV_MODE}={mode!r} (expected one of "
              f"{', '.join(shim.MODES)})", file=sys.stderr)
        return None
    allow = [rule.strip() for rule in environ.get(ENV_ALLOW, "").split(",") if rule.strip()]
    report_dir = environ.get(ENV_REPORT_DIR)
    report_file = os.path.join(report_dir, f"{os.getpid()}.jsonl") if report_dir else None
    watchdog = _number(environ, ENV_WATCHDOG, parse_threshold)
    log_first = _number(environ, ENV_LOG_FIRST, int)
    if log_first is not None:
        state.log_first = max(log_first, 0)
    shim.install(mode, allow=allow, report_file=report_file, watchdog=watchdog)
    if report_file is None:
        atexit.register(_print_summary_at_exit)
    return mode


activate_from_environment()

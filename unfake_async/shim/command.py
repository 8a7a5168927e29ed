"""``unfake-async verify [options] -- COMMAND ...``: run a command with the shim on in every Python
process it starts, then print what was found.

How the shim reaches the command's processes: a directory holding a ``sitecustomize.py`` is put
first on their PYTHONPATH (any sitecustomize it shadows still runs), with ``UNFAKE_ASYNC_SHIM``
set; each process mirrors its findings to a JSON-lines file in a temporary directory, so
subprocesses, pytest-xdist workers and processes that end with ``os._exit`` are all counted.
Processes started with ``python -I``/``-E``/``-S`` are covered only where unfake-async is
installed from its wheel (its .pth file reads ``UNFAKE_ASYNC_SHIM``; see ``auto``).

The loop-lag watchdog (UFA011) is on here by default, at 100 ms (``--watchdog-ms 0``: off):
whoever runs ``verify`` wants to hear about everything that blocks the loop.

Exit status: 1 if anything was found; otherwise the command's own status (2 if it could not be
started or the arguments are wrong).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from typing import List, Optional

from unfake_async.shim.auto import ENV_ALLOW, ENV_MODE, ENV_REPORT_DIR, ENV_WATCHDOG
from unfake_async.shim.report import findings_in_dir, format_summary, group_by_site

BOOTSTRAP_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_bootstrap")
PACKAGE_HOME = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VERIFY_MODES = ("warn", "raise", "log", "record")
DEFAULT_WATCHDOG_MS = 100


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="unfake-async verify",
        description="Run COMMAND with the unfake-async runtime shim on in its Python processes; "
                    "report blocking calls on the event loop and fake-async requests.",
    )
    parser.add_argument("--mode", choices=VERIFY_MODES, default="warn",
                        help="what the shim does at each call (default: warn); the summary is "
                             "printed at the end in every mode")
    parser.add_argument("--allow", action="append", default=[], metavar="RULE",
                        help="never report calls from this module ('pkg.mod') or function "
                             "('pkg.mod:func'); repeatable")
    parser.add_argument("--watchdog-ms", type=float, default=DEFAULT_WATCHDOG_MS, metavar="MS",
                        help="report the event loop blocked longer than MS milliseconds "
                             f"(UFA011; default {DEFAULT_WATCHDOG_MS}, 0 turns it off)")
    parser.add_argument("--json", metavar="FILE",
                        help="also write the findings, grouped by site, to FILE as JSON")
    parser.add_argument("command", nargs=argparse.REMAINDER,
                        help="the command to run, after '--'")
    return parser


def child_environment(mode: str, allow: List[str], report_dir: str,
                      base: Optional[dict] = None, watchdog_ms: float = 0) -> dict:
    """The environment that turns the shim on in every Python process of the command."""
    env = dict(os.environ if base is None else base)
    env[ENV_WATCHDOG] = f"{watchdog_ms:g}" if watchdog_ms > 0 else "off"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [BOOTSTRAP_DIR, env.get("PYTHONPATH")]))
    env[ENV_MODE] = mode
    env[ENV_REPORT_DIR] = report_dir
    env["UNFAKE_ASYNC_SHIM_HOME"] = PACKAGE_HOME
    if allow:
        env[ENV_ALLOW] = ",".join(allow)
    return env


def _write_json(path: str, findings) -> None:
    payload = {
        "total": len(findings),
        "sites": [dict(finding.as_dict(), count=count, message=finding.message)
                  for finding, count in group_by_site(findings)],
    }
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(payload, handle, indent=2)


def verify_main(argv: List[str]) -> int:
    """Entry point for ``unfake-async verify``; `argv` is what follows ``verify``."""
    parser = _parser()
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.print_usage(sys.stderr)
        print("unfake-async verify: give the command to run after '--'", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="unfake-async-verify-") as report_dir:
        env = child_environment(args.mode, args.allow, report_dir,
                                watchdog_ms=args.watchdog_ms)
        try:
            returncode = subprocess.run(command, env=env).returncode
        except OSError as error:
            print(f"unfake-async verify: cannot run {command[0]!r}: {error}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            returncode = 130
        findings = findings_in_dir(report_dir)
    print(format_summary(findings, title="unfake-async verify"), file=sys.stderr)
    if args.json:
        _write_json(args.json, findings)
    if findings:
        return 1
    return returncode


def main() -> None:  # pragma: no cover - `python -m unfake_async.shim.command`
    sys.exit(verify_main(sys.argv[1:]))


if __name__ == "__main__":  # pragma: no cover
    main()

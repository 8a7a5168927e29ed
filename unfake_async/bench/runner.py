"""Run bench rows one after another against one server, each in a fresh worker process.

A row is a module source plus an async entry point taking a base URL. For each row the server's
counters are reset, the worker calls the entry N times with at most C in flight, and the row's
result joins what the client measured (wall, latencies, CPU, RSS, threads) with what the server
saw (requests, max in flight, how late its timers fired).
"""
from __future__ import annotations

import json
import os
import queue
import re
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional

from unfake_async.bench.server import BenchServer

ProgressCallback = Callable[[int, int], None]  # (calls done, errors so far)
_MISSING_MODULE = re.compile(r"ModuleNotFoundError: No module named '([\w.]+?)(?:\.[\w.]+)?'")


@dataclass
class RowSpec:
    """What to measure in one row."""

    name: str
    source: Optional[str]  # None: the row cannot run (see `skip_reason`)
    entry: str
    filename: str = "<bench>"
    loop: str = "asyncio"
    close: Optional[str] = None  # an async function of the module to call after the run
    sys_path: List[str] = field(default_factory=list)
    skip_reason: Optional[str] = None
    kind: str = ""  # "before", "after" or "reference", for the report

    def to_worker_spec(self, base_url: str, requests: int, concurrency: int, timeout: float):
        return {
            "source": self.source,
            "filename": self.filename,
            "entry": self.entry,
            "loop": self.loop,
            "close": self.close,
            "sys_path": self.sys_path,
            "base_url": base_url,
            "requests": requests,
            "concurrency": concurrency,
            "timeout": timeout,
        }


@dataclass
class RowResult:
    name: str
    kind: str
    status: str  # "ok", "errors", "timeout", "failed", "skipped"
    client: Dict[str, Any] = field(default_factory=dict)
    server: Dict[str, Any] = field(default_factory=dict)
    message: Optional[str] = None

    def to_dict(self) -> Dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "status": self.status,
            "message": self.message,
            "client": self.client,
            "server": self.server,
        }


def run_row(
    row: RowSpec,
    server: BenchServer,
    requests: int,
    concurrency: int,
    timeout: float,
    on_progress: Optional[ProgressCallback] = None,
) -> RowResult:
    """Measure one row; never raises for a row that fails, reports it instead."""
    if row.source is None:
        return RowResult(row.name, row.kind, "skipped", message=row.skip_reason)
    server.reset()
    spec = row.to_worker_spec(server.base_url, requests, concurrency, timeout)
    with tempfile.TemporaryFile(mode="w+") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "unfake_async.bench.worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            env=_worker_env(row),
        )
        try:
            final = _follow(process, json.dumps(spec), timeout + 30, on_progress, server.reset)
        finally:
            if process.poll() is None:
                process.kill()
            process.wait()
        stderr.seek(0)
        stderr_tail = stderr.read()[-2000:]
    server_stats = server.stats()
    if final is None:
        return RowResult(row.name, row.kind, "failed", server=server_stats,
                         message=f"the worker stopped without a result\n{stderr_tail}".strip())
    if final["event"] == "failed":
        missing = _MISSING_MODULE.match(final["error"])
        if missing:  # one line, not a traceback: the row needs a library that is not installed
            return RowResult(row.name, row.kind, "skipped", server=server_stats,
                             message=f"needs {missing.group(1)}, which is not installed: "
                             f"pip install {missing.group(1)} (pip install 'unfake-async[bench]' "
                             "brings requests, aiohttp, httpx2 and uvloop)")
        return RowResult(row.name, row.kind, "failed", server=server_stats,
                         message=final["error"] + "\n" + final.get("traceback", ""))
    final.pop("event")
    status = "timeout" if final["timed_out"] else ("errors" if final["errors"] else "ok")
    message = "; ".join(final["first_errors"]) or None
    return RowResult(row.name, row.kind, status, client=final, server=server_stats,
                     message=message)


def _worker_env(row: RowSpec) -> Dict[str, str]:
    env = dict(os.environ)
    # The worker must import this package even when the bench runs from a source checkout.
    package_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env["PYTHONPATH"] = os.pathsep.join(
        [package_root] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])
    )
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def _follow(
    process: subprocess.Popen,
    spec_json: str,
    deadline_seconds: float,
    on_progress: Optional[ProgressCallback],
    on_warmed: Callable[[], None] = lambda: None,
) -> Optional[Dict[str, Any]]:
    """Feed the spec, relay progress, and return the worker's last message (None if it died).

    After its untimed warm-up call the worker says "warmed" and waits: the server's counters are
    reset then, so they count the measured calls only, and the worker is told to go on."""
    assert process.stdin is not None and process.stdout is not None
    lines: queue.Queue[Optional[str]] = queue.Queue()

    def pump() -> None:
        for line in process.stdout:  # type: ignore[union-attr]
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    process.stdin.write(spec_json + "\n")
    process.stdin.flush()
    deadline = time.monotonic() + deadline_seconds
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            process.kill()
            return None
        try:
            line = lines.get(timeout=remaining)
        except queue.Empty:
            continue
        if line is None:
            return None
        try:
            message = json.loads(line)
        except ValueError:
            continue
        if message.get("event") == "warmed":
            on_warmed()
            process.stdin.write("go\n")
            process.stdin.close()
            continue
        if message.get("event") == "progress":
            if on_progress is not None:
                on_progress(message["done"], message["errors"])
            continue
        return message


def run_rows(
    rows: List[RowSpec],
    server: BenchServer,
    requests: int,
    concurrency: int,
    timeout: float,
    on_row_start: Optional[Callable[[RowSpec], None]] = None,
    on_progress: Optional[ProgressCallback] = None,
) -> List[RowResult]:
    results = []
    for row in rows:
        if on_row_start is not None:
            on_row_start(row)
        results.append(run_row(row, server, requests, concurrency, timeout, on_progress))
    return results

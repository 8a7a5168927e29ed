"""Measure the candidate constructions of the migrated code's shared client, side by side.

Every candidate in `unfake_async.bench.clients` (one httpx client with default limits, all
connections kept alive, a semaphore transport, several small clients, httpx2, the aiohttp
transport) runs the same call sites against the bench server, next to the seed's thread pools
and a hand-written aiohttp client, for each scenario N:C. Prints one table per scenario and a
summary of wall time per candidate; `--json FILE` keeps everything.

    .venv/bin/python scripts/bench_clients.py                       # the default scenarios
    .venv/bin/python scripts/bench_clients.py --scenario 1000:100 --only httpx-default,httpx-aiohttp
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rich.console import Console
from rich.table import Table

from unfake_async.bench.clients import SEED_CALL_SITES, build_candidates
from unfake_async.bench.report import BenchReport
from unfake_async.bench.runner import RowSpec, run_row
from unfake_async.bench.scenario import (
    aiohttp_reference_source,
    seed_before_source,
    thread_pool_variant,
)
from unfake_async.bench.server import BenchServer

DEFAULT_SCENARIOS = ("100:100", "1000:10", "1000:100", "1000:1000", "5000:500")


# Makes `import sniffio` fail inside the measured module, as on a machine without sniffio: each
# attempt pays a failed search of sys.path, like the real thing.
NO_SNIFFIO = """\
import importlib.machinery, sys


class _NoSniffio:
    @staticmethod
    def find_spec(name, path=None, target=None):
        if name.partition(".")[0] == "sniffio":
            importlib.machinery.PathFinder.find_spec("sniffio_is_not_installed")
            raise ModuleNotFoundError("No module named 'sniffio'", name=name)
        return None


sys.meta_path.insert(0, _NoSniffio)
sys.modules.pop("sniffio", None)
"""


def with_timeout(source: str, timeout: str) -> str:
    """The candidate with another client timeout than requests' None (e.g. httpx's 5.0)."""
    return source if timeout == "None" else source.replace("timeout=None,", f"timeout={timeout},")


def rows_for(requests: int, pool: int, only: set, fake3_up_to: int, no_sniffio: set,
             timeout: str = "None") -> list:
    before = seed_before_source()
    rows = []
    if requests <= fake3_up_to and (not only or "fake3" in only):
        rows.append(RowSpec("before: ThreadPoolExecutor(3)", before, "fetch_item", kind="before"))
    if not only or "fake32" in only:
        rows.append(RowSpec("before: ThreadPoolExecutor(32)", thread_pool_variant(before, 32),
                            "fetch_item", kind="before"))
    for candidate in build_candidates(pool):
        if only and candidate.name not in only:
            continue
        if not candidate.available():
            rows.append(RowSpec(candidate.name, None, "fetch_item", kind="after",
                                skip_reason=f"needs {', '.join(candidate.requires)}"))
            continue
        source = with_timeout(candidate.module_source(SEED_CALL_SITES), timeout)
        rows.append(RowSpec(candidate.name, source, "fetch_item",
                            close="aclose_http_client", kind="after"))
        if candidate.name in no_sniffio:
            rows.append(RowSpec(candidate.name + ", no sniffio", NO_SNIFFIO + source,
                                "fetch_item", close="aclose_http_client", kind="after"))
    if not only or "aiohttp" in only:
        rows.append(RowSpec("reference: aiohttp ClientSession", aiohttp_reference_source(),
                            "fetch_item", close="aclose_http_client", kind="reference"))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", action="append", help="N:C, repeatable")
    parser.add_argument("--latency", type=float, default=0.15, help="seconds (default 0.15)")
    parser.add_argument("--pool", type=int, default=100, help="connections per event loop")
    parser.add_argument("--only", default="", help="comma-separated row names (fake3, fake32, "
                        "aiohttp, or candidate names)")
    parser.add_argument("--fake3-up-to", type=int, default=100,
                        help="run the 3-thread row only when N is at most this (it takes N*L/3)")
    parser.add_argument("--no-sniffio", default="", help="comma-separated candidates to run "
                        "also as if sniffio were not installed")
    parser.add_argument("--client-timeout", default="None",
                        help="timeout= of the generated clients (default None, as requests); "
                        "5.0 is httpx's default")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per row")
    parser.add_argument("--json", type=Path, help="write all results here")
    args = parser.parse_args()
    only = {name.strip() for name in args.only.split(",") if name.strip()}
    console = Console(width=max(Console().width, 170))
    console.print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, "
                  f"{time.strftime('%Y-%m-%d %H:%M')}, load average {_load()}")
    reports = []
    with BenchServer(args.latency, max_requests=10_000_000, max_seconds=7200) as server:
        for scenario in args.scenario or DEFAULT_SCENARIOS:
            requests, concurrency = (int(part) for part in scenario.split(":"))
            report = BenchReport("client candidates", requests, concurrency, args.latency)
            no_sniffio = {name.strip() for name in args.no_sniffio.split(",") if name.strip()}
            for row in rows_for(requests, args.pool, only, args.fake3_up_to, no_sniffio,
                                args.client_timeout):
                console.print(f"  {scenario} {row.name} ...", end="")
                result = run_row(row, server, requests, concurrency, args.timeout)
                wall = result.client.get("wall_s")
                console.print(f" {result.status}" + (f" {wall:.2f} s" if wall else ""))
                report.rows.append(result)
            report.notes.append(report.server_note())
            report.render(console)
            reports.append(report)
    console.print(summary(reports))
    # Other work on the machine skews every row: the load average says whether there was any.
    console.print(f"load average at the end {_load()}")
    if args.json:
        args.json.write_text(json.dumps([r.to_dict() for r in reports], indent=2))
    return 0


def _load() -> str:
    try:
        return " ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        return "unknown"


def summary(reports: list) -> Table:
    """Wall seconds (and % of ideal) per row and scenario, in one table."""
    table = Table(title="wall s (% of ideal N·L/C) per scenario N:C")
    table.add_column("row")
    for report in reports:
        table.add_column(f"{report.requests}:{report.concurrency}", justify="right")
    names = []
    for report in reports:
        names += [row.name for row in report.rows if row.name not in names]
    for name in names:
        cells = []
        for report in reports:
            row = next((r for r in report.rows if r.name == name), None)
            figures = report.row_figures(row) if row is not None else {}
            wall = figures.get("wall_s")
            if wall is None:
                cells.append("—" if row is None else row.status)
                continue
            flag = "" if row.status == "ok" else f" {row.status}"
            cells.append(f"{wall:.2f} ({figures['percent_of_ideal']:.0f}%){flag}")
        table.add_row(name, *cells)
    return table


if __name__ == "__main__":
    sys.exit(main())

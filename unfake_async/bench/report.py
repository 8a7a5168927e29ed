"""The bench report: a rich table for people, a JSON document for CI."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from unfake_async.bench.runner import RowResult


@dataclass
class BenchReport:
    """One run: the scenario's parameters and every row's result."""

    title: str
    requests: int
    concurrency: int
    latency: float
    rows: List[RowResult] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)

    @property
    def ideal_seconds(self) -> float:
        """The bound no client can beat: N calls x latency / concurrency."""
        return self.requests * self.latency / self.concurrency

    def row_figures(self, row: RowResult) -> Dict[str, Any]:
        """The derived figures of one row (None where the row has no measurement)."""
        client, server = row.client, row.server
        wall = client.get("wall_s")
        rss = client.get("peak_rss_bytes")
        return {
            "wall_s": wall,
            "throughput": client.get("throughput"),
            "mean_ms": client.get("mean_ms"),
            "p50_ms": client.get("p50_ms"),
            "p99_ms": client.get("p99_ms"),
            "first_call_ms": client.get("first_call_ms"),
            "server_requests": server.get("requests"),
            "max_in_flight": server.get("max_in_flight"),
            "connections": server.get("connections"),
            "peak_rss_mb": rss / 2**20 if rss else None,
            "max_threads": client.get("max_threads"),
            "cpu_us_per_call": client.get("cpu_us_per_call"),
            # The client's own ceiling: calls one core can make per second at this CPU cost.
            "calls_per_cpu_second": 1e6 / client["cpu_us_per_call"] if client.get("cpu_us_per_call") else None,
            "errors": client.get("errors"),
            "percent_of_ideal": (100.0 * self.ideal_seconds / wall) if wall else None,
            "server_max_lag_ms": server.get("max_lag_ms"),
            "server_cpu_percent": server.get("cpu_percent"),
        }

    def to_dict(self) -> Dict[str, Any]:
        return {
            "title": self.title,
            "requests": self.requests,
            "concurrency": self.concurrency,
            "latency_s": self.latency,
            "ideal_s": self.ideal_seconds,
            "notes": self.notes,
            "rows": [dict(row.to_dict(), figures=self.row_figures(row)) for row in self.rows],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    def render(self, console: Optional[Console] = None) -> None:
        if console is None:
            # Piped to a file or CI log: no terminal width to respect, so do not squash columns.
            plain = Console()
            console = plain if plain.is_terminal else Console(width=max(plain.width, 150))
        console.print(self.table())
        for row in self.rows:
            if row.status != "ok" and row.message:
                message = row.message.strip()[:600] if row.status != "skipped" else row.message
                console.print(f"[bold]{escape(row.name)}[/bold] ({row.status}): {escape(message)}")
        for note in self.notes:
            console.print(note)

    def table(self) -> Table:
        table = Table(
            title=(
                f"{self.title}: N={self.requests} calls, C={self.concurrency}, "
                f"latency {self.latency * 1000:.0f} ms, ideal N·L/C = {self.ideal_seconds:.2f} s"
            ),
            caption="latencies in ms; in flight (max) and requests are counted by the server; "
            "RSS, threads and CPU µs per call are the client process's; req/s/core = calls per "
            "second of client CPU, the most one core could make at this cost",
        )
        table.add_column("row", no_wrap=True)
        for header in ("wall s", "req/s", "mean", "p50", "p99", "in flight", "requests",
                       "RSS MB", "threads", "CPU µs", "req/s/core", "errors", "% ideal"):
            table.add_column(header, justify="right")
        for row in self.rows:
            if row.status == "skipped" or not row.client:
                table.add_row(row.name, *(["—"] * 12), row.status)
                continue
            f = self.row_figures(row)
            table.add_row(
                row.name,
                _fmt(f["wall_s"], 2),
                _fmt(f["throughput"], 1),
                _fmt(f["mean_ms"], 0),
                _fmt(f["p50_ms"], 0),
                _fmt(f["p99_ms"], 0),
                _fmt(f["max_in_flight"]),
                _fmt(f["server_requests"]),
                _fmt(f["peak_rss_mb"], 1),
                _fmt(f["max_threads"]),
                _fmt(f["cpu_us_per_call"], 0),
                _fmt(f["calls_per_cpu_second"], 0),
                _fmt(f["errors"]) + (" (timeout)" if row.status == "timeout" else ""),
                _fmt(f["percent_of_ideal"], 0),
            )
        return table

    def server_note(self) -> str:
        lags = [r.server.get("max_lag_ms", 0.0) for r in self.rows if r.server]
        cpus = [r.server.get("cpu_percent", 0.0) for r in self.rows if r.server]
        if not lags:
            return ""
        return (
            f"server keeps up: timers at most {max(lags):.1f} ms late, "
            f"at most {max(cpus):.0f}% of a core"
        )


def _fmt(value: Any, digits: Optional[int] = None) -> str:
    if value is None:
        return "—"
    if digits is None:
        return str(value)
    return f"{value:,.{digits}f}"

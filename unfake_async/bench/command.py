"""``unfake-async bench``: measure fake-async code against its migration, on a local server.

    unfake-async bench                                 # the seed article's scenario
    unfake-async bench --scenario cpu-bound            # 5000 calls, 500 at a time, 20 ms
    unfake-async bench path/to/module.py::entry        # your module, as it is and migrated
    unfake-async bench --before old.py::entry --after new.py::entry

`entry` is an async function taking the server's base URL (``http://127.0.0.1:PORT``); it is
called N times with at most C calls in flight. Exit status: 0 when every row ran cleanly, 1 when
a row failed, timed out, had errors or could not be produced, 2 on bad arguments.
"""
from __future__ import annotations

import dataclasses
import re
import sys
from typing import List, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from unfake_async.bench.report import BenchReport
from unfake_async.bench.runner import RowSpec, run_rows
from unfake_async.bench.scenario import PRESETS, TargetError, builtin_rows, pair_rows, user_rows
from unfake_async.bench.server import BenchServer

_HELP = (
    "Run fake-async code and its migration side by side against a local server.\n\n"
    "Without a target: the seed article's scenario (requests on ThreadPoolExecutor(3), the "
    "codemod's migration of it, and reference rows). MODULE.py::entry: your module as it is "
    "and as the codemod migrates it, in memory. --before/--after FILE::entry: two versions you "
    "already have. `entry` is an async function taking the server's base URL; it is called "
    "--requests times with at most --concurrency calls in flight.\n\n"
    "Exit status: 0 when every row ran cleanly, 1 when a row failed, timed out, had errors or "
    "could not be produced, 2 on bad arguments."
)
_LATENCY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s)?\s*$")


def parse_latency(text: str) -> float:
    """'150ms', '0.15s' or '0.15' (seconds) -> seconds."""
    match = _LATENCY.match(text)
    if not match:
        raise typer.BadParameter(f"expected e.g. 150ms or 0.15s, got {text!r}")
    value = float(match.group(1))
    return value / 1000 if match.group(2) == "ms" else value


def _settings(target: Optional[str], transport: Optional[str], config_for: Optional[str] = None):
    """Codemod settings for the "after" rows: the defaults, or the `[tool.unfake-async]` table
    that applies to `config_for` (the user's module), with --target/--transport on top."""
    from unfake_async.settings import DEFAULT_SETTINGS, Settings

    base = DEFAULT_SETTINGS
    if config_for is not None:
        from unfake_async.config import ConfigError, load_config

        try:
            base = load_config([config_for]).settings
        except ConfigError as exc:
            raise typer.BadParameter(str(exc)) from None
    changes = {}
    if target is not None:
        changes["target"] = target
    if transport is not None:
        if "transport" not in {f.name for f in dataclasses.fields(Settings)}:
            raise typer.BadParameter("this version of the codemod has no --transport setting")
        changes["transport"] = transport
    return dataclasses.replace(base, **changes)


def bench(
    target: Optional[str] = typer.Argument(
        None, help="MODULE.py::entry to measure as it is and as the codemod migrates it."
    ),
    before: Optional[str] = typer.Option(None, help="FILE::entry of the code before a change."),
    after: Optional[str] = typer.Option(None, help="FILE::entry of the code after a change."),
    scenario: Optional[str] = typer.Option(
        None, "--scenario", help="A named scenario that sets -n, -c and --latency (each can still "
        "be given): " + "; ".join(f"{name}: {p.description}" for name, p in PRESETS.items()) + "."
    ),
    requests: Optional[int] = typer.Option(None, "--requests", "-n", min=1, max=100_000,
                                           help="Calls of the entry point per row [default: 100]."),
    concurrency: Optional[int] = typer.Option(None, "--concurrency", "-c", min=1, max=10_000,
                                              help="Calls in flight at most [default: 10]."),
    latency: Optional[str] = typer.Option(None, help="Server latency per request, e.g. 150ms or "
                                          "0.2s [default: 150ms]."),
    timeout: float = typer.Option(300.0, min=1.0, help="Seconds at most per row."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON (for CI)."),
    extras: bool = typer.Option(True, "--extras/--no-extras",
                                help="Built-in scenario: add the 32-thread, uvloop and aiohttp "
                                "rows when those are installed."),
    uvloop: bool = typer.Option(False, "--uvloop", help="Your module: add a row on uvloop."),
    codemod_target: Optional[str] = typer.Option(
        None, "--target", help="Library the codemod migrates to (httpx or httpx2)."
    ),
    codemod_transport: Optional[str] = typer.Option(
        None, "--transport", help="Transport of the generated client (aiohttp, the default, or httpx)."
    ),
) -> None:
    """Run fake-async code and its migration side by side against a local server."""
    if scenario is not None and scenario not in PRESETS:
        raise typer.BadParameter(f"--scenario must be one of {', '.join(PRESETS)}, not {scenario!r}")
    preset = PRESETS[scenario or "seed"]
    requests = preset.requests if requests is None else requests
    concurrency = preset.concurrency if concurrency is None else concurrency
    seconds = preset.latency if latency is None else parse_latency(latency)
    if (before is None) != (after is None):
        raise typer.BadParameter("--before and --after go together")
    if target is not None and before is not None:
        raise typer.BadParameter("give either MODULE::entry or --before/--after, not both")
    try:
        if before is not None and after is not None:
            rows, title = pair_rows(before, after), "before vs after"
        elif target is not None:
            config_for = target.rpartition("::")[0] or None
            settings = _settings(codemod_target, codemod_transport, config_for)
            rows, title = user_rows(target, settings, uvloop), target
        else:
            settings = _settings(codemod_target, codemod_transport)
            rows, title = builtin_rows(settings, extras, preset), f"{scenario or 'seed'} scenario"
    except TargetError as exc:
        raise typer.BadParameter(str(exc)) from None

    report = BenchReport(title, requests, concurrency, seconds)
    report.rows = _measure(rows, requests, concurrency, seconds, timeout)
    report.notes.append(report.server_note())
    report.notes.append(
        "Each row first makes one untimed warm-up call (its latency is 'first call'), so one-time "
        "costs such as lazy imports do not count in wall time; the server counts measured calls only."
    )
    if as_json:
        sys.stdout.write(report.to_json() + "\n")
    else:
        report.render()
    raise typer.Exit(0 if all(row.status == "ok" for row in report.rows) else 1)


def _measure(rows: List[RowSpec], requests: int, concurrency: int, latency: float,
             timeout: float):
    """Run every row against one server, with a progress bar on a terminal."""
    runnable = [row for row in rows if row.source is not None]
    # Bounds for the server itself: generous for entries that make several requests per call.
    budget = max(10_000, 20 * requests * max(1, len(runnable)))
    lifetime = (timeout + 60) * max(1, len(runnable)) + 60
    stderr = Console(stderr=True)
    with BenchServer(latency, max_requests=budget, max_seconds=lifetime) as server:
        with Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), console=stderr, transient=True,
            disable=not stderr.is_terminal,
        ) as progress:  # fmt: skip
            task_ids = {}

            def start(row: RowSpec) -> None:
                task_ids["current"] = progress.add_task(row.name, total=requests)

            def advance(done: int, errors: int) -> None:
                progress.update(task_ids["current"], completed=done)

            return run_rows(rows, server, requests, concurrency, timeout, start, advance)


def bench_main(argv: List[str]) -> int:
    """Entry point for ``unfake-async bench ARGS``; returns the exit status."""
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.command(help=_HELP)(bench)
    command = typer.main.get_command(app)
    try:
        # Standalone mode: usage errors print and exit 2, Ctrl-C exits 1 ("Aborted!") after the
        # `with BenchServer` blocks have stopped the server and the worker.
        command.main(args=list(argv), prog_name="unfake-async bench", standalone_mode=True)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return 0

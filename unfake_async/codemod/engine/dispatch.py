"""Where the files to parse are analysed: in process, in a pool, or in workers forked early.

`runner` hands each file that may match to an `Analysis`, which sends it to the workers forked
before the read loop (big trees, several jobs, Linux: `workers.py`), or keeps it to analyse after
the loop, in this process or in a `ProcessPoolExecutor`. Every failure of one file comes back as
a one-line message (`describe_failure`), never as an exception that would stop the run.
"""
from __future__ import annotations

import concurrent.futures
import functools
import os
from typing import Callable, List, Optional, Tuple

from unfake_async.codemod.engine.model import FixLevel, SourceResult

AnalyzeFunction = Callable[..., SourceResult]

# Below this many files to parse, a process pool costs more to start than it saves.
POOL_THRESHOLD = 8
# From this many files to read on, an analysis worker is forked before the read loop, so that
# importing libcst (0.13 s) overlaps reading and prefiltering (~30 µs a file) instead of
# following it (see `workers.py`).
EARLY_WORKER_FILES = 500


def default_analyze(source, *, path, settings, fix_level, project=None):
    """The real analysis; imported lazily so that libcst loads only where parsing happens."""
    from unfake_async.codemod import analyze_source

    return analyze_source(source, path=path, settings=settings, fix_level=fix_level, project=project)


def _job_count(jobs: int) -> int:
    """`--jobs`, with 0 meaning every core."""
    return jobs or os.cpu_count() or 1


def start_workers(jobs: int, analyze: AnalyzeFunction = default_analyze):
    """Analysis workers forked now, to import libcst while the caller still discovers and reads
    files (`workers.py`); None with one job or where forking is not available."""
    jobs = _job_count(jobs)
    from unfake_async.codemod.engine import workers

    if jobs <= 1 or not workers.available():
        return None
    return workers.Workers(jobs, functools.partial(analyze_one, analyze=analyze))


class Analysis:
    """Where the files to parse go: to workers forked before the read loop (big trees, several
    jobs, Linux), or collected and analysed after it, in-process or in a pool (`_analyze_all`)."""

    def __init__(self, file_count: int, analyze: AnalyzeFunction, jobs: int, workers=None) -> None:
        self.analyze, self.jobs = analyze, _job_count(jobs)
        self.tasks: List[Tuple[str, str, object, FixLevel, object]] = []
        self.workers = workers
        if workers is None and file_count >= EARLY_WORKER_FILES:
            self.workers = start_workers(self.jobs, analyze)

    def add(self, task) -> None:
        if self.workers is not None:
            self.workers.submit(task)
        else:
            self.tasks.append(task)

    def outcomes(self):
        if self.workers is not None:
            return self.workers.results()
        return _analyze_all(self.tasks, self.analyze, self.jobs)

    def close(self) -> None:
        if self.workers is not None:
            self.workers.close()


def _analyze_all(tasks, analyze: AnalyzeFunction, jobs: int):
    jobs = _job_count(jobs)
    if jobs <= 1 or len(tasks) < POOL_THRESHOLD:
        for task in tasks:
            yield task[0], analyze_one(task, analyze)
        return
    workers = min(jobs, len(tasks))
    chunksize = max(1, min(16, len(tasks) // (workers * 4)))
    with concurrent.futures.ProcessPoolExecutor(max_workers=workers) as pool:
        outcomes = pool.map(analyze_one, tasks, [analyze] * len(tasks), chunksize=chunksize)
        for task, outcome in zip(tasks, outcomes):
            yield task[0], outcome


def analyze_one(task, analyze: AnalyzeFunction):
    """Run analyze on one task; a failure comes back as a one-line message, not an exception."""
    path, text, settings, fix_level, project = task
    # Only a file the tree tells something gets `project=`: stand-ins for tests need not take it.
    extra = {"project": project} if project is not None else {}
    try:
        return analyze(text, path=path, settings=settings, fix_level=fix_level, **extra)
    except Exception as exc:  # noqa: BLE001 - any failure of one file must not stop the run
        return describe_failure(exc, text)


def describe_failure(exc: BaseException, text: Optional[str] = None) -> str:
    """One line for a parse or transform failure.

    LibCST's parser often reports the token after the mistake (`def f(:` as "4:4 expected one of
    ), *, NAME"), so with the text at hand Python's own parser names the place and the problem.
    """
    if type(exc).__name__ == "ParserSyntaxError" and text is not None:
        python_says = _python_syntax_error(text)
        if python_says is not None:
            return python_says
        return ("syntax this tool's parser (LibCST) does not support yet; file left untouched "
                f"({_first_line(getattr(exc, 'message', str(exc)))})")
    if type(exc).__name__ == "ParserSyntaxError":
        line, column = getattr(exc, "raw_line", None), getattr(exc, "raw_column", None)
        message = getattr(exc, "message", str(exc)).strip().splitlines()[0]
        where = f" at {line}:{column + 1}" if line is not None and column is not None else ""
        return f"syntax error{where}: {message}"
    lines = str(exc).strip().splitlines()
    detail = f": {lines[0]}" if lines else ""
    return f"internal error while analysing ({type(exc).__name__}{detail}); file left untouched"


def _python_syntax_error(text: str) -> Optional[str]:
    """Python's verdict on `text`: "syntax error at L:C: message", or None when it parses."""
    import ast

    try:
        ast.parse(text)
    except SyntaxError as exc:
        where = f" at {exc.lineno}:{exc.offset}" if exc.lineno and exc.offset else ""
        return f"syntax error{where}: {_first_line(exc.msg or 'invalid syntax')}"
    except (ValueError, RecursionError, MemoryError) as exc:  # NUL bytes, absurd nesting
        return f"syntax error: {type(exc).__name__}: {_first_line(str(exc))}"
    return None


def _first_line(text: str) -> str:
    lines = str(text).strip().splitlines()
    return lines[0] if lines else ""

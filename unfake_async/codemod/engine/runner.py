"""Running the analysis over many files: prefilter, cache, process pool, atomic fixes.

The main process reads every file (cheap) and applies the text prefilter; only files that can
match are parsed, in worker processes when there are enough of them. Fixes are written by the
main process, one file at a time, through `fileio.write_source`. Every per-file problem becomes a
`FileReport` with a one-line reason, and the run always goes on with the other files.

The analyze function is a parameter (default: `unfake_async.codemod.analyze_source`), so the
engine can be tested with a small stand-in; it must be a module-level function to reach workers.
"""
from __future__ import annotations

import concurrent.futures
import dataclasses
import functools
import os
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import pathspec

from unfake_async.codemod.engine import fileio
from unfake_async.codemod.engine.cache import Cache
from unfake_async.codemod.engine.model import (
    CreatedFile,
    FileReport,
    Finding,
    FixLevel,
    Mode,
    RunOptions,
    RunResult,
    SourceResult,
)
from unfake_async.codemod.engine.prechecks import prefilter
from unfake_async.project_requirements import added_imports

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


# The per-run index of what modules offer each other (their offload and requests helpers, their
# re-exports of requests): HTTP semantics, so it lives in the analysis layer and is loaded by
# name, like the passes (`pass_protocol._PASS_MODULES`). It reads with `ast`, never libcst.
PROJECT_INDEX = ("unfake_async.codemod.analysis.project", "ProjectIndex")


def project_index():
    """A fresh index for one run: `facts_for(path, text)` gives a file's facts (falsy when the
    tree tells it nothing), with `fingerprint()` for the cache key."""
    import importlib

    module, name = PROJECT_INDEX
    return getattr(importlib.import_module(module), name)()


def _project_index(analyze: AnalyzeFunction):
    """The run's project index, for the real analysis only (a stand-in takes no `project`)."""
    return project_index() if analyze is default_analyze else None


def _facts(project, path: str, text: str):
    """What the tree tells the file at `path`; nothing for a file the prefilter's required words
    rule out (no `async`: no coroutine to be fake in), which is most files, asked once."""
    if project is None or not prefilter.has_required_words(text):
        return None
    return project.facts_for(path, text)


def run_files(
    files: Sequence[str],
    settings,
    options: RunOptions = RunOptions(),
    *,
    analyze: AnalyzeFunction = default_analyze,
    progress: Optional[Callable[[int], None]] = None,
    workers=None,
) -> RunResult:
    """Check (and in fix/diff mode, fix) every file in `files`.

    `workers` (from `start_workers`, already warming up while the caller discovered `files`)
    take the files to parse; run_files closes them."""
    cache = Cache(options.cache_dir) if options.cache_dir else None
    per_file = _PerFileSettings(settings, options)
    reports: Dict[str, FileReport] = {}
    sources: Dict[str, fileio.SourceFile] = {}
    analysis = _Analysis(len(files), analyze, options.jobs, workers)
    cache_keys: Dict[str, str] = {}
    project = _project_index(analyze)
    try:
        _read_all(files, options, per_file, cache, reports, sources, cache_keys, analysis, progress, project)
        for path, outcome in analysis.outcomes():
            report = reports[path]
            report.parsed = True
            if isinstance(outcome, str):
                report.error = outcome
            else:
                _absorb(report, outcome, sources[path])
                if cache is not None and path in cache_keys:
                    cache.put(cache_keys[path], outcome)
            if progress:
                progress(1)
    finally:
        analysis.close()
    if project is not None and any(r.joint for r in reports.values()):
        _settle_joint_edits(project, files, reports, sources, per_file, options, analyze, cache)

    created = _files_to_create([reports[p] for p in files])
    if options.mode == Mode.FIX:
        created = [new for new in created if _create_file(new, reports)]
        for path in files:
            report = reports[path]
            if report.changed and not report.error:
                _write_fix(report, sources[path])
    if cache is not None:
        cache.save()
    if options.mode != Mode.DIFF:
        for report in reports.values():  # diffs only need the texts in diff mode
            report.original = report.fixed_source = None
    return RunResult([reports[p] for p in files], fix_level=options.fix_level, mode=options.mode,
                     created=created if options.mode != Mode.CHECK else [])




def _settle_joint_edits(project, files, reports: Dict[str, FileReport], sources, per_file,
                        options: RunOptions, analyze: AnalyzeFunction, cache: Optional[Cache] = None) -> None:
    """Edits that span files (SourceResult.joint): the project index decides from every file's
    part, and the files whose decisions changed are analysed again, in this process (they are
    few), until the decisions hold; a part left unmade withdraws its edit everywhere. Each
    round's results are cached under the facts with the decisions."""
    as_given = {os.path.abspath(path): path for path in files}
    # The first round decides each edit; every later round that changes anything withdraws at
    # least one decision, and a withdrawn one is never made again: this ends.
    while True:
        parts = {path: report.joint for path, report in reports.items() if report.joint}
        again = project.settle(parts, files)
        if not again:
            return
        for path in sorted(as_given[p] for p in again if p in as_given):
            source = sources.get(path)
            if source is None:
                try:
                    source = sources[path] = fileio.read_source(path, max_bytes=options.max_bytes)
                except (fileio.FileSkipped, fileio.FileError):
                    continue
            facts = project.facts_with_decisions(path, source.text)
            settings = per_file.for_path(path)
            key = cache.key(path=path, digest=source.digest, settings=settings, fix_level=options.fix_level,
                            project=facts.fingerprint() if facts else "") if cache is not None else None
            outcome = cache.get(key) if key is not None else None
            reports[path] = report = FileReport(path, parsed=outcome is None, cached=outcome is not None)
            if outcome is None:
                outcome = _analyze_one((path, source.text, settings, options.fix_level, facts), analyze)
                if key is not None and not isinstance(outcome, str):
                    cache.put(key, outcome)
            if isinstance(outcome, str):
                report.error = outcome
            else:
                _absorb(report, outcome, source)


def _files_to_create(reports: Sequence[FileReport]) -> List[CreatedFile]:
    """The new files the fixes need, each once (several files' fixes import the same module)."""
    created: Dict[str, CreatedFile] = {}
    for report in reports:
        if not report.changed or report.error:
            continue
        for path, text in report.needs_files.items():
            entry = created.setdefault(path, CreatedFile(path, text))
            if entry.text != text:
                report.error = f"the fix needs {path} with other contents than another file's fix; not fixed"
                continue
            entry.needed_by.append(report.path)
    return [entry for entry in created.values() if entry.needed_by]


def _create_file(new: CreatedFile, reports: Dict[str, FileReport]) -> bool:
    """Create `new` before the fixes that import it are written; when it cannot be, those fixes
    are not written either. False when it exists already (made meanwhile: it is reused)."""
    try:
        return fileio.create_file(new.path, new.text)
    except fileio.FileError as exc:
        for path in new.needed_by:
            report = reports[path]
            report.error = f"fix not written: {exc}"
            report.changed = False
            report.findings = [dataclasses.replace(f, fixed=False) for f in report.findings]
        return False


def _read_all(files, options: RunOptions, per_file, cache, reports, sources, cache_keys,
              analysis: "_Analysis", progress, project=None) -> None:
    """Read and prefilter every file; hand each one that may match to `analysis`, with what the
    modules it imports tell it (`project`: read on demand, so a one-file run sees them too)."""
    for path in files:
        report = reports[path] = FileReport(path)
        try:
            source = fileio.read_source(path, max_bytes=options.max_bytes)
        except (fileio.FileSkipped, fileio.FileError) as exc:
            # A file the user asked about and we could not check: an error (exit 2), never a
            # quiet skip that would let an unchecked tree pass as clean.
            report.error = f"{exc}; not checked"
        else:
            facts = _facts(project, path, source.text)
            if facts or prefilter.worth_parsing(source.text, per_file.settings):
                file_settings = per_file.for_path(path)
                if cache is not None:
                    key = cache.key(
                        path=path, digest=source.digest, settings=file_settings,
                        fix_level=options.fix_level, project=facts.fingerprint() if facts else "",
                    )
                    cached = cache.get(key)
                    if cached is not None:
                        report.cached = True
                        sources[path] = source
                        _absorb(report, cached, source)
                        if progress:
                            progress(1)
                        continue
                    cache_keys[path] = key
                sources[path] = source
                analysis.add((path, source.text, file_settings, options.fix_level, facts or None))
                continue
        if progress:
            progress(1)


def run_source(
    data: bytes,
    path: str,
    settings,
    options: RunOptions = RunOptions(),
    *,
    analyze: AnalyzeFunction = default_analyze,
) -> FileReport:
    """Check one text from stdin; `path` is what it is reported as (and matched against)."""
    report = FileReport(path)
    try:
        source = fileio.decode_source(data)
    except (fileio.FileSkipped, fileio.FileError) as exc:
        report.error = str(exc)
        return report
    report.original = source.text
    facts = _facts(_project_index(analyze), path, source.text)
    if facts or prefilter.worth_parsing(source.text, settings):
        file_settings = _PerFileSettings(settings, options).for_path(path)
        outcome = _analyze_one((path, source.text, file_settings, options.fix_level, facts or None), analyze)
        report.parsed = True
        if isinstance(outcome, str):
            report.error = outcome
            return report
        _absorb(report, outcome, source)
    if report.needs_files:
        # One text in, one text out: stdin cannot create the files the fix needs.
        names = ", ".join(sorted(report.needs_files))
        report.warnings.append(f"the fix needs a new file ({names}) that a run on stdin does not "
                               "write; the text is left as it was: run unfake-async --fix on the "
                               "project once to create it")
        report.changed, report.fixed_source, report.needs_files = False, None, {}
        report.findings = [dataclasses.replace(f, fixed=False) for f in report.findings]
    if report.fixed_source is None:
        report.fixed_source = source.text
    try:
        report.encoded = fileio.encode_source(report.fixed_source, source)
    except fileio.FileError as exc:
        report.error = str(exc)
    return report


def _absorb(report: FileReport, result: SourceResult, source: fileio.SourceFile) -> None:
    report.findings = sorted(result.findings, key=Finding.sort_key)
    report.joint = dict(result.joint)
    if result.fixed_source is not None and result.fixed_source != source.text:
        report.changed = True
        report.original = source.text
        report.fixed_source = result.fixed_source
        report.added_imports = added_imports(source.text, result.fixed_source)
        # A cached result may name a file created since: it is reused, not made again.
        report.needs_files = {path: text for path, text in result.created_files.items()
                              if not os.path.lexists(path)}


def _write_fix(report: FileReport, source: fileio.SourceFile) -> None:
    try:
        fileio.write_source(report.path, report.fixed_source, source)
    except fileio.FileError as exc:
        report.error = f"fix not written: {exc}"
        report.changed = False
        report.findings = [dataclasses.replace(f, fixed=False) for f in report.findings]


# -- analysis, in-process or in a pool ---------------------------------------------------------


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
    return workers.Workers(jobs, functools.partial(_analyze_one, analyze=analyze))


class _Analysis:
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
            yield task[0], _analyze_one(task, analyze)
        return
    workers = min(jobs, len(tasks))
    chunksize = max(1, min(16, len(tasks) // (workers * 4)))
    with concurrent.futures.ProcessPoolExecutor(max_workers=workers) as pool:
        outcomes = pool.map(_analyze_one, tasks, [analyze] * len(tasks), chunksize=chunksize)
        for task, outcome in zip(tasks, outcomes):
            yield task[0], outcome


def _analyze_one(task, analyze: AnalyzeFunction):
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
    text = str(exc).strip().splitlines()
    detail = f": {text[0]}" if text else ""
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


# -- per-file settings -------------------------------------------------------------------------


class _PerFileSettings:
    """Settings with `ignore` extended by the per-file-ignores whose glob matches the path."""

    def __init__(self, settings, options: RunOptions) -> None:
        self.settings = settings
        self.root = os.path.realpath(options.root or os.getcwd())
        self.rules = [
            (pathspec.GitIgnoreSpec.from_lines([glob]), codes)
            for glob, codes in options.per_file_ignores
        ]
        self._memo: Dict[Tuple[str, ...], object] = {}

    def for_path(self, path: str):
        if not self.rules:
            return self.settings
        relative = _relative_to(path, self.root)
        extra: List[str] = []
        for spec, codes in self.rules:
            if spec.match_file(relative):
                extra.extend(codes)
        if not extra:
            return self.settings
        key = tuple(extra)
        if key not in self._memo:
            self._memo[key] = dataclasses.replace(
                self.settings, ignore=tuple(self.settings.ignore) + key
            )
        return self._memo[key]


def _relative_to(path: str, root: str) -> str:
    absolute = os.path.abspath(path)
    if absolute == root or absolute.startswith(root.rstrip(os.sep) + os.sep):
        return os.path.relpath(absolute, root).replace(os.sep, "/")
    return absolute.replace(os.sep, "/").lstrip("/")


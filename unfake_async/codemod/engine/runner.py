"""Running the analysis over many files: prefilter, cache, process pool, atomic fixes.

The main process reads every file (cheap) and applies the text prefilter; only files that can
match are parsed, in worker processes when there are enough of them. Fixes are written by the
main process, one file at a time, through `fileio.write_source`. Every per-file problem becomes a
`FileReport` with a one-line reason, and the run always goes on with the other files.

The analyze function is a parameter (default: `unfake_async.codemod.analyze_source`), so the
engine can be tested with a small stand-in; it must be a module-level function to reach workers.
"""
from __future__ import annotations

import dataclasses
import os
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import pathspec

from unfake_async.codemod.engine import fileio
from unfake_async.codemod.engine.cache import Cache
from unfake_async.codemod.engine.dispatch import (
    Analysis,
    AnalyzeFunction,
    analyze_one,
    default_analyze,
)
from unfake_async.codemod.engine.model import (
    CreatedFile,
    FileReport,
    Finding,
    Mode,
    RunOptions,
    RunResult,
    SourceResult,
)
from unfake_async.codemod.engine.prechecks import prefilter
from unfake_async.project_requirements import added_imports

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
    analysis = Analysis(len(files), analyze, options.jobs, workers)
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
                outcome = analyze_one((path, source.text, settings, options.fix_level, facts), analyze)
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
              analysis: Analysis, progress, project=None) -> None:
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
        outcome = analyze_one((path, source.text, file_settings, options.fix_level, facts or None), analyze)
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


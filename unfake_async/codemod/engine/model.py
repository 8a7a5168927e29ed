"""Plain data shared by the engine, the rules and the reporters: findings, a file's analysis
(`SourceResult`), and what a run over many files reports (`RunOptions`, `FileReport`, `RunResult`).

Nothing here imports libcst: the engine must be able to scan, filter and report without paying
for the parser on files that cannot match.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from unfake_async.codemod.engine import fileio
from unfake_async.project_requirements import added_imports


class FixSafety(str, enum.Enum):
    """Ruff's fix levels: a safe fix provably keeps behaviour, an unsafe one may change it."""

    SAFE = "safe"
    UNSAFE = "unsafe"
    NONE = "none"


class FixLevel(int, enum.Enum):
    """Which fixes a run applies."""

    NONE = 0  # report only
    SAFE = 1  # --fix
    UNSAFE = 2  # --fix --unsafe-fixes


@dataclass(frozen=True)
class Finding:
    """One diagnostic: a rule id, where (1-based line and column), and what can be done about it."""

    rule_id: str
    message: str
    line: int
    col: int
    end_line: int
    end_col: int
    fix: FixSafety = FixSafety.NONE
    # Why the fix is unsafe, or why there is no fix at all. None for a safe fix.
    reason: Optional[str] = None
    # Behaviour differences worth a look even when the fix is applied.
    notes: Tuple[str, ...] = ()
    # Set when the fix was applied to the returned source.
    fixed: bool = False

    @property
    def fixable(self) -> bool:
        return self.fix is not FixSafety.NONE

    def sort_key(self) -> Tuple[int, int, str]:
        return (self.line, self.col, self.rule_id)


@dataclass
class SourceResult:
    """What the codemod made of one source text."""

    findings: list = field(default_factory=list)  # list[Finding]
    # The rewritten text, or None when nothing was rewritten.
    fixed_source: Optional[str] = None
    # Files the fix needs beside the rewritten one (absolute path -> text), e.g. a module the
    # rewritten text imports; the runner creates each one that does not exist yet.
    created_files: Dict[str, str] = field(default_factory=dict)
    # Edits of several files that must be made together (a helper made `async def` in its module
    # and awaited by its callers): key -> None when this file's part is made (in check mode: can
    # be), else why not. The runner hands them to the run's project index, which decides.
    joint: Dict[str, Optional[str]] = field(default_factory=dict)


# -- what a run over many files reports (engine/runner.py) ------------------------------------


class Mode:
    CHECK = "check"  # report only
    FIX = "fix"  # write fixes
    DIFF = "diff"  # compute fixes, write nothing


@dataclass(frozen=True)
class RunOptions:
    mode: str = Mode.CHECK
    fix_level: FixLevel = FixLevel.NONE
    jobs: int = 0  # 0: all cores
    cache_dir: Optional[str] = None  # None: no cache
    max_bytes: int = fileio.DEFAULT_MAX_BYTES
    # (gitignore-style glob, rule id prefixes) pairs; globs match the path relative to `root`.
    per_file_ignores: Tuple[Tuple[str, Tuple[str, ...]], ...] = ()
    root: Optional[str] = None


@dataclass
class FileReport:
    """What happened to one file."""

    path: str
    findings: List[Finding] = field(default_factory=list)
    parsed: bool = False  # went through analyze (not prefiltered out, not cached)
    cached: bool = False
    changed: bool = False  # the fix changed the text (written in fix mode)
    original: Optional[str] = None  # kept for diffs
    fixed_source: Optional[str] = None  # kept for diffs and stdin
    skipped: Optional[str] = None  # reason the file was not processed
    error: Optional[str] = None  # one-line failure: the run exits 2
    encoded: Optional[bytes] = None  # stdin only: the output text in the input's encoding
    added_imports: Tuple[str, ...] = ()  # libraries the fix imports anew (httpx, aiohttp, ...)
    # New files the fix needs (absolute path -> text), those that did not exist when it was made.
    needs_files: Dict[str, str] = field(default_factory=dict)
    # Why a fix was computed but not applied (stdin: it needs a new file), for the user.
    warnings: List[str] = field(default_factory=list)
    # This file's parts of edits over several files (SourceResult.joint), for the project index.
    joint: Dict[str, Optional[str]] = field(default_factory=dict)

    @property
    def remaining(self) -> List[Finding]:
        return [f for f in self.findings if not f.fixed]

    @property
    def fixed_count(self) -> int:
        return sum(1 for f in self.findings if f.fixed)


@dataclass
class CreatedFile:
    """A new file that fixes need: created (fix mode) or to be created (diff mode)."""

    path: str
    text: str
    # The reports whose fixes need it.
    needed_by: List[str] = field(default_factory=list)


@dataclass
class RunResult:
    reports: List[FileReport]
    fix_level: FixLevel = FixLevel.NONE
    mode: str = Mode.CHECK
    # Paths that discovery left out for a reason / could not use, as (path, message).
    discovery_skipped: List[Tuple[str, str]] = field(default_factory=list)
    discovery_errors: List[Tuple[str, str]] = field(default_factory=list)
    # New files the fixes created (fix mode) or would create (diff mode), in the order needed.
    created: List[CreatedFile] = field(default_factory=list)

    def skipped(self) -> List[Tuple[str, str]]:
        """Every (path, reason) not processed on purpose, from discovery and from reading."""
        return list(self.discovery_skipped) + [(r.path, r.skipped) for r in self.reports if r.skipped]

    def errors(self) -> List[Tuple[str, str]]:
        """Every (path, message) that failed: any of them makes the run exit 2."""
        return list(self.discovery_errors) + [(r.path, r.error) for r in self.reports if r.error]

    def added_imports(self) -> List[str]:
        """Libraries the fixes of this run import anew, in any file, the files it creates (the
        project's client module, which imports aiohttp for its transport) included."""
        names = {name for r in self.reports if r.changed and not r.error for name in r.added_imports}
        for new in self.created:
            names.update(added_imports("", new.text))
        return sorted(names)

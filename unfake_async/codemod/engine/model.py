"""Plain data shared by the engine, the rules and the reporters.

Nothing here imports libcst: the engine must be able to scan, filter and report without paying
for the parser on files that cannot match.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Dict, Optional, Tuple


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

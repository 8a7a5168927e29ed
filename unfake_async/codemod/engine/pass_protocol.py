"""Passes: each rule family looks at the whole module and may rewrite it, one after the other.

The core migration (requests in executors, to_thread and `async def`) is one pass; rules that
need a different view of the module (a client created per call, sync helpers behind an executor,
loop hygiene) are passes of their own, in their own modules. `transform.analyze` runs them in
`PASS_ORDER`:

- every pass first *reports* on the original text, so every position refers to what the user
  wrote, and one parse and one set of metadata serve them all;
- with a fix level, the passes then rewrite in turn, each on the previous pass's output (a pass
  that makes a helper `async def` hands the core pass the `requests` calls now inside it).

A pass honours suppression comments and the select/ignore settings for its own rule ids (use
`PassContext.reportable`), and must be idempotent: run on its own output it changes nothing.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import libcst as cst
from libcst.metadata import ParentNodeProvider, PositionProvider

from unfake_async.codemod.engine import suppression
from unfake_async.codemod.engine.metadata import MetadataWrapper
from unfake_async.codemod.engine.model import Finding, FixLevel, FixSafety
from unfake_async.codemod.engine.prechecks import prefilter
from unfake_async.settings import Settings

try:  # Python 3.8+: typing.Protocol
    from typing import Protocol
except ImportError:  # pragma: no cover
    Protocol = object  # type: ignore[assignment]


@dataclass
class PassContext:
    """What a pass gets: the text, its parsed and metadata-wrapped module, the settings, the level."""

    source: str
    wrapper: MetadataWrapper
    settings: Settings
    fix_level: FixLevel
    _suppressions: Optional[suppression.Suppressions] = field(default=None, repr=False)
    # For a module parsed from a slice of `source`: the `source` line of each module line.
    line_numbers: Optional[Tuple[int, ...]] = field(default=None, repr=False)
    # Where the text comes from ("<stdin>" when it has no file): a fix may depend on the place.
    path: str = "<stdin>"

    # What the rest of the tree tells about this file (opaque here: the analysis layer's
    # `ProjectFacts`, from the runner's per-run project index), or None.
    project: Optional[object] = field(default=None, repr=False)

    @classmethod
    def parse(cls, code: str, settings: Settings, fix_level: FixLevel, *, source: Optional[str] = None,
              line_numbers: Optional[Tuple[int, ...]] = None, path: str = "<stdin>",
              project: Optional[object] = None) -> "PassContext":
        """Parse `code`; `source` is the text the user wrote when `code` is a slice of its lines
        (`local_slice`), `line_numbers` where each came from: suppression comments and gates
        read the full text, and findings are positioned on it."""
        # The module was parsed here and nobody else holds it: the wrapper's defensive deep copy
        # (70% of a parse's cost again) buys nothing.
        wrapper = MetadataWrapper(cst.parse_module(code), unsafe_skip_copy=True)
        return cls(code if source is None else source, wrapper, settings, fix_level,
                   line_numbers=line_numbers, path=path, project=project)

    @property
    def module(self) -> cst.Module:
        return self.wrapper.module

    @property
    def suppressions(self) -> suppression.Suppressions:
        if self._suppressions is None:
            self._suppressions = suppression.Suppressions(self.source)
        return self._suppressions

    def reportable(self, rule_id: str, node: cst.CSTNode) -> bool:
        """The rule is enabled and no suppression comment covers `node`'s line or its statement's
        first line (ruff reads `# noqa` on the line a diagnostic starts on; we also accept the
        statement's first line for calls spread over several lines)."""
        if not self.settings.rule_enabled(rule_id):
            return False
        positions = self.wrapper.resolve(PositionProvider)
        parents = self.wrapper.resolve(ParentNodeProvider)
        statement = node
        while statement is not None and not isinstance(
            statement, (cst.SimpleStatementLine, cst.BaseCompoundStatement)
        ):
            statement = parents.get(statement)
        lines = [positions[node].start.line]
        if statement is not None:
            lines.append(positions[statement].start.line)
        return not self.suppressions.suppressed(rule_id, *map(self.source_line, lines))

    def source_line(self, line: int) -> int:
        """The line of `source` that line `line` of the parsed module is."""
        return line if self.line_numbers is None else self.line_numbers[line - 1]

    def wants_fix(self, safety: FixSafety) -> bool:
        """Whether a fix of this safety is applied at this run's level."""
        if safety is FixSafety.NONE or self.fix_level is FixLevel.NONE:
            return False
        return safety is FixSafety.SAFE or self.fix_level is FixLevel.UNSAFE

    def finding(self, rule_id: str, message: str, node: cst.CSTNode, *, fix: FixSafety,
                reason: Optional[str] = None, notes: Sequence[str] = (), fixed: bool = False) -> Finding:
        """A Finding positioned on `node` (1-based line and column, like every reporter expects)."""
        position = self.wrapper.resolve(PositionProvider)[node]
        return Finding(
            rule_id=rule_id,
            message=message,
            line=self.source_line(position.start.line),
            col=position.start.column + 1,
            end_line=self.source_line(position.end.line),
            end_col=position.end.column + 1,
            fix=fix,
            reason=reason,
            notes=tuple(dict.fromkeys(notes)),
            fixed=fixed,
        )


@dataclass
class PassOutcome:
    findings: List[Finding] = field(default_factory=list)
    # The rewritten text when the pass changed something at the context's fix level, else None.
    fixed_source: Optional[str] = None
    # Files the rewritten text needs beside it (absolute path -> text), see SourceResult.
    created_files: Dict[str, str] = field(default_factory=dict)
    # Findings of later passes this pass's unsafe fix makes fixable, as (rule id, message, reason):
    # a later pass reports them on the original text as having no fix (`mark_unlocked`).
    unlocks: List[Tuple[str, str, str]] = field(default_factory=list)
    # This file's parts of edits over several files (see SourceResult.joint).
    joint: Dict[str, Optional[str]] = field(default_factory=dict)


class ModulePass(Protocol):
    """A rule family run over the whole module."""

    # The rule ids this pass can report; the pass is skipped when none of them is enabled.
    rule_ids: Tuple[str, ...]

    def run(self, context: PassContext) -> PassOutcome:  # pragma: no cover - protocol
        ...


@dataclass
class LazyPass:
    """A pass by name, imported on first use: each pass module pulls in libcst machinery (the
    core's `libcst.matchers` alone costs 0.17 s), and most files need one pass or none."""

    name: str
    module: str
    _instance: Optional["ModulePass"] = field(default=None, repr=False)

    def load(self) -> "ModulePass":
        if self._instance is None:
            import importlib

            self._instance = getattr(importlib.import_module(self.module), self.name)()
        return self._instance


_PASS_MODULES = {
    "SyncHelperPass": "unfake_async.codemod.passes.sync_helpers",
    "SyncClientsPass": "unfake_async.codemod.passes.sync_clients",
    "PerCallClientPass": "unfake_async.codemod.passes.per_call_client",
    "StreamingPass": "unfake_async.codemod.passes.streaming",
    "CorePass": "unfake_async.codemod.passes.core",
    "LoopHygienePass": "unfake_async.codemod.passes.loop_hygiene",
}
# The order is prefilter.PASS_NAMES: the prefilter asks each pass's gate without importing it.
_PASS_ORDER = tuple((name, _PASS_MODULES[name]) for name in prefilter.PASS_NAMES)
_LAZY_PASSES = [LazyPass(name, module) for name, module in _PASS_ORDER]


def pass_order() -> List[LazyPass]:
    """Every pass, in the order they rewrite, not yet imported (`LazyPass.load`)."""
    return list(_LAZY_PASSES)


def enabled(module_pass: "ModulePass", settings: Settings) -> bool:
    return any(settings.rule_enabled(rule) for rule in module_pass.rule_ids)


def mark_fixed(originals: List[Finding], fix_run: List[Finding]) -> List[Finding]:
    """Carry the `fixed` flags of a fix run on rewritten text back to the findings on the original.

    Positions differ between the two texts, so findings are matched by rule id and message, in
    order: the n-th fixed `UFA003 requests.get ...` of the fix run marks the n-th such finding.
    """
    fixed_counts: Dict[Tuple[str, str], int] = {}
    for finding in fix_run:
        if finding.fixed:
            key = (finding.rule_id, finding.message)
            fixed_counts[key] = fixed_counts.get(key, 0) + 1
    marked = []
    for finding in originals:
        key = (finding.rule_id, finding.message)
        if fixed_counts.get(key, 0) > 0 and not finding.fixed:
            fixed_counts[key] -= 1
            finding = _with_fixed(finding)
        marked.append(finding)
    return marked


def mark_unlocked(findings: List[Finding], unlocks: List[Tuple[str, str, str]]) -> List[Finding]:
    """Findings without a fix on the original text that an earlier pass's unsafe fix makes
    fixable (`PassOutcome.unlocks`), labelled as what `--unsafe-fixes` does to them; matched by
    rule id and message, in order, as `mark_fixed` does."""
    from dataclasses import replace

    pending: Dict[Tuple[str, str], List[str]] = {}
    for rule_id, message, reason in unlocks:
        pending.setdefault((rule_id, message), []).append(reason)
    labelled = []
    for finding in findings:
        reasons = pending.get((finding.rule_id, finding.message))
        if finding.fix is FixSafety.NONE and reasons:
            finding = replace(finding, fix=FixSafety.UNSAFE, reason=reasons.pop(0))
        labelled.append(finding)
    return labelled


def _with_fixed(finding: Finding) -> Finding:
    from dataclasses import replace

    return replace(finding, fixed=True)

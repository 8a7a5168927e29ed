"""One source text in, findings and (optionally) the migrated text out, over every pass.

See `pass_protocol.py` for how passes share the work: all report on the original text (one parse, one
set of metadata), then, with a fix level, rewrite in turn.
"""
from __future__ import annotations

import ast
import gc
import re
from typing import Dict, List, Optional, Tuple

import libcst

from unfake_async.codemod.engine import suppression
from unfake_async.codemod.engine.local_slice import function_local_slice
from unfake_async.codemod.engine.metadata import read_only_visits
from unfake_async.codemod.engine.model import Finding, FixLevel, SourceResult
from unfake_async.codemod.engine.pass_protocol import (
    PassContext,
    PassOutcome,
    enabled,
    mark_fixed,
    mark_unlocked,
    pass_order,
)
from unfake_async.codemod.engine.prechecks import coroutine_reach
from unfake_async.codemod.engine.prechecks.name_references import (
    ModuleIndex,
    NameTargets,
    may_reference,
)
from unfake_async.codemod.engine.prechecks.prefilter import pass_may_apply as may_apply
from unfake_async.settings import DEFAULT_SETTINGS, Settings


@read_only_visits()  # LibCST's walks without rebuilding each node, for every visitor of the analysis
def analyze(source: str, *, path: str = "<stdin>", settings: Optional[Settings] = None,
            fix_level: FixLevel = FixLevel.NONE, shortcuts: bool = True,
            project: Optional[object] = None) -> SourceResult:
    """`shortcuts=False` turns off what Python's `ast` lets us skip (passes without a candidate
    call, the function-local slice), for tests that compare with the whole analysis.
    `project`: what the rest of the tree tells about this file (opaque; see `PassContext`); the
    passes that read it (`uses_project`) are not skipped on their gate words when it is given."""
    settings = settings or DEFAULT_SETTINGS
    if suppression.skip_file(source):
        return SourceResult()
    passes = pass_order()
    trees = _Trees(enabled=shortcuts)
    # Asked once of the original text (each answer may walk its `ast`); again only of rewrites.
    on_source = [lazy for lazy in passes if _applies(lazy, source, settings, trees, project)]
    if shortcuts and not on_source:
        return SourceResult()  # no pass can report here: nothing to parse
    original = None
    if fix_level is FixLevel.NONE and shortcuts:
        original = _sliced_context(source, settings, [lazy.load() for lazy in on_source], trees)
    trees.release(source)  # asked no more; for 10,000 lines its `ast` and index hold 20 MB beside LibCST's
    if original is None:
        original = PassContext.parse(source, settings, fix_level, path=path, project=project)
    code = source
    findings: List[Finding] = []
    created_files: Dict[str, str] = {}
    unlocks: List[Tuple[str, str, str]] = []
    joint: Dict[str, Optional[str]] = {}
    for lazy in passes:
        if not (lazy in on_source if code == source else _applies(lazy, code, settings, trees, project)):
            continue
        module_pass = lazy.load()
        if code == source:
            # Nothing rewritten yet: report and fix in one go on the shared metadata.
            outcome = module_pass.run(original)
            findings += outcome.findings
            unlocks += outcome.unlocks
            joint.update(outcome.joint)
        else:
            # Findings are positioned on the text the user wrote; the fix runs on the current one.
            reported = PassOutcome()
            if may_apply(lazy.name, source, settings) or lazy in on_source:
                reported = module_pass.run(PassContext(source, original.wrapper, settings, FixLevel.NONE,
                                                       original.suppressions, path=path, project=project))
            outcome = module_pass.run(PassContext.parse(code, settings, fix_level, path=path, project=project))
            findings += mark_fixed(reported.findings, outcome.findings)
        if outcome.fixed_source is not None:
            code = outcome.fixed_source
            created_files.update(outcome.created_files)
    if unlocks:
        findings = mark_unlocked(findings, unlocks)
    findings.sort(key=Finding.sort_key)
    if code == source:
        return SourceResult(findings=findings, joint=joint)
    # Imported here: a check never lays out a rewrite, and the layout imports libcst.matchers
    # (0.17 s), which analysis workers then import while idle (`workers.py`).
    from unfake_async.codemod.engine import layout

    # The layout reads the original's module-level statements (`import_view`), not the rest of
    # its tree nor its metadata (positions, scopes and parents of every node): they go before
    # the layout parses the rewrite (a 2,000-site diff's peak: 372 -> 335 MB for the metadata,
    # 343 -> 315 MB for the tree with the collection below).
    view = layout.import_view(original.module) if original.line_numbers is None else None
    original = None
    if len(source) > _COLLECT_ABOVE:
        # The metadata's scopes are cyclic: without a collection now, the original tree they
        # hold lives on beside the rewrite's until the collector next runs a full pass.
        gc.collect()
    code = layout.finish(source, code, line_length=settings.line_length, path=path,
                         original_module=view)
    return SourceResult(findings=findings, fixed_source=code if code != source else None,
                        created_files=created_files, joint=joint)


# Characters (about 2,000 lines): below, the original tree is small and a collection costs
# more than the memory it gives back.
_COLLECT_ABOVE = 100_000


class _Trees:
    """Python's `ast` of each text the passes see, parsed once (None where it does not parse:
    newer syntax than this interpreter's, or an error LibCST will report)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._trees: Dict[str, Optional[ast.Module]] = {}
        self._indexes: Dict[str, Optional[ModuleIndex]] = {}
        self._reach: Dict[tuple, bool] = {}

    def get(self, text: str) -> Optional[ast.Module]:
        if text not in self._trees:
            try:
                self._trees[text] = ast.parse(text)
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                self._trees[text] = None
        return self._trees[text]

    def release(self, text: str) -> None:
        self._trees.pop(text, None)
        self._indexes.pop(text, None)
        self._reach = {key: value for key, value in self._reach.items() if key[0] != text}

    def reaches(self, text: str, reach: coroutine_reach.Reach, project: Optional[object]) -> bool:
        """`coroutine_reach.may_reach` of `text`, with what `project` adds, asked once."""
        seeds_of = getattr(project, "reach_seeds", None) if project else None
        seeds = seeds_of() if seeds_of is not None else None
        key = (text, reach, seeds)
        if key not in self._reach:
            self._reach[key] = coroutine_reach.may_reach(self.get(text), reach, seeds)
        return self._reach[key]

    def index(self, text: str) -> Optional[ModuleIndex]:
        if text not in self._indexes:
            tree = self.get(text)
            self._indexes[text] = None if tree is None else ModuleIndex(tree)
        return self._indexes[text]


def _applies(lazy, text: str, settings: Settings, trees: _Trees, project: Optional[object] = None) -> bool:
    """The pass's words are in `text`, one of its rules is on, and, from one walk of the text's
    `ast` (`name_references.ModuleIndex`): where the pass names the names its findings resolve to
    (`required_names`), the module may refer to one; where it names the calls it reports
    (`required_calls`), a coroutine may make one; where it needs some call somewhere
    (`required_calls_anywhere`), the module may make one. Where this interpreter's `ast` rejects
    the text, a reference found by `tokenize` stands in for each. A pass that reads the project
    (`uses_project`) applies whenever the project tells this file something. Last, where the
    pass names what its findings need a coroutine to reach (`coroutine_reach`), one can."""
    if project and getattr(lazy.load(), "uses_project", False):
        return enabled(lazy.load(), settings) and _reached(lazy.load(), text, trees, project)
    # The text gate first: it spares importing the pass (`LazyPass`), which most files never need.
    if not may_apply(lazy.name, text, settings) or not enabled(lazy.load(), settings):
        return False
    if not trees.enabled:
        return True
    module_pass = lazy.load()
    questions = (
        (getattr(module_pass, "required_names", None), None),
        (getattr(module_pass, "required_calls", None), True),
        (getattr(module_pass, "required_calls_anywhere", None), False),
    )
    for names, coroutine_only in questions:
        if not names:
            continue
        targets = _targets(names)
        if not any(root in text for root in targets.roots):
            return False  # no import can bind a target without naming its package
        if coroutine_only is not None and not _may_call(text, names):
            return False
        index = trees.index(text)
        if index is None:
            if not may_reference(text, None, targets):
                return False
        elif not (index.may_reference(targets) if coroutine_only is None
                  else index.calls_any(targets.names, coroutine_only)):
            return False
    return _reached(module_pass, text, trees, None)


def _reached(module_pass, text: str, trees: _Trees, project: Optional[object]) -> bool:
    reach = getattr(module_pass, "coroutine_reach", None)
    if reach is None or not trees.enabled or not coroutine_reach.ENABLED:
        return True
    if getattr(project, "joint_helpers", None):
        # The file takes part in a change the run decided across modules (UFA008: its helper
        # becomes `async def` though no coroutine of its own reaches it): it must be parsed.
        return True
    return trees.reaches(text, reach, project)


_TARGETS: Dict[frozenset, NameTargets] = {}
_CALL_WORDS: Dict[frozenset, "re.Pattern[str]"] = {}


def _may_call(text: str, names: frozenset) -> bool:
    """A call can resolve to one of `names` only where the text holds the last part of one of
    them before a `(` (or a comment, a line continuation, an `as` that renames it on import):
    asked before `ast` parses the text, which costs 30 times more (Home Assistant: 42 of the
    198 files the prefilter lets through name `ClientSession` or `sleep` without calling it)."""
    if names not in _CALL_WORDS:
        words = sorted({name.rpartition(".")[2] for name in names})
        _CALL_WORDS[names] = re.compile(r"\b(?:%s)\s*(?:[(#\\]|as\b)" % "|".join(map(re.escape, words)))
    return _CALL_WORDS[names].search(text) is not None


def _targets(names: frozenset) -> NameTargets:
    if names not in _TARGETS:
        _TARGETS[names] = NameTargets(names)
    return _TARGETS[names]


def _sliced_context(source: str, settings: Settings, applicable, trees: _Trees) -> Optional[PassContext]:
    """A context on a function-local slice of `source` (see `local_slice`), when every pass that
    can fire here (`applicable`) declares the calls it is about (`local_calls`); else None."""
    if not applicable or not all(getattr(p, "local_calls", None) for p in applicable):
        return None
    calls = frozenset().union(*(p.local_calls for p in applicable))
    kept = frozenset().union(*(getattr(p, "slice_kept_calls", frozenset()) for p in applicable))
    sliced = function_local_slice(source, calls, trees.get(source), kept)
    if sliced is None:
        return None
    try:
        return PassContext.parse(sliced.text, settings, FixLevel.NONE, source=source,
                                 line_numbers=sliced.line_numbers)
    except libcst.ParserSyntaxError:
        return None  # Python's parser took it, LibCST's does not: the whole module says why

"""One source text in, findings and (optionally) the migrated text out, over every pass.

See `pass_protocol.py` for how passes share the work: all report on the original text (one parse, one
set of metadata), then, with a fix level, rewrite in turn.
"""
from __future__ import annotations

import ast
from typing import Dict, List, Optional

import libcst

from unfake_async.codemod.engine import suppression
from unfake_async.codemod.engine.local_slice import function_local_slice, holds_coroutine_call
from unfake_async.codemod.engine.model import Finding, FixLevel, SourceResult
from unfake_async.codemod.engine.pass_protocol import (
    PassContext,
    PassOutcome,
    enabled,
    mark_fixed,
    pass_order,
)
from unfake_async.codemod.engine.prefilter import pass_may_apply as may_apply
from unfake_async.settings import DEFAULT_SETTINGS, Settings


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
    if original is None:
        original = PassContext.parse(source, settings, fix_level, project=project)
    code = source
    findings: List[Finding] = []
    for lazy in passes:
        if not (lazy in on_source if code == source else _applies(lazy, code, settings, trees, project)):
            continue
        module_pass = lazy.load()
        if code == source:
            # Nothing rewritten yet: report and fix in one go on the shared metadata.
            outcome = module_pass.run(original)
            findings += outcome.findings
        else:
            # Findings are positioned on the text the user wrote; the fix runs on the current one.
            reported = PassOutcome()
            if may_apply(lazy.name, source, settings) or lazy in on_source:
                reported = module_pass.run(PassContext(source, original.wrapper, settings, FixLevel.NONE,
                                                       original.suppressions, project=project))
            outcome = module_pass.run(PassContext.parse(code, settings, fix_level, project=project))
            findings += mark_fixed(reported.findings, outcome.findings)
        if outcome.fixed_source is not None:
            code = outcome.fixed_source
    findings.sort(key=Finding.sort_key)
    return SourceResult(findings=findings, fixed_source=code if code != source else None)


class _Trees:
    """Python's `ast` of each text the passes see, parsed once (None where it does not parse:
    newer syntax than this interpreter's, or an error LibCST will report)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._trees: Dict[str, Optional[ast.Module]] = {}

    def get(self, text: str) -> Optional[ast.Module]:
        if text not in self._trees:
            try:
                self._trees[text] = ast.parse(text)
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                self._trees[text] = None
        return self._trees[text]


def _applies(lazy, text: str, settings: Settings, trees: _Trees, project: Optional[object] = None) -> bool:
    """The pass's words are in `text` (or the project tells this file something and the pass
    reads it), one of its rules is on, and, where the pass names the calls it needs
    (`required_calls`), `ast` finds one run by a coroutine."""
    if project and getattr(lazy.load(), "uses_project", False):
        return enabled(lazy.load(), settings)
    if not may_apply(lazy.name, text, settings) or not enabled(lazy.load(), settings):
        return False
    required = getattr(lazy.load(), "required_calls", None)
    if not trees.enabled or not required:
        return True
    tree = trees.get(text)
    return tree is None or holds_coroutine_call(tree, required)


def _sliced_context(source: str, settings: Settings, applicable, trees: _Trees) -> Optional[PassContext]:
    """A context on a function-local slice of `source` (see `local_slice`), when every pass that
    can fire here (`applicable`) declares the calls it is about (`local_calls`); else None."""
    if not applicable or not all(getattr(p, "local_calls", None) for p in applicable):
        return None
    calls = frozenset().union(*(p.local_calls for p in applicable))
    sliced = function_local_slice(source, calls, trees.get(source))
    if sliced is None:
        return None
    try:
        return PassContext.parse(sliced.text, settings, FixLevel.NONE, source=source,
                                 line_numbers=sliced.line_numbers)
    except libcst.ParserSyntaxError:
        return None  # Python's parser took it, LibCST's does not: the whole module says why

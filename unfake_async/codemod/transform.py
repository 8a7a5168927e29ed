"""One source text in, findings and (optionally) the migrated text out, over every pass.

See `passes.py` for how passes share the work: all report on the original text (one parse, one
set of metadata), then, with a fix level, rewrite in turn.
"""
from __future__ import annotations

from typing import List, Optional

from unfake_async.codemod import suppression
from unfake_async.codemod.model import Finding, FixLevel, SourceResult
from unfake_async.codemod.passes import PassContext, PassOutcome, enabled, mark_fixed, may_apply, pass_order
from unfake_async.settings import DEFAULT_SETTINGS, Settings


def analyze(source: str, *, path: str = "<stdin>", settings: Optional[Settings] = None,
            fix_level: FixLevel = FixLevel.NONE, allow_slice: bool = True) -> SourceResult:
    """`allow_slice=False` analyses the whole module even where a slice would do (for tests
    that compare the two)."""
    settings = settings or DEFAULT_SETTINGS
    if suppression.skip_file(source):
        return SourceResult()
    passes = pass_order()
    original = None
    if fix_level is FixLevel.NONE and allow_slice:
        original = _sliced_context(source, settings, passes)
    if original is None:
        original = PassContext.parse(source, settings, fix_level)
    code = source
    findings: List[Finding] = []
    for lazy in passes:
        if not may_apply(lazy.name, code, settings) or not enabled(lazy.load(), settings):
            continue
        module_pass = lazy.load()
        if code == source:
            # Nothing rewritten yet: report and fix in one go on the shared metadata.
            outcome = module_pass.run(original)
            findings += outcome.findings
        else:
            # Findings are positioned on the text the user wrote; the fix runs on the current one.
            reported = PassOutcome()
            if may_apply(lazy.name, source, settings):
                reported = module_pass.run(PassContext(source, original.wrapper, settings, FixLevel.NONE,
                                                       original.suppressions))
            outcome = module_pass.run(PassContext.parse(code, settings, fix_level))
            findings += mark_fixed(reported.findings, outcome.findings)
        if outcome.fixed_source is not None:
            code = outcome.fixed_source
    findings.sort(key=Finding.sort_key)
    return SourceResult(findings=findings, fixed_source=code if code != source else None)


def _sliced_context(source: str, settings: Settings, passes) -> Optional[PassContext]:
    """A context on a function-local slice of `source` (see `local_slice`), when every pass that
    can fire here declares the calls it is about (`local_calls`); else None."""
    applicable = [lazy.load() for lazy in passes
                  if may_apply(lazy.name, source, settings) and enabled(lazy.load(), settings)]
    if not applicable or not all(getattr(p, "local_calls", None) for p in applicable):
        return None
    from unfake_async.codemod.local_slice import function_local_slice

    calls = frozenset().union(*(p.local_calls for p in applicable))
    sliced = function_local_slice(source, calls)
    if sliced is None:
        return None
    import libcst

    try:
        return PassContext.parse(sliced.text, settings, FixLevel.NONE, source=source,
                                 line_numbers=sliced.line_numbers)
    except libcst.ParserSyntaxError:
        return None  # Python's parser took it, LibCST's does not: the whole module says why

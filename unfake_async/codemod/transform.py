"""One source text in, findings and (optionally) the migrated text out, over every pass.

See `passes.py` for how passes share the work: all report on the original text (one parse, one
set of metadata), then, with a fix level, rewrite in turn.
"""
from __future__ import annotations

from typing import List, Optional

from unfake_async.codemod import suppression
from unfake_async.codemod.model import Finding, FixLevel, SourceResult
from unfake_async.codemod.passes import PassContext, PassOutcome, mark_fixed, may_apply, pass_order
from unfake_async.settings import DEFAULT_SETTINGS, Settings


def analyze(source: str, *, path: str = "<stdin>", settings: Optional[Settings] = None,
            fix_level: FixLevel = FixLevel.NONE) -> SourceResult:
    settings = settings or DEFAULT_SETTINGS
    if suppression.skip_file(source):
        return SourceResult()
    passes = [p for p in pass_order() if any(settings.rule_enabled(rule) for rule in p.rule_ids)]
    original = PassContext.parse(source, settings, fix_level)
    code = source
    findings: List[Finding] = []
    for module_pass in passes:
        if not may_apply(module_pass, code, settings):
            continue
        if code == source:
            # Nothing rewritten yet: report and fix in one go on the shared metadata.
            outcome = module_pass.run(original)
            findings += outcome.findings
        else:
            # Findings are positioned on the text the user wrote; the fix runs on the current one.
            reported = PassOutcome()
            if may_apply(module_pass, source, settings):
                reported = module_pass.run(PassContext(source, original.wrapper, settings, FixLevel.NONE,
                                                       original.suppressions))
            outcome = module_pass.run(PassContext.parse(code, settings, fix_level))
            findings += mark_fixed(reported.findings, outcome.findings)
        if outcome.fixed_source is not None:
            code = outcome.fixed_source
    findings.sort(key=Finding.sort_key)
    return SourceResult(findings=findings, fixed_source=code if code != source else None)

"""Whether the core pass migrates every requests call of a helper once it is `async def`."""
from __future__ import annotations

import ast
from typing import List, Optional, Sequence, Tuple

import libcst as cst
import libcst.matchers as m
from libcst.metadata import PositionProvider

from unfake_async.codemod.analysis.async_scope import ModuleView
from unfake_async.codemod.engine.model import Finding, FixLevel, FixSafety
from unfake_async.codemod.engine.pass_protocol import PassContext
from unfake_async.codemod.passes.sync_helpers.model import Helper
from unfake_async.codemod.passes.sync_helpers.rewrite import rewrite
from unfake_async.codemod.passes.sync_helpers.trial_slice import span_definitions, trial_slice

Span = Optional[Tuple[int, int]]


def check_core_migrates(helpers: List[Helper], view: ModuleView, context: PassContext, *,
                        outside: bool = True) -> List[Finding]:
    """Try the rewrite and run the core pass on it: every requests call in each helper must be a
    finding the core can fix, or the helper stays sync (an async helper that still calls requests
    would block the event loop, which is worse than the thread it had).

    The verdict comes from the core's run on the part of the rewrite that decides it
    (`trial_slice`). Returns, when every helper migrates and `outside` is asked for, the core's
    fixable findings outside the helpers, which needs the whole rewrite: what it makes fixable
    elsewhere (the `self.session.get` beside a login helper, once the session is used by async
    code only). Otherwise [] (the caller reads them only when every helper migrates)."""
    if not context.settings.rule_enabled("UFA003"):
        for helper in helpers:
            helper.reason = "UFA003 is disabled, so the requests calls in the helper would not be migrated"
        return []
    candidate = rewrite(view, helpers, clean=False)
    sliced = sliced_trial(candidate, helpers, context)
    if sliced is not None:
        _judge(helpers, *sliced)
        if not outside or any(helper.reason is not None for helper in helpers):
            return []
    return _judge(helpers, *whole_trial(candidate, helpers, context))


def sliced_trial(candidate: str, helpers: Sequence[Helper], context: PassContext
                 ) -> Optional[Tuple[List[Span], List[Finding]]]:
    """The helpers' spans in `candidate` (the rewrite) and the core's findings on the part of it
    that holds them, positioned on `candidate`; None where it cannot be cut (`trial_slice`)."""
    try:
        tree = ast.parse(candidate)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None  # newer syntax than this interpreter's: LibCST's parse of the whole decides
    definitions = span_definitions(tree, helpers)
    spans = [(d.lineno, d.end_lineno) if d is not None else None for d in definitions]
    targets = list({id(d): d for d in definitions if d is not None}.values())
    if not targets:
        return spans, []  # no helper has lines of its own: no finding can be inside one
    cut = trial_slice(candidate, tree, targets)
    if cut is None:
        return None
    try:
        trial = PassContext.parse(cut.text, context.settings, FixLevel.NONE, source=candidate,
                                  line_numbers=cut.line_numbers)
    except cst.ParserSyntaxError:
        return None
    return spans, _core_findings(trial)


def whole_trial(candidate: str, helpers: Sequence[Helper], context: PassContext
                ) -> Tuple[List[Span], List[Finding]]:
    """The helpers' spans in `candidate` and the core's findings on all of it."""
    trial = PassContext.parse(candidate, context.settings, FixLevel.NONE)
    findings = _core_findings(trial)
    positions = trial.wrapper.resolve(PositionProvider)
    return [_span_in(trial.module, helper, positions) for helper in helpers], findings


def _core_findings(trial: PassContext) -> List[Finding]:
    # At no fix level: the verdict reads each finding's fix safety and reason, which the core
    # decides before it rewrites anything, and its rewrite would be thrown away.
    from unfake_async.codemod.passes.core import CorePass

    return CorePass().run(trial).findings


def _judge(helpers: Sequence[Helper], spans: Sequence[Span], findings: List[Finding]) -> List[Finding]:
    """Sets the reason of each helper the core cannot migrate; returns the fixable findings
    outside every helper."""
    outside = [f for f in findings if f.fixable]
    for helper, span in zip(helpers, spans):
        inside = [f for f in findings if span and span[0] <= f.line <= span[1]]
        outside = [f for f in outside if not (span and span[0] <= f.line <= span[1])]
        unfixable = [f for f in inside if f.fix is FixSafety.NONE]
        if unfixable:
            helper.reason = f"the core cannot migrate a requests call in the helper ({unfixable[0].reason})"
        elif len(inside) < helper.requests_calls:
            helper.reason = "a requests call in the helper is suppressed or not migratable"
    return outside


def _span_in(module: cst.Module, helper: Helper, positions) -> Span:
    """First and last line of the (now async) helper in the rewritten module (the same choice
    as `span_definitions`, on LibCST's tree: it parses what this interpreter's `ast` may not)."""
    name = helper.definition.name.value
    if helper.class_def is not None:
        classes = [s for s in module.body if isinstance(s, cst.ClassDef) and s.name.value == helper.class_def.name.value]
        found = [s for c in classes for s in c.body.body if isinstance(s, cst.FunctionDef) and s.name.value == name]
    else:
        found = [d for d in m.findall(module, m.FunctionDef(name=m.Name(name))) if isinstance(d, cst.FunctionDef)]
    found = [d for d in found if d.asynchronous is not None]
    if len(found) != 1:
        return None
    position = positions[found[0]]
    return position.start.line, position.end.line

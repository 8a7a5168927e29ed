"""Whether the core pass migrates every requests call of a helper once it is `async def`."""
from __future__ import annotations

from typing import List, Optional, Tuple

import libcst as cst
import libcst.matchers as m
from libcst.metadata import PositionProvider

from unfake_async.codemod.analysis.async_scope import ModuleView
from unfake_async.codemod.engine.model import Finding, FixLevel, FixSafety
from unfake_async.codemod.engine.pass_protocol import PassContext
from unfake_async.codemod.passes.sync_helpers.model import Helper
from unfake_async.codemod.passes.sync_helpers.rewrite import rewrite


def check_core_migrates(helpers: List[Helper], view: ModuleView, context: PassContext) -> List[Finding]:
    """Try the rewrite and run the core pass on it: every requests call in each helper must be a
    finding the core can fix, or the helper stays sync (an async helper that still calls requests
    would block the event loop, which is worse than the thread it had).

    Returns the core's fixable findings outside the helpers: what the rewrite makes fixable
    elsewhere (the `self.session.get` beside a login helper, once the session is used by async
    code only)."""
    from unfake_async.codemod.passes.core import CorePass

    if not context.settings.rule_enabled("UFA003"):
        for helper in helpers:
            helper.reason = "UFA003 is disabled, so the requests calls in the helper would not be migrated"
        return []
    candidate = rewrite(view, helpers, clean=False)
    trial = PassContext.parse(candidate, context.settings, FixLevel.UNSAFE)
    outcome = CorePass().run(trial)
    positions = trial.wrapper.resolve(PositionProvider)
    outside = [f for f in outcome.findings if f.fixable]
    for helper in helpers:
        span = _span_in(trial.module, helper, positions)
        inside = [f for f in outcome.findings if span and span[0] <= f.line <= span[1]]
        outside = [f for f in outside if not (span and span[0] <= f.line <= span[1])]
        unfixable = [f for f in inside if f.fix is FixSafety.NONE]
        if unfixable:
            helper.reason = f"the core cannot migrate a requests call in the helper ({unfixable[0].reason})"
        elif len(inside) < helper.requests_calls:
            helper.reason = "a requests call in the helper is suppressed or not migratable"
    return outside


def _span_in(module: cst.Module, helper: Helper, positions) -> Optional[Tuple[int, int]]:
    """First and last line of the (now async) helper in the rewritten module."""
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

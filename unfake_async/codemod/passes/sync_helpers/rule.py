"""The UFA008 pass: finds the helpers, decides, reports, rewrites (see the package's docstring)."""
from __future__ import annotations

from typing import List, Set, Tuple

import libcst as cst

from unfake_async.codemod.analysis import names
from unfake_async.codemod.analysis.async_scope import ModuleView
from unfake_async.codemod.engine.model import Finding, FixSafety
from unfake_async.codemod.engine.pass_protocol import PassContext, PassOutcome
from unfake_async.codemod.passes.sync_helpers.finder import Finder
from unfake_async.codemod.passes.sync_helpers.model import MESSAGES, RULE_ID, UNSAFE, Helper
from unfake_async.codemod.passes.sync_helpers.references import check_helper
from unfake_async.codemod.passes.sync_helpers.rewrite import rewrite
from unfake_async.codemod.passes.sync_helpers.trial import check_core_migrates


class SyncHelperPass:
    """Rule UFA008. Runs before the core pass, which migrates the helper's requests calls."""

    rule_ids = (RULE_ID,)
    # A helper may call requests' functions or a Session's methods (a login helper on the class's
    # Session, issue 17): the module must refer to requests, nothing narrower.
    required_names = names.REQUESTS_REFERENCES
    # Reads `PassContext.project`: helpers of other modules (reported, not rewritten).
    uses_project = True

    def run(self, context: PassContext) -> PassOutcome:
        if "requests" not in context.source and not context.project:
            return PassOutcome()  # a helper can only call requests if the module imports it
        view = ModuleView(context.wrapper, context.project)
        finder = Finder(view, context)
        helpers = finder.helpers()
        remote_found = [
            context.finding(RULE_ID, MESSAGES[use.kind].format(helper=remote.label, via=use.via), use.call,
                            fix=FixSafety.NONE, reason=remote.reason)
            for use, remote in finder.remote if context.reportable(RULE_ID, use.call)
        ]
        if not helpers:
            return PassOutcome(remote_found)
        for helper in helpers:
            check_helper(helper, finder)
        open_helpers = [h for h in helpers if h.reason is None]
        unlocked = check_core_migrates(open_helpers, view, context) if open_helpers else []
        fixable = [h for h in helpers if h.reason is None and all(context.reportable(RULE_ID, use.call) for use in h.uses)]
        chosen = fixable if context.wants_fix(FixSafety.UNSAFE) else []
        findings = remote_found
        for helper in helpers:
            safety = FixSafety.NONE if helper.reason else FixSafety.UNSAFE
            for use in helper.uses:
                if not context.reportable(RULE_ID, use.call):
                    continue
                message = MESSAGES[use.kind].format(helper=helper.label, via=use.via)
                findings.append(context.finding(RULE_ID, message, use.call, fix=safety,
                                                reason=helper.reason or UNSAFE, fixed=helper in chosen))
        # What the trial made fixable elsewhere holds only if it is the edit --unsafe-fixes makes.
        unlocks = _unlocks(unlocked, fixable) if fixable and fixable == open_helpers else []
        if not chosen:
            return PassOutcome(findings, unlocks=unlocks)
        return PassOutcome(findings, rewrite(view, chosen), unlocks=unlocks)


def _unlocks(unlocked: List[Finding], helpers: List[Helper]) -> List[Tuple[str, str, str]]:
    labels = ", ".join(f"`{h.label}`" for h in helpers)
    return [(f.rule_id, f.message, f"fixed once {labels} becomes `async def` (UFA008, an unsafe fix)"
             + (f"; {f.reason}" if f.reason else "")) for f in unlocked]


def migratable_offloads(context: PassContext) -> Set[cst.Call]:
    """The offload calls this pass rewrites at the unsafe level (for UFA009, which leaves the
    loop getters of these calls alone: the rewrite removes them)."""
    if not context.settings.rule_enabled(RULE_ID) or "requests" not in context.source:
        return set()
    view = ModuleView(context.wrapper, context.project)
    finder = Finder(view, context)
    helpers = finder.helpers()
    for helper in helpers:
        check_helper(helper, finder)
    open_helpers = [h for h in helpers if h.reason is None]
    if open_helpers:
        check_core_migrates(open_helpers, view, context)
    return {use.call for h in open_helpers if h.reason is None for use in h.uses
            if use.kind == "offload" and context.reportable(RULE_ID, use.call)}

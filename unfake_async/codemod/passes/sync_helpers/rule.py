"""The UFA008 pass: finds the helpers, decides, reports, rewrites (see the package's docstring)."""
from __future__ import annotations

from typing import Dict, List, Optional, Set, Tuple

import libcst as cst

from unfake_async.codemod.analysis import names
from unfake_async.codemod.analysis.async_scope import ModuleView
from unfake_async.codemod.engine.model import Finding, FixSafety
from unfake_async.codemod.engine.pass_protocol import PassContext, PassOutcome
from unfake_async.codemod.passes.sync_helpers.finder import Finder
from unfake_async.codemod.passes.sync_helpers.cross_module import (
    RemoteUses,
    helpers_defined_here,
    part_of,
    remote_groups,
)
from unfake_async.codemod.passes.sync_helpers.model import MESSAGES, RULE_ID, UNSAFE, UNSAFE_ACROSS, Helper, Use
from unfake_async.codemod.passes.sync_helpers.references import check_helper
from unfake_async.codemod.passes.sync_helpers.rewrite import rewrite
from unfake_async.codemod.passes.sync_helpers.trial import check_core_migrates


class SyncHelperPass:
    """Rule UFA008. Runs before the core pass, which migrates the helper's requests calls."""

    rule_ids = (RULE_ID,)
    # A helper may call requests' functions or a Session's methods (a login helper on the class's
    # Session, issue 17): the module must refer to requests, nothing narrower.
    required_names = names.REQUESTS_REFERENCES
    coroutine_reach = names.REQUESTS_REACH
    # Reads `PassContext.project`: helpers of other modules, and the run's decisions on the
    # helpers made `async def` across modules (`cross_module`).
    uses_project = True

    def run(self, context: PassContext) -> PassOutcome:
        if "requests" not in context.source and not context.project:
            return PassOutcome()  # a helper can only call requests if the module imports it
        view = ModuleView(context.wrapper, context.project)
        finder = Finder(view, context)
        helpers = finder.helpers()
        joint, kept = helpers_defined_here(finder, helpers, context)
        groups = remote_groups(finder, context)
        findings, remote_uses = self._remote(groups, context, joint)
        if not helpers:
            return self._outcome(view, findings, [], remote_uses, [], joint)
        for helper in helpers:
            check_helper(helper, finder)
        for helper, reason in kept.items():
            helper.reason = helper.reason or reason
        open_helpers = [h for h in helpers if h.reason is None]
        unlocked = check_core_migrates(open_helpers, view, context) if open_helpers else []
        for helper in helpers:
            if helper.external is not None:
                joint[helper.external] = part_of(helper, context)
                if joint[helper.external] and helper.reason is None:
                    helper.reason = joint[helper.external]
        fixable = [h for h in helpers if h.reason is None and all(context.reportable(RULE_ID, use.call) for use in h.uses)]
        # A helper other modules await is here only with the run's go-ahead (`helpers_defined_here`).
        chosen = fixable if context.wants_fix(FixSafety.UNSAFE) else []
        for helper in helpers:
            safety = FixSafety.NONE if helper.reason else FixSafety.UNSAFE
            reason = helper.reason or (UNSAFE_ACROSS if helper.external else UNSAFE)
            sites = [(use.call, MESSAGES[use.kind].format(helper=helper.label, via=use.via)) for use in helper.uses]
            if helper.external is not None:
                via = ", ".join(helper.callers) or "other modules"
                sites.append((helper.definition.name, MESSAGES["callers"].format(helper=helper.label, via=via)))
            for node, message in sites:
                if context.reportable(RULE_ID, node):
                    findings.append(context.finding(RULE_ID, message, node, fix=safety, reason=reason,
                                                    fixed=helper in chosen))
        # What the trial made fixable elsewhere holds only if it is the edit --unsafe-fixes makes.
        unlocks = _unlocks(unlocked, fixable) if fixable and fixable == open_helpers else []
        return self._outcome(view, findings, chosen, remote_uses, unlocks, joint)

    @staticmethod
    def _remote(groups: List[RemoteUses], context: PassContext, joint: Dict[str, Optional[str]]
                ) -> Tuple[List[Finding], List[Use]]:
        """Findings for the uses of other modules' helpers, and those this run rewrites."""
        findings: List[Finding] = []
        rewritten: List[Use] = []
        for group in groups:
            key = group.joint_key
            decision = context.project.joint_decision(key) if key and hasattr(context.project, "joint_decision") else None
            if key is not None:
                joint[key] = group.reason
            go = decision == "" and group.reason is None
            if go and context.wants_fix(FixSafety.UNSAFE):
                rewritten += group.uses
            reason = UNSAFE_ACROSS if go else group.reason or decision or group.remote.reason
            for use in group.uses:
                if context.reportable(RULE_ID, use.call):
                    message = MESSAGES[use.kind].format(helper=group.remote.label, via=use.via)
                    findings.append(context.finding(RULE_ID, message, use.call, reason=reason,
                                                    fix=FixSafety.UNSAFE if go else FixSafety.NONE,
                                                    fixed=go and context.wants_fix(FixSafety.UNSAFE)))
        return findings, rewritten

    @staticmethod
    def _outcome(view: ModuleView, findings: List[Finding], chosen: List[Helper], remote_uses: List[Use],
                 unlocks, joint: Dict[str, Optional[str]]) -> PassOutcome:
        if not chosen and not remote_uses:
            return PassOutcome(findings, unlocks=unlocks, joint=joint)
        return PassOutcome(findings, rewrite(view, chosen, remote_uses=remote_uses), unlocks=unlocks, joint=joint)


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
        check_core_migrates(open_helpers, view, context, outside=False)
    uses = [use for h in open_helpers if h.reason is None for use in h.uses]
    project = context.project
    for group in remote_groups(finder, context) if project and hasattr(project, "joint_decision") else ():
        if group.joint_key is not None and group.reason is None and project.joint_decision(group.joint_key) == "":
            uses += group.uses
    return {use.call for use in uses if use.kind == "offload" and context.reportable(RULE_ID, use.call)}

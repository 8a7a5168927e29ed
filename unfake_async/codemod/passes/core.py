"""The core pass: requests calls in executors, thread helpers and `async def` → httpx.AsyncClient.

detect sites (rules UFA001-UFA003) → drop suppressed/disabled ones → plan each site → decide which
to fix at the requested level → rewrite → remove dead executors/loops → fix imports.
"""
from __future__ import annotations

from bisect import bisect_left, bisect_right
from typing import List, Set

import libcst as cst
import libcst.matchers as m
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import AddImportsVisitor
from libcst.metadata import MetadataWrapper, PositionProvider

from unfake_async.codemod.analysis.detect import Detector
from unfake_async.codemod.analysis.names import REQUESTS_REACH, REQUESTS_REFERENCES
from unfake_async.codemod.analysis.names import code as _code
from unfake_async.codemod.analysis.sites import Site
from unfake_async.codemod.engine.layout.tracked_codegen import StatementTexts
from unfake_async.codemod.engine.model import Finding, FixLevel, FixSafety
from unfake_async.codemod.engine.pass_protocol import PassContext, PassOutcome
from unfake_async.codemod.migrate import cleanup, home_assistant
from unfake_async.codemod.migrate.client_source import ClientSource
from unfake_async.codemod.migrate.imports import apply_scheduled_imports
from unfake_async.codemod.migrate.plan import Planner, SitePlan
from unfake_async.codemod.migrate.rewrite import Rewriter
from unfake_async.codemod.migrate.shared_client import source_for
from unfake_async.rules import CALL_RULE_MODULES
from unfake_async.settings import Settings

MESSAGES = {
    "UFA001": "`{what}` runs in a thread via `run_in_executor`: fake async, each request holds a worker thread and the pool size caps concurrency",
    "UFA002": "`{what}` runs in a thread via `{via}`: fake async, each request holds a worker thread for its whole duration",
    "UFA012": "`{what}` is handed to `{via}`, which runs it in a thread or calls it on the event loop: fake async either way",
    "UFA003": "`{what}` blocks the event loop inside `async def`: every other task waits for this request",
}


class CorePass:
    """Rules UFA001-UFA003: the requests calls the whole product is about."""

    rule_ids = tuple(module.RULE.id for module in CALL_RULE_MODULES)
    # Every site is a call `requests_target` resolves to one of these (engine/prechecks/name_references.py).
    required_names = REQUESTS_REFERENCES
    coroutine_reach = REQUESTS_REACH
    # Reads `PassContext.project`: a re-exported requests or another module's helper needs no
    # `import requests` here.
    uses_project = True

    def run(self, context: PassContext) -> PassOutcome:
        settings, fix_level, wrapper = context.settings, context.fix_level, context.wrapper
        rules = [module for module in CALL_RULE_MODULES if settings.rule_enabled(module.RULE.id)]
        detector = Detector(settings, rules, project=context.project)
        wrapper.visit(detector)
        positions = wrapper.resolve(PositionProvider)
        sites: List[Site] = [site for site in detector.sites if context.reportable(site.rule_id, site.report_node)]
        integration = home_assistant.is_integration(context.source)
        planner = Planner(wrapper, settings, project=context.project, integration=integration)
        planner.prepare(sites)
        plans = [planner.plan(site) for site in sites]
        if integration:
            for plan in plans:
                home_assistant.adopt(plan)
        _block_nested(plans, positions)
        _tie_sessions(plans)

        chosen = [p for p in plans if _wanted(p.site, fix_level)]
        # A session becomes a client for all its calls or for none.
        wanted_ids = {id(p) for p in chosen}
        dropped = {_session_key(p) for p in plans if _session_key(p) is not None and id(p) not in wanted_ids}
        chosen = [p for p in chosen if _session_key(p) is None or _session_key(p) not in dropped]
        # By identity: `p in chosen` compared plans field by field, 4 million times for 2,000 sites.
        chosen_ids = {id(p) for p in chosen}
        fixed_source = None
        source = source_for(context)
        if chosen:
            fixed_source = _rewrite(wrapper, chosen, plans, planner, settings, source)
            if fixed_source == context.source:
                fixed_source = None
        findings = [_finding(context, p.site, fixed=fixed_source is not None and id(p) in chosen_ids) for p in plans]
        return PassOutcome(findings=findings, fixed_source=fixed_source,
                           created_files=source.created_files(fixed_source or ""))


def _block_nested(plans: List[SitePlan], positions) -> None:
    """Block both sites of every pair where one call's span holds the other's. A span inside
    another starts within it, so each site is compared only with the sites starting between
    its own start and end (sorted once): linear for the usual module of disjoint calls, where
    comparing every pair made a module of 2,000 sites pay 4 million comparisons."""
    spans = []
    for plan in plans:
        position = positions[plan.site.node]
        start, end = position.start, position.end
        spans.append(((start.line, start.column), (end.line, end.column), plan))
    spans.sort(key=lambda span: span[0])
    starts = [span[0] for span in spans]
    reason = "requests calls nested in one another; migrate them by hand"
    for start, end, plan in spans:
        for other_start, other_end, other in spans[bisect_left(starts, start):bisect_right(starts, end)]:
            if other is not plan and other_end <= end:
                for p in (plan, other):
                    if reason not in p.site.blockers:
                        p.site.blockers.append(reason)


def _tie_sessions(plans: List[SitePlan]) -> None:
    """A session moves whole: when one of its calls cannot be migrated, none of them can.

    Sessions are a `self.<attr>` kept on the class, or a `with requests.Session() as s` block,
    whose other uses of `s` (beyond `s.headers` and `s.auth`, which an httpx client has too) also
    keep it a requests Session."""
    groups = {}
    for plan in plans:
        key = _session_key(plan)
        if key is not None:
            groups.setdefault(key, []).append(plan)
    for (kind, _), members in groups.items():
        if kind == "with":
            other_use = _other_session_use(members)
            if other_use:
                for plan in members:
                    if other_use not in plan.site.blockers:
                        plan.site.blockers.append(other_use)
        blocked = [p for p in members if p.site.blockers]
        if not blocked:
            continue
        name = f"self.{members[0].session.attribute}" if kind == "attribute" else _code(members[0].site.request.receiver.expression)
        reason = f"another call on `{name}` cannot be migrated, and the session must move whole"
        for plan in members:
            if not plan.site.blockers:
                plan.site.blockers.append(reason)


def _session_key(plan: SitePlan):
    if plan.session is not None:
        return ("attribute", id(plan.session))
    if plan.with_node is not None:
        return ("with", id(plan.with_node))
    return None


def _other_session_use(members: List[SitePlan]) -> str:
    """Why the `with` session must stay (a use of it that is not a migrated call), or ""."""
    receiver = members[0].site.request.receiver.expression
    name = receiver.value
    receivers = {id(plan.site.request.receiver.expression) for plan in members}
    with_node = members[0].with_node
    allowed = m.Attribute(value=m.Name(name), attr=m.Name("headers") | m.Name("auth"))
    allowed_nodes = {id(node.value) for node in m.findall(with_node.body, allowed)}
    for node in m.findall(with_node.body, m.Name(name)):
        if id(node) not in receivers and id(node) not in allowed_nodes:
            return (f"`{name}` is used beyond the request calls in its `with` block; "
                    "migrate the session to an httpx.AsyncClient by hand")
    return ""


def _safety(site: Site) -> FixSafety:
    if site.blockers:
        return FixSafety.NONE
    return FixSafety.UNSAFE if site.unsafe else FixSafety.SAFE


def _wanted(site: Site, level: FixLevel) -> bool:
    safety = _safety(site)
    if safety is FixSafety.NONE or level is FixLevel.NONE:
        return False
    return safety is FixSafety.SAFE or level is FixLevel.UNSAFE


def _finding(context: PassContext, site: Site, fixed: bool) -> Finding:
    reasons = site.blockers or site.unsafe
    return context.finding(
        site.rule_id,
        MESSAGES[site.rule_id].format(what=site.what, via=site.via) + site.unforwarded_note(),
        site.report_node,
        fix=_safety(site),
        reason="; ".join(dict.fromkeys(reasons)) if reasons else None,
        notes=site.notes,
        fixed=fixed,
    )


def _rewrite(wrapper: MetadataWrapper, chosen: List[SitePlan], plans: List[SitePlan], planner: Planner,
             settings: Settings, source: ClientSource) -> str:
    chosen_ids = {id(p) for p in chosen}
    unfixed = {p.site.node for p in plans if id(p) not in chosen_ids}
    rewriter = Rewriter(chosen, unfixed, planner.parents, planner.qualified, settings, source)
    rewriter.visit_only_towards_changes(planner.parents)
    module = wrapper.module.visit(rewriter)
    dead_names, dead_attributes = _cleanup_candidates(chosen)
    module = cleanup.remove_dead_code(module, dead_names, dead_attributes)

    context = CodemodContext()
    for name, obj in rewriter.needed_imports():
        AddImportsVisitor.add_needed_import(context, name, obj)
    # The final module shares all but its imports and the client code with this one: one
    # codegen for both (`StatementTexts`).
    texts = StatementTexts()
    code = texts.code(module)
    if f"{settings.target}." in code:
        AddImportsVisitor.add_needed_import(context, settings.target)
    if rewriter.needs_json:
        AddImportsVisitor.add_needed_import(context, "json")
    module = apply_scheduled_imports(module, context, code=code)
    return texts.code(rewriter.add_client_code(module))


def _cleanup_candidates(chosen: List[SitePlan]):
    names: Set[str] = set()
    attributes: Set[str] = set()
    for plan in chosen:
        site = plan.site
        executor = site.executor
        if isinstance(executor, cst.Name) and executor.value != "None":
            names.add(executor.value)
        elif isinstance(executor, cst.Attribute) and isinstance(executor.value, cst.Name) and executor.value.value == "self":
            attributes.add(executor.attr.value)
        loop = getattr(site.report_node, "func", None)
        if isinstance(loop, cst.Attribute) and loop.attr.value == "run_in_executor":
            if isinstance(loop.value, cst.Name):
                names.add(loop.value.value)
    return names, attributes

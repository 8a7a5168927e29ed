"""UFA008 across modules: this file's part of a change the run decides for the whole tree
(`analysis/project_links`).

- As a caller (`from .utils import fetch_json`, then `run_in_executor(None, fetch_json, url)` or
  `fetch_json(url)` in `async def`): whether every reference to the imported name is a use this
  file can await; with the run's go-ahead, those uses are rewritten.
- As the helper's module: the helpers the run makes `async def` here, checked as a helper of
  this module is (no sync caller here, not decorated, the core migrates its requests calls).

Each part is returned as `joint` (key: the helper's absolute name; None: made, or can be).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import libcst as cst

from unfake_async.codemod.analysis.names import code
from unfake_async.codemod.analysis.project_helpers import RemoteHelper
from unfake_async.codemod.engine.pass_protocol import PassContext
from unfake_async.codemod.passes.sync_helpers.finder import Finder
from unfake_async.codemod.passes.sync_helpers.model import RULE_ID, Helper, Use


@dataclass(eq=False)
class RemoteUses:
    """The uses in this file of one helper of another module."""

    remote: RemoteHelper
    uses: List[Use] = field(default_factory=list)
    reason: Optional[str] = None  # why this file cannot await it everywhere it uses it

    @property
    def joint_key(self) -> Optional[str]:
        """The run decides only for helpers imported by name (see `RemoteHelper.reached`)."""
        return self.remote.qualified if self.remote.reached == "name" and self.remote.qualified else None


def remote_groups(finder: Finder, context: PassContext) -> List[RemoteUses]:
    """The uses of other modules' helpers, by helper, each checked for this file's part."""
    groups: Dict[str, RemoteUses] = {}
    for use, remote in finder.remote:
        key = remote.qualified if remote.reached == "name" else f"{remote.qualified}#{id(use)}"
        groups.setdefault(key, RemoteUses(remote)).uses.append(use)
    for group in groups.values():
        if group.joint_key is not None:
            group.reason = _caller_part(group, finder, context)
    return list(groups.values())


def _caller_part(group: RemoteUses, finder: Finder, context: PassContext) -> Optional[str]:
    view = finder.view
    blockers = [use.blocker for use in group.uses if use.blocker]
    if blockers:
        return blockers[0]
    if not all(context.reportable(RULE_ID, use.call) for use in group.uses):
        return "a use of it here is suppressed"
    first = group.uses[0].func
    if not isinstance(first, cst.Name):
        return f"`{code(first)}` is not the imported name"
    scope = finder.scopes.get(first)
    assignments = list(scope[first.value]) if scope is not None else []
    if len(assignments) != 1:
        return f"`{first.value}` is bound more than once in this module"
    used = {id(use.func) for use in group.uses}
    for reference in assignments[0].references:
        node = reference.node
        if id(node) in used:
            continue
        parent = view.parents.get(node)
        label = code(node)
        if not (isinstance(parent, cst.Call) and parent.func is node):
            return f"`{label}` is referenced here without being called (a callback or an alias)"
        if isinstance(view.parents.get(parent), cst.Await):
            return f"`{label}(...)` is already awaited here"
        if view.async_function_of(parent) is None:
            return f"`{label}` is also called from sync code here"
        return f"`{label}` is called here where `await` cannot go"
    return None


def helpers_defined_here(finder: Finder, helpers: List[Helper], context: PassContext
                         ) -> Tuple[Dict[str, Optional[str]], Dict[Helper, str]]:
    """Adds to `helpers` this module's helpers that the run makes `async def` (other modules run
    them from async code). Returns the keys of this module's parts (filled in once the helpers
    are checked), and the helpers of this module that the run keeps sync for their other
    callers, with the reason (to be set after the checks)."""
    project = context.project
    parts: Dict[str, Optional[str]] = {}
    kept: Dict[Helper, str] = {}
    if not project or not hasattr(project, "defined_here"):
        return parts, kept
    by_definition = {helper.definition: helper for helper in helpers}
    top_level = {s.name.value: s for s in finder.view.module.body if isinstance(s, cst.FunctionDef)}
    for name, (decision, callers) in project.defined_here().items():
        key = f"{project.module}.{name}" if project.module else name
        definition = top_level.get(name)
        helper = by_definition.get(definition) if definition is not None else None
        if decision:
            if helper is not None:
                kept[helper] = f"other modules run `{name}` too, and it stays sync for them: {decision}"
            continue
        parts[key] = None
        if definition is None:
            parts[key] = f"`{name}` is not a top-level `def` of its module"
            continue
        if helper is None:
            helper = Helper(definition, None)
            helper.requests_calls = len(finder.requests_calls(definition))
            helpers.append(helper)
        helper.external, helper.callers = key, callers
    return parts, kept


def part_of(helper: Helper, context: PassContext) -> Optional[str]:
    """The helper module's part: None when the helper can become `async def` here."""
    if helper.reason:
        return helper.reason
    if not context.reportable(RULE_ID, helper.definition.name):
        return "the helper's `def` line is suppressed"
    return None


"""A site is one fake-async request found in the code, with everything the rewrite needs."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, List, Optional, Sequence

import libcst as cst

from unfake_async.codemod.analysis.names import Receiver

# Builds the final expression from the awaited client call, e.g. `(await c.get(u)).json()`
# for a lambda whose body was `requests.get(u).json()`.
Wrapper = Callable[[cst.BaseExpression], cst.BaseExpression]


@dataclass
class RequestCall:
    """A requests call, however it was written: method, who sends it, and its arguments."""

    method: str
    receiver: Receiver
    # Positional arguments first, then keywords, in requests' calling convention.
    args: Sequence[cst.Arg]


@dataclass
class Site:
    rule_id: str
    # The node the rewrite replaces (an Await, or a Call when the future is not awaited here).
    node: cst.CSTNode
    # The node the finding points at.
    report_node: cst.CSTNode
    request: RequestCall
    # What blocks, for the message: "requests.get", "self.session.post".
    what: str
    # How it was made "async": "run_in_executor", "asyncio.to_thread", or "" for a direct call.
    via: str
    function: cst.FunctionDef
    class_def: Optional[cst.ClassDef] = None
    wrapper: Optional[Wrapper] = None
    # False when the offload future is not awaited where it is created (`tasks.append(...)`).
    awaited: bool = True
    executor: Optional[cst.BaseExpression] = None
    # The removed executor's literal max_workers (only looked up with keep-concurrency-cap).
    executor_cap: Optional[str] = None
    # Why this site cannot be rewritten (empty: a fix is possible).
    blockers: List[str] = field(default_factory=list)
    # Why the fix may change behaviour (empty: the fix is safe).
    unsafe: List[str] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)
    # Keywords the helper never passed to the function: as written the call raises TypeError.
    unforwarded: List[str] = field(default_factory=list)

    def unforwarded_note(self) -> str:
        """The finding's words for keywords the helper never passed on ("" when there are none)."""
        if not self.unforwarded:
            return ""
        keywords = ", ".join(name + "=" for name in self.unforwarded)
        return f"; as written it raises TypeError: `{self.via}` passes no keyword arguments to the function ({keywords})"

    @property
    def fixable(self) -> bool:
        return not self.blockers

"""UFA008's id and messages, the helpers it finds and the places async code runs them."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional, Tuple

import libcst as cst

RULE_ID = "UFA008"
MESSAGES = {
    "offload": "`{helper}` makes `requests` calls and runs in a thread via `{via}`: fake async, each call "
               "holds a worker thread for the whole request; make the helper `async def` and await it",
    "direct": "`{helper}` makes `requests` calls and is called directly inside `async def` ({via}): the event "
              "loop waits for every request in it; make the helper `async def` and await it",
    "callers": "`{helper}` makes `requests` calls and other modules run it from async code ({via}): fake "
               "async; it becomes `async def` and they await it",
    "decorator": "`{helper}` makes `requests` calls and runs in a thread via its decorator `@{via}`: fake async, "
                 "each call holds a worker thread for the whole request; make it `async def` without the decorator",
}
UNSAFE = "the helper becomes a coroutine function: any caller this module cannot see must now await it"
UNSAFE_ACROSS = ("the helper becomes a coroutine function in its module, and every file of this run that runs it "
                 "awaits it; code outside the run that calls it must now await it")


@dataclass(eq=False)
class Use:
    """One place an async function runs the helper."""

    call: cst.CSTNode  # the offload call, the direct call of the helper, or its offloading decorator
    kind: str  # "offload" | "direct" | "decorator"
    via: str
    args: List[cst.Arg]
    func: cst.BaseExpression  # the helper as written at the site (`self._fetch`, `fetch`)
    executor: Optional[cst.BaseExpression] = None
    loop: Optional[cst.BaseExpression] = None
    blocker: Optional[str] = None


@dataclass(eq=False)
class Helper:
    definition: cst.FunctionDef
    class_def: Optional[cst.ClassDef]
    uses: List[Use] = field(default_factory=list)
    reason: Optional[str] = None
    requests_calls: int = 0
    # The decorator that runs the helper in a thread (`@sync_to_async`, the project's `@to_thread`):
    # the fix drops it and makes the helper `async def`; its callers already await it.
    decorator: Optional[cst.Decorator] = None
    # Set when other modules of the run run it from async code (`cross_module`): its absolute
    # name, and the files that call it.
    external: Optional[str] = None
    callers: Tuple[str, ...] = ()

    @property
    def label(self) -> str:
        name = self.definition.name.value
        return f"self.{name}" if self.class_def is not None else name


def definition_name(helper: Helper) -> str:
    name = helper.definition.name.value
    return f"{helper.class_def.name.value}.{name}" if helper.class_def is not None else name

"""The concurrency cap a removed ThreadPoolExecutor imposed: its `max_workers`, when it is a literal.

With `keep-concurrency-cap`, the generated client gets that many connections, so the migrated code
sends no more requests at once than the thread pool did (a rate-limited API stays happy). Only an
integer literal is taken: a cap computed at run time (`max_workers=os.cpu_count()`) cannot be
moved into the generated client's default arguments, and is reported in a note instead.
"""
from __future__ import annotations

from typing import Callable, Optional, Set, Tuple

import libcst as cst
import libcst.matchers as m

from unfake_async.codemod.analysis.names import EXECUTOR_CLASSES


def executor_cap(executor: Optional[cst.BaseExpression], class_def: Optional[cst.ClassDef], module: cst.Module,
                 qualified: Callable[[cst.CSTNode], Set[str]]) -> Tuple[Optional[str], Optional[str]]:
    """(cap, note): the literal max_workers of the executor expression, or a note saying why not."""
    if executor is None or m.matches(executor, m.Name("None")):
        return None, "the default executor has no fixed size; the client keeps its default of 100 connections"
    constructor = _constructor(executor, class_def, module, qualified)
    if constructor is None:
        return None, "the executor's construction was not found; the client keeps its default of 100 connections"
    workers = _max_workers(constructor)
    if workers is None:
        return None, "the executor has no literal max_workers; the client keeps its default of 100 connections"
    return workers, None


def _is_executor(call: cst.BaseExpression, qualified) -> bool:
    return isinstance(call, cst.Call) and bool(qualified(call.func) & EXECUTOR_CLASSES)


def _constructor(executor, class_def, module, qualified) -> Optional[cst.Call]:
    if _is_executor(executor, qualified):
        return executor
    if isinstance(executor, cst.Name):
        scope_body = module
        target = m.AssignTarget(target=m.Name(executor.value))
    elif m.matches(executor, m.Attribute(value=m.Name("self"))) and class_def is not None:
        scope_body = class_def
        target = m.AssignTarget(target=m.Attribute(value=m.Name("self"), attr=m.Name(executor.attr.value)))
    else:
        return None
    values = [assign.value for assign in m.findall(scope_body, m.Assign(targets=[target]))]
    values += [assign.value for assign in m.findall(scope_body, m.AnnAssign(target=target.target))
               if assign.value is not None]
    constructors = [value for value in values if _is_executor(value, qualified)]
    return constructors[0] if len(constructors) == 1 and len(values) == 1 else None


def _max_workers(call: cst.Call) -> Optional[str]:
    for index, arg in enumerate(call.args):
        if (arg.keyword is None and index == 0) or (arg.keyword is not None and arg.keyword.value == "max_workers"):
            if isinstance(arg.value, cst.Integer):
                return arg.value.value
            return None
    return None

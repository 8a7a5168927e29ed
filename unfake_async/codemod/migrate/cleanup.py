"""Remove what the migration left dead: executors and event-loop variables nobody uses any more.

Runs on the rewritten module with fresh scope metadata, so "dead" means no reference is left, not
"we think we replaced them all". Only statements without side effects worth keeping are removed:
`x = ThreadPoolExecutor(...)`, `loop = asyncio.get_event_loop()`, and `x.shutdown(...)` calls on
an executor that is being removed.
"""
from __future__ import annotations

from typing import Set

import libcst as cst
import libcst.matchers as m
from libcst.metadata import QualifiedNameProvider, ScopeProvider

from unfake_async.codemod.analysis.names import EXECUTOR_CLASSES, resolved
from unfake_async.codemod.engine.metadata import MetadataWrapper

_LOOP_GETTERS = {"asyncio.get_event_loop", "asyncio.get_running_loop", "asyncio.events.get_event_loop",
                 "asyncio.events.get_running_loop"}


def _single_assign(statement: cst.CSTNode):
    if m.matches(statement, m.SimpleStatementLine(body=[m.Assign(targets=[m.AssignTarget()])])):
        return statement.body[0]
    if m.matches(statement, m.SimpleStatementLine(body=[m.AnnAssign()])) and statement.body[0].value is not None:
        return statement.body[0]
    return None


def _self_attribute_uses(class_body: cst.CSTNode, attribute: str):
    matcher = m.Attribute(value=m.Name("self"), attr=m.Name(attribute))
    return m.findall(class_body, matcher)


def placeholder_statement() -> cst.SimpleStatementLine:
    """What a block emptied by the migration keeps, saying where closing went."""
    return cst.SimpleStatementLine(
        body=[cst.Pass()],
        trailing_whitespace=cst.TrailingWhitespace(
            whitespace=cst.SimpleWhitespace("  "),
            comment=cst.Comment("# the pool/session is gone: the HTTP client closes with aclose()"),
        ),
    )


class _Remover(cst.CSTTransformer):
    def __init__(self, dead_statements: Set[cst.CSTNode]) -> None:
        super().__init__()
        self._dead = dead_statements

    def leave_SimpleStatementLine(self, original_node, updated_node):
        if original_node in self._dead:
            return cst.RemovalSentinel.REMOVE
        return updated_node

    def leave_IndentedBlock(self, original_node, updated_node):
        if not updated_node.body:
            return updated_node.with_changes(body=[placeholder_statement()])
        return updated_node


def _is_shutdown_statement(statement: cst.CSTNode, receiver: m.BaseMatcherNode) -> bool:
    return m.matches(
        statement,
        m.SimpleStatementLine(body=[m.Expr(m.Call(func=m.Attribute(value=receiver, attr=m.Name("shutdown"))))]),
    )


def remove_dead_code(module: cst.Module, names: Set[str], attributes: Set[str]) -> cst.Module:
    """Drop executor/loop assignments (and executor shutdowns) that nothing references any more."""
    if not names and not attributes:
        return module
    # `module` is this rewrite's own fresh tree: no copy needed before attaching metadata.
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    scopes = wrapper.resolve(ScopeProvider)
    qnames = wrapper.resolve(QualifiedNameProvider)
    module = wrapper.module
    dead: Set[cst.CSTNode] = set()

    def removable(value: cst.BaseExpression) -> bool:
        if not isinstance(value, cst.Call):
            return False
        found = {q.name for q in resolved(qnames.get(value.func))}
        return bool(found & (EXECUTOR_CLASSES | _LOOP_GETTERS))

    statements = [s for s in m.findall(module, m.SimpleStatementLine()) if isinstance(s, cst.SimpleStatementLine)]
    for statement in statements:
        assign = _single_assign(statement)
        if assign is None or not removable(assign.value):
            continue
        target = assign.targets[0].target if isinstance(assign, cst.Assign) else assign.target
        if isinstance(target, cst.Name) and target.value in names:
            scope = scopes.get(target)
            if scope is None:
                continue
            mine = [a for a in scope.assignments[target.value] if getattr(a, "node", None) is target]
            if len(mine) != len(list(scope.assignments[target.value])):
                continue  # assigned elsewhere too: leave it alone
            references = [ref.node for a in mine for ref in a.references]
            shutdowns = [
                s for s in statements if _is_shutdown_statement(s, m.Name(target.value))
            ]
            shutdown_refs = {
                id(node) for s in shutdowns for node in m.findall(s, m.Name(target.value))
            }
            if all(id(ref) in shutdown_refs for ref in references):
                dead.add(statement)
                dead.update(shutdowns)
    for class_def in m.findall(module, m.ClassDef()):
        for attribute in attributes:
            uses = _self_attribute_uses(class_def.body, attribute)
            assigns = [
                s for s in m.findall(class_def.body, m.SimpleStatementLine())
                if (a := _single_assign(s)) is not None
                and m.matches(a.targets[0].target if isinstance(a, cst.Assign) else a.target,
                              m.Attribute(value=m.Name("self"), attr=m.Name(attribute)))
            ]
            if not assigns or not all(removable(_single_assign(s).value) for s in assigns):
                continue
            shutdowns = [
                s for s in m.findall(class_def.body, m.SimpleStatementLine())
                if _is_shutdown_statement(s, m.Attribute(value=m.Name("self"), attr=m.Name(attribute)))
            ]
            accounted = len(assigns) + len(shutdowns)
            if len(uses) == accounted:
                dead.update(assigns)
                dead.update(shutdowns)
    if not dead:
        return module
    return module.visit(_Remover(dead))

"""Whether a helper may become `async def`: every reference to it outside the uses found must be a
direct call from async code (then awaited too), and nothing may rely on it being a plain function
(decorators, generators, subclasses overriding it, `__all__`)."""
from __future__ import annotations

from typing import Optional

import libcst as cst
import libcst.matchers as m

from unfake_async.codemod.analysis.async_scope import ModuleView
from unfake_async.codemod.analysis.names import code
from unfake_async.codemod.passes.sync_helpers.finder import Finder
from unfake_async.codemod.passes.sync_helpers.model import Helper, Use


def check_helper(helper: Helper, finder: Finder) -> None:
    """Set `helper.reason` when making it `async def` could break a caller we cannot rewrite."""
    view, definition = finder.view, helper.definition
    blockers = [use.blocker for use in helper.uses if use.blocker]
    if helper.decorator is not None:
        if len(definition.decorators) > 1:
            helper.reason = "the helper has other decorators, which may not accept a coroutine function"
        elif m.findall(definition.body, m.Yield()):
            helper.reason = "the helper is a generator"
        return  # its callers already await what the decorator returned
    if definition.asynchronous is not None:
        helper.reason = "the helper is already `async def`"
    elif definition.decorators:
        helper.reason = "the helper is decorated; the decorator may not accept a coroutine function"
    elif m.findall(definition.body, m.Yield()):
        helper.reason = "the helper is a generator"
    elif blockers:
        helper.reason = blockers[0]
    elif helper.class_def is not None:
        helper.reason = _method_references(helper, view)
    else:
        helper.reason = _function_references(helper, finder)


def _method_references(helper: Helper, view: ModuleView) -> Optional[str]:
    name = helper.definition.name.value
    class_name = helper.class_def.name.value
    for class_def in view.nodes(cst.ClassDef):
        if class_def is helper.class_def:
            continue
        based = any(m.matches(base.value, m.Name(class_name) | m.Attribute(attr=m.Name(class_name))) for base in class_def.bases)
        if based and any(isinstance(s, cst.FunctionDef) and s.name.value == name for s in class_def.body.body):
            return f"`{name}` is overridden in subclass `{class_def.name.value}`"
    offloaded = {id(use.func) for use in helper.uses}
    for attribute in view.nodes(cst.Attribute):
        if attribute.attr.value != name or id(attribute) in offloaded:
            continue
        if not m.matches(attribute.value, m.Name("self")):
            return f"`{name}` is used on another object (`{code(attribute)}`)"
        function = view.innermost_scope(attribute)
        if not isinstance(function, cst.FunctionDef) or view.method_class(function) is not helper.class_def:
            return f"`{code(attribute)}` is used outside the class's methods"
        reason = _direct_use(helper, attribute, view)
        if reason:
            return reason
    return None


def _function_references(helper: Helper, finder: Finder) -> Optional[str]:
    view, definition = finder.view, helper.definition
    name = definition.name.value
    exported = [small for statement in view.module.body if isinstance(statement, cst.SimpleStatementLine)
                for small in statement.body if m.matches(small, m.Assign(targets=[m.AssignTarget(m.Name("__all__"))]))]
    if any(m.findall(a.value, m.SimpleString(value=f'"{name}"') | m.SimpleString(value=f"'{name}'")) for a in exported):
        return f"`{name}` is exported in `__all__`"
    scope = finder.scopes.get(definition)
    offloaded = {id(use.func) for use in helper.uses}
    for assignment in scope[name] if scope is not None else ():
        for reference in assignment.references:
            node = reference.node
            if id(node) in offloaded:
                continue
            reason = _direct_use(helper, node, view)
            if reason:
                return reason
    return None


def _direct_use(helper: Helper, node: cst.CSTNode, view: ModuleView) -> Optional[str]:
    """A direct call `helper(...)` from async code becomes a use to await; anything else blocks."""
    parent = view.parents.get(node)
    label = code(node)
    if not (isinstance(parent, cst.Call) and parent.func is node):
        return f"`{label}` is referenced without being called (a callback or an alias)"
    if view.async_function_of(parent) is None:
        return f"`{label}` is also called from sync code"
    if view.in_generator_expression(parent):
        return f"`{label}` is called in a generator expression, where `await` would make it async"
    helper.uses.append(Use(parent, "direct", "", list(parent.args), node))
    return None

"""Where a node sits relative to `async def`, and how to put an `await` in front of a call there.

Shared by the passes of issue 7 (sync clients, sync helpers, loop hygiene). They work from the
metadata the passes share (ParentNodeProvider, QualifiedNameProvider) instead of a scope stack, so
each can ask about any node it found with a matcher. It imports no `libcst.matchers` (0.17 s):
loop hygiene, the one pass a check run of a big tree usually needs, gets by without it.
"""
from __future__ import annotations

from typing import Callable, Collection, Dict, Iterator, Mapping, Optional, Set

import libcst as cst
from libcst.metadata import ParentNodeProvider, QualifiedName, QualifiedNameProvider

from unfake_async.codemod.analysis import names
from unfake_async.codemod.engine.metadata import WalksTowardsTargets

Parents = Dict[cst.CSTNode, cst.CSTNode]


class ModuleView:
    """Parents and qualified names of one metadata-wrapped module, with the questions passes ask."""

    def __init__(self, wrapper, project=None) -> None:
        self.wrapper = wrapper
        self.module: cst.Module = wrapper.module
        self.parents: Parents = wrapper.resolve(ParentNodeProvider)
        self._qualified = wrapper.resolve(QualifiedNameProvider)
        # What the tree tells about this module (`analysis.project.ProjectFacts`), or None.
        self.project = project
        self.lookup = names.project_lookup(self._metadata_lookup, project)

    def _metadata_lookup(self, node: cst.CSTNode) -> Collection[QualifiedName]:
        return names.resolved(self._qualified.get(node))

    def imported(self, node: cst.CSTNode) -> Set[str]:
        """Qualified names of `node` that come from an import (`time.sleep` for `from time import sleep`)."""
        return names.imported_names(self.lookup, node)

    def nodes(self, kind: type) -> Iterator[cst.CSTNode]:
        """Every node of `kind` in the module. Read off the parent map the metadata already
        built: a matcher walk (`m.findall`) costs as much as computing the metadata again. A
        node class nothing derives from (Call, FunctionDef, ...) is looked up in the wrapper's
        index of the map by class, when it keeps one."""
        index = getattr(self.wrapper, "nodes_of_class", None)
        if index is not None and not kind.__subclasses__():
            yield from index(kind)
            return
        for node in self.parents:
            if isinstance(node, kind):
                yield node

    def calls(self) -> Iterator[cst.Call]:
        return self.nodes(cst.Call)  # type: ignore[return-value]

    def innermost_scope(self, node: cst.CSTNode) -> Optional[cst.CSTNode]:
        """The function, lambda or class whose body holds `node` (None at module level)."""
        current = self.parents.get(node)
        while current is not None and not isinstance(current, (cst.FunctionDef, cst.Lambda, cst.ClassDef)):
            current = self.parents.get(current)
        return current

    def async_function_of(self, node: cst.CSTNode) -> Optional[cst.FunctionDef]:
        """The `async def` that directly runs `node`, or None (a nested sync def or lambda is not
        async context; neither is a decorator or default value evaluated outside the body)."""
        scope = self.innermost_scope(node)
        if isinstance(scope, cst.FunctionDef) and scope.asynchronous is not None and self._in_body(node, scope):
            return scope
        return None

    def _in_body(self, node: cst.CSTNode, function: cst.FunctionDef) -> bool:
        current = node
        while current is not None and current is not function:
            if current is function.body:
                return True
            current = self.parents.get(current)
        return False

    def in_generator_expression(self, node: cst.CSTNode) -> bool:
        return in_generator_expression(node, self.parents.get)

    def method_class(self, function: cst.FunctionDef) -> Optional[cst.ClassDef]:
        """The top-level class `function` is a method of (with a `self` first parameter), else None.

        Only top-level classes get a generated client (`shared_client.ensure_clients`)."""
        block = self.parents.get(function)
        class_def = self.parents.get(block) if block is not None else None
        if not isinstance(class_def, cst.ClassDef) or not isinstance(self.parents.get(class_def), cst.Module):
            return None
        params = function.params.params
        if not params or params[0].name.value != "self":
            return None
        if any(isinstance(d.decorator, cst.Name) and d.decorator.value in ("staticmethod", "classmethod")
               for d in function.decorators):
            return None
        return class_def


def in_generator_expression(node: cst.CSTNode, parent_of: Callable[[cst.CSTNode], Optional[cst.CSTNode]]) -> bool:
    """True when `node` is in a generator expression of its function: an `await` there would
    turn the generator into an async generator."""
    current = parent_of(node)
    while current is not None and not isinstance(current, (cst.FunctionDef, cst.Lambda)):
        if isinstance(current, cst.GeneratorExp):
            return True
        current = parent_of(current)
    return False


def awaited(original: cst.BaseExpression, expression: cst.BaseExpression, parents: Parents) -> cst.BaseExpression:
    """`await expression` in the place of `original`, parenthesised where the grammar needs it
    (`time.sleep(1).x` → `(await ...).x`) and keeping the parentheses `original` had."""
    return in_place_of(original, cst.Await(expression=expression), parents)


def in_place_of(original: cst.BaseExpression, result: cst.BaseExpression, parents: Parents) -> cst.BaseExpression:
    """`result` (an await, or an expression around one) in the place of `original`, with the
    parentheses `original` had, or new ones where an attribute, subscript or call follows."""
    parent = parents.get(original)
    tight = isinstance(parent, (cst.Attribute, cst.Subscript)) or (
        isinstance(parent, cst.Call) and parent.func is original
    )
    if original.lpar:
        return result.with_changes(lpar=list(original.lpar), rpar=list(original.rpar))
    if tight:
        return result.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
    return result


class ReplaceNodes(WalksTowardsTargets, cst.CSTTransformer):
    """Replace nodes of the original module, each by a function of its updated self. Given the
    module's parent map (`parents`), the walk goes only down to the edited nodes."""

    def __init__(self, edits: Dict[cst.CSTNode, Callable[[cst.CSTNode], cst.CSTNode]],
                 parents: Optional[Mapping[cst.CSTNode, cst.CSTNode]] = None) -> None:
        super().__init__()
        self._edits = edits
        if parents is not None:
            self.walk_towards(edits, parents.get)

    def on_leave(self, original_node, updated_node):
        edit = self._edits.get(original_node)
        if edit is not None:
            return edit(updated_node)
        return updated_node

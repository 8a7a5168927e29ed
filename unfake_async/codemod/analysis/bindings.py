"""What an object is, from how its name was bound: `c = httpx.Client()`, `with ... as c`,
`c: urllib3.PoolManager = ...`, a parameter annotation, `self.c = httpx.Client()`.

Used to recognise sync HTTP clients by type, never by method name (`cache.get(key)` and a dict
named `client` are not HTTP). For a name bound several times, the binding written last before the
use counts, like flake8-async's ASYNC212 (`c: urllib3.PoolManager = ...; c.request(...)` then
`c: Other = ...` in the same function).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Iterator, List, Optional, Set, Tuple

import libcst as cst
import libcst.matchers as m
from libcst.metadata import PositionProvider, ScopeProvider

from unfake_async.codemod.analysis.async_scope import ModuleView


@dataclass(frozen=True)
class Binding:
    """How a receiver got its value. `kind`: with | assign | annotation | parameter | attribute |
    inline; `types`: the qualified class names it may hold; `node`: the With for `with` bindings."""

    kind: str
    types: frozenset
    node: Optional[cst.CSTNode] = None


class BindingResolver:
    def __init__(self, view: ModuleView) -> None:
        self.view = view
        self._scopes = view.wrapper.resolve(ScopeProvider)
        self._positions = view.wrapper.resolve(PositionProvider)
        self._attributes: Dict[Tuple[int, str], Optional[Binding]] = {}

    def of(self, receiver: cst.BaseExpression) -> Optional[Binding]:
        """The binding of `receiver` (a name, `self.attr`, or a constructor call), or None."""
        if isinstance(receiver, cst.Call):
            return Binding("inline", frozenset(self.view.imported(receiver.func)))
        if isinstance(receiver, cst.Name):
            return self._name(receiver)
        if m.matches(receiver, m.Attribute(value=m.Name("self"), attr=m.Name())):
            return self._self_attribute(receiver)
        return None

    # Names -------------------------------------------------------------------------------
    def _name(self, name: cst.Name) -> Optional[Binding]:
        scope = self._scopes.get(name)
        if scope is None:
            return None
        assignments = [a for a in scope[name.value] if getattr(a, "node", None) is not None]
        if not assignments:
            return None
        use = self._start(name)
        written = sorted(assignments, key=lambda a: self._start(a.node))
        before = [a for a in written if self._start(a.node) < use]
        chosen = before[-1] if before else written[-1]
        return self._binding_of(chosen.node)

    def _start(self, node: cst.CSTNode):
        position = self._positions[node].start
        return (position.line, position.column)

    def _binding_of(self, node: cst.CSTNode) -> Optional[Binding]:
        parents = self.view.parents
        if isinstance(node, cst.Param):
            return Binding("parameter", self._annotation_types(node.annotation))
        parent = parents.get(node)
        if isinstance(parent, cst.AssignTarget):
            assign = parents.get(parent)
            if isinstance(assign, cst.Assign) and parent.target is node:
                return Binding("assign", self._constructed(assign.value))
        if isinstance(parent, cst.AnnAssign) and parent.target is node:
            types = self._annotation_types(parent.annotation) | self._constructed(parent.value)
            return Binding("annotation", types)
        if isinstance(parent, cst.AsName):
            item = parents.get(parent)
            if isinstance(item, cst.WithItem) and item.asname is parent:
                return Binding("with", self._constructed(item.item), parents.get(item))
        return None

    def _constructed(self, value: Optional[cst.BaseExpression]) -> frozenset:
        if isinstance(value, cst.Call):
            return frozenset(self.view.imported(value.func))
        return frozenset()

    def _annotation_types(self, annotation: Optional[cst.Annotation]) -> frozenset:
        if annotation is None:
            return frozenset()
        return frozenset(t for expr in _type_parts(annotation.annotation) for t in self.view.imported(expr))

    # self.attr -------------------------------------------------------------------------------
    def _self_attribute(self, attribute: cst.Attribute) -> Optional[Binding]:
        class_def = self._class_of(attribute)
        if class_def is None:
            return None
        key = (id(class_def), attribute.attr.value)
        if key not in self._attributes:
            self._attributes[key] = self._attribute_in(class_def, attribute.attr.value)
        return self._attributes[key]

    def _attribute_in(self, class_def: cst.ClassDef, name: str) -> Optional[Binding]:
        types: Set[str] = set()
        found = False
        for statement in _class_statements(class_def):
            for small in getattr(statement, "body", ()):
                if isinstance(small, cst.Assign):
                    for target in small.targets:
                        if m.matches(target.target, m.Attribute(value=m.Name("self"), attr=m.Name(name))):
                            found = True
                            constructed = self._constructed(small.value)
                            if not constructed:
                                return None  # assigned something we cannot type: unknown
                            types |= constructed
                elif isinstance(small, cst.AnnAssign) and (
                    m.matches(small.target, m.Attribute(value=m.Name("self"), attr=m.Name(name)))
                    or m.matches(small.target, m.Name(name))
                ):
                    found = True
                    types |= self._annotation_types(small.annotation) | self._constructed(small.value)
        return Binding("attribute", frozenset(types)) if found else None

    def _class_of(self, node: cst.CSTNode) -> Optional[cst.ClassDef]:
        function = self.view.innermost_scope(node)
        while function is not None and not isinstance(function, cst.FunctionDef):
            function = self.view.innermost_scope(function)
        if function is None:
            return None
        scope = self.view.innermost_scope(function)
        return scope if isinstance(scope, cst.ClassDef) else None


def _type_parts(expr: cst.BaseExpression) -> Iterator[cst.BaseExpression]:
    """`X` for `X`, `Optional[X]`, `X | None`, `Union[X, None]`."""
    if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, cst.BitOr):
        yield from _type_parts(expr.left)
        yield from _type_parts(expr.right)
    elif isinstance(expr, cst.Subscript) and m.matches(
        expr.value, m.Name("Optional") | m.Name("Union") | m.Attribute(attr=m.Name("Optional") | m.Name("Union"))
    ):
        for element in expr.slice:
            if isinstance(element.slice, cst.Index):
                yield from _type_parts(element.slice.value)
    elif isinstance(expr, (cst.Name, cst.Attribute)):
        yield expr


def _class_statements(class_def: cst.ClassDef) -> List[cst.CSTNode]:
    """Simple statements of the class body and of its methods' bodies (where `self.x = ...` lives)."""
    return [s for s in m.findall(class_def.body, m.SimpleStatementLine()) if isinstance(s, cst.SimpleStatementLine)]

"""Which expressions are `requests.Session` objects, tracked by binding, never by method name.

`s.get(url)` is HTTP only when every binding of `s` that can reach the call is a Session: a
`with requests.Session() as s`, `s = requests.Session()`, a parameter annotated
`requests.Session`, or, for `self.session`, every `self.session = ...` in the class being a
Session (or None). A `dict.get` on a variable named `session` therefore never matches.
"""
from __future__ import annotations

from typing import Dict, Optional

import libcst as cst
from libcst.metadata import ParentNodeProvider, ScopeProvider

from unfake_async.codemod.analysis.names import (
    MODULE,
    NameLookup,
    Receiver,
    is_session_annotation,
    is_session_constructor,
)


class SessionTracker:
    """Answers "is this expression a requests Session, and of which kind?" for one module."""

    def __init__(self, visitor: cst.MetadataDependent, lookup: NameLookup) -> None:
        self._visitor = visitor
        self._lookup = lookup
        self._class_attributes: Dict[cst.ClassDef, Dict[str, bool]] = {}

    def _parent(self, node: cst.CSTNode) -> Optional[cst.CSTNode]:
        return self._visitor.get_metadata(ParentNodeProvider, node, None)

    def receiver_for(
        self, expr: cst.BaseExpression, class_def: Optional[cst.ClassDef]
    ) -> Optional[Receiver]:
        if is_session_constructor(self._lookup, expr):
            # `requests.Session().get(u)`: a throwaway session, like the module functions.
            return MODULE
        if isinstance(expr, cst.Name):
            return self._name_receiver(expr)
        if (
            isinstance(expr, cst.Attribute)
            and isinstance(expr.value, cst.Name)
            and expr.value.value == "self"
            and class_def is not None
            and self.session_attributes(class_def).get(expr.attr.value, False)
        ):
            return Receiver("session-attribute", expr, expr.attr.value)
        return None

    def _name_receiver(self, name: cst.Name) -> Optional[Receiver]:
        scope = self._visitor.get_metadata(ScopeProvider, name, None)
        if scope is None:
            return None
        assignments = list(scope[name.value])
        if not assignments:
            return None
        kinds = set()
        for assignment in assignments:
            kind = self._binding_kind(getattr(assignment, "node", None))
            if kind is None:
                return None
            kinds.add(kind)
        if len(kinds) != 1:
            return None
        return Receiver(kinds.pop(), name)

    def _binding_kind(self, node: Optional[cst.CSTNode]) -> Optional[str]:
        """The session kind a single binding creates, or None when it is not (provably) a Session."""
        if isinstance(node, cst.Param):
            return "session-param" if is_session_annotation(self._lookup, node.annotation) else None
        parent = self._parent(node) if node is not None else None
        if isinstance(parent, cst.AsName):
            item = self._parent(parent)
            if isinstance(item, cst.WithItem) and is_session_constructor(self._lookup, item.item):
                return "session-with"
            return None
        if isinstance(parent, cst.AssignTarget):
            assign = self._parent(parent)
            if isinstance(assign, cst.Assign) and is_session_constructor(self._lookup, assign.value):
                return "session-local"
            return None
        if isinstance(parent, cst.AnnAssign) and parent.target is node:
            if parent.value is not None and is_session_constructor(self._lookup, parent.value):
                return "session-local"
            return None
        return None

    def session_attributes(self, class_def: cst.ClassDef) -> Dict[str, bool]:
        """Attributes of `self` that are only ever assigned a requests Session (or None)."""
        cached = self._class_attributes.get(class_def)
        if cached is None:
            collector = _SelfAssignments(self._lookup)
            class_def.body.visit(collector)
            cached = {
                name: all(ok for ok in verdicts) and any(collector.sessions.get(name, ()))
                for name, verdicts in collector.verdicts.items()
            }
            self._class_attributes[class_def] = cached
        return cached


class _SelfAssignments(cst.CSTVisitor):
    """Collects `self.X = value` in a class body: is each value a Session (or None)?"""

    def __init__(self, lookup: NameLookup) -> None:
        self._lookup = lookup
        self.verdicts: Dict[str, list] = {}
        self.sessions: Dict[str, list] = {}

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return False  # a nested class has its own `self`

    def _record(self, target: cst.BaseExpression, value: Optional[cst.BaseExpression]) -> None:
        if not (
            isinstance(target, cst.Attribute)
            and isinstance(target.value, cst.Name)
            and target.value.value == "self"
        ):
            return
        name = target.attr.value
        is_session = value is not None and is_session_constructor(self._lookup, value)
        is_none = isinstance(value, cst.Name) and value.value == "None"
        self.verdicts.setdefault(name, []).append(is_session or is_none)
        self.sessions.setdefault(name, []).append(is_session)

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            self._record(target.target, node.value)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if node.value is not None:
            self._record(node.target, node.value)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._record(node.target, None)

"""LibCST's `MetadataWrapper` without the tree walks that compute nothing.

LibCST walks a module once per round of batchable providers (`_gen_batchable`), and again inside
each of ExpressionContextProvider, ScopeProvider, QualifiedNameProvider and ParentNodeProvider,
whose whole work is a walk of their own started from `visit_Module`: the outer walk visits every
node for nobody. ParentNodeProvider then asks every node for its `children`, a third walk. On a
10,000-line module (2,000 offload sites) a walk costs 0.65 s of CPU; the four providers took 6.5 s.

`MetadataWrapper` here gives the same mappings with fewer walks:
- a round whose providers all work from `visit_Module` alone calls it, without the outer walk;
- the parent map comes from one walk over each node's children (`children_of`, read off its
  fields instead of LibCST rebuilding the node to collect them), in ParentNodeProvider's order
  (each node's children entered when the node is left), so code that iterates it sees the same
  order; `nodes_of_class` indexes it by class;
- qualified names are made for the nodes asked about (`LazyQualifiedNames`), not stored for all;
- a plain read-only visitor (`visit_<Node>`/`leave_<Node>` only) walks with `read_only_walk`,
  the same callbacks in the same order without LibCST's rebuilding walk.

- positions come from `positions.code_ranges`, LibCST's code generation with cheaper bookkeeping;
- inside `read_only_visits()` (the whole of `transform.analyze`), every `CSTVisitor`, LibCST's
  providers and matchers included, walks without LibCST rebuilding each node.

Every other provider and every transformer goes through LibCST unchanged. LibCST internals
relied on: `MetadataWrapper._metadata` (the computed mappings, stable since LibCST 0.3),
`LazyValue` (`get_metadata` calls it; not exported, there since 0.4), each node class's
`_visit_and_replace_children`, run once per class with a recording visitor to learn the order
of its child fields, `CSTNode.visit` (replaced while `read_only_visits` is entered), and
`CodegenState`'s position hooks (`positions`). `tests/test_metadata_wrapper.py` compares every
mapping, the children of every node, every node's position, and recording visitors' calls (per
field too) with LibCST's own on the fixtures, so an upgrade that changes any of them shows.
"""
from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from contextlib import ExitStack, contextmanager
from functools import partial
from types import MappingProxyType
from typing import Callable, Collection, Dict, Iterable, Iterator, List, Optional, Set, Tuple

import libcst as cst
from libcst import BatchableCSTVisitor
from libcst._metadata_dependent import LazyValue
from libcst.metadata import MetadataWrapper as LibCSTMetadataWrapper
from libcst.metadata import ParentNodeProvider, PositionProvider, QualifiedNameProvider, ScopeProvider

from unfake_async.codemod.engine.positions import code_ranges

_MODULE_ONLY = frozenset({"visit_Module"})


class MetadataWrapper(LibCSTMetadataWrapper):
    """Drop-in for `libcst.metadata.MetadataWrapper` (same constructor, same answers)."""

    def resolve_many(self, providers: Collection[type]):
        wanted = _with_dependencies(providers)
        if ParentNodeProvider not in self._metadata and wanted & {ParentNodeProvider, QualifiedNameProvider}:
            self._metadata[ParentNodeProvider] = MappingProxyType(parent_map(self.module))
        if PositionProvider in wanted and PositionProvider not in self._metadata:
            self._metadata[PositionProvider] = code_ranges(self.module)
        if QualifiedNameProvider in wanted and QualifiedNameProvider not in self._metadata:
            scopes = super().resolve_many([ScopeProvider])[ScopeProvider]
            self._metadata[QualifiedNameProvider] = LazyQualifiedNames(
                self.module, self._metadata[ParentNodeProvider], scopes)
        return super().resolve_many(providers)

    def visit(self, visitor):
        """LibCST's `visit`; a plain read-only visitor walks the tree without LibCST rebuilding
        every node on the way (`read_only_walk`)."""
        if not _reads_only(visitor):
            return super().visit(visitor)
        with visitor.resolve(self):
            read_only_walk(self.module, visitor)
        return self.module

    def nodes_of_class(self, kind: type) -> List[cst.CSTNode]:
        """Every node whose class is exactly `kind`, in the parent map's order. The passes ask
        for the calls, defs or classes of a module several times each; one pass over the map
        (200,000 nodes at 10,000 lines) answers all of them."""
        by_class = getattr(self, "_by_class", None)
        if by_class is None:
            by_class = self._by_class = {}
            for node in self.resolve(ParentNodeProvider):
                by_class.setdefault(type(node), []).append(node)
        return by_class.get(kind, [])

    def visit_batched(self, visitors: Iterable[BatchableCSTVisitor], before_visit=None, after_leave=None):
        visitors = list(visitors)
        if before_visit is not None or after_leave is not None or not visitors:
            return super().visit_batched(visitors, before_visit, after_leave)
        methods = [visitor.get_visitors() for visitor in visitors]
        if not all(set(found) <= _MODULE_ONLY for found in methods):
            return super().visit_batched(visitors, before_visit, after_leave)
        with ExitStack() as stack:
            for visitor in visitors:
                stack.enter_context(visitor.resolve(self))
            for visitor, found in zip(visitors, methods):
                if "visit_Module" in found:
                    found["visit_Module"](self.module)
        return self.module


class LazyQualifiedNames(Mapping):
    """QualifiedNameProvider's mapping, each value made when a node is first asked for.

    LibCST's provider walks the module to store a `LazyValue` of the node's scope's
    `get_qualified_names_for(node)` (an empty set where the node has no scope) for every node:
    on a 2,000-site module, a walk and 50 MB of closures for the few thousand nodes the passes
    ask about. Same keys (every node of the module), same values, same order."""

    def __init__(self, module: cst.Module, parents: Mapping, scopes: Mapping) -> None:
        self._module, self._parents, self._scopes = module, parents, scopes
        self._values: Dict[cst.CSTNode, object] = {}

    def __getitem__(self, node: cst.CSTNode):
        value = self._values.get(node)
        if value is None:
            if node is not self._module and node not in self._parents:
                raise KeyError(node)
            scope = self._scopes.get(node)
            value = LazyValue(partial(scope.get_qualified_names_for, node)) if scope else set()
            self._values[node] = value
        return value

    def __iter__(self) -> Iterator[cst.CSTNode]:
        stack = [self._module]  # LibCST's order: each node when it is entered
        while stack:
            node = stack.pop()
            yield node
            stack.extend(reversed(children_of(node)))

    def __len__(self) -> int:
        return len(self._parents) + 1


def read_only_walk(root: cst.CSTNode, visitor: cst.CSTVisitor) -> None:
    """`root.visit(visitor)` for a `CSTVisitor` whose only callbacks are `on_visit` and
    `on_leave` (`visit_<Node>`, `leave_<Node>`): the same calls on the same nodes in the same
    order, each node's children taken from `children_of`. LibCST's walk, made for
    transformers, rebuilds every node it passes even for a visitor (`_visit_and_replace_children`)
    and asks the visitor about every field: 1.2 s for a 10,000-line module, this 0.25 s.
    Iterative: no recursion limit."""
    stack: List[tuple] = [(root, False)]
    while stack:
        node, leaving = stack.pop()
        if leaving:
            visitor.on_leave(node)
        elif visitor.on_visit(node):
            stack.append((node, True))
            stack.extend((child, False) for child in reversed(children_of(node)))
        else:
            visitor.on_leave(node)  # LibCST leaves a node whose children it was told to skip


_ATTRIBUTE_CALLBACK = re.compile(r"^(?:visit|leave)_[A-Za-z]+_\w+$")


def _reads_only(visitor) -> bool:
    """A `CSTVisitor` (not a transformer) without per-field callbacks (`visit_Call_func`, an
    `on_visit_attribute` of its own): what `read_only_walk` serves exactly."""
    return _field_hooks(visitor) == frozenset()


@contextmanager
def read_only_visits() -> Iterator[None]:
    """While inside, `CSTNode.visit` with a `CSTVisitor` (never a transformer) makes the calls
    LibCST's walk makes (`on_visit`, each visited field's `on_visit_attribute` and
    `on_leave_attribute`, the children, `on_leave`) on the same nodes in the same order, without
    LibCST rebuilding and validating each node it passes (`_visit_and_replace_children`).

    `MetadataWrapper.visit` can route a plain visitor itself (`read_only_walk`), but LibCST's
    own providers walk from inside their callbacks (ScopeProvider's `visit_Call` calls
    `node.func.visit(self)`), and so do matcher helpers (`m.findall`): only the method they
    call can serve them. A visitor's result is the node it was given either way. Re-entrant;
    the original method is back on exit. Another thread's visitors see one walk or the other
    while it is entered, never a different sequence of calls: the replacement is process-wide,
    its effect only on speed. `engine.transform.analyze` runs inside it."""
    global _inside
    if _inside:
        yield
        return
    _inside = True
    cst.CSTNode.visit = _visit_reading_only
    try:
        yield
    finally:
        cst.CSTNode.visit = _LIBCST_VISIT
        _inside = False


_LIBCST_VISIT = cst.CSTNode.visit
_inside = False
_DEFAULT = cst.MaybeSentinel.DEFAULT
_FIELD_HOOKS: Dict[type, object] = {}  # per visitor class: `_field_hooks`
_UNKNOWN = object()


def _visit_reading_only(node, visitor):
    hooks = _FIELD_HOOKS.get(type(visitor), _UNKNOWN)  # `_field_hooks`, inlined once known: per node
    if hooks is _UNKNOWN:
        hooks = _field_hooks(visitor)
    if hooks is None:
        return _LIBCST_VISIT(node, visitor)  # a transformer
    if visitor.on_visit(node):
        kind = type(node)
        names = _visited_fields(node)
        if names is None:
            node._visit_and_replace_children(visitor)  # a field visited only when set: LibCST's walk
        else:
            every = hooks is True
            for name in names:
                if every or (hooks and f"visit_{kind.__name__}_{name}" in hooks):
                    visitor.on_visit_attribute(node, name)
                value = getattr(node, name)
                if value is None or value is _DEFAULT:
                    pass
                elif _is_node(value):
                    value.visit(visitor)
                else:
                    for child in value:
                        child.visit(visitor)
                if every or (hooks and f"leave_{kind.__name__}_{name}" in hooks):
                    visitor.on_leave_attribute(node, name)
    visitor.on_leave(node)
    return node


def _is_node(value) -> bool:
    """`isinstance(value, cst.CSTNode)` without an ABC check for every field of every node."""
    kind = type(value)
    known = _NODE_CLASSES.get(kind)
    if known is None:
        known = _NODE_CLASSES[kind] = isinstance(value, cst.CSTNode)
    return known


_NODE_CLASSES: Dict[type, bool] = {}


def _field_hooks(visitor):
    """The visitor's per-field callbacks, known once per visitor class (the class test is an ABC
    check): None for a transformer, True when it hooks every field (an `on_visit_attribute` of its
    own, as matcher and batched visitors have), else the names of its own `visit_<Node>_<field>` /
    `leave_<Node>_<field>` methods (usually none)."""
    kind = type(visitor)
    hooks = _FIELD_HOOKS.get(kind, _UNKNOWN)
    if hooks is _UNKNOWN:
        if not isinstance(visitor, cst.CSTVisitor):
            hooks = None
        elif (kind.on_visit_attribute is not cst.CSTVisitor.on_visit_attribute
                or kind.on_leave_attribute is not cst.CSTVisitor.on_leave_attribute):
            hooks = True
        else:
            # CSTVisitor itself declares every `visit_<Node>_<field>` as a no-op: only the
            # visitor's own count.
            hooks = frozenset(name for name in dir(kind) if _ATTRIBUTE_CALLBACK.match(name)
                              and getattr(kind, name) is not getattr(cst.CSTVisitor, name, None))
        _FIELD_HOOKS[kind] = hooks
    return hooks


def ancestor_ids(nodes: Iterable[cst.CSTNode], parent_of: Callable[[cst.CSTNode], Optional[cst.CSTNode]]) -> Set[int]:
    """The `id`s of every node above `nodes` (`parent_of`: a node's parent, None at the root):
    the nodes a walk must enter to reach them, and the only ones a change to them rebuilds."""
    above: Set[int] = set()
    for node in nodes:
        current = parent_of(node)
        while current is not None and id(current) not in above:
            above.add(id(current))
            current = parent_of(current)
    return above


class WalksTowardsTargets:
    """For a `CSTTransformer` whose every change is made in `on_leave` of known nodes (or of a
    node above one): after `walk_towards(targets, parent_of)`, its walk enters only the nodes
    above the targets. LibCST's walk rebuilds every node it enters; a node it does not enter
    leaves as it came (`on_leave` still gets it). A target without a parent in `parent_of`
    (another tree's node, or the root) keeps the whole walk. Put it before `cst.CSTTransformer`
    among the bases."""

    _walk_into: Optional[Set[int]] = None

    def walk_towards(self, targets: Iterable[cst.CSTNode],
                     parent_of: Callable[[cst.CSTNode], Optional[cst.CSTNode]]) -> None:
        targets = list(targets)
        if any(parent_of(node) is None for node in targets):
            return
        self._walk_into = ancestor_ids(targets, parent_of)

    def on_visit(self, node: cst.CSTNode) -> bool:
        if self._walk_into is not None and id(node) not in self._walk_into:
            return False
        return super().on_visit(node)  # type: ignore[misc]


def parent_map(module: cst.Module) -> Dict[cst.CSTNode, cst.CSTNode]:
    """ParentNodeProvider's mapping, in its order, from one walk (iterative: no recursion limit)."""
    parents: Dict[cst.CSTNode, cst.CSTNode] = {}
    # (node, its children once entered): children are entered in order, each subtree finished
    # before the next, and a node's children are recorded when the node is left.
    stack: List[tuple] = [(module, None)]
    while stack:
        node, children = stack.pop()
        if children is None:
            children = children_of(node)
            stack.append((node, children))
            stack.extend((child, None) for child in reversed(children))
        else:
            for child in children:
                parents[child] = node
    return parents


def children_of(node: cst.CSTNode) -> List[cst.CSTNode]:
    """`node.children`, read off its fields. LibCST's property rebuilds the node with a visitor
    to collect them (0.77 s for the 200,000 nodes of a 10,000-line module; this 0.18 s). Each
    class's `_visit_and_replace_children` visits its fields in one order, learned once per class
    from LibCST itself (`_FieldOrder`); a field it skipped there because it was None (an
    f-string expression's `format_spec` is visited only when there is one) sends any node
    where it is set to LibCST's own property."""
    names = _visited_fields(node)
    if names is None:
        return list(node.children)
    found: List[cst.CSTNode] = []
    for name in names:
        value = getattr(node, name)
        if value is None or value is _DEFAULT:
            continue
        if _is_node(value):
            found.append(value)
        elif isinstance(value, (tuple, list)):
            found.extend(value)
    return found


def _visited_fields(node: cst.CSTNode) -> Optional[Tuple[str, ...]]:
    """The fields LibCST's walk visits on `node`, in its order; None where a field it visits
    only when set is set (the caller takes LibCST's own way then)."""
    order = _FIELD_ORDER.get(type(node))
    if order is None:
        order = _FIELD_ORDER[type(node)] = _FieldOrder.of(node)
    names, unseen = order
    if unseen and any(getattr(node, name) is not None for name in unseen):
        return None
    return names


# Per node class: (the fields visited, in order; the fields left unvisited while None).
_FIELD_ORDER: Dict[type, Tuple[Tuple[str, ...], Tuple[str, ...]]] = {}


class _FieldOrder(cst.CSTVisitor):
    """The fields LibCST visits as a node's children, in its order (what `children` collects,
    named instead of collected)."""

    def __init__(self) -> None:
        super().__init__()
        self.names: List[str] = []

    @classmethod
    def of(cls, node: cst.CSTNode) -> Tuple[Tuple[str, ...], Tuple[str, ...]]:
        recorder = cls()
        node._visit_and_replace_children(recorder)
        visited = tuple(dict.fromkeys(recorder.names))
        unseen = tuple(field.name for field in dataclasses.fields(node)
                       if field.name not in visited and getattr(node, field.name) is None)
        return visited, unseen

    def on_visit(self, node: cst.CSTNode) -> bool:
        return False  # the children's own fields are theirs

    def on_visit_attribute(self, node: cst.CSTNode, attribute: str) -> None:
        self.names.append(attribute)


def _with_dependencies(providers: Iterable[type], gathered: Optional[Set[type]] = None) -> Set[type]:
    gathered = set() if gathered is None else gathered
    for provider in providers:
        if provider not in gathered:
            gathered.add(provider)
            _with_dependencies(provider.METADATA_DEPENDENCIES, gathered)
    return gathered

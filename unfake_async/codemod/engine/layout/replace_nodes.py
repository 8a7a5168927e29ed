"""Replace a few nodes deep in a tree, rebuilding only the nodes above them.

A `CSTTransformer` run to change three nodes rebuilds every node of the tree on its way (LibCST's
walk constructs each node again from its visited children): for the wrap step, a statement's
whole subtree per line it splits. Here only the ancestors of the changed nodes are rebuilt, each
with `with_changes` on the fields that hold a rebuilt child; everything else is shared with the
old tree, as LibCST's immutable nodes allow. What the caller's `change` gets is what a
transformer's `on_leave` would: the node with its children already replaced.
"""
from __future__ import annotations

import dataclasses
from typing import Callable, Dict, Optional, Set

import libcst as cst

from unfake_async.codemod.engine.metadata import ancestor_ids

# The parent of a node of the tree (None for the root).
ParentOf = Callable[[cst.CSTNode], Optional[cst.CSTNode]]
# (original node, node with its changed descendants in place) -> the node to put there.
Change = Callable[[cst.CSTNode, cst.CSTNode], cst.CSTNode]


def replace_nodes(root: cst.CSTNode, targets: Dict[int, cst.CSTNode], parent_of: ParentOf,
                  change: Change) -> cst.CSTNode:
    """`root` with each of `targets` (by `id`; nodes of `root`'s tree) replaced by `change`'s
    answer, bottom-up: a target inside another is changed first."""
    return _rebuild(root, targets, ancestor_ids(targets.values(), parent_of), change)


def _rebuild(node: cst.CSTNode, targets: Dict[int, cst.CSTNode], above: Set[int], change: Change) -> cst.CSTNode:
    updated = node
    if id(node) in above:
        changes = {}
        for field in dataclasses.fields(node):
            value = getattr(node, field.name)
            if isinstance(value, cst.CSTNode):
                rebuilt = _rebuild(value, targets, above, change)
                if rebuilt is not value:
                    changes[field.name] = rebuilt
            elif isinstance(value, (tuple, list)):
                items = [_rebuild(item, targets, above, change) if isinstance(item, cst.CSTNode) else item
                         for item in value]
                if any(new is not old for new, old in zip(items, value)):
                    changes[field.name] = tuple(items)
        if changes:
            updated = node.with_changes(**changes)
    if id(node) in targets:
        updated = change(node, updated)
    return updated

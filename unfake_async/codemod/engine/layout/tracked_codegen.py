"""A module's code, LibCST's positions of its nodes and each node's parent, from one codegen.

Wrapping a statement needs its text (which lines are too long), the positions of the nodes on
those lines and, for the node it splits, the statement holding it. Through `MetadataWrapper`
that is three walks: a codegen for the text, another for `PositionProvider`, and
`ParentNodeProvider`'s walk. Here one codegen writes the text, records the positions the way
LibCST's `PositionProvidingCodegenState` does (same rules: a node's range is where its code
starts and ends, unless the node records a syntactic range inside it, an expression without its
parentheses, a compound statement ending where its body does) and notes each node's parent as
it enters the node.

Why not LibCST's state itself: it makes two frozen dataclasses (`CodePosition`, `CodeRange`) per
node and a generator-based context manager per expression and statement, three quarters of its
cost; the state here is the engine's (`engine/positions.PositionState`: a position is a tuple,
the context manager a plain object) plus the parents. The codegen is LibCST's own (`_codegen`
of each node), so the text is the same. `tests/test_layout_tracked_codegen.py`
compares the text, every position and every parent with LibCST's on the fixtures.

`plain_code` is `Module.code` with the same cheaper context manager, and `StatementTexts` a
module's code joined from its top-level statements' texts, each written once per statement.
"""
from __future__ import annotations

from typing import Dict, Iterable, List, Optional, Tuple

import libcst as cst
from libcst._nodes.internal import CodegenState

from unfake_async.codemod.engine.positions import PositionState

# (start line, start column, end line, end column): lines from 1, columns from 0, as LibCST's.
Span = Tuple[int, int, int, int]


class _NoRecord:
    """`CodegenState.record_syntactic_position` for a state that records nothing."""

    __slots__ = ()

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc_info) -> None:
        return None


_NO_RECORD = _NoRecord()


class _PlainState(CodegenState):
    __slots__ = ()

    def record_syntactic_position(self, node, *, start_node=None, end_node=None):
        return _NO_RECORD


def plain_code(module: cst.Module) -> str:
    """`module.code`: the same tokens, without a generator per expression and statement."""
    return _plain_text(module, module)


def _plain_text(node: cst.CSTNode, module: cst.Module) -> str:
    """The code of `node` (`module` or one of its nodes), with `module`'s indentation and newline."""
    state = _PlainState(default_indent=module.default_indent, default_newline=module.default_newline)
    node._codegen(state)
    return "".join(state.tokens)


class _TrackingState(PositionState):
    """LibCST's positions (`positions.PositionState`), and each node's parent noted as the
    codegen enters it."""

    __slots__ = ("open_nodes", "parents")

    def __init__(self, default_indent: str, default_newline: str) -> None:
        super().__init__(default_indent, default_newline)
        self.open_nodes: List[cst.CSTNode] = []
        self.parents: Dict[int, Optional[cst.CSTNode]] = {}

    def before_codegen(self, node: cst.CSTNode) -> None:
        super().before_codegen(node)
        open_nodes = self.open_nodes
        self.parents[id(node)] = open_nodes[-1] if open_nodes else None
        open_nodes.append(node)

    def after_codegen(self, node: cst.CSTNode) -> None:
        self.open_nodes.pop()
        super().after_codegen(node)


class Tracked:
    """A module's code, its nodes' spans (`PositionProvider`'s ranges, in its order) and each
    node's parent. Lookups are by `id`: the tree must outlive them."""

    def __init__(self, code: str, spans: Dict[int, tuple], parents: Dict[int, Optional[cst.CSTNode]]) -> None:
        self.code, self._spans, self._parents = code, spans, parents

    def spans(self) -> Iterable[Tuple[cst.CSTNode, int, int, int, int]]:
        """(node, start line, start column, end line, end column), in `PositionProvider`'s order."""
        return self._spans.values()

    def span(self, node: cst.CSTNode) -> Span:
        return tuple(self._spans[id(node)][1:])

    def parent(self, node: cst.CSTNode) -> Optional[cst.CSTNode]:
        return self._parents.get(id(node))


def tracked_codegen(module: cst.Module) -> Tracked:
    state = _TrackingState(module.default_indent, module.default_newline)
    module._codegen(state)
    return Tracked("".join(state.tokens), state.spans, state.parents)


class StatementTexts:
    """A module's code written statement by statement, each top-level statement's text kept by
    the statement (LibCST's nodes are immutable): a later module sharing most statements with
    an earlier one (the same rewrite after its imports changed, or after a few statements were
    laid out) is written by joining known texts. A top-level statement's text does not depend
    on what surrounds it, only on the module's indentation and newline (kept with it)."""

    def __init__(self) -> None:
        self._known: Dict[int, Tuple[cst.CSTNode, str, str, str]] = {}

    def code(self, module: cst.Module) -> str:
        """`module.code`."""
        if not module.has_trailing_newline:
            return plain_code(module)  # LibCST drops the last token, whatever it is
        parts = [self._text(module, node, keep=False) for node in module.header]
        parts += [self._text(module, statement, keep=True) for statement in module.body]
        parts += [self._text(module, node, keep=False) for node in module.footer]
        return "".join(parts) or module.default_newline  # LibCST's newline for an empty module

    def remember(self, module: cst.Module, statement: cst.CSTNode, text: str) -> None:
        """`statement`'s text in `module`, known from elsewhere."""
        self._known[id(statement)] = (statement, module.default_indent, module.default_newline, text)

    def _text(self, module: cst.Module, node: cst.CSTNode, keep: bool) -> str:
        known = self._known.get(id(node))
        if known is not None and known[0] is node and known[1:3] == (module.default_indent, module.default_newline):
            return known[3]
        text = _plain_text(node, module)
        if keep:
            self.remember(module, node, text)
        return text

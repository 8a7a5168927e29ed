"""Wrap the lines a rewrite made too long, the way black and `ruff format` wrap them.

LibCST keeps whitespace but cannot format, and a formatter is not a dependency (the project may
use black, ruff, or neither). So only the lines the rewrite wrote and that exceed the project's
line length are split, with black's "right-hand split": at the last bracket pair on the line
whose contents are not empty and whose head fits; the contents go on their own line one step
deeper when they fit there (a call's arguments, a parenthesised expression), else one element
per line with a trailing comma (black's "magic trailing comma", which black and ruff format
keep as it is); a line still too long is split again. A collection literal (the tuple of an
`except`) with several elements is always one per line, as black does. Everything is done by
setting LibCST's own whitespace nodes (`ParenthesizedWhitespace`, `Comma`), never by editing
text. Lines the user wrote are left alone, long or not.
"""
from __future__ import annotations

from typing import Dict, FrozenSet, List, Optional, Sequence, Set, Tuple, Union

import libcst as cst
import libcst.matchers as m
from libcst.metadata import PositionProvider

from unfake_async.codemod.engine.layout.replace_nodes import replace_nodes
from unfake_async.codemod.engine.layout.tracked_codegen import Tracked, plain_code, tracked_codegen
from unfake_async.codemod.engine.metadata import MetadataWrapper

# A line is split at most this many times over (each split goes one bracket deeper).
_MAX_ROUNDS = 8
_Bracketed = Union[cst.Call, cst.Tuple, cst.List, cst.Set, cst.Dict]


def known_lines(original: str) -> FrozenSet[str]:
    """The original's lines, stripped: a line of the rewrite found here is the user's."""
    return frozenset(line.strip() for line in original.splitlines())


def wrap_long_lines_and_code(module: cst.Module, known: FrozenSet[str],
                             line_length: int) -> Tuple[cst.Module, Optional[str]]:
    """`module` with its new lines (not in `known`) longer than `line_length` split, and the
    code of the module returned where the last round read it (else None)."""
    if "\t" in module.default_indent:
        return module, None  # a tab-indented file is not one black or ruff format accepted
    step = module.default_indent
    # The first round nearly always splits (the layout calls it for statements with a long new
    # line): its text comes with the positions. A later round reads the text alone first.
    tracked: Optional[Tracked] = tracked_codegen(module)
    for _ in range(_MAX_ROUNDS):
        code = tracked.code if tracked is not None else plain_code(module)
        lines = code.splitlines()
        long_lines = {
            number for number, text in enumerate(lines, start=1)
            if len(text) > line_length and text.strip() not in known
        }
        if not long_lines:
            return module, code
        tracked = tracked or tracked_codegen(module)
        edits = _plan_splits(tracked, lines, long_lines, line_length, step)
        if not edits:
            return module, code
        module = _apply(module, edits, tracked)
        tracked = None
    return module, None


class _Group:
    """A bracket pair on one line: a call's arguments ("args"), a literal's elements
    ("elements"), or the parentheses around an expression ("parens"); columns of the brackets."""

    def __init__(self, node: cst.CSTNode, kind: str, opening: int, closing: int) -> None:
        self.node, self.kind, self.opening, self.closing = node, kind, opening, closing

    def contains(self, other: "_Group") -> bool:
        return self.opening < other.opening and other.closing < self.closing


def _elements(node: cst.CSTNode) -> Optional[Sequence[cst.CSTNode]]:
    if isinstance(node, cst.Call):
        return node.args
    if isinstance(node, (cst.List, cst.Set, cst.Dict)):
        return node.elements
    if isinstance(node, cst.Tuple) and node.lpar:
        return node.elements
    return None


def _has_trailing_comma(node: cst.CSTNode) -> bool:
    items = _elements(node)
    return bool(items) and isinstance(getattr(items[-1], "comma", None), cst.Comma)


# The module the last layout step read, and its metadata: joining and exploding each read a
# statement's positions, and a step that changes nothing hands the next the same module (for a
# rewritten SDK client, most statements). The wrap reads its own from one codegen
# (`tracked_codegen`).
_last_read: Optional[Tuple[cst.Module, MetadataWrapper]] = None


def layout_metadata(module: cst.Module) -> MetadataWrapper:
    """The metadata of `module`, shared with the previous step when it read this same module."""
    global _last_read
    last = _last_read
    if last is not None and last[0] is module:
        return last[1]
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    _last_read = (module, wrapper)
    return wrapper


def _code(node: cst.CSTNode) -> str:
    return _EMPTY.code_for_node(node)


_EMPTY = cst.Module(body=[])


_SPLITTABLE = (cst.Call, cst.List, cst.Set, cst.Dict, cst.ListComp, cst.SetComp, cst.DictComp)


def _groups(node: cst.CSTNode, start: int, end: int) -> List[_Group]:
    """The bracket pairs `node` owns, given the columns of its code without its parentheses
    (LibCST's syntactic position leaves them out)."""
    parentheses = getattr(node, "lpar", ())
    if not parentheses and not isinstance(node, _SPLITTABLE):
        return []  # most nodes on a long line: a name, an operator, a comma
    groups = []
    lpar = "".join(_code(p) for p in parentheses)
    rpar = "".join(_code(p) for p in getattr(node, "rpar", ()))
    if "\n" in lpar or "\n" in rpar:
        return []  # the parentheses are on other lines: already split
    if isinstance(node, cst.Tuple) and node.lpar:
        return [_Group(node, "elements", start - len(lpar), end - 1 + len(rpar))]
    if isinstance(node, cst.BaseExpression) and node.lpar:
        groups.append(_Group(node, "parens", start - len(lpar), end - 1 + len(rpar)))
    # Brackets with nothing to split (`f()`, `{}`; whitespace or a form feed inside) are no group.
    if isinstance(node, cst.Call) and node.args:
        opening = start + len(_code(node.func)) + len(_code(node.whitespace_after_func))
        groups.append(_Group(node, "args", opening, end - 1))
    elif isinstance(node, (cst.List, cst.Set, cst.Dict)) and node.elements:
        groups.append(_Group(node, "elements", start, end - 1))
    elif isinstance(node, (cst.ListComp, cst.SetComp, cst.DictComp)):
        groups.append(_Group(node, "comprehension", start, end - 1))
    return groups


def _plan_splits(tracked: Tracked, lines: List[str], long_lines: Set[int], line_length: int, step: str):
    """For each long line: the group to split there, and how (hug or explode)."""
    by_line: Dict[int, List[_Group]] = {}
    for node, start_line, start_column, end_line, end_column in tracked.spans():
        if start_line == end_line and start_line in long_lines:
            by_line.setdefault(start_line, []).extend(_groups(node, start_column, end_column))
    edits: Dict[Tuple[cst.CSTNode, str], Tuple[bool, str, str]] = {}
    for number, groups in by_line.items():
        text = lines[number - 1]
        chosen = _right_hand_group(groups, text, line_length)
        if chosen is None:
            continue
        indent = _statement_indent(chosen.node, tracked.parent, lambda node: tracked.span(node)[1])
        line_indent = len(text) - len(text.lstrip(" "))
        if indent is None or line_indent < indent:
            continue
        inner = " " * (line_indent - indent) + step
        outer = " " * (line_indent - indent)
        content = text[chosen.opening + 1:chosen.closing].strip()
        fits = line_indent + len(step) + len(content) <= line_length
        count = len(_elements(chosen.node) or ()) if chosen.kind in ("args", "elements") else 1
        if chosen.kind == "comprehension":
            count = 2  # the element and its `for` clause(s), one per line when they do not fit
        magic = chosen.kind in ("args", "elements") and _has_trailing_comma(chosen.node)
        explode = magic or (count > 1 and (chosen.kind == "elements" or not fits))
        edits[(chosen.node, chosen.kind)] = (explode, inner, outer)
    return edits


def _right_hand_group(groups: List[_Group], text: str, line_length: int) -> Optional[_Group]:
    """black's right-hand split: the last bracket pair on the line (not inside another pair)
    with something inside, moving left past pairs whose opening line would still be too long."""
    outermost = [g for g in groups if not any(o.contains(g) for o in groups)]
    candidates = sorted((g for g in outermost if text[g.opening + 1:g.closing].strip()),
                        key=lambda g: g.closing, reverse=True)
    for group in candidates:
        if group.opening + 1 <= line_length:
            return group
    return candidates[0] if candidates else None


def _statement_indent(node, parent_of, start_column) -> Optional[int]:
    """The column the statement holding `node` starts at: its block's indentation, which a
    `ParenthesizedWhitespace(indent=True)` writes before its own spaces."""
    current = node
    while current is not None and not isinstance(current, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
        current = parent_of(current)
    return None if current is None else start_column(current)


def _newline(indent: str) -> cst.ParenthesizedWhitespace:
    return cst.ParenthesizedWhitespace(
        first_line=cst.TrailingWhitespace(), empty_lines=[], indent=True,
        last_line=cst.SimpleWhitespace(indent),
    )


def _apply(module: cst.Module, edits, tracked: Tracked) -> cst.Module:
    """`module` with `edits` made, rebuilding only the nodes above the ones split."""
    targets = {id(node): node for node, _ in edits}

    def split(original_node, updated_node):
        inner_edit = edits.get((original_node, "args")) or edits.get((original_node, "elements"))
        if inner_edit is not None:
            updated_node = _split_elements(updated_node, *inner_edit)
        comprehension_edit = edits.get((original_node, "comprehension"))
        if comprehension_edit is not None:
            updated_node = _split_comprehension(updated_node, *comprehension_edit)
        parens_edit = edits.get((original_node, "parens"))
        if parens_edit is not None:
            updated_node = _split_parens(updated_node, *parens_edit[1:])
        return updated_node

    return replace_nodes(module, targets, tracked.parent, split)


def _split_comprehension(node, explode: bool, inner: str, outer: str):
    """`[elt for x in xs if c]`: the brackets' contents on their own line, or (explode) the
    element and each `for`/`if` clause on a line of its own, as black splits them."""
    if explode:
        clause = node.for_in
        chain = []
        while clause is not None:
            ifs = [test.with_changes(whitespace_before=_newline(inner)) for test in clause.ifs]
            chain.append(clause.with_changes(whitespace_before=_newline(inner), ifs=ifs))
            clause = clause.inner_for_in
        rebuilt = None
        for clause in reversed(chain):
            rebuilt = clause.with_changes(inner_for_in=rebuilt)
        node = node.with_changes(for_in=rebuilt)
    return node.with_changes(lbracket=node.lbracket.with_changes(whitespace_after=_newline(inner)),
                             rbracket=node.rbracket.with_changes(whitespace_before=_newline(outer)))


def _split_parens(node: cst.BaseExpression, inner: str, outer: str) -> cst.BaseExpression:
    lpar, rpar = list(node.lpar), list(node.rpar)
    lpar[0] = lpar[0].with_changes(whitespace_after=_newline(inner))
    rpar[-1] = rpar[-1].with_changes(whitespace_before=_newline(outer))
    return node.with_changes(lpar=lpar, rpar=rpar)


def _split_elements(node: _Bracketed, explode: bool, inner: str, outer: str) -> cst.CSTNode:
    items = list(_elements(node))
    if explode:
        items = [item.with_changes(comma=cst.Comma(whitespace_after=_newline(inner))) for item in items[:-1]]\
            + [items[-1].with_changes(comma=cst.Comma())]
    if isinstance(node, cst.Call):
        # An argument writes its whitespace before its comma: the line break goes after the comma.
        if explode:
            last = items[-1].with_changes(whitespace_after_arg=cst.SimpleWhitespace(""),
                                          comma=cst.Comma(whitespace_after=_newline(outer)))
        else:
            last = items[-1].with_changes(whitespace_after_arg=_newline(outer))
        return node.with_changes(args=items[:-1] + [last], whitespace_before_args=_newline(inner))
    if isinstance(node, cst.Tuple):
        lpar, rpar = list(node.lpar), list(node.rpar)
        lpar[0] = lpar[0].with_changes(whitespace_after=_newline(inner))
        rpar[-1] = rpar[-1].with_changes(whitespace_before=_newline(outer))
        return node.with_changes(elements=items, lpar=lpar, rpar=rpar)
    if isinstance(node, cst.Dict):
        return node.with_changes(
            elements=items, lbrace=node.lbrace.with_changes(whitespace_after=_newline(inner)),
            rbrace=node.rbrace.with_changes(whitespace_before=_newline(outer)))
    return node.with_changes(
        elements=items, lbracket=node.lbracket.with_changes(whitespace_after=_newline(inner)),
        rbracket=node.rbracket.with_changes(whitespace_before=_newline(outer)))


def one_line_arguments(args: Sequence[cst.Arg]) -> List[cst.Arg]:
    """Arguments moved into a new call, on one line: the line breaks and hanging indents they
    had in their old call mean nothing in the new one (a line too long is wrapped afterwards).
    Arguments with a comment between them keep their layout (and their comment)."""
    args = list(args)
    if not args or any(_has_comment(arg) for arg in args):
        return args
    between = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
    flat = [arg.with_changes(whitespace_after_arg=cst.SimpleWhitespace(""), comma=between) for arg in args[:-1]]
    return flat + [args[-1].with_changes(whitespace_after_arg=cst.SimpleWhitespace(""),
                                         comma=cst.MaybeSentinel.DEFAULT)]


def _has_comment(arg: cst.Arg) -> bool:
    pieces = [arg.whitespace_after_arg, arg.whitespace_after_star]
    if isinstance(arg.comma, cst.Comma):
        pieces += [arg.comma.whitespace_before, arg.comma.whitespace_after]
    return any(isinstance(p, cst.ParenthesizedWhitespace) and (
        p.first_line.comment is not None or any(line.comment is not None for line in p.empty_lines))
        for p in pieces)


# Whitespace a joined statement writes as nothing (inside brackets, around a dot, before a
# comma); everywhere else a line break becomes one space.
_NO_SPACE = {
    (cst.LeftParen, "whitespace_after"), (cst.LeftSquareBracket, "whitespace_after"),
    (cst.LeftCurlyBrace, "whitespace_after"), (cst.RightParen, "whitespace_before"),
    (cst.RightSquareBracket, "whitespace_before"), (cst.RightCurlyBrace, "whitespace_before"),
    (cst.Call, "whitespace_before_args"), (cst.Call, "whitespace_after_func"),
    (cst.Arg, "whitespace_after_arg"), (cst.Comma, "whitespace_before"),
    (cst.Dot, "whitespace_before"), (cst.Dot, "whitespace_after"),
}


class _Join(cst.CSTTransformer):
    def on_leave(self, original_node, updated_node):
        changes = {}
        for name in getattr(updated_node, "__dataclass_fields__", {}):
            value = getattr(updated_node, name)
            if isinstance(value, cst.ParenthesizedWhitespace):
                space = "" if (type(updated_node), name) in _NO_SPACE else " "
                changes[name] = cst.SimpleWhitespace(space)
        return updated_node.with_changes(**changes) if changes else updated_node


def _joinable(statement: cst.SimpleStatementLine) -> bool:
    """No comment, backslash or trailing comma (black's "magic" one keeps a split) inside."""
    code = _code(statement.with_changes(leading_lines=[]))
    if "#" in code or "\\\n" in code:
        return False
    return not _has_trailing(statement)


def _has_trailing(statement: cst.CSTNode) -> bool:
    """A trailing comma anywhere inside (but `(x,)`'s, which is not black's magic one)."""
    return any(
        _has_trailing_comma(node) and not (isinstance(node, cst.Tuple) and len(node.elements) == 1)
        for node in m.findall(statement, m.Call() | m.List() | m.Tuple() | m.Set() | m.Dict())
    )


def join_rewritten_statements(module: cst.Module, known: FrozenSet[str]) -> cst.Module:
    """Statements the rewrite changed that span several lines, written on one line again (the
    wrapping then splits them where black would): their old line breaks were made for code
    that is no longer there. Statements with comments or a magic trailing comma keep theirs."""
    wrapper = layout_metadata(module)
    positions = wrapper.resolve(PositionProvider)
    lines = module.code.splitlines()
    chosen = set()
    for node, span in positions.items():
        if not isinstance(node, cst.SimpleStatementLine) or span.start.line == span.end.line:
            continue
        if all(lines[n - 1].strip() in known for n in range(span.start.line, span.end.line + 1)):
            continue
        if _joinable(node):
            chosen.add(node)
    if not chosen:
        return module

    class _JoinChosen(cst.CSTTransformer):
        def leave_SimpleStatementLine(self, original_node, updated_node):
            if original_node not in chosen:
                return updated_node
            joined = updated_node.visit(_Join())
            if "\n" in _code(joined.with_changes(leading_lines=[])).rstrip("\n"):
                return updated_node  # a string over several lines: nothing to join
            return joined

    return wrapper.module.visit(_JoinChosen())


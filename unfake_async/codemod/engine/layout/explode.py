"""A call the rewrite wrote whose arguments hug its brackets while one of them spans lines, laid
out one argument per line as black does (the step between joining and wrapping, see wrap.py).

The case: `requests.request(method=..., headers={...})` black-formatted, its dict ending in
black's magic trailing comma, becomes `client.request("GET", url, headers={` + the dict's lines
+ `})`. That statement cannot be joined (the magic comma keeps it split) and the right-hand
split cannot take the call (its brackets are on different lines), so it stays as neither black
nor ruff format would leave it.
"""
from __future__ import annotations

from typing import Dict, FrozenSet, Tuple

import libcst as cst
from libcst.metadata import ParentNodeProvider, PositionProvider

from unfake_async.codemod.engine.layout.wrap import (
    _code,
    _has_comment,
    _newline,
    _statement_indent,
    layout_metadata,
)


class _Shift(cst.CSTTransformer):
    """Move every line break's indentation inside a node by `delta` columns."""

    def __init__(self, delta: int) -> None:
        super().__init__()
        self.delta = delta

    def leave_ParenthesizedWhitespace(self, original_node, updated_node):
        if not updated_node.indent:
            return updated_node
        width = max(0, len(updated_node.last_line.value) + self.delta)
        return updated_node.with_changes(last_line=cst.SimpleWhitespace(" " * width))


def _last_line_indent(node: cst.CSTNode) -> int:
    last = _code(node).splitlines()[-1]
    return len(last) - len(last.lstrip(" "))


def explode_multiline_arguments(module: cst.Module, known: FrozenSet[str], step: str) -> cst.Module:
    """A call the rewrite wrote whose arguments hug its brackets while one of them spans lines
    (a black-formatted dict with its magic trailing comma, moved into the new call) gets one
    argument per line, as black writes it: `post(url, json={` + the dict's lines + `})` is
    neither joinable (the magic comma) nor splittable by the right-hand split (its brackets are
    on different lines). The spanning arguments keep their own line breaks, shifted so that
    their last line sits at the arguments' indentation."""
    if "\t" in module.default_indent:
        return module
    wrapper = layout_metadata(module)
    positions = wrapper.resolve(PositionProvider)
    parents = wrapper.resolve(ParentNodeProvider)
    lines = module.code.splitlines()
    edits: Dict[cst.Call, Tuple[str, str]] = {}
    for node, span in positions.items():
        if not isinstance(node, cst.Call) or span.start.line == span.end.line or not node.args:
            continue
        if lines[span.start.line - 1].strip() in known or "\n" in _code(node.whitespace_before_args):
            continue
        if not any("\n" in _code(arg.value) for arg in node.args) or any(_has_comment(a) for a in node.args):
            continue
        if any(isinstance(p, cst.Call) and p in edits for p in _ancestors(node, parents)):
            continue  # an enclosing call is exploded: this one moves with it
        indent = _statement_indent(node, parents.get, lambda statement: positions[statement].start.column)
        text = lines[span.start.line - 1]
        line_indent = len(text) - len(text.lstrip(" "))
        if indent is None or line_indent < indent or "#" in _code(node):
            continue
        outer = " " * (line_indent - indent)
        edits[node] = (outer + step, outer)
    if not edits:
        return module

    class _Explode(cst.CSTTransformer):
        def leave_Call(self, original_node, updated_node):
            layout = edits.get(original_node)
            if layout is None:
                return updated_node
            inner, outer = layout
            args = []
            for index, arg in enumerate(updated_node.args):
                if "\n" in _code(arg.value):
                    arg = arg.with_changes(value=arg.value.visit(_Shift(len(inner) - _last_line_indent(arg.value))))
                last = index == len(updated_node.args) - 1
                args.append(arg.with_changes(whitespace_after_arg=cst.SimpleWhitespace(""), comma=cst.Comma(
                    whitespace_after=_newline(outer if last else inner))))
            return updated_node.with_changes(args=args, whitespace_before_args=_newline(inner))

    return wrapper.module.visit(_Explode())


def _ancestors(node, parents):
    current = parents.get(node)
    while current is not None:
        yield current
        current = parents.get(current)

"""`layout.tracked_codegen` gives LibCST's own text, positions and parents from one codegen, and
`layout.replace_nodes` the tree a transformer making the same changes gives."""
from __future__ import annotations

import pathlib

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, ParentNodeProvider, PositionProvider

from unfake_async.codemod.engine.layout.replace_nodes import replace_nodes
from unfake_async.codemod.engine.layout.tracked_codegen import plain_code, tracked_codegen

FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "fixtures"
EXTRA = {
    "CRLF and a lone CR in a string": 'x = 1\r\ndef f(\r\n    a,\r\n):\r\n    return "a\\rb"\r\n',
    "no trailing newline": "def f():\n    return (1 +\n        2)",
    "decorators, comments, nested blocks": (
        "# head\n@dec(1)\n# between\nclass A:\n    @property\n    def x(self):\n        if self:\n"
        "            return [i for i in (1, 2)]  # tail\n        # footer\n\n\n# end\n"),
    "tabs and semicolons": "if a:\n\tb = 1; c = (2,\n\t\t3)\n",
}


def _texts():
    texts = [pytest.param(code, id=name) for name, code in EXTRA.items()]
    for folder in sorted(FIXTURES.iterdir()):
        if (folder / "after.py").exists():
            texts.append(pytest.param((folder / "after.py").read_text(), id=folder.name))
    return texts


@pytest.mark.parametrize("code", _texts())
def test_text_positions_and_parents_are_libcsts(code):
    module = cst.parse_module(code)
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    positions = wrapper.resolve(PositionProvider)
    parents = wrapper.resolve(ParentNodeProvider)
    tracked = tracked_codegen(module)
    assert tracked.code == module.code == plain_code(module)
    expected = [(node, (r.start.line, r.start.column, r.end.line, r.end.column)) for node, r in positions.items()]
    assert [(node, tuple(span)) for node, *span in tracked.spans()] == expected  # same nodes, ranges, order
    assert all(tracked.parent(node) is parents.get(node) for node in positions)
    assert tracked.parent(module) is None


class _ReplaceNames(cst.CSTTransformer):
    def __init__(self, names) -> None:
        super().__init__()
        self.names = names

    def leave_Name(self, original_node, updated_node):
        return updated_node.with_changes(value=updated_node.value.upper()) if original_node in self.names else updated_node

    def leave_Call(self, original_node, updated_node):
        if original_node in self.names:
            return updated_node.with_changes(args=[*updated_node.args, cst.Arg(cst.Integer("0"))])
        return updated_node


def test_replacing_nodes_rebuilds_only_their_ancestors_and_equals_a_transformer():
    module = cst.parse_module("def f():\n    g(a, h(b))\n    return c\n\n\ndef k():\n    return d\n")
    tracked = tracked_codegen(module)
    calls = [n for n, *_ in tracked.spans() if isinstance(n, cst.Call)]
    names = [n for n, *_ in tracked.spans() if isinstance(n, cst.Name) and n.value in ("a", "b")]
    outer = next(c for c in calls if c.func.value == "g")
    targets = {id(n): n for n in [outer, *names]}  # `b` lies inside `h(b)` inside `g(...)`

    def change(original, updated):
        if isinstance(updated, cst.Name):
            return updated.with_changes(value=updated.value.upper())
        return updated.with_changes(args=[*updated.args, cst.Arg(cst.Integer("0"))])

    replaced = replace_nodes(module, targets, tracked.parent, change)
    expected = module.visit(_ReplaceNames(set(targets.values())))
    assert replaced.code == expected.code == "def f():\n    g(A, h(B), 0)\n    return c\n\n\ndef k():\n    return d\n"
    assert replaced.deep_equals(expected)
    # What lies off the path is shared with the old tree: nothing else was rebuilt.
    assert replaced.body[1] is module.body[1]
    assert replaced.body[0].body.body[1] is module.body[0].body.body[1]
    assert replaced.body[0] is not module.body[0]


def test_replacing_nothing_returns_the_same_tree():
    module = cst.parse_module("x = f(1)\n")
    tracked = tracked_codegen(module)
    assert replace_nodes(module, {}, tracked.parent, lambda o, u: u) is module


@pytest.mark.parametrize("code", _texts())
def test_statement_texts_write_what_libcst_writes_and_reuse_kept_statements(code):
    from unfake_async.codemod.engine.layout.tracked_codegen import StatementTexts

    module = cst.parse_module(code)
    texts = StatementTexts()
    assert texts.code(module) == module.code
    # A module sharing all but its first statement (a new import) with the one written.
    changed = module.with_changes(body=[cst.parse_statement("import os\n"), *module.body[1:]])
    assert texts.code(changed) == changed.code
    # A statement's text remembered for another module with another indentation is not used.
    tabbed = module.with_changes(default_indent="\t")
    assert texts.code(tabbed) == tabbed.code


def test_a_remembered_text_is_used_for_that_statement_only():
    from unfake_async.codemod.engine.layout.tracked_codegen import StatementTexts

    module = cst.parse_module("x = 1\ny = 2\n")
    texts = StatementTexts()
    texts.remember(module, module.body[0], "X = 1\n")
    assert texts.code(module) == "X = 1\ny = 2\n"  # the remembered text is what is written
    copy = module.with_changes(body=[module.body[0].deep_clone(), module.body[1]])
    assert texts.code(copy) == "x = 1\ny = 2\n"  # an equal but other statement is written anew

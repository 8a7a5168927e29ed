"""`analysis.names`' node builders: the expressions the migration writes per site, built as nodes, are the
text (and the tree) the parse of that text gives; where they cannot promise it, they parse."""
from __future__ import annotations

import libcst as cst
import pytest

from unfake_async.codemod.analysis import names as built_nodes
from unfake_async.codemod.analysis.names import code
from unfake_async.codemod.migrate import arguments
from unfake_async.codemod.migrate.per_call_options import timeout_value


@pytest.mark.parametrize("text", ["_http_client", "self._get_client", "a.b.c"])
def test_a_call_without_arguments_is_the_parsed_call(text):
    built = built_nodes.build_call(text)
    assert code(built) == f"{text}()"
    assert built.deep_equals(cst.parse_expression(f"{text}()"))


@pytest.mark.parametrize("text", ["a b", "x.class", "None", "f()", "a..b", ""])
def test_a_name_that_is_not_a_plain_dotted_name_is_not_built(text):
    assert built_nodes.dotted_name(text) is None
    assert built_nodes.build_call(text) is None


@pytest.mark.parametrize("value", ["10", "(10)", "1.5", "settings.TIMEOUT", "f(x, y=2)", "x if y else z",
                                   "( 3 )", "lambda: 5", "[1, 2][0]"])
def test_the_timeout_is_the_text_and_tree_the_parse_gave(value):
    expression = cst.parse_expression(value)
    for target in ("httpx", "httpx2"):
        text = f"{target}.Timeout({value}, pool=None)"
        built = arguments._timeout(expression, target)
        assert code(built) == text
        assert built.deep_equals(cst.parse_expression(text))
        if isinstance(expression, (cst.Integer, cst.Float)):
            assert code(timeout_value(expression, target)) == text


@pytest.mark.parametrize("connect, read", [("3", "10"), ("(3)", "read_timeout"), ("a.b", "f(1)")])
def test_a_connect_read_tuple_is_the_text_and_tree_the_parse_gave(connect, read):
    built = arguments._timeout(cst.parse_expression(f"({connect}, {read})"), "httpx")
    text = f"httpx.Timeout(None, connect={connect}, read={read})"
    assert code(built) == text
    assert built.deep_equals(cst.parse_expression(text))


def test_a_value_over_several_lines_goes_through_the_parser_as_before():
    value = cst.parse_expression("(\n10\n)")
    assert not built_nodes.reusable(value)
    text = f"httpx.Timeout({code(value)}, pool=None)"
    assert arguments._timeout(value, "httpx").deep_equals(cst.parse_expression(text))

"""`layout.pieces.parse_module`: a long text parsed one piece of top-level statements at a time
gives the very tree `cst.parse_module` gives (`deep_equals`), or is parsed whole."""
from __future__ import annotations

import pathlib

import libcst as cst
import pytest

from unfake_async.codemod.engine.layout import pieces

FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "fixtures"


def _text_params():
    for folder in sorted(FIXTURES.iterdir()):
        for name in ("before.py", "after.py"):
            if (folder / name).exists():
                yield pytest.param((folder / name).read_text(), id=f"{folder.name}/{name}")


def _pieced(code: str) -> cst.Module:
    # Pieces of one character at least: a piece wherever the text may be cut.
    return pieces.parse_module(code, piece_chars=1)


def _same_as_whole(code: str) -> cst.Module:
    pieced, whole = _pieced(code), cst.parse_module(code)
    assert pieced.code == code
    assert (pieced.default_indent, pieced.default_newline, pieced.has_trailing_newline) == \
        (whole.default_indent, whole.default_newline, whole.has_trailing_newline)
    assert pieced.deep_equals(whole)
    return pieced


@pytest.mark.parametrize("code", list(_text_params()))
def test_every_fixture_parses_in_pieces_to_the_whole_parse(code):
    _same_as_whole(code)


def test_a_long_module_is_really_cut_and_still_the_same_tree(monkeypatch):
    calls = []
    real = cst.parse_module
    monkeypatch.setattr(pieces.cst, "parse_module", lambda text: calls.append(text) or real(text))
    code = "import asyncio\n\n\n" + "".join(
        f"async def fetch_{n}(url):\n    return await asyncio.sleep({n})\n\n\n" for n in range(50))
    code = code.rstrip("\n") + "\n"
    pieced = pieces.parse_module(code, piece_chars=200)
    assert len(calls) > 5 and max(map(len, calls)) < 500
    assert pieced.deep_equals(real(code))


CASES = {
    # Blank lines then a comment indented as the block: the block's footer owns them all.
    "indented comment after a block": "def f():\n    pass\n\n\n    # still f's\ndef g():\n    pass\n",
    "comment between statements": "def f():\n    pass\n\n# about g\n\ndef g():\n    pass\n",
    "whitespace-only line between": "def f():\n    pass\n    \n\ndef g():\n    pass\n",
    "decorators and blank lines": "def f():\n    pass\n\n\n@a\n\n@b\ndef g():\n    pass\n\n\nx = 1\n",
    "semicolons": "def f():\n    pass\n\n\na = 1; b = 2\n\n\nc = 3\n",
    "no trailing newline": "def f():\n    pass\n\n\nx = 1",
    "CRLF": "def f():\r\n    pass\r\n\r\n\r\ndef g():\r\n    pass\r\n",
    "tabs": "def f():\n\tpass\n\n\ndef g():\n\tpass\n",
    # The module's indentation is its first block's; a later piece alone would detect its own.
    "a later block indented otherwise": "def f():\n  pass\n\n\ndef g():\n    pass\n\n\ndef h():\n  pass\n",
    "no block in the first piece": "x = 1\n\n\ny = (\n\t2)\n\n\ndef g():\n  pass\n",
    "header comment and footer": "# header\n\nimport os\n\n\ndef f():\n    pass\n\n# the end\n",
    "form feed between": "def f():\n    pass\n\x0c\ndef g():\n    pass\n",
    "a string spanning the gap": 'x = """\n\n"""\n\n\ndef f():\n    pass\n',
    "backslash continuation": "x = 1 + \\\n    2\n\n\ndef f():\n    pass\n",
}


@pytest.mark.parametrize("code", CASES.values(), ids=list(CASES))
def test_edge_cases_parse_to_the_whole_parse(code):
    _same_as_whole(code)


def test_syntax_python_rejects_is_parsed_whole():
    code = "def f():\n    pass\n\n\nx = (\n"
    with pytest.raises(cst.ParserSyntaxError):
        pieces.parse_module(code, piece_chars=1)

"""The `ast` shortcuts of `transform.analyze`: the function-local slice (`codemod/engine/local_slice.py`)
a check run analyses instead of the whole module when only loop hygiene (UFA009, UFA010) can
fire, and the skipping of passes whose required calls no coroutine makes. What the slice keeps,
when it refuses, and that with and without the shortcuts the findings (rule, message,
positions, fix) and the fixes are exactly the same."""
from __future__ import annotations

import ast
import functools
import re
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.sampling import sampled
from unfake_async.codemod.engine.local_slice import function_local_slice
from unfake_async.codemod.engine.model import FixLevel
from unfake_async.codemod.engine.transform import analyze
from unfake_async.codemod.passes.loop_hygiene import LoopHygienePass
from unfake_async.rules import ufa009_get_event_loop, ufa010_time_sleep
from unfake_async.settings import Settings

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
TARGETS = LoopHygienePass.local_calls


@functools.lru_cache(maxsize=None)
def both(source: str, settings: Settings = None):
    sliced = analyze(source, settings=settings, fix_level=FixLevel.NONE)
    whole = analyze(source, settings=settings, fix_level=FixLevel.NONE, shortcuts=False)
    return sliced.findings, whole.findings


def kept_lines(source: str):
    cut = function_local_slice(textwrap.dedent(source), TARGETS)
    assert cut is not None
    return [line.strip() for line in cut.text.splitlines() if line.strip()], cut


BIG_CLASS = """
import asyncio
import time as clock

LIMIT = 3


def helper(x=1):
    return clock.sleep(x)


class Tests:
    \"\"\"Many methods; one needs looking at.\"\"\"

    retries = 2

    def test_sync(self):
        clock.sleep(1)

    async def test_async_sleep(self):
        await asyncio.sleep(1)

    @decorated(
        clock.sleep,
    )
    async def test_real(self):  # the one
        loop = asyncio.get_event_loop()

        def inner():
            clock.sleep(2)

        return loop


class Other:
    async def a(self):
        return 1
"""


def test_keeps_module_statements_the_function_and_class_headers_and_stubs_the_rest():
    lines, cut = kept_lines(BIG_CLASS)
    assert lines == [
        "import asyncio", "import time as clock", "LIMIT = 3",
        "def helper(x=1):", "pass",  # sync: a stub, so `helper` stays bound
        "class Tests:",
        "@decorated(", "clock.sleep,", ")", "async def test_real(self):  # the one",
        "loop = asyncio.get_event_loop()", "def inner():", "clock.sleep(2)", "return loop",
        "class Other:", "pass",
    ]
    source = textwrap.dedent(BIG_CLASS).split("\n")
    for number, text in zip(cut.line_numbers, cut.text.split("\n")):
        if text.strip() != "pass":
            assert source[number - 1] == text  # verbatim, so columns hold
    compile(cut.text, "slice", "exec")


def test_asyncio_sleep_is_not_a_candidate_but_an_aliased_time_sleep_is():
    lines, _ = kept_lines("""
        import asyncio
        from time import sleep as nap

        async def a():
            await asyncio.sleep(1)

        async def b():
            nap(1)
    """)
    assert "await asyncio.sleep(1)" not in lines and "nap(1)" in lines


@pytest.mark.parametrize("source", [
    "import time\nx = 1\r\nasync def f():\n    time.sleep(1)\n",  # carriage return
    "import time\nasync def f(:\n    time.sleep(1)\n",  # Python's parser says no
    "import time\ndef g():\n    global time\n    time = None\nasync def f():\n    time.sleep(1)\n",
])
def test_refuses_what_it_cannot_slice_faithfully(source):
    assert function_local_slice(source, TARGETS) is None


def test_an_expression_nested_deeper_than_the_stack_is_sliced():
    deep = "import time\n\nasync def f():\n    x = " + " + ".join(["1"] * 1500) + "\n    time.sleep(1)\n"
    assert function_local_slice(deep, TARGETS).text == deep.replace("\n\n", "\n")  # the blank line goes


def test_a_slice_is_used_where_only_loop_hygiene_can_fire_and_findings_map_back():
    source = textwrap.dedent(BIG_CLASS)
    sliced, whole = both(source)
    assert sliced == whole
    assert [(f.rule_id, f.line, f.col) for f in sliced] == [("UFA009", 27, 16)]


def test_suppression_comments_are_read_on_the_full_text():
    source = "import time\n\n\nasync def f():\n    time.sleep(1)  # noqa: UFA010\n    time.sleep(2)\n"
    sliced, whole = both(source)
    assert sliced == whole and [f.line for f in sliced] == [6]


# -- sliced == whole, over a corpus --------------------------------------------------------------

SHAPES = {
    "module alias": "import time as t\nimport asyncio as aio\n\nasync def f():\n    t.sleep(1)\n    return aio.get_event_loop()\n",
    "name alias": "from time import sleep as nap\nfrom asyncio import get_event_loop as gel\n\nasync def f():\n    nap(1)\n    gel()\n",
    "shadowed by a stub": "from time import sleep\n\ndef sleep(x):\n    return x\n\nasync def f():\n    sleep(1)\n",
    "class shadows": "import time\n\nclass time:\n    @staticmethod\n    def sleep(x):\n        pass\n\nasync def f():\n    time.sleep(1)\n",
    "local import elsewhere": "def g():\n    import time\n\nasync def f():\n    time.sleep(1)\n",
    "local import inside": "async def f():\n    import time\n    time.sleep(1)\n",
    "class-level import": "class A:\n    import time\n\n    async def f(self):\n        time.sleep(1)\n",
    "nested class": "import asyncio\n\nclass A:\n    class B:\n        async def f(self):\n            return asyncio.get_event_loop()\n    x = 1\n",
    "conditional def in class": "import time, sys\n\nclass A:\n    if sys.version_info > (3,):\n        async def f(self):\n            time.sleep(1)\n",
    "one-line defs": "import time\ndef g(): return time.sleep(1)\nclass C: x = 1\nasync def f(): time.sleep(1)\n",
    "multi-line header": "import time\n\nasync def f(\n    a,\n    b=(c := 1),\n):\n    time.sleep(a)\n\ndef g(\n    x=(t := time),\n):\n    pass\n",
    "closure": "import time\n\nasync def outer():\n    s = time.sleep\n    def inner():\n        time.sleep(1)\n    async def deeper():\n        time.sleep(2)\n    return inner\n",
    "lambda and generator": "import time\n\nasync def f():\n    g = lambda: time.sleep(1)\n    return list(time.sleep(0) for _ in range(2))\n",
    "decorator and default": "import time\n\n@time.sleep\nasync def f(x=time.sleep(1)):\n    return x\n",
    "star args": "import time\n\nasync def f(*a):\n    time.sleep(*a)\n",
    "unicode columns": "import time\n\nasync def f():\n    s = 'ünïcödé'; time.sleep(1)\n",
    "events module": "import asyncio.events\nfrom asyncio import events as ev\n\nasync def f():\n    asyncio.events.get_event_loop()\n    ev.get_event_loop()\n",
    "if main": "import time\n\nif __name__ == '__main__':\n    async def f():\n        time.sleep(1)\n",
    "try import": "try:\n    import time\nexcept ImportError:\n    time = None\n\nasync def f():\n    time.sleep(1)\n",
    "tabs": "import time\n\nclass A:\n\tdef a(self):\n\t\tpass\n\n\tasync def f(self):\n\t\ttime.sleep(1)\n",
}

_REQUESTS_LINE = re.compile(r"^\s*(import|from)\s+(requests|httpx2?|aiohttp|urllib3?|urllib\.\w+)\b.*$", re.M)


def _fixture_sources():
    """Every fixture file with its HTTP-library imports commented out, so loop hygiene is all
    that can fire and the slice is used."""
    for path in sorted(FIXTURES.glob("*/*.py")):
        text = path.read_text(encoding="utf-8")
        yield f"{path.parent.name}/{path.name}", _REQUESTS_LINE.sub(lambda m: "# " + m.group(0), text)


def _rule_examples():
    for module in (ufa009_get_event_loop, ufa010_time_sleep):
        rule = module.RULE
        for number, example in enumerate(rule.examples):
            yield f"{rule.id}-example-{number}", textwrap.dedent(example.before)
        for number, valid in enumerate(rule.valid):
            yield f"{rule.id}-valid-{number}", textwrap.dedent(valid)


CORPUS = dict(SHAPES, **dict(_fixture_sources()), **dict(_rule_examples()))


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_sliced_and_whole_analyses_agree(name):
    sliced, whole = both(CORPUS[name])
    assert sliced == whole


def test_the_corpus_exercises_the_slice():
    """The agreement above means something only if most of the corpus is really sliced, with
    findings to compare."""
    sliced = [name for name, text in CORPUS.items() if function_local_slice(text, TARGETS) is not None]
    with_findings = [name for name in sliced if both(CORPUS[name])[1]]
    assert len(sliced) >= len(CORPUS) - 3
    assert len(with_findings) >= 25


# -- generated modules ------------------------------------------------------------------------

_IMPORTS = ["import time", "import time as t", "from time import sleep", "from time import sleep as nap",
            "import asyncio", "import asyncio as aio", "from asyncio import get_event_loop", "sleep = print"]
_CALLS = ["time.sleep(1)", "t.sleep(2)", "sleep(3)", "nap(4)", "asyncio.get_event_loop()",
          "aio.get_event_loop()", "get_event_loop()", "asyncio.sleep(5)", "x = 1"]


@st.composite
def _block(draw, depth: int, indent: str):
    lines = []
    for _ in range(draw(st.integers(1, 3))):
        kinds = ["call", "call", "import", "def", "async def", "async def", "class"]
        kind = draw(st.sampled_from(kinds if depth < 3 else ["call", "call", "import"]))
        if kind == "call":
            lines.append(indent + draw(st.sampled_from(_CALLS)))
        elif kind == "import":
            lines.append(indent + draw(st.sampled_from(_IMPORTS)))
        else:
            name = draw(st.sampled_from(["f", "g", "sleep", "time", "C"]))
            header = f"{kind} {name}:" if kind == "class" else f"{kind} {name}(self=None):"
            lines.append(indent + header)
            lines.extend(draw(_block(depth + 1, indent + "    ")))
    return lines


@st.composite
def generated_module(draw):
    lines = draw(st.lists(st.sampled_from(_IMPORTS), min_size=1, max_size=4))
    for number in range(draw(st.integers(1, 3))):
        top = draw(st.sampled_from(["async def", "async def", "class", "def"]))
        if top == "class":
            lines += [f"class C{number}:", "    async def m(self):"] + draw(_block(2, "        "))
        else:
            lines += [f"{top} top{number}():"] + draw(_block(1, "    "))
    return "\n".join(lines) + "\n"


@settings(max_examples=120, derandomize=True, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(generated_module())
def test_generated_modules_sliced_and_whole_agree(source):
    ast.parse(source)  # the generator only writes valid Python
    sliced, whole = both(source)
    assert sliced == whole
    GENERATED_WITH_FINDINGS.append(bool(whole))


GENERATED_WITH_FINDINGS = []


def test_generated_modules_have_findings_to_compare():
    if not GENERATED_WITH_FINDINGS:
        pytest.skip("runs after the generated-module test, in the same session")
    assert sum(GENERATED_WITH_FINDINGS) >= 20


# -- passes skipped for want of a required call ------------------------------------------------

def _as_is(prefixes):
    for path in sorted(FIXTURES.glob("*/*.py")):
        if path.parent.name.startswith(prefixes):
            yield f"{path.parent.name}/{path.name}", path.read_text(encoding="utf-8")


EVERY_FIXTURE = dict(_as_is(("",)))
FIX_CORPUS = dict(_as_is(("per_call_", "sync_httpx_", "hygiene_", "stream_", "session_with")), **SHAPES)


@pytest.mark.parametrize("name", sorted(EVERY_FIXTURE))
def test_every_fixture_as_is_reports_the_same_with_and_without_shortcuts(name):
    sliced, whole = both(EVERY_FIXTURE[name])
    assert sliced == whole


@pytest.mark.parametrize("name", sampled(FIX_CORPUS))
def test_fixes_are_the_same_with_and_without_shortcuts(name):
    source = FIX_CORPUS[name]
    short = analyze(source, fix_level=FixLevel.UNSAFE)
    whole = analyze(source, fix_level=FixLevel.UNSAFE, shortcuts=False)
    assert (short.findings, short.fixed_source) == (whole.findings, whole.fixed_source)


def test_a_client_used_but_never_made_by_a_coroutine_skips_the_parse():
    """aiohttp's session made once at start-up and passed in: UFA004 has nothing to look at."""
    source = ("import aiohttp\n\nSESSION = aiohttp.ClientSession\n\n"
              "def make():\n    return aiohttp.ClientSession()\n\n"
              "async def fetch(session: aiohttp.ClientSession, url):\n    return await session.get(url)\n")
    from unfake_async.codemod.engine.local_slice import holds_coroutine_call
    from unfake_async.codemod.engine.prechecks import prefilter
    from unfake_async.codemod.passes.per_call_client import PerCallClientPass

    assert prefilter.worth_parsing(source, Settings())  # the words are there
    assert not holds_coroutine_call(ast.parse(source), PerCallClientPass.required_calls)
    assert both(source) == ([], [])
    made_per_call = source + "\nasync def g():\n    async with aiohttp.ClientSession() as s:\n        await s.get('u')\n"
    assert holds_coroutine_call(ast.parse(made_per_call), PerCallClientPass.required_calls)
    sliced, whole = both(made_per_call)
    assert sliced == whole and [f.rule_id for f in sliced] == ["UFA004"]


def _holds_coroutine_call(node: ast.AST, in_coroutine: bool, candidate) -> bool:
    """The walk per statement the slicer once made (the oracle): whether `node` holds a
    candidate call run directly by an `async def`."""
    stack = [(node, in_coroutine)]
    while stack:
        current, running = stack.pop()
        if isinstance(current, ast.Call) and running and candidate(current):
            return True
        if isinstance(current, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            body = current.body if isinstance(current.body, list) else [current.body]
            inner = isinstance(current, ast.AsyncFunctionDef)
            stack.extend((child, inner) for child in body)
            stack.extend((child, running) for child in ast.iter_child_nodes(current)
                         if not any(child is statement for statement in body))
        else:
            stack.extend((child, running) for child in ast.iter_child_nodes(current))
    return False


def test_one_walk_finds_the_statements_a_walk_per_statement_finds():
    """`_holders` (one walk of the module) against `_holds_coroutine_call` and a walk for kept
    calls run on each module-level and class-body statement, as the slicer once did; and
    `holds_coroutine_call`, the same walk stopped at the first call, against the oracle on the
    whole module."""
    from unfake_async.codemod.engine.local_slice import (
        _call_name,
        _CandidateTest,
        _holders,
        holds_coroutine_call,
    )
    from unfake_async.codemod.passes.per_call_client import PerCallClientPass

    def asked(body):  # the statements the slicer asks about: module level and class bodies, nested
        for statement in body:
            yield statement
            if isinstance(statement, ast.ClassDef):
                yield from asked(statement.body)

    compared = held = 0
    for path in sorted(FIXTURES.rglob("*.py")) + sorted(Path(__file__).parent.glob("test_*.py")):
        tree = ast.parse(path.read_text())
        for targets, kept in ((TARGETS, frozenset()),
                              (PerCallClientPass.local_calls, PerCallClientPass.slice_kept_calls)):
            candidate = _CandidateTest(tree, frozenset(targets))
            found = _holders(tree, candidate, kept)
            assert holds_coroutine_call(tree, targets) == _holds_coroutine_call(tree, False, candidate), path
            for statement in asked(tree.body):
                expected = _holds_coroutine_call(statement, False, candidate) or any(
                    isinstance(inner, ast.Call) and _call_name(inner) in kept for inner in ast.walk(statement))
                assert (id(statement) in found) == expected, (path, statement.lineno)
                compared += 1
                held += expected
    assert compared > 5000 and held > 100


def test_statements_are_every_statement_ast_walk_finds():
    from unfake_async.codemod.engine.local_slice import _statements

    sources = [p.read_text() for p in sorted(FIXTURES.rglob("*.py")) + sorted(Path(__file__).parent.glob("test_*.py"))]
    sources.append("try:\n    import a\nexcept E:\n    global g\nelse:\n    pass\nfinally:\n    import b\n"
                   "match x:\n    case 1:\n        from c import d\nwith w:\n    while t:\n        import e\n")
    total = 0
    for source in sources:
        tree = ast.parse(source)
        expected = [node for node in ast.walk(tree) if isinstance(node, ast.stmt)]
        found = list(_statements(tree.body))
        assert sorted(map(id, found)) == sorted(map(id, expected))
        total += len(found)
    assert total > 10_000

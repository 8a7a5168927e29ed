"""The `ast` prechecks that keep files off LibCST (issue 14), and the import bookkeeping of a fix.

- `name_references.may_reference`: a pass whose findings resolve names (`required_names`) is
  skipped where no reference can resolve to one. It must be a superset of LibCST: over every
  fixture and every rule example, a pass that reports something is never skipped, by the `ast`
  test nor by the `tokenize` fallback, and the whole analysis with and without the shortcuts
  gives the same findings.
- `migrate/imports.apply_scheduled_imports`: the same text as LibCST's two `transform_module`
  calls, over every fixture's fix and hand-written shapes.
- The function-local slice for UFA004 keeps the functions `asyncio.run` runs, and a class whose
  first member is decorated is cut where it parses.
"""
from __future__ import annotations

import ast
from pathlib import Path

import libcst as cst
import pytest
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import AddImportsVisitor, RemoveImportsVisitor

from tests.support.rule_examples import rule_snippets
from tests.support.sampling import sampled
from unfake_async.codemod.analysis.names import REQUESTS_REFERENCES
from unfake_async.codemod.engine.local_slice import function_local_slice
from unfake_async.codemod.engine.model import FixLevel
from unfake_async.codemod.engine.pass_protocol import pass_order
from unfake_async.codemod.engine.prechecks.name_references import NameTargets, may_reference
from unfake_async.codemod.engine.transform import analyze
from unfake_async.codemod.migrate.imports import apply_scheduled_imports
from unfake_async.codemod.passes.per_call_client import PerCallClientPass

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
REQUESTS = NameTargets(REQUESTS_REFERENCES)


def _corpus():
    for path in sorted(FIXTURES.glob("*/*.py")):
        yield f"{path.parent.name}/{path.name}", path.read_text(encoding="utf-8")
    yield from rule_snippets()


CORPUS = dict(_corpus())
NAMED_PASSES = [lazy.load() for lazy in pass_order() if getattr(lazy.load(), "required_names", None)]


def _both_ways(source: str, targets: NameTargets):
    return may_reference(source, ast.parse(source), targets), may_reference(source, None, targets)


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_a_pass_that_reports_is_never_skipped_and_the_findings_are_the_same(name):
    source = CORPUS[name]
    whole = analyze(source, fix_level=FixLevel.NONE, shortcuts=False).findings
    assert analyze(source, fix_level=FixLevel.NONE).findings == whole
    reported = {finding.rule_id for finding in whole}
    for module_pass in NAMED_PASSES:
        if reported & set(module_pass.rule_ids):
            assert _both_ways(source, NameTargets(module_pass.required_names)) == (True, True), module_pass


def test_the_corpus_exercises_both_answers():
    """The agreement above means something only if the test says no to part of the corpus."""
    answers = [may_reference(text, ast.parse(text), REQUESTS) for text in CORPUS.values()]
    assert answers.count(True) >= 50 and answers.count(False) >= 30


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_tokens_say_yes_wherever_ast_does(name):
    source = CORPUS[name]
    for module_pass in NAMED_PASSES:
        targets = NameTargets(module_pass.required_names)
        by_ast, by_tokens = _both_ways(source, targets)
        assert by_tokens or not by_ast


REFERENCES = {
    "module function": ("import requests\nx = requests.get", True),
    "alias": ("import requests as rq\nrq.post('u')", True),
    "from import": ("from requests import get as fetch\n\nfetch('u')\n", True),
    "api module": ("import requests.api\nrequests.api.request('GET', 'u')", True),
    "session class": ("from requests import sessions\ns: sessions.Session\n", True),
    "attribute of a session class": ("import requests\nrequests.Session.get\n", True),
    "string annotation": ("import requests\ndef f(s: 'requests.Session'): pass\n", True),
    "star import": ("from requests import *\n", True),
    "exceptions only": ("from requests.exceptions import ConnectionError\ntry:\n    pass\n"
                        "except ConnectionError:\n    pass\n", False),
    "exceptions module": ("import requests\ntry:\n    pass\nexcept requests.exceptions.Timeout:\n    pass\n", False),
    "the word in a comment": ("import requests  # requests.get is blocking\nrequests.codes.ok\n", False),
    "an attribute of something else": ("import requests\nself.requests.get('u')\n", False),
    "relative import": ("from .requests import get\nget('u')\n", False),
    "no import": ("requests.get('u')\n", False),
}


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_hand_written_references(name):
    source, expected = REFERENCES[name]
    assert _both_ways(source, REQUESTS) == (expected, expected)


def test_newer_syntax_than_this_ast_falls_back_to_tokens():
    source = ("import requests\n\ntype Alias = int\n\nclass Box[T]:\n    async def f(self):\n"
              "        return requests.get('u')\n")
    exceptions_only = source.replace("requests.get('u')", "requests.exceptions.Timeout")
    assert may_reference(source, None, REQUESTS)
    assert not may_reference(exceptions_only, None, REQUESTS)
    assert may_reference("import requests\nx = \"\"\"\n", None, REQUESTS)  # tokenize fails: LibCST decides


# -- imports of a fix ------------------------------------------------------------------------

IMPORT_SHAPES = {
    "unused module": ("import requests\nimport os\n\nx = os.sep\n", [("requests", None, None)]),
    "still used": ("import requests\n\nrequests.codes\n", [("requests", None, None)]),
    "shadowed": ("import requests\n\ndef f():\n    requests = 1\n    return requests\n", [("requests", None, None)]),
    "alias in a from import": ("from functools import partial, wraps\n\n@wraps(f)\ndef g(): pass\n",
                               [("functools", "partial", None)]),
    "nested import": ("import os\n\ndef f():\n    import requests\n    return 1\n", [("requests", None, None)]),
    "string annotation": ("import requests\n\ndef f(s: 'requests.Session'): pass\n", [("requests", None, None)]),
    "in __all__": ("import requests\n__all__ = ['requests']\n", [("requests", None, None)]),
    "dotted": ("import concurrent.futures\n\ndef f():\n    pass\n", [("concurrent.futures", None, None)]),
}


def _libcst_way(module: cst.Module, context: CodemodContext) -> str:
    module = AddImportsVisitor(context).transform_module(module)
    return RemoveImportsVisitor(context).transform_module(module).code


@pytest.mark.parametrize("name", sorted(IMPORT_SHAPES))
def test_imports_are_fixed_as_libcst_fixes_them(name):
    source, removals = IMPORT_SHAPES[name]
    results = []
    for way in ("libcst", "ours"):
        context = CodemodContext()
        AddImportsVisitor.add_needed_import(context, "httpx")
        for module, obj, alias in removals:
            RemoveImportsVisitor.remove_unused_import(context, module, obj, asname=alias)
        module = cst.parse_module(source)
        results.append(_libcst_way(module, context) if way == "libcst"
                       else apply_scheduled_imports(module, context).code)
    assert results[0] == results[1]


def test_imports_shortcut_removes_what_it_should():
    context = CodemodContext()
    RemoveImportsVisitor.remove_unused_import(context, "requests")
    fixed = apply_scheduled_imports(cst.parse_module("import os, requests\n\nasync def f():\n    pass\n"), context)
    assert fixed.code == "import os\n\nasync def f():\n    pass\n"


@pytest.mark.parametrize("name", sampled(n for n in CORPUS if n.endswith("before.py")))
def test_every_fixture_fix_is_the_same_with_and_without_the_shortcuts(name):
    source = CORPUS[name]
    short = analyze(source, fix_level=FixLevel.UNSAFE)
    whole = analyze(source, fix_level=FixLevel.UNSAFE, shortcuts=False)
    assert (short.findings, short.fixed_source) == (whole.findings, whole.fixed_source)


# -- the slice for UFA004 ----------------------------------------------------------------------

RUN_ONCE = """
import asyncio
import aiohttp


async def main():
    async with aiohttp.ClientSession() as session:
        await session.get("u")


async def handler():
    async with aiohttp.ClientSession() as session:
        await session.get("u")


class Cli:
    @staticmethod
    def start():
        asyncio.run(main())

    def other(self):
        return 1
"""


def test_the_slice_keeps_what_asyncio_run_runs():
    cut = function_local_slice(RUN_ONCE, PerCallClientPass.local_calls, None, PerCallClientPass.slice_kept_calls)
    assert cut is not None and "asyncio.run(main())" in cut.text and "return 1" not in cut.text
    sliced = analyze(RUN_ONCE, fix_level=FixLevel.NONE)
    whole = analyze(RUN_ONCE, fix_level=FixLevel.NONE, shortcuts=False)
    assert sliced.findings == whole.findings
    assert [f.line for f in whole.findings] == [12]  # main() runs once: only handler() is reported


def test_a_class_whose_first_member_is_decorated_is_cut_where_it_parses():
    source = ("import time\n\nclass Table:\n    @property\n    def a(self):\n        return 1\n\n"
              "async def f():\n    time.sleep(1)\n")
    cut = function_local_slice(source, {"time.sleep"})
    assert cut is not None
    cst.parse_module(cut.text)
    assert "@property" not in cut.text

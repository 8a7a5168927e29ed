"""The coroutine-reach precheck (engine/prechecks/coroutine_reach.py) changes no finding and no fix.

The proof is the whole pipeline run twice over every fixture folder (each module of it, packages
included, with the project facts a run over the folder computes) and every rule example: once
with the precheck and once without, same findings, same fixed texts. The shapes below pin what
it must let through (each one a way a coroutine reaches requests that LibCST's passes follow)
and show that it says no where `required_names` alone says yes, or it would prove nothing.
"""
from __future__ import annotations

import ast
import dataclasses
import textwrap
from pathlib import Path

import pytest

from tests.support.fixture_settings import fixture_settings
from tests.support.rule_examples import rule_snippets
from unfake_async.codemod.analysis.names import REQUESTS_REACH, REQUESTS_REFERENCES
from unfake_async.codemod.engine.model import FixLevel
from unfake_async.codemod.engine.prechecks import coroutine_reach
from unfake_async.codemod.engine.prechecks.coroutine_reach import Seeds, may_reach
from unfake_async.codemod.engine.prechecks.name_references import NameTargets, may_reference
from unfake_async.codemod.engine.runner import Mode, RunOptions, run_files
from unfake_async.codemod.engine.transform import analyze

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
CASES = sorted(p.name for p in FIXTURES.iterdir() if p.is_dir())


def _modules(case: Path):
    """The modules a run over the case's folder checks: not the expected outputs."""
    return sorted(str(p) for p in case.rglob("*.py")
                  if p.name != "after.py" and "after" not in p.relative_to(case).parts[:-1])


def _outcome(files, settings, mode, level):
    result = run_files(files, settings, RunOptions(mode=mode, fix_level=level, jobs=1))
    return [(r.path, [dataclasses.astuple(f) for f in r.findings], r.fixed_source, r.error) for r in result.reports]


def _compare(case: str, mode: str, level: FixLevel, monkeypatch) -> None:
    folder = FIXTURES / case
    files, settings = _modules(folder), fixture_settings(folder)
    with_precheck = _outcome(files, settings, mode, level)
    monkeypatch.setattr(coroutine_reach, "ENABLED", False)
    assert _outcome(files, settings, mode, level) == with_precheck


@pytest.mark.parametrize("case", CASES)
def test_the_pipeline_finds_the_same_with_and_without_the_precheck(case, monkeypatch):
    _compare(case, Mode.CHECK, FixLevel.NONE, monkeypatch)


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES)
def test_the_pipeline_fixes_the_same_with_and_without_the_precheck(case, monkeypatch):
    """Every fix at the unsafe level (a minute over all fixtures: `pytest -m slow`)."""
    _compare(case, Mode.DIFF, FixLevel.UNSAFE, monkeypatch)


EXAMPLES = dict(rule_snippets())


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_rule_examples_give_the_same_findings_with_and_without_the_precheck(name, monkeypatch):
    source = EXAMPLES[name]
    with_precheck = analyze(source, fix_level=FixLevel.UNSAFE)
    monkeypatch.setattr(coroutine_reach, "ENABLED", False)
    assert analyze(source, fix_level=FixLevel.UNSAFE) == with_precheck


def _reaches(source: str, seeds: Seeds = None) -> bool:
    return may_reach(ast.parse(textwrap.dedent(source)), REQUESTS_REACH, seeds)


REACHING = {
    "call in a coroutine": """
        import requests
        async def f(u):
            return requests.get(u)
    """,
    "callable handed over": """
        import asyncio, functools
        from requests import post
        async def f(u):
            return await asyncio.to_thread(functools.partial(post, u))
    """,
    "session attribute": """
        import requests
        class Api:
            def __init__(self):
                self.http = requests.Session()
            async def fetch(self, u):
                return self.http.get(u)
    """,
    "session made and used on the spot": """
        import requests
        async def f(u):
            return requests.Session().get(u)
    """,
    "annotated session parameter": """
        from typing import Optional
        import requests
        async def f(s: Optional[requests.Session], u):
            return s.post(u)
    """,
    "helper of a helper run in a thread": """
        import requests
        def _raw(u):
            return requests.get(u)
        def _fetch(u):
            return _raw(u)
        class C:
            async def run(self, loop, u):
                return await loop.run_in_executor(None, _fetch, u)
    """,
    "decorated helper nobody awaits here": """
        import requests
        from asgiref.sync import sync_to_async
        @sync_to_async
        def fetch(u):
            return requests.get(u)
    """,
    "string annotation": """
        import requests
        async def f(s: "requests.Session", u):
            return s.get(u)
    """,
}

SILENT = {
    "requests only in sync code": """
        import requests
        def fetch(u):
            return requests.get(u)
        async def main():
            return 1
    """,
    "a session handed to a vendor library": """
        from requests import Session
        def connect(url):
            session = Session()
            return VendorClient(url, session=session)
        async def setup(hass, url):
            return await hass.async_add_executor_job(connect, url)
    """,
    "a session made in a coroutine, never asked for anything": """
        from requests import Session
        async def setup(hass):
            http_session = Session()
            return await hass.async_add_executor_job(VendorAuth, http_session)
    """,
    "exceptions only": """
        import requests
        async def f(client):
            try:
                return await client.get("x")
            except requests.exceptions.ConnectionError:
                return None
    """,
}


@pytest.mark.parametrize("name", sorted(REACHING))
def test_what_a_coroutine_reaches_is_let_through(name):
    assert _reaches(REACHING[name])


@pytest.mark.parametrize("name", sorted(SILENT))
def test_a_module_whose_coroutines_reach_nothing_is_kept_off_libcst(name):
    source = textwrap.dedent(SILENT[name])
    assert not _reaches(source)
    if name != "exceptions only":  # the name test alone lets these through
        assert may_reference(source, ast.parse(source), NameTargets(REQUESTS_REFERENCES))


def test_what_the_tree_tells_is_let_through():
    reexport = """
        from .utils import requests as rq
        async def f(u):
            return rq.get(u)
    """
    helper = """
        from .api import fetch_json as fetch
        async def f(u):
            return fetch(u)
    """
    assert not _reaches(reexport) and not _reaches(helper)
    assert _reaches(reexport, Seeds(modules=(("requests", "requests"),)))
    assert _reaches(helper, Seeds(senders=frozenset({"fetch_json"})))


def test_a_module_that_does_not_parse_is_let_through():
    assert may_reach(None, REQUESTS_REACH)


def test_the_fixtures_exercise_both_answers():
    """Over the fixtures' modules, the precheck says no where the name test says yes."""
    targets = NameTargets(REQUESTS_REFERENCES)
    only_names = reached = 0
    for case in CASES:
        for path in _modules(FIXTURES / case):
            text = Path(path).read_text(encoding="utf-8")
            tree = ast.parse(text)
            if may_reference(text, tree, targets):
                if may_reach(tree, REQUESTS_REACH):
                    reached += 1
                else:
                    only_names += 1
    assert reached >= 40 and only_names >= 1, (reached, only_names)

"""Issue 17: what modules of a tree tell each other (helpers, re-exports), end to end.

- fixtures/cross_module_offload is a package: before.py calls `utils.run_sync`, a helper of
  utils.py that runs its callable on a pool of two threads. The migrated before.py, next to the
  unchanged utils.py, runs against a real server on 127.0.0.1 with the same results and more
  requests in flight than the pool allowed.
- A one-file run (pre-commit) reports what the whole-tree run reports for that file.
- The cache key holds what other modules tell a file: changing the helper's module is a miss.
"""
from __future__ import annotations

import asyncio
import importlib
import pathlib
import shutil
import sys
import textwrap

import pytest

from tests.support.fixture_settings import fixture_settings
from tests.support.fixtures import http_server  # noqa: F401
from unfake_async.codemod import FixLevel, analyze_source
from unfake_async.codemod.analysis.project import ProjectIndex
from unfake_async.codemod.analysis.project_scan import summarize
from unfake_async.codemod.engine.runner import RunOptions, run_files
from unfake_async.settings import Settings

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "cross_module_offload"


def _copy_package(tmp_path: pathlib.Path, name: str, before: str) -> pathlib.Path:
    target = tmp_path / name
    shutil.copytree(PACKAGE, target, ignore=shutil.ignore_patterns("after.py", "expected.txt", "__pycache__"))
    (target / "before.py").write_text(before)
    return target


@pytest.fixture
def packages(tmp_path):
    before = (PACKAGE / "before.py").read_text()
    facts = ProjectIndex().facts_for(str(PACKAGE / "before.py"), before)
    # The fixture's own settings: an inline client (no _http_client.py is written next to it).
    migrated = analyze_source(before, path=str(PACKAGE / "before.py"), settings=fixture_settings(PACKAGE),
                              fix_level=FixLevel.UNSAFE, project=facts)
    assert migrated.fixed_source is not None and "run_sync(requests" not in migrated.fixed_source
    _copy_package(tmp_path, "original_pkg", before)
    _copy_package(tmp_path, "migrated_pkg", migrated.fixed_source)
    sys.path.insert(0, str(tmp_path))
    try:
        yield importlib.import_module("original_pkg.before"), importlib.import_module("migrated_pkg.before")
    finally:
        sys.path.remove(str(tmp_path))
        for name in [n for n in sys.modules if n.split(".")[0] in ("original_pkg", "migrated_pkg")]:
            del sys.modules[name]


async def _scenario(module, base, count):
    results = {
        "items": await module.items(base, count),
        "post_item": await module.post_item(base, "payload"),
        "summary": (await module.summary(base))["path"],
    }
    if hasattr(module, "aclose_http_client"):
        await module.aclose_http_client()
    return results


def test_two_module_package_migrates_with_same_results_and_more_in_flight(packages, http_server):  # noqa: F811
    original, migrated = packages
    count = 6
    http_server.reset_counters()
    before = asyncio.run(_scenario(original, http_server.base_url, count))
    assert http_server.max_in_flight == 2  # utils.py's pool of two threads
    http_server.reset_counters()
    after = asyncio.run(_scenario(migrated, http_server.base_url, count))
    assert http_server.max_in_flight == count  # every gathered request reached the server at once
    assert after == before
    assert [item["n"] for item in before["items"]] == [[str(n)] for n in range(count)]


def _findings(report):
    return [(f.line, f.col, f.rule_id, f.fix.value, f.reason) for f in report.findings]


def test_one_file_run_reports_what_the_tree_run_reports(tmp_path):
    """The same findings; only the fix of `fetch_json` differs: the whole-tree run makes it
    `async def` in utils.py (a file of the run), the one-file run reads utils.py and says why not."""
    package = _copy_package(tmp_path, "pkg", (PACKAGE / "before.py").read_text())
    target = str(package / "before.py")
    alone = run_files([target], Settings(), RunOptions(jobs=1))
    tree = sorted(str(p) for p in package.glob("*.py"))
    whole = run_files(tree, Settings(), RunOptions(jobs=1))
    in_tree = [r for r in whole.reports if r.path == target][0]
    assert [(f.line, f.col, f.rule_id, f.message) for f in alone.reports[0].findings] == \
        [(f.line, f.col, f.rule_id, f.message) for f in in_tree.findings]
    differ = [(a, b) for a, b in zip(_findings(alone.reports[0]), _findings(in_tree)) if a != b]
    assert [(a[:4], b[:4]) for a, b in differ] == [((29, 18, "UFA008", "none"), (29, 18, "UFA008", "unsafe"))]
    assert "pkg/utils.py, which is not among the files of this run: read, not fixed" in differ[0][0][4]
    rules = [f[2] for f in _findings(in_tree)]
    # Two thread offloads through utils.run_sync, four calls of other modules' requests helpers.
    assert rules.count("UFA002") == 2 and rules.count("UFA008") == 4


def test_cache_key_holds_what_the_imported_module_tells(tmp_path):
    package = _copy_package(tmp_path, "pkg", (PACKAGE / "before.py").read_text())
    options = RunOptions(jobs=1, cache_dir=str(tmp_path / "cache"))
    target = str(package / "before.py")
    first = run_files([target], Settings(), options).reports[0]
    again = run_files([target], Settings(), options).reports[0]
    assert again.cached and _findings(again) == _findings(first)
    # run_sync no longer forwards its arguments unchanged: the offloads lose their known helper.
    utils = package / "utils.py"
    utils.write_text(utils.read_text().replace("partial(func, *args, **kwargs)", "partial(func, *args[1:], **kwargs)"))
    changed = run_files([target], Settings(), options).reports[0]
    assert not changed.cached
    assert [f[2] for f in _findings(changed)].count("UFA012") == 2


def test_files_the_tree_tells_nothing_are_not_parsed(tmp_path):
    (tmp_path / "plain.py").write_text("import os\n\nasync def f():\n    return os.getcwd()\n")
    result = run_files([str(tmp_path / "plain.py")], Settings(), RunOptions(jobs=1))
    assert not result.reports[0].parsed


# -- the ast summary of a module -----------------------------------------------------------------


def _summary(text):
    return summarize(textwrap.dedent(text))


def test_summary_finds_forwarding_helpers_and_their_kind():
    summary = _summary("""
        import asyncio
        from functools import partial

        async def run_sync(func, *args, **kwargs):
            return await asyncio.get_running_loop().run_in_executor(None, partial(func, *args, **kwargs))

        async def run_positional(func, *args, **options):
            return await asyncio.get_running_loop().run_in_executor(options.get("pool"), func, *args)

        async def shuffled(func, a, b):
            return await asyncio.to_thread(func, b, a)

        async def trimmed(func, *args):
            return await asyncio.to_thread(func, *args[1:])

        class Client:
            async def _execute(self, fn, url, *a, **kw):
                return fn(url, *a, **kw)

        def to_thread(func):
            async def wrapper(*args, **kwargs):
                return await asyncio.to_thread(func, *args, **kwargs)
            return wrapper
    """)
    assert summary.offload_helpers == {
        "run_sync": "call", "run_positional": "call-args", "Client._execute": "direct", "to_thread": "decorator",
    }


def test_summary_finds_requests_helpers_and_reexports():
    summary = _summary("""
        import requests as rq
        from requests import post
        from .sibling import session as requests_session

        __all__ = ["fetch", "rq"]

        def fetch(url):
            return rq.get(url).json()

        def send(url):
            return post(url).ok

        def lazy(url):
            def inner():
                return rq.get(url)
            return inner

        class Api:
            def __init__(self):
                self.s = rq.Session()

            def login(self):
                return self.s.post("/login").ok

            async def already_async(self):
                return 1
    """)
    assert summary.requests_helpers == {"fetch": "requests.get", "send": "requests.post", "Api.login": "self.s.post"}
    assert summary.requests_names == {"rq"}
    assert summary.imported == {"requests_session": ".sibling.session"}
    assert summary.exports("fetch") and not summary.exports("send")


# -- a login helper on the class's requests.Session ------------------------------------------

LOGIN = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "session_login_helper" / "before.py"


def _load(source, name):
    import types

    module = types.ModuleType(name)
    exec(compile(source, f"<{name}>", "exec"), module.__dict__)
    return module


async def _login_scenario(module, base):
    client = module.StationClient(base, "alice", "pw")
    before_login = await client.whoami()
    await client.login()
    after_login = await client.whoami()
    if hasattr(client, "aclose"):
        await client.aclose()
    return before_login, after_login


def test_login_helper_moves_with_the_session_and_its_cookie_reaches_later_calls(http_server):  # noqa: F811
    source = LOGIN.read_text()
    migrated = analyze_source(source, fix_level=FixLevel.UNSAFE).fixed_source
    assert migrated is not None and "import requests" not in migrated and "async def _login" in migrated
    before = asyncio.run(_login_scenario(_load(source, "login_original"), http_server.base_url))
    after = asyncio.run(_login_scenario(_load(migrated, "login_migrated"), http_server.base_url))
    assert before == after == (None, "session=alice")


def test_requests_from_an_unresolved_star_import_is_unsafe_with_a_note(tmp_path):
    from unfake_async.codemod.analysis.names import UNRESOLVED_STAR

    (tmp_path / "bot.py").write_text("from userbot.utils import *\n\n\nasync def ping(url):\n"
                                     "    return requests.head(url, timeout=5).status_code\n")
    report = run_files([str(tmp_path / "bot.py")], Settings(), RunOptions(jobs=1)).reports[0]
    assert [(f.rule_id, f.fix.value) for f in report.findings] == [("UFA003", "unsafe")]
    assert UNRESOLVED_STAR in report.findings[0].notes and UNRESOLVED_STAR in report.findings[0].reason
    # Without the star import, an unbound `requests` is nobody's HTTP call.
    (tmp_path / "bot.py").write_text("async def ping(url):\n    return requests.head(url, timeout=5).status_code\n")
    assert run_files([str(tmp_path / "bot.py")], Settings(), RunOptions(jobs=1)).reports[0].findings == []


def test_a_reexported_requests_is_found_in_a_file_without_import_requests(tmp_path):
    package = tmp_path / "plugins"
    package.mkdir()
    (package / "__init__.py").write_text("import requests\n")
    (package / "weather.py").write_text("from . import requests\n\n\nasync def weather(city):\n"
                                        "    return requests.get(f'https://wttr.in/{city}').text\n")
    report = run_files([str(package / "weather.py")], Settings(), RunOptions(jobs=1)).reports[0]
    assert report.parsed and [f.rule_id for f in report.findings] == ["UFA003"]

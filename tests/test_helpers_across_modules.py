"""UFA008 across modules (issue 17): a requests helper of one module run from async code in others
becomes `async def` there and is awaited by every caller of the run, or nothing changes and the
findings say why (analysis/project_links.py, passes/sync_helpers/cross_module.py).

fixtures/helper_across_modules is the package: `fetch_json` (a pool of two threads in
stations.py, a direct call in report.py) and `post_reading` (`asyncio.to_thread`) are migrated;
`fetch_text` is also called from sync code (cli.py) and stays. The migrated package runs against a
real server on 127.0.0.1 with the same results and more requests in flight than the pool allowed.
"""
from __future__ import annotations

import json
import pathlib
import shutil

from tests.support import package_fixtures as pf
from tests.support.server import serve
from tests.test_project_client import run_python
from unfake_async.codemod.engine.runner import Mode, RunOptions, run_files
from unfake_async.settings import Settings

CASE = "helper_across_modules"


def _tree(tmp_path: pathlib.Path) -> pathlib.Path:
    return pf.copy_before(CASE, tmp_path / "tree")


def _by_file(result, tree: pathlib.Path):
    return {str(pathlib.Path(r.path).relative_to(tree)): [(f.line, f.rule_id, f.fix.value, f.fixed, f.reason)
                                                          for f in r.findings] for r in result.reports if r.findings}


def test_check_mode_labels_what_the_fix_does(tmp_path):
    tree = _tree(tmp_path)
    found = _by_file(pf.migrate(tree, mode=Mode.CHECK), tree)
    assert [f[:3] for f in found["weather/stations.py"]] == [(12, "UFA008", "unsafe")]
    assert [f[:3] for f in found["weather/fetch.py"]] == [(4, "UFA008", "unsafe"), (10, "UFA008", "unsafe")]
    (text_line,) = [f for f in found["weather/report.py"] if f[2] == "none"]
    assert text_line[0] == 16 and "`fetch_text` is also used in weather/cli.py:3" in text_line[4]
    assert pf.tree_texts(tree) == pf.tree_texts(pf.FIXTURES / CASE / "before")  # check writes nothing


def test_one_file_run_reads_the_helper_module_and_fixes_nothing_there(tmp_path):
    tree = _tree(tmp_path)
    target = tree / "weather" / "stations.py"
    result = run_files([str(target)], Settings(), RunOptions(mode=Mode.FIX, fix_level=pf.FixLevel.UNSAFE, jobs=1,
                                                             root=str(tree)))
    (finding,) = result.reports[0].findings
    assert (finding.rule_id, finding.fix.value, finding.fixed) == ("UFA008", "none", False)
    assert "weather/fetch.py, which is not among the files of this run: read, not fixed" in finding.reason
    assert pf.tree_texts(tree) == pf.tree_texts(pf.FIXTURES / CASE / "before")


def test_a_caller_outside_the_run_keeps_the_helper_sync(tmp_path):
    """A pre-commit run naming fetch.py and stations.py: report.py, beside them in the package,
    imports `fetch_json` too and is not checked, so `fetch_json` stays sync everywhere."""
    tree = _tree(tmp_path)
    named = [str(tree / "weather" / name) for name in ("fetch.py", "stations.py")]
    result = pf.migrate(tree, files=named)
    assert "run_in_executor(_POOL, fetch_json" in (tree / "weather" / "stations.py").read_text()
    assert "\ndef fetch_json" in (tree / "weather" / "fetch.py").read_text()
    (finding,) = [f for r in result.reports for f in r.findings if "stations.py" in r.path]
    assert finding.fix.value == "none"
    assert "`fetch_json` is also used in weather/report.py:3, which is not among the files of this run" in finding.reason


def test_a_sync_caller_in_the_helpers_own_module_withdraws_the_change(tmp_path):
    tree = _edited(tmp_path, "weather/fetch.py", "\n\ndef post_reading",
                   "\n\ndef refresh(url):\n    return fetch_json(url)\n\n\ndef post_reading")
    result = pf.migrate(tree)
    assert "run_in_executor(_POOL, fetch_json" in (tree / "weather" / "stations.py").read_text()
    assert "return fetch_json(" in (tree / "weather" / "report.py").read_text()
    assert "await post_reading(" in (tree / "weather" / "report.py").read_text()  # decided on its own
    (finding,) = [f for r in result.reports for f in r.findings if "stations.py" in r.path]
    assert "weather/fetch.py cannot make its part: `fetch_json` is also called from sync code" in finding.reason


def test_a_helper_reached_through_its_module_is_reported_without_a_fix(tmp_path):
    tree = _edited(tmp_path, "weather/stations.py", "from .fetch import fetch_json",
                   "from . import fetch")
    (tree / "weather" / "stations.py").write_text(
        (tree / "weather" / "stations.py").read_text().replace("_POOL, fetch_json,", "_POOL, fetch.fetch_json,"))
    result = pf.migrate(tree)
    (finding,) = [f for r in result.reports for f in r.findings if "stations.py" in r.path]
    assert finding.fix.value == "none" and "reached through its module" in finding.reason
    # report.py's uses alone cannot make it async: stations.py reaches it through the module
    assert "return fetch_json(" in (tree / "weather" / "report.py").read_text()


def _edited(tmp_path, path: str, old: str, new: str) -> pathlib.Path:
    tree = _tree(tmp_path)
    target = tree / path
    assert old in target.read_text()
    target.write_text(target.read_text().replace(old, new))
    return tree


def test_public_api_in_all_stays_sync(tmp_path):
    tree = _edited(tmp_path, "weather/fetch.py", "import requests\n",
                   'import requests\n\n__all__ = ["fetch_json", "fetch_text", "post_reading"]\n')
    before = pf.tree_texts(tree)
    result = pf.migrate(tree)
    assert pf.tree_texts(tree) == before
    reasons = [f.reason for r in result.reports for f in r.findings]
    assert any("`fetch_json` is public API (in `__all__` of weather/fetch.py)" in r for r in reasons)


def test_reexport_by_the_package_init_stays_sync(tmp_path):
    tree = _edited(tmp_path, "weather/__init__.py", '"""\n', '"""\nfrom .fetch import post_reading  # noqa: F401\n')
    result = pf.migrate(tree)
    stations = (tree / "weather" / "stations.py").read_text()
    assert "await fetch_json(" in stations  # fetch_json is not re-exported: still migrated
    assert "asyncio.to_thread(post_reading" in (tree / "weather" / "report.py").read_text()
    assert "def post_reading" in (tree / "weather" / "fetch.py").read_text()
    assert "async def post_reading" not in (tree / "weather" / "fetch.py").read_text()
    reasons = [f.reason for r in result.reports for f in r.findings if not f.fixed]
    assert any("`post_reading` is public API (imported by the package's weather/__init__.py:" in r for r in reasons)


def test_all_or_nothing_when_the_helper_module_cannot_make_its_part(tmp_path):
    """The callers can await `fetch_json`, but its requests call is suppressed in fetch.py: the
    run withdraws the change and no file changes for it, the callers' executor included."""
    tree = _edited(tmp_path, "weather/fetch.py", "response = requests.get(url, timeout=10)",
                   "response = requests.get(url, timeout=10)  # noqa: UFA003")
    result = pf.migrate(tree)
    assert "run_in_executor(_POOL, fetch_json" in (tree / "weather" / "stations.py").read_text()
    assert "return fetch_json(" in (tree / "weather" / "report.py").read_text()
    assert "\ndef fetch_json" in (tree / "weather" / "fetch.py").read_text()
    assert "async def post_reading" in (tree / "weather" / "fetch.py").read_text()  # its own decision
    found = _by_file(result, tree)
    assert all(f[2] == "none" and "weather/fetch.py cannot make its part" in f[4]
               for f in found["weather/stations.py"])


def test_fix_is_idempotent(tmp_path):
    tree = tmp_path / "tree"
    shutil.copytree(pf.FIXTURES / CASE / "after", tree)
    result = pf.migrate(tree)
    assert not any(r.changed for r in result.reports) and result.created == []


CALLS = """
    import asyncio, json
    from weather import report, stations

    async def main(base):
        results = {
            "stations": await stations.stations(base, 6),
            "summary": await report.summary(base),
            # the body as sent: httpx writes JSON without spaces, requests with them
            "publish": json.loads(await report.publish(base, 21.5)),
            "page": json.loads(await report.page(base))["path"],
        }
        return results

    print(json.dumps(asyncio.run(main(BASE))))
"""


def test_migrated_package_same_results_more_in_flight(tmp_path):
    with serve(max_requests=100) as server:
        base = server.url("").rstrip("/")
        results, in_flight = {}, {}
        for side in ("before", "after"):
            server.reset_counters()
            code, out, err = run_python(CALLS.replace("BASE", repr(base)), path=pf.FIXTURES / CASE / side)
            assert code == 0, err
            results[side], in_flight[side] = json.loads(out), server.max_in_flight
    assert results["after"] == results["before"]
    assert [query["n"] for query in results["before"]["stations"]] == [[str(n)] for n in range(6)]
    assert in_flight == {"before": 2, "after": 6}  # the pool of two threads no longer caps them


def test_a_helper_imported_inside_a_function_stays_sync(tmp_path):
    """Each function-level import is a binding of its own, which the caller's check of one use
    does not cover: the helper stays sync and the finding says where."""
    tree = _edited(tmp_path, "weather/report.py", "async def summary(base):\n",
                   "async def summary(base):\n    from .fetch import fetch_json\n\n")
    result = pf.migrate(tree)
    assert "run_in_executor(_POOL, fetch_json" in (tree / "weather" / "stations.py").read_text()
    (finding,) = [f for r in result.reports for f in r.findings if "stations.py" in r.path]
    assert "`fetch_json` is imported inside a function in weather/report.py:7" in finding.reason

"""`unfake-async bench` end to end: real server, real workers, the report's structure."""
from __future__ import annotations

import json
import textwrap

import pytest
import typer

from unfake_async.bench.command import bench_main, parse_latency
from unfake_async.bench.scenario import TargetError, parse_target, thread_pool_variant

FAST = ["--requests", "6", "--concurrency", "3", "--latency", "10ms", "--timeout", "60", "--json"]

BEFORE_MODULE = textwrap.dedent(
    """
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    import requests

    _POOL = ThreadPoolExecutor(max_workers=2)


    async def entry(base_url):
        loop = asyncio.get_running_loop()
        response = await loop.run_in_executor(_POOL, requests.get, base_url + "/user")
        return response.json()
    """
)

AFTER_MODULE = textwrap.dedent(
    """
    import httpx

    _client = None


    async def entry(base_url):
        # Already real async: one client for the whole run, nothing for the codemod to do.
        global _client
        if _client is None:
            _client = httpx.AsyncClient()
        first = await _client.get(base_url + "/a")
        second = await _client.get(base_url + "/b")
        return first.json(), second.json()
    """
)


def _report(capsys, argv):
    code = bench_main(argv)
    return code, json.loads(capsys.readouterr().out)


def test_builtin_scenario_reports_every_column_and_the_server_counts(capsys):
    code, report = _report(capsys, FAST + ["--no-extras"])
    assert report["requests"] == 6 and report["concurrency"] == 3
    assert report["ideal_s"] == pytest.approx(6 * 0.010 / 3)
    before, after = report["rows"]
    assert before["kind"] == "before" and before["status"] == "ok"
    figures = before["figures"]
    assert figures["server_requests"] == 6
    assert figures["max_in_flight"] == 3  # ThreadPoolExecutor(3) at C=3
    for key in ("wall_s", "throughput", "mean_ms", "p50_ms", "p99_ms", "first_call_ms",
                "peak_rss_mb",
                "max_threads", "percent_of_ideal"):
        assert figures[key] > 0, key
    # The after row is the codemod's own migration of the seed module: the pool of 3 is gone.
    assert after["kind"] == "after" and after["status"] == "ok", after["message"]
    assert after["figures"]["server_requests"] == 6
    assert after["figures"]["max_in_flight"] == 3
    assert after["figures"]["max_threads"] < figures["max_threads"]
    assert code == 0


def test_user_pair_of_modules(tmp_path, capsys):
    (tmp_path / "old.py").write_text(BEFORE_MODULE)
    (tmp_path / "new.py").write_text(AFTER_MODULE)
    code, report = _report(
        capsys,
        FAST + ["--before", f"{tmp_path}/old.py::entry", "--after", f"{tmp_path}/new.py::entry"],
    )
    assert code == 0
    old, new = report["rows"]
    assert old["figures"]["server_requests"] == 6
    assert old["figures"]["max_in_flight"] == 2  # the module's own pool of 2
    assert new["figures"]["server_requests"] == 12  # two requests per call
    assert new["client"]["completed"] == 6


def test_user_module_is_measured_before_and_after_the_codemod(tmp_path, capsys):
    (tmp_path / "mod.py").write_text(BEFORE_MODULE)
    code, report = _report(capsys, FAST + [f"{tmp_path}/mod.py::entry"])
    before, after = report["rows"]
    assert before["status"] == "ok" and before["figures"]["server_requests"] == 6
    assert before["figures"]["max_in_flight"] == 2  # the module's pool of 2
    assert after["kind"] == "after" and after["status"] == "ok", after["message"]
    assert after["figures"]["server_requests"] == 6
    assert after["figures"]["max_in_flight"] == 3  # migrated: C=3 reaches the server
    assert code == 0


def test_module_the_codemod_cannot_migrate_is_reported(tmp_path, capsys):
    (tmp_path / "plain.py").write_text(AFTER_MODULE)
    code, report = _report(capsys, FAST + [f"{tmp_path}/plain.py::entry"])
    before, after = report["rows"]
    assert before["status"] == "ok" and before["figures"]["server_requests"] == 12
    assert after["status"] == "skipped" and "nothing to migrate" in after["message"]
    assert code == 1


def test_table_output(capsys):
    code = bench_main(["-n", "3", "-c", "3", "--latency", "5ms", "--no-extras"])
    out = capsys.readouterr().out
    assert "ThreadPoolExecutor(3)" in out and "ideal" in out and "server keeps up" in out
    assert code in (0, 1)


@pytest.mark.parametrize(
    "argv",
    [
        ["nope.py::entry"],
        ["--before", "a.py::x"],
        ["--latency", "fast"],
        ["--requests", "0"],
    ],
)
def test_bad_arguments_exit_2(argv, capsys):
    assert bench_main(argv) == 2


def test_parsers():
    assert parse_latency("150ms") == pytest.approx(0.15)
    assert parse_latency("0.2s") == pytest.approx(0.2)
    assert parse_latency("1") == 1.0
    with pytest.raises(typer.BadParameter):
        parse_latency("-3ms")
    with pytest.raises(TargetError):
        parse_target("module.py")
    assert "max_workers=32" in thread_pool_variant("ThreadPoolExecutor(max_workers = 3)", 32)
    with pytest.raises(ValueError):
        thread_pool_variant("nothing here", 32)


def test_cpu_bound_preset_measures_every_installed_target_and_transport(capsys):
    code, report = _report(capsys, ["--scenario", "cpu-bound", "-n", "6", "-c", "3", "--timeout", "60",
                                    "--json"])
    assert (report["requests"], report["concurrency"], report["latency_s"]) == (6, 3, 0.020)
    names = [row["name"] for row in report["rows"]]
    assert names[:2] == ["before: ThreadPoolExecutor(32)", "after: codemod"]
    assert "after: --transport httpx" in names and "reference: aiohttp by hand" in names
    assert not any("ThreadPoolExecutor(3)" in name for name in names)  # N x L / 3 is too long
    for row in report["rows"]:
        assert row["status"] == "ok", row["message"]
        assert row["figures"]["calls_per_cpu_second"] == pytest.approx(
            1e6 / row["figures"]["cpu_us_per_call"])
    assert code == 0


def test_presets():
    from unfake_async.bench.scenario import PRESETS

    assert (PRESETS["seed"].requests, PRESETS["seed"].concurrency, PRESETS["seed"].latency) == (100, 10, 0.15)
    assert PRESETS["ceiling"].latency == 0 and PRESETS["ceiling"].requests == PRESETS["cpu-bound"].requests
    assert bench_main(["--scenario", "nope"]) == 2


def test_rows_whose_libraries_are_missing_say_what_they_need_in_one_line(monkeypatch, capsys):
    from unfake_async.bench import scenario

    # As installed without the bench extra and without aiohttp: nothing to run but the message.
    monkeypatch.setattr(scenario, "installed", lambda module: module not in ("requests", "aiohttp"))
    code, report = _report(capsys, FAST)
    rows = {row["name"]: row for row in report["rows"]}
    assert "reference: aiohttp by hand" not in rows
    for name in ("before: ThreadPoolExecutor(3), seed", "before: ThreadPoolExecutor(32)"):
        assert rows[name]["status"] == "skipped"
        assert rows[name]["message"] == scenario.NEEDS["requests"]
    assert rows["after: codemod"]["message"] == scenario.NEEDS["aiohttp"]
    assert "\n" not in scenario.NEEDS["requests"] + scenario.NEEDS["aiohttp"]
    # What can run, runs: the migration on httpx's own pools needs nothing more than httpx.
    assert rows["after: --transport httpx"]["status"] == "ok"
    assert code == 1
    # The table says it in one line per row, the extra's name included (not eaten as markup).
    code = bench_main([arg for arg in FAST if arg != "--json"] + ["--no-extras"])
    out = capsys.readouterr().out
    assert "(skipped): needs requests (the code before the migration uses it): pip install 'unfake-async[bench]'" in out
    assert "Traceback" not in out and code == 1


def test_user_module_importing_a_missing_library_gets_one_line(tmp_path, capsys):
    (tmp_path / "needs.py").write_text("import unfake_async_not_installed.sub\n" + BEFORE_MODULE)
    code, report = _report(capsys, FAST + ["--before", f"{tmp_path}/needs.py::entry",
                                           "--after", f"{tmp_path}/needs.py::entry"])
    for row in report["rows"]:
        assert row["status"] == "skipped"
        assert row["message"].startswith("needs unfake_async_not_installed, which is not installed: ")
        assert "Traceback" not in row["message"]
    assert code == 1

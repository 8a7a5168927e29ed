"""The pytest plugin, run as a user would: pytest in a subprocess on a generated test file."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from importlib.metadata import entry_points

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

TESTS = '''\
import asyncio
import time

import pytest
import requests

from tests.support.server import serve


async def sleepy():
    time.sleep(0.001)


async def fetch(url):
    return requests.get(url).status_code


def test_clean():
    asyncio.run(asyncio.sleep(0))


def test_sleeps_on_the_loop():
    asyncio.run(sleepy())


def test_fetches_on_the_loop_and_swallows_errors():
    with serve(max_lifetime=30) as server:
        try:
            asyncio.run(fetch(server.url("/json")))
        except Exception:
            pass


@pytest.mark.no_blocking
def test_marked():
    asyncio.run(sleepy())


@pytest.mark.no_blocking(allow=["test_generated:sleepy"])
def test_marked_but_allowed():
    asyncio.run(sleepy())


def test_fixture(unfake_async_shim):
    asyncio.run(sleepy())
    assert [f.rule_id for f in unfake_async_shim.findings] == ["UFA010"]
'''


def plugin_args():
    """`-p` the plugin only when it is not installed as an entry point (registering it twice
    is an error)."""
    names = {ep.name for ep in entry_points(group="pytest11")} if sys.version_info >= (3, 10) \
        else {ep.name for ep in entry_points().get("pytest11", [])}
    return [] if "unfake_async" in names else ["-p", "unfake_async.shim.pytest_plugin"]


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    path = tmp_path_factory.mktemp("plugin")
    (path / "test_generated.py").write_text(TESTS)
    return path


def run_pytest(project, *args):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")])))
    env.pop("UNFAKE_ASYNC_SHIM", None)
    command = [sys.executable, "-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider",
               "--rootdir", str(project), *plugin_args(), *args, str(project / "test_generated.py")]
    done = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, timeout=120)
    return done.returncode, done.stdout + done.stderr


def outcome(output: str, name: str) -> str:
    for line in output.splitlines():  # the -rA short summary: "PASSED file::name"
        word, _, rest = line.partition(" ")
        if word in ("PASSED", "FAILED", "ERROR") and rest.split(" ")[0].endswith(f"::{name}"):
            return word
    raise AssertionError(f"{name} not in output:\n{output}")


def test_raise_mode_fails_each_blocking_test_with_its_sites(project):
    code, output = run_pytest(project, "--unfake-async=raise")
    assert code == 1, output
    assert outcome(output, "test_clean") == "PASSED"
    assert outcome(output, "test_sleeps_on_the_loop") == "FAILED"
    # The code swallowed the BlockingCallError: the test fails all the same.
    assert outcome(output, "test_fetches_on_the_loop_and_swallows_errors") == "FAILED"
    assert outcome(output, "test_marked_but_allowed") == "PASSED"
    assert outcome(output, "test_fixture") == "PASSED"
    assert "UFA010 blocking call on the event loop: time.sleep(0.001) at test_generated.py:11 in sleepy" in output
    assert "UFA003 blocking call on the event loop: requests.Session.send(GET http://127.0.0.1:" in output
    assert "test_generated.py:15 in fetch" in output
    assert "unfake-async shim" in output  # the end-of-run summary section


def test_warn_mode_reports_without_failing(project):
    code, output = run_pytest(project, "--unfake-async=warn")
    assert outcome(output, "test_sleeps_on_the_loop") == "PASSED"
    assert outcome(output, "test_fetches_on_the_loop_and_swallows_errors") == "PASSED"
    assert outcome(output, "test_marked") == "FAILED"  # the marker is strict in any mode
    assert code == 1
    assert "BlockingCallWarning" in output
    assert "call(s) in test_generated.py::test_sleeps_on_the_loop" in output


def test_off_by_default_except_marker_and_fixture(project):
    code, output = run_pytest(project)
    assert outcome(output, "test_sleeps_on_the_loop") == "PASSED"
    assert outcome(output, "test_fetches_on_the_loop_and_swallows_errors") == "PASSED"
    assert outcome(output, "test_marked") == "FAILED"
    assert outcome(output, "test_marked_but_allowed") == "PASSED"
    assert outcome(output, "test_fixture") == "PASSED"
    assert "unfake-async shim" not in output and "BlockingCallWarning" not in output
    assert code == 1


def test_plugin_import_does_not_load_the_shim():
    code = textwrap.dedent("""
        import sys
        import unfake_async.shim.pytest_plugin
        loaded = [m for m in sys.modules if m.startswith("unfake_async.shim.")]
        assert loaded == ["unfake_async.shim.pytest_plugin"], loaded
    """)
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, timeout=60)


CPU_BOUND_TESTS = '''\
import asyncio
import time


async def crunch():
    await asyncio.sleep(0.05)
    end = time.thread_time() + 0.3
    while time.thread_time() < end:
        pass
    await asyncio.sleep(0.05)


def test_cpu_bound_on_the_loop():
    asyncio.run(crunch())
'''


def test_watchdog_option_fails_a_test_that_holds_the_loop(tmp_path):
    (tmp_path / "test_generated.py").write_text(CPU_BOUND_TESTS)
    code, output = run_pytest(tmp_path, "--unfake-async=raise", "--unfake-async-watchdog=100")
    assert code == 1, output
    assert outcome(output, "test_cpu_bound_on_the_loop") == "FAILED"
    assert "UFA011 event loop blocked for " in output
    assert any(f"test_generated.py:{n} in crunch" in output for n in (8, 9))
    code, output = run_pytest(tmp_path, "--unfake-async=raise")  # no watchdog: nothing to see
    assert code == 0 and outcome(output, "test_cpu_bound_on_the_loop") == "PASSED"

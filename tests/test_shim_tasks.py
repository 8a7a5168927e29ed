"""Offloads and blocking calls made inside tasks are reported at the user's line that made them.

`gather`, `create_task`, `TaskGroup`, `asyncio.wait`/`as_completed` and anyio task groups run the
offload helper's coroutine later, in a task of its own, whose stack holds only the event loop
and whatever started it; the shim captures the caller when the helper is called.
"""
from __future__ import annotations

import asyncio
import sys

import pytest
import requests

from tests.support.fixtures import http_server  # noqa: F401
from tests.support.loops import LOOP_RUNNERS
from unfake_async import shim

RUNNERS = pytest.mark.parametrize("run", LOOP_RUNNERS.values(), ids=LOOP_RUNNERS.keys())
HERE = __file__


def this_line() -> int:
    return sys._getframe(1).f_lineno


@pytest.fixture
def recording():
    with shim.verifying("record") as verification:
        yield verification


def origins(verification):
    """(rule, via, line, function) of each finding's offloading caller, sorted."""
    return sorted(
        (f.rule_id, f.via, f.origin.lineno, f.origin.function.rsplit(".", 1)[-1])
        for f in verification.findings
        if f.origin is not None and f.origin.filename == HERE
    )


@RUNNERS
def test_gather_of_to_thread_names_the_gathering_line(http_server, run, recording):
    url = http_server.url("/json")
    lines = []

    async def route():
        lines.append(this_line() + 1)
        return await asyncio.gather(asyncio.to_thread(requests.get, url),
                                    asyncio.to_thread(requests.get, url))

    assert [r.status_code for r in run(route())] == [200, 200]
    assert origins(recording) == [("UFA002", "asyncio.to_thread", lines[0], "route"),
                                  ("UFA002", "asyncio.to_thread", lines[0] + 1, "route")]
    assert http_server.requests_seen == 2


@RUNNERS
def test_create_task_wait_and_as_completed(http_server, run, recording):
    url = http_server.url("/json")
    lines = {}

    async def spawner():
        lines["create_task"] = this_line() + 1
        task = asyncio.create_task(asyncio.to_thread(requests.get, url))
        await task
        lines["wait"] = this_line() + 1
        pending = [asyncio.ensure_future(asyncio.to_thread(requests.get, url))]
        await asyncio.wait(pending)
        lines["as_completed"] = this_line() + 1
        for next_done in asyncio.as_completed([asyncio.to_thread(requests.get, url)]):
            await next_done
        loop = asyncio.get_running_loop()
        lines["executor"] = this_line() + 1
        await asyncio.gather(loop.run_in_executor(None, requests.get, url))

    run(spawner())
    found = origins(recording)
    assert found == sorted([
        ("UFA002", "asyncio.to_thread", lines["create_task"], "spawner"),
        ("UFA002", "asyncio.to_thread", lines["wait"], "spawner"),
        ("UFA002", "asyncio.to_thread", lines["as_completed"], "spawner"),
        ("UFA001", "loop.run_in_executor", lines["executor"], "spawner"),
    ])


@pytest.mark.skipif(sys.version_info < (3, 11), reason="asyncio.TaskGroup needs Python 3.11+")
def test_task_group(http_server, recording):
    url = http_server.url("/json")
    lines = []

    async def fan_out():
        async with asyncio.TaskGroup() as group:
            lines.append(this_line() + 1)
            group.create_task(asyncio.to_thread(requests.get, url))
            group.create_task(fetch_in_a_helper(url))

    asyncio.run(fan_out())
    assert origins(recording) == sorted([
        ("UFA002", "asyncio.to_thread", lines[0], "fan_out"),
        ("UFA002", "asyncio.to_thread", HELPER_LINE, "fetch_in_a_helper"),
    ])


async def fetch_in_a_helper(url):
    # A user coroutine run as a task: the line is the helper's own.
    return await asyncio.to_thread(requests.get, url)


HELPER_LINE = fetch_in_a_helper.__code__.co_firstlineno + 2


def test_anyio_task_group(http_server, recording):
    import anyio
    import anyio.to_thread

    url = http_server.url("/json")
    lines = {}

    async def fan_out():
        async with anyio.create_task_group() as group:
            lines["run_sync"] = this_line() + 1
            group.start_soon(anyio.to_thread.run_sync, requests.get, url)
            lines["to_thread"] = this_line() + 1
            group.start_soon(asyncio.to_thread, requests.get, url)

    anyio.run(fan_out)
    assert origins(recording) == sorted([
        ("UFA002", "anyio.to_thread.run_sync", lines["run_sync"], "fan_out"),
        ("UFA002", "asyncio.to_thread", lines["to_thread"], "fan_out"),
    ])


def test_starlette_run_in_threadpool_in_gather(http_server, recording):
    from starlette.concurrency import run_in_threadpool

    url = http_server.url("/json")
    lines = []

    async def route():
        lines.append(this_line() + 1)
        await asyncio.gather(run_in_threadpool(requests.get, url), run_in_threadpool(requests.get, url))

    asyncio.run(route())
    assert origins(recording) == [
        ("UFA002", "starlette.concurrency.run_in_threadpool", lines[0], "route")] * 2


def test_asgiref_sync_to_async_in_gather(http_server, recording):
    asgiref_sync = pytest.importorskip("asgiref.sync")

    url = http_server.url("/json")
    lines = []

    async def view():
        fetch = asgiref_sync.sync_to_async(requests.get)
        lines.append(this_line() + 1)
        await asyncio.gather(fetch(url), fetch(url))

    asyncio.run(view())
    assert origins(recording) == [("UFA002", "asgiref.sync.sync_to_async", lines[0], "view")] * 2


@RUNNERS
def test_blocking_call_in_a_task_is_at_the_tasks_line(http_server, run, recording):
    url = http_server.url("/json")
    lines = []

    async def blocking():
        lines.append(this_line() + 1)
        return requests.get(url)

    async def main():
        await asyncio.gather(blocking(), asyncio.create_task(blocking()))
        # A plain callback that is library code all the way: named by its own frame, not by
        # the asyncio.run(...) line below the loop.
        asyncio.get_running_loop().call_soon(requests.get, url)
        await asyncio.sleep(0.2)

    run(main())
    sites = [(f.rule_id, f.site.filename, f.site.lineno) for f in recording.findings]
    assert sites[:2] == [("UFA003", HERE, lines[0])] * 2
    assert len(sites) == 3 and sites[2][0] == "UFA003" and sites[2][1] != HERE
    assert recording.findings[2].site.function == "get"  # requests.get, the callback itself


def test_helpers_still_look_like_coroutine_functions():
    import inspect

    with shim.verifying("record"):
        assert asyncio.iscoroutinefunction(asyncio.to_thread)
        if sys.version_info >= (3, 12):
            assert inspect.iscoroutinefunction(asyncio.to_thread)
        assert hasattr(asyncio.to_thread, "__unfake_async_original__")
    assert not hasattr(asyncio.to_thread, "__unfake_async_original__")


def test_a_reexport_bound_to_the_wrapper_gets_the_original_back(tmp_path):
    """`fastapi.concurrency` re-exports starlette's run_in_threadpool: imported after install,
    it binds the wrapper; uninstall must put the original back there too."""
    import subprocess

    package = tmp_path / "fastapi"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "concurrency.py").write_text(
        "from starlette.concurrency import run_in_threadpool  # noqa: F401\n")
    code = (
        "import sys; from unfake_async import shim; shim.install('record');"
        "import starlette.concurrency as star, fastapi.concurrency as fast;"
        "assert fast.run_in_threadpool is star.run_in_threadpool;"
        "assert hasattr(fast.run_in_threadpool, '__unfake_async_original__');"
        "shim.uninstall();"
        "assert not hasattr(star.run_in_threadpool, '__unfake_async_original__');"
        "assert fast.run_in_threadpool is star.run_in_threadpool"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60, cwd=str(tmp_path))

"""A real Starlette app under `uvicorn`, run by `unfake-async verify`: findings name the routes.

The shape of the report that started issue 16: `asyncio.gather(asyncio.to_thread(requests.get,
...), ...)` in a route was reported at uvicorn's `asyncio.run(...)` line, never the route's.
"""
from __future__ import annotations

import os
import signal
import socket
import sys
import textwrap
import threading
import time

import httpx
import pytest

from tests.support.fixtures import http_server  # noqa: F401
from tests.support.loops import line_of
from unfake_async.shim.command import verify_main

pytest.importorskip("uvicorn")
pytest.importorskip("starlette")

APP = textwrap.dedent('''\
    import asyncio, os, time
    import requests
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    UPSTREAM = os.environ["UPSTREAM"]
    with open(os.environ["PID_FILE"], "w") as handle:
        handle.write(str(os.getpid()))


    async def fan_out(request):
        a, b = await asyncio.gather(asyncio.to_thread(requests.get, UPSTREAM + "/json"), asyncio.to_thread(requests.get, UPSTREAM + "/json?b=1"))
        task = asyncio.create_task(run_in_threadpool(requests.get, UPSTREAM + "/json?c=1"))
        await task
        return JSONResponse({"ok": a.ok and b.ok})


    async def direct(request):
        return JSONResponse(requests.get(UPSTREAM + "/json").json())


    async def crunch(request):
        end = time.thread_time() + 0.3
        while time.thread_time() < end:
            pass
        return JSONResponse({"ok": True})


    app = Starlette(routes=[Route("/fan-out", fan_out), Route("/direct", direct),
                            Route("/crunch", crunch)])
''')


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_serving(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"uvicorn did not listen on 127.0.0.1:{port} within {timeout} s")


def test_uvicorn_app_under_verify_names_the_route_lines(tmp_path, http_server, monkeypatch, capfd):
    (tmp_path / "app.py").write_text(APP)
    pid_file = tmp_path / "uvicorn.pid"
    monkeypatch.setenv("UPSTREAM", http_server.base_url)
    monkeypatch.setenv("PID_FILE", str(pid_file))
    port = free_port()
    command = ["--mode", "warn", "--", sys.executable, "-m", "uvicorn", "app:app",
               "--app-dir", str(tmp_path), "--host", "127.0.0.1", "--port", str(port),
               "--log-level", "warning"]
    result = {}
    runner = threading.Thread(target=lambda: result.update(code=verify_main(command)))
    runner.start()
    try:
        wait_until_serving(port)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            for _ in range(3):
                assert client.get("/fan-out").json() == {"ok": True}
            assert client.get("/direct").json()["ok"] is True
            assert client.get("/crunch").json() == {"ok": True}
    finally:
        if pid_file.exists():
            os.kill(int(pid_file.read_text()), signal.SIGINT)  # uvicorn's graceful shutdown
        runner.join(timeout=60)
    assert result["code"] == 1
    err = capfd.readouterr().err
    summary = err[err.index("unfake-async verify: "):]

    gather_line = line_of(APP, "asyncio.gather(asyncio.to_thread")
    threadpool_line = line_of(APP, "create_task(run_in_threadpool")
    direct_line = line_of(APP, "requests.get(UPSTREAM + \"/json\").json()")
    crunch_lines = (line_of(APP, "while time.thread_time() < end"), line_of(APP, "pass"))
    assert (f"6x  UFA002 fake async: requests.Session.send(GET {http_server.base_url}/json"
            in summary)
    assert f"by asyncio.to_thread in {tmp_path}/app.py:{gather_line} in fan_out" in summary
    assert (f"3x  UFA002 fake async: requests.Session.send(GET {http_server.base_url}/json?c=1) "
            f"ran in a worker thread started by starlette.concurrency.run_in_threadpool in "
            f"{tmp_path}/app.py:{threadpool_line} in fan_out" in summary)
    assert (f"1x  UFA003 blocking call on the event loop: requests.Session.send(GET "
            f"{http_server.base_url}/json) at {tmp_path}/app.py:{direct_line} in direct" in summary)
    assert any(f"UFA011 event loop blocked for " in line and
               any(f"app.py:{n} in crunch" in line for n in crunch_lines)
               for line in summary.splitlines())
    assert "site-packages" not in summary  # no finding is pinned on the server's own frames
    assert http_server.requests_seen == 10

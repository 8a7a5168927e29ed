"""The shim's detection at runtime: what is reported, where, in which mode, and what is not."""
from __future__ import annotations

import asyncio
import concurrent.futures
import http.client
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import warnings

import httpx
import pytest
import requests
import urllib3

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


def rules(verification):
    return sorted(f.rule_id for f in verification.findings)


@RUNNERS
def test_requests_on_the_loop_is_ufa003_at_the_users_line(http_server, run, recording):
    lines = []

    async def main():
        lines.append(this_line() + 1)
        return requests.get(http_server.url("/json")).json()

    assert run(main())["ok"]
    (finding,) = recording.findings
    assert finding.rule_id == "UFA003" and finding.call == "requests.Session.send"
    assert (finding.site.filename, finding.site.lineno) == (HERE, lines[0])
    assert finding.site.function.endswith("main")
    assert http_server.requests_seen == 1


def test_each_http_layer_is_reported_once_by_its_own_name(http_server, recording):
    async def main():
        urllib.request.urlopen(http_server.url("/json")).read()
        with urllib3.PoolManager() as pool:
            pool.request("GET", http_server.url("/bytes?n=10"))
        with httpx.Client() as client:
            client.get(http_server.url("/status/204"))

    asyncio.run(main())
    assert [(f.rule_id, f.call) for f in recording.findings] == [
        ("UFA003", "http.client.HTTPConnection.request"),
        ("UFA003", "urllib3.HTTPConnectionPool.urlopen"),
        ("UFA003", "httpx.Client.send"),
    ]
    assert recording.findings[1].detail == f"GET {http_server.base_url}/bytes?n=10"


@RUNNERS
def test_sleep_and_blocking_sockets_on_the_loop(http_server, run, recording):
    port = int(http_server.base_url.rsplit(":", 1)[1])

    async def main():
        time.sleep(0.001)
        time.sleep(0)  # only yields the GIL: not reported
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.sendall(b"GET /json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            sock.recv(10)

    run(main())
    calls = [(f.rule_id, f.call) for f in recording.findings]
    assert calls == [
        ("UFA010", "time.sleep"),
        ("UFA900", "socket.getaddrinfo"),
        ("UFA900", "socket.connect"),
        ("UFA900", "socket.sendall"),
        ("UFA900", "socket.recv"),
    ]
    assert recording.findings[3].detail == f"127.0.0.1:{port}"


@RUNNERS
def test_real_async_io_is_clean(http_server, run, recording):
    port = int(http_server.base_url.rsplit(":", 1)[1])

    async def main():
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert (await reader.read()).startswith(b"HTTP/1.1 200")
        writer.close()
        async with httpx.AsyncClient(base_url=http_server.base_url) as client:
            responses = await asyncio.gather(*(client.get("/json") for _ in range(20)))
        await asyncio.sleep(0.001)
        await loop_offload_without_http()
        return responses

    assert all(r.status_code == 200 for r in run(main()))
    assert recording.findings == []


async def loop_offload_without_http():
    # Work pushed to a thread that does not do HTTP is not fake async.
    await asyncio.to_thread(time.sleep, 0.001)
    await asyncio.get_running_loop().run_in_executor(None, sum, [1, 2])


def test_nothing_is_reported_without_a_running_loop(http_server, recording):
    requests.get(http_server.url("/json"))
    time.sleep(0.001)
    worker = threading.Thread(target=requests.get, args=(http_server.url("/json"),))
    worker.start()
    worker.join()
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        pool.submit(requests.get, http_server.url("/json")).result()
    assert recording.findings == []
    assert http_server.requests_seen == 3


@RUNNERS
def test_fake_async_shapes_name_the_coroutine(http_server, run, recording):
    url = http_server.url("/json")
    lines = {}

    async def via_executor_none():
        lines["executor"] = this_line() + 1
        return await asyncio.get_running_loop().run_in_executor(None, requests.get, url)

    async def via_to_thread():
        lines["to_thread"] = this_line() + 1
        return await asyncio.to_thread(lambda: requests.get(url))

    async def via_submit():
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            lines["submit"] = this_line() + 1
            return await asyncio.wrap_future(pool.submit(requests.get, url))

    async def main():
        for shape in (via_executor_none, via_to_thread, via_submit):
            assert (await shape()).status_code == 200

    run(main())
    found = recording.findings
    assert [(f.rule_id, f.via) for f in found] == [
        ("UFA001", "loop.run_in_executor"),
        ("UFA002", "asyncio.to_thread"),
        ("UFA001", "executor.submit"),
    ]
    assert [f.origin.lineno for f in found] == [lines["executor"], lines["to_thread"], lines["submit"]]
    assert found[0].site is None  # requests.get itself was the offloaded callable
    assert found[1].site.function.endswith("<lambda>")
    assert all(f.thread != threading.main_thread().name for f in found)


def test_anyio_offload_is_ufa002(http_server, recording):
    import anyio.to_thread

    async def main():
        return await anyio.to_thread.run_sync(requests.get, http_server.url("/json"))

    assert asyncio.run(main()).status_code == 200
    assert [(f.rule_id, f.via) for f in recording.findings] == [
        ("UFA002", "anyio.to_thread.run_sync")
    ]


def test_raise_mode_stops_the_call_and_warn_mode_points_at_the_line(http_server):
    async def blocking():
        requests.get(http_server.url("/json"))

    with shim.verifying("raise"):
        with pytest.raises(shim.BlockingCallError) as raised:
            asyncio.run(blocking())
    assert raised.value.finding.rule_id == "UFA003"
    assert http_server.requests_seen == 0

    with shim.verifying("warn"):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            asyncio.run(blocking())
            asyncio.run(blocking())  # same site: warned once, counted twice
    (warning,) = [w for w in caught if issubclass(w.category, shim.BlockingCallWarning)]
    assert warning.filename == HERE
    assert warning.lineno == blocking.__code__.co_firstlineno + 1
    assert http_server.requests_seen == 2


def test_log_mode(http_server, caplog):
    async def main():
        time.sleep(0.001)

    with shim.verifying("log"), caplog.at_level("WARNING", logger="unfake_async.shim"):
        asyncio.run(main())
    assert "UFA010" in caplog.text and "test_shim_runtime.py" in caplog.text


def helper_allowed_to_block():
    time.sleep(0.001)


def test_allow_list_by_function_module_and_scope(http_server):
    async def main():
        helper_allowed_to_block()
        with shim.allow_blocking():
            requests.get(http_server.url("/json"))
            await asyncio.to_thread(requests.get, http_server.url("/json"))
        time.sleep(0.001)  # not allowed

    rule = f"{__name__}:helper_allowed_to_block"
    with shim.verifying("record", allow=[rule]) as verification:
        asyncio.run(main())
    assert [f.call for f in verification.findings] == ["time.sleep"]
    assert verification.findings[0].site.function.endswith("main")

    with shim.verifying("record", allow=[__name__]) as verification:
        asyncio.run(main())
    assert verification.findings == []
    with pytest.raises(ValueError):
        shim.allow(":no_module")


def registered_blocking_call(n):
    return n * 2


def test_register_extends_the_checked_calls():
    async def main():
        return registered_blocking_call(2) + registered_blocking_call(-1)

    with shim.verifying("record") as verification:
        shim.register(f"{__name__}:registered_blocking_call", rule_id="UFA950",
                      when=lambda n: n > 0)
        assert asyncio.run(main()) == 2
    assert [(f.rule_id, f.call) for f in verification.findings] == [
        ("UFA950", f"{__name__}.registered_blocking_call")
    ]
    assert registered_blocking_call.__module__ == __name__  # unpatched again
    shim._user_targets.clear()


def test_reports_never_print_credentials(http_server, recording):
    base = http_server.base_url.replace("http://", "http://alice:hunter2@")
    token_path = "/json/abcdefghijklmnop1234567890XYZ"

    async def main():
        requests.get(f"{base}/json?api_key=K3Y&page=2&access_token=T0K",
                     headers={"Authorization": "Bearer B34R3R", "Cookie": "sid=C00K"})
        requests.get(http_server.url(token_path))

    asyncio.run(main())
    text = recording.summary() + "".join(repr(f) for f in recording.findings)
    for secret in ("hunter2", "K3Y", "T0K", "B34R3R", "C00K", "abcdefghijklmnop1234567890XYZ"):
        assert secret not in text
    assert "alice:***@" in text and "page=2" in text and "api_key=***" in text


def test_uninstall_restores_every_patched_function():
    originals = (time.sleep, requests.Session.send, http.client.HTTPConnection.putrequest,
                 asyncio.base_events.BaseEventLoop.run_in_executor)
    with shim.verifying("warn"):
        assert time.sleep is not originals[0] and "send" in vars(socket.socket)
    assert (time.sleep, requests.Session.send, http.client.HTTPConnection.putrequest,
            asyncio.base_events.BaseEventLoop.run_in_executor) == originals
    assert "send" not in vars(socket.socket)  # the C method shows through again
    assert shim.installed_mode() is None


def test_modules_imported_after_install_are_patched():
    code = (
        "import sys; from unfake_async import shim; shim.install('record');"
        "assert 'requests' not in sys.modules;"
        "import requests, asyncio;"
        "assert hasattr(requests.Session.send, '__unfake_async_original__');"
        "asyncio.run(asyncio.sleep(0));"
        "shim.uninstall(); assert not hasattr(requests.Session.send, '__unfake_async_original__')"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_findings_are_counted_exactly_across_threads(http_server, recording):
    async def main(i):
        for _ in range(5):
            time.sleep(0.0001)
            await asyncio.to_thread(requests.get, http_server.url(f"/json?i={i}"))

    threads = [threading.Thread(target=asyncio.run, args=(main(i),)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert rules(recording) == ["UFA002"] * 20 + ["UFA010"] * 20
    assert "40 " not in recording.summary()  # grouped by site, not one line per call
    assert "   20x  UFA010" in recording.summary()


def test_invalid_mode_is_refused():
    with pytest.raises(ValueError):
        shim.install("loud")
    assert shim.installed_mode() is None

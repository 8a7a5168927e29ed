"""`unfake-async verify -- CMD`: the shim in every Python process of a command, one summary."""
from __future__ import annotations

import json
import sys
import textwrap

from tests.support.fixtures import http_server  # noqa: F401
from unfake_async.shim.command import verify_main

FAKE_ASYNC_APP = textwrap.dedent('''\
    import asyncio, os, subprocess, sys
    from concurrent.futures import ThreadPoolExecutor
    import requests

    async def select(base):
        loop = asyncio.get_event_loop()
        with ThreadPoolExecutor(3) as pool:
            return await loop.run_in_executor(pool, lambda: requests.get(base + "/json"))

    async def main(base):
        for _ in range(3):
            await select(base)

    asyncio.run(main(sys.argv[1]))
    # A child process is covered too, even one that leaves through os._exit.
    subprocess.run([sys.executable, "-c",
                    "import asyncio, os, time\\n"
                    "async def nap(): time.sleep(0.001)\\n"
                    "asyncio.run(nap()); os._exit(0)"], check=True)
''')

CLEAN_APP = textwrap.dedent('''\
    import asyncio, sys
    import httpx

    # Built before the loop starts: the constructor loads the CA bundle, which holds a loop
    # for 100-250 ms here (the watchdog, on by default under verify, reports it as UFA011).
    CLIENT = httpx.AsyncClient()

    async def main(base):
        async with CLIENT as client:
            for _ in range(3):
                (await client.get(base + "/json")).raise_for_status()

    asyncio.run(main(sys.argv[1]))
    sys.exit(int(sys.argv[2]))
''')


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_verify_reports_fake_async_across_processes(tmp_path, http_server, capfd):
    app = write(tmp_path, "app.py", FAKE_ASYNC_APP)
    report = tmp_path / "report.json"
    code = verify_main(["--json", str(report), "--", sys.executable, app, http_server.base_url])
    err = capfd.readouterr().err
    assert code == 1
    assert "unfake-async verify: 1 blocking call(s) on the event loop, 3 fake-async call(s)" in err
    assert "3x  UFA001 fake async: requests.Session.send(GET http://127.0.0.1:" in err
    assert "by loop.run_in_executor in " in err and "app.py:8 in select" in err
    assert "UFA010 blocking call on the event loop: time.sleep(0.001) at <string>:2 in nap" in err
    sites = json.loads(report.read_text())["sites"]
    assert sorted((s["rule_id"], s["count"]) for s in sites) == [("UFA001", 3), ("UFA010", 1)]
    assert http_server.requests_seen == 3


def test_verify_passes_a_clean_command_and_its_exit_status(tmp_path, http_server, capfd):
    app = write(tmp_path, "clean.py", CLEAN_APP)
    assert verify_main(["--", sys.executable, app, http_server.base_url, "0"]) == 0
    assert "no blocking calls on the event loop, no fake-async calls" in capfd.readouterr().err
    assert verify_main([sys.executable, app, http_server.base_url, "3"]) == 3  # '--' optional
    assert http_server.requests_seen == 6


def test_verify_raise_mode_and_allow(tmp_path, http_server, capfd):
    app = write(tmp_path, "app.py", FAKE_ASYNC_APP)
    assert verify_main(["--mode", "raise", "--", sys.executable, app, http_server.base_url]) == 1
    assert "BlockingCallError: UFA001" in capfd.readouterr().err
    assert http_server.requests_seen == 0  # raised before the first request left
    code = verify_main(["--allow", "__main__", "--allow", "__main__:nap", "--",
                        sys.executable, app, http_server.base_url])
    assert "no blocking calls" in capfd.readouterr().err
    assert code == 0


def test_verify_keeps_an_existing_sitecustomize(tmp_path, monkeypatch, capfd):
    site_dir = tmp_path / "site"
    site_dir.mkdir()
    marker = tmp_path / "marker.txt"
    (site_dir / "sitecustomize.py").write_text(f"open({str(marker)!r}, 'w').write('ran')\n")
    monkeypatch.setenv("PYTHONPATH", str(site_dir))
    script = "import asyncio, time\nasync def nap(): time.sleep(0.001)\nasyncio.run(nap())\n"
    assert verify_main(["--", sys.executable, "-c", script]) == 1
    assert marker.read_text() == "ran"
    assert "UFA010" in capfd.readouterr().err


def test_verify_usage_errors(capfd):
    assert verify_main([]) == 2
    assert verify_main(["--", "/nonexistent/unfake-async-test-command"]) == 2
    assert "cannot run" in capfd.readouterr().err

"""Clients that are not ours (issue 18, parts 2 and 3), run against a local server next to the
original code: the project's own accessor (`client = "app.net:get_client"`, fixture
package_own_client) and Home Assistant's client (fixture hass_integration, with the stand-in
`homeassistant` of tests/support/ha_stand_in). Both keep httpx's defaults, so the migrated calls
carry requests' behaviour themselves: redirects, timeouts and errors as with requests."""
from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess
import sys
import textwrap

from tests.support import package_fixtures as pf
from tests.support.code_text import flat
from tests.support.server import serve

REPO = pathlib.Path(__file__).resolve().parents[1]
HA_STAND_IN = REPO / "tests" / "support" / "ha_stand_in"


def run_python(code: str, *paths: pathlib.Path):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(str(p) for p in paths))
    done = subprocess.run([sys.executable, "-W", "error::ResourceWarning", "-c", textwrap.dedent(code)],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


OWN_CLIENT_CALLS = """
    import asyncio, json
    from app import net, weather

    async def main(base):
        results = [
            await weather.current(base),
            await weather.slow(base),
            await weather.impatient(base),
            await weather.broken(base),
            await weather.Station(base).reading(),
        ]
        # The accessor's client by itself: no redirects (so the per-call options did the work).
        results.append((await net.get_client().get(base + "/redirect/1")).status_code)
        await net.close_client()
        return results

    print(json.dumps(asyncio.run(main(BASE))))
"""


def test_own_client_fixture_behaves_like_requests(tmp_path):
    case = pf.FIXTURES / "package_own_client"
    with serve(max_requests=50) as server:
        base = server.url("").rstrip("/")
        script = OWN_CLIENT_CALLS.replace("BASE", repr(base))
        expected = run_python(script, case / "before", REPO)
        got = run_python(script, case / "after", REPO)
    assert expected == ["/json", 200, "timeout", "http error", {"station": ["1"]}, 302]
    assert got == expected


def test_own_client_writes_no_client_code():
    after = pf.FIXTURES / "package_own_client" / "after" / "app"
    assert sorted(p.name for p in after.iterdir() if p.suffix == ".py") == ["__init__.py", "net.py", "weather.py"]
    text = (after / "weather.py").read_text()
    assert "from app.net import get_client" in text
    assert "AsyncClient" not in text and "def _http_client" not in text


HA_CALLS = """
    import asyncio, json
    import integration
    from homeassistant.core import HomeAssistant

    async def main(host):
        hass = HomeAssistant()
        results = [
            (await integration.async_get_status(hass, host))["path"],
            await integration.async_check_device(hass, host),
            await integration.async_probe(hass, host),
            (await integration.DeviceCoordinator(hass, host).async_update_data())["path"],
        ]
        await hass.async_stop()
        return results

    print(json.dumps(asyncio.run(main(BASE))))
"""


def test_home_assistant_fixture_behaves_like_requests(tmp_path):
    case = pf.FIXTURES / "hass_integration"
    for name in ("before", "after"):
        (tmp_path / name).mkdir()
        shutil.copy(case / f"{name}.py", tmp_path / name / "integration.py")
    with serve(max_requests=50) as server:
        script = HA_CALLS.replace("BASE", repr(server.url("").rstrip("/")))
        expected = run_python(script, tmp_path / "before", HA_STAND_IN)
        got = run_python(script, tmp_path / "after", HA_STAND_IN)
    assert expected == ["/json", "unavailable", "timeout", "/slow"]
    assert got == expected


def test_home_assistant_fixture_uses_home_assistants_client_only():
    text = (pf.FIXTURES / "hass_integration" / "after.py").read_text()
    assert "from homeassistant.helpers.httpx_client import get_async_client" in text
    assert "get_async_client(hass, verify_ssl=False)" in text and "get_async_client(self.hass" in text
    assert "AsyncClient(" not in text and "def _http_client" not in text and "_new_http_client" not in text


# -- where each call gets its client (unit) ---------------------------------------------------

def _fix(text: str, path: pathlib.Path, settings=None):
    from unfake_async.codemod import FixLevel, analyze_source

    return analyze_source(textwrap.dedent(text), path=str(path), settings=settings, fix_level=FixLevel.UNSAFE)


def _package(tmp_path: pathlib.Path) -> pathlib.Path:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    return tmp_path / "pkg"


def test_home_assistant_client_only_where_hass_is_in_reach(tmp_path):
    result = _fix("""
        import requests
        from homeassistant.core import HomeAssistant

        async def with_hass(hass, url):
            return requests.get(url).status_code

        async def without_hass(url):
            return requests.get(url).status_code

        async def unverified(hass, url, verify):
            return requests.get(url, verify=verify).status_code
    """, _package(tmp_path) / "sensor.py")
    fixed = flat(result.fixed_source)  # wrapped at the project's line length
    assert "(await get_async_client(hass).get(url, follow_redirects=True, timeout=None)).status_code" in fixed
    assert "(await http_client().get(url)).status_code" in fixed  # the project's client
    assert "verify=verify" in fixed  # a TLS setting that is not a literal False stays blocked
    assert result.created_files  # the project's module, for without_hass
    reasons = [f.reason for f in result.findings if not f.fixed]
    assert reasons == ["per-call verify= is a client setting in httpx; use a dedicated client"]


def test_a_module_that_already_binds_the_accessor_name_keeps_its_own_client(tmp_path):
    result = _fix("""
        import http.client as http_client
        import requests

        async def fetch(url):
            return requests.get(url).text
    """, _package(tmp_path) / "mod.py")
    assert "def _http_client()" in result.fixed_source and not result.created_files


def test_own_accessor_in_a_class_without_session_state(tmp_path):
    from unfake_async.settings import Settings

    result = _fix("""
        import asyncio
        import requests

        class Api:
            async def get(self, url):
                return (await asyncio.to_thread(requests.get, url, timeout=3)).json()
    """, _package(tmp_path) / "api.py", Settings(client="pkg.net:client_for"))
    fixed = flat(result.fixed_source)  # wrapped at the project's line length
    assert "from pkg.net import client_for" in fixed and "_get_client" not in fixed
    assert "await client_for().get(url, timeout=httpx.Timeout(3, pool=None), follow_redirects=True)" in fixed
    assert not result.created_files


def test_in_a_package_only_a_class_with_session_state_keeps_a_client_of_its_own(tmp_path):
    package = _package(tmp_path)
    sessions = _fix((pf.FIXTURES / "session_attribute" / "before.py").read_text(), package / "sdk.py").fixed_source
    # Api keeps a Session's headers and cookies: its own client, made by the project module's factory.
    assert "self._client = new_client(keep_cookies=True, headers=self._client_headers)" in sessions
    assert "from pkg._http_client import http_client, new_client" in sessions
    assert "(await http_client().get(f\"{BASE}/status\")).status_code" in sessions  # no credentials
    assert "def _new_http_client" not in sessions and "class _PooledTransport" not in sessions
    seed = _fix((pf.FIXTURES / "seed_supabase" / "before.py").read_text(), package / "seed.py").fixed_source
    # SupabaseAsync passes its headers per call: no state of its own, so the project's client.
    assert "await http_client().get(url, headers=self._headers)" in seed
    assert "_get_client" not in seed and "_client_loop" not in seed


def test_keep_concurrency_cap_is_reported_not_applied_to_the_shared_client(tmp_path):
    from unfake_async.settings import Settings

    result = _fix("""
        import asyncio
        from concurrent.futures import ThreadPoolExecutor
        import requests

        POOL = ThreadPoolExecutor(max_workers=8)

        async def fetch(url):
            return await asyncio.get_running_loop().run_in_executor(POOL, requests.get, url)
    """, _package(tmp_path) / "mod.py", Settings(keep_concurrency_cap=True))
    assert "await http_client().get(url)" in result.fixed_source
    notes = [note for f in result.findings for note in f.notes]
    assert any("max_workers=8 is not kept" in note for note in notes)

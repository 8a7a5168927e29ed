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


def run_integration_before_and_after(tmp_path: pathlib.Path, fixture: str, calls: str):
    """`calls` (a script with BASE for the server's address) run against the fixture's
    before.py and after.py, each imported as `integration` beside the stand-in Home Assistant."""
    case = pf.FIXTURES / fixture
    for name in ("before", "after"):
        (tmp_path / name).mkdir()
        shutil.copy(case / f"{name}.py", tmp_path / name / "integration.py")
    with serve(max_requests=50) as server:
        script = calls.replace("BASE", repr(server.url("").rstrip("/")))
        expected = run_python(script, tmp_path / "before", HA_STAND_IN)
        got = run_python(script, tmp_path / "after", HA_STAND_IN)
    return expected, got


def test_home_assistant_fixture_behaves_like_requests(tmp_path):
    expected, got = run_integration_before_and_after(tmp_path, "hass_integration", HA_CALLS)
    assert expected == ["/json", "unavailable", "timeout", "/slow"]
    assert got == expected


def test_home_assistant_fixture_uses_home_assistants_client_only():
    text = (pf.FIXTURES / "hass_integration" / "after.py").read_text()
    assert "from homeassistant.helpers.httpx_client import get_async_client" in text
    assert "get_async_client(hass, verify_ssl=False)" in text and "get_async_client(self.hass" in text
    assert "AsyncClient(" not in text and "def _http_client" not in text and "_new_http_client" not in text


HA_SESSION_CALLS = """
    import asyncio, json, logging
    import integration
    from homeassistant.core import HomeAssistant

    warnings = []
    handler = logging.Handler()
    handler.emit = lambda record: warnings.append(record.getMessage())
    logging.getLogger("homeassistant").addHandler(handler)

    def seen(answer):
        headers = {k.lower(): v for k, v in answer["headers"].items()}
        return [answer["path"], headers.get("cookie"), headers.get("authorization"),
                headers.get("x-device-client")]

    async def main(host):
        hass = HomeAssistant()
        api = integration.DeviceApi(hass, host, "user", "secret")
        results = [
            (await api.async_login())["set"],
            seen(await api.async_get_state()),
            await api.async_probe(),
            seen(await api.async_wait_for_boot()),
            await api.async_check(),
        ]
        api.close()
        client = getattr(api, "_client", None)
        await hass.async_stop()
        closed = None if client is None else client.is_closed
        return {"results": results, "closed_at_stop": closed, "warnings": warnings}

    print(json.dumps(asyncio.run(main(BASE))))
"""


def test_home_assistant_session_fixture_keeps_the_sessions_state(tmp_path):
    """The login's cookie, the session's header and auth reach the later calls (the redirected
    one too), timeouts and errors as with requests, and Home Assistant closes the client when it
    stops, with no warning (the integration never calls the client's aclose())."""
    expected, got = run_integration_before_and_after(tmp_path, "hass_session", HA_SESSION_CALLS)
    auth = "Basic dXNlcjpzZWNyZXQ="  # user:secret
    assert expected["results"] == [
        {"token": "abc123"},
        ["/json", "token=abc123", auth, "home-assistant"],
        "timeout",
        ["/slow", "token=abc123", auth, "home-assistant"],
        "unavailable",
    ]
    assert got["results"] == expected["results"]
    assert expected["closed_at_stop"] is None  # no client attribute before the migration
    assert got["closed_at_stop"] is True
    assert got["warnings"] == []


def test_home_assistant_session_fixture_uses_create_async_httpx_client():
    text = (pf.FIXTURES / "hass_session" / "after.py").read_text()
    assert "from homeassistant.helpers.httpx_client import create_async_httpx_client" in text
    assert "self._client = create_async_httpx_client(\n                self.hass,\n" \
           "                verify_ssl=False,\n" in text
    assert "headers=" not in flat(text)  # Home Assistant passes its own: the headers are added after
    assert "self._client.headers.update(self._client_headers)" in text
    assert ".aclose()" not in text and "import requests" not in text and "from requests" not in text
    assert "_new_http_client" not in text and "http_client()" not in text


def test_a_session_class_without_hass_keeps_a_client_of_its_own(tmp_path):
    result = _fix("""
        import asyncio
        import requests
        from homeassistant.core import HomeAssistant

        class Api:
            def __init__(self, host):
                self.session = requests.Session()
                self.session.cookies.set("lang", "en")

            async def get(self, path):
                return (await asyncio.to_thread(self.session.get, path)).json()
    """, _package(tmp_path) / "api.py")
    fixed = flat(result.fixed_source)
    assert "create_async_httpx_client" not in fixed
    assert "self._client_cookies = httpx.Cookies()" in fixed
    assert 'self._client_cookies.set("lang", "en")' in fixed
    assert "new_client(keep_cookies=True, cookies=self._client_cookies)" in fixed


def test_home_assistant_session_with_cookies_set_at_construction(tmp_path):
    result = _fix("""
        import requests
        from homeassistant.core import HomeAssistant

        class Api:
            def __init__(self, hass, host):
                self.hass = hass
                self.session = requests.Session()
                self.session.cookies.update({"lang": "en"})
                self.session.verify = "/etc/ssl/device.pem"

            async def get(self, path):
                return await self.hass.async_add_executor_job(self.session.get, path)
    """, _package(tmp_path) / "api.py")
    reasons = {f.reason for f in result.findings if not f.fixed}
    # Only `verify = False` maps onto Home Assistant's client; a CA bundle stays for a person.
    assert any("self.session.verify" in reason for reason in reasons), reasons


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


def test_a_namespace_folder_inside_a_package_uses_the_packages_module(tmp_path):
    """`open_webui/routers/` has no __init__.py (PEP 420) and imports as `open_webui.routers`:
    its modules share the package's client module instead of writing one each."""
    (tmp_path / "pyproject.toml").write_text("")
    package = _package(tmp_path)
    (package / "routers").mkdir()
    (tmp_path / "scripts").mkdir()
    source = """
        import requests

        async def fetch(url):
            return requests.get(url).text
    """
    routed = _fix(source, package / "routers" / "items.py")
    assert "from pkg._http_client import http_client" in routed.fixed_source
    assert list(routed.created_files) == [str(package / "_http_client.py")]
    script = _fix(source, tmp_path / "scripts" / "tool.py")  # not in a package: a script
    assert "def _http_client()" in script.fixed_source and not script.created_files

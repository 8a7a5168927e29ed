"""A requests.Session attribute migrated to the class's client, run against a real server.

The server must see the same credentials and headers, the session's cookies must persist, and a
plain requests.get() in the same class must not pick up the session's credentials.
"""
from __future__ import annotations

import asyncio

import pytest

from tests.support.fixtures import http_server  # noqa: F401
from tests.test_behaviour import _load
from unfake_async.codemod import FixLevel, analyze_source

SOURCE = '''
import asyncio

import requests


class Api:
    def __init__(self, base, token):
        self.base = base
        self.session = requests.Session()
        self.session.headers.update({"X-Client": "sdk/1.0"})
        self.session.headers["authorization"] = f"Bearer {token}"
        self.session.auth = ("user", "pw")

    async def seen(self):
        loop = asyncio.get_running_loop()
        r = await loop.run_in_executor(None, self.session.get, self.base + "/json")
        return {k.lower(): v for k, v in r.json()["headers"].items()}

    async def login(self):
        r = await asyncio.to_thread(self.session.get, self.base + "/set-cookie?sid=42")
        return r.json()["ok"]

    async def cookie_sent(self):
        r = await asyncio.to_thread(self.session.get, self.base + "/set-cookie?other=1")
        return r.json()["received"]

    async def anonymous(self):
        r = await asyncio.to_thread(requests.get, self.base + "/json")
        return {k.lower(): v for k, v in r.json()["headers"].items()}

    def close(self):
        self.session.close()
'''


async def _scenario(module, base):
    api = module.Api(base, "t0k3n")
    seen = await api.seen()
    await api.login()
    result = {
        "x-client": seen.get("x-client"),
        # requests' auth= wins over a session header of the same name, and so does httpx's.
        "authorization": seen.get("authorization"),
        "cookie": await api.cookie_sent(),
        "anonymous_authorization": (await api.anonymous()).get("authorization"),
    }
    api.close()
    if hasattr(api, "aclose"):
        await api.aclose()
        await module.aclose_http_client()
    return result


@pytest.fixture(scope="module")
def migrated_source():
    result = analyze_source(SOURCE, fix_level=FixLevel.UNSAFE)
    assert result.fixed_source is not None
    assert "import requests" not in result.fixed_source
    return result.fixed_source


def test_session_attribute_keeps_headers_auth_and_cookies(migrated_source, http_server):  # noqa: F811
    before = asyncio.run(_scenario(_load(SOURCE, "session_before"), http_server.base_url))
    after = asyncio.run(_scenario(_load(migrated_source, "session_after"), http_server.base_url))
    assert before["authorization"].startswith("Basic ")
    assert before["cookie"] == "sid=42"
    assert before["anonymous_authorization"] is None
    assert after == before


def test_second_run_changes_nothing(migrated_source):
    assert analyze_source(migrated_source, fix_level=FixLevel.UNSAFE).fixed_source is None

"""UFA008 sync-helper-in-executor: which helpers are made async, which are only reported, and the
migrated class against a real server on 127.0.0.1 (same results; the thread pool no longer caps
how many requests run at once)."""
from __future__ import annotations

import asyncio
import textwrap
import types

import pytest

from tests.support.fixtures import http_server  # noqa: F401
from unfake_async.codemod import FixLevel, FixSafety, analyze_source
from unfake_async.settings import Settings


def run(source: str, level: FixLevel = FixLevel.UNSAFE, settings: Settings = None):
    return analyze_source(textwrap.dedent(source), fix_level=level, settings=settings)


HELPER = """
import asyncio
import requests


def _fetch(url):
    return requests.get(url).json()


async def fetch(url):
    return await asyncio.to_thread(_fetch, url)
"""


def test_helper_is_made_async_and_awaited():
    result = run(HELPER)
    assert [(f.rule_id, f.fix, f.fixed) for f in result.findings] == [("UFA008", FixSafety.UNSAFE, True)]
    assert "async def _fetch(url):\n    return (await _http_client().get(url)).json()" in result.fixed_source
    assert "return await _fetch(url)" in result.fixed_source
    assert "import requests" not in result.fixed_source
    assert run(HELPER, FixLevel.SAFE).fixed_source is None  # the signature changes: unsafe


def test_fix_is_idempotent():
    fixed = run(HELPER).fixed_source
    again = run(fixed)
    assert again.fixed_source is None and again.findings == []


def test_suppressed_site_keeps_the_helper_sync():
    source = HELPER.replace("await asyncio.to_thread(_fetch, url)", "await asyncio.to_thread(_fetch, url)  # noqa: UFA008")
    result = run(source)
    assert result.findings == [] and result.fixed_source is None


def test_helper_stays_sync_when_the_core_would_not_migrate_its_requests():
    result = run(HELPER, settings=Settings(ignore=("UFA003",)))
    assert result.findings[0].fix is FixSafety.NONE and "UFA003" in result.findings[0].reason
    assert result.fixed_source is None
    suppressed = HELPER.replace("requests.get(url).json()", "requests.get(url).json()  # noqa: UFA003")
    assert run(suppressed).findings[0].fix is FixSafety.NONE


@pytest.mark.parametrize("extra,reason_word", [
    ("def sync_caller(u):\n    return _fetch(u)\n", "sync code"),
    ("CALLBACKS = [_fetch]\n", "referenced without being called"),
    ("__all__ = ['_fetch']\n", "__all__"),
])
def test_helper_used_elsewhere_is_only_reported(extra, reason_word):
    result = run(HELPER + "\n\n" + extra)
    assert [f.fix for f in result.findings] == [FixSafety.NONE]
    assert reason_word in result.findings[0].reason
    assert result.fixed_source is None


def test_thread_options_of_anyio_block_the_fix():
    result = run("""
        import anyio
        import requests

        def _fetch(url):
            return requests.get(url).text

        async def fetch(url):
            return await anyio.to_thread.run_sync(_fetch, url, cancellable=True)
    """)
    assert result.findings[0].fix is FixSafety.NONE and "keyword" in result.findings[0].reason


def test_cpu_helpers_are_not_flagged():
    result = run("""
        import asyncio, json

        def _parse(text):
            return json.loads(text)

        async def parse(text):
            return await asyncio.to_thread(_parse, text)
    """)
    assert result.findings == []


CLIENT = """
import asyncio
from concurrent.futures import ThreadPoolExecutor

import requests


class Api:
    def __init__(self, base):
        self.base = base
        self._pool = ThreadPoolExecutor(max_workers=1)

    def _get(self, path, log, n):
        log.append(("start", n))
        try:
            r = requests.get(self.base + path, timeout=10)
            r.raise_for_status()
            result = r.json()["path"]
        except requests.RequestException:
            result = None
        log.append(("end", n))
        return result

    async def many(self, paths, log):
        loop = asyncio.get_event_loop()
        return await asyncio.gather(*[loop.run_in_executor(self._pool, self._get, p, log, n) for n, p in enumerate(paths)])

    async def one(self, path, log):
        loop = asyncio.get_event_loop()
        return await loop.run_in_executor(self._pool, self._get, path, log, 9)
"""


def _load(source: str, name: str) -> types.ModuleType:
    module = types.ModuleType(name)
    exec(compile(source, f"<{name}>", "exec"), module.__dict__)
    return module


async def _scenario(module, base):
    api = module.Api(base)
    log = []
    results = {
        "many": await api.many(["/slow?delay=0.1", "/json", "/slow?delay=0.1"], log),
        "missing": await api.one("/status/404", []),
    }
    if hasattr(api, "aclose"):
        await api.aclose()
    return results, [event for event, _ in log]


def test_migrated_helper_gives_the_same_results_without_the_pool_cap(http_server):  # noqa: F811
    migrated_source = analyze_source(CLIENT, fix_level=FixLevel.UNSAFE).fixed_source
    assert "ThreadPoolExecutor" not in migrated_source and "run_in_executor" not in migrated_source
    assert "async def _get(self, path, log, n):" in migrated_source
    original, migrated = _load(CLIENT, "original"), _load(migrated_source, "migrated")

    before, before_order = asyncio.run(_scenario(original, http_server.base_url))
    after, after_order = asyncio.run(_scenario(migrated, http_server.base_url))
    assert before == after == {"many": ["/slow", "/json", "/slow"], "missing": None}
    # One worker thread: each request ends before the next starts. Migrated: all start at once.
    assert before_order == ["start", "end"] * 3
    assert after_order == ["start"] * 3 + ["end"] * 3
    assert http_server.requests_seen == 8


def test_partial_with_star_arguments_is_reported():
    result = run("""
        import asyncio, functools
        import requests

        def _fetch(url, **kw):
            return requests.get(url, **kw)

        async def fetch(url, options):
            return await asyncio.to_thread(functools.partial(_fetch, url, **options))
    """)
    assert [f.fix for f in result.findings if f.rule_id == "UFA008"] == [FixSafety.NONE]


LOGIN = """
import asyncio
import requests


class Client:
    def __init__(self, base):
        self.base = base
        self.session = requests.Session()

    def _login(self):
        self.session.post(self.base + "/login").raise_for_status()

    async def login(self):
        await asyncio.get_running_loop().run_in_executor(None, self._login)

    async def me(self):
        return await asyncio.get_running_loop().run_in_executor(None, self.session.get, self.base + "/me")
"""


@pytest.mark.parametrize("level", [FixLevel.NONE, FixLevel.SAFE, FixLevel.UNSAFE])
def test_session_call_beside_a_login_helper_is_labelled_with_the_helpers_fix(level):
    """The Session is also used in `_login`, so on its own the `self.session.get` has no fix; with
    `_login` made async (UFA008, unsafe) the whole class moves, so every level labels it unsafe
    and says why, and only --unsafe-fixes applies it."""
    result = run(LOGIN, level)
    by_rule = {f.rule_id: f for f in result.findings}
    session_get = by_rule["UFA001"]
    assert session_get.fix is FixSafety.UNSAFE
    assert "once `self._login` becomes `async def` (UFA008" in session_get.reason
    assert session_get.fixed is (level is FixLevel.UNSAFE)
    assert by_rule["UFA008"].fixed is (level is FixLevel.UNSAFE)


def test_session_call_keeps_no_fix_when_the_login_helper_cannot_move():
    """`_login` also called from sync code stays sync: the `self.session.get` label stays "none"."""
    blocked = LOGIN + """
    def relogin(self):
        self._login()
"""
    result = run(blocked, FixLevel.NONE)
    by_rule = {f.rule_id: f for f in result.findings}
    assert by_rule["UFA008"].fix is FixSafety.NONE and "sync code" in by_rule["UFA008"].reason
    assert by_rule["UFA001"].fix is FixSafety.NONE

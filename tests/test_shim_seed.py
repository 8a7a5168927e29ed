"""The seed article's fake-async client, checked at runtime before and after the codemod.

Before: every method is reported (executor shape UFA001, direct call UFA003, to_thread UFA002),
with the coroutine's frame and the line that makes the request. After
`analyze_source(..., fix_level=UNSAFE)` rewrites it to a shared per-loop httpx.AsyncClient, the
same calls run clean under the shim in raise mode, on asyncio and on uvloop, against a real
server on 127.0.0.1.
"""
from __future__ import annotations

import pytest

from tests.support.fixtures import http_server  # noqa: F401
from tests.support.loops import LOOP_RUNNERS, line_of
from unfake_async import shim
from unfake_async.codemod import FixLevel, analyze_source

SEED_BEFORE = '''\
import asyncio
from concurrent.futures import ThreadPoolExecutor

import requests


class SupabaseAsync:
    def __init__(self, base_url, key):
        self._base = base_url
        self._headers = {"apikey": key}
        self._executor = ThreadPoolExecutor(max_workers=3)

    async def select(self, table):
        url = f"{self._base}/{table}"
        loop = asyncio.get_event_loop()
        r = await loop.run_in_executor(
            self._executor,
            lambda: requests.get(url, headers=self._headers)  # Sync call wrapped as async
        )
        r.raise_for_status()
        return r.json()

    async def count(self, table):
        r = requests.get(f"{self._base}/{table}", params={"count": "exact"}, headers=self._headers)
        r.raise_for_status()
        return r.json()

    async def insert(self, table, row):
        r = await asyncio.to_thread(requests.post, f"{self._base}/{table}", json=row)
        r.raise_for_status()
        return r.json()

    def close(self):
        self._executor.shutdown(wait=False)
'''
SECRET_KEY = "sk-very-secret-key-123"
RUNNERS = pytest.mark.parametrize("run", LOOP_RUNNERS.values(), ids=LOOP_RUNNERS.keys())


def load_class(source: str, name: str):
    namespace = {"__name__": name}
    exec(compile(source, f"<{name}>", "exec"), namespace)
    return namespace["SupabaseAsync"]


async def exercise(client):
    selected = await client.select("json")
    counted = await client.count("json")
    inserted = await client.insert("echo", {"name": "ada"})
    return selected, counted, inserted


@RUNNERS
def test_seed_fake_async_is_reported_with_its_sites(http_server, run):
    client = load_class(SEED_BEFORE, "seed_before")(http_server.base_url, SECRET_KEY)
    with shim.verifying("record") as verification:
        selected, counted, inserted = run(exercise(client))
    client.close()
    assert selected["ok"] and counted["query"] == {"count": ["exact"]}
    assert inserted["json"] == {"name": "ada"}

    by_rule = {finding.rule_id: finding for finding in verification.findings}
    assert sorted(by_rule) == ["UFA001", "UFA002", "UFA003"]
    assert len(verification.findings) == 3  # one per request: lower layers stay quiet

    executor = by_rule["UFA001"]
    assert executor.via == "loop.run_in_executor"
    assert (executor.origin.filename, executor.origin.function) == \
        ("<seed_before>", "SupabaseAsync.select")
    assert executor.origin.lineno == line_of(SEED_BEFORE, "await loop.run_in_executor(")
    assert executor.site.function.endswith("<lambda>")  # qualified on Python 3.11+
    assert executor.site.lineno == line_of(SEED_BEFORE, "lambda: requests.get")
    assert executor.call == "requests.Session.send"
    assert executor.detail == f"GET {http_server.base_url}/json"

    direct = by_rule["UFA003"]
    assert direct.site.function == "SupabaseAsync.count"
    assert direct.site.lineno == line_of(SEED_BEFORE, 'params={"count": "exact"}')
    assert direct.origin is None

    offloaded = by_rule["UFA002"]
    assert offloaded.via == "asyncio.to_thread"
    assert offloaded.origin.function == "SupabaseAsync.insert"
    assert offloaded.detail == f"POST {http_server.base_url}/echo"

    report = "\n".join(f.message for f in verification.findings) + verification.summary()
    assert SECRET_KEY not in report and "<seed_before>:" in report


def test_seed_in_raise_mode_blocks_before_the_request_leaves(http_server):
    client = load_class(SEED_BEFORE, "seed_before")(http_server.base_url, SECRET_KEY)
    with shim.verifying("raise"):
        with pytest.raises(shim.BlockingCallError, match="UFA003"):
            LOOP_RUNNERS["asyncio"](client.count("json"))
        # Raised in the worker thread, it reaches the awaiting coroutine.
        with pytest.raises(shim.BlockingCallError, match="UFA001.*SupabaseAsync.select"):
            LOOP_RUNNERS["asyncio"](client.select("json"))
    client.close()
    assert http_server.requests_seen == 0


@pytest.fixture(scope="module")
def seed_after_codemod() -> str:
    result = analyze_source(SEED_BEFORE, path="seed_before.py", fix_level=FixLevel.UNSAFE)
    assert sorted(f.rule_id for f in result.findings) == ["UFA001", "UFA002", "UFA003"]
    assert result.fixed_source is not None and "import requests" not in result.fixed_source
    return result.fixed_source


@RUNNERS
def test_seed_after_the_codemod_runs_clean(http_server, run, seed_after_codemod):
    cls = load_class(seed_after_codemod, "seed_after")

    async def exercise_and_close():
        client = cls(http_server.base_url, SECRET_KEY)
        try:
            return await exercise(client)
        finally:
            await client.aclose()

    with shim.verifying("raise") as verification:
        selected, counted, inserted = run(exercise_and_close())
    assert verification.findings == []
    assert selected["ok"] and counted["query"] == {"count": ["exact"]}
    assert selected["headers"]["apikey"] == SECRET_KEY
    assert inserted["json"] == {"name": "ada"}
    assert http_server.requests_seen == 3
    assert http_server.connections_opened == 1  # one shared client, connection kept alive

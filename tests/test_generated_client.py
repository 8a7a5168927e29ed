"""The generated client under every --target/--transport, against a real server on 127.0.0.1.

Same results as the original code for each option; the concurrency cap of a removed thread pool
is kept when asked (measured at the server); a gather far beyond the pool size never fails with
PoolTimeout.
"""
from __future__ import annotations

import asyncio
import importlib.util
import sys
import warnings

import httpx
import pytest

from tests.support.fixtures import http_server  # noqa: F401
from tests.test_behaviour import SOURCE, _comparable, _load, _scenario
from unfake_async.codemod import FixLevel, analyze_source
from unfake_async.settings import Settings


def _available(*modules: str) -> bool:
    return all(importlib.util.find_spec(name) is not None for name in modules)


OPTIONS = [
    pytest.param("httpx", "aiohttp", id="httpx-aiohttp", marks=pytest.mark.skipif(
        not _available("aiohttp"), reason="aiohttp is not installed")),
    pytest.param("httpx", "httpx", id="httpx-httpx"),
    pytest.param("httpx2", "aiohttp", id="httpx2-aiohttp", marks=pytest.mark.skipif(
        sys.version_info < (3, 11) or not _available("httpx2", "aiohttp"),
        reason="httpx2 needs Python 3.11+, httpx2 and aiohttp")),
    pytest.param("httpx2", "httpx", id="httpx2-httpx", marks=pytest.mark.skipif(
        sys.version_info < (3, 11) or not _available("httpx2"), reason="httpx2 needs Python 3.11+ and httpx2")),
]


def _migrate(source: str, **settings) -> str:
    result = analyze_source(source, settings=Settings(**settings), fix_level=FixLevel.UNSAFE)
    assert result.fixed_source is not None
    compile(result.fixed_source, "<migrated>", "exec")
    return result.fixed_source


@pytest.mark.parametrize("target, transport", OPTIONS)
def test_every_option_gives_the_original_results(target, transport, http_server):  # noqa: F811
    migrated_source = _migrate(SOURCE, target=target, transport=transport)
    assert f"import {target}" in migrated_source
    assert ("class _AiohttpTransport" in migrated_source) == (transport == "aiohttp")
    original, migrated = _load(SOURCE, "original"), _load(migrated_source, f"migrated_{target}_{transport}")
    base = http_server.base_url
    before = asyncio.run(_scenario(original, base))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        after = asyncio.run(_scenario(migrated, base))
    assert after.pop("item_500").__module__.split(".")[0] == target
    before.pop("item_500")
    assert _comparable(after) == _comparable(before)


CAPPED = '''
import asyncio
from concurrent.futures import ThreadPoolExecutor

import requests

POOL = ThreadPoolExecutor(max_workers=3)


async def fetch(url):
    loop = asyncio.get_running_loop()
    response = await loop.run_in_executor(POOL, requests.get, url)
    return response.status_code
'''


async def _gather(module, url: str, count: int):
    try:
        return await asyncio.gather(*(module.fetch(url) for _ in range(count)))
    finally:
        await module.aclose_http_client()


def test_keep_concurrency_cap_keeps_the_pool_size_at_the_server(http_server):  # noqa: F811
    capped = _load(_migrate(CAPPED, keep_concurrency_cap=True), "capped")
    uncapped = _load(_migrate(CAPPED), "uncapped")
    url = http_server.url("/slow?delay=0.2")
    http_server.reset_counters()
    assert asyncio.run(_gather(capped, url, 12)) == [200] * 12
    assert http_server.max_in_flight == 3
    http_server.reset_counters()
    assert asyncio.run(_gather(uncapped, url, 12)) == [200] * 12
    assert http_server.max_in_flight == 12


def test_gather_beyond_the_pool_never_times_out_waiting_for_a_connection(http_server):  # noqa: F811
    source = CAPPED.replace("requests.get, url)", "lambda: requests.get(url, timeout=5))")
    module = _load(_migrate(source), "wide")
    # 250 requests at once on a 100-connection client: the extra 150 wait for a slot. A per-call
    # timeout must not turn that wait into PoolTimeout (requests' timeout has no pool part).
    url = http_server.url("/slow?delay=0.3")
    assert asyncio.run(_gather(module, url, 250)) == [200] * 250


MERGED_QUERY = '''
import requests


async def search(url, page):
    r = requests.get(url, params={"page": page, "skip": None})
    return r.json()["query"]
'''


def test_params_merge_with_a_query_already_in_the_url(http_server):  # noqa: F811
    migrated_source = _migrate(MERGED_QUERY)
    assert "copy_merge_params" in migrated_source
    before, after = _load(MERGED_QUERY, "merge_before"), _load(migrated_source, "merge_after")
    url = http_server.url("/json?q=cats")

    async def both(module):
        try:
            return await module.search(url, 2)
        finally:
            if hasattr(module, "aclose_http_client"):
                await module.aclose_http_client()

    assert asyncio.run(both(before)) == {"q": ["cats"], "page": ["2"]}
    assert asyncio.run(both(after)) == asyncio.run(both(before))


NEVER_CLOSED = '''
import asyncio
import sys

{migrated}


async def main(url):
    return [await fetch(url), await fetch(url)]


print(asyncio.run(main(sys.argv[1])), asyncio.run(main(sys.argv[1])))
'''


@pytest.mark.parametrize("transport", ["aiohttp", "httpx"])
def test_a_client_never_closed_leaves_quietly(transport, http_server, tmp_path):  # noqa: F811
    # Most migrated programs never call aclose_http_client(): like httpx's own transport, the
    # default one must not log "Unclosed client session" / "Unclosed connector" at exit.
    import subprocess

    script = tmp_path / "never_closed.py"
    script.write_text(NEVER_CLOSED.format(migrated=_migrate(CAPPED, transport=transport)))
    done = subprocess.run([sys.executable, str(script), http_server.url("/json")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[200, 200] [200, 200]"
    assert done.stderr == ""


async def _chunks():
    for i in range(3):
        yield b"chunk%d;" % i


async def _bodies(client, base):
    """What the server received for each kind of request body."""
    seen = []
    for options in ({"content": _chunks()}, {"content": b"raw"}, {"json": {"a": [1, "é"]}},
                    {"data": {"k": "v", "n": "1"}},
                    {"files": {"f": ("a.txt", b"hello", "text/plain")}, "data": {"k": "v"}}):
        echo = (await client.post(f"{base}/echo", **options)).json()
        content_type = (echo["content_type"] or "").split(";")[0]
        # A multipart boundary is random: compare the body without it.
        boundary = (echo["content_type"] or "").partition("boundary=")[2]
        body = echo["body"].replace(boundary, "BOUNDARY") if boundary else echo["body"]
        seen.append((echo["method"], content_type, body))
    return seen


def test_request_bodies_reach_the_server_as_with_httpx(http_server):  # noqa: F811
    # Streamed (async generator) and multipart bodies take another path through the aiohttp
    # transport than bytes: the server must see what httpx's own transport sends.
    module = _load(_migrate(CAPPED, transport="aiohttp"), "bodies")

    async def both():
        async with module._new_http_client() as migrated, httpx.AsyncClient() as plain:
            return await _bodies(migrated, http_server.base_url), await _bodies(plain, http_server.base_url)

    migrated, plain = asyncio.run(both())
    assert migrated == plain
    assert migrated[0] == ("POST", "", "chunk0;chunk1;chunk2;")

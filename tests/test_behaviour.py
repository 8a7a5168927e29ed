"""The migrated code behaves like the original against a real HTTP server on 127.0.0.1.

fixtures/behaviour_client/before.py is run as written (requests in threads and on the loop) and
as migrated by the codemod (in memory, not the committed after.py, so this tests the tool);
results must match, and exceptions must be the mapped httpx ones.
"""
from __future__ import annotations

import asyncio
import pathlib
import types
import warnings

import httpx
import pytest
import requests

from tests.support.fixtures import http_server  # noqa: F401
from unfake_async.codemod import FixLevel, analyze_source

SOURCE = (pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "behaviour_client" / "before.py").read_text()


def _load(source: str, name: str) -> types.ModuleType:
    module = types.ModuleType(name)
    exec(compile(source, f"<{name}>", "exec"), module.__dict__)
    return module


@pytest.fixture(scope="module")
def modules():
    migrated = analyze_source(SOURCE, fix_level=FixLevel.UNSAFE).fixed_source
    assert migrated is not None and "import requests" not in migrated
    return _load(SOURCE, "original"), _load(migrated, "migrated")


async def _scenario(module, base):
    api = module.ApiClient(base)
    results = {
        "item": await api.item("/json"),
        "status_200": await api.status("/json"),
        "status_404": await api.status("/status/404"),
        "redirect_followed": await api.status("/redirect/3"),
        "head_not_followed": await api.first_hop("/redirect/1"),
        "fetch_json": await module.fetch_json(base, "/json"),
        "classify_ok": await module.classify(base, "/redirect/2"),
        "classify_404": await module.classify(base, "/status/404"),
        "classify_timeout": await module.classify(base, "/slow?delay=1.0", timeout=0.2),
        "classify_refused": await module.classify("http://127.0.0.1:9", "/json", timeout=2),
        "cookies_kept": await module.cookies_kept(base),
        "post_text": await module.post_text(base, "héllo"),
    }
    try:
        await api.item("/status/500")
    except Exception as exc:  # noqa: BLE001 - the type is what we compare
        results["item_500"] = type(exc)
    if hasattr(api, "aclose"):
        await api.aclose()
        await module.aclose_http_client()
    return results


def _comparable(results):
    compared = dict(results)
    for key in ("item", "fetch_json"):
        value = compared[key]
        payload = value[1] if isinstance(value, tuple) else value
        headers = {k.lower(): v for k, v in payload["headers"].items()}
        # The client's own identity differs by design; what the server saw otherwise must not.
        payload = {**payload, "headers": {k: v for k, v in headers.items() if k in ("host", "cookie")}}
        compared[key] = (value[0], payload) if isinstance(value, tuple) else payload
    echo = compared["post_text"]
    compared["post_text"] = (echo["body"], echo["length"], echo["method"])
    return compared


def test_migrated_code_gives_the_same_results(modules, http_server):  # noqa: F811
    original, migrated = modules
    base = http_server.base_url
    before = asyncio.run(_scenario(original, base))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # httpx: data=str → content=
        after = asyncio.run(_scenario(migrated, base))
    assert before["item_500"] is requests.HTTPError
    assert after["item_500"] is httpx.HTTPStatusError
    before.pop("item_500"), after.pop("item_500")
    assert _comparable(after) == _comparable(before)
    assert before["classify_timeout"] == ("timeout", None)
    assert before["classify_refused"] == ("connection-error", None)
    assert before["head_not_followed"][0] == 302
    assert before["cookies_kept"] is None


def test_two_event_loops_in_a_row(modules, http_server):  # noqa: F811
    _, migrated = modules
    base = http_server.base_url

    async def once():
        api = migrated.ApiClient(base)
        return await api.item("/json"), await migrated.fetch_json(base, "/json")

    api = migrated.ApiClient(base)

    async def reuse_instance():
        return (await api.item("/json"))["path"]

    first = asyncio.run(once())
    second = asyncio.run(once())
    assert first[0]["path"] == second[0]["path"] == "/json"
    # One instance (and the module-level client) used under two successive asyncio.run() calls.
    assert asyncio.run(reuse_instance()) == asyncio.run(reuse_instance()) == "/json"


def test_async_with_closes_the_client(modules, http_server):  # noqa: F811
    _, migrated = modules

    async def scenario():
        async with migrated.ApiClient(http_server.base_url) as api:
            await api.item("/json")
            client = api._client
        return client.is_closed

    assert asyncio.run(scenario()) is True

"""UFA005 (sync httpx in async code) and UFA006 (urllib3/urlopen): recognition by binding, the
fix's arguments, and the migrated code against a real server on 127.0.0.1."""
from __future__ import annotations

import asyncio
import textwrap
import types

import httpx
import pytest

from tests.support.code_text import flat
from tests.support.fixtures import http_server  # noqa: F401
from unfake_async.codemod import FixLevel, FixSafety, analyze_source
from unfake_async.codemod.engine.prechecks import prefilter
from unfake_async.settings import Settings


def run(source: str, level: FixLevel = FixLevel.UNSAFE, settings: Settings = None):
    return analyze_source(textwrap.dedent(source), fix_level=level, settings=settings)


def found(result):
    return [(f.line, f.rule_id, f.fix) for f in result.findings]


@pytest.mark.parametrize("imports,call", [
    ("import httpx", "httpx.get(u)"),
    ("import httpx as hx", "hx.get(u)"),
    ("from httpx import get", "get(u)"),
    ("from httpx import get as fetch", "fetch(u)"),
])
def test_module_functions_under_every_spelling(imports, call):
    result = run(f"{imports}\n\nasync def f(u):\n    return {call}\n", FixLevel.SAFE)
    assert found(result) == [(4, "UFA005", FixSafety.SAFE)]
    assert flat("return await _http_client().get(u, follow_redirects=False, "
                "timeout=httpx.Timeout(5.0, pool=None))") in flat(result.fixed_source)
    compile(result.fixed_source, "x", "exec")


def test_httpx_defaults_are_what_the_fix_writes_out():
    """The fix restores httpx.get()'s own defaults on the shared client: check them at the source."""
    import inspect

    parameters = inspect.signature(httpx.get).parameters
    assert parameters["follow_redirects"].default is False
    assert parameters["timeout"].default == httpx.Timeout(5.0)


def test_request_positional_arguments_become_keywords():
    result = run("""
        import httpx

        async def f(u, body):
            return httpx.request("POST", u, {"q": 1}, None, body)
    """)
    assert flat('request("POST", u, params={"q": 1}, content=None, data=body, follow_redirects=False') \
        in flat(result.fixed_source)


def test_caller_choices_are_kept_and_expression_timeouts_are_unsafe():
    result = run("""
        import httpx

        async def f(u, budget):
            a = httpx.get(u, follow_redirects=True, timeout=3)
            b = httpx.get(u, timeout=budget)
            return a, b
    """)
    assert [f.fix for f in result.findings] == [FixSafety.SAFE, FixSafety.UNSAFE]
    assert "get(u, follow_redirects=True, timeout=httpx.Timeout(3, pool=None))" in flat(result.fixed_source)
    assert "get(u, timeout=budget, follow_redirects=False)" in result.fixed_source
    assert result.findings[0].notes  # 30 redirects on the shared client, 20 on a throwaway one


def test_client_level_options_and_other_library_are_reported():
    result = run("""
        import httpx
        import httpx2

        async def f(u, kw):
            httpx.get(u, verify=False)
            httpx.post(u, **kw)
            httpx2.get(u)
    """)
    assert [f.fix for f in result.findings] == [FixSafety.NONE] * 3
    assert result.fixed_source is None
    # With httpx2 as the migration target, its calls are fixed and httpx's are not.
    result = run("import httpx2\n\nasync def f(u):\n    return httpx2.get(u)\n", settings=Settings(target="httpx2"))
    assert "await _http_client().get(u, follow_redirects=False, timeout=httpx2.Timeout(5.0, pool=None))" \
        in flat(result.fixed_source)


def test_clients_are_recognised_by_binding_not_by_name():
    result = run("""
        from typing import Optional
        import httpx

        async def f(client, session: dict, c2: Optional[httpx.Client], c3: "httpx.Client"):
            client.get("k")
            session.get("k")
            c2.get("u")
            c3.get("u")
            c4: httpx.Client | None = None
            c4.post("u")
            c4 = {}
            c4.get("k")
    """)
    assert [(line, rule) for line, rule, _ in found(result)] == [(8, "UFA005"), (11, "UFA005")]


def test_block_with_a_sync_only_use_is_reported_whole():
    result = run("""
        import httpx

        async def f(u):
            with httpx.Client() as c:
                a = c.get(u)
                c.close()
            return a
    """)
    assert [f.fix for f in result.findings] == [FixSafety.NONE, FixSafety.NONE]
    assert result.fixed_source is None


def test_suppressing_one_request_keeps_its_block_sync():
    result = run("""
        import httpx

        async def f(u):
            with httpx.Client() as c:
                a = c.get(u)
                b = c.get(u)  # noqa: UFA005
            return a, b
    """)
    assert [f.fix for f in result.findings] == [FixSafety.NONE]
    assert result.fixed_source is None


def test_urllib_is_reported_with_the_rewrite():
    result = run("""
        import urllib.request
        import urllib3

        async def f(u, pool: urllib3.PoolManager):
            urllib.request.urlopen(u)
            urllib3.request("GET", u)
            pool.request("GET", u)
    """)
    assert [f.rule_id for f in result.findings] == ["UFA006"] * 3
    assert all(f.fix is FixSafety.NONE and "httpx" in f.reason for f in result.findings)
    assert result.fixed_source is None


@pytest.mark.parametrize("text,expected", [
    ("import httpx\n", True),
    ("from httpx2 import Client\n", True),
    ("import urllib3\n", True),
    ("from urllib.request import urlopen\n", True),
    ("import urllib.parse\nurllib.parse.quote('x')\n", False),
    ("import time\ntime.monotonic()\n", False),
    ("import time\ndef sync():\n    time.sleep(1)\n", False),
    ("import time\n", True),  # the sleep below is in the async def
])
def test_prefilter_lets_these_libraries_through(text, expected):
    assert prefilter.might_match(text + "async def f():\n    x = 1\n\n    time.sleep(1)\n" if text == "import time\n"
                                 else text + "async def f():\n    pass\n") is expected


@pytest.mark.parametrize("text,expected", [
    ("import time\nasync def f(\n    a,\n):\n    if a:\n        time.sleep(1)\n", True),
    ("from time import sleep\nclass A:\n    async def f(self):\n        sleep(1)\n", True),
    ("from time import sleep as nap\nasync def f():\n    nap(1)\n", True),
    ("import time\nasync def f():\n    await asyncio.sleep(1)\ndef g():\n    time.sleep(1)\n", False),
    ("import asyncio\nasync def f():\n    return asyncio.get_event_loop()\n", True),
    ("import asyncio\ndef f():\n    return asyncio.get_event_loop()\nasync def g():\n    pass\n", False),
])
def test_prefilter_wants_sleep_and_get_event_loop_inside_async_def(text, expected):
    assert prefilter.might_match(text) is expected


def test_prefilter_regex_on_big_files():
    """A 20,000-line async def with a sync sleep after it: rejected (in milliseconds; a regex
    that backtracked would hang here rather than fail)."""
    text = "async def f():\n" + "    x = 1\n" * 20_000 + "def g():\n    time.sleep(1)\n"
    assert not prefilter.might_match("import time\n" + text)
    assert prefilter.might_match("import time\n" + text.replace("def g():\n    time", "    time"))


def test_fix_is_idempotent():
    source = "import httpx\n\nasync def f(u):\n    with httpx.Client() as c:\n        return httpx.get(u), c.get(u)\n"
    fixed = run(source).fixed_source
    again = run(fixed)
    assert again.fixed_source is None and all(f.rule_id != "UFA005" for f in again.findings)


BEHAVIOUR = """
import httpx


async def item(base, path):
    r = httpx.get(base + path, params={"q": "1"})
    return r.status_code, r.json()["query"] if r.status_code == 200 else None


async def first_hop(base):
    # httpx.get does not follow redirects
    r = httpx.get(base + "/redirect/2")
    return r.status_code, r.headers.get("location")


async def checked(base, path):
    try:
        httpx.get(base + path).raise_for_status()
        return "ok"
    except httpx.HTTPStatusError as exc:
        return exc.response.status_code


async def too_slow(base):
    try:
        httpx.get(base + "/slow?delay=1.0", timeout=0.2)
        return "answered"
    except httpx.TimeoutException as exc:
        return type(exc).__name__


async def profile(base):
    with httpx.Client(base_url=base, headers={"X-Who": "me"}) as client:
        first = client.get("/json").json()["headers"]["X-Who"]
        second = client.post("/echo", json={"a": 1}).json()["body"]
    return first, second


async def streamed(base):
    received = bytearray()
    with httpx.stream("GET", base + "/stream?n=200000&chunk=4096") as r:
        r.raise_for_status()
        for chunk in r.iter_bytes(1000):
            received += chunk
    with httpx.stream("GET", base + "/lines?n=50&chunk=7") as r:
        lines = []
        for line in r.iter_lines():
            lines.append(line)
    with httpx.stream("GET", base + "/bytes?n=5000") as r:
        whole = r.read()
    return bytes(received), lines, whole


async def slow(base, log, n):
    log.append(("start", n))
    status = httpx.get(base + "/slow?delay=0.1").status_code
    log.append(("end", n))
    return status
"""


def _load(source: str, name: str) -> types.ModuleType:
    module = types.ModuleType(name)
    exec(compile(source, f"<{name}>", "exec"), module.__dict__)
    return module


async def _scenario(module, base):
    results = {
        "item": await module.item(base, "/json"),
        "first_hop": await module.first_hop(base),
        "checked_200": await module.checked(base, "/json"),
        "checked_404": await module.checked(base, "/status/404"),
        "too_slow": await module.too_slow(base),
        "profile": await module.profile(base),
        "streamed": await module.streamed(base),
    }
    if hasattr(module, "aclose_http_client"):
        await module.aclose_http_client()
    return results


async def _concurrent(module, base, n=3):
    log = []
    statuses = await asyncio.gather(*(module.slow(base, log, i) for i in range(n)))
    if hasattr(module, "aclose_http_client"):
        await module.aclose_http_client()
    assert statuses == [200] * n
    return [event for event, _ in log]


def test_migrated_sync_httpx_behaves_the_same_and_stops_blocking(http_server):  # noqa: F811
    # UFA005 on its own (UFA004 would move the converted `async with` block on to the shared client).
    migrated_source = analyze_source(BEHAVIOUR, fix_level=FixLevel.UNSAFE,
                                     settings=Settings(ignore=("UFA004",))).fixed_source
    assert "async with httpx.AsyncClient(base_url=base" in migrated_source
    assert migrated_source is not None and "httpx.get(" not in migrated_source.replace("_http_client().get(", "")
    original, migrated = _load(BEHAVIOUR, "original"), _load(migrated_source, "migrated")
    base = http_server.base_url

    before = asyncio.run(_scenario(original, base))
    after = asyncio.run(_scenario(migrated, base))
    assert before == after
    assert before["first_hop"] == (302, "/redirect/1")
    assert before["checked_404"] == 404 and before["too_slow"] == "ReadTimeout"
    body, lines, whole = before["streamed"]
    assert len(body) == 200_000 and len(lines) == 50 and lines[0].startswith('{"i": 0') and len(whole) == 5000
    assert "async for chunk in r.aiter_bytes(1000)" in migrated_source and "await r.aread()" in migrated_source

    # The sync calls hold the loop: each request ends before the next starts. The migrated ones
    # all start before any ends (ordering, not timing).
    assert asyncio.run(_concurrent(original, base)) == ["start", "end"] * 3
    assert asyncio.run(_concurrent(migrated, base)) == ["start"] * 3 + ["end"] * 3


def test_calling_what_a_request_returned_is_one_finding():
    """LibCST gives `httpx.get(u)(x)`'s outer call the name `httpx.get` too; only the request counts."""
    result = run("import httpx\n\nasync def f(u, x):\n    return httpx.get(u)(x)\n")
    assert [(f.line, f.col) for f in result.findings] == [(4, 12)]
    assert "return (await _http_client().get(u, follow_redirects=False, timeout=httpx.Timeout(5.0, pool=None)))(x)" \
        in flat(result.fixed_source)


@pytest.mark.parametrize("body,reason_word", [
    ("    return r\n", "passed on"),
    ("    r.close()\n", "no async twin"),
    ("    chunks = list(r.iter_bytes())\n", "not the iterable"),
    ("    def later():\n        return r.read()\n", "cannot go"),
])
def test_stream_blocks_that_use_the_response_otherwise_are_reported(body, reason_word):
    source = "import httpx\n\nasync def f(u):\n  with httpx.stream('GET', u) as r:\n  " + body.replace("\n    ", "\n      ")
    result = run(source)
    assert [f.fix for f in result.findings] == [FixSafety.NONE]
    assert reason_word in result.findings[0].reason
    assert result.fixed_source is None

"""UFA004 per-call-client: what the fix writes at each call, and that the migrated code behaves
the same against a real server while opening fewer connections."""
from __future__ import annotations

import asyncio
import importlib.util
import textwrap

import pytest

from tests.support.code_text import flat
from tests.support.fixtures import http_server  # noqa: F401
from unfake_async.codemod import FixLevel, FixSafety, analyze_source

BEFORE = '''
import httpx


async def lookup(base, i):
    async with httpx.AsyncClient(headers={"X-Test": "per-call"}, timeout=10) as client:
        r = await client.get(f"{base}/json", params={"i": i})
        return r.status_code, r.json()["query"]


async def bounce(base):
    # A bare client does not follow redirects: the migrated call must not either.
    async with httpx.AsyncClient() as client:
        r = await client.get(f"{base}/redirect-to", params={"url": "/json"})
        return r.status_code, r.headers.get("location")


async def crawl(base, n):
    sizes = []
    for i in range(n):
        async with httpx.AsyncClient() as client:
            sizes.append(len((await client.get(f"{base}/bytes", params={"n": 100 + i})).content))
    return sizes
'''
# Enough calls that connection reuse shows whatever the shared client's pool layout (the generated
# transport may spread requests over a few small pools, each opening its own connection).
CALLS = 20


def _load(source: str, path, name: str):
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def _exercise(module, base):
    results = [await module.lookup(base, i) for i in range(CALLS)]
    results.append(await module.bounce(base))
    results.append(await module.crawl(base, CALLS))
    close = getattr(module, "aclose_http_client", None)
    if close is not None:
        await close()
    return results


def test_fix_is_safe_and_applied_to_every_block():
    result = analyze_source(BEFORE, fix_level=FixLevel.SAFE)
    assert [(f.rule_id, f.fix, f.fixed) for f in result.findings] == [("UFA004", FixSafety.SAFE, True)] * 3
    fixed = result.fixed_source
    assert "AsyncClient(headers" not in fixed and "async with httpx.AsyncClient() as client" not in fixed
    # The bare client's defaults are written at each call, the constructor's options too (the
    # arguments may be wrapped over lines: compared with whitespace collapsed).
    assert 'headers={"X-Test": "per-call"}, follow_redirects=False, timeout=httpx.Timeout(10, pool=None)' \
        in flat(fixed)
    assert flat(fixed).count("follow_redirects=False, timeout=httpx.Timeout(5.0, pool=None)") == 2
    assert analyze_source(fixed, fix_level=FixLevel.UNSAFE).fixed_source is None


def test_migrated_code_gets_the_same_results_over_fewer_connections(http_server, tmp_path, capsys):
    base = http_server.base_url
    before = _load(BEFORE, tmp_path / "per_call_before.py", "per_call_before")
    expected = asyncio.run(_exercise(before, base))
    connections_before, requests_before = http_server.connections_opened, http_server.requests_seen

    http_server.reset_counters()
    fixed = analyze_source(BEFORE, fix_level=FixLevel.SAFE).fixed_source
    after = _load(fixed, tmp_path / "per_call_after.py", "per_call_after")
    got = asyncio.run(_exercise(after, base))
    connections_after, requests_after = http_server.connections_opened, http_server.requests_seen

    assert got == expected
    assert expected[CALLS] == (302, "/json")  # the redirect was not followed, before or after
    assert requests_after == requests_before == 2 * CALLS + 1
    assert connections_before == 2 * CALLS + 1  # one client, so one connection, per call
    assert connections_after * 4 <= connections_before  # kept-alive connections are reused
    sent = [r.header("X-Test") for r in http_server.requests if r.path.startswith("/json")]
    assert sent == ["per-call"] * CALLS
    with capsys.disabled():
        print(f"\nUFA004 behaviour: {requests_before} requests, same results; "
              f"connections {connections_before} before, {connections_after} after")


@pytest.mark.parametrize("option,reason", [
    ("verify=False", "verify= is a client setting"),
    ("transport=httpx.MockTransport(None)", "custom transport="),
    ("cookies={'a': '1'}", "the shared client keeps no cookies"),
    ("max_redirects=5", "max_redirects= is a client setting"),
])
def test_client_only_options_are_reported_without_a_fix(option, reason):
    source = textwrap.dedent(f"""
        import httpx

        async def f(url):
            async with httpx.AsyncClient({option}) as c:
                return (await c.get(url)).status_code
    """)
    result = analyze_source(source, fix_level=FixLevel.UNSAFE)
    [finding] = result.findings
    assert finding.fix is FixSafety.NONE and reason in finding.reason
    assert result.fixed_source is None


def test_base_url_is_joined_like_httpx_and_call_options_win():
    import httpx

    source = textwrap.dedent("""
        import httpx

        async def f(item):
            async with httpx.AsyncClient(base_url="https://api.example.com/v1", params={"k": "1"},
                                         timeout=3, follow_redirects=True) as c:
                return await c.get(f"/items/{item}", params={"q": "x"}, timeout=7)
    """)
    result = analyze_source(source, fix_level=FixLevel.UNSAFE)
    [finding] = result.findings
    assert finding.fix is FixSafety.UNSAFE and "redirect" in finding.reason
    fixed = result.fixed_source
    assert ('get(f"https://api.example.com/v1/items/{item}", params={"k": "1", "q": "x"}, timeout=7, '
            'follow_redirects=True)') in flat(fixed)
    # httpx's own merge gives the same URL.
    merged = httpx.AsyncClient(base_url="https://api.example.com/v1")._merge_url("/items/3")
    assert str(merged) == "https://api.example.com/v1/items/3"


def test_several_requests_per_client_make_the_fix_unsafe_and_helpers_block_it():
    source = textwrap.dedent("""
        import httpx

        async def both(a, b):
            async with httpx.AsyncClient() as c:
                return await c.get(a), await c.get(b)

        async def handed(url):
            async with httpx.AsyncClient() as c:
                return await helper(c, url)
    """)
    findings = analyze_source(source, fix_level=FixLevel.UNSAFE).findings
    assert [f.fix for f in findings] == [FixSafety.UNSAFE, FixSafety.NONE]
    assert "cookie jar" in findings[0].reason
    assert "passed to `helper()`" in findings[1].reason


def test_a_base_url_from_a_variable_is_reported_not_joined():
    source = textwrap.dedent("""
        import httpx

        async def b(url):
            async with httpx.AsyncClient(base_url=url) as c:
                r = await c.get("/a")
            return r
    """)
    result = analyze_source(source, fix_level=FixLevel.UNSAFE)
    [finding] = result.findings
    assert finding.fix is FixSafety.NONE and "base_url= is not a string literal" in finding.reason
    assert result.fixed_source is None


# --- the per-call arguments build the same request as the per-call client did -------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_names = st.sampled_from(["Accept", "accept", "X-Key", "x-key", "User-Agent", "X-Other"])
_values = st.sampled_from(["a", "b", "1"])
_headers = st.dictionaries(_names, _values, max_size=3)
_params = st.dictionaries(st.sampled_from(["q", "page", "k"]), _values, max_size=2)


def _literal(mapping):
    return "{" + ", ".join(f"{k!r}: {v!r}" for k, v in mapping.items()) + "}"


def _effective(client, request_kwargs, method="GET"):
    """What a request sends and how it is handled: URL, headers, timeouts, redirects."""
    import httpx

    follow = request_kwargs.pop("follow_redirects", client.follow_redirects)
    request = client.build_request(method, **request_kwargs)
    timeout = request.extensions["timeout"]
    headers = sorted((k.lower(), v) for k, v in request.headers.multi_items())
    assert isinstance(request.url, httpx.URL)
    return str(request.url), headers, (timeout["connect"], timeout["read"], timeout["write"]), follow


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(client_headers=_headers, call_headers=_headers, client_params=_params, call_params=_params,
       client_timeout=st.sampled_from([None, 3, 7.5]), call_timeout=st.sampled_from([None, 2]),
       follow=st.sampled_from([None, True, False]), base=st.sampled_from([None, "https://api.example.com/v1"]),
       path=st.sampled_from(["/items", "items/1", "https://other.example.org/x"]))
def test_fixed_call_builds_the_request_the_per_call_client_built(client_headers, call_headers, client_params,
                                                                   call_params, client_timeout, call_timeout,
                                                                   follow, base, path):
    import httpx

    if base is None and "://" not in path:
        path = "https://host.example.com/" + path.lstrip("/")
    ctor = {"headers": client_headers, "params": client_params}
    if client_timeout is not None:
        ctor["timeout"] = client_timeout
    if follow is not None:
        ctor["follow_redirects"] = follow
    if base is not None:
        ctor["base_url"] = base
    call = {"headers": call_headers, "params": call_params}
    if call_timeout is not None:
        call["timeout"] = call_timeout
    ctor_code = ", ".join(f"{k}={_literal(v) if isinstance(v, dict) else repr(v)}" for k, v in ctor.items())
    call_code = ", ".join(f"{k}={_literal(v) if isinstance(v, dict) else repr(v)}" for k, v in call.items())
    source = (f"import httpx\n\nasync def f():\n    async with httpx.AsyncClient({ctor_code}) as c:\n"
              f"        return await c.get({path!r}, {call_code})\n")
    result = analyze_source(source, fix_level=FixLevel.UNSAFE)
    [finding] = result.findings
    assert finding.fixed, finding.reason
    fixed_call = result.fixed_source.split("await _http_client().get(", 1)[1].rsplit(")", 1)[0]
    migrated = eval(f"dict(url={fixed_call})", {"httpx": httpx}) if fixed_call.startswith("url=") else \
        eval(f"(lambda url, **kw: dict(url=url, **kw))({fixed_call})", {"httpx": httpx})

    per_call_client = httpx.AsyncClient(**ctor)
    shared = httpx.AsyncClient(follow_redirects=True, max_redirects=30, timeout=None)
    before = _effective(per_call_client, dict(url=path, **call))
    after = _effective(shared, migrated)
    if finding.reason and "differ only in case" in finding.reason:
        before, after = before[:1] + before[2:], after[:1] + after[2:]
    assert after == before


@pytest.mark.parametrize("runner", ["asyncio.run(crawl())", "loop.run_until_complete(crawl())",
                                    "asyncio.get_event_loop().run_until_complete(crawl(), )"])
def test_a_coroutine_the_module_runs_once_keeps_its_client(runner):
    body = textwrap.dedent("""\
        import asyncio
        import httpx

        async def crawl():
            async with httpx.AsyncClient() as client:
                return await client.get("https://example.com")

        async def handler():
            async with httpx.AsyncClient() as client:
                return await client.get("https://example.com")

        loop = asyncio.new_event_loop()
        """) + runner + "\n"
    findings = analyze_source(body).findings
    assert [f.line for f in findings if f.rule_id == "UFA004"] == [9]  # handler's, not crawl's


@pytest.mark.parametrize("body, own", [
    ("    async with httpx.AsyncClient() as c:\n        yield await c.get(u)\n", True),
    ("    def inner():\n        yield 1\n    async with httpx.AsyncClient() as c:\n        return await c.get(u)\n", False),
    ("    g = lambda: (yield)\n    async with httpx.AsyncClient() as c:\n        return await c.get(u)\n", False),
    ("    async with httpx.AsyncClient() as c:\n        if c:\n            x = [(yield await c.get(u))]\n", True),
])
def test_a_generator_of_its_own_hands_its_client_to_the_consumer(body, own):
    # lifespan-style: the function's own `yield` (not a nested def's or lambda's) keeps the client.
    source = "import httpx\n\n\nasync def f(u):\n" + body
    reported = [f for f in analyze_source(source).findings if f.rule_id == "UFA004"]
    assert (not reported) is own

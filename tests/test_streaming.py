"""UFA007 blocking-stream: the rewrite of stream=True downloads, and that the migrated code
downloads the same bytes and lines from a real server over fewer connections."""
from __future__ import annotations

import ast
import asyncio
import hashlib
import importlib.util
import textwrap

from tests.support.fixtures import http_server  # noqa: F401
from unfake_async.codemod import FixLevel, FixSafety, analyze_source

BEFORE = '''
import asyncio
import json

import requests


async def download(url, path):
    r = requests.get(url, stream=True, timeout=30)
    r.raise_for_status()
    with open(path, "wb") as f:
        for chunk in r.iter_content(chunk_size=4096):
            f.write(chunk)
    return r.status_code


async def download_in_thread(url, path):
    loop = asyncio.get_running_loop()
    r = await loop.run_in_executor(None, lambda: requests.get(url, stream=True))
    with open(path, "wb") as f:
        for chunk in r.iter_content(1000):
            f.write(chunk)


async def events(url):
    out = []
    with requests.get(url, stream=True) as r:
        for line in r.iter_lines():
            if line:
                out.append(json.loads(line.decode("utf-8")))
    return out
'''
# Enough downloads that reuse shows whatever the shared client's pool layout (the generated transport
# may spread requests over a few small pools, each opening its own connection).
FILES = 20
SIZE = 60_000


def _load(source: str, path, name: str):
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def _exercise(module, base, folder):
    digests = []
    for i in range(FILES):
        path = folder / f"direct{i}.bin"
        status = await module.download(f"{base}/stream?n={SIZE + i}&chunk=8000", path)
        digests.append((status, hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_size))
    path = folder / "thread.bin"
    await module.download_in_thread(f"{base}/bytes?n={SIZE}", path)
    digests.append(hashlib.sha256(path.read_bytes()).hexdigest())
    lines = await module.events(f"{base}/lines?n=500&chunk=7")
    close = getattr(module, "aclose_http_client", None)
    if close is not None:
        await close()
    return digests, lines


def test_every_stream_is_rewritten():
    result = analyze_source(BEFORE, fix_level=FixLevel.UNSAFE)
    assert [(f.rule_id, f.fixed) for f in result.findings] == [("UFA007", True)] * 3
    fixed = result.fixed_source
    tree = ast.parse(fixed)
    mine = [f for f in tree.body if isinstance(f, ast.AsyncFunctionDef) and f.name in ("download", "download_in_thread", "events")]
    names = {node.id for function in mine for node in ast.walk(function) if isinstance(node, ast.Name)}
    assert len(mine) == 3 and "requests" not in names and "loop" not in names  # the dead loop variable is gone
    assert not [n for n in ast.walk(tree) if isinstance(n, ast.Import) and any(a.name == "requests" for a in n.names)]
    assert "run_in_executor" not in fixed
    assert sum(isinstance(n, ast.AsyncFor) for function in mine for n in ast.walk(function)) == 3
    assert "aiter_bytes(4096)" in fixed and "aiter_bytes(1000)" in fixed
    assert "json.loads(line)" in fixed  # the .decode() of a bytes line is gone: lines are str now
    assert analyze_source(fixed, fix_level=FixLevel.UNSAFE).fixed_source is None


def test_migrated_downloads_get_the_same_bytes_over_fewer_connections(http_server, tmp_path, capsys):
    base = http_server.base_url
    (tmp_path / "before").mkdir()
    (tmp_path / "after").mkdir()
    before = _load(BEFORE, tmp_path / "stream_before.py", "stream_before")
    expected = asyncio.run(_exercise(before, base, tmp_path / "before"))
    connections_before, requests_before = http_server.connections_opened, http_server.requests_seen

    http_server.reset_counters()
    after = _load(analyze_source(BEFORE, fix_level=FixLevel.UNSAFE).fixed_source, tmp_path / "stream_after.py",
                  "stream_after")
    got = asyncio.run(_exercise(after, base, tmp_path / "after"))
    connections_after, requests_after = http_server.connections_opened, http_server.requests_seen

    assert got == expected
    digests, lines = expected
    assert [size for _, _, size in digests[:FILES]] == [SIZE + i for i in range(FILES)]
    assert lines == [{"i": i, "name": "café"} for i in range(500)]
    assert requests_before == requests_after == FILES + 2
    assert connections_before == FILES + 2  # requests.get: a new session, so a new connection, each
    assert connections_after * 2 <= connections_before  # kept-alive connections are reused
    downloaded = sum(size for _, _, size in digests[:FILES]) + SIZE
    with capsys.disabled():
        print(f"\nUFA007 behaviour: {downloaded} bytes in {FILES + 1} downloads + {len(lines)} lines, identical; "
              f"connections {connections_before} before, {connections_after} after")


def test_escaping_response_and_raw_are_reported_and_session_streams_stay_with_the_core():
    source = textwrap.dedent("""
        import requests

        async def leak(url):
            r = requests.get(url, stream=True)
            return r

        async def raw(url):
            r = requests.get(url, stream=True)
            return r.raw.read()

        async def session(url):
            with requests.Session() as s:
                r = s.get(url, stream=True)
                for chunk in r.iter_content(10):
                    print(chunk)
    """)
    findings = analyze_source(source, fix_level=FixLevel.UNSAFE).findings
    assert [(f.rule_id, f.fix) for f in findings] == [
        ("UFA007", FixSafety.NONE), ("UFA007", FixSafety.NONE), ("UFA003", FixSafety.NONE)]
    assert "leaves the stream block" in findings[0].reason and "r.raw" in findings[1].reason


def test_with_ufa007_ignored_the_core_reports_the_call_again():
    from unfake_async.settings import Settings

    source = "import requests\n\nasync def f(u):\n    r = requests.get(u, stream=True)\n    return r\n"
    ignored = analyze_source(source, settings=Settings(ignore=("UFA007",)))
    assert [f.rule_id for f in ignored.findings] == ["UFA003"]
    assert [f.rule_id for f in analyze_source(source).findings] == ["UFA007"]

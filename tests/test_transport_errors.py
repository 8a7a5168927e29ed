"""Exceptions stay right whatever the transport: the generated client raises what httpx's own
transport raises, which is what the exception mapping (docs, codemod/migrate/exceptions.py) promises.

Each case runs on the real local server (or a local socket that refuses, never accepts, or
speaks TLS with a certificate nobody trusts), through the generated factory for every
`--transport`, and through a plain `httpx.AsyncClient()` as the reference.
"""
from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import socket
import ssl
import threading
import types

import httpx
import pytest

from tests.support.fixtures import http_server  # noqa: F401
from unfake_async.codemod import FixLevel, analyze_source
from unfake_async.settings import Settings

SEED = '''
import requests


async def fetch(url):
    return requests.get(url).status_code
'''

TRANSPORTS = [
    pytest.param("aiohttp", id="aiohttp", marks=pytest.mark.skipif(
        importlib.util.find_spec("aiohttp") is None, reason="aiohttp is not installed")),
    pytest.param("httpx", id="httpx-pools"),
    pytest.param(None, id="reference-httpx"),
]


def _client(transport):
    """A client from the generated factory (`transport` set), or httpx's own (None)."""
    if transport is None:
        return httpx.AsyncClient(follow_redirects=True)
    result = analyze_source(SEED, settings=Settings(transport=transport), fix_level=FixLevel.UNSAFE)
    module = types.ModuleType(f"migrated_{transport}")
    exec(compile(result.fixed_source, module.__name__, "exec"), module.__dict__)
    return module._new_http_client()


def _raised(transport, url, *, timeout=2.0, check_status=False):
    """The exception class a GET of `url` raises (None when it succeeds)."""
    async def go():
        async with _client(transport) as client:
            response = await client.get(url, timeout=timeout)
            if check_status:
                response.raise_for_status()
            await response.aread()

    try:
        asyncio.run(go())
    except Exception as exc:  # the class is the result under test
        return type(exc)
    return None


@pytest.fixture
def closed_port():
    """A port on 127.0.0.1 that nothing listens on: connecting is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def never_accepting():
    """A listener whose accept queue is full: the kernel drops new SYNs, so connecting hangs
    until the client's connect timeout (no packet leaves 127.0.0.1)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    fillers = []
    try:
        for _ in range(4):
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex(listener.getsockname())
            fillers.append(filler)
        yield listener.getsockname()[1]
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


@pytest.fixture
def untrusted_tls_port():
    """A TLS server on 127.0.0.1 with a certificate from a CA made here (trusted by nobody)."""
    trustme = pytest.importorskip("trustme")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    trustme.CA().issue_cert("127.0.0.1", "localhost").configure_cert(context)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except OSError:
                continue
            with contextlib.suppress(OSError):  # the client rejects the certificate
                connection.settimeout(2)
                context.wrap_socket(connection, server_side=True).close()
            connection.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join(5)
    listener.close()


@pytest.fixture
def no_dns_for_invalid(monkeypatch):
    """Names under .invalid fail to resolve at once, as RFC 6761 (6.4) asks of resolvers. glibc
    would ask the configured nameserver first: this keeps the test off the network. Both httpx
    (through anyio) and aiohttp (ThreadedResolver) resolve with socket.getaddrinfo."""
    real = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        name = host.decode() if isinstance(host, bytes) else str(host or "")
        if name.rstrip(".").endswith(".invalid"):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_refused_connection_is_connect_error(transport, closed_port):
    assert _raised(transport, f"http://127.0.0.1:{closed_port}/") is httpx.ConnectError


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_dns_failure_is_connect_error(transport, no_dns_for_invalid):
    assert _raised(transport, "http://unfake-async-test.invalid/") is httpx.ConnectError


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_tls_verification_failure_is_connect_error(transport, untrusted_tls_port):
    assert _raised(transport, f"https://127.0.0.1:{untrusted_tls_port}/") is httpx.ConnectError


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_connect_timeout_is_connect_timeout(transport, never_accepting):
    timeout = httpx.Timeout(2.0, connect=0.3)
    assert _raised(transport, f"http://127.0.0.1:{never_accepting}/", timeout=timeout) is httpx.ConnectTimeout


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_read_timeout_is_read_timeout(transport, http_server):  # noqa: F811
    timeout = httpx.Timeout(2.0, read=0.2)
    assert _raised(transport, http_server.url("/slow?delay=1.0"), timeout=timeout) is httpx.ReadTimeout


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_server_closing_mid_body_is_remote_protocol_error(transport, http_server):  # noqa: F811
    assert _raised(transport, http_server.url("/truncated")) is httpx.RemoteProtocolError


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_server_closing_without_answer_is_remote_protocol_error(transport, http_server):  # noqa: F811
    assert _raised(transport, http_server.url("/hang-up")) is httpx.RemoteProtocolError


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_non_2xx_with_raise_for_status_is_http_status_error(transport, http_server):  # noqa: F811
    url = http_server.url("/status/503")
    assert _raised(transport, url) is None
    assert _raised(transport, url, check_status=True) is httpx.HTTPStatusError

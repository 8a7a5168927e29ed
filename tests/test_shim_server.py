"""The shared test server (tests/support/server.py) behaves as documented."""
from __future__ import annotations

import asyncio
import socket
import time

import httpx
import pytest
import requests

from tests.support.fixtures import http_server  # noqa: F401
from tests.support.server import serve


def test_json_echoes_method_query_headers_and_body(http_server):
    r = requests.post(http_server.url("/json?a=1&a=2&b="), data=b"hi", headers={"X-T": "v"})
    body = r.json()
    assert r.status_code == 200 and body["ok"] is True
    assert body["method"] == "POST"
    assert body["query"] == {"a": ["1", "2"], "b": [""]}
    assert body["headers"]["X-T"] == "v"
    assert body["body"] == "hi"
    assert http_server.requests_seen == 1
    assert http_server.requests[-1].header("x-t") == "v"


@pytest.mark.parametrize("code", [200, 201, 204, 302, 404, 500])
def test_status(http_server, code):
    r = requests.get(http_server.url(f"/status/{code}"), allow_redirects=False)
    assert r.status_code == code
    if code != 204:
        assert r.json() == {"ok": code < 400, "status": code}


def test_redirect_chain_ends_at_json(http_server):
    r = requests.get(http_server.url("/redirect/3"))
    assert [h.status_code for h in r.history] == [302, 302, 302]
    assert r.url == http_server.url("/json")
    assert http_server.requests_seen == 4


def test_redirect_to_only_this_server(http_server):
    r = requests.get(http_server.url("/redirect-to?url=/status/201&status=307"))
    assert r.status_code == 201 and r.history[0].status_code == 307
    outside = requests.get(
        http_server.url("/redirect-to?url=http://192.0.2.1/"), allow_redirects=False
    )
    assert outside.status_code == 400 and "Location" not in outside.headers


def test_echo_reports_body_and_content_type(http_server):
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        r = requests.request(method, http_server.url("/echo"), json={"k": "é"})
        body = r.json()
        assert body["method"] == method
        assert body["content_type"] == "application/json"
        assert body["json"] == {"k": "é"}
    form = requests.post(http_server.url("/echo"), data={"a": ["1", "2"]}).json()
    assert form["form"] == {"a": ["1", "2"]}


def test_chunked_request_body_is_read(http_server):
    r = requests.post(http_server.url("/echo"), data=iter([b"ab", b"cd"]))
    assert r.json()["body"] == "abcd"


def test_cookies_latin1_bytes_and_stream(http_server):
    with requests.Session() as session:
        session.get(http_server.url("/set-cookie?token=t1"))
        assert session.get(http_server.url("/set-cookie?x=1")).json()["received"] == "token=t1"
    latin = requests.get(http_server.url("/text-latin1"))
    assert latin.headers["Content-Type"] == "text/plain" and latin.content == "café".encode("latin-1")
    assert requests.get(http_server.url("/bytes?n=300")).content == bytes(range(256)) + bytes(range(44))
    streamed = requests.get(http_server.url("/stream?n=5000&chunk=700"), stream=True)
    assert streamed.headers["Transfer-Encoding"] == "chunked"
    assert b"".join(streamed.iter_content(None)) == bytes(range(256)) * 19 + bytes(range(136))


def test_keep_alive_and_concurrency_counters(http_server):
    async def main():
        limits = httpx.Limits(max_connections=4)
        async with httpx.AsyncClient(base_url=http_server.base_url, limits=limits) as client:
            await asyncio.gather(*(client.get("/slow?delay=0.2") for _ in range(8)))
            await client.get("/json")

    asyncio.run(main())
    assert http_server.requests_seen == 9
    assert http_server.connections_opened == 4  # keep-alive: connections reused
    assert 2 <= http_server.max_in_flight <= 4
    assert http_server.in_flight == 0


def test_listens_on_loopback_only_and_stops():
    with serve() as server:
        assert server.base_url.startswith("http://127.0.0.1:")
        port = int(server.base_url.rsplit(":", 1)[1])
        # An idle keep-alive connection must not keep the server alive past the block.
        idle = socket.create_connection(("127.0.0.1", port))
        idle.settimeout(10)
        idle.sendall(b"GET /json HTTP/1.1\r\nHost: x\r\n\r\n")
        assert idle.recv(12) == b"HTTP/1.1 200"
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1)
    rest = b""
    while chunk := idle.recv(65536):  # ends (b"") because the server closed the connection
        rest += chunk
    assert rest.endswith(b"}")
    idle.close()


def test_request_budget_stops_the_server():
    with serve(max_requests=2) as server:
        assert requests.get(server.url("/json")).status_code == 200
        assert requests.get(server.url("/json")).status_code == 200
        assert requests.get(server.url("/json")).status_code == 503
        with pytest.raises(requests.ConnectionError):
            for _ in range(100):  # the stop is asynchronous; bounded retries
                requests.get(server.url("/json"), timeout=2)
                time.sleep(0.02)


def test_lifetime_stops_the_server():
    with serve(max_lifetime=0.3) as server:
        r = requests.get(server.url("/slow?delay=5"), timeout=10)
        # The stop interrupts the sleep: the answer comes early.
        assert r.status_code == 200
        assert server.stopped


def test_subprocess_mode_counts_over_http():
    with serve(subprocess=True, max_lifetime=30) as server:
        assert requests.get(server.url("/json")).json()["ok"] is True
        assert server.requests_seen == 1

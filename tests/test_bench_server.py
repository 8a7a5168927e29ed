"""The bench server: a real process on 127.0.0.1 that counts what it sees and always stops."""
from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request

import pytest

from unfake_async.bench.server import BenchServer, BenchServerError


def _get(url: str):
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.headers.get("content-type"), json.loads(response.read())


def test_server_answers_json_and_counts_requests_in_flight():
    with BenchServer(latency=0.2, max_requests=100, max_seconds=60) as server:
        assert server.base_url.startswith("http://127.0.0.1:")
        results = []
        threads = [
            threading.Thread(target=lambda i=i: results.append(_get(f"{server.base_url}/item/{i}")))
            for i in range(6)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
        stats = server.stats()
        assert len(results) == 6
        assert all(status == 200 and ctype == "application/json" for status, ctype, _ in results)
        assert sorted(body["path"] for _, _, body in results) == [f"/item/{i}" for i in range(6)]
        assert stats["requests"] == 6
        # All six were held 200 ms at the same time: the server saw them in flight together.
        assert stats["max_in_flight"] == 6
        assert stats["in_flight"] == 0

        server.reset()
        _get(server.base_url + "/again")
        stats = server.stats()
        assert stats["requests"] == 1 and stats["max_in_flight"] == 1


def test_server_keeps_connections_alive_and_serves_pipelined_requests_in_order():
    with BenchServer(latency=0.01, max_requests=100, max_seconds=60) as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
                         b"POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc")
            received = b""
            while received.count(b"HTTP/1.1 200") < 2 or not received.endswith(b"}"):
                chunk = sock.recv(65536)
                assert chunk, "the server closed a keep-alive connection"
                received += chunk
        assert received.index(b'"/a"') < received.index(b'"/b"')
        stats = server.stats()
        assert stats["requests"] == 2 and stats["connections"] == 1


def test_server_refuses_past_its_request_budget():
    with BenchServer(latency=0.0, max_requests=2, max_seconds=60) as server:
        _get(server.base_url)
        _get(server.base_url)
        with pytest.raises(urllib.error.HTTPError) as refused:
            _get(server.base_url)
        assert refused.value.code == 503
        assert server.stats()["refused"] == 1


def test_server_stops_when_stdin_closes_and_after_max_seconds():
    server = BenchServer(latency=0.0, max_seconds=60).start()
    process = server.process
    server.stop()
    assert process.poll() is not None
    with pytest.raises(BenchServerError):
        server.stats()

    # Left alone, a server stops by itself once its time is up.
    lone = subprocess.Popen(
        [sys.executable, "-m", "unfake_async.bench.server", "--max-seconds", "0.5"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert json.loads(lone.stdout.readline())["port"] > 0
        assert lone.wait(timeout=10) == 0
    finally:
        if lone.poll() is None:
            lone.kill()
        lone.stdin.close()
        lone.stdout.close()

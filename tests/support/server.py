"""A real, bounded HTTP/1.1 server on 127.0.0.1 for tests and bench scripts.

Usage::

    from tests.support.server import serve

    with serve() as server:                     # in-process, background thread
        requests.get(server.url("/json"))
        assert server.requests_seen == 1

    with serve(subprocess=True) as server:      # separate process (benchmarks: no shared GIL)
        ...

Guarantees, because tests must never reach beyond this machine or run forever:

* it binds 127.0.0.1 only, on an ephemeral port (port 0);
* it stops by itself after ``max_requests`` requests (later ones get 503 and the server shuts
  down) or ``max_lifetime`` seconds, whichever comes first; leaving the ``with`` block stops it,
  closes every open connection and joins its threads;
* ``/redirect-to`` only redirects to relative URLs or to this server.

Endpoints (every one answers every method; HEAD gets headers only):

============================  ==============================================================
``/json``                     ``{"ok": true, "method", "path", "query", "headers", "body"}``
                              (query values are lists; body decoded as UTF-8 with replacement)
``/status/<code>``            that status; JSON ``{"ok": code < 400, "status": code}`` unless
                              the code forbids a body (1xx, 204, 304)
``/redirect/<n>``             302 chain: ``/redirect/n`` -> ``/redirect/n-1`` ... -> ``/json``
``/redirect-to?url=&status=`` redirect (default 302) to ``url``, which must be relative or
                              point at this server
``/slow?delay=<s>``           sleeps ``delay`` seconds (capped at 30), then the ``/json`` body
``/echo``                     JSON ``{"ok", "method", "content_type", "length", "body",
                              "body_base64", "json", "form"}``; ``json``/``form`` are parsed
                              when the content type says so, else null
``/set-cookie?k=v&...``       one ``Set-Cookie: k=v; Path=/`` per query pair (default
                              ``session=s3cr3t``); body lists cookies the client sent
``/text-latin1``              ``text/plain`` (no charset) body ``café`` encoded in ISO-8859-1
``/bytes?n=``                 ``n`` bytes (default 1024, capped at 64 MiB): ``bytes(i % 256)``
``/stream?n=&chunk=``         the same ``n`` bytes sent with ``Transfer-Encoding: chunked`` in
                              chunks of ``chunk`` bytes (default 1024)
``/__stats``                  the counters as JSON; not counted (used by subprocess mode)
============================  ==============================================================

Request bodies may use Content-Length or chunked transfer encoding. Connections are kept alive
(HTTP/1.1) until the client closes them, ``idle_timeout`` passes, or the server stops.

Counters on the yielded object: ``requests_seen``, ``in_flight``, ``max_in_flight``,
``connections_opened``, and ``requests`` (a list of :class:`RequestRecord`, newest last).
Run ``python -m tests.support.server`` to serve from the command line (prints the base URL).
"""
from __future__ import annotations

import contextlib
import json
import os
import subprocess as _subprocess
import sys
import threading
import time
import urllib.request
from typing import Iterator, List, Optional

from tests.support.http_handler import (  # noqa: F401 - re-exported for users of this module
    DEFAULT_MAX_LIFETIME,
    DEFAULT_MAX_REQUESTS,
    HOST,
    RequestRecord,
    _Server,
)


class TestServer:
    """Handle on a running in-process server; counters are live."""

    __test__ = False  # not a pytest test class

    def __init__(self, server: _Server) -> None:
        self._server = server
        self.base_url = server.base_url()

    def url(self, path: str = "/") -> str:
        return self.base_url + path

    @property
    def stopped(self) -> bool:
        return self._server.stopping.is_set()

    def _stat(self, name: str):
        with self._server.stats.lock:
            return getattr(self._server.stats, name)

    requests_seen = property(lambda self: self._stat("requests_seen"))
    in_flight = property(lambda self: self._stat("in_flight"))
    max_in_flight = property(lambda self: self._stat("max_in_flight"))
    connections_opened = property(lambda self: self._stat("connections_opened"))

    @property
    def requests(self) -> List[RequestRecord]:
        with self._server.stats.lock:
            return list(self._server.stats.requests)

    def reset_counters(self) -> None:
        """Zero the counters (e.g. after a warm-up), keeping the server and its connections."""
        stats = self._server.stats
        with stats.lock:
            stats.requests_seen = stats.max_in_flight = stats.connections_opened = 0
            stats.requests.clear()


class SubprocessServer:
    """Handle on a server in a child process; counters are fetched from ``/__stats``."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def url(self, path: str = "/") -> str:
        return self.base_url + path

    def stats(self) -> dict:
        with urllib.request.urlopen(self.url("/__stats"), timeout=10) as response:
            return json.load(response)

    requests_seen = property(lambda self: self.stats()["requests_seen"])
    in_flight = property(lambda self: self.stats()["in_flight"])
    max_in_flight = property(lambda self: self.stats()["max_in_flight"])
    connections_opened = property(lambda self: self.stats()["connections_opened"])


@contextlib.contextmanager
def _serve_in_thread(max_requests, max_lifetime, idle_timeout) -> Iterator[TestServer]:
    server = _Server(max_requests=max_requests, idle_timeout=idle_timeout)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="test-http-server",
        daemon=True,
    )
    thread.start()
    lifetime = threading.Timer(max_lifetime, server.stop_soon)
    lifetime.daemon = True
    lifetime.start()
    try:
        yield TestServer(server)
    finally:
        lifetime.cancel()
        server.stop()
        thread.join(timeout=10)


@contextlib.contextmanager
def _serve_in_subprocess(max_requests, max_lifetime, idle_timeout) -> Iterator[SubprocessServer]:
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])))
    env.pop("UNFAKE_ASYNC_SHIM", None)  # the server itself is never the thing under test
    command = [sys.executable, "-m", "tests.support.server", "--max-requests", str(max_requests),
               "--max-lifetime", str(max_lifetime), "--idle-timeout", str(idle_timeout)]
    child = _subprocess.Popen(command, stdout=_subprocess.PIPE, env=env, cwd=root, text=True)
    try:
        line = child.stdout.readline().strip()
        if not line.startswith("http://127.0.0.1:"):
            raise RuntimeError(f"test server failed to start: {line!r}")
        yield SubprocessServer(line)
    finally:
        child.terminate()
        try:
            child.wait(timeout=10)
        except _subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        child.stdout.close()


def serve(
    *,
    max_requests: int = DEFAULT_MAX_REQUESTS,
    max_lifetime: float = DEFAULT_MAX_LIFETIME,
    idle_timeout: float = 30.0,
    subprocess: bool = False,
):
    """Start a server on 127.0.0.1 (ephemeral port); a context manager yielding its handle.

    ``subprocess=True`` runs it in a child Python process (for benchmarks, so the server does not
    share the client's GIL); the handle then reads its counters over HTTP.
    """
    if subprocess:
        return _serve_in_subprocess(max_requests, max_lifetime, idle_timeout)
    return _serve_in_thread(max_requests, max_lifetime, idle_timeout)


def main(argv: Optional[List[str]] = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description="Bounded test HTTP server on 127.0.0.1.")
    parser.add_argument("--max-requests", type=int, default=DEFAULT_MAX_REQUESTS)
    parser.add_argument("--max-lifetime", type=float, default=DEFAULT_MAX_LIFETIME)
    parser.add_argument("--idle-timeout", type=float, default=30.0)
    args = parser.parse_args(argv)
    with serve(max_requests=args.max_requests, max_lifetime=args.max_lifetime,
               idle_timeout=args.idle_timeout) as server:
        print(server.base_url, flush=True)
        deadline = time.monotonic() + args.max_lifetime
        while not server.stopped and time.monotonic() < deadline:
            time.sleep(0.1)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The request handler and threaded server behind `tests.support.server` (see its docstring
for the endpoints and the bounds); split out so each module stays readable."""
from __future__ import annotations

import base64
import contextlib
import json
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Dict, List, Optional, Tuple
from urllib.parse import parse_qs, urlsplit

HOST = "127.0.0.1"
DEFAULT_MAX_REQUESTS = 20_000
DEFAULT_MAX_LIFETIME = 120.0
MAX_SLOW_DELAY = 30.0
MAX_BYTES = 64 * 1024 * 1024
NO_BODY_STATUSES = frozenset({204, 304}) | frozenset(range(100, 200))


@dataclass(frozen=True)
class RequestRecord:
    """What the server saw of one request."""

    method: str
    path: str  # with the query string
    headers: Tuple[Tuple[str, str], ...]
    body_length: int

    def header(self, name: str) -> Optional[str]:
        wanted = name.lower()
        return next((value for key, value in self.headers if key.lower() == wanted), None)


@dataclass
class _Stats:
    lock: threading.Lock = field(default_factory=threading.Lock)
    requests_seen: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    connections_opened: int = 0
    requests: List[RequestRecord] = field(default_factory=list)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, max_requests: int, idle_timeout: float) -> None:
        self.stats = _Stats()
        self.max_requests = max_requests
        self.idle_timeout = idle_timeout
        self.stopping = threading.Event()
        self._open: set = set()
        self._open_lock = threading.Lock()
        self._stopped = False
        super().__init__((HOST, 0), _Handler)

    def base_url(self) -> str:
        return f"http://{HOST}:{self.server_address[1]}"

    # Track live connections so stop() can close keep-alive sockets a client left open.
    def process_request(self, request, client_address):  # noqa: D401 - socketserver hook
        with self.stats.lock:
            self.stats.connections_opened += 1
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request):
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_open_connections(self) -> None:
        with self._open_lock:
            sockets = list(self._open)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def stop(self) -> None:
        """Stop serving, refuse new connections and close open ones; idempotent."""
        with self._open_lock:
            if self._stopped:
                return
            self._stopped = True
        self.stopping.set()
        self.shutdown()
        self.server_close()
        self.close_open_connections()

    def stop_soon(self) -> None:
        """Stop from any thread, including a handler thread (shutdown() would deadlock there)."""
        if not self.stopping.is_set():
            self.stopping.set()
            threading.Thread(target=self.stop, daemon=True).start()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body leave in one segment, without Nagle: otherwise each keep-alive response
    # waits out the client's delayed ACK (~40 ms).
    disable_nagle_algorithm = True
    wbufsize = 64 * 1024
    server: _Server

    def setup(self) -> None:
        self.timeout = self.server.idle_timeout
        super().setup()

    def log_message(self, format, *args):  # noqa: A002 - silence the default stderr log
        pass

    def handle_one_request(self) -> None:
        # One dispatcher for every method (instead of do_GET & co), and quiet idle timeouts.
        try:
            self.raw_requestline = self.rfile.readline(65537)
            if not self.raw_requestline:
                self.close_connection = True
                return
            if not self.parse_request():
                return
            self._dispatch()
            self.wfile.flush()
        except (TimeoutError, ConnectionError, OSError):
            self.close_connection = True

    # --- plumbing -----------------------------------------------------------------------------

    def _dispatch(self) -> None:
        split = urlsplit(self.path)
        if split.path == "/__stats":
            self._read_body()
            return self._send_json(200, self.server_stats_json())
        stats = self.server.stats
        body = self._read_body()
        with stats.lock:
            stats.requests_seen += 1
            over_budget = stats.requests_seen > self.server.max_requests
            stats.in_flight += 1
            stats.max_in_flight = max(stats.max_in_flight, stats.in_flight)
            stats.requests.append(
                RequestRecord(self.command, self.path, tuple(self.headers.items()), len(body))
            )
        try:
            if over_budget or self.server.stopping.is_set():
                self.close_connection = True
                self._send_json(503, {"ok": False, "error": "server budget exhausted"})
                self.wfile.flush()
                return self.server.stop_soon()  # after the answer: stopping cuts connections
            self._route(split.path, parse_qs(split.query, keep_blank_values=True), body)
        finally:
            with stats.lock:
                stats.in_flight -= 1

    def server_stats_json(self) -> dict:
        stats = self.server.stats
        with stats.lock:
            return {
                "requests_seen": stats.requests_seen,
                "in_flight": stats.in_flight,
                "max_in_flight": stats.max_in_flight,
                "connections_opened": stats.connections_opened,
            }

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            parts = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, body: bytes, content_type: Optional[str], headers=()) -> None:
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        if status not in NO_BODY_STATUSES:
            if content_type:
                self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD" and status not in NO_BODY_STATUSES:
            self.wfile.write(body)

    def _send_json(self, status: int, payload: dict, headers=()) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json", headers)

    def _describe(self, query: Dict[str, List[str]], body: bytes) -> dict:
        return {
            "ok": True,
            "method": self.command,
            "path": urlsplit(self.path).path,
            "query": query,
            "headers": dict(self.headers.items()),
            "body": body.decode("utf-8", "replace"),
        }

    # --- endpoints ------------------------------------------------------------------------------

    def _route(self, path: str, query: Dict[str, List[str]], body: bytes) -> None:
        first = lambda name, default: query.get(name, [default])[0]  # noqa: E731
        parts = path.strip("/").split("/")
        if path == "/json":
            return self._send_json(200, self._describe(query, body))
        if parts[0] == "status" and len(parts) == 2 and parts[1].isdigit():
            code = int(parts[1])
            return self._send_json(code, {"ok": code < 400, "status": code})
        if parts[0] == "redirect" and len(parts) == 2 and parts[1].isdigit():
            remaining = int(parts[1]) - 1
            target = f"/redirect/{remaining}" if remaining > 0 else "/json"
            return self._send(302, b"", None, [("Location", target)])
        if path == "/redirect-to":
            return self._redirect_to(first("url", "/json"), int(first("status", "302")))
        if path == "/slow":
            delay = min(max(float(first("delay", "0.1")), 0.0), MAX_SLOW_DELAY)
            self.server.stopping.wait(delay)
            return self._send_json(200, self._describe(query, body))
        if path == "/echo":
            return self._send_json(200, self._echo(body))
        if path == "/set-cookie":
            pairs = [(k, v) for k, values in query.items() for v in values] or [("session", "s3cr3t")]
            cookies = [("Set-Cookie", f"{k}={v}; Path=/") for k, v in pairs]
            payload = {"ok": True, "set": dict(pairs), "received": self.headers.get("Cookie")}
            return self._send_json(200, payload, cookies)
        if path == "/text-latin1":
            return self._send(200, "café".encode("latin-1"), "text/plain")
        if path == "/bytes":
            return self._send(200, _pattern(int(first("n", "1024"))), "application/octet-stream")
        if path == "/stream":
            return self._stream(int(first("n", "1024")), int(first("chunk", "1024")))
        if path == "/lines":
            # `n` UTF-8 JSON lines, chunked in pieces of `chunk` bytes that cut lines in two.
            count = min(max(int(first("n", "10")), 0), 100_000)
            lines = b"".join(b'{"i": %d, "name": "caf\xc3\xa9"}\n' % i for i in range(count))
            return self._stream(len(lines), int(first("chunk", "7")), lines)
        if path == "/truncated":  # promises 100 bytes, sends 10, then closes the connection
            self.send_response(200)
            self.send_header("Content-Length", "100")
            self.end_headers()
            self.wfile.write(b"0123456789")
            self.close_connection = True
            return None
        if path == "/hang-up":  # closes the connection without answering
            self.close_connection = True
            return None
        return self._send_json(404, {"ok": False, "error": f"no endpoint {path}"})

    def _redirect_to(self, url: str, status: int) -> None:
        target = urlsplit(url)
        here = urlsplit(self.server.base_url())
        if target.netloc and (target.scheme, target.netloc) != (here.scheme, here.netloc):
            return self._send_json(400, {"ok": False, "error": "redirects only to this server"})
        self._send(status, b"", None, [("Location", url)])

    def _echo(self, body: bytes) -> dict:
        content_type = self.headers.get("Content-Type")
        kind = (content_type or "").split(";")[0].strip().lower()
        parsed_json = parsed_form = None
        if kind == "application/json":
            with contextlib.suppress(ValueError):
                parsed_json = json.loads(body)
        elif kind == "application/x-www-form-urlencoded":
            parsed_form = parse_qs(body.decode("latin-1"), keep_blank_values=True)
        return {
            "ok": True,
            "method": self.command,
            "content_type": content_type,
            "length": len(body),
            "body": body.decode("utf-8", "replace"),
            "body_base64": base64.b64encode(body).decode(),
            "json": parsed_json,
            "form": parsed_form,
        }

    def _stream(self, total: int, chunk: int, data: Optional[bytes] = None) -> None:
        data = _pattern(total) if data is None else data
        chunk = max(1, chunk)
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        if self.command == "HEAD":
            return
        for start in range(0, len(data), chunk):
            piece = data[start : start + chunk]
            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
        self.wfile.write(b"0\r\n\r\n")


def _pattern(n: int) -> bytes:
    n = min(max(n, 0), MAX_BYTES)
    return (bytes(range(256)) * (n // 256 + 1))[:n]

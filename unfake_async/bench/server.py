"""The bench's HTTP server: fixed latency, a JSON body, and a count of requests in flight.

It runs in its own process (``python -m unfake_async.bench.server``) so that its CPU time is not
charged to the client being measured, listens on 127.0.0.1 only, and always stops: when its
parent closes stdin (which also happens when the parent dies), after ``--max-seconds``, on
SIGINT/SIGTERM, or on the ``quit`` command. After ``--max-requests`` it answers 503 at once.

Control protocol, one line each way: the server prints ``{"port": N}`` when it listens; then
``stats`` and ``reset`` on stdin get one JSON line back; ``quit`` stops it.

It is a bare ``asyncio.Protocol`` rather than a framework server on purpose: a response is one
``call_later`` and one ``write``, so at C=100 and L=150 ms (about 700 requests/s) it uses a few
percent of a core and its timers fire on time (``max_lag_ms`` in the stats proves it per run).
`BenchServer` is the parent's handle on such a process.
"""
from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from typing import Any, Deque, Dict, List, Optional

LISTEN_HOST = "127.0.0.1"
MAX_HEAD_BYTES = 64 * 1024
_REASONS = {200: "OK", 400: "Bad Request", 503: "Service Unavailable"}


class ServerState:
    """Counters shared by all connections of one server process."""

    def __init__(self, latency: float, max_requests: int) -> None:
        self.latency = latency
        self.max_requests = max_requests
        self.total = 0  # every request ever answered or refused, never reset
        self.reset()

    def reset(self) -> None:
        self.requests = 0
        self.refused = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.connections = 0
        self.lag_sum = 0.0
        self.max_lag = 0.0
        self.cpu_start = time.process_time()
        self.wall_start = time.monotonic()

    def stats(self) -> Dict[str, Any]:
        wall = max(time.monotonic() - self.wall_start, 1e-9)
        cpu = time.process_time() - self.cpu_start
        return {
            "requests": self.requests,
            "refused": self.refused,
            "in_flight": self.in_flight,
            "max_in_flight": self.max_in_flight,
            "connections": self.connections,
            "latency_ms": self.latency * 1000,
            # How late the response timers fired: a server that keeps up stays near 0.
            "mean_lag_ms": (self.lag_sum / self.requests * 1000) if self.requests else 0.0,
            "max_lag_ms": self.max_lag * 1000,
            "cpu_s": cpu,
            "cpu_percent": 100.0 * cpu / wall,
            "total": self.total,
        }


class _Pending:
    __slots__ = ("close", "ready", "response")

    def __init__(self, close: bool) -> None:
        self.response = b""
        self.ready = False
        self.close = close


class BenchProtocol(asyncio.Protocol):
    """HTTP/1.1 with keep-alive; answers every request after `state.latency` seconds."""

    def __init__(self, state: ServerState) -> None:
        self.state = state
        self.loop = asyncio.get_event_loop()
        self.transport: Optional[asyncio.Transport] = None
        self.buffer = bytearray()
        # Responses go out in request order even if a client pipelines.
        self.pending: Deque[_Pending] = collections.deque()

    def connection_made(self, transport) -> None:  # type: ignore[override]
        self.transport = transport
        self.state.connections += 1

    def connection_lost(self, exc: Optional[BaseException]) -> None:
        self.transport = None

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while self.transport is not None:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buffer) > MAX_HEAD_BYTES:
                    self.transport.close()
                return
            head = bytes(self.buffer[:end]).decode("latin-1")
            lines = head.split("\r\n")
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            try:
                body_length = int(headers.get("content-length", "0"))
            except ValueError:
                body_length = -1
            if body_length < 0 or "chunked" in headers.get("transfer-encoding", "").lower():
                self._answer_now(400, {"error": "bad or chunked body"}, close=True)
                return
            if len(self.buffer) < end + 4 + body_length:
                return  # the body is still coming
            del self.buffer[: end + 4 + body_length]
            self._handle(lines[0], headers)

    def _handle(self, request_line: str, headers: Dict[str, str]) -> None:
        state = self.state
        parts = request_line.split(" ")
        close = headers.get("connection", "").lower() == "close" or request_line.endswith("/1.0")
        if len(parts) != 3:
            self._answer_now(400, {"error": "bad request line"}, close=True)
            return
        state.total += 1
        if state.total > state.max_requests:
            state.refused += 1
            self._answer_now(503, {"error": "request budget of this bench server spent"}, close)
            return
        state.requests += 1
        state.in_flight += 1
        state.max_in_flight = max(state.max_in_flight, state.in_flight)
        body = {"id": state.total, "method": parts[0], "path": parts[1], "ok": True}
        pending = _Pending(close)
        pending.response = _response(200, body, close)
        self.pending.append(pending)
        due = self.loop.time() + state.latency
        self.loop.call_at(due, self._ready, pending, due)

    def _ready(self, pending: _Pending, due: float) -> None:
        state = self.state
        lag = max(0.0, self.loop.time() - due)
        state.lag_sum += lag
        state.max_lag = max(state.max_lag, lag)
        state.in_flight -= 1
        pending.ready = True
        self._flush()

    def _answer_now(self, status: int, body: Dict[str, Any], close: bool) -> None:
        pending = _Pending(close)
        pending.response = _response(status, body, close)
        pending.ready = True
        self.pending.append(pending)
        self._flush()

    def _flush(self) -> None:
        while self.pending and self.pending[0].ready:
            pending = self.pending.popleft()
            if self.transport is None:
                continue  # the client went away: nothing to write to
            self.transport.write(pending.response)
            if pending.close:
                self.transport.close()
                self.transport = None


def _response(status: int, body: Dict[str, Any], close: bool) -> bytes:
    payload = json.dumps(body).encode()
    head = (
        f"HTTP/1.1 {status} {_REASONS[status]}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\n"
        f"Connection: {'close' if close else 'keep-alive'}\r\n\r\n"
    )
    return head.encode("latin-1") + payload


def _read_commands(loop: asyncio.AbstractEventLoop, commands: asyncio.Queue[str]) -> None:
    """Forward stdin lines to the loop; EOF (the parent closed the pipe or died) means quit."""
    for line in sys.stdin:
        loop.call_soon_threadsafe(commands.put_nowait, line.strip())
    loop.call_soon_threadsafe(commands.put_nowait, "quit")


def _emit(message: Dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


async def serve(latency: float, max_requests: int, max_seconds: float, port: int = 0) -> None:
    """Listen on 127.0.0.1 and answer control commands until told to stop or out of time."""
    loop = asyncio.get_running_loop()
    state = ServerState(latency, max_requests)
    server = await loop.create_server(
        lambda: BenchProtocol(state), LISTEN_HOST, port, backlog=4096, reuse_address=True
    )
    commands: asyncio.Queue[str] = asyncio.Queue()
    stop = loop.create_future()
    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(signum, lambda: stop.done() or stop.set_result("signal"))
        except (NotImplementedError, RuntimeError):  # Windows: KeyboardInterrupt does it
            pass
    loop.call_later(max_seconds, lambda: stop.done() or stop.set_result("max-seconds"))
    threading.Thread(target=_read_commands, args=(loop, commands), daemon=True).start()
    _emit({"port": server.sockets[0].getsockname()[1], "pid": os.getpid()})

    async def obey() -> None:
        while True:
            command = await commands.get()
            if command == "quit":
                break
            if command == "reset":
                state.reset()
                _emit({"reset": True})
            elif command == "stats":
                _emit(state.stats())
            elif command:
                _emit({"error": f"unknown command {command!r}"})

    obeying = asyncio.ensure_future(obey())
    try:
        await asyncio.wait([obeying, stop], return_when=asyncio.FIRST_COMPLETED)
    finally:
        obeying.cancel()
        server.close()


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.15, help="seconds per response")
    parser.add_argument("--max-requests", type=int, default=100_000)
    parser.add_argument("--max-seconds", type=float, default=900.0)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--uvloop", action="store_true", help="serve on uvloop when installed")
    args = parser.parse_args(argv)
    if args.uvloop:
        try:
            import uvloop

            asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
        except ImportError:
            pass
    try:
        asyncio.run(serve(args.latency, args.max_requests, args.max_seconds, args.port))
    except KeyboardInterrupt:
        pass
    return 0


class BenchServerError(RuntimeError):
    """The server process did not start or stopped answering."""


class BenchServer:
    """A bench server in a child process; use as a context manager so it always stops."""

    def __init__(
        self,
        latency: float = 0.15,
        *,
        max_requests: int = 100_000,
        max_seconds: float = 900.0,
        start_timeout: float = 15.0,
    ) -> None:
        self.latency = latency
        self.max_requests = max_requests
        self.max_seconds = max_seconds
        self.start_timeout = start_timeout
        self.process: Optional[subprocess.Popen] = None
        self.port: Optional[int] = None
        self._lines: queue.Queue[Optional[str]] = queue.Queue()

    @property
    def base_url(self) -> str:
        return f"http://{LISTEN_HOST}:{self.port}"

    def start(self) -> BenchServer:
        command = [
            sys.executable, "-m", "unfake_async.bench.server",
            "--latency", repr(self.latency),
            "--max-requests", str(self.max_requests),
            "--max-seconds", repr(self.max_seconds),
        ]  # fmt: skip
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
            # Its own session: a Ctrl-C in the terminal reaches the parent, which then stops the
            # server in order instead of both dying mid-write.
            start_new_session=True,
        )
        threading.Thread(target=self._pump, args=(self.process,), daemon=True).start()
        try:
            self.port = int(self._receive(self.start_timeout)["port"])
        except BaseException:
            self.stop()
            raise
        return self

    def _pump(self, process: subprocess.Popen) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def _receive(self, timeout: float) -> Dict[str, Any]:
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            raise BenchServerError("the bench server did not answer in time") from None
        if line is None:
            raise BenchServerError("the bench server exited")
        return json.loads(line)

    def _command(self, command: str, timeout: float = 10.0) -> Dict[str, Any]:
        if self.process is None or self.process.poll() is not None:
            raise BenchServerError("the bench server is not running")
        assert self.process.stdin is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        return self._receive(timeout)

    def stats(self) -> Dict[str, Any]:
        """Counters since the last reset, measured inside the server process."""
        return self._command("stats")

    def reset(self) -> None:
        self._command("reset")

    def stop(self) -> None:
        """Ask the server to quit, then make sure it is gone."""
        process, self.process = self.process, None
        if process is None:
            return
        try:
            if process.stdin is not None:
                process.stdin.close()  # EOF on stdin is the server's quit signal
        except OSError:
            pass
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def __enter__(self) -> BenchServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


if __name__ == "__main__":
    sys.exit(main())

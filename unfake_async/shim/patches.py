"""The blocking entry points the shim wraps, and the wrappers themselves.

Each target names a module, an attribute path inside it and a wrapper factory. Targets in modules
that are not imported yet are patched right after their import (see `installer`), so installing
the shim never imports requests, urllib3, httpx or uvloop by itself.

HTTP entry points are wrapped at several layers (requests → urllib3 → http.client) so a report
names the highest one the user called; once a layer reports, a ContextVar keeps the layers below
it (down to the socket) quiet for that call.
"""
from __future__ import annotations

import dataclasses
import functools
import time
import weakref
from dataclasses import dataclass
from typing import Callable, List, Optional

from unfake_async.shim._state import (
    _get_running_loop,
    publish,
    relevant_offload,
    report,
    state,
    suppressed,
)
from unfake_async.shim.redact import redact_url


@dataclass(frozen=True)
class Target:
    """`module`:`path` (e.g. "socket":"socket.connect") wrapped by `factory(original)`."""

    module: str
    path: str
    factory: Callable[[Callable], Callable]

    @property
    def name(self) -> str:
        return f"{self.module}.{self.path}"


# Values of the `suppressed` ContextVar. QUIET (also set by `allow_blocking()`): inside an HTTP
# call that was reported or allowed; sockets it touches stay quiet afterwards. NESTED: inside
# another reported call; only its own inner calls are silenced.
QUIET = True
NESTED = "nested"


def _run_quietly(original, args, kwargs, reason=QUIET, finding=None):
    """Run the original call with the layers below it quiet, and publish `finding` (if any).

    Log mode publishes once the call is over, with the time it took (a field of the log
    record); the other modes publish before the call, so a call that never returns is still
    warned about and, under `verify`, written to the report file.
    """
    timed = finding is not None and state.mode == "log"
    if finding is not None and not timed:
        publish(finding)
    token = suppressed.set(reason)
    start = time.perf_counter()
    try:
        return original(*args, **kwargs)
    finally:
        suppressed.reset(token)
        if timed:
            publish(dataclasses.replace(finding, duration=time.perf_counter() - start))


def on_loop(call: str, rule_id: str = "UFA900", describe=None, when=None):
    """Wrapper factory: report `call` when it runs on a thread with a running event loop.

    `when(*args, **kwargs)`, if given, must also hold (e.g. "the socket is blocking").
    """

    def factory(original):
        @functools.wraps(original)
        def wrapper(*args, **kwargs):
            if _get_running_loop() is None or suppressed.get() or (
                when is not None and not when(*args, **kwargs)
            ):
                return original(*args, **kwargs)
            finding = report(call, describe(*args, **kwargs) if describe else "", rule_id)
            return _run_quietly(original, args, kwargs, NESTED, finding)

        wrapper.__unfake_async_original__ = original
        return wrapper

    return factory


# Sockets used inside a reported (or allowed) call: an HTTP response is often read from them
# after the call that was reported has returned (streaming, `HTTPResponse.read`), and that read
# is part of the same finding, not a new one.
quiet_sockets: "weakref.WeakSet" = weakref.WeakSet()


def blocking_socket_method(call: str, describe):
    """Like `on_loop`, specialised for socket methods: only blocking sockets count, and the
    check is inlined because asyncio's own non-blocking socket I/O passes through here."""

    def factory(original):
        @functools.wraps(original)
        def wrapper(self, *args, **kwargs):
            if _get_running_loop() is None or not self.getblocking():
                return original(self, *args, **kwargs)
            reason = suppressed.get()
            if reason:
                if reason is QUIET:
                    quiet_sockets.add(self)
                return original(self, *args, **kwargs)
            if self in quiet_sockets:
                return original(self, *args, **kwargs)
            finding = report(call, describe(self, *args), "UFA900")
            return _run_quietly(original, (self,) + args, kwargs, NESTED, finding)

        wrapper.__unfake_async_original__ = original
        return wrapper

    return factory


def http_request(call: str, describe):
    """Wrapper factory for an HTTP entry point: UFA003 on the loop's thread; UFA001/UFA002 in a
    worker thread running a job a coroutine offloaded; nothing anywhere else."""

    def factory(original):
        @functools.wraps(original)
        def wrapper(*args, **kwargs):
            if suppressed.get():
                return original(*args, **kwargs)
            if _get_running_loop() is not None:
                offload, rule_id = None, "UFA003"
            else:
                offload = relevant_offload()
                if offload is None:
                    return original(*args, **kwargs)
                rule_id = offload.rule_id
            finding = report(call, describe(*args, **kwargs), rule_id, offload)
            return _run_quietly(original, args, kwargs, QUIET, finding)

        wrapper.__unfake_async_original__ = original
        return wrapper

    return factory


# --- how each call is described (always redacted) -------------------------------------------


def _peer(sock) -> str:
    try:
        return _address(sock.getpeername())
    except (OSError, TypeError, ValueError):
        return "unconnected"


def _address(address) -> str:
    if isinstance(address, tuple) and len(address) >= 2:
        host, port = address[0], address[1]
        return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"
    return str(address)


def _origin_url(scheme: str, host, port, url: str) -> str:
    if "://" in url:
        return url
    default = {"http": 80, "https": 443}.get(scheme)
    hostport = host if port in (None, default) else f"{host}:{port}"
    return f"{scheme}://{hostport}{url}"


def _describe_prepared(self, request, *args, **kwargs) -> str:  # requests / httpx .send
    return f"{request.method} {redact_url(str(request.url))}"


def _describe_urlopen(self, method, url, *args, **kwargs) -> str:
    return f"{method} {redact_url(_origin_url(self.scheme, self.host, self.port, url))}"


def _describe_putrequest(self, method, url, *args, **kwargs) -> str:
    import http.client

    scheme = "https" if isinstance(self, http.client.HTTPSConnection) else "http"
    return f"{method} {redact_url(_origin_url(scheme, self.host, self.port, url))}"


def _describe_getaddrinfo(host, port=None, *args, **kwargs) -> str:
    return _address((host, port))


def _sleep_is_real(seconds=0, *args, **kwargs) -> bool:
    return seconds > 0  # time.sleep(0) only yields the GIL


def _describe_sleep(seconds=0, *args, **kwargs) -> str:
    return repr(seconds)


def _socket_targets() -> List[Target]:
    peer = lambda sock, *args: _peer(sock)  # noqa: E731
    connect = lambda sock, address=None, *args: _address(address)  # noqa: E731
    targets = [Target("socket", "socket.connect", blocking_socket_method("socket.connect", connect))]
    for method in ("send", "sendall", "sendto", "recv", "recv_into", "recvfrom", "recvfrom_into"):
        targets.append(Target("socket", f"socket.{method}",
                              blocking_socket_method(f"socket.{method}", peer)))
    for method in ("read", "recv", "recv_into", "write", "send", "sendall", "do_handshake"):
        targets.append(Target("ssl", f"SSLSocket.{method}",
                              blocking_socket_method(f"ssl.SSLSocket.{method}", peer)))
    targets.append(Target("socket", "getaddrinfo",
                          on_loop("socket.getaddrinfo", "UFA900", _describe_getaddrinfo)))
    return targets


def builtin_targets() -> List[Target]:
    """Every entry point the shim wraps out of the box."""
    return [
        Target("time", "sleep", on_loop("time.sleep", "UFA010", _describe_sleep, _sleep_is_real)),
        *_socket_targets(),
        # `request` covers connect, send and the response headers; `putrequest` catches code
        # that drives a connection by hand (its connect/send/getresponse are then UFA900).
        Target("http.client", "HTTPConnection.request",
               http_request("http.client.HTTPConnection.request", _describe_putrequest)),
        Target("http.client", "HTTPConnection.putrequest",
               http_request("http.client.HTTPConnection.putrequest", _describe_putrequest)),
        Target("urllib3.connectionpool", "HTTPConnectionPool.urlopen",
               http_request("urllib3.HTTPConnectionPool.urlopen", _describe_urlopen)),
        Target("requests.sessions", "Session.send",
               http_request("requests.Session.send", _describe_prepared)),
        Target("httpx", "Client.send", http_request("httpx.Client.send", _describe_prepared)),
    ]


def user_target(spec: str, rule_id: str = "UFA900", when: Optional[Callable] = None) -> Target:
    """A target for `register()`: `spec` is "module:attr.path", e.g. "psycopg2:connect"."""
    module, _, path = spec.partition(":")
    if not module or not path:
        raise ValueError(f"register() needs 'module:attribute.path', got {spec!r}")
    return Target(module, path, on_loop(f"{module}.{path}", rule_id, None, when))

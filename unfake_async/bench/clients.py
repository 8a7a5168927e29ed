"""Candidate constructions of the migrated code's shared client, as the source the codemod emits.

Each `ClientCandidate` is the exact module prelude that defines ``_http_client()`` (one client,
or a rotation of clients, per running event loop) and ``aclose_http_client()``. Call sites stay
plain: ``await _http_client().get(url)``. ``scripts/bench_clients.py`` measures every candidate
side by side on the bench server; docs/performance.md has the figures and the chosen default.

Every candidate keeps requests' behaviour where the codemod promises it: redirects followed (30
at most), no timeout, and a cookie jar that stores nothing (module-level ``requests.get`` used a
fresh Session per call, so no cookie ever carried over).
"""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from typing import Dict, List, Tuple

_REQUESTS_LIKE = (
    "follow_redirects=True",
    "max_redirects=30",
    "timeout=None",
    "cookies=http.cookiejar.CookieJar(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))",
)


def _arguments(extra: Tuple[str, ...], indent: int) -> str:
    """Keyword arguments one per line, the first without indentation (the template has it)."""
    return ("\n" + " " * indent).join(f"{argument}," for argument in _REQUESTS_LIKE + extra)

# One client per running event loop: a client's pool belongs to the loop that made it.
_PER_LOOP = '''
_HTTP_CLIENTS: dict = {{}}


def _http_client() -> {module}.AsyncClient:
    loop = asyncio.get_running_loop()
    client = _HTTP_CLIENTS.get(loop)
    if client is None:
        client = _HTTP_CLIENTS[loop] = {module}.AsyncClient(
            {arguments}
        )
    return client


async def aclose_http_client() -> None:
    """Close this event loop's shared HTTP client (call it at shutdown)."""
    client = _HTTP_CLIENTS.pop(asyncio.get_running_loop(), None)
    if client is not None:
        await client.aclose()
'''

# Holds a semaphore slot from the moment a request enters the transport until its response is
# closed, so that callers beyond the pool size wait on a cheap semaphore instead of inside
# httpcore's pool, whose bookkeeping grows with connections x waiters. Honours the pool timeout.
_BOUNDED_TRANSPORT = '''

class _BoundedTransport({module}.AsyncBaseTransport):
    """Lets at most `slots` requests into `transport` at once; the rest wait their turn here."""

    def __init__(self, transport: {module}.AsyncBaseTransport, slots: int) -> None:
        self._transport = transport
        self._slots = asyncio.Semaphore(slots)

    async def handle_async_request(self, request: {module}.Request) -> {module}.Response:
        pool_timeout = request.extensions.get("timeout", {{}}).get("pool")
        if pool_timeout is None:
            await self._slots.acquire()
        else:
            try:
                await asyncio.wait_for(self._slots.acquire(), pool_timeout)
            except asyncio.TimeoutError:
                message = "no connection slot free in time"
                raise {module}.PoolTimeout(message, request=request) from None
        try:
            response = await self._transport.handle_async_request(request)
        except BaseException:
            self._slots.release()
            raise
        response.stream = _SlotReleasingStream(response.stream, self._slots)
        return response

    async def aclose(self) -> None:
        await self._transport.aclose()


class _SlotReleasingStream({module}.AsyncByteStream):
    def __init__(self, stream, slots: asyncio.Semaphore) -> None:
        self._stream = stream
        self._slots = slots
        self._held = True

    async def __aiter__(self):
        async for chunk in self._stream:
            yield chunk

    async def aclose(self) -> None:
        try:
            await self._stream.aclose()
        finally:
            if self._held:
                self._held = False
                self._slots.release()
'''

# No network at all: the bench server's answer, from memory, after one turn of the event loop (as
# a real response arrives in a later turn). What a call costs in httpx's client alone: no
# transport behind httpx.AsyncClient can make a call cheaper than this.
_MEMORY_TRANSPORT = '''

class _MemoryTransport(httpx.AsyncBaseTransport):
    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0)
        body = b'{"id": 1, "method": "GET", "path": "/item/1", "ok": true}'
        headers = [(b"Content-Type", b"application/json"), (b"Content-Length", b"%d" % len(body)),
                   (b"Connection", b"keep-alive")]
        return httpx.Response(200, headers=headers, stream=httpx.ByteStream(body),
                              extensions={"http_version": b"HTTP/1.1", "reason_phrase": b"OK"})
'''

_ROTATION = '''
_HTTP_CLIENTS: dict = {{}}
_HTTP_CLIENT_TURN = [0]


def _http_client() -> {module}.AsyncClient:
    # {count} small clients per event loop, used in turn: a small pool stays cheap to manage.
    loop = asyncio.get_running_loop()
    clients = _HTTP_CLIENTS.get(loop)
    if clients is None:
        # One TLS context for all of them: each load of the CA bundle costs 20-90 ms.
        tls = {module}.create_ssl_context()
        clients = _HTTP_CLIENTS[loop] = [
            {module}.AsyncClient(
                {arguments}
            )
            for _ in range({count})
        ]
    _HTTP_CLIENT_TURN[0] = (_HTTP_CLIENT_TURN[0] + 1) % len(clients)
    return clients[_HTTP_CLIENT_TURN[0]]


async def aclose_http_client() -> None:
    """Close this event loop's shared HTTP clients (call it at shutdown)."""
    for client in _HTTP_CLIENTS.pop(asyncio.get_running_loop(), []):
        await client.aclose()
'''


@dataclass(frozen=True)
class ClientCandidate:
    """One way to build the shared client; `prelude` is what the codemod would emit."""

    name: str
    description: str
    imports: Tuple[str, ...]
    prelude: str
    requires: Tuple[str, ...]  # importable modules the candidate needs at run time

    def available(self) -> bool:
        return all(importlib.util.find_spec(module) is not None for module in self.requires)

    def module_source(self, call_sites: str) -> str:
        """A complete module: imports, the client helpers, then `call_sites`."""
        return "\n".join(self.imports) + "\n" + self.prelude + "\n\n" + call_sites.strip() + "\n"


def _per_loop(module: str, *extra: str) -> str:
    return _PER_LOOP.format(module=module, arguments=_arguments(extra, 12))


def _limits(module: str, size: int) -> str:
    return f"{module}.Limits(max_connections={size}, max_keepalive_connections={size})"


def _bounded(module: str, limits: str, slots: int, indent: int, verify: str = "") -> str:
    pad = " " * indent
    return (
        f"transport=_BoundedTransport(\n"
        f"{pad}    {module}.AsyncHTTPTransport({verify}limits={limits}),\n"
        f"{pad}    {slots},\n"
        f"{pad})"
    )


def _rotation(module: str, count: int, *extra: str) -> str:
    return _ROTATION.format(module=module, count=count, arguments=_arguments(extra, 16))


def build_candidates(pool: int = 100) -> List[ClientCandidate]:
    """Every construction worth measuring, for a pool of `pool` connections per loop."""
    base = ("import asyncio", "import http.cookiejar", "")
    count = max(1, pool // 10)  # split candidates: clients of 10 connections each
    small = pool // count
    candidates: List[ClientCandidate] = []
    for module in ("httpx", "httpx2"):
        imports, requires = base + (f"import {module}",), (module,)
        bounded_helpers = _BOUNDED_TRANSPORT.format(module=module)
        default_limits = f"{module}.Limits(max_connections=100, max_keepalive_connections=20)"

        def add(suffix: str, description: str, prelude: str, module=module, imports=imports,
                requires=requires) -> None:
            candidates.append(ClientCandidate(f"{module}-{suffix}", f"{module}: {description}",
                                              imports, prelude, requires))

        add("default", "one client, default limits (100 conns, 20 kept alive)", _per_loop(module))
        add("default-bounded", "one client, default limits, semaphore(100) transport",
            bounded_helpers + _per_loop(module, _bounded(module, default_limits, 100, 12)))
        add("keepalive", f"one client, {pool} conns all kept alive",
            _per_loop(module, f"limits={_limits(module, pool)}"))
        add("bounded", f"one client, {pool} kept-alive conns, semaphore({pool}) transport",
            bounded_helpers + _per_loop(module, _bounded(module, _limits(module, pool), pool, 12)))
        add("split", f"{count} clients x {small} kept-alive conns, used in turn",
            _rotation(module, count, f"limits={_limits(module, small)}", "verify=tls"))
        add("split-bounded", f"{count} clients x {small} kept-alive conns, semaphore({small}) each",
            bounded_helpers
            + _rotation(module, count,
                        _bounded(module, _limits(module, small), small, 16, "verify=tls, ")))
    aiohttp_transports = (("httpx", "httpx_aiohttp"), ("httpx2", "httpx_aiohttp.httpx2"))
    for module, transport_module in aiohttp_transports:
        imports = base + (f"import {module}", f"from {transport_module} import AiohttpTransport")
        candidates.append(
            ClientCandidate(
                f"{module}-aiohttp",
                f"{module}: one client on httpx-aiohttp's AiohttpTransport, {pool} conns",
                imports,
                _per_loop(
                    module,
                    f"transport=AiohttpTransport(limits={module}.Limits(max_connections={pool}))",
                ),
                (module, "aiohttp", "httpx_aiohttp"),
            )
        )
    candidates.append(ClientCandidate(
        "httpx-no-network",
        "httpx: one client whose transport answers from memory (the httpx API's own CPU floor)",
        base + ("import httpx",), _per_loop("httpx", "transport=_MemoryTransport()") + _MEMORY_TRANSPORT,
        ("httpx",)))
    return candidates + generated_candidates(pool)


def generated_candidates(pool: int = 100) -> List[ClientCandidate]:
    """What the codemod itself generates, per --target/--transport (`codemod-TARGET-TRANSPORT`),
    with `pool` connections per loop."""
    from unfake_async.codemod.migrate import client as client_code
    from unfake_async.settings import TARGETS, TRANSPORTS, Settings

    candidates = []
    for target in TARGETS:
        for transport in TRANSPORTS:
            settings = Settings(target=target, transport=transport)
            imports = tuple(f"import {module}" if name is None else f"from {module} import {name}"
                            for module, name in client_code.client_imports(settings))
            requires = (target,) + (("aiohttp",) if transport == "aiohttp" else ())
            prelude = (client_code.factory_code(settings)
                       + client_code.module_client_code(settings, max_connections=str(pool)))
            candidates.append(ClientCandidate(
                f"codemod-{target}-{transport}",
                f"the codemod's output, --target {target} --transport {transport}",
                imports, prelude, requires))
    return candidates


def candidates_by_name(pool: int = 100) -> Dict[str, ClientCandidate]:
    return {candidate.name: candidate for candidate in build_candidates(pool)}


# The call sites the candidates are measured with: the codemod's output for seed_before.py.
SEED_CALL_SITES = '''
async def fetch_item(base_url):
    response = await _http_client().get(f"{base_url}/item/1")
    response.raise_for_status()
    return response.json()
'''

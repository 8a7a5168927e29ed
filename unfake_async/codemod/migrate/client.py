"""The code the migration adds: a lazily created, per-event-loop, closable httpx.AsyncClient.

Every client comes from one generated factory, `_new_http_client()`, configured to behave like
requests and built on the transport the settings choose (`--target`, `--transport`). Two shapes
use it. In a class, an instance attribute created by `_get_client()` plus `aclose()` and
`async with` support. For module-level functions, one client per running event loop (a single
module-global client breaks on the second `asyncio.run()`, encode/httpx#2473) and a public
`aclose_http_client()` for shutdown hooks. Both are configured to behave like requests.
"""
from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import libcst as cst

from unfake_async.codemod.migrate.client_source import (
    ACCESSOR,
    FACTORY_NAME,
    INLINE_SOURCE,
    PROJECT,
    ClientSource,
)
from unfake_async.settings import Settings

FACTORY = "_new_http_client"
DEFAULT_MAX_CONNECTIONS = 100
# Connections per small pool: one httpx pool's bookkeeping grows with connections x waiters
# (encode/httpx#3215), so the default transport splits the connections over pools this size.
# httpx2 does not have the problem (docs/performance.md): one pool.
POOL_SIZE = {"httpx": 10, "httpx2": DEFAULT_MAX_CONNECTIONS}


def client_module(settings: Settings) -> str:
    return settings.target


def client_imports(settings: Settings) -> List[Tuple[str, Optional[str]]]:
    """(module, name) pairs the generated code needs, for AddImportsVisitor."""
    imports: List[Tuple[str, Optional[str]]] = [("asyncio", None), ("http.cookiejar", None),
                                                (settings.target, None), ("urllib.request", None)]
    if settings.transport == "aiohttp":
        imports.append(("aiohttp", None))
    return imports


def factory_call(settings: Settings, *, keep_cookies: bool = False, max_connections: Optional[str] = None,
                 options: Sequence[str] = (), source: ClientSource = INLINE_SOURCE) -> str:
    """Source of a call to the generated factory, e.g. `_new_http_client(keep_cookies=True)`; the
    project module's `new_client(...)`; with a client of the project's own (no factory), a
    plain AsyncClient with requests' behaviour."""
    if source.kind == ACCESSOR:
        arguments = ["follow_redirects=True", "max_redirects=30"] + _timeout_arguments(settings)
        if max_connections is not None:
            arguments.append(f"limits={settings.target}.Limits(max_connections={max_connections})")
        return f"{settings.target}.AsyncClient({', '.join(arguments + list(options))})"
    arguments = []
    if keep_cookies:
        arguments.append("keep_cookies=True")
    if max_connections is not None:
        arguments.append(f"max_connections={max_connections}")
    arguments += list(options)
    name = FACTORY_NAME if source.kind == PROJECT else FACTORY
    return f"{name}({', '.join(arguments)})"


def _timeout_arguments(settings: Settings) -> List[str]:
    """requests' timeout (none) as a call argument, unless the settings keep httpx's."""
    if settings.timeout == "preserve":
        return ["timeout=None"]
    if settings.timeout == "httpx-default":
        return []
    return [f"timeout={settings.target}.Timeout({settings.timeout}, pool=None)"]


def with_requests_defaults(args: Sequence[cst.Arg], settings: Settings) -> List[cst.Arg]:
    """A request on a client with httpx's defaults (a project's own client, Home Assistant's)
    made to behave like requests: redirects followed and requests' timeout, where the call does
    not say otherwise."""
    given = {arg.keyword.value for arg in args if arg.keyword is not None}
    if any(arg.star == "**" for arg in args):
        return list(args)  # the options may be in the mapping: the call stays as written
    extra = [] if "follow_redirects" in given else ["follow_redirects=True"]
    if "timeout" not in given:
        extra += _timeout_arguments(settings)
    if not extra:
        return list(args)
    added = [arg for arg in cst.parse_expression(f"f({', '.join(extra)})").args]
    args = list(args)
    if args:
        args[-1] = args[-1].with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
    added[-1] = added[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
    return args + added


def timeout_option(settings: Settings) -> Optional[str]:
    if settings.timeout == "preserve":
        return "timeout=None,  # requests has no default timeout"
    if settings.timeout == "httpx-default":
        return None
    return f"timeout={settings.target}.Timeout({settings.timeout}, pool=None),"


def factory_code(settings: Settings, name: str = FACTORY, quote_annotations: bool = True) -> str:
    """The factory every generated client comes from, and the transport it uses. Its `X | None`
    annotations are quoted, so that a copy type-checks on Python 3.9 in a module without
    `from __future__ import annotations`; `quote_annotations=False` for a module that has it
    (pyupgrade's UP037 flags the quotes there)."""
    httpx = client_module(settings)
    options = [
        "follow_redirects=True,  # requests follows redirects",
        "max_redirects=30,  # requests' limit (httpx: 20)",
    ]
    timeout = timeout_option(settings)
    if timeout is not None:
        options.append(timeout)
    if settings.transport == "aiohttp":
        quote = '"' if quote_annotations else ""
        helpers, make = AIOHTTP_TRANSPORT_CODE.format(httpx=httpx, q=quote), "_AiohttpTransport"
    else:
        helpers = POOLED_TRANSPORT_CODE.format(httpx=httpx, pool_size=POOL_SIZE[httpx])
        make = "_PooledTransport"
    transport = (
        "    if urllib.request.getproxies():\n"
        "        # HTTP(S)_PROXY is set: only httpx's own transport applies it.\n"
        f"        options[\"limits\"] = {httpx}.Limits(max_connections=max_connections)\n"
        "    else:\n"
        f"        options[\"transport\"] = {make}(max_connections)\n"
    )
    body = "".join(f"\n        {option}" for option in options)
    return helpers + f'''

def {name}(
    *,
    keep_cookies: bool = False,
    max_connections: int = {DEFAULT_MAX_CONNECTIONS},
    **options,
) -> {httpx}.AsyncClient:
    """An {httpx}.AsyncClient that behaves like requests: redirects, timeouts,
    cookies and proxies."""
    if not keep_cookies:
        # requests.get() uses a throwaway Session: no cookie survives a call.
        no_cookies = http.cookiejar.DefaultCookiePolicy(allowed_domains=[])
        options["cookies"] = http.cookiejar.CookieJar(no_cookies)
{transport}    return {httpx}.AsyncClient({body}
        **options,
    )
'''


# Why a transport of its own: one httpx pool with many connections is CPU-bound in its bookkeeping
# and fails queued requests with PoolTimeout; several small pools, each behind a semaphore, keep
# the thread pool's throughput at any concurrency (docs/performance.md has the measurements).
POOLED_TRANSPORT_CODE = '''

class _PooledTransport({httpx}.AsyncBaseTransport):
    """Spreads requests over small connection pools, each behind a semaphore: a
    request beyond a pool's size waits on the semaphore (cheap) instead of
    inside the pool (slow, and it times out)."""

    def __init__(self, max_connections: int, pool_size: int = {pool_size}) -> None:
        tls = {httpx}.create_ssl_context()  # one CA bundle load for all pools
        self._pools = []
        while max_connections > 0:
            size = min(pool_size, max_connections)
            limits = {httpx}.Limits(
                max_connections=size,
                max_keepalive_connections=size,
            )
            pool = {httpx}.AsyncHTTPTransport(verify=tls, limits=limits)
            self._pools.append((pool, asyncio.Semaphore(size)))
            max_connections -= size
        self._busy = [0] * len(self._pools)

    async def handle_async_request(
        self,
        request: {httpx}.Request,
    ) -> {httpx}.Response:
        # The least busy pool: one request at a time reuses one connection,
        # concurrent requests spread over the pools.
        index = min(range(len(self._pools)), key=self._busy.__getitem__)
        pool, slots = self._pools[index]
        self._busy[index] += 1
        try:
            pool_timeout = request.extensions.get("timeout", {{}}).get("pool")
            try:
                await asyncio.wait_for(slots.acquire(), pool_timeout)
            except asyncio.TimeoutError:
                raise {httpx}.PoolTimeout(
                    "no connection free in time",
                    request=request,
                ) from None
        except BaseException:
            self._busy[index] -= 1
            raise
        try:
            response = await pool.handle_async_request(request)
        except BaseException:
            self._release(index)
            raise
        stream = response.stream
        # An async pool's response always has an async stream.
        if isinstance(stream, {httpx}.AsyncByteStream):
            response.stream = _SlotReleasingStream(
                stream,
                lambda: self._release(index),
            )
        else:
            self._release(index)
        return response

    def _release(self, index: int) -> None:
        self._busy[index] -= 1
        self._pools[index][1].release()

    async def aclose(self) -> None:
        for pool, _ in self._pools:
            await pool.aclose()


class _SlotReleasingStream({httpx}.AsyncByteStream):
    """Gives the pool slot back once the response is closed (read or not)."""

    def __init__(self, stream: {httpx}.AsyncByteStream, release) -> None:
        self._stream = stream
        self._release = release

    async def __aiter__(self):
        async for chunk in self._stream:
            yield chunk

    async def aclose(self) -> None:
        try:
            await self._stream.aclose()
        finally:
            if self._release is not None:
                self._release, release = None, self._release
                release()
'''


# Why a transport of our own on aiohttp, rather than httpx's pools or httpx-aiohttp's transport:
# when the client's CPU is the limit, httpx's pools cost 3-4x more per request than this one,
# and httpx-aiohttp 0.2 maps a refused connection to ConnectTimeout and asks the environment for
# proxies and netrc on a thread per request. This one maps aiohttp's errors to the exceptions
# httpx's own transport raises (tests/test_transport_errors.py) and lets httpx do the rest
# (redirects, cookies, auth, decoding). docs/performance.md has the measurements.
AIOHTTP_TRANSPORT_CODE = """

class _AiohttpTransport({httpx}.AsyncBaseTransport):
    \"\"\"Sends {httpx}'s requests over aiohttp's connection pool (C parser,
    cheap to queue on). At most `max_connections` requests at once; the
    others wait on a semaphore, never fail for it.\"\"\"

    def __init__(self, max_connections: int) -> None:
        self._tls = {httpx}.create_ssl_context()  # httpx's trust store
        self._slots = asyncio.Semaphore(max_connections)
        self._session: {q}aiohttp.ClientSession | None{q} = None

    async def handle_async_request(
        self,
        request: {httpx}.Request,
    ) -> {httpx}.Response:
        timeout = request.extensions.get("timeout", {{}})
        if timeout.get("pool") is None:
            await self._slots.acquire()
        else:
            try:
                await asyncio.wait_for(self._slots.acquire(), timeout["pool"])
            except asyncio.TimeoutError:
                raise {httpx}.PoolTimeout(
                    "no connection free in time",
                    request=request,
                ) from None
        headers = request.headers.multi_items()
        body: object
        try:
            body = request.content or None
        except {httpx}.RequestNotRead:  # streamed: aiohttp sends it chunked
            body = request.stream
            framing = "transfer-encoding"
            headers = [h for h in headers if h[0].lower() != framing]
        try:
            response = await self._open_session().request(
                request.method,
                str(request.url),
                headers=headers,
                data=body,
                allow_redirects=False,
                server_hostname=request.extensions.get("sni_hostname"),
                timeout=aiohttp.ClientTimeout(
                    sock_connect=timeout.get("connect"),
                    sock_read=timeout.get("read"),
                ),
            )
        except aiohttp.ClientError as exc:
            self._slots.release()
            raise _httpx_error(exc, request) from exc
        except BaseException:
            self._slots.release()
            raise
        reason = (response.reason or "").encode()
        return {httpx}.Response(
            response.status,
            headers=response.raw_headers,
            stream=_AiohttpStream(response, request, self._slots),
            extensions={{"http_version": b"HTTP/1.1", "reason_phrase": reason}},
        )

    def _open_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                # The semaphore limits, the {httpx} client keeps the cookies and
                # decodes; timeouts are set per request.
                connector=_QuietConnector(limit=0, ssl=self._tls),
                cookie_jar=aiohttp.DummyCookieJar(),
                auto_decompress=False,
                timeout=aiohttp.ClientTimeout(),
                skip_auto_headers=(
                    "Accept",
                    "Accept-Encoding",
                    "User-Agent",
                    "Content-Type",
                ),
            )
        return self._session

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()

    def __del__(self) -> None:
        # Collected without aclose(): go quietly, as httpx's own transport
        # does (aiohttp logs "Unclosed client session" at exit, and most
        # programs never close a shared client).
        if self._session is not None:
            self._session.detach()


class _QuietConnector(aiohttp.TCPConnector):
    \"\"\"aiohttp's connector without its "Unclosed connector" log.\"\"\"

    def __del__(self, *args: object) -> None:
        pass


class _AiohttpStream({httpx}.AsyncByteStream):
    \"\"\"The response body; closing it gives the connection and slot back.\"\"\"

    def __init__(
        self,
        response: aiohttp.ClientResponse,
        request: {httpx}.Request,
        slots: asyncio.Semaphore,
    ) -> None:
        self._response = response
        self._request = request
        self._slots: {q}asyncio.Semaphore | None{q} = slots

    async def __aiter__(self):
        try:
            async for chunk in self._response.content.iter_any():
                yield chunk
        except aiohttp.ClientError as exc:
            raise _httpx_error(exc, self._request) from exc

    async def aclose(self) -> None:
        slots = self._slots
        if slots is not None:
            self._slots = None
            # Closes the connection if the body was not read to the end.
            self._response.release()
            slots.release()


def _httpx_error(
    error: aiohttp.ClientError,
    request: {httpx}.Request,
) -> {httpx}.TransportError:
    \"\"\"What httpx's own transport raises where aiohttp raised `error`.\"\"\"
    for aiohttp_error, httpx_error in (
        # refused, DNS, TLS verification
        (aiohttp.ClientConnectorError, {httpx}.ConnectError),
        (aiohttp.ConnectionTimeoutError, {httpx}.ConnectTimeout),
        (aiohttp.ServerTimeoutError, {httpx}.ReadTimeout),
        (aiohttp.ServerDisconnectedError, {httpx}.RemoteProtocolError),
        # the body ended early; not HTTP
        (aiohttp.ClientPayloadError, {httpx}.RemoteProtocolError),
        (aiohttp.ClientResponseError, {httpx}.RemoteProtocolError),
        (aiohttp.InvalidURL, {httpx}.UnsupportedProtocol),
        (aiohttp.ClientOSError, {httpx}.ReadError),  # reset by peer
    ):
        if isinstance(error, aiohttp_error):
            message = str(error) or type(error).__name__
            return httpx_error(message, request=request)
    return {httpx}.TransportError(str(error), request=request)
"""


def _indent(text: str, prefix: str) -> str:
    return "\n".join(prefix + line if line else line for line in text.splitlines())


def module_client_code(settings: Settings, max_connections: Optional[str] = None) -> str:
    """The module-level per-loop client, closed with its loop (see project_client.py), and its
    closer for shutdown hooks."""
    httpx = client_module(settings)
    getter, closer = settings.module_client_function, settings.module_close_function
    registry = f"_{getter.lstrip('_').upper()}S"
    finalizer = f"_close_{getter.lstrip('_')}_with_loop"
    build = factory_call(settings, max_connections=max_connections)
    return f'''
# One {httpx}.AsyncClient per running event loop (a client must not outlive
# the loop it was used on), and the generator that closes it when the loop
# shuts down.
{registry}: "dict[asyncio.AbstractEventLoop, tuple]" = {{}}


def {getter}() -> {httpx}.AsyncClient:
    """The running event loop's shared HTTP client, created on first use."""
    loop = asyncio.get_running_loop()
    entry = {registry}.get(loop)
    if entry is None:
        client = {build}
        closer = {finalizer}(loop, client)
        # Run to its `yield`, the generator is the loop's: the loop closes
        # it when it shuts down (loop.shutdown_asyncgens(), as asyncio.run()
        # does), and that closes the client.
        try:
            closer.asend(None).send(None)
        except StopIteration:
            pass
        entry = {registry}[loop] = (client, closer)
    return entry[0]


async def {finalizer}(loop, client):
    try:
        yield
    finally:
        if {registry}.get(loop, (None,))[0] is client:
            del {registry}[loop]
        await client.aclose()


async def {closer}() -> None:
    """Close the running event loop's shared HTTP client now (on shutdown)."""
    entry = {registry}.pop(asyncio.get_running_loop(), None)
    if entry is not None:
        await entry[1].aclose()
'''


def class_getter_code(settings: Settings, *, keep_cookies: bool = False, max_connections: Optional[str] = None,
                      options: Sequence[str] = (), source: ClientSource = INLINE_SOURCE) -> str:
    httpx = client_module(settings)
    attribute, getter = settings.client_attribute, settings.client_getter
    build = factory_call(settings, keep_cookies=keep_cookies, max_connections=max_connections, options=options,
                         source=source)
    return f'''
def {getter}(self) -> {httpx}.AsyncClient:
    """The shared HTTP client, created on first use in the running loop."""
    loop = asyncio.get_running_loop()
    if self.{attribute} is None or self.{attribute}_loop is not loop:
        self.{attribute} = {build}
        self.{attribute}_loop = loop
    return self.{attribute}
'''


def class_close_statements(settings: Settings) -> str:
    attribute = settings.client_attribute
    return f"""
client, self.{attribute} = self.{attribute}, None
if client is not None:
    await client.aclose()
"""


def class_aclose_code(settings: Settings) -> str:
    body = _indent(class_close_statements(settings).strip("\n"), "    ")
    return f'''
async def aclose(self) -> None:
    """Close the HTTP client."""
{body}
'''


AENTER_CODE = """
async def __aenter__(self):
    return self
"""

AEXIT_CODE = """
async def __aexit__(self, *exc_info) -> None:
    await self.aclose()
"""


def init_attribute_code(settings: Settings) -> str:
    httpx = client_module(settings)
    attribute = settings.client_attribute
    return (
        f'self.{attribute}: "{httpx}.AsyncClient | None" = None\n'
        f'self.{attribute}_loop: "asyncio.AbstractEventLoop | None" = None\n'
    )


def parse_statements(code: str) -> List[cst.BaseStatement]:
    """Parse generated code; LibCST re-indents it to whatever block it is inserted in."""
    # A leading `pass` keeps a first-line comment attached to the statement (not the module header).
    return list(cst.parse_module("pass\n" + code.strip("\n") + "\n").body[1:])

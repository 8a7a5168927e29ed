"""The code the migration adds: a lazily created, per-event-loop, closable httpx.AsyncClient.

Two shapes. In a class, an instance attribute created by `_get_client()` plus `aclose()` and
`async with` support. For module-level functions, one client per running event loop (a single
module-global client breaks on the second `asyncio.run()`, encode/httpx#2473) and a public
`aclose_http_client()` for shutdown hooks. Both are configured to behave like requests.
"""
from __future__ import annotations

from typing import List, Optional

import libcst as cst

from unfake_async.settings import Settings

# requests.get() uses a throwaway Session, so no cookie survives between calls; a shared client
# must refuse to store them to behave the same.
NO_COOKIES = "http.cookiejar.CookieJar(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))"


def client_module(settings: Settings) -> str:
    return settings.target


def constructor(settings: Settings, *, keep_cookies: bool = False, max_connections: Optional[str] = None) -> str:
    """Source of the `httpx.AsyncClient(...)` call that behaves like requests."""
    httpx = client_module(settings)
    options = [
        "follow_redirects=True,  # requests follows redirects",
        "max_redirects=30,  # requests' limit (httpx: 20)",
    ]
    if settings.timeout == "preserve":
        options.append("timeout=None,  # requests has no default timeout")
    elif settings.timeout != "httpx-default":
        options.append(f"timeout={httpx}.Timeout({settings.timeout}, pool=None),")
    if not keep_cookies:
        options.append(f"cookies={NO_COOKIES},  # requests.get() keeps no cookies")
    if max_connections is not None:
        options.append(f"limits={httpx}.Limits(max_connections={max_connections}),  # the old thread pool's size")
    body = "".join(f"\n    {option}" for option in options)
    return f"{httpx}.AsyncClient({body}\n)"


def _indent(text: str, prefix: str) -> str:
    return "\n".join(prefix + line if line else line for line in text.splitlines())


def module_client_code(settings: Settings) -> str:
    """The module-level per-loop client and its closer."""
    httpx = client_module(settings)
    getter, closer = settings.module_client_function, settings.module_close_function
    registry = f"_{getter.lstrip('_').upper()}S"
    build = _indent(constructor(settings), " " * 8).lstrip()
    return f'''
# One {httpx}.AsyncClient per running event loop: a client must not outlive the loop it was used on.
{registry}: "dict[asyncio.AbstractEventLoop, {httpx}.AsyncClient]" = {{}}


def {getter}() -> {httpx}.AsyncClient:
    """The running event loop's shared HTTP client, created on first use."""
    loop = asyncio.get_running_loop()
    client = {registry}.get(loop)
    if client is None:
        for stale in [other for other in {registry} if other.is_closed()]:
            del {registry}[stale]
        client = {registry}[loop] = {build}
    return client


async def {closer}() -> None:
    """Close the running event loop's shared HTTP client (call it on shutdown)."""
    client = {registry}.pop(asyncio.get_running_loop(), None)
    if client is not None:
        await client.aclose()
'''


def class_getter_code(settings: Settings, *, keep_cookies: bool, max_connections: Optional[str]) -> str:
    httpx = client_module(settings)
    attribute, getter = settings.client_attribute, settings.client_getter
    build = _indent(constructor(settings, keep_cookies=keep_cookies, max_connections=max_connections), " " * 8).lstrip()
    return f'''
def {getter}(self) -> {httpx}.AsyncClient:
    """The shared HTTP client, created on first use in the running event loop."""
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

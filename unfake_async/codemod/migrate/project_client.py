"""The text of the project's client module (`_http_client.py`, see client_source.py).

The factory and the transport are the ones `client.py` writes into a module of its own; around
them, the per-event-loop accessor every migrated module imports, `aclose()` and a `lifespan`.

A client whose loop ends without `aclose()` is closed with its loop: the accessor starts an
async generator that waits at its `yield`, and the loop finalizes the async generators it holds
when it shuts down (`loop.shutdown_asyncgens()`, called by `asyncio.run()`, `asyncio.Runner`,
pytest-asyncio, `aiohttp.web.run_app` and uvloop's runners), which runs the generator's
`finally`: `await client.aclose()` on the loop that still runs. A background task would do the
same but shows up in `asyncio.all_tasks()` and keeps a "wait for every task" shutdown waiting.
"""
from __future__ import annotations

from unfake_async.codemod.migrate import client as client_code
from unfake_async.codemod.migrate.client_source import ACCESSOR_NAME, FACTORY_NAME
from unfake_async.settings import Settings

HEADER = '''"""The project's shared HTTP client, written by unfake-async (your code now).

`{accessor}()` returns the running event loop's {httpx}.AsyncClient: made on
first use, shared by every module, and closed with its loop when
`asyncio.run()` (or pytest-asyncio, uvicorn, aiohttp.web) shuts the loop
down. Close it earlier with `await aclose()`; `lifespan` does that for
FastAPI and Starlette: `FastAPI(lifespan=lifespan)`. `{factory}()` makes
a client of its own, for a class that keeps a session's headers or cookies
(close it with `aclose()`).
"""

from __future__ import annotations

import asyncio
import contextlib
import http.cookiejar
import urllib.request
from collections.abc import AsyncGenerator, AsyncIterator

{aiohttp}import {httpx}

__all__ = ["aclose", "{accessor}", "lifespan", "{factory}"]
'''

ACCESSOR_CODE = '''

# One client per running event loop: a client must not outlive the loop it
# was used on.
_Entry = tuple[{httpx}.AsyncClient, AsyncGenerator[None, None]]
_CLIENTS: dict[asyncio.AbstractEventLoop, _Entry] = {{}}


def {accessor}() -> {httpx}.AsyncClient:
    """The running event loop's shared HTTP client, made on first use."""
    loop = asyncio.get_running_loop()
    entry = _CLIENTS.get(loop)
    if entry is None:
        client = {factory}()
        closer = _close_with_loop(loop, client)
        # Run to its `yield`, the generator is the loop's: the loop closes it
        # when it shuts down (loop.shutdown_asyncgens(), as asyncio.run()
        # does), and that closes the client.
        with contextlib.suppress(StopIteration):
            closer.asend(None).send(None)
        entry = _CLIENTS[loop] = (client, closer)
    return entry[0]


async def _close_with_loop(
    loop: asyncio.AbstractEventLoop,
    client: {httpx}.AsyncClient,
) -> AsyncGenerator[None, None]:
    try:
        yield
    finally:
        entry = _CLIENTS.get(loop)
        if entry is not None and entry[0] is client:
            del _CLIENTS[loop]
        await client.aclose()


async def aclose() -> None:
    """Close the running event loop's client now; the next `{accessor}()`
    makes a new one."""
    entry = _CLIENTS.pop(asyncio.get_running_loop(), None)
    if entry is not None:
        await entry[1].aclose()


@contextlib.asynccontextmanager
async def lifespan(app: object = None) -> AsyncIterator[None]:
    """For FastAPI/Starlette, `FastAPI(lifespan=lifespan)`: closes the
    client at shutdown."""
    try:
        yield
    finally:
        await aclose()
'''


def project_module_code(settings: Settings) -> str:
    httpx = client_code.client_module(settings)
    aiohttp = ""
    if settings.transport == "aiohttp":
        aiohttp = "import aiohttp\n"
    header = HEADER.format(
        accessor=ACCESSOR_NAME, factory=FACTORY_NAME, httpx=httpx, aiohttp=aiohttp)
    factory = client_code.factory_code(settings, name=FACTORY_NAME, quote_annotations=False)
    accessor = ACCESSOR_CODE.format(accessor=ACCESSOR_NAME, factory=FACTORY_NAME, httpx=httpx)
    return header + factory + accessor


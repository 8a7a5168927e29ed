"""A hand-written aiohttp client, the reference row: what an async client costs at best.

One ClientSession per running event loop, created on first use, like the codemod's httpx client.
"""
import asyncio

import aiohttp

_SESSIONS = {}


def _session():
    loop = asyncio.get_running_loop()
    session = _SESSIONS.get(loop)
    if session is None:
        session = _SESSIONS[loop] = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=100))
    return session


async def fetch_item(base_url):
    async with _session().get(f"{base_url}/item/1") as response:
        response.raise_for_status()
        return await response.json()


async def aclose_http_client():
    session = _SESSIONS.pop(asyncio.get_running_loop(), None)
    if session is not None:
        await session.close()

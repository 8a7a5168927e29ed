"""The seed article's fake-async client: blocking requests on a 3-thread pool.

`unfake-async bench` runs this file as the "before" row, migrates it with the codemod in memory
for the "after" row, and swaps the pool size for the bigger-pool row.
"""
import asyncio
from concurrent.futures import ThreadPoolExecutor

import requests

_EXECUTOR = ThreadPoolExecutor(max_workers=3)


async def fetch_item(base_url):
    loop = asyncio.get_event_loop()
    response = await loop.run_in_executor(_EXECUTOR, lambda: requests.get(f"{base_url}/item/1"))
    response.raise_for_status()
    return response.json()

"""The part of HomeAssistant an integration's requests touch: `data` and the executor."""
import asyncio
import functools


class HomeAssistant:
    def __init__(self) -> None:
        self.data = {}

    async def async_add_executor_job(self, target, *args):
        return await asyncio.get_running_loop().run_in_executor(None, functools.partial(target, *args))

    async def async_stop(self) -> None:
        """Close the shared clients, as Home Assistant does when it stops."""
        for key in [k for k in self.data if k.startswith("httpx_")]:
            await self.data.pop(key).aclose()

"""The part of HomeAssistant an integration's requests touch: `data`, the executor, and the
event bus that closes the httpx clients when Home Assistant stops."""
import asyncio
import functools
import inspect

from homeassistant.const import EVENT_HOMEASSISTANT_CLOSE


class Event:
    def __init__(self, event_type: str) -> None:
        self.event_type = event_type


class EventBus:
    def __init__(self) -> None:
        self._once = {}

    def async_listen_once(self, event_type: str, listener):
        self._once.setdefault(event_type, []).append(listener)

    async def async_fire_and_wait(self, event_type: str) -> None:
        for listener in self._once.pop(event_type, []):
            result = listener(Event(event_type))
            if inspect.isawaitable(result):
                await result


class HomeAssistant:
    def __init__(self) -> None:
        self.data = {}
        self.bus = EventBus()

    async def async_add_executor_job(self, target, *args):
        return await asyncio.get_running_loop().run_in_executor(None, functools.partial(target, *args))

    async def async_stop(self) -> None:
        """Fire the close event, as Home Assistant does when it stops: the clients made with
        auto_cleanup=True (get_async_client's too) are closed."""
        await self.bus.async_fire_and_wait(EVENT_HOMEASSISTANT_CLOSE)

"""Home Assistant's httpx helper (homeassistant/helpers/httpx_client.py), with its signatures
and the behaviour a migrated integration depends on: the clients keep httpx's defaults (no
redirects, 5 s timeout), Home Assistant's User-Agent is passed as `headers` (so a second
`headers=` is a TypeError, as there), `aclose()` is replaced by a warning that closes nothing,
and `auto_cleanup=True` closes the client when Home Assistant stops."""
import functools
import logging
from typing import Any

import httpx

from homeassistant.const import EVENT_HOMEASSISTANT_CLOSE

DATA_ASYNC_CLIENT = "httpx_async_client"
DATA_ASYNC_CLIENT_NOVERIFY = "httpx_async_client_noverify"
SERVER_SOFTWARE = f"HomeAssistant/stand-in httpx/{httpx.__version__}"
USER_AGENT = "User-Agent"
_LOGGER = logging.getLogger("homeassistant.helpers.frame")


def get_async_client(hass, verify_ssl: bool = True) -> httpx.AsyncClient:
    key = DATA_ASYNC_CLIENT if verify_ssl else DATA_ASYNC_CLIENT_NOVERIFY
    client = hass.data.get(key)
    if client is None:
        client = hass.data[key] = create_async_httpx_client(hass, verify_ssl)
    return client


class HassHttpXAsyncClient(httpx.AsyncClient):
    """httpx AsyncClient that suppresses context management."""

    async def __aenter__(self):
        return self

    async def __aexit__(self, *args: object) -> None:
        pass


def _warn_use(function, what: str):
    """Home Assistant's frame.warn_use: the call is reported, and not made."""

    @functools.wraps(function)
    async def report_use(*args: Any, **kwargs: Any) -> None:
        _LOGGER.warning("Detected code that %s. Please report this issue", what)

    return report_use


def create_async_httpx_client(
    hass,
    verify_ssl: bool = True,
    auto_cleanup: bool = True,
    ssl_cipher_list: Any = None,
    **kwargs: Any,
) -> httpx.AsyncClient:
    client = HassHttpXAsyncClient(verify=verify_ssl, headers={USER_AGENT: SERVER_SOFTWARE}, **kwargs)
    original_aclose = client.aclose
    client.aclose = _warn_use(client.aclose, "closes the Home Assistant httpx client")
    if auto_cleanup:
        async def _async_close_client(event) -> None:
            await original_aclose()

        hass.bus.async_listen_once(EVENT_HOMEASSISTANT_CLOSE, _async_close_client)
    return client

"""Home Assistant's shared httpx client, per hass and TLS verification, with httpx's defaults."""
import httpx


def get_async_client(hass, verify_ssl: bool = True) -> httpx.AsyncClient:
    key = "httpx_verify" if verify_ssl else "httpx_noverify"
    if key not in hass.data:
        hass.data[key] = create_async_httpx_client(hass, verify_ssl)
    return hass.data[key]


def create_async_httpx_client(hass, verify_ssl: bool = True, auto_cleanup: bool = True, **kwargs) -> httpx.AsyncClient:
    return httpx.AsyncClient(verify=verify_ssl, **kwargs)

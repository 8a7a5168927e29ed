"""The one constant of Home Assistant's the stand-in's httpx helper uses."""
EVENT_HOMEASSISTANT_CLOSE = "homeassistant_close"

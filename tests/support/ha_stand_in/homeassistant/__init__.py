"""Stand-in for Home Assistant in tests (see ../README.md)."""

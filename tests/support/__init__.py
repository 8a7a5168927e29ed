"""Shared test support: a real, bounded HTTP server on 127.0.0.1 (`server`) and its pytest
fixture (`fixtures.http_server`)."""

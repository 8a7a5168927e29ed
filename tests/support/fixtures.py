"""Pytest fixtures around the test server.

Import them into a test module with::

    from tests.support.fixtures import http_server  # noqa: F401

``http_server`` is function-scoped (fresh counters per test) and yields a
:class:`tests.support.server.TestServer`; the server is stopped when the test ends.
"""
from __future__ import annotations

import pytest

from tests.support.server import serve


@pytest.fixture
def http_server():
    """A running server on 127.0.0.1 with ``.base_url``, ``.url(path)`` and live counters."""
    with serve(max_requests=5_000, max_lifetime=120.0) as server:
        yield server

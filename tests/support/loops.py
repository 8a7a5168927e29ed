"""Run a coroutine on each event loop implementation, for tests that must hold on both.

    @pytest.mark.parametrize("run", LOOP_RUNNERS.values(), ids=LOOP_RUNNERS.keys())
    def test_x(run): run(main())

The uvloop runner skips the test when uvloop is not installed. `line_of` finds a line in a source
text, for tests that check reported line numbers.
"""
from __future__ import annotations

import asyncio

import pytest

try:
    import uvloop
except ImportError:  # uvloop is optional (no wheels on Windows / PyPy)
    uvloop = None


def _run_uvloop(coro):
    if uvloop is None:
        pytest.skip("uvloop is not installed")
    return uvloop.run(coro) if hasattr(uvloop, "run") else _legacy_uvloop_run(coro)


def _legacy_uvloop_run(coro):
    loop = uvloop.new_event_loop()
    try:
        return loop.run_until_complete(coro)
    finally:
        loop.close()


LOOP_RUNNERS = {"asyncio": asyncio.run, "uvloop": _run_uvloop}


def line_of(source: str, needle: str) -> int:
    """1-based number of the only line of `source` containing `needle`."""
    hits = [number for number, line in enumerate(source.splitlines(), 1) if needle in line]
    assert len(hits) == 1, f"{needle!r} found on lines {hits}"
    return hits[0]

"""Log mode as a service ships it: `logging` records with fields, bounded per site."""
from __future__ import annotations

import asyncio
import logging
import sys
import time

import pytest
import requests

from tests.support.fixtures import http_server  # noqa: F401
from unfake_async import shim
from unfake_async.shim._state import state

HERE = __file__


def this_line() -> int:
    return sys._getframe(1).f_lineno


@pytest.fixture
def shim_records(caplog):
    """The shim's log records; configured through the parent "unfake_async" logger."""
    with caplog.at_level(logging.WARNING, logger="unfake_async"):
        yield lambda: [r for r in caplog.records if r.name.startswith("unfake_async")]


def test_first_occurrences_in_full_then_counts(shim_records):
    lines = []

    async def hot_path():
        for _ in range(120):
            lines.append(this_line() + 1)
            time.sleep(0.0001)

    with shim.verifying("log") as verification:
        asyncio.run(hot_path())
    assert len(verification.findings) == 120  # every call is still recorded
    records = shim_records()
    assert [r.ufa_count for r in records] == [1, 2, 3, 10, 100]
    assert [r.getMessage().startswith("UFA010") for r in records] == [True] * 3 + [False] * 2
    assert records[3].getMessage().startswith("10 occurrences so far of: UFA010 ")
    first = records[0]
    assert (first.ufa_rule, first.ufa_name, first.ufa_call) == (
        "UFA010", "time-sleep-in-async", "time.sleep")
    assert (first.ufa_file, first.ufa_line) == (HERE, lines[0])
    assert first.ufa_function.endswith("hot_path")
    assert first.ufa_site == str(verification.findings[0].site)
    assert first.ufa_duration_ms >= 0.1 and first.ufa_url is None


def test_http_findings_carry_the_redacted_url_and_duration(http_server, shim_records):
    url = http_server.url("/slow?delay=0.05&access_token=S3CR3T")

    async def handler():
        await asyncio.to_thread(requests.get, url)
        requests.get(url)

    with shim.verifying("log"):
        asyncio.run(handler())
    fake, direct = shim_records()
    assert (fake.ufa_rule, fake.ufa_via) == ("UFA002", "asyncio.to_thread")
    assert fake.ufa_origin.endswith("in test_http_findings_carry_the_redacted_url_and_duration."
                                    "<locals>.handler")
    assert direct.ufa_rule == "UFA003"
    for record in (fake, direct):
        assert record.ufa_url == f"{http_server.base_url}/slow?delay=0.05&access_token=***"
        assert record.ufa_duration_ms >= 50
        assert "S3CR3T" not in record.getMessage() + repr(vars(record))


def test_log_first_is_configurable(shim_records, monkeypatch):
    async def twice():
        for _ in range(12):
            time.sleep(0.0001)

    monkeypatch.setattr(state, "log_first", 1)
    with shim.verifying("log"):
        asyncio.run(twice())
    assert [r.ufa_count for r in shim_records()] == [1, 10]


def test_warn_mode_warns_before_the_call_log_mode_logs_after_it(http_server, shim_records):
    import warnings

    url = http_server.url("/slow?delay=0.2")
    seen_when_warned = []

    def show(message, category, *args, **kwargs):
        if category is shim.BlockingCallWarning:
            seen_when_warned.append(http_server.requests_seen)

    async def handler():
        requests.get(url)

    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = show
        with shim.verifying("warn") as verification:
            asyncio.run(handler())
    # Warned before the request reached the server: a call that hangs is still warned about.
    assert seen_when_warned == [0] and http_server.requests_seen == 1
    assert verification.findings[0].duration is None
    with shim.verifying("log"):
        asyncio.run(handler())
    (record,) = shim_records()
    assert record.ufa_duration_ms >= 200


def test_the_summary_keeps_exact_counts_and_durations(shim_records):
    async def hot_path():
        for _ in range(25):
            time.sleep(0.0001)

    with shim.verifying("log") as verification:
        asyncio.run(hot_path())
        assert "   25x  UFA010" in shim.summary()
    assert all(f.duration is not None and f.duration > 0 for f in verification.findings)

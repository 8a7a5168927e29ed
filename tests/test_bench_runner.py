"""Bench rows run in worker processes against the real server; the server confirms the load."""
from __future__ import annotations

import pytest

from unfake_async.bench.clients import SEED_CALL_SITES, build_candidates
from unfake_async.bench.runner import RowSpec, run_row
from unfake_async.bench.scenario import seed_before_source, thread_pool_variant
from unfake_async.bench.server import BenchServer

LATENCY = 0.02


@pytest.fixture(scope="module")
def server():
    with BenchServer(LATENCY, max_requests=5_000, max_seconds=120) as running:
        yield running


def test_seed_thread_pool_caps_what_the_server_sees_at_three(server):
    row = RowSpec("seed", seed_before_source(), "fetch_item")
    result = run_row(row, server, requests=12, concurrency=6, timeout=60)
    assert result.status == "ok", result.message
    assert result.client["completed"] == 12
    assert result.server["requests"] == 12
    assert result.server["max_in_flight"] == 3  # the 3 workers, though 6 calls were in flight
    assert result.client["max_threads"] >= 4  # the loop's thread plus the pool's three
    assert result.client["peak_rss_bytes"] > 0
    assert 0 < result.client["p50_ms"] <= result.client["p99_ms"]


def test_bigger_thread_pool_reaches_the_requested_concurrency(server):
    row = RowSpec("seed32", thread_pool_variant(seed_before_source(), 32), "fetch_item")
    result = run_row(row, server, requests=12, concurrency=6, timeout=60)
    assert result.status == "ok", result.message
    assert result.server["max_in_flight"] == 6


@pytest.mark.parametrize("candidate", build_candidates(pool=2), ids=lambda c: c.name)
def test_every_client_candidate_runs_and_respects_its_pool(server, candidate):
    if not candidate.available():
        pytest.skip(f"needs {candidate.requires}")
    row = RowSpec(candidate.name, candidate.module_source(SEED_CALL_SITES), "fetch_item",
                  close="aclose_http_client")
    result = run_row(row, server, requests=10, concurrency=5, timeout=60)
    assert result.status == "ok", result.message
    if candidate.name == "httpx-no-network":  # answers from memory: the server sees nothing
        assert result.server["requests"] == 0 and result.client["completed"] == 10
        return
    assert result.server["requests"] == 10
    # A pool of 2 connections per loop (split candidates: 1 client of 2) holds the server at 2,
    # and the semaphore transport releases its slots (else this would hang into the timeout).
    # The "default" candidates keep httpx's own limit of 100, so all 5 calls get through.
    expected = 5 if "-default" in candidate.name else 2
    assert result.server["max_in_flight"] == expected


def test_errors_are_counted_not_fatal(server):
    source = "async def entry(base_url):\n    raise ValueError('nope ' + base_url[:4])\n"
    result = run_row(RowSpec("raises", source, "entry"), server, 7, 3, timeout=60)
    assert result.status == "errors"
    assert result.client["errors"] == 7 and result.client["error_kinds"] == {"ValueError": 7}
    assert "ValueError: nope http" in result.message


def test_module_that_cannot_load_fails_with_its_traceback(server):
    result = run_row(RowSpec("broken", "def broken(:\n", "entry"), server, 3, 1, timeout=60)
    assert result.status == "failed"
    assert "SyntaxError" in result.message


def test_row_that_outlives_its_timeout_is_stopped_and_reported(server):
    source = (
        "import asyncio\n"
        "async def entry(base_url):\n"
        "    await asyncio.sleep(3600)\n"
    )
    result = run_row(RowSpec("stuck", source, "entry"), server, 4, 2, timeout=1.0)
    assert result.status == "timeout"
    assert result.client["completed"] < 4


def test_prints_of_the_measured_module_do_not_break_the_protocol(server):
    source = (
        "import sys, urllib.request\n"
        "async def entry(base_url):\n"
        "    print('{\"event\": \"result\"} noise')\n"
        "    urllib.request.urlopen(base_url).read()\n"
    )
    result = run_row(RowSpec("noisy", source, "entry"), server, 3, 1, timeout=60)
    assert result.status == "ok", result.message
    assert result.server["requests"] == 3


def test_skipped_row_does_not_start_a_worker(server):
    before = server.stats()["total"]
    result = run_row(RowSpec("none", None, "entry", skip_reason="why"), server, 3, 1, 60)
    assert (result.status, result.message) == ("skipped", "why")
    assert server.stats()["total"] == before

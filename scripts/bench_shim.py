#!/usr/bin/env python3
"""Overhead of the runtime shim, side by side with blockbuster and with no shim.

Workload: many small GET requests through one shared ``httpx.AsyncClient`` (bounded by a
semaphore sized to its pool) against the test server from ``tests/support/server.py``, which runs
in its own process on 127.0.0.1 so it does not share the client's GIL. Each variant runs in a
fresh client process; rounds interleave the variants, in a rotating order, so drift on a noisy
machine hits them all alike. Figures: median wall time and client CPU time per request, and their ratios to "none".

    .venv/bin/python scripts/bench_shim.py                 # defaults: 2000 requests x 5 rounds
    .venv/bin/python scripts/bench_shim.py --loop uvloop --requests 500 --rounds 3

Variants: none; unfake-async (``shim.install("warn")``); unfake-async+watchdog (the same with
the loop-lag watchdog at its default 100 ms threshold: a heartbeat on the loop every 25 ms and a
thread that checks it); blockbuster (``blockbuster_ctx()``, skipped if not installed). CPU time
is the whole client process's (``time.process_time``), so the watchdog thread's own work counts.
No assertion on speed here: the script prints what it measured.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VARIANTS = ("none", "unfake-async", "unfake-async+watchdog", "blockbuster")
SHIM_VARIANTS = ("unfake-async", "unfake-async+watchdog")


async def _workload(url: str, requests: int, concurrency: int) -> dict:
    import httpx

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits) as client:
        gate = asyncio.Semaphore(concurrency)

        async def one() -> None:
            async with gate:
                response = await client.get(url)
                response.raise_for_status()

        await asyncio.gather(*(one() for _ in range(concurrency)))  # warm the pool
        wall, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(one() for _ in range(requests)))
        return {"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu}


def _activate(variant: str):
    """Turn the variant's detector on; returns a context manager (or None)."""
    if variant in SHIM_VARIANTS:
        from unfake_async import shim

        shim.install("warn", watchdog=0.1 if variant.endswith("watchdog") else None)
        return None
    if variant == "blockbuster":
        from blockbuster import blockbuster_ctx

        return blockbuster_ctx()
    return None


def run_child(variant: str, url: str, requests: int, concurrency: int, loop: str) -> dict:
    # Imported before any detector is on: httpx's first import touches the disk (rich, certifi),
    # which blockbuster would refuse inside the loop; the workload is the requests, not imports.
    import httpx  # noqa: F401
    # Every variant loads the same modules, installed or not, so that import size (and with it
    # how often the GC walks its oldest generation) does not favour one variant.
    import unfake_async.shim.api  # noqa: F401
    if _available("blockbuster"):
        import blockbuster  # noqa: F401

    context = _activate(variant)
    runner = asyncio.run
    if loop == "uvloop":
        import uvloop

        runner = uvloop.run
    if context is not None:
        with context:
            result = runner(_workload(url, requests, concurrency))
    else:
        result = runner(_workload(url, requests, concurrency))
    if variant in SHIM_VARIANTS:
        from unfake_async import shim

        result["findings"] = len(shim.findings())
    return result


def per_call_overhead(iterations: int = 200_000) -> tuple:
    """ns per `socket.send(b"")` on a non-blocking socket inside a running loop, without and
    with the shim: the hot path every asyncio transport read/write now takes."""
    import socket

    from unfake_async import shim

    a, b = socket.socketpair()
    a.setblocking(False)

    async def timed() -> float:
        start = time.perf_counter()
        for _ in range(iterations):
            a.send(b"")
        return (time.perf_counter() - start) / iterations * 1e9

    try:
        bare = min(asyncio.run(timed()) for _ in range(3))
        shim.install("warn")
        try:
            shimmed = min(asyncio.run(timed()) for _ in range(3))
        finally:
            shim.uninstall()
    finally:
        a.close()
        b.close()
    return bare, shimmed


def watchdog_idle_cost(seconds: float = 2.0, rounds: int = 3) -> tuple:
    """Process CPU per second of a loop that only waits, without and with the watchdog (its
    heartbeat and thread are all that runs): the watchdog's own cost, free of request noise."""
    from unfake_async import shim

    async def idle() -> float:
        start = time.process_time()
        await asyncio.sleep(seconds)
        return (time.process_time() - start) / seconds

    bare = min(asyncio.run(idle()) for _ in range(rounds))
    shim.install("warn", watchdog=0.1)
    try:
        watched = min(asyncio.run(idle()) for _ in range(rounds))
    finally:
        shim.uninstall()
    return bare, watched


def _available(variant: str) -> bool:
    if variant != "blockbuster":
        return True
    try:
        import blockbuster  # noqa: F401
    except ImportError:
        return False
    return True


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--loop", choices=("asyncio", "uvloop"), default="asyncio")
    parser.add_argument("--no-idle", action="store_true",
                        help="skip the idle-loop measurement of the watchdog's own cost")
    parser.add_argument("--idle-seconds", type=float, default=2.0,
                        help="length of each idle-loop measurement (3 rounds each way)")
    parser.add_argument("--child", choices=VARIANTS, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(run_child(args.child, args.url, args.requests, args.concurrency,
                                   args.loop)))
        return 0

    sys.path.insert(0, ROOT)
    from tests.support.server import serve

    variants = [v for v in VARIANTS if _available(v)]
    results = {variant: [] for variant in variants}
    budget = (args.requests + args.concurrency) * args.rounds * len(variants) + 100
    with serve(subprocess=True, max_requests=budget, max_lifetime=1800) as server:
        for round_number in range(args.rounds):
            # Rotate the order each round so no variant always runs first (or last).
            shift = round_number % len(variants)
            for variant in variants[shift:] + variants[:shift]:
                command = [sys.executable, os.path.abspath(__file__), "--child", variant,
                           "--url", server.url("/json"), "--requests", str(args.requests),
                           "--concurrency", str(args.concurrency), "--loop", args.loop]
                env = dict(os.environ, PYTHONPATH=os.pathsep.join(
                    filter(None, [ROOT, os.environ.get("PYTHONPATH")])))
                for name in [n for n in env if n.startswith("UNFAKE_ASYNC_SHIM")]:
                    del env[name]
                done = subprocess.run(command, capture_output=True, text=True, env=env,
                                      timeout=600, check=True)
                results[variant].append(json.loads(done.stdout.strip().splitlines()[-1]))
            print(f"round {round_number + 1}/{args.rounds} done", file=sys.stderr)

    n = args.requests
    print(f"shim overhead: {n} GETs, concurrency {args.concurrency}, shared httpx.AsyncClient, "
          f"{args.loop} loop, server in its own process, median of {args.rounds} rounds")
    print(f"{'variant':<22} {'wall s':>8} {'req/s':>8} {'CPU us/req':>11} {'wall ratio':>11} "
          f"{'CPU ratio':>10}")
    base_wall = statistics.median(r["wall"] for r in results["none"])
    base_cpu = statistics.median(r["cpu"] for r in results["none"])
    for variant in variants:
        wall = statistics.median(r["wall"] for r in results[variant])
        cpu = statistics.median(r["cpu"] for r in results[variant])
        print(f"{variant:<22} {wall:>8.3f} {n / wall:>8.0f} {cpu / n * 1e6:>11.1f} "
              f"{wall / base_wall:>11.3f} {cpu / base_cpu:>10.3f}")
    bare, shimmed = per_call_overhead()
    print(f"hot path, non-blocking socket.send on the loop: {bare:.0f} ns bare, {shimmed:.0f} ns "
          f"with the shim (+{shimmed - bare:.0f} ns per call)")
    if not args.no_idle:
        bare, watched = watchdog_idle_cost(args.idle_seconds)
        print(f"watchdog alone, loop idle: {bare * 1e3:.2f} ms CPU per second bare, "
              f"{watched * 1e3:.2f} ms with the watchdog at 100 ms "
              f"(+{(watched - bare) * 100:.2f}% of one core)")
    found = [r.get("findings", 0) for v in SHIM_VARIANTS for r in results[v]]
    print(f"unfake-async findings during the runs: {max(found)} (expected 0: the workload is "
          "really async)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

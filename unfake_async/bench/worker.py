"""One bench row in a fresh process: load a module from source, call its entry N times, measure.

``python -m unfake_async.bench.worker`` reads a JSON spec on stdin (see `RowSpec.to_worker_spec`),
and writes JSON lines (``{"event": "progress", ...}`` then ``{"event": "result", ...}``) to the
stdout it was started with. The measured module's own prints are sent to stderr so they cannot
corrupt that channel. A fresh process per row keeps each row's peak RSS and thread count its own.
"""
from __future__ import annotations

import asyncio
import json
import os
import sys
import threading
import time
import traceback
import types
from typing import Any, Awaitable, Callable, Dict, List, Optional, TextIO

THREAD_SAMPLE_SECONDS = 0.025


def peak_rss_bytes() -> Optional[int]:
    """The process's peak resident set size so far, or None where the OS does not say."""
    # Linux first: VmHWM belongs to this program's memory map, while ru_maxrss carries the
    # parent's peak over fork+exec (a worker started by a 50 MB parent would report 50 MB).
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    try:
        import resource
    except ImportError:  # Windows
        try:
            import psutil

            return int(psutil.Process().memory_info().peak_wset)
        except Exception:
            return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)


def current_rss_bytes() -> Optional[int]:
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, AttributeError):
        try:
            import psutil

            return int(psutil.Process().memory_info().rss)
        except Exception:
            return None


def thread_count() -> int:
    """OS threads of this process (native ones too on Linux), else Python's own count."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("Threads:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return threading.active_count()


def load_module(source: str, filename: str, name: str) -> types.ModuleType:
    """Execute `source` as a fresh top-level module called `name` (it need not exist on disk)."""
    module = types.ModuleType(name)
    module.__file__ = filename
    sys.modules[name] = module
    exec(compile(source, filename, "exec"), module.__dict__)
    return module


def resolve_entry(module: types.ModuleType, entry: str) -> Callable[[str], Any]:
    target: Any = module
    for part in entry.split("."):
        target = getattr(target, part)
    if not callable(target):
        raise TypeError(f"{entry} is not callable")
    return target


def _percentile(ordered: List[float], fraction: float) -> float:
    if not ordered:
        return 0.0
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[index]


async def drive(
    entry: Callable[[str], Any],
    base_url: str,
    requests: int,
    concurrency: int,
    timeout: float,
    report: Callable[[Dict[str, Any]], None],
    warmup: Optional[Callable[[], Awaitable[None]]] = None,
) -> Dict[str, Any]:
    """Call `entry(base_url)` `requests` times with at most `concurrency` calls in flight.

    With `warmup`, one untimed call comes first, then `warmup()` is awaited before timing starts."""
    latencies: List[float] = []
    errors: Dict[str, int] = {}
    first_errors: List[str] = []
    started = [0]
    max_threads = [thread_count()]
    every = max(1, requests // 100)

    first_ms: List[float] = []
    warm_timed_out = False
    if warmup is not None:
        # One untimed call first: one-time costs (lazy imports such as httpx's of httpcore, the
        # client and its TLS context) show in first_call_ms, not in the steady-state figures.
        begin = time.perf_counter()
        try:
            await asyncio.wait_for(entry(base_url), timeout)
        except asyncio.TimeoutError:
            warm_timed_out = True
        except Exception:  # counted when the measured calls fail the same way
            pass
        first_ms.append((time.perf_counter() - begin) * 1000)
        timeout = max(0.0, timeout - (time.perf_counter() - begin))
        await warmup()

    async def worker() -> None:
        while started[0] < requests:
            started[0] += 1
            first = started[0] == 1
            begin = time.perf_counter()
            try:
                await entry(base_url)
            except Exception as exc:  # a failed call is a result, not a crash
                kind = type(exc).__name__
                errors[kind] = errors.get(kind, 0) + 1
                if len(first_errors) < 3:
                    first_errors.append(f"{kind}: {exc}"[:300])
            latencies.append(time.perf_counter() - begin)
            if first and not first_ms:  # includes one-time setup (no warm-up call)
                first_ms.append(latencies[-1] * 1000)
            if len(latencies) % every == 0:
                failed = sum(errors.values())
                report({"event": "progress", "done": len(latencies), "errors": failed})

    async def sample_threads() -> None:
        while True:
            max_threads[0] = max(max_threads[0], thread_count())
            await asyncio.sleep(THREAD_SAMPLE_SECONDS)

    sampler = asyncio.ensure_future(sample_threads())
    cpu_begin, wall_begin = time.process_time(), time.perf_counter()
    workers = [] if warm_timed_out else [asyncio.ensure_future(worker()) for _ in range(min(concurrency, requests))]
    timed_out = warm_timed_out
    try:
        done, pending = (set(), set()) if not workers else await asyncio.wait(workers, timeout=timeout)
        timed_out = timed_out or bool(pending)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=5)
        for task in done:
            if task.exception() is not None:  # BaseException escaping a call: report it
                raise task.exception()  # type: ignore[misc]
    finally:
        wall = time.perf_counter() - wall_begin
        cpu = time.process_time() - cpu_begin
        sampler.cancel()
    max_threads[0] = max(max_threads[0], thread_count())
    ordered = sorted(latencies)
    completed = len(latencies)
    return {
        "requests": requests,
        "completed": completed,
        "concurrency": concurrency,
        "timed_out": timed_out,
        "errors": sum(errors.values()),
        "error_kinds": errors,
        "first_errors": first_errors,
        "wall_s": wall,
        "cpu_s": cpu,
        "cpu_us_per_call": (cpu / completed * 1e6) if completed else None,
        "throughput": completed / wall if wall > 0 else 0.0,
        "mean_ms": (sum(ordered) / completed * 1000) if completed else None,
        "p50_ms": _percentile(ordered, 0.50) * 1000 if completed else None,
        "p99_ms": _percentile(ordered, 0.99) * 1000 if completed else None,
        "first_call_ms": first_ms[0] if first_ms else None,
        "max_threads": max_threads[0],
    }


def _warmed(report: Callable[[Dict[str, Any]], None]) -> Callable[[], Awaitable[None]]:
    """Tell the runner the warm-up is done and wait for its go-ahead on stdin.

    Read on the loop's thread on purpose: nothing is timed yet, and a helper thread would show in
    the row's thread count."""

    async def wait_for_go() -> None:
        report({"event": "warmed"})
        sys.stdin.readline()

    return wait_for_go


def new_loop(kind: str) -> asyncio.AbstractEventLoop:
    if kind == "uvloop":
        import uvloop  # the caller only asks for uvloop when it is installed

        return uvloop.new_event_loop()
    return asyncio.new_event_loop()


def run_spec(spec: Dict[str, Any], channel: TextIO) -> Dict[str, Any]:
    def report(message: Dict[str, Any]) -> None:
        channel.write(json.dumps(message) + "\n")
        channel.flush()

    for directory in reversed(spec.get("sys_path", [])):
        sys.path.insert(0, directory)
    module = load_module(spec["source"], spec["filename"], spec.get("module_name", "bench_subject"))
    entry = resolve_entry(module, spec["entry"])
    rss_before = current_rss_bytes()
    loop = new_loop(spec.get("loop", "asyncio"))
    asyncio.set_event_loop(loop)
    try:
        result = loop.run_until_complete(
            drive(
                entry,
                spec["base_url"],
                int(spec["requests"]),
                int(spec["concurrency"]),
                float(spec.get("timeout", 600.0)),
                report,
                warmup=_warmed(report) if spec.get("warmup", True) else None,
            )
        )
        close_name = spec.get("close")
        close = getattr(module, close_name, None) if close_name else None
        if close is not None:
            try:
                loop.run_until_complete(asyncio.wait_for(close(), 10))
            except Exception:  # closing is hygiene; the figures are already taken
                pass
        loop.run_until_complete(loop.shutdown_asyncgens())
    finally:
        asyncio.set_event_loop(None)
        loop.close()
    result.update(
        {
            "loop": spec.get("loop", "asyncio"),
            "rss_before_bytes": rss_before,
            "peak_rss_bytes": peak_rss_bytes(),
            "python": sys.version.split()[0],
        }
    )
    return result


def main() -> int:
    # Keep a private copy of stdout for the protocol; whatever the module prints goes to stderr.
    channel = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    sys.stdout.flush()
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    spec = json.loads(sys.stdin.readline())
    try:
        result = run_spec(spec, channel)
    except BaseException as exc:  # report any failure to load or run as data
        channel.write(
            json.dumps(
                {
                    "event": "failed",
                    "error": f"{type(exc).__name__}: {exc}"[:500],
                    "traceback": traceback.format_exc()[-4000:],
                }
            )
            + "\n"
        )
        channel.flush()
        return 1
    channel.write(json.dumps({"event": "result", **result}) + "\n")
    channel.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())

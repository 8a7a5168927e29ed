"""Which rows a bench run measures: the built-in seed scenario, or the user's own modules.

"After" rows are produced by the codemod itself, in memory, so the bench measures exactly what
``unfake-async --fix --unsafe-fixes`` would write.
"""
from __future__ import annotations

import dataclasses
import importlib.util
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Tuple

from unfake_async.bench.runner import RowSpec

SAMPLES = Path(__file__).resolve().parent / "samples"
SEED_ENTRY = "fetch_item"


class TargetError(ValueError):
    """A FILE::entry argument that cannot be used."""


def seed_before_source() -> str:
    return (SAMPLES / "seed_before.py").read_text(encoding="utf-8")


def aiohttp_reference_source() -> str:
    return (SAMPLES / "aiohttp_reference.py").read_text(encoding="utf-8")


def thread_pool_variant(source: str, workers: int) -> str:
    """The same module with a thread pool of `workers` instead of the seed's 3."""
    changed, count = re.subn(r"max_workers\s*=\s*\d+", f"max_workers={workers}", source)
    if count == 0:
        raise ValueError("the module has no max_workers=N to change")
    return changed


def installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def migrate(source: str, path: str, settings=None) -> Tuple[Optional[str], Optional[str]]:
    """(migrated source, None), or (None, why not) when the codemod rewrote nothing or failed."""
    # Imported here: the codemod pulls in libcst, which the server and workers never need.
    import dataclasses

    from unfake_async.codemod import FixLevel, analyze_source
    from unfake_async.settings import DEFAULT_SETTINGS

    # The bench runs the migrated module on its own: it gets a client of its own, never an
    # import of a project module (client_source.py) that the bench does not write.
    settings = dataclasses.replace(settings or DEFAULT_SETTINGS, client_module="inline", client=None)
    try:
        result = analyze_source(source, path=path, settings=settings, fix_level=FixLevel.UNSAFE)
    except Exception as exc:  # a syntax error in the user's file, say: report it as the row
        return None, f"the codemod failed on {path}: {type(exc).__name__}: {exc}"
    if result.fixed_source is None or result.fixed_source == source:
        return None, f"the codemod found nothing to migrate in {path}"
    return result.fixed_source, None


def _close_name(settings) -> str:
    from unfake_async.settings import DEFAULT_SETTINGS

    return (settings or DEFAULT_SETTINGS).module_close_function


@dataclass(frozen=True)
class Preset:
    """A named built-in scenario (`unfake-async bench --scenario NAME`)."""

    requests: int
    concurrency: int
    latency: float
    description: str
    seed_pool: bool = True  # the 3-thread row (N x L / 3 seconds: skipped where that is long)
    variants: bool = False  # an "after" row for every --target/--transport installed


PRESETS = {
    "seed": Preset(100, 10, 0.150, "the seed article's scenario: 100 calls, 10 at a time, 150 ms"),
    # Teams move to async for this load: the client's own CPU is the limit, not the server.
    "cpu-bound": Preset(5000, 500, 0.020, "5000 calls, 500 at a time, 20 ms: the client's CPU is "
                        "the limit", seed_pool=False, variants=True),
    # The same with a server that answers at once: what a client can do per core at best.
    "ceiling": Preset(5000, 500, 0.0, "cpu-bound with a server that answers at once: the "
                      "client's own ceiling", seed_pool=False, variants=True),
}
BENCH_EXTRA = "pip install 'unfake-async[bench]'"
# What each library the rows import is needed for, and how to get it (one line per row).
NEEDS = {
    "requests": f"needs requests (the code before the migration uses it): {BENCH_EXTRA}",
    "aiohttp": "needs aiohttp (the generated client's default transport): pip install aiohttp, "
               "or measure --transport httpx",
}


def _missing(module: str) -> Optional[str]:
    return None if installed(module) else NEEDS.get(module, f"needs {module}: {BENCH_EXTRA}")


def _after_needs(settings) -> Optional[str]:
    from unfake_async.settings import DEFAULT_SETTINGS

    settings = settings or DEFAULT_SETTINGS
    for module in (settings.target, "aiohttp" if settings.transport == "aiohttp" else None):
        if module is not None and _missing(module):
            return _missing(module)
    return None


def _variants(settings) -> List[Tuple[str, object]]:
    """(label, settings) for every other --target/--transport whose libraries are installed."""
    from unfake_async.settings import DEFAULT_SETTINGS, TARGETS, TRANSPORTS

    settings = settings or DEFAULT_SETTINGS
    variants = []
    for target in TARGETS:
        for transport in TRANSPORTS:
            if (target, transport) == (settings.target, settings.transport):
                continue
            changed = dataclasses.replace(settings, target=target, transport=transport)
            if target == "httpx2" and sys.version_info < (3, 11):
                continue
            if _after_needs(changed) is None:
                label = [f"--target {target}"] if target != settings.target else []
                label += [f"--transport {transport}"] if transport != settings.transport else []
                variants.append((" ".join(label), changed))
    return variants


def builtin_rows(settings=None, extras: bool = True, preset: Preset = PRESETS["seed"]) -> List[RowSpec]:
    """The seed's thread pools, the codemod's migration of it, and optional reference rows.

    A row whose libraries are not installed is skipped with one line saying what it needs."""
    before = seed_before_source()
    path = str(SAMPLES / "seed_before.py")
    before_needs = _missing("requests")
    after, why_not = migrate(before, path, settings)
    if why_not is None and _after_needs(settings):
        after, why_not = None, _after_needs(settings)
    runnable_before = before if before_needs is None else None
    close = _close_name(settings)
    rows = [
        RowSpec("after: codemod", after, SEED_ENTRY, filename=path,
                close=close, kind="after", skip_reason=why_not),
    ]
    if preset.seed_pool or not extras:
        rows.insert(0, RowSpec("before: ThreadPoolExecutor(3), seed", runnable_before, SEED_ENTRY,
                               filename=path, kind="before", skip_reason=before_needs))
    if after is None and why_not == NEEDS["aiohttp"] and not preset.variants:
        # The default transport's library is missing: measure the one that needs nothing more
        # (the variants of a preset include it already).
        from unfake_async.settings import DEFAULT_SETTINGS

        plain = dataclasses.replace(settings or DEFAULT_SETTINGS, transport="httpx")
        source, why = migrate(before, path, plain)
        rows.append(RowSpec("after: --transport httpx", source, SEED_ENTRY, filename=path,
                            close=close, kind="after", skip_reason=why))
    if not extras:
        return rows
    rows.insert(1 if preset.seed_pool else 0, RowSpec(
        "before: ThreadPoolExecutor(32)", runnable_before and thread_pool_variant(before, 32),
        SEED_ENTRY, filename=path, kind="before", skip_reason=before_needs))
    if installed("uvloop") and not preset.variants:
        rows.append(RowSpec("after: codemod, uvloop", after, SEED_ENTRY, filename=path, close=close,
                            loop="uvloop", kind="after", skip_reason=why_not))
    if preset.variants:
        for label, variant in _variants(settings):
            source, why = migrate(before, path, variant)
            rows.append(RowSpec(f"after: {label}", source, SEED_ENTRY, filename=path,
                                close=close, kind="after", skip_reason=why))
    if installed("aiohttp"):
        rows.append(RowSpec("reference: aiohttp by hand", aiohttp_reference_source(),
                            SEED_ENTRY, filename=str(SAMPLES / "aiohttp_reference.py"),
                            close="aclose_http_client", kind="reference"))
    return rows


def parse_target(target: str) -> Tuple[Path, str]:
    """Split ``path/to/module.py::entry`` and check that the file exists."""
    path_text, separator, entry = target.rpartition("::")
    if not separator or not path_text or not entry:
        raise TargetError(f"expected FILE::entry, got {target!r}")
    path = Path(path_text)
    if not path.is_file():
        raise TargetError(f"no such file: {path_text}")
    if not all(part.isidentifier() for part in entry.split(".")):
        raise TargetError(f"not a Python name: {entry!r}")
    return path, entry


def _user_row(name: str, kind: str, path: Path, entry: str, source: Optional[str],
              close: Optional[str], skip_reason: Optional[str] = None) -> RowSpec:
    return RowSpec(
        name, source, entry,
        filename=str(path.resolve()),
        close=close,
        # The module's own directory first, as if it were run as a script there.
        sys_path=[str(path.resolve().parent), os.getcwd()],
        kind=kind,
        skip_reason=skip_reason,
    )  # fmt: skip


def user_rows(target: str, settings=None, uvloop: bool = False) -> List[RowSpec]:
    """The user's module as it is, and as the codemod migrates it."""
    path, entry = parse_target(target)
    before = path.read_text(encoding="utf-8")
    after, why_not = migrate(before, str(path), settings)
    close = _close_name(settings)
    rows = [
        _user_row(f"before: {path.name}::{entry}", "before", path, entry, before, None),
        _user_row(f"after: {path.name}::{entry} (codemod)", "after", path, entry,
                  after, close, why_not),
    ]
    if uvloop and installed("uvloop") and after is not None:
        name = f"after: {path.name}::{entry} (codemod, uvloop)"
        rows.append(_user_row(name, "after", path, entry, after, close))
        rows[-1].loop = "uvloop"
    return rows


def pair_rows(before_target: str, after_target: str) -> List[RowSpec]:
    """Two modules the user already has, e.g. before and after a commit."""
    rows = []
    for kind, target in (("before", before_target), ("after", after_target)):
        path, entry = parse_target(target)
        rows.append(_user_row(f"{kind}: {path.name}::{entry}", kind, path, entry,
                              path.read_text(encoding="utf-8"), _close_name(None)))
    return rows

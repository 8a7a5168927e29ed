"""Generated inputs for the scan's speed: a module with N offload sites, and an async monorepo.

    .venv/bin/python scripts/bench_generated.py --sites 500,1000,2000      # cost per site
    .venv/bin/python scripts/bench_generated.py --sites 2000 --baseline /tmp/old   # next to an older version
    .venv/bin/python scripts/bench_generated.py --scale 1000000            # 1M-line tree, cold + warm
    .venv/bin/python scripts/bench_generated.py --scale 1000000 --keep /tmp/monorepo   # keep the tree

Per site: a module of N `await asyncio.to_thread(requests.get, ...)` coroutines (five lines each,
the shape of a generated SDK client), timed with `--check` and `--diff --unsafe-fixes`, each in
a fresh process; peak RSS is the child's own (`resource.getrusage(RUSAGE_CHILDREN)` in a helper
process that runs only that child, so no other run's peak leaks in).

Scale: a tree in the shape of an async monorepo (services with handlers, clients, models and
tests; nearly every file imports aiohttp, httpx or requests and says `async`; one file in
`--fake-every` holds fake async), scanned with an empty cache (cold) and again (warm), with
seconds per 100k lines and peak RSS. `scripts/bench_scan.py --scale LINES` runs the same next to
the real trees. Nothing here asserts a speed: it prints figures.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List

# -- one module, N sites -----------------------------------------------------------------------


def sites_module(count: int) -> str:
    lines = ["import asyncio", "", "import requests", "", ""]
    for number in range(count):
        lines += [
            f"async def fetch_{number}(base, item_id):",
            f'    response = await asyncio.to_thread(requests.get, f"{{base}}/items/{number}/{{item_id}}", timeout=10)',
            "    return response.json()",
            "",
            "",
        ]
    return "\n".join(lines).rstrip("\n") + "\n"


# -- an async monorepo -------------------------------------------------------------------------

_HEADER = {
    "aiohttp": "import aiohttp\nfrom aiohttp import ClientError, ClientTimeout\n",
    "httpx": "import httpx\n",
    "requests": "import requests\nfrom requests.exceptions import RequestException\n",
}

_CLEAN_BLOCK = '''

class {cls}:
    """Talks to the {name} API through a session owned by the application."""

    def __init__(self, session: "aiohttp.ClientSession", base_url: str) -> None:
        self._session = session
        self._base_url = base_url.rstrip("/")
        self._cache: dict = {{}}

    async def get_{name}(self, item_id: int) -> dict:
        if item_id in self._cache:
            return self._cache[item_id]
        async with self._session.get(f"{{self._base_url}}/{name}/{{item_id}}") as response:
            response.raise_for_status()
            payload = await response.json()
        self._cache[item_id] = payload
        return payload

    async def list_{name}(self, page: int = 1, size: int = 50) -> list:
        params = {{"page": page, "size": size}}
        async with self._session.get(f"{{self._base_url}}/{name}", params=params) as response:
            response.raise_for_status()
            return await response.json()

    def describe(self, item: dict) -> str:
        parts = [str(item.get(key, "")) for key in ("id", "name", "state")]
        return " / ".join(parts)


async def handle_{name}(request, client: {cls}) -> dict:
    item_id = int(request.match_info["id"])
    try:
        item = await client.get_{name}(item_id)
    except (ValueError, KeyError) as error:
        return {{"error": str(error)}}
    return {{"item": item, "text": client.describe(item)}}


def summarise_{name}(items: list) -> dict:
    total = 0
    states: dict = {{}}
    for item in items:
        total += 1
        state = item.get("state", "unknown")
        states[state] = states.get(state, 0) + 1
    return {{"total": total, "states": states}}
'''

_FAKE_BLOCKS = [
    '''

async def fetch_{name}_report(url: str) -> dict:
    response = await asyncio.to_thread(requests.get, url, timeout=10)
    response.raise_for_status()
    return response.json()
''',
    '''

async def push_{name}(url: str, body: dict) -> int:
    response = requests.post(url, json=body, timeout=5)
    return response.status_code
''',
    '''

async def poll_{name}(url: str) -> dict:
    loop = asyncio.get_event_loop()
    response = await loop.run_in_executor(None, requests.get, url)
    return response.json()
''',
]


def _module(rng: random.Random, name: str, fake: bool) -> str:
    library = rng.choice(["aiohttp", "aiohttp", "httpx", "requests"])
    parts = ['"""Service module {}."""\nfrom __future__ import annotations\n\nimport asyncio\n'.format(name)]
    parts.append(_HEADER["requests"] if fake else _HEADER[library])
    for block in range(rng.randint(3, 6)):
        parts.append(_CLEAN_BLOCK.format(cls=f"{name.title().replace('_', '')}Client{block}", name=f"{name}_{block}"))
    if fake:
        parts.append(rng.choice(_FAKE_BLOCKS).format(name=name))
    return "".join(parts)


def write_monorepo(root: Path, target_lines: int, fake_every: int = 40, seed: int = 14) -> Dict[str, int]:
    """Write the tree under `root`; return its files, lines and fake-async files."""
    rng = random.Random(seed)
    files = lines = fake_files = 0
    service = 0
    while lines < target_lines:
        package = root / "services" / f"svc_{service:04d}"
        (package / "tests").mkdir(parents=True, exist_ok=True)
        (package / "__init__.py").write_text(f'"""Service {service}."""\n')
        files, lines = files + 1, lines + 1
        for kind in ("api", "client", "handlers", "models", "tests/test_service"):
            fake = (files % fake_every) == 0
            text = _module(rng, f"{kind.rsplit('/', 1)[-1]}_{service}", fake)
            (package / f"{kind}.py").write_text(text)
            files, lines, fake_files = files + 1, lines + text.count("\n"), fake_files + fake
        service += 1
    return {"files": files, "lines": lines, "fake_files": fake_files}


# -- measuring a child process -----------------------------------------------------------------

_MEASURE = (
    "import json, resource, subprocess, sys, time\n"
    "begin = time.perf_counter()\n"
    "done = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
    "wall = time.perf_counter() - begin\n"
    "usage = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
    "tail = (done.stdout.strip().splitlines() or [''])[-1]\n"
    "print(json.dumps({'wall_s': wall, 'cpu_s': usage.ru_utime + usage.ru_stime,\n"
    "                  'rss_mb': usage.ru_maxrss / 1024, 'exit': done.returncode, 'tail': tail[:200],\n"
    "                  'stdout_lines': len(done.stdout.splitlines())}))\n"
)


def measure(command: List[str], env: Dict[str, str] = None, cwd: str = None) -> Dict[str, object]:
    """Run `command` in a helper process of its own: wall and CPU seconds, peak RSS (MB) of the
    largest process it waited for (the command or one of its workers), exit code, last line."""
    done = subprocess.run([sys.executable, "-c", _MEASURE] + command, capture_output=True, text=True,
                          env=env, cwd=cwd, check=True)
    return json.loads(done.stdout)


def unfake_command() -> List[str]:
    script = Path(sys.executable).with_name("unfake-async")
    return [str(script)] if script.exists() else [sys.executable, "-m", "unfake_async"]


def bench_sites(counts: List[int], repeat: int, workdir: Path, baseline: Path = None) -> List[Dict[str, object]]:
    """Each count's check and diff; with `baseline` (a directory holding another version's
    `unfake_async` package), that version's too, run in turn with this one's."""
    sides = [("this", unfake_command(), None, None)]
    if baseline is not None:
        # Run from the baseline's directory: `-m` puts the working directory first on sys.path.
        sides.append(("baseline", [sys.executable, "-m", "unfake_async"],
                      dict(os.environ, PYTHONPATH=str(baseline)), str(baseline)))
    rows = []
    for count in counts:
        path = workdir / f"sites_{count}.py"
        path.write_text(sites_module(count))
        row: Dict[str, object] = {"sites": count, "lines": sites_module(count).count("\n")}
        for label, extra in (("check", ["--check"]), ("diff", ["--diff", "--unsafe-fixes"])):
            runs: Dict[str, list] = {side: [] for side, _, _, _ in sides}
            for _ in range(repeat):
                for side, command, env, cwd in sides:
                    runs[side].append(measure(command + [str(path), "--no-cache"] + extra, env, cwd))
            for side in runs:
                row[f"{label}:{side}"] = min(runs[side], key=lambda run: run["wall_s"])
        rows.append(row)
        for side, _, _, _ in sides:
            check, diff = row[f"check:{side}"], row[f"diff:{side}"]
            print(f"{count:6d} sites {row['lines']:7,d} lines {side:8}  check {check['wall_s']:6.2f} s "
                  f"(cpu {check['cpu_s']:5.2f}, {check['rss_mb']:4.0f} MB)   diff {diff['wall_s']:6.2f} s "
                  f"(cpu {diff['cpu_s']:5.2f}, {diff['rss_mb']:4.0f} MB)   "
                  f"{1000 * check['wall_s'] / count:5.2f} / {1000 * diff['wall_s'] / count:5.2f} ms per site",
                  flush=True)
    return rows


def bench_scale(target_lines: int, fake_every: int, keep: Path = None) -> Dict[str, object]:
    root = keep or Path(tempfile.mkdtemp(prefix="unfake-async-monorepo-"))
    begin = time.perf_counter()
    if not (root / "services").is_dir():
        size = write_monorepo(root, target_lines, fake_every)
    else:
        size = {"files": sum(1 for _ in root.rglob("*.py")),
                "lines": sum(p.read_bytes().count(b"\n") for p in root.rglob("*.py")), "fake_files": -1}
    print(f"monorepo {root}: {size['files']:,} files, {size['lines']:,} lines, "
          f"{size['fake_files']} with fake async (written in {time.perf_counter() - begin:.1f} s)", flush=True)
    cache = Path(tempfile.mkdtemp(prefix="unfake-async-cache-"))
    try:
        command = unfake_command() + ["--check", "--cache-dir", str(cache), str(root)]
        runs = {"cold": measure(command), "warm": measure(command)}
    finally:
        shutil.rmtree(cache, ignore_errors=True)
        if keep is None:
            shutil.rmtree(root, ignore_errors=True)
    for label, run in runs.items():
        per_100k = run["wall_s"] / (size["lines"] / 100_000)
        run["s_per_100k_lines"] = per_100k
        print(f"  {label:5} {run['wall_s']:7.2f} s  {per_100k:6.3f} s per 100k lines  "
              f"peak {run['rss_mb']:5.0f} MB  exit {run['exit']}  {run['tail'][:70]}", flush=True)
    return {**size, **runs}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", help="comma-separated site counts, e.g. 500,1000,2000")
    parser.add_argument("--scale", type=int, help="lines of the generated monorepo, e.g. 1000000")
    parser.add_argument("--fake-every", type=int, default=40, help="one file in N holds fake async")
    parser.add_argument("--keep", type=Path, help="write (or reuse) the monorepo here instead of a temp dir")
    parser.add_argument("--repeat", type=int, default=1, help="runs per measure; the fastest counts")
    parser.add_argument("--baseline", type=Path,
                        help="a directory holding another version's unfake_async package (`git archive REV "
                             "unfake_async | tar -x -C DIR`): its per-site figures, run in turn with these")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if not args.sites and not args.scale:
        parser.error("give --sites and/or --scale")
    print(f"{os.cpu_count()} cores, python {sys.version.split()[0]}, load average "
          f"{' '.join(f'{v:.2f}' for v in os.getloadavg())}", flush=True)
    report: Dict[str, object] = {}
    if args.sites:
        with tempfile.TemporaryDirectory() as workdir:
            report["sites"] = bench_sites([int(n) for n in args.sites.split(",")], args.repeat, Path(workdir),
                                          args.baseline)
    if args.scale:
        report["scale"] = bench_scale(args.scale, args.fake_every, args.keep)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

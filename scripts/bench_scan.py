"""Time `unfake-async --check` over large real trees, next to ruff and a naive LibCST pass.

The trees are sdists fetched from PyPI with pip into a cache directory outside the repository
(never commit them): Django 5.1.4, aiohttp 3.10.10 (the library and its tests) and Home
Assistant 2024.6.4 (it requires Python 3.12, so it is fetched with `--ignore-requires-python`;
only its text is read).

    .venv/bin/python scripts/bench_scan.py                  # Django 5.1.4, fetched once
    .venv/bin/python scripts/bench_scan.py --trees django,aiohttp,homeassistant --repeat 5 --skip-naive
    .venv/bin/python scripts/bench_scan.py --trees all --scale 1000000 --skip-naive   # + the 1M-line run
    .venv/bin/python scripts/bench_scan.py --tree ~/src/x   # any tree you have
    .venv/bin/python scripts/bench_scan.py --skip-naive     # without the slow LibCST pass
    .venv/bin/python scripts/bench_scan.py --parse-all      # also the worst case, see below

With `--trees`, each tree's `unfake-async --check --no-cache` and ruff run in turn, `--repeat`
times (so both see the same load), and a table prints the best of each side by side with the
ratio. `--scale LINES` then scans a generated async monorepo of that many lines cold and warm
(`scripts/bench_generated.py`, which also has the per-site module: `--sites 500,1000,2000`).

It runs, each as a fresh process timed by wall clock:
  - ``unfake-async --check --no-cache TREE`` with ``--jobs 1`` and with ``--jobs N`` (all cores)
  - ``ruff check --isolated --no-cache --select ASYNC210 TREE`` (``pip install ruff``; not a
    dependency of the project)
  - a naive pass: ``libcst.parse_module`` on every ``.py`` file, one process
With ``--parse-all`` it also scans a copy of the tree in which every file starts with
``import requests``, so that every file passes the prefilter and is parsed: the worst case, and
the one where ``--jobs`` must scale over cores.
It prints the times and the ratios the project's targets are stated in (scan within 3x of
ruff, at least 10x faster than the naive pass). ``--json FILE`` keeps the figures. ``--floor``
adds, per tree, the least any Python tool must do to report what the scan reports: a fresh
interpreter that reads the tree and ``ast.parse``s (CPython's C parser) the files the scan finds
something in, over ``--jobs`` processes; its ratio to ruff is the best a Python tool could reach.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional

DJANGO = "django==5.1.4"
TREES = {
    "django": "django==5.1.4",
    "aiohttp": "aiohttp==3.10.10",
    "homeassistant": "homeassistant==2024.6.4",
}
DEFAULT_CACHE = Path(tempfile.gettempdir()) / "unfake-async-bench-trees"

# The least any Python tool must do to report what the scan reports: start, read the tree, and
# parse (with CPython's own C parser) the files the scan finds something in, over `jobs` processes.
FLOOR_PASS = r"""
import ast, multiprocessing, os, sys
tree, listing, jobs = sys.argv[1], sys.argv[2], int(sys.argv[3])
wanted = set(open(listing).read().splitlines())
texts = {}
for root, dirs, files in os.walk(tree):
    for name in files:
        if name.endswith(".py"):
            path = os.path.join(root, name)
            with open(path, "rb") as handle:
                data = handle.read()
            if path in wanted:
                texts[path] = data
def parse(path):
    try:
        ast.parse(texts[path])
    except SyntaxError:  # newer syntax than this interpreter's: it was read, that is the floor
        pass
if jobs > 1 and len(texts) > 1:
    with multiprocessing.get_context("fork").Pool(jobs) as pool:
        pool.map(parse, sorted(texts), chunksize=1)
else:
    for path in texts:
        parse(path)
print(f"{len(texts)} files parsed")
"""

NAIVE_PASS = r"""
import os, sys, libcst
parsed = failed = 0
for root, dirs, files in os.walk(sys.argv[1]):
    for name in files:
        if name.endswith(".py"):
            with open(os.path.join(root, name), encoding="utf-8", errors="replace") as f:
                text = f.read()
            try:
                libcst.parse_module(text)
                parsed += 1
            except Exception:
                failed += 1
print(parsed, failed)
"""


def fetch_tree(requirement: str, cache: Path) -> Path:
    """Download and unpack an sdist once; return the unpacked directory."""
    name = requirement.replace("==", "-").lower()
    tree = cache / name
    if tree.is_dir():
        return tree
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache) as download:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--ignore-requires-python",
             "--no-binary", ":all:", requirement, "-d", download],
            check=True,
        )  # fmt: skip
        archive = next(Path(download).glob("*.tar.gz"))
        with tarfile.open(archive) as sdist:
            unpack = Path(download) / "unpacked"
            sdist.extractall(unpack)
        (top,) = list(unpack.iterdir())
        shutil.move(str(top), tree)
    return tree


def parse_all_copy(tree: Path, cache: Path) -> Path:
    """A copy of the .py files of `tree`, each made to pass the prefilter."""
    copy = cache / (tree.name + "-parse-all")
    if copy.is_dir():
        return copy
    staging = Path(tempfile.mkdtemp(dir=cache))
    for source in tree.rglob("*.py"):
        target = staging / source.relative_to(tree)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(b"import requests  # bench: make the prefilter let this file in\n"
                           + source.read_bytes())
    staging.rename(copy)
    return copy


def _load() -> str:
    try:
        return " ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        return "unknown"


def count_python(tree: Path) -> Dict[str, int]:
    files = lines = 0
    for path in tree.rglob("*.py"):
        files += 1
        with open(path, "rb") as handle:
            lines += handle.read().count(b"\n")
    return {"files": files, "lines": lines}


def timed(command: List[str], label: str, ok_codes=(0, 1), env=None, cwd=None) -> Dict[str, object]:
    """Run `command` once, return its wall time, exit code and last output line."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    begin = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False, env=env, cwd=cwd)
    wall = time.perf_counter() - begin
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    # CPU seconds of the command and its workers: less swayed than wall time by other work on the machine.
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    tail = (done.stdout.strip().splitlines() or [""])[-1][:200]
    if done.returncode not in ok_codes:
        err = (done.stderr.strip().splitlines() or [""])[-1][:300]
        print(f"  {label}: exit {done.returncode}: {err}", file=sys.stderr)
    return {"label": label, "command": command, "wall_s": wall, "cpu_s": cpu, "exit": done.returncode,
            "tail": tail, "ok": done.returncode in ok_codes}


def unfake_command() -> List[str]:
    script = Path(sys.executable).with_name("unfake-async")
    return [str(script)] if script.exists() else [sys.executable, "-m", "unfake_async"]


def ruff_command() -> Optional[List[str]]:
    script = Path(sys.executable).with_name("ruff")
    found = str(script) if script.exists() else shutil.which("ruff")
    return [found] if found else None


def best_of(repeat: int, command: List[str], label: str) -> Dict[str, object]:
    runs = [timed(command, label) for _ in range(repeat)]
    best = min(runs, key=lambda run: run["wall_s"])  # least disturbed by the noisy machine
    best["runs_s"] = [run["wall_s"] for run in runs]
    return best


def files_with_findings(tree: Path, jobs: int) -> List[str]:
    """The files the scan reports something in (one untimed run, JSON output)."""
    done = subprocess.run(unfake_command() + ["--no-cache", "--jobs", str(jobs), "--output-format", "json",
                                              "--exit-zero", str(tree)], capture_output=True, text=True)
    return sorted({finding["filename"] for finding in json.loads(done.stdout)["diagnostics"]})


def compare_trees(names: List[str], cache: Path, repeat: int, jobs: int,
                  baseline: Optional[Path] = None, floor: bool = False) -> List[Dict[str, object]]:
    """Each tree's scan and ruff's, interleaved `repeat` times; the best of each, side by side.
    With `baseline` (a directory holding another version's `unfake_async`), its scan too; with
    `floor`, FLOOR_PASS over the files the scan reports in: what no Python tool can go below."""
    ruff = ruff_command()
    if ruff is None:
        print("ruff not found: pip install ruff to compare with it", file=sys.stderr)
    rows = []
    for name in names:
        tree = fetch_tree(TREES[name], cache).resolve()
        size = count_python(tree)
        scan_command = unfake_command() + ["--check", "--no-cache", "--jobs", str(jobs), str(tree)]
        ruff_run = ruff + ["check", "--isolated", "--no-cache", "--select", "ASYNC210", str(tree)] if ruff else None
        base_command = [sys.executable, "-m", "unfake_async"] + scan_command[len(unfake_command()):]
        scans, ruffs, bases, floors = [], [], [], []
        listing = None
        if floor:
            listing = Path(tempfile.mkstemp(suffix=".txt")[1])
            listing.write_text("".join(path + "\n" for path in files_with_findings(tree, jobs)))
        for _ in range(repeat):
            if listing is not None:
                floors.append(timed([sys.executable, "-c", FLOOR_PASS, str(tree), str(listing), str(jobs)],
                                    f"python floor {name}"))
            scans.append(timed(scan_command, f"unfake-async {name}"))
            if ruff_run:
                ruffs.append(timed(ruff_run, f"ruff {name}"))
            if baseline is not None:
                # Run from the baseline's directory: `-m` puts the working directory first on sys.path.
                bases.append(timed(base_command, f"baseline {name}", env=dict(os.environ, PYTHONPATH=str(baseline)),
                                   cwd=str(baseline)))
        scan = min(scans, key=lambda run: run["wall_s"])
        best_ruff = min(ruffs, key=lambda run: run["wall_s"]) if ruffs else None
        best_base = min(bases, key=lambda run: run["wall_s"]) if bases else None
        best_floor = min(floors, key=lambda run: run["wall_s"]) if floors else None
        if listing is not None:
            listing.unlink()
        rows.append({"tree": name, "path": str(tree), **size, "scan": scan, "ruff": best_ruff, "baseline": best_base,
                     "floor": best_floor, "floor_runs_s": [r["wall_s"] for r in floors],
                     "scan_runs_s": [r["wall_s"] for r in scans], "ruff_runs_s": [r["wall_s"] for r in ruffs],
                     "baseline_runs_s": [r["wall_s"] for r in bases]})
    print(f"\n{'tree':14} {'files':>6} {'lines':>10}  {'unfake-async s':>14} {'ruff s':>7} {'ratio':>6} "
          f"{'cpu s':>6} {'ruff cpu':>8}  scan summary")
    for row in rows:
        scan, ruff_best = row["scan"], row["ruff"]
        ratio = scan["wall_s"] / ruff_best["wall_s"] if ruff_best else float("nan")
        row["ratio"] = ratio
        verdict = "" if not ruff_best else ("  (<= 3x: met)" if ratio <= 3 else "  (<= 3x: NOT met)")
        print(f"{row['tree']:14} {row['files']:6d} {row['lines']:10,d}  {scan['wall_s']:14.2f} "
              f"{ruff_best['wall_s'] if ruff_best else float('nan'):7.2f} {ratio:5.1f}x {scan['cpu_s']:6.2f} "
              f"{ruff_best['cpu_s'] if ruff_best else float('nan'):8.2f}  {scan['tail'][:50]}{verdict}")
        if row["baseline"]:
            base = row["baseline"]
            print(f"{'':14} baseline {base['wall_s']:.2f} s = {base['wall_s'] / ruff_best['wall_s'] if ruff_best else 0:.1f}x "
                  f"ruff, cpu {base['cpu_s']:.2f} s; this version takes {scan['wall_s'] / base['wall_s']:.2f}x its wall "
                  f"time, {scan['cpu_s'] / base['cpu_s']:.2f}x its CPU; same last line: {base['tail'] == scan['tail']}")
        if row["floor"] and ruff_best:
            low = row["floor"]
            print(f"{'':14} python floor {low['wall_s']:.2f} s = {low['wall_s'] / ruff_best['wall_s']:.1f}x ruff "
                  f"(start, read the tree, ast.parse the {low['tail']}, {jobs} processes); the scan "
                  f"takes {scan['wall_s'] / low['wall_s']:.1f}x the floor")
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trees", help="comma-separated: " + ",".join(TREES) + " (or all): side by side with ruff")
    parser.add_argument("--scale", type=int, help="also scan a generated async monorepo of this many lines")
    parser.add_argument("--baseline", type=Path, help="with --trees: also time another version's unfake_async "
                        "package in this directory (`git archive REV unfake_async | tar -x -C DIR`)")
    parser.add_argument("--floor", action="store_true", help="with --trees: also time the least a Python "
                        "tool must do to report the same files (read the tree, ast.parse the files with findings)")
    parser.add_argument("--tree", type=Path, help="scan this tree instead of fetching Django")
    parser.add_argument("--sdist", default=DJANGO, help=f"requirement to fetch (default {DJANGO})")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--repeat", type=int, default=1, help="runs per tool; the best counts")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--skip-naive", action="store_true")
    parser.add_argument("--parse-all", action="store_true",
                        help="also time a copy of the tree where every file must be parsed")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    if args.trees or args.scale:
        print(f"{os.cpu_count()} cores, python {sys.version.split()[0]}, load average {_load()}")
        report: Dict[str, object] = {}
        if args.trees:
            names = list(TREES) if args.trees == "all" else args.trees.split(",")
            report["trees"] = compare_trees(names, args.cache, args.repeat, args.jobs, args.baseline, args.floor)
        if args.scale:
            sys.path.insert(0, str(Path(__file__).resolve().parent))
            from bench_generated import bench_scale

            print()
            report["scale"] = bench_scale(args.scale, fake_every=40)
        print(f"load average at the end {_load()} (other work on the machine skews the times)")
        if args.json:
            args.json.write_text(json.dumps(report, indent=2))
        return 0

    tree = (args.tree or fetch_tree(args.sdist, args.cache)).resolve()
    size = count_python(tree)
    print(f"tree {tree}: {size['files']} .py files, {size['lines']:,} lines; "
          f"{os.cpu_count()} cores, python {sys.version.split()[0]}, load average {_load()}")

    results = []
    unfake = unfake_command()
    jobs = sorted({1, args.jobs})
    for count in jobs:
        results.append(best_of(args.repeat, unfake + ["--check", "--no-cache", "--jobs", str(count),
                                                      str(tree)], f"unfake-async --jobs {count}"))
    if args.parse_all:
        forced = parse_all_copy(tree, args.cache)
        for count in jobs:
            results.append(best_of(1, unfake + ["--check", "--no-cache", "--jobs", str(count),
                                                str(forced)], f"every file parsed, --jobs {count}"))
    ruff = ruff_command()
    if ruff:
        results.append(best_of(args.repeat, ruff + ["check", "--isolated", "--no-cache",
                                                    "--select", "ASYNC210", str(tree)],
                               "ruff --select ASYNC210"))
    else:
        print("ruff not found: pip install ruff to compare with it", file=sys.stderr)
    if not args.skip_naive:
        results.append(timed([sys.executable, "-c", NAIVE_PASS, str(tree)],
                             "naive libcst.parse_module, 1 process", ok_codes=(0,)))

    print(f"load average at the end {_load()} (other work on the machine skews the times)")
    by_label = {r["label"]: r for r in results}
    print(f"\n{'tool':42} {'wall s':>8}  exit  last line")
    for r in results:
        print(f"{r['label']:42} {r['wall_s']:8.2f}  {r['exit']:>4}  {r['tail'][:60]}")
    scan = by_label.get(f"unfake-async --jobs {args.jobs}")
    ratios = {}
    if scan and scan["ok"]:
        ruff_run = by_label.get("ruff --select ASYNC210")
        naive = by_label.get("naive libcst.parse_module, 1 process")
        single = by_label.get("unfake-async --jobs 1")
        if ruff_run:
            ratios["scan / ruff"] = scan["wall_s"] / ruff_run["wall_s"]
        if naive:
            ratios["naive / scan"] = naive["wall_s"] / scan["wall_s"]
        if single and single is not scan:
            ratios["jobs 1 / jobs N"] = single["wall_s"] / scan["wall_s"]
        forced_1 = by_label.get("every file parsed, --jobs 1")
        forced_n = by_label.get(f"every file parsed, --jobs {args.jobs}")
        if forced_1 and forced_n and forced_1 is not forced_n:
            ratios["parse-all jobs 1 / jobs N"] = forced_1["wall_s"] / forced_n["wall_s"]
        if forced_n and naive:
            ratios["naive / parse-all"] = naive["wall_s"] / forced_n["wall_s"]
    print()
    targets = {"scan / ruff": ("<=", 3.0), "naive / scan": (">=", 10.0)}
    for name, value in ratios.items():
        goal = targets.get(name)
        verdict = ""
        if goal:
            met = value <= goal[1] if goal[0] == "<=" else value >= goal[1]
            verdict = f"  (target {goal[0]} {goal[1]:g}: {'met' if met else 'NOT met'})"
        print(f"{name:26} {value:6.2f}x{verdict}")
    if args.json:
        args.json.write_text(json.dumps({"tree": str(tree), **size, "results": results,
                                         "ratios": ratios}, indent=2))
    return 0 if scan and scan["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())

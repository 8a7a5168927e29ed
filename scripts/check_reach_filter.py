"""Same findings with and without the coroutine-reach precheck, over real trees (issue 14).

Runs the check (`--check --no-cache`, one process) over each tree twice, with
`engine/prechecks/coroutine_reach.py` on and off, and prints for each: the files, those the prefilter hands
to the analysis, the LibCST parses, the findings and the files that have them, the CPU seconds,
and whether the findings are identical (rule, position, message, fix, per file). Exits 1 when
they differ. The trees are bench_scan.py's sdists (fetched once into its cache).

    .venv/bin/python scripts/check_reach_filter.py --trees all
    .venv/bin/python scripts/check_reach_filter.py --tree ~/src/project
    .venv/bin/python scripts/check_reach_filter.py --trees homeassistant --mode diff   # the fixes too
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_scan import DEFAULT_CACHE, TREES, fetch_tree  # noqa: E402

from unfake_async.codemod.engine import pass_protocol  # noqa: E402
from unfake_async.codemod.engine.discovery import DiscoveryOptions, discover  # noqa: E402
from unfake_async.codemod.engine.model import FixLevel  # noqa: E402
from unfake_async.codemod.engine.prechecks import coroutine_reach  # noqa: E402
from unfake_async.codemod.engine.runner import Mode, RunOptions, run_files  # noqa: E402
from unfake_async.config import load_config  # noqa: E402

_parses = [0]
_parse = pass_protocol.PassContext.parse.__func__


def _counted_parse(cls, *args, **kwargs):
    _parses[0] += 1
    return _parse(cls, *args, **kwargs)


pass_protocol.PassContext.parse = classmethod(_counted_parse)


def run(tree: Path, enabled: bool, mode: str):
    config = load_config([str(tree)])
    found = discover([str(tree)], DiscoveryOptions(
        excludes=config.excludes, root=config.root, respect_gitignore=config.respect_gitignore,
        force_exclude=config.force_exclude))
    coroutine_reach.ENABLED = enabled
    _parses[0] = 0
    level = FixLevel.NONE if mode == Mode.CHECK else FixLevel.UNSAFE
    started = time.process_time()
    result = run_files(found.files, config.settings, RunOptions(mode=mode, fix_level=level, jobs=1, root=config.root))
    cpu = time.process_time() - started
    outcome = {r.path: ([dataclasses.astuple(f) for f in r.findings], r.fixed_source, r.error) for r in result.reports}
    return {
        "files": len(found.files), "analysed": sum(r.parsed for r in result.reports), "parses": _parses[0],
        "findings": sum(len(r.findings) for r in result.reports),
        "with_findings": sum(1 for r in result.reports if r.findings), "cpu": cpu, "outcome": outcome,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trees", help="comma-separated: " + ",".join(TREES) + " (or all)")
    parser.add_argument("--tree", type=Path, action="append", default=[], help="any tree you have")
    parser.add_argument("--mode", choices=[Mode.CHECK, Mode.DIFF], default=Mode.CHECK)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    args = parser.parse_args()
    trees = list(args.tree)
    if args.trees:
        names = list(TREES) if args.trees == "all" else args.trees.split(",")
        trees += [fetch_tree(TREES[name], args.cache) for name in names]
    for lazy in pass_protocol.pass_order():
        lazy.load()  # imported before the first run is timed, not during it
    differ = False
    print(f"{'tree':28} {'files':>6} {'analysed':>8} {'parses on/off':>13} {'findings on/off':>15} "
          f"{'files w/ findings':>17} {'cpu s on/off':>13}  same")
    for tree in trees:
        on, off = run(tree, True, args.mode), run(tree, False, args.mode)
        same = on["outcome"] == off["outcome"]
        differ |= not same
        print(f"{tree.name:28} {on['files']:6} {on['analysed']:8} {on['parses']:6}/{off['parses']:<6} "
              f"{on['findings']:7}/{off['findings']:<7} {on['with_findings']:8}/{off['with_findings']:<8} "
              f"{on['cpu']:6.2f}/{off['cpu']:<6.2f}  {'yes' if same else 'NO'}")
        if not same:
            for path in sorted(set(on["outcome"]) | set(off["outcome"])):
                if on["outcome"].get(path) != off["outcome"].get(path):
                    print(f"    differs: {path}")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())

"""Where a check run's CPU goes, stage by stage, and how many files reach each stage.

One process (`--jobs 1`, no cache), the real pipeline (`runner.run_files`) with timers wrapped
around its stages: the project index (`runner._facts`, main process), the `ast` prechecks
(`transform._applies`), LibCST's parse (`PassContext.parse`), each metadata provider resolved
(outermost resolve only), and each pass's `run` (which includes the metadata it resolves first).
Then the analysed files split by whether they have findings, and the slowest ones with the
passes that ran on them. Timers cost a little; read the proportions.

    .venv/bin/python scripts/profile_scan.py /tmp/trees/homeassistant-2024.6.4
    .venv/bin/python scripts/profile_scan.py TREE --top 30
"""
from __future__ import annotations

import argparse
import collections
import time

import libcst.metadata as metadata

from unfake_async.codemod.engine import pass_protocol, runner, transform
from unfake_async.codemod.engine.discovery import DiscoveryOptions, discover
from unfake_async.config import load_config

seconds: collections.Counter = collections.Counter()
counts: collections.Counter = collections.Counter()
pass_runs: collections.Counter = collections.Counter()
pass_hits: collections.Counter = collections.Counter()
ran_on: dict = {}
per_file: list = []


def _timed(name: str, function):
    def wrapper(*args, **kwargs):
        begin = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            seconds[name] += time.perf_counter() - begin
    return wrapper


def instrument() -> None:
    analyze = transform.analyze

    def analyze_file(source, **kwargs):
        begin = time.perf_counter()
        result = analyze(source, **kwargs)
        per_file.append((time.perf_counter() - begin, len(result.findings), kwargs.get("path")))
        return result

    transform.analyze = analyze_file
    parse = pass_protocol.PassContext.parse.__func__

    def counted_parse(cls, *args, **kwargs):
        counts["libcst parses"] += 1
        return _timed("libcst parse", parse)(cls, *args, **kwargs)

    pass_protocol.PassContext.parse = classmethod(counted_parse)
    facts = runner._facts

    def counted_facts(*args):
        found = _timed("project index (main process)", facts)(*args)
        counts["files with project facts"] += bool(found)
        return found

    runner._facts = counted_facts
    transform._applies = _timed("ast prechecks (_applies)", transform._applies)
    resolve, depth = metadata.MetadataWrapper.resolve, [0]

    def outer_resolve(self, provider):
        if depth[0]:
            return resolve(self, provider)
        depth[0] += 1
        try:
            return _timed(f"metadata {provider.__name__}", resolve)(self, provider)
        finally:
            depth[0] -= 1

    metadata.MetadataWrapper.resolve = outer_resolve
    for lazy in pass_protocol.pass_order():
        cls = type(lazy.load())

        def run(self, context, _run=cls.run, _name=lazy.name):
            outcome = _timed(f"pass {_name}", _run)(self, context)
            pass_runs[_name] += 1
            pass_hits[_name] += bool(outcome.findings)
            ran_on.setdefault(context.path, []).append(_name + ("*" if outcome.findings else ""))
            return outcome

        cls.run = run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("tree")
    parser.add_argument("--top", type=int, default=15, help="slowest analysed files to list")
    args = parser.parse_args()
    config = load_config([args.tree])
    found = discover([args.tree], DiscoveryOptions(
        excludes=config.excludes, root=config.root, respect_gitignore=config.respect_gitignore,
        force_exclude=config.force_exclude))
    instrument()
    begin, cpu = time.perf_counter(), time.process_time()
    result = runner.run_files(found.files, config.settings, runner.RunOptions(jobs=1, root=config.root))
    wall, cpu = time.perf_counter() - begin, time.process_time() - cpu
    with_findings = [r for r in result.reports if r.findings]
    print(f"{len(found.files)} files; {sum(r.parsed for r in result.reports)} handed to the analysis; "
          f"{counts['files with project facts']} with project facts; {counts['libcst parses']} LibCST parses; "
          f"{len(with_findings)} files with {sum(len(r.findings) for r in with_findings)} findings; "
          f"{wall:.2f} s wall, {cpu:.2f} s CPU")
    for name, value in sorted(seconds.items(), key=lambda item: -item[1]):
        extra = ""
        if name.startswith("pass "):
            extra = f"  ran on {pass_runs[name[5:]]} files, findings on {pass_hits[name[5:]]}"
        print(f"  {name:40} {value:6.2f} s{extra}")
    silent = [entry for entry in per_file if not entry[1]]
    print(f"analysed without findings: {len(silent)} files, {sum(e[0] for e in silent):.2f} s; "
          f"with findings: {len(per_file) - len(silent)} files, {sum(e[0] for e in per_file if e[1]):.2f} s")
    for spent, findings, path in sorted(per_file, key=lambda entry: entry[0], reverse=True)[:args.top]:
        # A sliced check (`local_slice`) runs its passes on a context without the path.
        print(f"  {spent:6.2f} s {findings:4} findings  {path}  {ran_on.get(path, 'sliced')}")


if __name__ == "__main__":
    main()

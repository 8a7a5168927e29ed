"""Run `unfake-async --fix --unsafe-fixes` over pinned sdists of real projects and prove nothing is lost.

For each project below, the sdist is downloaded once with
`pip download --no-deps --no-binary :all: NAME==VERSION` into a cache directory
(`$UNFAKE_ASYNC_REALWORLD_CACHE`, default `~/.cache/unfake-async/realworld`), extracted twice
(a pristine copy and a work copy), and the CLI runs on the work copy in a subprocess. Then:

- the run must not crash: exit 0/1/2 only, no traceback, no "internal error" message;
- every file the fix changed must parse, compile (when the pristine file compiles on this
  Python) and be a fixed point: a second `--fix` run changes no byte anywhere;
- every other file must be byte-identical to the pristine copy, and no file may vanish; the only
  new files are those the report lists as created (the project's client module), and they compile.

It also prints how many lines the migrated modules gained, per module, with the created files
counted in (issue 18: a client per module vs one client module per project).

Per-file errors the tool reports for the project's own broken files (syntax errors in test data,
binary `.py` files, symlinks out of the tree) are counted, not failures.

    .venv/bin/python scripts/realworld.py                    # all projects, table on stdout
    .venv/bin/python scripts/realworld.py --markdown docs/reliability.md   # rewrite the table there
    .venv/bin/python scripts/realworld.py -p requests -p opsdroid         # some projects only

Exit status: 0 when every project passed, 1 when any failed, 2 when a download failed.
"""
from __future__ import annotations

import argparse
import ast
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

# (name, version, why it is here). Pinned: the counts in docs/reliability.md depend on them.
PROJECTS: Tuple[Tuple[str, str, str], ...] = (
    # Popular pure-Python projects: nothing to fix expected, nothing may change.
    ("Django", "5.1.4", "large web framework, async views"),
    ("requests", "2.32.3", "the library itself"),
    ("httpx", "0.28.1", "the target library"),
    ("aiohttp", "3.11.11", "async HTTP"),
    ("rich", "13.9.4", "popular, pure Python"),
    ("pip", "24.3.1", "vendors requests"),
    ("setuptools", "75.6.0", "vendored code, odd files"),
    ("sympy", "1.13.3", "very large, pure Python"),
    ("black", "24.10.0", "test data with odd syntax"),
    ("flask", "3.1.0", "async views"),
    ("fastapi", "0.115.6", "async web framework"),
    ("starlette", "0.41.3", "run_in_threadpool"),
    ("pytest", "8.3.4", "popular, pure Python"),
    # Async SDKs, agents and bots that call blocking HTTP from async code (verified findings).
    ("homeassistant", "2024.12.5", "async_add_executor_job with requests in integrations"),
    ("langchain-community", "0.3.13", "async LLM integrations calling requests"),
    ("llama-index", "0.9.48", "async readers/LLMs with requests and per-call clients"),
    ("semantic-kernel", "1.17.1", "async connectors, per-call httpx/aiohttp clients"),
    ("open-interpreter", "0.4.3", "async agent loop with blocking calls"),
    ("azure-core", "1.32.0", "asyncio transport over requests"),
    ("gradio", "3.50.2", "async app server with requests"),
    ("pyautogen", "0.2.35", "async agents"),
    ("farm-haystack", "1.26.4", "async pipelines"),
    ("opsdroid", "0.30.0", "async chat-bot framework"),
    ("msrest", "0.7.1", "async requests sender (run_in_executor over a Session)"),
)

SETUPTOOLS_CONSTRAINT = "setuptools<76\n"  # old setup.py sdists need bdist_wheel for metadata


def cache_root() -> str:
    env = os.environ.get("UNFAKE_ASYNC_REALWORLD_CACHE")
    if env:
        return env
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "unfake-async", "realworld")


# -- downloading -------------------------------------------------------------------------------


class DownloadError(Exception):
    pass


def find_sdist(directory: str, name: str, version: str) -> Optional[str]:
    """The sdist of name==version in `directory` (PyPI spells names with _, -, any case)."""
    wanted = {name.lower().replace("-", "_"), name.lower().replace("_", "-")}
    if not os.path.isdir(directory):
        return None
    for entry in os.listdir(directory):
        lower = entry.lower()
        for stem in wanted:
            for suffix in (".tar.gz", ".zip", ".tar.bz2"):
                if lower == f"{stem}-{version}{suffix}":
                    return os.path.join(directory, entry)
    return None


def download(name: str, version: str, directory: str) -> str:
    """The cached sdist, fetched with pip the first time."""
    found = find_sdist(directory, name, version)
    if found:
        return found
    os.makedirs(directory, exist_ok=True)
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
               "--ignore-requires-python", "--disable-pip-version-check", "--quiet",
               f"{name}=={version}", "-d", directory]
    constraint = os.path.join(directory, "build-constraints.txt")
    with open(constraint, "w", encoding="ascii") as handle:
        handle.write(SETUPTOOLS_CONSTRAINT)
    last = ""
    # pip builds the sdist's metadata; some old setup.py projects need an older setuptools.
    for extra_env in ({}, {"PIP_BUILD_CONSTRAINT": constraint}):
        done = subprocess.run(command, capture_output=True, text=True, timeout=900,
                              env={**os.environ, **extra_env})
        found = find_sdist(directory, name, version)
        if found:
            return found
        lines = [line for line in (done.stderr or done.stdout).splitlines() if line.strip()]
        last = lines[-1].strip() if lines else f"pip exited {done.returncode}"
    raise DownloadError(f"{name}=={version}: {last}")


def extract(archive: str, destination: str) -> str:
    """Unpack the sdist into `destination`; returns the project's top directory."""
    os.makedirs(destination, exist_ok=True)
    if archive.endswith(".zip"):
        with zipfile.ZipFile(archive) as handle:
            handle.extractall(destination)  # zipfile never writes outside `destination`
        entries = os.listdir(destination)
        return os.path.join(destination, entries[0]) if len(entries) == 1 else destination
    with tarfile.open(archive) as handle:
        if hasattr(tarfile, "data_filter"):
            handle.extractall(destination, filter="data")
        else:  # pragma: no cover - Python < 3.9.17
            handle.extractall(destination)
    entries = os.listdir(destination)
    return os.path.join(destination, entries[0]) if len(entries) == 1 else destination


# -- checking ----------------------------------------------------------------------------------


@dataclass
class Outcome:
    name: str
    version: str
    files: int = 0  # .py/.pyi files the tool scanned
    parsed: int = 0
    findings: int = 0
    fixed: int = 0
    changed_files: int = 0
    tool_errors: List[str] = field(default_factory=list)  # per-file errors the tool reported
    failures: List[str] = field(default_factory=list)  # what this script proves must not happen
    seconds: float = 0.0
    by_rule: Dict[str, int] = field(default_factory=dict)  # findings left after the fix, per rule
    net_lines: int = 0  # lines the changed files gained (after minus before), created files included
    created: List[str] = field(default_factory=list)  # new files the fix wrote, relative to the tree

    @property
    def ok(self) -> bool:
        return not self.failures


def run_tool(tree: str, report: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "unfake_async", tree, "--fix", "--unsafe-fixes", "--no-cache",
               "--output-format", "json", "-o", report]
    return subprocess.run(command, capture_output=True, text=True, timeout=1800)


def snapshot(tree: str) -> Dict[str, bytes]:
    """Every regular file's bytes, by relative path (symlinks as their target text)."""
    files: Dict[str, bytes] = {}
    for directory, dirnames, filenames in os.walk(tree):
        for entry in filenames + [d for d in dirnames if os.path.islink(os.path.join(directory, d))]:
            path = os.path.join(directory, entry)
            relative = os.path.relpath(path, tree)
            if os.path.islink(path):
                files[relative] = b"-> " + os.readlink(path).encode("utf-8", "surrogateescape")
            else:
                try:
                    with open(path, "rb") as handle:
                        files[relative] = handle.read()
                except OSError as exc:
                    files[relative] = f"<unreadable: {exc}>".encode()
    return files


def compiles(data: bytes, filename: str) -> Optional[str]:
    """None when `data` parses and compiles as Python here; else the one-line reason."""
    try:
        compile(ast.parse(data, filename), filename, "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def check_project(name: str, version: str, sdists: str, scratch: str) -> Outcome:
    outcome = Outcome(name, version)
    archive = download(name, version, sdists)
    pristine = extract(archive, os.path.join(scratch, "pristine"))
    work = extract(archive, os.path.join(scratch, "work"))
    before = snapshot(pristine)

    started = time.perf_counter()
    report_path = os.path.join(scratch, "report.json")
    first = run_tool(work, report_path)
    outcome.seconds = time.perf_counter() - started
    if first.returncode not in (0, 1, 2) or "Traceback" in first.stderr:
        outcome.failures.append(f"crash: exit {first.returncode}: {first.stderr.strip()[-500:]}")
        return outcome
    try:
        with open(report_path, encoding="utf-8") as handle:
            report = json.load(handle)
    except (OSError, ValueError) as exc:
        outcome.failures.append(f"no JSON report: {exc}")
        return outcome
    summary = report["summary"]
    outcome.files, outcome.parsed = summary["files"], summary["parsed"]
    outcome.findings, outcome.fixed = summary["findings"], summary["fixed"]
    for diagnostic in report["diagnostics"]:
        outcome.by_rule[diagnostic["code"]] = outcome.by_rule.get(diagnostic["code"], 0) + 1
    for error in report["errors"]:
        line = f"{error['filename']}: {error['message']}"
        outcome.tool_errors.append(line)
        if "internal error" in error["message"]:
            outcome.failures.append(f"internal error: {line}")
    if first.returncode == 2 and not report["errors"]:
        outcome.failures.append(f"exit 2 without a reported error: {first.stderr.strip()[-300:]}")

    after = snapshot(work)
    created = {os.path.relpath(os.path.abspath(entry["filename"]), work) for entry in report.get("created", [])}
    outcome.created = sorted(created)
    if set(after) != set(before) | created:
        appeared = sorted(set(after) - set(before) - created)[:5]
        vanished = sorted(set(before) - set(after))[:5]
        outcome.failures.append(f"file set changed: new {appeared}, gone {vanished}")
    for relative in sorted(created & set(after)):
        problem = compiles(after[relative], relative)
        if problem:
            outcome.failures.append(f"{relative}: created file does not compile: {problem}")
        outcome.net_lines += after[relative].count(b"\n")
    changed = sorted(p for p in before.keys() & after.keys() if before[p] != after[p])
    outcome.changed_files = len(changed)
    outcome.net_lines += sum(after[p].count(b"\n") - before[p].count(b"\n") for p in changed)
    for relative in changed:
        if not relative.endswith((".py", ".pyi")):
            outcome.failures.append(f"{relative}: a non-Python file changed")
            continue
        problem = compiles(after[relative], relative)
        if problem and compiles(before[relative], relative) is None:
            outcome.failures.append(f"{relative}: fixed file does not compile: {problem}")
        if os.stat(os.path.join(pristine, relative)).st_mode != os.stat(os.path.join(work, relative)).st_mode:
            outcome.failures.append(f"{relative}: file mode changed")
    if outcome.fixed and not changed:
        outcome.failures.append(f"{outcome.fixed} findings reported fixed but no file changed")

    second = run_tool(work, report_path)  # fixed point: nothing left to change anywhere
    if second.returncode not in (0, 1, 2) or "Traceback" in second.stderr:
        outcome.failures.append(f"second run crashed: exit {second.returncode}")
    again = snapshot(work)
    moved = sorted(p for p in again if again.get(p) != after.get(p))
    if moved:
        outcome.failures.append(f"not a fixed point: a second --fix changed {moved[:5]}")
    return outcome


# -- reporting ---------------------------------------------------------------------------------


def table(outcomes: Sequence[Outcome]) -> str:
    header = ("| project | version | files | parsed | findings | fixed | files changed | "
              "left unfixed (by rule) | tool errors | failures | time (s) |")
    rows = [header, "|" + "---|" * 11]
    for o in outcomes:
        left = " ".join(f"{rule}: {count}" for rule, count in sorted(o.by_rule.items())) or "-"
        rows.append(f"| {o.name} | {o.version} | {o.files} | {o.parsed} | {o.findings} | {o.fixed} "
                    f"| {o.changed_files} | {left} | {len(o.tool_errors)} | {len(o.failures)} "
                    f"| {o.seconds:.1f} |")
    total = lambda attr: sum(getattr(o, attr) for o in outcomes)  # noqa: E731
    rows.append(
        f"| **{len(outcomes)} projects** | | {total('files')} | {total('parsed')} | "
        f"{total('findings')} | {total('fixed')} | {total('changed_files')} | "
        f"{sum(sum(o.by_rule.values()) for o in outcomes)} | "
        f"{sum(len(o.tool_errors) for o in outcomes)} | {sum(len(o.failures) for o in outcomes)} | "
        f"{total('seconds'):.1f} |"
    )
    return "\n".join(rows) + "\n"


BEGIN, END = "<!-- realworld-table:begin -->", "<!-- realworld-table:end -->"


def write_markdown(path: str, rendered: str) -> None:
    """Replace the table between the markers in `path` (or append it with the markers)."""
    block = f"{BEGIN}\n{rendered}{END}"
    text = ""
    if os.path.exists(path):
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = head + block + rest.split(END, 1)[1]
    else:
        text = text + ("\n" if text and not text.endswith("\n") else "") + block + "\n"
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-p", "--project", action="append", help="only these (repeatable)")
    parser.add_argument("--markdown", help="write the table into this Markdown file")
    parser.add_argument("--json", help="write every outcome (with failures and errors) as JSON")
    parser.add_argument("--keep", action="store_true", help="keep the work trees (printed)")
    args = parser.parse_args(argv)

    wanted = {p.lower() for p in args.project or []}
    projects = [p for p in PROJECTS if not wanted or p[0].lower() in wanted]
    if wanted and len(projects) != len(wanted):
        parser.error(f"unknown project in {sorted(wanted)}; known: {[p[0] for p in PROJECTS]}")
    sdists = os.path.join(cache_root(), "sdists")
    outcomes: List[Outcome] = []
    download_failed = False
    for name, version, _why in projects:
        scratch = tempfile.mkdtemp(prefix=f"unfake-realworld-{name}-")
        try:
            outcome = check_project(name, version, sdists, scratch)
        except DownloadError as exc:
            print(f"download failed: {exc}", file=sys.stderr)
            download_failed = True
            continue
        finally:
            if args.keep:
                print(f"{name}: work tree kept in {scratch}", file=sys.stderr)
            else:
                shutil.rmtree(scratch, ignore_errors=True)
        outcomes.append(outcome)
        status = "ok" if outcome.ok else "FAILED"
        print(f"{name} {version}: {status}: {outcome.files} files, {outcome.findings} findings, "
              f"{outcome.fixed} fixed in {outcome.changed_files} files, "
              f"{len(outcome.tool_errors)} tool errors, {outcome.seconds:.1f}s", file=sys.stderr)
        if outcome.changed_files:
            print(f"  {outcome.net_lines:+d} lines over {outcome.changed_files} migrated files "
                  f"({outcome.net_lines / outcome.changed_files:+.1f} per file, created files "
                  f"{outcome.created or 'none'} included)", file=sys.stderr)
        for line in outcome.failures:
            print(f"  failure: {line}", file=sys.stderr)
    rendered = table(outcomes)
    print(rendered, end="")
    if args.markdown:
        write_markdown(args.markdown, rendered)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump([o.__dict__ for o in outcomes], handle, indent=2)
    if any(not o.ok for o in outcomes):
        return 1
    return 2 if download_failed else 0


if __name__ == "__main__":
    sys.exit(main())

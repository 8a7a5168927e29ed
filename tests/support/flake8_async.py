"""flake8-async's own test files as an external oracle, fetched at test time (never vendored).

flake8-async's sdist ships `tests/eval_files/async210.py` (and 211, 212): small programs where
every line its checker must flag carries a comment such as ``# ASYNC210: 4, 'requests.get'``
(a line may carry several). This module downloads the pinned sdist with pip into a cache
directory, reads the eval files straight out of the tarball, and parses those comments the way
flake8-async's test runner does (`tests/test_flake8_async.py`: the text between `ASYNCnnn:` and
the next `#` or the end of the line is a list of Python literals, column first).

Tests ask an `EvalFile` for "all expected lines", "lines whose name matches X" or "lines with no
expectation"; `eval_file()` skips the calling test, with the reason, when the sdist cannot be
fetched (offline).
"""
from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import tarfile
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Set, Tuple, Union

VERSION = "26.8.1"
REQUIREMENT = f"flake8-async=={VERSION}"
EVAL_FILES = ("async210.py", "async211.py", "async212.py")

# Same shape as flake8-async's runner: code, optional alt suffix, then args up to `#` or EOL.
_EXPECTATION = re.compile(r"(ASYNC\d\d\d)(_\w*)?:([^#]*)(?=#|$)")


class OracleUnavailable(Exception):
    """The sdist could not be fetched or read; the message says why (one line)."""


@dataclass(frozen=True)
class Expectation:
    """One error flake8-async expects: ``# ASYNC210: 4, 'requests.get'`` on line 10."""

    code: str  # "ASYNC210"
    line: int  # 1-based
    column: int  # 0-based, as flake8-async writes it
    args: Tuple[object, ...]  # the rest: ('requests.get',) or ('send', 'client')

    @property
    def name(self) -> str:
        """The flagged callable: 'requests.get' for 210/211; for 212 'client.send' (var.method)."""
        if self.code == "ASYNC212" and len(self.args) >= 2:
            return f"{self.args[1]}.{self.args[0]}"
        return str(self.args[0]) if self.args else ""


@dataclass
class EvalFile:
    """One eval file: its source and the expectations its comments declare."""

    name: str
    source: str
    expectations: List[Expectation] = field(default_factory=list)

    def expected_lines(self, code: Optional[str] = None) -> Set[int]:
        """Every line with at least one expectation (of `code`, when given)."""
        return {e.line for e in self.expectations if code is None or e.code == code}

    def lines_matching(self, name: Union[str, Callable[[str], bool]]) -> Set[int]:
        """Lines with an expectation whose name matches: a regex (searched from the start, as
        ``re.match``) or a predicate. ``lines_matching(r"requests\\.")`` → the requests lines."""
        test = name if callable(name) else re.compile(name).match
        return {e.line for e in self.expectations if test(e.name)}

    def ok_lines(self) -> Set[int]:
        """Lines of code (not blank, not only a comment) that flake8-async expects no error on."""
        flagged = self.expected_lines()
        lines = self.source.splitlines()
        return {
            number for number, text in enumerate(lines, start=1)
            if text.strip() and not text.strip().startswith("#") and number not in flagged
        }

    def ok_call_lines(self) -> Set[int]:
        """OK lines that hold a call: the near misses (``requests.foo()``, ``r.get(...)``)."""
        calls = {node.lineno for node in ast.walk(ast.parse(self.source)) if isinstance(node, ast.Call)}
        return self.ok_lines() & calls

    def text_of(self, line: int) -> str:
        return self.source.splitlines()[line - 1]


def parse_expectations(source: str) -> List[Expectation]:
    """The expectations declared in `source`'s comments, in line order."""
    found: List[Expectation] = []
    for number, raw in enumerate(source.split("\n"), start=1):
        line = raw.strip()
        if not line or line.startswith("#") or "#" not in line:
            continue  # flake8-async skips commented-out lines and lines without a comment
        for code, _alt, arguments in _EXPECTATION.findall(line):
            values = ast.literal_eval(f"[{arguments}]")
            column = values[0] if values else 0
            found.append(Expectation(code, number, int(column), tuple(values[1:])))
    return found


# -- fetching ----------------------------------------------------------------------------------


def cache_dir() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "unfake-async", "oracle")


def sdist_path(directory: Optional[str] = None) -> str:
    """The cached sdist, downloaded with `pip download` the first time; OracleUnavailable if not."""
    directory = directory or cache_dir()
    existing = _find_sdist(directory)
    if existing:
        return existing
    os.makedirs(directory, exist_ok=True)
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
               "--disable-pip-version-check", "--quiet", REQUIREMENT, "-d", directory]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise OracleUnavailable(f"cannot run pip download {REQUIREMENT}: {exc}")
    found = _find_sdist(directory)
    if done.returncode != 0 or not found:
        last = [line for line in (done.stderr or done.stdout).splitlines() if line.strip()]
        reason = last[-1].strip() if last else f"pip exited {done.returncode}"
        raise OracleUnavailable(f"pip download {REQUIREMENT} failed (offline?): {reason}")
    return found


def _find_sdist(directory: str) -> Optional[str]:
    name = f"flake8_async-{VERSION}.tar.gz"
    for candidate in (name, name.replace("_", "-")):
        path = os.path.join(directory, candidate)
        if os.path.isfile(path):
            return path
    return None


_loaded: Dict[str, Dict[str, EvalFile]] = {}


def load_eval_files(directory: Optional[str] = None) -> Dict[str, EvalFile]:
    """{"async210.py": EvalFile, ...}, read from the sdist without extracting it."""
    path = sdist_path(directory)
    if path not in _loaded:
        files: Dict[str, EvalFile] = {}
        try:
            with tarfile.open(path, "r:gz") as archive:
                for member in archive.getmembers():
                    base = os.path.basename(member.name)
                    if base in EVAL_FILES and "/tests/eval_files/" in member.name:
                        handle = archive.extractfile(member)
                        if handle is not None:
                            source = handle.read().decode("utf-8")
                            files[base] = EvalFile(base, source, parse_expectations(source))
        except (OSError, tarfile.TarError, EOFError) as exc:
            raise OracleUnavailable(f"cannot read {path}: {exc}")
        missing = sorted(set(EVAL_FILES) - set(files))
        if missing:
            raise OracleUnavailable(f"{path} has no tests/eval_files/{', '.join(missing)}")
        _loaded[path] = files
    return _loaded[path]


def eval_file(name: str) -> EvalFile:
    """One eval file for a test; skips the test with the reason when the oracle is unavailable."""
    import pytest

    try:
        return load_eval_files()[name]
    except OracleUnavailable as exc:
        pytest.skip(f"flake8-async oracle unavailable: {exc}")

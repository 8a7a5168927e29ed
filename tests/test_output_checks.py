"""The code the migration writes passes the checks the project already runs.

Over every fixture, `after.py` (the tool's exact output) gets no finding from ruff (E, F, I, W at
the line length the tool read for the fixtures: this repository's `[tool.ruff]`), no mypy error
that `before.py` does not have, and is accepted by `ruff format --check` and `black --check`
wherever `before.py` is. Half the fixtures are not black-formatted, so the formatter tests also
run on every fixture's `before.py` as black formats it, migrated by the tool: a project that uses
black or ruff format keeps a formatted file. The tools run once over all files (copied under
unique names into a temporary directory, so that mypy sees distinct modules), not per fixture.
A fixture folder that is a package (an `__init__.py` beside `before.py`, for relative imports)
is copied as a package of its own, its other modules with it.
"""
from __future__ import annotations

import collections
import json
import pathlib
import re
import shutil
import subprocess
import sys

import pytest

from tests.support import package_fixtures
from tests.support.fixture_settings import fixture_settings
from unfake_async.codemod import FixLevel, analyze_source

ROOT = pathlib.Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"
CASES = sorted(p.name for p in FIXTURES.iterdir() if (p / "before.py").exists())
LINE_LENGTH = fixture_settings(FIXTURES / CASES[0]).line_length
BIN = pathlib.Path(sys.executable).parent
# Fewer formatter-clean inputs than this and the format tests would prove little.
MIN_FORMATTED_INPUTS = 20


def _tool(name: str) -> str:
    path = BIN / name
    if not path.exists():
        found = shutil.which(name)
        if found is None:
            pytest.skip(f"{name} is not installed (pip install -e '.[test]')")
        return found
    return str(path)


def _copy_path(folder: pathlib.Path, case: str, side: str) -> pathlib.Path:
    """Where `side` ("before"/"after") of `case` goes among the copies."""
    source = FIXTURES / case
    if not (source / "__init__.py").exists():
        return folder / f"{case}__{side}.py"
    package = folder / case
    if not package.exists():
        package.mkdir()
        for module in source.glob("*.py"):
            if module.stem not in ("before", "after"):
                shutil.copy(module, package / module.name)
    return package / f"{case}__{side}.py"


@pytest.fixture(scope="module")
def copies(tmp_path_factory) -> pathlib.Path:
    folder = tmp_path_factory.mktemp("fixture_copies")
    for case in CASES:
        assert fixture_settings(FIXTURES / case).line_length == LINE_LENGTH
        for side in ("before", "after"):
            shutil.copy(FIXTURES / case / f"{side}.py", _copy_path(folder, case, side))
    return folder


def _by_case(paths) -> dict:
    """Counts per (case, side); findings in a package fixture's other modules are not counted."""
    counts: dict = collections.defaultdict(collections.Counter)
    for path, code in paths:
        case, _, side = pathlib.Path(path).stem.rpartition("__")
        if side in ("before", "after") and case in CASES:
            counts[(case, side)][code] += 1
    return counts


def _new(counts: dict) -> dict:
    """Per case, the codes `after` has more of than `before`."""
    new = {}
    for case in CASES:
        extra = counts[(case, "after")] - counts[(case, "before")]
        if extra:
            new[case] = dict(extra)
    return new


def test_ruff_finds_nothing_new_in_migrated_code(copies):
    done = subprocess.run(
        [_tool("ruff"), "check", "--no-cache", "--isolated", "--line-length", str(LINE_LENGTH),
         "--select", "E,F,I,W", "--exit-zero", "--output-format", "json", "."],
        cwd=copies, capture_output=True, text=True, timeout=120,
    )
    findings = json.loads(done.stdout)
    counts = _by_case((f["filename"], f["code"]) for f in findings)
    assert _new(counts) == {}


@pytest.fixture(scope="module")
def formatted(tmp_path_factory) -> pathlib.Path:
    """Each fixture's before.py as black formats it, and the tool's migration of that."""
    folder = tmp_path_factory.mktemp("formatted_inputs")
    for case in CASES:
        shutil.copy(FIXTURES / case / "before.py", _copy_path(folder, case, "before"))
    done = subprocess.run([_tool("black"), "-q", "--line-length", str(LINE_LENGTH), "."], cwd=folder,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    for case in CASES:
        before = _copy_path(folder, case, "before").read_text()
        if before == (FIXTURES / case / "before.py").read_text():
            # black left it as it was: its migration is the fixture's after.py (test_fixtures.py)
            shutil.copy(FIXTURES / case / "after.py", _copy_path(folder, case, "after"))
            continue
        result = analyze_source(before, path=str(FIXTURES / case / "before.py"),
                                settings=fixture_settings(FIXTURES / case), fix_level=FixLevel.UNSAFE)
        _copy_path(folder, case, "after").write_text(result.fixed_source or before)
    return folder


def _unformatted(command, copies, pattern: str) -> set:
    done = subprocess.run(command + ["."], cwd=copies, capture_output=True, text=True, timeout=300)
    assert done.returncode in (0, 1), done.stderr
    output = done.stdout + done.stderr
    paths = set(re.findall(pattern, output, flags=re.MULTILINE))
    # The formatter's own count: the paths above were all found (its output format may change).
    counted = re.search(r"(\d+) files? would be reformatted", output)
    assert len(paths) == (int(counted.group(1)) if counted else 0), output[-2000:]
    return {pathlib.Path(path).stem for path in paths}


def _formatter(name: str):
    if name == "black":
        return [_tool("black"), "--check", "--line-length", str(LINE_LENGTH)], r"^would reformat (.+\.py)$"
    return ([_tool("ruff"), "format", "--check", "--no-cache", "--isolated", "--line-length", str(LINE_LENGTH)],
            # ruff < 0.9: "Would reformat: path"; later: a diagnostic pointing at "--> path:line:col"
            r"^(?:Would reformat: |\s*--> )(.+?\.py)(?::\d+:\d+)?$")


@pytest.mark.parametrize("formatter", ["ruff format", "black"])
@pytest.mark.parametrize("inputs", ["fixtures", "black-formatted fixtures"])
def test_formatter_accepts_migrated_code_it_accepted_before(request, formatter, inputs):
    folder = request.getfixturevalue("copies" if inputs == "fixtures" else "formatted")
    command, pattern = _formatter(formatter)
    unformatted = _unformatted(command, folder, pattern)
    clean_before = [case for case in CASES if f"{case}__before" not in unformatted]
    assert len(clean_before) >= MIN_FORMATTED_INPUTS
    if inputs != "fixtures":
        assert len(clean_before) == len(CASES)
    assert sorted(case for case in clean_before if f"{case}__after" in unformatted) == []


def test_ruff_finds_nothing_new_in_migrated_formatted_code(formatted):
    done = subprocess.run(
        [_tool("ruff"), "check", "--no-cache", "--isolated", "--line-length", str(LINE_LENGTH),
         "--select", "E,F,I,W", "--exit-zero", "--output-format", "json", "."],
        cwd=formatted, capture_output=True, text=True, timeout=120,
    )
    counts = _by_case((f["filename"], f["code"]) for f in json.loads(done.stdout))
    assert _new(counts) == {}


def test_mypy_finds_no_new_error_in_migrated_code(copies):
    done = subprocess.run(
        [_tool("mypy"), "--ignore-missing-imports", "--check-untyped-defs", "--no-error-summary",
         "--cache-dir", str(copies / ".mypy_cache"), "."],
        cwd=copies, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode in (0, 1), done.stdout + done.stderr
    errors = re.findall(r"^([^:\n]+\.py):\d+: error: .*\[([a-z-]+)\]$", done.stdout, flags=re.MULTILINE)
    assert _new(_by_case(errors)) == {}


# -- package fixtures (fixtures/package_*/before/ and after/ trees) ------------------------------
#
# The same checks over each package case's `after/` tree against its `before/` tree, file by
# file; a file the migration created (the project's `_http_client.py`) has no `before` and must
# be clean. The trees are copied to `<side>/<case>/...`: ruff and the formatters run once over
# all of them, mypy once per side (the cases' top-level packages differ, so one run sees each
# package once). ruff marks imports from the file's own package first party
# (`detect-same-package`, on by default), as the tool does.

PACKAGE_CASES = package_fixtures.package_cases()
SIDES = ("before", "after")


@pytest.fixture(scope="module")
def package_copies(tmp_path_factory) -> pathlib.Path:
    folder = tmp_path_factory.mktemp("package_copies")
    for case in PACKAGE_CASES:
        assert fixture_settings(FIXTURES / case).line_length == LINE_LENGTH
        for side in SIDES:
            shutil.copytree(FIXTURES / case / side, folder / side / case,
                            ignore=shutil.ignore_patterns("__pycache__"))
    return folder


def _package_new(paths) -> dict:
    """Per (case, file in the tree), the codes the `after` side has more of than the `before`
    side, from (`<side>/<case>/<file>`, code) pairs."""
    counts: dict = collections.defaultdict(collections.Counter)
    for path, code in paths:
        side, case, *rest = pathlib.PurePath(path).parts
        counts[(side, case, "/".join(rest))][code] += 1
    new = {}
    for (side, case, file), found in counts.items():
        extra = found - counts.get(("before", case, file), collections.Counter())
        if side == "after" and extra:
            new[(case, file)] = dict(extra)
    return new


def _relative(path: str, root: pathlib.Path) -> str:
    full = pathlib.Path(path)
    return str(full.relative_to(root)) if full.is_absolute() else path


def test_package_fixtures_exist():
    assert "package_shared_client" in PACKAGE_CASES
    assert (FIXTURES / "package_shared_client" / "after" / "shop" / "_http_client.py").exists()


def test_ruff_finds_nothing_new_in_migrated_packages(package_copies):
    done = subprocess.run(
        [_tool("ruff"), "check", "--no-cache", "--isolated", "--line-length", str(LINE_LENGTH),
         "--select", "E,F,I,W", "--exit-zero", "--output-format", "json", "."],
        cwd=package_copies, capture_output=True, text=True, timeout=120,
    )
    findings = [(_relative(f["filename"], package_copies), f["code"]) for f in json.loads(done.stdout)]
    assert _package_new(findings) == {}


def test_created_client_modules_need_no_pyupgrade(package_copies):
    """The project module is code the project owns from then on: a project that runs pyupgrade's
    rules (ruff UP) for Python 3.9 gets nothing to fix in it (no quoted annotations under
    `from __future__ import annotations`, `collections.abc` rather than `typing`)."""
    created = sorted(str(path.relative_to(package_copies))
                     for path in (package_copies / "after").rglob("_http_client.py"))
    assert created
    done = subprocess.run(
        [_tool("ruff"), "check", "--no-cache", "--isolated", "--target-version", "py39",
         "--select", "UP", "--output-format", "concise", *created],
        cwd=package_copies, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("formatter", ["ruff format", "black"])
def test_formatter_accepts_migrated_packages_it_accepted_before(package_copies, formatter):
    command, pattern = _formatter(formatter)
    done = subprocess.run(command + ["."], cwd=package_copies, capture_output=True, text=True, timeout=300)
    assert done.returncode in (0, 1), done.stderr
    output = done.stdout + done.stderr
    unformatted = {_relative(path, package_copies)
                   for path in re.findall(pattern, output, flags=re.MULTILINE)}
    counted = re.search(r"(\d+) files? would be reformatted", output)
    assert len(unformatted) == (int(counted.group(1)) if counted else 0), output[-2000:]
    newly = []
    for case in PACKAGE_CASES:
        for path in sorted((package_copies / "after" / case).rglob("*.py")):
            inside = path.relative_to(package_copies / "after" / case)
            if str(pathlib.PurePath("after", case, inside)) not in unformatted:
                continue
            if str(pathlib.PurePath("before", case, inside)) not in unformatted:
                newly.append(f"{case}/{inside}")  # accepted before (or created by the tool)
    assert newly == []


def test_mypy_finds_no_new_error_in_migrated_packages(package_copies):
    errors = []
    for side in SIDES:
        done = subprocess.run(
            [_tool("mypy"), "--ignore-missing-imports", "--check-untyped-defs", "--no-error-summary",
             "--cache-dir", str(package_copies / f".mypy_cache_{side}"), "."],
            cwd=package_copies / side, capture_output=True, text=True, timeout=300,
        )
        assert done.returncode in (0, 1), done.stdout + done.stderr
        errors += [(f"{side}/{path}", code) for path, code in
                   re.findall(r"^([^:\n]+\.py):\d+: error: .*\[([a-z-]+)\]$", done.stdout, flags=re.MULTILINE)]
    assert _package_new(errors) == {}

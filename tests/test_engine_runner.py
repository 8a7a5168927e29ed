"""The runner with a small stand-in analyzer: prefilter, modes, failures, pool, cache, and
per-file ignores. The stand-in flags `requests.get(` and fixes it to `await client.get(`."""
import os

import pytest

from unfake_async.codemod.engine.model import Finding, FixLevel, FixSafety, SourceResult
from unfake_async.codemod.engine.runner import Mode, RunOptions, run_files
from unfake_async.settings import Settings

CALLS = []

FAKE = "import requests\n\nasync def f(url):\n    return requests.get(url)\n"
CLEAN = "import requests\n\nasync def f(url):\n    return 1\n"
PROSE = '"""Serve requests asynchronously."""\nasync def f():\n    return requests.get(u)\n'


def fake_analyze(source, *, path, settings, fix_level):
    """Flags each `requests.get(` as UFA900 (safe fix) and rewrites it at fix level SAFE+."""
    CALLS.append(path)
    if "RAISE" in source:
        raise ValueError("stand-in analyzer failed\nsecond line")
    findings = []
    for number, line in enumerate(source.splitlines(), 1):
        col = line.find("requests.get(")
        if col >= 0 and settings.rule_enabled("UFA900"):
            findings.append(Finding("UFA900", "blocking get", number, col + 1, number, col + 13,
                                    fix=FixSafety.SAFE, fixed=fix_level >= FixLevel.SAFE))
    fixed = None
    if findings and fix_level >= FixLevel.SAFE:
        fixed = source.replace("requests.get(", "await client.get(")
    return SourceResult(findings=findings, fixed_source=fixed)


@pytest.fixture(autouse=True)
def reset_calls():
    CALLS.clear()


def tree(tmp_path, files):
    paths = []
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        paths.append(str(path))
    return paths


def run(paths, mode=Mode.CHECK, settings=Settings(), **options):
    level = FixLevel.NONE if mode == Mode.CHECK else FixLevel.SAFE
    options.setdefault("jobs", 1)
    return run_files(paths, settings, RunOptions(mode=mode, fix_level=level, **options),
                     analyze=fake_analyze)


def test_only_files_passing_the_prefilter_are_analysed(tmp_path):
    paths = tree(tmp_path, {"fake.py": FAKE, "clean.py": CLEAN, "prose.py": PROSE})
    result = run(paths)
    assert sorted(os.path.basename(p) for p in CALLS) == ["clean.py", "fake.py"]
    by_name = {os.path.basename(r.path): r for r in result.reports}
    assert [(f.rule_id, f.line, f.col) for f in by_name["fake.py"].findings] == [("UFA900", 4, 12)]
    assert not by_name["prose.py"].parsed and not by_name["prose.py"].findings


def test_check_mode_writes_nothing(tmp_path):
    paths = tree(tmp_path, {"fake.py": FAKE})
    result = run(paths)
    assert (tmp_path / "fake.py").read_text() == FAKE
    assert result.reports[0].remaining and not result.reports[0].changed


def test_diff_mode_keeps_both_texts_and_writes_nothing(tmp_path):
    paths = tree(tmp_path, {"fake.py": FAKE})
    report = run(paths, Mode.DIFF).reports[0]
    assert (tmp_path / "fake.py").read_text() == FAKE
    assert report.changed and report.original == FAKE
    assert "await client.get(url)" in report.fixed_source


def test_fix_mode_writes_and_counts_fixed(tmp_path):
    paths = tree(tmp_path, {"fake.py": FAKE, "clean.py": CLEAN})
    result = run(paths, Mode.FIX)
    assert (tmp_path / "fake.py").read_text() == FAKE.replace("requests.get(", "await client.get(")
    assert (tmp_path / "clean.py").read_text() == CLEAN
    assert [r.fixed_count for r in result.reports] == [1, 0]
    assert not result.reports[0].remaining


def test_a_failing_file_is_reported_and_the_others_still_run(tmp_path):
    paths = tree(tmp_path, {"a.py": FAKE, "b.py": FAKE + "# RAISE\n", "c.py": FAKE})
    result = run(paths, Mode.FIX)
    errors = result.errors()
    assert [(os.path.basename(p), m) for p, m in errors] == [
        ("b.py", "internal error while analysing (ValueError: stand-in analyzer failed); "
                 "file left untouched")]
    assert (tmp_path / "b.py").read_text() == FAKE + "# RAISE\n"
    assert "await client" in (tmp_path / "a.py").read_text()
    assert "await client" in (tmp_path / "c.py").read_text()


def test_undecodable_and_binary_files_are_errors(tmp_path):
    paths = tree(tmp_path, {"ok.py": FAKE})
    (tmp_path / "latin.py").write_bytes(b"import requests\nx = '\xe9'\n")
    (tmp_path / "bin.py").write_bytes(b"\x00\x01")
    result = run(paths + [str(tmp_path / "latin.py"), str(tmp_path / "bin.py")])
    assert [(os.path.basename(p), r) for p, r in result.errors()] == [
        ("latin.py", "not valid UTF-8 (byte 21) and no coding cookie declares another encoding; "
                     "not checked"),
        ("bin.py", "binary file (contains NUL bytes); not checked")]
    assert result.skipped() == []


def test_process_pool_gives_the_same_results_as_in_process(tmp_path):
    files = {f"m{i:02}.py": FAKE if i % 3 else CLEAN for i in range(12)}
    paths = tree(tmp_path, files)
    serial = run(paths, jobs=1)
    pooled = run(paths, jobs=2)
    assert len(CALLS) == 12  # only the serial run counts here: workers have their own CALLS
    assert [(r.path, r.findings) for r in pooled.reports] == [
        (r.path, r.findings) for r in serial.reports]
    assert all(r.parsed for r in pooled.reports)


def test_second_run_over_an_unchanged_tree_analyses_nothing(tmp_path):
    cache = str(tmp_path / "cache")
    paths = tree(tmp_path / "src", {"a.py": FAKE, "b.py": FAKE, "c.py": CLEAN})
    first = run(paths, cache_dir=cache)
    assert len(CALLS) == 3
    CALLS.clear()
    second = run(paths, cache_dir=cache)
    assert CALLS == []
    assert [r.findings for r in second.reports] == [r.findings for r in first.reports]
    assert all(r.cached for r in second.reports)

    (tmp_path / "src" / "b.py").write_text(FAKE + "\n# edited\n")
    run(paths, cache_dir=cache)
    assert [os.path.basename(p) for p in CALLS] == ["b.py"]

    CALLS.clear()
    run(paths, cache_dir=cache, settings=Settings(ignore=("UFA9",)))  # other settings: new keys
    assert len(CALLS) == 3
    CALLS.clear()
    run(paths, Mode.DIFF, cache_dir=cache)  # another fix level: new keys too
    assert len(CALLS) == 3


def test_cached_fix_is_still_written(tmp_path):
    cache = str(tmp_path / "cache")
    paths = tree(tmp_path / "src", {"a.py": FAKE})
    run(paths, Mode.DIFF, cache_dir=cache)
    run(paths, Mode.DIFF, cache_dir=cache)
    CALLS.clear()
    # Same fix level as --diff: the fix comes from the cache and is written.
    result = run(paths, Mode.FIX, cache_dir=cache)
    assert CALLS == [] and result.reports[0].cached
    assert "await client" in (tmp_path / "src" / "a.py").read_text()


def test_corrupt_cache_is_ignored(tmp_path):
    cache = tmp_path / "cache"
    paths = tree(tmp_path / "src", {"a.py": FAKE})
    run(paths, cache_dir=str(cache))
    for entry in cache.iterdir():
        if entry.name.startswith("results-"):
            entry.write_text("{not json")
    CALLS.clear()
    assert run(paths, cache_dir=str(cache)).reports[0].findings
    assert len(CALLS) == 1


def test_per_file_ignores_extend_ignore_for_matching_paths(tmp_path):
    paths = tree(tmp_path, {"tests/test_a.py": FAKE, "src/a.py": FAKE})
    result = run(paths, per_file_ignores=(("tests/**", ("UFA9",)),), root=str(tmp_path))
    counts = {os.path.relpath(r.path, tmp_path): len(r.findings) for r in result.reports}
    assert counts == {"tests/test_a.py": 0, "src/a.py": 1}

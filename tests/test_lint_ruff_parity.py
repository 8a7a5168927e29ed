"""The lint command used the way a ruff user would: a temporary project with a pyproject.toml and
fake-async files, checked through the real entry point. Each test pins one behaviour the issue
asks to match ruff (file selection, per-file-ignores, fix safety and its summary, statistics,
output files, settings flags) or one configured detail reaching the run."""
import json

import pytest

from tests.test_cli import SAFE, UNSAFE, run_main
from unfake_async.output.rules import rule_name
from unfake_async.rules import ALL_RULES

pytestmark = pytest.mark.skipif(not ALL_RULES, reason="no UFA rules registered yet")

# Every thread-offload helper the issue names, recognised with no configuration at all.
DEFAULT_HELPERS = """\
import anyio
import asyncer
import requests
from asgiref.sync import sync_to_async
from starlette.concurrency import run_in_threadpool


async def fetch(hass, url):
    a = await hass.async_add_executor_job(requests.get, url)
    b = await anyio.to_thread.run_sync(requests.get, url)
    c = await sync_to_async(requests.get)(url)
    d = await asyncer.asyncify(requests.get)(url)
    e = await run_in_threadpool(requests.get, url)
    return a, b, c, d, e
"""


def finding_lines(out):
    return [line for line in out.splitlines() if ": UFA" in line]


def files_listed(capsys, *args):
    code, out, err = run_main(capsys, "--show-files", *args)
    assert code == 0, err
    return sorted(line.lstrip("./") for line in out.splitlines())


@pytest.fixture
def tree(tmp_path, monkeypatch):
    """src/app.py (unsafe), src/tests/test_app.py, dist/gen.py, legacy/old.py: all fake async."""
    monkeypatch.chdir(tmp_path)
    for name in ("src/app.py", "src/tests/test_app.py", "dist/gen.py", "legacy/old.py"):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(UNSAFE)
    return tmp_path


def test_exclude_flag_replaces_the_defaults_and_extend_exclude_adds(tree, capsys):
    everything = ["dist/gen.py", "legacy/old.py", "src/app.py", "src/tests/test_app.py"]
    assert files_listed(capsys) == [f for f in everything if not f.startswith("dist/")]
    # ruff: --exclude replaces `exclude`, so the default list (dist, build, ...) no longer applies.
    assert files_listed(capsys, "--exclude", "legacy") == ["dist/gen.py", "src/app.py",
                                                           "src/tests/test_app.py"]
    assert files_listed(capsys, "--exclude", "legacy,src/tests/") == ["dist/gen.py", "src/app.py"]
    assert files_listed(capsys, "--extend-exclude", "legacy") == ["src/app.py",
                                                                  "src/tests/test_app.py"]


def test_configured_exclude_and_extend_exclude_with_flags_on_top(tree, capsys):
    (tree / "pyproject.toml").write_text(
        "[tool.unfake-async]\nexclude = ['src/tests/']\nextend-exclude = ['legacy/']\n")
    # The file's `exclude` replaced the defaults: dist/ is checked again.
    assert files_listed(capsys) == ["dist/gen.py", "src/app.py"]
    # --exclude replaces the file's `exclude` but keeps its `extend-exclude`.
    assert files_listed(capsys, "--exclude", "dist") == ["src/app.py", "src/tests/test_app.py"]
    assert files_listed(capsys, "--extend-exclude", "dist") == ["src/app.py"]
    # A file named explicitly is checked anyway, unless --force-exclude (what pre-commit passes).
    assert files_listed(capsys, "legacy/old.py") == ["legacy/old.py"]
    assert files_listed(capsys, "legacy/old.py", "--force-exclude") == []


def test_per_file_ignores_by_glob_basename_and_prefix(tree, capsys):
    (tree / "pyproject.toml").write_text(
        "[tool.unfake-async.per-file-ignores]\n"
        "'src/tests/**' = ['UFA00']\n"    # a prefix, for a directory
        "'gen.py' = ['UFA003']\n")        # no slash: a file of that name at any depth
    code, out, _ = run_main(capsys, ".", "--exclude", "", "--no-cache")  # dist/ too
    assert code == 1
    assert [line.split(":")[0] for line in finding_lines(out)] == ["./legacy/old.py", "./src/app.py"]
    # Named explicitly, an ignored file stays ignored.
    code, out, _ = run_main(capsys, "src/tests/test_app.py", "--no-cache")
    assert code == 0 and "All checks passed!" in out


def test_fix_applies_only_safe_fixes_and_says_how_many_unsafe_ones_were_held_back(tree, capsys):
    (tree / "src" / "safe.py").write_text(SAFE)
    code, out, _ = run_main(capsys, "src", "--fix", "--no-cache")
    assert code == 1
    assert "Found 3 findings (1 fixed, 2 remaining)." in out
    assert "2 unsafe fixes held back (enable with --unsafe-fixes; review the diff first)." in out
    assert (tree / "src" / "app.py").read_text() == UNSAFE
    assert "_http_client()" in (tree / "src" / "safe.py").read_text()
    # In check mode the same count is given, next to the number fixable with --fix.
    code, out, _ = run_main(capsys, "src", "--no-cache")
    assert "Found 2 findings." in out and "[*]" not in out
    assert "2 unsafe fixes held back" in out
    code, out, _ = run_main(capsys, "src", "--fix", "--unsafe-fixes", "--no-cache")
    assert code == 0 and "held back" not in out
    assert "Found 2 findings (2 fixed, 0 remaining)." in out
    assert "import requests" not in (tree / "src" / "app.py").read_text()


def test_unsafe_fixes_from_the_config_and_no_unsafe_fixes_flag(tree, capsys):
    (tree / "pyproject.toml").write_text("[tool.unfake-async]\nunsafe-fixes = true\n")
    code, out, _ = run_main(capsys, "src/app.py", "--diff", "--no-unsafe-fixes", "--no-cache")
    assert code == 0 and out == ""  # the only fix is unsafe and the flag beat the file
    code, out, err = run_main(capsys, "src/app.py", "--diff", "--no-cache")
    assert code == 1 and "\n--- src/app.py\n+++ src/app.py\n" in out
    # With unsafe-fixes on in the config, plain --fix applies them: the summary says so.
    assert ("0 safe and 1 unsafe (marked `#` above each file's diff): `--fix` applies all of them "
            "while unsafe fixes are on (`--unsafe-fixes` or `unsafe-fixes = true`), else only the 0 safe.") in err


def test_statistics_layout_like_ruff(tree, capsys):
    (tree / "src" / "safe.py").write_text(SAFE)
    (tree / "src" / "helpers.py").write_text(DEFAULT_HELPERS)
    code, out, _ = run_main(capsys, "src", "--statistics", "--no-cache")
    assert code == 1
    lines = out.splitlines()
    # Most frequent first; [*] only where a fix applies without --unsafe-fixes, [ ] elsewhere.
    assert lines[:2] == [f"5\tUFA002\t[ ] {rule_name('UFA002')}",
                         f"3\tUFA003\t[*] {rule_name('UFA003')}"]
    assert "Found 8 findings." in lines  # then the usual summary, as ruff does
    code, out, _ = run_main(capsys, "src", "--statistics", "--unsafe-fixes")
    assert out.splitlines()[0] == f"5\tUFA002\t[*] {rule_name('UFA002')}"
    code, out, err = run_main(capsys, "src", "--statistics", "--output-format", "json")
    assert json.loads(out) == [
        {"code": "UFA002", "name": rule_name("UFA002"), "count": 5, "fixable": False},
        {"code": "UFA003", "name": rule_name("UFA003"), "count": 3, "fixable": True},
    ]
    assert "Found 8 findings." in err
    code, _, err = run_main(capsys, "src", "--statistics", "--output-format", "github")
    assert code == 2 and "--statistics supports text and json" in err


def test_the_common_offload_helpers_are_recognised_without_configuration(tmp_path, monkeypatch,
                                                                         capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "helpers.py").write_text(DEFAULT_HELPERS)
    code, out, _ = run_main(capsys, "helpers.py", "--no-cache")
    lines = finding_lines(out)
    assert code == 1 and [line.split(":")[1] for line in lines] == ["9", "10", "11", "12", "13"]
    assert all(" UFA002 " in line for line in lines)
    for helper in ("async_add_executor_job", "anyio.to_thread.run_sync", "sync_to_async",
                   "asyncify", "run_in_threadpool"):
        assert any(helper in line for line in lines), helper


@pytest.mark.parametrize("fmt, check", [
    ("text", lambda text: "src/app.py:5:12: UFA003" in text and "Found 1 finding." in text),
    ("github", lambda text: text.startswith("::warning file=src/app.py,line=5,col=12,")),
    ("json", lambda text: json.loads(text)["summary"]["findings"] == 1),
    ("junit", lambda text: text.startswith('<?xml version="1.0" encoding="UTF-8"?>')),
])
def test_output_file_holds_the_whole_report_and_stdout_stays_empty(tree, capsys, fmt, check):
    code, out, _ = run_main(capsys, "src/app.py", "--output-format", fmt, "-o", "report.out")
    assert code == 1 and out == ""
    assert check((tree / "report.out").read_text())


def test_exit_zero_and_no_cache_short_flags(tree, capsys):
    code, out, _ = run_main(capsys, "src/app.py", "-e", "-n")
    assert code == 0 and len(finding_lines(out)) == 1
    assert not (tree / ".unfake-async-cache").exists()


def test_target_and_transport_flags_and_config(tree, capsys):
    (tree / "pyproject.toml").write_text("[tool.unfake-async]\ntransport = 'httpx'\n")
    code, out, _ = run_main(capsys, "--show-settings")
    assert code == 0 and 'target = "httpx"' in out and 'transport = "httpx"' in out
    code, out, _ = run_main(capsys, "--show-settings", "--target", "httpx2",
                            "--transport", "aiohttp")
    assert 'target = "httpx2"' in out and 'transport = "aiohttp"' in out
    code, _, err = run_main(capsys, "--show-settings", "--target", "requests")
    assert code == 2 and "--target must be one of 'httpx', 'httpx2', not 'requests'" in err
    (tree / "pyproject.toml").write_text("[tool.unfake-async]\ntransport = ['aiohttp']\n")
    code, _, err = run_main(capsys, "src")
    assert code == 2
    assert "[tool.unfake-async] 'transport' must be a string, not a list (['aiohttp'])" in err


def test_config_errors_exit_2_naming_the_key(tree, capsys):
    (tree / "pyproject.toml").write_text("[tool.unfake-async]\nper-file-ignores = ['tests']\n")
    code, out, err = run_main(capsys, "src")
    assert code == 2 and out == ""
    assert "'per-file-ignores' must be a table of glob = [codes], not a list" in err
    (tree / "pyproject.toml").write_text("[tool.unfake-async]\nextend_exclude = ['x']\n")
    code, _, err = run_main(capsys, "src")
    assert code == 2 and "unknown key 'extend_exclude' (did you mean 'extend-exclude'?)" in err

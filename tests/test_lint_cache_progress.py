"""The result cache seen from the command line (what a second run parses, and what invalidates
an entry), and the progress bar, which appears only on a terminal and only for big trees."""
import os
import pty
import subprocess
import sys

import pytest

import unfake_async
from tests.test_cli import REPO, SAFE, UNSAFE, run_main
from unfake_async.cli import PROGRESS_THRESHOLD
from unfake_async.rules import ALL_RULES


def scanned_line(out):
    return next(line for line in out.splitlines() if " scanned (" in line)


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.py").write_text(SAFE)
    (tmp_path / "b.py").write_text(UNSAFE)
    return tmp_path


def test_second_run_parses_nothing_and_changes_invalidate_only_what_they_touch(project, capsys):
    assert scanned_line(run_main(capsys, ".")[1]) == "2 files scanned (2 parsed)."
    assert scanned_line(run_main(capsys, ".")[1]) == "2 files scanned (0 parsed, 2 cached)."
    # A changed file is parsed again; the other one still comes from the cache.
    (project / "b.py").write_text(UNSAFE + "\n")
    assert scanned_line(run_main(capsys, ".")[1]) == "2 files scanned (1 parsed, 1 cached)."
    # --no-cache neither reads nor counts the cache.
    assert scanned_line(run_main(capsys, ".", "--no-cache")[1]) == "2 files scanned (2 parsed)."


@pytest.mark.parametrize("change", [
    pytest.param(("pyproject", "timeout = 30\n"), id="a generated-code setting in pyproject"),
    pytest.param(("pyproject", "ignore = ['UFA001']\n"), id="rule selection in pyproject"),
    pytest.param(("pyproject", "per-file-ignores = { 'b.py' = ['UFA002'] }\n"), id="per-file-ignores"),
    pytest.param(("flag", "--target=httpx2"), id="--target"),
    pytest.param(("flag", "--diff"), id="fix level (check computes no fixes, diff does)"),
])
def test_settings_changes_invalidate_the_cache(project, capsys, change):
    kind, value = change
    (project / "pyproject.toml").write_text("[tool.unfake-async]\n")
    run_main(capsys, ".")
    assert "(0 parsed, 2 cached)" in scanned_line(run_main(capsys, ".")[1])
    args = ["."]
    if kind == "pyproject":
        (project / "pyproject.toml").write_text("[tool.unfake-async]\n" + value)
    else:
        args.append(value)
    expected = "1 parsed, 1 cached" if "b.py" in value else "2 parsed"
    # (with --diff the summary is on stderr)
    assert f"({expected})" in scanned_line("".join(run_main(capsys, *args)[1:]))
    assert "(0 parsed, 2 cached)" in scanned_line("".join(run_main(capsys, *args)[1:]))


def test_a_new_tool_version_does_not_read_the_old_cache(project, capsys, monkeypatch):
    run_main(capsys, ".")
    assert "(0 parsed, 2 cached)" in scanned_line(run_main(capsys, ".")[1])
    monkeypatch.setattr(unfake_async, "__version__", unfake_async.__version__ + ".post1")
    assert scanned_line(run_main(capsys, ".")[1]) == "2 files scanned (2 parsed)."


@pytest.mark.skipif(not ALL_RULES, reason="no UFA rules registered yet")
def test_cached_results_are_the_same_findings_and_fixes(project, capsys):
    first = run_main(capsys, ".", "--diff", "--unsafe-fixes")
    second = run_main(capsys, ".", "--diff", "--unsafe-fixes")
    assert first[:2] == second[:2] and first[0] == 1
    assert "(0 parsed, 2 cached)" in second[2]


# -- the progress bar --------------------------------------------------------------------------


def run_with_terminal_stderr(*args, cwd):
    """Run the CLI with stderr on a pseudo-terminal; returns (exit code, stdout, stderr bytes)."""
    controller, terminal = pty.openpty()
    env = dict(os.environ, PYTHONPATH=str(REPO), TERM="xterm")
    env.pop("NO_COLOR", None)
    process = subprocess.Popen([sys.executable, "-m", "unfake_async", *args], cwd=cwd, env=env,
                               stdout=subprocess.PIPE, stderr=terminal)
    os.close(terminal)
    out = process.stdout.read()
    code = process.wait(timeout=120)
    err = b""
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # EIO: the terminal's other end is closed and drained
            break
        if not chunk:
            break
        err += chunk
    os.close(controller)
    return code, out.decode(), err.decode("utf-8", "replace")


def make_tree(directory, count):
    directory.mkdir()
    for index in range(count):
        (directory / f"m{index:04d}.py").write_text(f"VALUE = {index}\n")
    (directory / "zz_fake.py").write_text(UNSAFE)


def test_progress_bar_on_a_terminal_for_big_trees_only(tmp_path):
    big, small = tmp_path / "big", tmp_path / "small"
    make_tree(big, PROGRESS_THRESHOLD + 5)
    make_tree(small, 20)
    code, out, err = run_with_terminal_stderr(str(big), "--no-cache", cwd=tmp_path)
    assert "Checking" in err and "100%" in err
    # The bar lives on stderr and is transient: stdout is the plain report.
    assert "Checking" not in out and "files scanned" in out
    if ALL_RULES:
        assert code == 1 and "zz_fake.py:5:12: UFA003" in out
    code, _, err = run_with_terminal_stderr(str(small), "--no-cache", cwd=tmp_path)
    assert "Checking" not in err
    code, _, err = run_with_terminal_stderr(str(big), "--no-cache", "--quiet", cwd=tmp_path)
    assert "Checking" not in err


def test_no_progress_bar_when_stderr_is_not_a_terminal(tmp_path):
    make_tree(tmp_path / "big", PROGRESS_THRESHOLD + 5)
    done = subprocess.run([sys.executable, "-m", "unfake_async", "big", "--no-cache"],
                          cwd=tmp_path, env=dict(os.environ, PYTHONPATH=str(REPO)),
                          capture_output=True, text=True, timeout=120)
    assert "Checking" not in done.stderr and "files scanned" in done.stdout


def test_cache_entry_is_shared_by_every_spelling_of_a_path(tmp_path, monkeypatch):
    """`src`, `./src` and the absolute path are one file: the second and third runs parse nothing."""
    import subprocess
    import sys

    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "bot.py").write_text(
        "import requests\n\n\nasync def fetch(url):\n    return requests.get(url).json()\n"
    )
    monkeypatch.chdir(tmp_path)

    def summary(target: str) -> str:
        run = subprocess.run([sys.executable, "-m", "unfake_async", target, "--check"],
                             capture_output=True, text=True, cwd=tmp_path)
        return run.stdout + run.stderr

    assert "1 file scanned (1 parsed)." in summary("src")
    assert "1 file scanned (0 parsed, 1 cached)." in summary("./src")
    assert "1 file scanned (0 parsed, 1 cached)." in summary(str(tmp_path / "src"))

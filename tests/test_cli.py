"""The command line end to end, through the real analyzer: modes, exit codes, stdin, selection,
suppression comments, output formats, failures, subcommands, and lazy libcst import."""
import json
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

from unfake_async.cli import main
from unfake_async.rules import ALL_RULES, RUNTIME_RULES

REPO = pathlib.Path(__file__).resolve().parent.parent

# A safe fix: every requests error is handled locally, so nothing observable changes.
SAFE = """\
import requests


async def fetch(url):
    try:
        return requests.get(url).json()
    except Exception:
        return None
"""
# Unsafe: requests exceptions would escape to callers as httpx exceptions.
UNSAFE = """\
import requests


async def fetch(url):
    return requests.get(url).json()
"""
CLEAN = "import requests\n\n\nasync def fetch(url):\n    return url\n"

needs_rules = pytest.mark.skipif(not ALL_RULES, reason="no UFA rules registered yet")


def cli(*args, cwd, stdin=None):
    """Run the real console entry point in a subprocess: (exit code, stdout, stderr)."""
    env = dict(os.environ, PYTHONPATH=str(REPO), NO_COLOR="1")
    done = subprocess.run([sys.executable, "-m", "unfake_async", *args], cwd=cwd, env=env,
                          input=stdin, capture_output=True, timeout=120)
    return done.returncode, done.stdout.decode(), done.stderr.decode()


def run_main(capsys, *args):
    """Run `main` in-process (fast); returns (exit code, stdout, stderr)."""
    with pytest.raises(SystemExit) as info:
        main(list(args))
    out, err = capsys.readouterr()
    return info.value.code, out, err


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "safe.py").write_text(SAFE)
    (tmp_path / "unsafe.py").write_text(UNSAFE)
    (tmp_path / "clean.py").write_text(CLEAN)
    return tmp_path


@needs_rules
def test_plain_run_lists_findings_and_exits_1(project, capsys):
    code, out, _ = run_main(capsys, ".", "--no-cache")
    assert code == 1
    lines = out.splitlines()
    assert lines[0].startswith("./safe.py:6:16: UFA003 [*] ")
    assert lines[1].startswith("./unsafe.py:5:12: UFA003 ")
    assert "[*]" not in lines[1]
    assert "Found 2 findings." in lines
    assert "3 files scanned (3 parsed)." in lines
    assert "[*] 1 fixable with --fix." in lines
    assert "1 unsafe fix held back (enable with --unsafe-fixes; review the diff first)." in lines
    assert (project / "safe.py").read_text() == SAFE


def test_clean_tree_exits_0(project, capsys):
    code, out, _ = run_main(capsys, "clean.py")
    assert code == 0 and "All checks passed!" in out


@needs_rules
def test_check_writes_nothing_and_reports(project, capsys):
    code, out, _ = run_main(capsys, ".", "--check", "--no-cache")
    assert code == 1 and "Found 2 findings." in out
    assert (project / "safe.py").read_text() == SAFE


@needs_rules
def test_diff_shows_the_whole_migration_with_unsafe_fixes_marked_and_writes_nothing(project, capsys):
    code, out, err = run_main(capsys, ".", "--diff", "--no-cache")
    assert code == 1
    # The project declares nothing: the diff's head names what the migrated code imports.
    note, diff = out.split("\n", 1)
    assert note.startswith("# The migrated code imports aiohttp>=3.10, httpx>=0.27, which this project")
    assert diff.startswith("--- ./safe.py\n+++ ./safe.py\n")
    assert "+        return (await " in out
    # The unsafe fix is in the diff too, its reason above its file's header.
    header = out.index("--- ./unsafe.py\n+++ ./unsafe.py\n")
    notes = out[:header].splitlines()[-2:]
    assert notes[0] == "# ./unsafe.py: 1 unsafe fix below, applied by `--fix --unsafe-fixes` only:"
    assert notes[1].startswith("#   5:12 UFA003 unsafe: requests exceptions raised here can reach callers")
    assert "# ./safe.py" not in out
    assert "Would fix 2 findings in 2 files." in err
    assert ("`--fix` applies the 1 safe fix; `--fix --unsafe-fixes` also the 1 unsafe one "
            "(marked `#` above each file's diff, with the reason).") in err
    assert (project / "safe.py").read_text() == SAFE
    assert (project / "unsafe.py").read_text() == UNSAFE
    # `--no-unsafe-fixes` narrows the diff to what `--fix` alone writes, as ruff's --diff does.
    code, out, err = run_main(capsys, ".", "--diff", "--no-unsafe-fixes", "--no-cache")
    assert code == 1 and "unsafe.py" not in out
    assert "1 unsafe fix held back" in err


@needs_rules
def test_the_diff_applies_with_patch_and_gives_what_fix_unsafe_fixes_writes(project, capsys, tmp_path):
    if shutil.which("patch") is None:
        pytest.skip("no patch(1) here")
    _, diff, _ = run_main(capsys, ".", "--diff", "--no-cache")
    copy = tmp_path / "copy"
    shutil.copytree(project, copy)
    done = subprocess.run(["patch", "-p0", "--quiet"], input=diff, cwd=copy, capture_output=True,
                          text=True, timeout=30)
    assert done.returncode == 0, done.stdout + done.stderr
    run_main(capsys, ".", "--fix", "--unsafe-fixes", "--no-cache")
    for name in ("safe.py", "unsafe.py"):
        assert (copy / name).read_text() == (project / name).read_text()


def test_diff_with_nothing_to_fix_exits_0(project, capsys):
    code, out, _ = run_main(capsys, "clean.py", "--diff")
    assert code == 0 and out == ""


@needs_rules
def test_fix_applies_safe_fixes_only_and_then_the_tree_is_clean_of_them(project, capsys):
    code, out, _ = run_main(capsys, ".", "--fix", "--show-fixes", "--no-cache")
    assert code == 1  # the unsafe finding remains
    assert "Found 2 findings (1 fixed, 1 remaining)." in out
    assert "- ./safe.py:" in out and "1 × UFA003" in out
    assert "await _http_client().get(url)" in (project / "safe.py").read_text()
    assert (project / "unsafe.py").read_text() == UNSAFE
    code, out, _ = run_main(capsys, ".", "--fix", "--unsafe-fixes", "--no-cache")
    assert code == 0
    assert "import requests" not in (project / "unsafe.py").read_text()
    code, out, _ = run_main(capsys, ".", "--no-cache")
    assert code == 0 and "All checks passed!" in out


def test_contradicting_modes_are_a_usage_error(project, capsys):
    code, _, err = run_main(capsys, ".", "--fix", "--diff")
    assert code == 2 and "choose one of them" in err


@needs_rules
def test_exit_zero_and_quiet(project, capsys):
    code, out, _ = run_main(capsys, "unsafe.py", "--exit-zero", "-q")
    assert code == 0
    assert len(out.splitlines()) == 1 and "UFA003" in out


@needs_rules
def test_select_and_ignore_by_prefix(project, capsys):
    assert run_main(capsys, ".", "--ignore", "UFA003")[0] == 0
    assert run_main(capsys, ".", "--select", "UFA001,UFA002")[0] == 0
    assert run_main(capsys, ".", "--select", "UFA001", "--extend-select", "UFA00")[0] == 1
    code, _, err = run_main(capsys, ".", "--select", "F401")
    assert code == 2 and "--select has 'F401'" in err


@needs_rules
def test_suppression_comments_end_to_end(project, capsys):
    body = UNSAFE.replace("return requests.get(url).json()", "return requests.get(url).json()  {}")
    cases = {
        "bare_noqa.py": body.format("# noqa"),
        "code_noqa.py": body.format("# noqa: UFA003"),
        "other_noqa.py": body.format("# noqa: UFA001"),  # another rule: still reported
        "ignore.py": body.format("# unfake-async: ignore"),
        "skip.py": "# unfake-async: skip-file\n" + UNSAFE,
    }
    for name, text in cases.items():
        (project / name).write_text(text)
    code, out, _ = run_main(capsys, *cases, "--no-cache")
    assert code == 1
    assert [line.split(":")[0] for line in out.splitlines() if "UFA003" in line] == ["other_noqa.py"]
    run_main(capsys, *cases, "--fix", "--unsafe-fixes", "--no-cache")
    for name in ("bare_noqa.py", "code_noqa.py", "ignore.py", "skip.py"):
        assert (project / name).read_text() == cases[name]  # suppressed fixes are not applied
    assert "import requests" not in (project / "other_noqa.py").read_text()


@needs_rules
def test_per_file_ignores_and_exclude_from_pyproject(project, capsys):
    (project / "pyproject.toml").write_text(
        "[tool.unfake-async]\nper-file-ignores = { 'unsafe.py' = ['UFA003'] }\n"
        "extend-exclude = ['safe.py']\n")
    code, out, _ = run_main(capsys, ".")
    assert code == 0, out
    code, out, _ = run_main(capsys, "safe.py")  # named explicitly: checked anyway
    assert code == 1
    code, out, err = run_main(capsys, "safe.py", "--force-exclude")
    assert code == 0 and "0 files scanned" in out


@needs_rules
def test_output_formats_and_output_file(project, capsys):
    code, out, err = run_main(capsys, ".", "--output-format", "json", "--no-cache")
    assert code == 1
    document = json.loads(out)
    assert [d["filename"] for d in document["diagnostics"]] == ["safe.py", "unsafe.py"]
    assert "Found 2 findings." in err  # the summary stays out of the document
    code, out, _ = run_main(capsys, ".", "--output-format", "github")
    assert out.startswith("::warning file=safe.py,line=6,col=16,")
    code, out, _ = run_main(capsys, ".", "--output-format", "sarif", "-o", "report.sarif")
    assert code == 1 and out == ""
    assert json.loads((project / "report.sarif").read_text())["version"] == "2.1.0"
    code, _, err = run_main(capsys, ".", "--output-format", "yaml")
    assert code == 2 and "yaml" in err


@needs_rules
def test_statistics(project, capsys):
    code, out, _ = run_main(capsys, ".", "--statistics")
    assert code == 1 and out.splitlines()[0].startswith("2\tUFA003\t[*] ")


def test_syntax_error_is_one_line_exit_2_and_other_files_still_fixed(project, capsys):
    (project / "broken.py").write_text("import requests\nasync def f(:\n    pass\n")
    code, out, err = run_main(capsys, ".", "--fix", "--no-cache")
    assert code == 2
    errors = [line for line in err.splitlines() if "error" in line]
    assert len(errors) == 1 and errors[0].startswith("./broken.py: error: syntax error at ")
    assert (project / "broken.py").read_text() == "import requests\nasync def f(:\n    pass\n"
    if ALL_RULES:
        assert "_http_client" in (project / "safe.py").read_text()


def test_missing_path_exits_2(project, capsys):
    code, _, err = run_main(capsys, "nope.py")
    assert code == 2 and "nope.py: error: no such file or directory" in err


@needs_rules
def test_cache_serves_a_second_run(project, capsys):
    run_main(capsys, ".")
    assert (project / ".unfake-async-cache" / "CACHEDIR.TAG").exists()
    code, out, _ = run_main(capsys, ".")
    assert code == 1 and "3 files scanned (0 parsed, 3 cached)." in out


def test_rules_and_rule_commands(project, capsys):
    code, out, _ = run_main(capsys, "rules")
    assert code == 0
    for rule in ALL_RULES + RUNTIME_RULES:
        assert f"{rule.id}  {rule.name}" in out and rule.fix.value in out
    assert "UFA011" in out  # the runtime shim's watchdog rule is listed too
    if ALL_RULES:
        rule = ALL_RULES[0]
        code, out, _ = run_main(capsys, "rule", rule.id.lower())
        assert code == 0 and out == rule.docs()  # piped: the Markdown source
    code, _, err = run_main(capsys, "rule", "UFA999")
    assert code == 2 and "unknown rule 'UFA999'" in err


def test_a_path_named_like_a_subcommand(project, capsys):
    (project / "rules").mkdir()
    (project / "rules" / "x.py").write_text("x = 1\n")
    code, out, _ = run_main(capsys, "./rules")
    assert code == 0 and "1 file scanned" in out


def test_verify_and_bench_dispatch_or_explain(monkeypatch, capsys):
    import types

    seen = {}
    module = types.ModuleType("unfake_async.bench.command")
    module.bench_main = lambda argv: seen.setdefault("argv", argv) and 7
    monkeypatch.setitem(sys.modules, "unfake_async.bench.command", module)
    code, _, _ = run_main(capsys, "bench", "--rows", "3", "--fix")
    assert code == 7 and seen["argv"] == ["--rows", "3", "--fix"]
    monkeypatch.setitem(sys.modules, "unfake_async.shim.command", None)  # import fails
    code, _, err = run_main(capsys, "verify", "x")
    assert code == 2 and "`unfake-async verify` needs the verifying runtime shim" in err


@needs_rules
def test_stdin_fix_writes_the_result_to_stdout(tmp_path):
    code, out, err = cli("-", "--fix", "--stdin-filename", "app.py", cwd=tmp_path,
                         stdin=SAFE.encode())
    assert code == 0
    assert "await _http_client().get(url)" in out
    assert "Found 1 finding (1 fixed, 0 remaining)." in err
    code, out, _ = cli("-", "--stdin-filename", "app.py", cwd=tmp_path, stdin=SAFE.encode())
    assert code == 1 and out.startswith("app.py:6:16: UFA003")
    code, out, _ = cli("-", "--diff", cwd=tmp_path, stdin=SAFE.encode())
    assert code == 1 and out.split("\n", 1)[1].startswith("--- -\n+++ -\n")
    assert out.startswith("# The migrated code imports aiohttp>=3.10, httpx>=0.27")


def test_stdin_keeps_encoding_and_newlines(tmp_path):
    text = "# -*- coding: latin-1 -*-\r\nname = 'caf\xe9'\r\n"
    done = subprocess.run([sys.executable, "-m", "unfake_async", "-", "--fix"], cwd=tmp_path,
                          env=dict(os.environ, PYTHONPATH=str(REPO)), input=text.encode("latin-1"),
                          capture_output=True, timeout=60)
    assert done.returncode == 0 and done.stdout == text.encode("latin-1")


def test_stdin_filename_force_exclude_echoes_the_input(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.unfake-async]\nextend-exclude = ['gen/']\n")
    code, out, _ = cli("-", "--fix", "--force-exclude", "--stdin-filename", "gen/x.py",
                       cwd=tmp_path, stdin=SAFE.encode())
    assert code == 0 and out == SAFE


# Runs the CLI in-process, then says whether this process imported libcst (a warm-up worker
# forked for a directory, see codemod/engine/workers.py, imports it in its own process).
_MAIN_PROCESS_IMPORTS = """
import sys
from unfake_async.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print("libcst imported:", "libcst" in sys.modules)
"""


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_libcst_is_imported_only_when_a_file_needs_parsing(tmp_path, jobs):
    (tmp_path / "a.py").write_text('"""Serves requests."""\nasync def f():\n    pass\n')
    env = dict(os.environ, PYTHONPATH=str(REPO))
    command = [sys.executable, "-c", _MAIN_PROCESS_IMPORTS, str(tmp_path), "--no-cache", "--jobs", jobs]
    done = subprocess.run(command, env=env, capture_output=True, timeout=60, text=True)
    assert done.returncode == 0, done.stderr
    assert "libcst imported: False" in done.stdout
    (tmp_path / "b.py").write_text(CLEAN)
    done = subprocess.run(command, env=env, capture_output=True, timeout=60, text=True)
    # With one job the file is parsed here; with two, by the worker.
    assert f"libcst imported: {jobs == '1'}" in done.stdout, done.stdout + done.stderr
    # With one job nothing imports it speculatively either: no worker is forked.
    if jobs == "1":
        (tmp_path / "b.py").unlink()
        importtime = [sys.executable, "-X", "importtime", "-m", "unfake_async", str(tmp_path),
                      "--no-cache", "--jobs", "1"]
        done = subprocess.run(importtime, env=env, capture_output=True, timeout=60, text=True)
        assert done.returncode == 0 and "libcst" not in done.stderr


OFFLOADED = """\
import requests

from myapp.utils import run_blocking


async def fetch(hass, url):
    a = await run_blocking(requests.get, url)
    b = await hass.async_add_executor_job(requests.get, url)
    return a, b
"""


@needs_rules
def test_extra_offload_helpers_from_pyproject_are_recognised(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "app.py").write_text(OFFLOADED)
    code, out, _ = run_main(capsys, "app.py", "--no-cache")
    # Unknown helper (UFA012, its fix assumes how the helper calls it); built-in (UFA002).
    assert [line.split(" ")[1:2] + line.split(":")[1:2] for line in out.splitlines() if "UFA" in line] == [
        ["UFA012", "7"], ["UFA002", "8"]]
    (tmp_path / "pyproject.toml").write_text(
        "[tool.unfake-async]\nextra-offload-helpers = { 'myapp.utils.run_blocking' = 'call' }\n")
    code, out, _ = run_main(capsys, "app.py", "--no-cache")
    assert [line.split(" ")[1:2] + line.split(":")[1:2] for line in out.splitlines() if "UFA" in line] == [
        ["UFA002", "7"], ["UFA002", "8"]]


def test_on_a_terminal_rule_docs_are_rendered_markdown_and_diffs_coloured():
    import io

    from rich.console import Console

    from unfake_async.output.catalogue import print_rule
    from unfake_async.output.report import Sink

    if ALL_RULES:
        buffer = io.StringIO()
        console = Console(file=buffer, force_terminal=True, width=100)
        assert print_rule(console, ALL_RULES[0].id) is None
        rendered = buffer.getvalue()
        assert "\x1b[" in rendered and "```" not in rendered and "## What it does" not in rendered
        assert "What it does" in rendered
    terminal = io.StringIO()
    terminal.isatty = lambda: True
    sink = Sink(terminal)
    sink.color = True
    sink.console = Console(file=terminal, force_terminal=True, highlight=False)
    sink.lines(["[green]+added[/green]"], markup=True)
    sink.lines(["[*] 1 fixable"])  # plain text on a terminal: brackets are not markup
    text = terminal.getvalue()
    assert "\x1b[32m+added" in text and "[*] 1 fixable" in text


def test_a_reader_that_stops_reading_is_not_an_internal_error(tmp_path):
    # `unfake-async src/ | head`: more findings than a pipe holds (64 KB), the reader gone.
    calls = "".join(f"    requests.get(u + '/{number}')\n" for number in range(600))
    (tmp_path / "bot.py").write_text(f"import requests\n\n\nasync def f(u):\n{calls}")
    process = subprocess.Popen([sys.executable, "-m", "unfake_async", str(tmp_path), "--no-cache"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = process.stdout.read(100)
    process.stdout.close()
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=120) == 1
    assert b"UFA003" in first
    assert "internal error" not in stderr and "Traceback" not in stderr, stderr

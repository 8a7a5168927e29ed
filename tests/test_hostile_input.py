"""Hostile input through the real command line: every path the tool cannot check gives one clear
one-line error and exit 2, and touches nothing; odd but valid Python (a latin-1 coding cookie, a
BOM, CRLF or mixed newlines, tabs, an empty file) is fixed byte-faithfully; scanned code is never
imported or executed.

Each case builds a small tree: a fixable file, a clean file and the hostile entry, then runs
`--fix --unsafe-fixes`. Afterwards the fixable file (and only it) changed; every other file keeps
its bytes and mtime; no temporary file is left; files outside the tree are untouched.
Two `--fix` runs at once on one tree are covered by tests/test_engine_concurrency.py.
"""
from __future__ import annotations

import os
import pathlib
import re
import subprocess
import sys
from typing import Dict, Tuple

import pytest

from unfake_async import cli
from unfake_async.codemod.engine import fileio, runner
from unfake_async.codemod.engine.model import FixLevel
from unfake_async.codemod.engine.runner import Mode, RunOptions, run_files
from unfake_async.settings import Settings

FIXABLE = """\
import requests


async def fetch(url):
    return requests.get(url).json()
"""
CLEAN = "def add(a, b):\n    return a + b\n"

State = Dict[str, Tuple[bytes, int, int]]


def state(root: pathlib.Path) -> State:
    """Bytes (link text for symlinks), mtime and mode of every entry below `root`, by lstat."""
    found: State = {}
    for directory, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = os.path.join(directory, name)
            info = os.lstat(path)
            if os.path.islink(path):
                data = b"-> " + os.readlink(path).encode()
            elif os.path.isfile(path):
                try:
                    data = pathlib.Path(path).read_bytes()
                except OSError:
                    data = b"<unreadable>"
            else:
                data = b"<other>"
            found[os.path.relpath(path, root)] = (data, info.st_mtime_ns, info.st_mode)
    return found


def run_cli(cwd: pathlib.Path, *args: str) -> Tuple[int, str, str]:
    """The installed command in a subprocess (`-I`: no cwd or PYTHONPATH on sys.path)."""
    done = subprocess.run(
        [sys.executable, "-I", "-m", "unfake_async", *args, "--no-cache"],
        cwd=cwd, capture_output=True, timeout=300,
    )
    return done.returncode, done.stdout.decode(), done.stderr.decode()


@pytest.fixture
def cli_in_process(monkeypatch, capsys):
    """The same command line in this process (no interpreter start-up per case): (code, out, err)."""

    def run(cwd: pathlib.Path, *args: str) -> Tuple[int, str, str]:
        monkeypatch.chdir(cwd)
        capsys.readouterr()
        with pytest.raises(SystemExit) as exited:
            cli.main([*args, "--no-cache", "-j", "1"])
        captured = capsys.readouterr()
        return exited.value.code, captured.out, captured.err

    return run


def error_lines(err: str):
    return [line for line in err.splitlines() if ": error: " in line]


@pytest.fixture
def project(tmp_path):
    root = tmp_path / "proj"
    root.mkdir()
    (root / "fixme.py").write_text(FIXABLE)
    (root / "clean.py").write_text(CLEAN)
    return root


def assert_only_fixme_changed(root: pathlib.Path, before: State) -> None:
    after = state(root)
    assert sorted(after) == sorted(before), "files appeared or vanished (temp files?)"
    changed = sorted(p for p in before if before[p] != after[p])
    assert changed == ["fixme.py"]
    assert "await _http_client().get(url)" in (root / "fixme.py").read_text()


def assert_one_clear_error(err: str, path_suffix: str, message: str) -> None:
    assert "Traceback" not in err
    lines = error_lines(err)
    assert len(lines) == 1, err
    path, text = lines[0].split(": error: ", 1)
    assert path.endswith(path_suffix)
    assert re.search(message, text), text


# -- paths the tool cannot check: one line, exit 2, nothing touched ------------------------------

HUGE = 20 * 1024 * 1024


def _syntax_error(root):
    (root / "broken.py").write_text("import requests\n\nasync def f(:\n    requests.get(u)\n")
    return "broken.py", r"^syntax error at 3:13: invalid syntax$"


def _binary(root):
    (root / "blob.py").write_bytes(b"import requests\nasync def f(): pass\n\x00\x89PNG\r\n\x1a\n")
    return "blob.py", r"^binary file \(contains NUL bytes\); not checked$"


def _huge(root):
    head = FIXABLE.encode()
    (root / "huge.py").write_bytes(head + b"x = 1\n" * ((HUGE - len(head)) // 6 + 1))
    return "huge.py", r"^file too large \(21\.0 MB > 10 MB limit\); not checked$"


def _not_utf8(root):
    (root / "latin_no_cookie.py").write_bytes(b"import requests\nasync def f():\n    s = 'caf\xe9'\n")
    return "latin_no_cookie.py", r"^not valid UTF-8 \(byte \d+\) and no coding cookie .*; not checked$"


def _broken_symlink(root):
    (root / "ghost.py").symlink_to(root / "gone.py")
    return "ghost.py", r"^broken symlink; not checked$"


def _symlink_loop(root):
    (root / "sub").mkdir()
    (root / "sub" / "loop.py").symlink_to(root / "sub" / "loop.py")
    return "loop.py", r"^symlink loop; not checked$"


def _symlink_outside(root):
    outside = root.parent / "outside"
    outside.mkdir()
    (outside / "secret.py").write_text(FIXABLE)  # fixable: following the link would rewrite it
    (root / "ext.py").symlink_to(outside / "secret.py")
    return "ext.py", r"^symlink points outside the given paths; not followed"


def _fifo(root):
    os.mkfifo(root / "pipe.py")  # opening it blocking would hang the run forever
    return "pipe.py", r"^not a regular file; not checked$"


CANNOT_CHECK = {
    "syntax error": _syntax_error,
    "binary file named .py": _binary,
    "20 MB file": _huge,
    "latin-1 without a coding cookie": _not_utf8,
    "broken symlink": _broken_symlink,
    "symlink loop": _symlink_loop,
    "symlink outside the roots": _symlink_outside,
    "fifo named .py": _fifo,
}


@pytest.mark.parametrize("case", sorted(CANNOT_CHECK))
def test_cannot_check_is_one_line_exit_2_and_touches_nothing(project, case, cli_in_process):
    hostile, message = CANNOT_CHECK[case](project)
    before = state(project)
    outside_before = state(project.parent / "outside") if (project.parent / "outside").exists() else {}

    code, out, err = cli_in_process(project, ".", "--fix", "--unsafe-fixes")

    assert code == 2, (out, err)
    assert_one_clear_error(err, hostile, message)
    assert_only_fixme_changed(project, before)
    if outside_before:
        assert state(project.parent / "outside") == outside_before


def test_all_of_them_at_once_through_the_installed_command(project):
    """End to end in a subprocess: every hostile entry side by side, one error line each."""
    messages = {hostile: message for hostile, message in (make(project) for make in CANNOT_CHECK.values())}
    before = state(project)
    code, out, err = run_cli(project, ".", "--fix", "--unsafe-fixes")
    assert code == 2 and "Traceback" not in err, (out, err)
    lines = error_lines(err)
    assert len(lines) == len(messages), err
    for line in lines:
        path, text = line.split(": error: ", 1)
        assert re.search(messages[os.path.basename(path)], text), line
    assert_only_fixme_changed(project, before)


def _permissions_apply() -> bool:
    """False for root (or CAP_DAC_OVERRIDE), who reads a file whatever its mode."""
    import tempfile

    with tempfile.NamedTemporaryFile() as probe:
        os.chmod(probe.name, 0)
        try:
            open(probe.name, "rb").close()
        except PermissionError:
            return True
        return False


@pytest.mark.skipif(not _permissions_apply(), reason="this user reads files whatever their mode")
def test_unreadable_file_and_directory_for_real(project):
    (project / "secret.py").write_text(FIXABLE)
    (project / "locked").mkdir()
    (project / "locked" / "inner.py").write_text(FIXABLE)
    before = state(project)  # chmod changes no byte and no mtime
    os.chmod(project / "secret.py", 0)
    os.chmod(project / "locked", 0)
    try:
        code, _, err = run_cli(project, ".", "--fix", "--unsafe-fixes")
    finally:
        os.chmod(project / "secret.py", 0o644)
        os.chmod(project / "locked", 0o755)
    assert code == 2
    lines = sorted(error_lines(err))
    assert len(lines) == 2 and "Traceback" not in err
    assert re.search(r"locked: error: cannot read directory: Permission denied; not checked$", lines[0])
    assert re.search(r"secret.py: error: cannot read: Permission denied; not checked$", lines[1])
    assert (project / "secret.py").read_text() == FIXABLE
    assert_only_fixme_changed(project, before)


def test_unreadable_file_and_directory_as_seen_by_any_user(project, monkeypatch, cli_in_process):
    """What chmod 000 does for a non-root user, simulated so it also runs as root: the permission
    errors raised by the real open/scandir calls, through the whole command in-process."""
    (project / "secret.py").write_text(FIXABLE)
    (project / "locked").mkdir()
    (project / "locked" / "inner.py").write_text(FIXABLE)
    real_open, real_scandir = os.open, os.scandir

    def deny_open(path, *args, **kwargs):
        if os.path.basename(path) == "secret.py":
            raise PermissionError(13, "Permission denied", path)
        return real_open(path, *args, **kwargs)

    def deny_scandir(path="."):
        if os.path.basename(os.fspath(path)) == "locked":
            raise PermissionError(13, "Permission denied", path)
        return real_scandir(path)

    monkeypatch.setattr(fileio.os, "open", deny_open)
    monkeypatch.setattr("unfake_async.codemod.engine.discovery.os.scandir", deny_scandir)
    before = state(project)
    code, _, err = cli_in_process(project, ".", "--fix", "--unsafe-fixes")
    assert code == 2
    assert sorted(error_lines(err)) == [
        "./locked: error: cannot read directory: Permission denied; not checked",
        "./secret.py: error: cannot read: Permission denied; not checked",
    ]
    assert_only_fixme_changed(project, before)


def test_file_changed_between_read_and_write_is_not_overwritten(tmp_path):
    """An editor saves while the analysis runs: the fix is dropped with a one-line error."""
    target = tmp_path / "app.py"
    target.write_text(FIXABLE)
    edited = FIXABLE + "# saved by an editor meanwhile\n"

    def analyze_while_someone_saves(source, *, path, settings, fix_level):
        result = runner.default_analyze(source, path=path, settings=settings, fix_level=fix_level)
        pathlib.Path(path).write_text(edited)
        return result

    result = run_files([str(target)], Settings(), RunOptions(mode=Mode.FIX, fix_level=FixLevel.UNSAFE, jobs=1),
                       analyze=analyze_while_someone_saves)
    assert result.errors() == [(str(target), "fix not written: changed on disk since it was read; "
                                             "not overwritten (run again)")]
    assert target.read_text() == edited
    assert os.listdir(tmp_path) == ["app.py"]  # the temp file is gone
    assert cli.exit_code(result) == 2


# -- odd but valid Python: fixed, byte-faithfully ------------------------------------------------

VALID = {
    "latin-1 with a coding cookie": (
        "latin.py",
        b"# -*- coding: latin-1 -*-\nimport requests\n\n\nasync def f(u):\n"
        b"    s = 'caf\xe9'  # \xe9t\xe9\n    return requests.get(u + s)\n",
    ),
    "UTF-8 BOM": ("bom.py", b"\xef\xbb\xbf" + FIXABLE.encode()),
    "CRLF": ("crlf.py", FIXABLE.replace("\n", "\r\n").encode()),
    "mixed newlines": ("mixed.py", b"import requests\r\n\n\nasync def fetch(url):\n    return requests.get(url).json()\r\n"),
    "tabs": ("tabs.py", FIXABLE.replace("    ", "\t").encode()),
}


@pytest.mark.parametrize("case", sorted(VALID))
def test_odd_but_valid_files_are_fixed_faithfully(tmp_path, case, cli_in_process):
    name, data = VALID[case]
    path = tmp_path / name
    path.write_bytes(data)
    os.chmod(path, 0o640)

    code, out, err = cli_in_process(tmp_path, ".", "--fix", "--unsafe-fixes")

    assert code == 0 and error_lines(err) == [], (out, err)
    fixed = path.read_bytes()
    assert fixed != data and b"httpx" in fixed
    compile(fixed, name, "exec", dont_inherit=True)  # bytes: the cookie/BOM decide the decoding
    assert os.stat(path).st_mode & 0o777 == 0o640
    if case.startswith("latin-1"):
        assert b"s = 'caf\xe9'  # \xe9t\xe9\n" in fixed and fixed.startswith(b"# -*- coding: latin-1")
    if case == "UTF-8 BOM":
        assert fixed.startswith(b"\xef\xbb\xbf") and fixed.count(b"\xef\xbb\xbf") == 1
    if case == "CRLF":
        assert fixed.count(b"\n") == fixed.count(b"\r\n")
    if case == "mixed newlines":
        assert fixed.startswith(b"import ") and b"async def fetch(url):\n" in fixed
    if case == "tabs":
        assert b"\n\treturn (await " in fixed  # the edited function keeps its tab indentation
    mtime = os.stat(path).st_mtime_ns
    again = cli_in_process(tmp_path, ".", "--fix", "--unsafe-fixes")
    assert again[0] == 0 and path.read_bytes() == fixed and os.stat(path).st_mtime_ns == mtime


def test_empty_file_is_clean_and_untouched(project, cli_in_process):
    (project / "empty.py").write_bytes(b"")
    (project / "fixme.py").unlink()
    before = state(project)
    code, out, err = cli_in_process(project, ".", "--fix", "--unsafe-fixes")
    assert code == 0 and err.count("error") == 0, (out, err)
    assert state(project) == before


# -- scanned code is data, never run -------------------------------------------------------------

EVIL = """\
import pathlib, sys
pathlib.Path({marker!r}).write_text(__name__)
sys.exit(7)
"""


@pytest.mark.parametrize("how", ["python -m", "console script"])
def test_scanned_code_is_never_imported_or_executed(tmp_path, how):
    marker = tmp_path / "EXECUTED"
    tree = tmp_path / "proj"
    tree.mkdir()
    evil = EVIL.format(marker=str(marker))
    # Named like the tool's own dependencies, plus the files other tools execute.
    for name in ("rich.py", "typer.py", "libcst.py", "httpx.py", "pathspec.py", "conftest.py",
                 "setup.py", "sitecustomize.py", "__init__.py"):
        (tree / name).write_text(evil)
    (tree / "app.py").write_text("import requests\n" + evil + "\n\nasync def f(u):\n    return requests.get(u)\n")
    if how == "python -m":  # no -I: `python -m` puts the cwd first on sys.path
        command = [sys.executable, "-m", "unfake_async"]
    else:
        script = pathlib.Path(sys.executable).parent / "unfake-async"
        if not script.exists():
            pytest.skip("console script not installed in this environment")
        command = [str(script)]
    for mode in ([], ["--fix", "--unsafe-fixes"]):
        done = subprocess.run(command + [".", "--no-cache", *mode], cwd=tree,
                              capture_output=True, text=True, timeout=300)
        assert not marker.exists(), f"scanned code ran as {marker.read_text()!r}"
        assert done.returncode in (0, 1), done.stderr
    # It was analysed and fixed, as data (onto the package's client module, which the fix wrote).
    assert "await http_client().get(u)" in (tree / "app.py").read_text()
    assert "def http_client()" in (tree / "_http_client.py").read_text()

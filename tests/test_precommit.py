"""The pre-commit hooks for real: `pre-commit try-repo <this checkout>` in a throwaway git repo.

pre-commit installs this checkout's HEAD commit (not uncommitted edits: `--ref` pins it so the
hook environment is built once and shared by both hooks) into a virtualenv with pip, so the
test needs the package registry. It fails on the fake-async file, the fix hook rewrites it with
a safe fix, and then the lint hook passes.
"""
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

from unfake_async.rules import ALL_RULES

REPO = pathlib.Path(__file__).resolve().parent.parent

FAKE_ASYNC = """\
import requests


async def fetch(url):
    try:
        return requests.get(url).json()
    except Exception:
        return None
"""

pytestmark = [
    pytest.mark.skipif(not ALL_RULES, reason="no UFA rules registered yet"),
    pytest.mark.skipif(not (REPO / ".git").exists(), reason="needs this checkout as a git repo"),
    pytest.mark.skipif(shutil.which("git") is None, reason="needs git"),
]


def git(*args, cwd):
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
                   cwd=cwd, check=True, capture_output=True, timeout=60)


def test_hooks_fail_on_fake_async_and_pass_after_the_fix_hook(tmp_path):
    pytest.importorskip("pre_commit")
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True,
                          text=True, check=True).stdout.strip()
    project = tmp_path / "project"
    project.mkdir()
    (project / "app.py").write_text(FAKE_ASYNC)
    (project / "excluded").mkdir()
    (project / "excluded" / "legacy.py").write_text(FAKE_ASYNC)
    (project / "pyproject.toml").write_text("[tool.unfake-async]\nextend-exclude = ['excluded/']\n")
    git("init", "-q", cwd=project)
    git("add", ".", cwd=project)
    git("commit", "-q", "-m", "init", cwd=project)
    env = dict(os.environ, PRE_COMMIT_HOME=str(tmp_path / "pre-commit-home"), NO_COLOR="1")
    env.pop("PYTHONPATH", None)

    def try_repo(hook):
        done = subprocess.run(
            [sys.executable, "-m", "pre_commit", "try-repo", str(REPO), hook, "--ref", head,
             "--all-files", "--color", "never"],
            cwd=project, env=env, capture_output=True, text=True, timeout=600,
        )
        return done.returncode, done.stdout + done.stderr

    code, output = try_repo("unfake-async")
    assert code == 1, output
    assert "app.py:6:16: UFA003" in output
    assert "legacy.py" not in output  # named by pre-commit, but excluded (--force-exclude)

    code, output = try_repo("unfake-async-fix")
    assert code == 1, output  # pre-commit fails a hook that modified files
    assert "files were modified by this hook" in output
    fixed = (project / "app.py").read_text()
    assert "import requests" not in fixed and "await _http_client().get(url)" in fixed
    assert (project / "excluded" / "legacy.py").read_text() == FAKE_ASYNC

    git("add", ".", cwd=project)
    code, output = try_repo("unfake-async")
    assert code == 0, output

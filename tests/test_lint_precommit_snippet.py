"""The `repo: local` pre-commit snippet of docs/lint.md, run for real with `pre-commit run`.

The snippet is read from the docs (so the docs cannot drift from what works), written into a
throwaway git repository with a fake-async file and an excluded one, and run with the
`unfake-async` of this environment on PATH. No hook environment is built (language: system),
so this needs neither the network nor a package registry.
"""
import os
import pathlib
import re
import shutil
import subprocess
import sys

import pytest

from tests.test_cli import UNSAFE
from tests.test_precommit import FAKE_ASYNC, git
from unfake_async.rules import ALL_RULES

REPO = pathlib.Path(__file__).resolve().parent.parent
DOCS = REPO / "docs" / "lint.md"

pytestmark = [
    pytest.mark.skipif(not ALL_RULES, reason="no UFA rules registered yet"),
    pytest.mark.skipif(shutil.which("git") is None, reason="needs git"),
]


def documented_local_config(path=DOCS) -> str:
    blocks = re.findall(r"```yaml\n(.*?)```", path.read_text(), flags=re.S)
    local = [block for block in blocks if "repo: local" in block]
    assert len(local) == 1, f"{path.name} should show one `repo: local` snippet"
    return local[0]


def test_readme_shows_the_same_local_hooks_as_the_docs():
    yaml = pytest.importorskip("yaml")  # comes with pre-commit
    readme = yaml.safe_load(documented_local_config(REPO / "README.md"))
    assert readme == yaml.safe_load(documented_local_config())
    hooks = readme["repos"][0]["hooks"]
    assert [hook["id"] for hook in hooks] == ["unfake-async-fix", "unfake-async"]


def test_the_documented_local_hooks_fail_fix_and_then_pass(tmp_path):
    pytest.importorskip("pre_commit")
    bin_dir = pathlib.Path(sys.executable).parent
    if not (bin_dir / "unfake-async").exists():
        pytest.skip("the unfake-async console script is not installed next to this Python")
    project = tmp_path / "project"
    (project / "excluded").mkdir(parents=True)
    (project / "app.py").write_text(FAKE_ASYNC)
    (project / "excluded" / "legacy.py").write_text(FAKE_ASYNC)
    (project / "pyproject.toml").write_text("[tool.unfake-async]\nextend-exclude = ['excluded/']\n")
    (project / ".pre-commit-config.yaml").write_text(documented_local_config())
    git("init", "-q", cwd=project)
    git("add", ".", cwd=project)
    git("commit", "-q", "-m", "init", cwd=project)
    env = dict(os.environ, PRE_COMMIT_HOME=str(tmp_path / "pre-commit-home"), NO_COLOR="1",
               PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")

    def run(*hook):
        done = subprocess.run(
            [sys.executable, "-m", "pre_commit", "run", *hook, "--all-files", "--color", "never"],
            cwd=project, env=env, capture_output=True, text=True, timeout=300,
        )
        return done.returncode, done.stdout + done.stderr

    code, output = run("unfake-async")
    assert code == 1, output
    assert "app.py:6:16: UFA003" in output
    assert "legacy.py" not in output  # named by pre-commit, excluded by the config

    code, output = run()  # both hooks, in the documented order: fix, then lint
    assert code == 1, output
    assert "files were modified by this hook" in output
    fixed = (project / "app.py").read_text()
    assert "await _http_client().get(url)" in fixed and "import requests" not in fixed
    assert (project / "excluded" / "legacy.py").read_text() == FAKE_ASYNC

    git("add", ".", cwd=project)
    code, output = run()
    assert code == 0, output

    # A finding whose fix is unsafe: the fix hook leaves it (and passes, having changed
    # nothing); the lint hook reports it.
    (project / "unsafe.py").write_text(UNSAFE)
    git("add", ".", cwd=project)
    code, output = run()
    assert code == 1 and "unsafe.py:5:12: UFA003" in output, output
    assert re.search(r"^unfake-async \(fix\)\.+Passed$", output, flags=re.M), output
    assert re.search(r"^unfake-async\.+Failed$", output, flags=re.M), output
    assert (project / "unsafe.py").read_text() == UNSAFE


def test_the_local_snippet_runs_the_same_commands_as_the_shipped_hooks():
    yaml = pytest.importorskip("yaml")
    shipped = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    local = yaml.safe_load(documented_local_config())["repos"][0]["hooks"]
    assert {hook["id"]: hook["entry"] for hook in shipped} == {
        hook["id"]: hook["entry"] for hook in local}
    for hook in shipped:
        assert "--force-exclude" in hook["entry"].split()

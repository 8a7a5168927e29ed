"""The layout is a contract: the codemod's rooms import one way and no folder grows unreadable.

The layers themselves are written in `[tool.importlinter]` of pyproject.toml and checked by
import-linter's `lint-imports`; docs/architecture.md explains them.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "unfake_async"
MAX_MODULES_PER_FOLDER = 15


def _lint_imports() -> str:
    found = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    if found is None:
        pytest.fail("lint-imports is not installed: it is in the test extra (pip install -e '.[test]')")
    return found


def test_import_layers_contract_is_kept():
    done = subprocess.run([_lint_imports(), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "0 broken" in done.stdout


def test_a_wrong_way_import_breaks_the_contract(tmp_path):
    """The contract can fail: the engine importing a pass is reported as broken."""
    tree = tmp_path / "tree"
    shutil.copytree(PACKAGE, tree / "unfake_async", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tree / "pyproject.toml")
    runner = tree / "unfake_async/codemod/engine/runner.py"
    runner.write_text(runner.read_text() + "\nfrom unfake_async.codemod.passes import core  # noqa: E402,F401\n")
    done = subprocess.run([_lint_imports(), "--no-cache"], cwd=tree, capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"})
    assert done.returncode != 0
    assert "BROKEN" in done.stdout
    assert "unfake_async.codemod.engine.runner -> unfake_async.codemod.passes.core" in done.stdout


def test_no_folder_holds_more_than_fifteen_modules():
    crowded = {}
    for folder in [PACKAGE, *PACKAGE.rglob("*")]:
        if folder.is_dir() and folder.name != "__pycache__":
            count = len(list(folder.glob("*.py")))
            if count > MAX_MODULES_PER_FOLDER:
                crowded[str(folder.relative_to(ROOT))] = count
    assert not crowded, crowded

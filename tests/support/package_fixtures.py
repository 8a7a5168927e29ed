"""Package fixtures: `fixtures/<case>/before/` is a tree of modules (a package or more), and
`after/` the tree the codemod makes of it, new files included (the project's client module).

A case may hold `settings.toml` (a `[tool.unfake-async]` table, as for one-file fixtures). The
tree is migrated the way `unfake-async <dir> --fix --unsafe-fixes` does it: every file, one run,
through the engine's runner, so that the files a fix creates are written as the CLI writes them.
"""
from __future__ import annotations

import pathlib
import shutil
from typing import Dict, Iterable, Optional

from tests.support.fixture_settings import fixture_settings
from unfake_async.codemod.engine.model import FixLevel
from unfake_async.codemod.engine.runner import Mode, RunOptions, RunResult, run_files
from unfake_async.settings import Settings

FIXTURES = pathlib.Path(__file__).resolve().parents[2] / "fixtures"


def package_cases() -> list:
    return sorted(p.name for p in FIXTURES.iterdir() if (p / "before").is_dir())


def python_files(root: pathlib.Path) -> list:
    return sorted(str(p) for p in root.rglob("*.py"))


def migrate(root: pathlib.Path, settings: Optional[Settings] = None, files: Optional[Iterable[str]] = None,
            mode: str = Mode.FIX) -> RunResult:
    """Run the codemod over `files` (default: every .py file under `root`) in place."""
    options = RunOptions(mode=mode, fix_level=FixLevel.UNSAFE, jobs=1, root=str(root))
    return run_files(list(files) if files is not None else python_files(root), settings or Settings(), options)


def case_settings(case: str) -> Optional[Settings]:
    return fixture_settings(FIXTURES / case)


def copy_before(case: str, destination: pathlib.Path) -> pathlib.Path:
    shutil.copytree(FIXTURES / case / "before", destination)
    return destination


def tree_texts(root: pathlib.Path) -> Dict[str, str]:
    """Every file under `root` (caches left out) by its relative path."""
    return {
        str(p.relative_to(root)): p.read_text()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }

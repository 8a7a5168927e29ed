"""Per-fixture settings: `fixtures/<case>/settings.toml` holds a `[tool.unfake-async]` table."""
from __future__ import annotations

import pathlib
import sys
from typing import Optional

from unfake_async.config import config_from_table
from unfake_async.settings import Settings

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def fixture_settings(case_dir: pathlib.Path) -> Optional[Settings]:
    path = case_dir / "settings.toml"
    if not path.exists():
        return None
    table = tomllib.loads(path.read_text())["tool"]["unfake-async"]
    return config_from_table(table, path=str(path)).settings

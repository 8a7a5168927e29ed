"""Per-fixture settings: `fixtures/<case>/settings.toml` holds a `[tool.unfake-async]` table; the
line length is the one the CLI would find for the fixture (this repository's `[tool.ruff]`)."""
from __future__ import annotations

import pathlib
import sys
import dataclasses

from unfake_async.config import config_from_table, project_line_length
from unfake_async.settings import Settings

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def fixture_settings(case_dir: pathlib.Path) -> Settings:
    path = case_dir / "settings.toml"
    settings = Settings()
    if path.exists():
        table = tomllib.loads(path.read_text())["tool"]["unfake-async"]
        settings = config_from_table(table, path=str(path)).settings
        if "line-length" in table:
            return settings
    return dataclasses.replace(settings, line_length=project_line_length(str(case_dir)) or 88)

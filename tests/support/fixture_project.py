"""What the rest of a fixture's folder tells its module: a case folder with an `__init__.py` is a
package, and its other modules (`utils.py`, `api.py`) are read as a run over the folder would
read them (`analysis.project.ProjectIndex`). Single-module cases get the facts of before.py itself."""
from __future__ import annotations

import pathlib

from unfake_async.codemod.analysis.project import ProjectIndex


def fixture_facts(case_dir: pathlib.Path, filename: str, text: str):
    return ProjectIndex().facts_for(str(case_dir / filename), text) or None

"""Which packages the migrated code imports that the project does not declare.

The generated client imports its target (httpx or httpx2) and, with the default transport,
aiohttp. A project moving off requests often declares neither, and the migrated code then fails
at import time on the next deploy. The run says so once, naming the package and the version
range the generated code needs (`missing_requirements`).

"Declared" is read from the project root's usual files, by name only (no resolver): pyproject.toml
(PEP 621 dependencies and optional dependencies, PEP 735 dependency groups, Poetry), setup.cfg,
setup.py, and requirements*.txt at the root or in a requirements/ folder.
"""
from __future__ import annotations

import glob
import os
import re
import sys
from typing import Iterable, List, Optional, Set, Tuple

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.9/3.10 only
    import tomli as tomllib

# What the generated code needs of each library it may import: the oldest release with every API it
# uses (aiohttp 3.10 added the timeout exception classes the transport maps to httpx's).
REQUIRED_VERSIONS = {"httpx": ">=0.27", "httpx2": ">=2.16", "aiohttp": ">=3.10"}
_TOP_LEVEL_IMPORT = re.compile(r"^(?:import|from)\s+([A-Za-z_]\w*)", re.MULTILINE)
# A requirement's name at the start of a requirement string (PEP 508), quoted or not.
_REQUIREMENT_NAME = re.compile(r"""^\s*["']?([A-Za-z0-9][A-Za-z0-9._-]*)""")


def added_imports(original: str, fixed: str) -> Tuple[str, ...]:
    """Top-level packages the fix imports that the original did not, among REQUIRED_VERSIONS."""
    before = set(_TOP_LEVEL_IMPORT.findall(original))
    return tuple(sorted(name for name in set(_TOP_LEVEL_IMPORT.findall(fixed)) - before
                        if name in REQUIRED_VERSIONS))


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _names(requirements: Iterable[object]) -> Set[str]:
    names = set()
    for requirement in requirements:
        if isinstance(requirement, str):
            match = _REQUIREMENT_NAME.match(requirement)
            if match:
                names.add(_normalise(match.group(1)))
    return names


def _from_pyproject(path: str) -> Set[str]:
    try:
        with open(path, "rb") as handle:
            document = tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError):
        return set()
    project = document.get("project", {})
    lists: List[object] = list(project.get("dependencies", []))
    for extra in project.get("optional-dependencies", {}).values():
        lists += list(extra)
    for group in document.get("dependency-groups", {}).values():
        lists += list(group)
    names = _names(lists)
    poetry = document.get("tool", {}).get("poetry", {})
    tables = [poetry.get("dependencies", {}), poetry.get("dev-dependencies", {})]
    tables += [group.get("dependencies", {}) for group in poetry.get("group", {}).values()]
    for table in tables:
        names |= {_normalise(name) for name in table}
    return names


def _from_text_lines(path: str) -> Set[str]:
    """requirements.txt, and setup.cfg / setup.py read loosely: any line naming a requirement."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            lines = handle.read().splitlines()
    except OSError:
        return set()
    if path.endswith(".txt"):
        return _names(line for line in lines if not line.lstrip().startswith(("#", "-")))
    # setup.cfg / setup.py: a requirement is a string or an indented line; take every candidate.
    return _names(part for line in lines for part in re.split(r"[\[,(=]", line))


def declared_packages(root: str) -> Set[str]:
    """Normalised names of every package the project at `root` declares."""
    names = _from_pyproject(os.path.join(root, "pyproject.toml"))
    text_files = [os.path.join(root, name) for name in ("setup.cfg", "setup.py")]
    text_files += glob.glob(os.path.join(root, "requirements*.txt"))
    text_files += glob.glob(os.path.join(root, "requirements", "*.txt"))
    for path in text_files:
        names |= _from_text_lines(path)
    return names


def missing_requirements(imported: Iterable[str], root: str) -> List[str]:
    """`name>=version` for each package in `imported` the project at `root` does not declare."""
    wanted = sorted(set(imported))
    if not wanted:
        return []
    declared = declared_packages(root)
    return [f"{name}{REQUIRED_VERSIONS[name]}" for name in wanted if _normalise(name) not in declared]


def requirements_note(imported: Iterable[str], root: str) -> Optional[str]:
    """One line for the run's output, or None when the project declares everything needed."""
    missing = missing_requirements(imported, root)
    if not missing:
        return None
    return (f"The migrated code imports {', '.join(missing)}, which this project does not declare "
            f"(pyproject.toml, setup.cfg/setup.py, requirements*.txt): add "
            f"{' and '.join(repr(m) for m in missing)} to its dependencies.")

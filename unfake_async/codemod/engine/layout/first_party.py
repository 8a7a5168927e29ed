"""Which top-level names ruff's isort counts as first party for a file."""
from __future__ import annotations

import os
from functools import lru_cache
from typing import FrozenSet, Optional


@lru_cache(maxsize=64)
def _first_party_in(root: str) -> FrozenSet[str]:
    names = set()
    for folder in (root, os.path.join(root, "src")):
        try:
            entries = os.listdir(folder)
        except OSError:
            continue
        for entry in entries:
            if entry.endswith(".py"):
                names.add(entry[:-3])
            elif os.path.isdir(os.path.join(folder, entry)) and entry.isidentifier():
                names.add(entry)
    return frozenset(names)


def _own_top_package(directory: str) -> Optional[str]:
    """The top-level package a file in `directory` belongs to (the outermost of the folders
    with an `__init__.py` above it, through namespace folders without one, as the migration's
    client_source.py finds it), or None for a file outside any package."""
    while not os.path.exists(os.path.join(directory, "__init__.py")):
        parent = os.path.dirname(directory)
        if parent == directory or any(os.path.exists(os.path.join(directory, marker))
                                      for marker in ("pyproject.toml", "setup.py", "setup.cfg", ".git")):
            return None
        directory = parent
    top = None
    while os.path.exists(os.path.join(directory, "__init__.py")):
        top = os.path.basename(directory)
        parent = os.path.dirname(directory)
        if parent == directory:
            break
        directory = parent
    return top if top and top.isidentifier() else None


def first_party_names(path: Optional[str]) -> FrozenSet[str]:
    """Top-level names ruff counts as first party: modules and packages in the project root or
    its `src/` (ruff's default `src = [".", "src"]`); the root is where pyproject.toml or .git is.
    The file's own top-level package counts too, found or not: the project's client module is
    imported from it (`from shop._http_client import ...`), and ruff, run from the folder that
    holds the package (its default project root), places that import as first party."""
    if not path or path.startswith("<"):
        return frozenset()
    directory = os.path.dirname(os.path.abspath(path))
    own = _own_top_package(directory)
    names = frozenset([own]) if own else frozenset()
    while True:
        if any(os.path.exists(os.path.join(directory, marker)) for marker in ("pyproject.toml", ".git")):
            return _first_party_in(directory) | names
        parent = os.path.dirname(directory)
        if parent == directory:
            return names
        directory = parent

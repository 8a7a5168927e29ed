"""Where a migrated module gets its client: its own code, the project's client module, or an
accessor the project already has.

- "project" (the default inside a package): one module, `_http_client.py` in the top-level
  package of the migrated file (or the `client-module` path), holds the factory, the transport
  and the per-event-loop accessor (`project_client.py` writes it); every migrated module imports
  `http_client` from it. The first fix creates the module (the engine writes it beside the fix,
  atomically); later runs find it and only import it.
- "accessor" (`client = "pkg.http:get_client"`): the project's own accessor is imported and
  called; no client code is written, and requests' behaviour is written out per call.
- "inline": the module gets a client of its own (`client.py`), as before: a file outside any
  package (a script, stdin without a name), `client-module = "inline"`, or where the project's
  module cannot be used (its name is taken in the file, the file there is not ours).

The decision depends on the file's place and on the disk (a few stat calls, made per pass:
the module may be created between two runs of one process).
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Dict, Optional

from unfake_async.settings import Settings

INLINE, PROJECT, ACCESSOR = "inline", "project", "accessor"
MODULE_FILENAME = "_http_client.py"
# The names the project module offers (project_client.py); importers use ACCESSOR_NAME/FACTORY_NAME.
ACCESSOR_NAME = "http_client"
FACTORY_NAME = "new_client"


@dataclass(frozen=True)
class ClientSource:
    kind: str
    # The module to import the accessor from ("pkg._http_client"), and the accessor's name.
    module: Optional[str] = None
    accessor: Optional[str] = None
    # PROJECT: the module's file, and its text when it does not exist yet (the fix creates it).
    file: Optional[str] = None
    new_file_text: Optional[str] = None

    @property
    def shared(self) -> bool:
        """Module code (and classes without state of their own) use a client defined elsewhere."""
        return self.kind != INLINE

    @property
    def call_code(self) -> str:
        return f"{self.accessor}()"

    @property
    def has_factory(self) -> bool:
        """The project module also offers `new_client()` for clients with state of their own."""
        return self.kind == PROJECT

    def created_files(self, code: str) -> Dict[str, str]:
        """The files the rewritten `code` needs: the project module, when it imports it and the
        module does not exist yet."""
        if self.new_file_text is None or self.file is None or self.module not in code:
            return {}
        return {self.file: self.new_file_text}


INLINE_SOURCE = ClientSource(INLINE)


def client_source(settings: Settings, path: str) -> ClientSource:
    return _resolve(settings, os.path.abspath(path) if _is_file_path(path) else None)


def _is_file_path(path: str) -> bool:
    return bool(path) and path not in ("-", "<stdin>") and path.endswith(".py")


def _resolve(settings: Settings, path: Optional[str]) -> ClientSource:
    if settings.client:
        module, _, accessor = settings.client.partition(":")
        return ClientSource(ACCESSOR, module=module, accessor=accessor)
    if settings.client_module == "inline" or path is None:
        return INLINE_SOURCE
    if settings.client_module == "auto":
        package = _top_level_package(os.path.dirname(path))
        if package is None:
            return INLINE_SOURCE  # a script: nothing to share a module with
        file = os.path.join(package, MODULE_FILENAME)
    else:
        file = settings.client_module
    if os.path.normcase(file) == os.path.normcase(path):
        return INLINE_SOURCE
    module = _module_name(file)
    if os.path.exists(file):
        if not _is_project_module(file):
            return INLINE_SOURCE  # someone else's module of that name: leave it alone
        return ClientSource(PROJECT, module=module, accessor=ACCESSOR_NAME, file=file)
    from unfake_async.codemod.migrate.project_client import project_module_code

    return ClientSource(PROJECT, module=module, accessor=ACCESSOR_NAME, file=file,
                        new_file_text=project_module_code(settings))


def for_module(source: ClientSource, text: str) -> ClientSource:
    """`source`, unless the accessor's name is already bound to something else in `text`."""
    if not source.shared:
        return source
    ours = re.compile(rf"^\s*from\s+{re.escape(source.module or '')}\s+import\s+.*\b{source.accessor}\b", re.M)
    used = re.compile(rf"(?<![.\w]){re.escape(source.accessor or '')}\b")
    if used.search(ours.sub("", text)):
        return INLINE_SOURCE
    return source


_PROJECT_ROOT_MARKERS = ("pyproject.toml", "setup.py", "setup.cfg", ".git")


def _top_level_package(directory: str) -> Optional[str]:
    """The outermost directory of the package chain `directory` is in (each has __init__.py).

    A folder without `__init__.py` inside a package is a namespace package (PEP 420) and
    imports the same way (`open_webui/routers/ollama.py` is `open_webui.routers.ollama`): the
    search goes up through such folders to the package above them, but not past the project's
    root (pyproject.toml, setup.py/setup.cfg or .git), so a script folder stays a script."""
    while not os.path.isfile(os.path.join(directory, "__init__.py")):
        parent = os.path.dirname(directory)
        if parent == directory or any(os.path.exists(os.path.join(directory, marker))
                                      for marker in _PROJECT_ROOT_MARKERS):
            return None
        directory = parent
    while True:
        parent = os.path.dirname(directory)
        if parent == directory or not os.path.isfile(os.path.join(parent, "__init__.py")):
            return directory
        directory = parent


def _module_name(file: str) -> str:
    """The import name of `file`: its packages (directories with __init__.py) and its stem."""
    parts = [os.path.splitext(os.path.basename(file))[0]]
    directory = os.path.dirname(file)
    while os.path.isfile(os.path.join(directory, "__init__.py")):
        parts.insert(0, os.path.basename(directory))
        parent = os.path.dirname(directory)
        if parent == directory:
            break
        directory = parent
    return ".".join(parts)


def _is_project_module(file: str) -> bool:
    try:
        with open(file, encoding="utf-8", errors="replace") as handle:
            text = handle.read(200_000)
    except OSError:
        return False
    return re.search(rf"^def {ACCESSOR_NAME}\(", text, re.M) is not None

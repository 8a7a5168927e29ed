"""Helpers made `async def` across modules: one decision per helper for the whole run.

`from .utils import fetch_json`, then `await loop.run_in_executor(None, fetch_json, url)` or
`fetch_json(url)` inside `async def`: the fix makes `fetch_json` `async def` in utils.py (its
requests calls migrated) and awaits it in every file that runs it. It is one change over several
files, made whole or not at all, so it is decided here, for the run, in rounds driven by the
runner (`ProjectIndex.settle`):

1. Each file that runs another module's helper from async code says whether it can make its part
   (every reference to the imported name is a use it can await; `passes/sync_helpers`).
2. The helper is then decided once: it becomes `async def` only when its module is a file of this
   run; it is not public API (listed in its module's `__all__`, or imported by a package's
   `__init__.py`); and every other module of the tree that imports it is a file of this run
   whose every use can be awaited. Anything else is the reason the findings give. The "tree" is
   the files of the run and the `.py` files of the helper's own package (and its subpackages)
   on disk, whose text is searched for the helper's name and read with `ast` only where it is
   found.
3. The helper's module and its callers are analysed again with the decision. When any of them
   cannot make its part after all (the core cannot migrate a requests call in the helper, a use
   is suppressed), the decision is withdrawn and they are analysed once more, unchanged.

A method of a class in another module (`api.web_login` after `api = StationApi(...)`) is not
decided here: the objects that call it cannot all be found.
"""
from __future__ import annotations

import ast
import os
from typing import Dict, FrozenSet, Iterable, List, Optional, Set, Tuple

from unfake_async.codemod.analysis.import_text import absolute_module as _absolute

_SKIPPED_DIRECTORIES = frozenset({"__pycache__", "node_modules", "site-packages"})


class Links:
    """The run's decisions on cross-module helpers (see the module's docstring)."""

    def __init__(self, index, files: FrozenSet[str]) -> None:
        self.index = index
        self.files = files
        self.decisions: Dict[str, str] = {}  # helper -> "" (make it async) or why not
        self.involved: Dict[str, Set[str]] = {}  # helper -> the paths of its module and callers
        self.module_paths: Dict[str, str] = {}  # helper -> its module's path

    def settle(self, parts: Dict[str, Dict[str, Optional[str]]]) -> FrozenSet[str]:
        by_helper: Dict[str, Dict[str, Optional[str]]] = {}
        for path, helpers in parts.items():
            for helper, reason in helpers.items():
                by_helper.setdefault(helper, {})[os.path.abspath(path)] = reason
        new = [helper for helper in by_helper if helper not in self.decisions]
        for helper in new:
            self._locate(helper, by_helper[helper])
        references = _References(self, new) if new else None
        changed: Set[str] = set()
        for helper, said in by_helper.items():
            before = self.decisions.get(helper)
            if before is None:
                decision = self._decide(helper, said, references)
            elif before == "":
                decision = self._confirm(helper, said)
            else:
                decision = before  # withdrawn decisions stay withdrawn
            involved = self.involved.setdefault(helper, set())
            involved |= set(said)
            if helper in self.module_paths and self.module_paths[helper] in self.files:
                involved.add(self.module_paths[helper])
            if decision != before:
                self.decisions[helper] = decision
                changed |= involved
        return frozenset(changed)

    def decisions_for(self, path: str) -> Tuple[Tuple[str, str, Tuple[str, ...]], ...]:
        path = os.path.abspath(path)
        found = []
        for helper, decision in sorted(self.decisions.items()):
            if path in self.involved.get(helper, ()):
                callers = sorted(self._relative(helper, p) for p in self.involved[helper]
                                 if p != self.module_paths.get(helper))
                found.append((helper, decision, tuple(callers)))
        return tuple(found)

    # -- deciding --------------------------------------------------------------------------------
    def _locate(self, helper: str, said: Dict[str, Optional[str]]) -> None:
        """The path of the helper's module, found from its callers' import root."""
        root = self._root(said)
        module = self.index.module(root, helper.rpartition(".")[0]) if root is not None else None
        if module is not None:
            self.module_paths[helper] = os.path.abspath(module.path)

    def _decide(self, helper: str, said: Dict[str, Optional[str]], references: "_References") -> str:
        module_name, _, name = helper.rpartition(".")
        module = self.index.module(self._root(said), module_name) if helper in self.module_paths else None
        if module is None:
            return f"`{name}` is defined outside the checked tree"
        where = self._relative(helper, module.path)
        if self.module_paths[helper] not in self.files:
            return (f"`{name}` is defined in {where}, which is not among the files of this run: read, not fixed "
                    "(run on the whole tree to make it `async def` there and await it here)")
        summary = module.summary_for(False)
        if summary is not None and summary.all_names is not None and name in summary.all_names:
            return f"`{name}` is public API (in `__all__` of {where}): callers outside this tree would have to await it"
        refusals = [(path, reason) for path, reason in sorted(said.items()) if reason]
        if refusals:
            path, reason = refusals[0]
            return f"{self._relative(helper, path)} cannot await it: {reason}"
        for path, line, how in references.of(helper):
            if how == "name" and path in said:
                continue
            where_used = f"{self._relative(helper, path)}:{line}"
            if how == "reexport":
                return f"`{name}` is public API (imported by the package's {where_used}): callers outside this tree would have to await it"
            if how == "module":
                return (f"`{name}` is reached through its module in {where_used}: only a helper imported by name "
                        "is made `async def` across modules")
            if how == "local":
                return f"`{name}` is imported inside a function in {where_used}"
            if path not in self.files:
                return f"`{name}` is also used in {where_used}, which is not among the files of this run"
            return f"`{name}` is also used in {where_used}, which does not only run it from async code"
        return ""

    def _confirm(self, helper: str, said: Dict[str, Optional[str]]) -> str:
        """A decision to make the helper async holds when every file made its part."""
        module_path = self.module_paths.get(helper)
        if module_path is not None and module_path not in said:
            return f"{self._relative(helper, module_path)} could not be changed"
        for path, reason in sorted(said.items()):
            if reason:
                return f"{self._relative(helper, path)} cannot make its part: {reason}"
        return ""

    def _root(self, said: Dict[str, Optional[str]]) -> Optional[str]:
        for path in sorted(said):
            root, _, _ = self.index._module_name(path)
            return root
        return None

    def _relative(self, helper: str, path: str) -> str:
        root = self._root({path: None})
        return os.path.relpath(path, root) if root else os.path.basename(path)


class _References:
    """Where the tree imports each helper: one search of the tree's text for all of them."""

    def __init__(self, links: Links, helpers: List[str]) -> None:
        self.found: Dict[str, List[Tuple[str, int, str]]] = {helper: [] for helper in helpers}
        words = {helper.rpartition(".")[2].encode(): helper for helper in helpers}
        for path in self._candidates(links, helpers):
            try:
                with open(path, "rb") as handle:
                    data = handle.read()
            except OSError:
                continue
            wanted = [helper for word, helper in words.items() if word in data]
            if not wanted:
                continue
            try:
                tree = ast.parse(data)
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                continue
            _, module, is_package = links.index._module_name(path)
            package = module if is_package else module.rpartition(".")[0]
            for helper in wanted:
                if links.module_paths.get(helper) == path or module == helper.rpartition(".")[0]:
                    continue  # the helper's own module: its own pass checks it
                self.found[helper] += _imports_of(tree, helper, package, path)

    def of(self, helper: str) -> Iterable[Tuple[str, int, str]]:
        return self.found.get(helper, ())

    @staticmethod
    def _candidates(links: Links, helpers: List[str]) -> Set[str]:
        """The files of the run, and the helper's own package on disk (a pre-commit run names
        a few files; the modules beside the helper are the likeliest other callers)."""
        found = set(links.files)
        for helper in helpers:
            if helper in links.module_paths:
                found |= set(_package_files(os.path.dirname(links.module_paths[helper])))
        return {os.path.abspath(p) for p in found}


def _package_files(directory: str) -> Iterable[str]:
    """The `.py` files of the package in `directory` and its subpackages; only the directory's
    own files when it is not a package (a folder of scripts may hold anything below it)."""
    if not os.path.isfile(os.path.join(directory, "__init__.py")):
        yield from (os.path.join(directory, n) for n in sorted(os.listdir(directory)) if n.endswith(".py"))
        return
    for folder, subdirectories, files in os.walk(directory):
        subdirectories[:] = [d for d in subdirectories if d not in _SKIPPED_DIRECTORIES and not d.startswith(".")
                             and os.path.isfile(os.path.join(folder, d, "__init__.py"))]
        for name in files:
            if name.endswith(".py"):
                yield os.path.join(folder, name)


def _imports_of(tree: ast.Module, helper: str, package: str, path: str) -> List[Tuple[str, int, str]]:
    """(path, line, how) for each import of `helper` in `tree`: "name" (`from .utils import
    fetch_json` at the top level), "local" (the same inside a function), "reexport" (by a
    package's `__init__.py`), "module" (its module imported and the helper reached through it)."""
    module_name, _, name = helper.rpartition(".")
    top_level = {id(statement) for statement in tree.body}
    found, aliases = [], set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            target = _absolute("." * node.level + (node.module or ""), package)
            for alias in node.names:
                if target == module_name and alias.name == name:
                    how = "reexport" if path.endswith("__init__.py") else "name" if id(node) in top_level else "local"
                    found.append((path, node.lineno, how))
                elif target is not None and f"{target}.{alias.name}" == module_name:
                    aliases.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == module_name:
                    aliases.add(alias.asname or alias.name)
    if aliases:
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr == name and ast.unparse(node.value) in aliases:
                found.append((path, node.lineno, "module"))
    return found

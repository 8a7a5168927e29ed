"""Project knowledge across modules: what the modules a file imports offer it.

`ProjectIndex` lives for one run. For each file that may be checked it reads the modules that
file imports from the same tree (found on disk from the file's package, so a one-file run sees
exactly what a whole-tree run sees), summarises each once with `ast` (`project_scan`), and hands
back a small, picklable `ProjectFacts` for that file: its module name, the names that are the
requests module, its offload helpers and plain-`def` requests helpers, all as absolute qualified
names. The facts travel with the file to the worker, and their fingerprint goes into its cache
key. Files whose imports offer nothing get no facts at all.

LibCST's QualifiedNameProvider names `from .utils import run_sync` as `.utils.run_sync`;
`ProjectFacts.translate` makes such names absolute and maps re-exports of requests back to
`requests`, so the rest of the analysis asks its usual questions.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from typing import Dict, FrozenSet, Iterable, List, Optional, Tuple

from unfake_async.codemod.analysis.project_scan import GATE_WORDS, ModuleSummary, summarize

# `from X import a, b as c` (also parenthesised over several lines) and `import a.b as c, d`.
_FROM_IMPORT = re.compile(r"^[ \t]*from[ \t]+(\.*[\w.]*)[ \t]+import[ \t]+(\([^)]*\)|[^\n#;]+)", re.MULTILINE)
_IMPORT = re.compile(r"^[ \t]*import[ \t]+([\w., \t]+)", re.MULTILINE)
# How deep `from . import requests` chains are followed.
_MAX_HOPS = 4
UNRESOLVED_STAR_NOTE = ("`requests` comes from a star import this tool could not follow; "
                        "it is assumed to be the requests library")


@dataclass(frozen=True)
class ProjectFacts:
    """What one file gets from the tree (absolute qualified names)."""

    module: str
    package: str
    # Qualified names that are the requests module (`pkg.requests` re-exported by `pkg`).
    requests_modules: FrozenSet[str] = frozenset()
    # "resolved": a star import binds `requests` to the requests module; "unresolved": a star
    # import of a module outside the tree may; "": neither.
    star_requests: str = ""
    offload_helpers: Tuple[Tuple[str, str], ...] = ()
    requests_helpers: Tuple[Tuple[str, str], ...] = ()
    # Where helpers of other modules are defined (module -> path relative to nothing: for messages).
    origins: Tuple[Tuple[str, str], ...] = ()

    def __bool__(self) -> bool:
        return bool(self.requests_modules or self.star_requests or self.offload_helpers or self.requests_helpers)

    def fingerprint(self) -> str:
        return json.dumps([self.module, sorted(self.requests_modules), self.star_requests,
                           sorted(self.offload_helpers), sorted(self.requests_helpers)])

    def worth_parsing(self, text: str) -> bool:
        """The file's imports offer it something (it has `async`, or it would not have facts)."""
        return bool(self)

    # -- name resolution, for the analysis ------------------------------------------------------
    def absolute(self, name: str) -> str:
        """`.utils.run_sync` in package `pkg` -> `pkg.utils.run_sync`."""
        if not name.startswith("."):
            return name
        dots = len(name) - len(name.lstrip("."))
        base = self.package.split(".") if self.package else []
        if dots > 1:
            base = base[: len(base) - (dots - 1)]
        rest = name[dots:]
        return ".".join(base + ([rest] if rest else []))

    def canonical(self, name: str) -> str:
        """The absolute name, with a re-exported requests module spelled `requests`."""
        name = self.absolute(name)
        for alias in self.requests_modules:
            if name == alias or name.startswith(alias + "."):
                return "requests" + name[len(alias):]
        return name

    def offload_kind(self, name: str) -> Optional[str]:
        return dict(self.offload_helpers).get(self.absolute(name))

    def requests_helper(self, name: str) -> Optional[str]:
        return dict(self.requests_helpers).get(self.absolute(name))

    def origin(self, name: str) -> Optional[str]:
        module = self.absolute(name).rpartition(".")[0]
        origins = dict(self.origins)
        while module and module not in origins:
            module = module.rpartition(".")[0]
        return origins.get(module)


@dataclass
class _Module:
    name: str
    path: str
    summary: Optional[ModuleSummary]


@dataclass
class ProjectIndex:
    """Summaries of the tree's modules, read on demand and once per run."""

    _modules: Dict[str, Optional[_Module]] = field(default_factory=dict)  # by path
    _names: Dict[str, Tuple[str, str, bool]] = field(default_factory=dict)  # path -> (root, module, is package)
    reads: int = 0

    def facts_for(self, path: str, text: str) -> Optional[ProjectFacts]:
        """The facts `text` (the file at `path`) gets from itself and the modules it imports."""
        if "async" not in text:
            return None  # no coroutine to be fake in
        root, module, is_package = self._module_name(path)
        package = module if is_package else module.rpartition(".")[0]
        own = _Module(module, path, summarize(text) if _gated(text) else None)
        facts = _Collector(self, root, module, package)
        facts.add(own, local=True)
        for imported in _imported_modules(text, package, is_package):
            for candidate in imported:
                found = self.module(root, candidate)
                if found is not None:
                    facts.add(found)
                    break
        facts.add_stars(own, text)
        return facts.build()

    def module(self, root: str, name: str) -> Optional[_Module]:
        """The summary of module `name` under `root` (None when it is not in the tree)."""
        if not name or root is None:
            return None
        base = os.path.join(root, *name.split("."))
        for path in (base + ".py", os.path.join(base, "__init__.py")):
            if path in self._modules:
                return self._modules[path]
            if os.path.isfile(path):
                self._modules[path] = self._read(name, path)
                return self._modules[path]
        return None

    def _read(self, name: str, path: str) -> _Module:
        try:
            with open(path, encoding="utf-8", errors="replace") as handle:
                text = handle.read()
        except OSError:
            return _Module(name, path, None)
        self.reads += 1
        return _Module(name, path, summarize(text) if _gated(text) else None)

    def _module_name(self, path: str) -> Tuple[str, str, bool]:
        """(import root, dotted module name, is a package `__init__`) of a file, from the
        `__init__.py` files above it."""
        absolute = os.path.abspath(path)
        if absolute not in self._names:
            directory, filename = os.path.split(absolute)
            stem = filename[:-3] if filename.endswith(".py") else filename
            parts = [] if stem == "__init__" else [stem]
            while os.path.isfile(os.path.join(directory, "__init__.py")):
                directory, package = os.path.split(directory)
                parts.insert(0, package)
            self._names[absolute] = (directory, ".".join(parts), stem == "__init__")
        return self._names[absolute]


def _gated(text: str) -> bool:
    return any(word in text for word in GATE_WORDS)


def _imported_modules(text: str, package: str, is_package: bool) -> Iterable[List[str]]:
    """For each import in `text`, the absolute module names it may read, best first."""
    for match in _FROM_IMPORT.finditer(text):
        module = _absolute(match.group(1), package)
        if module is None:
            continue
        names = [n.strip().split()[0] for n in match.group(2).strip("()").replace("\n", " ").split(",") if n.strip()]
        yield [module]
        for name in names:
            if name != "*":
                yield [f"{module}.{name}" if module else name]
    for match in _IMPORT.finditer(text):
        for item in match.group(1).split(","):
            words = item.split()
            if words and words[0] != "requests":
                yield [words[0]]


def _absolute(module: str, package: str) -> Optional[str]:
    if not module.startswith("."):
        return module
    dots = len(module) - len(module.lstrip("."))
    base = package.split(".") if package else []
    if dots - 1 > len(base):
        return None
    base = base[: len(base) - (dots - 1)]
    rest = module[dots:]
    return ".".join(base + ([rest] if rest else []))


class _Collector:
    def __init__(self, index: ProjectIndex, root: str, module: str, package: str) -> None:
        self.index, self.root, self.module, self.package = index, root, module, package
        self.requests_modules: set = set()
        self.offload: Dict[str, str] = {}
        self.helpers: Dict[str, str] = {}
        self.origins: Dict[str, str] = {}
        self.star = ""

    def add(self, found: _Module, local: bool = False) -> None:
        summary = found.summary
        if summary is None or found.name in self.origins:
            return
        self.origins[found.name] = found.path
        prefix = f"{found.name}." if found.name else ""
        for name, kind in summary.offload_helpers.items():
            self.offload[prefix + name] = kind
        if not local:  # the module's own helpers are the same-module passes' business
            for name, what in summary.requests_helpers.items():
                self.helpers[prefix + name] = what
            for name in summary.requests_names:
                self.requests_modules.add(prefix + name)
            for name in summary.imported:
                if self._is_requests(found, name, 0):
                    self.requests_modules.add(prefix + name)

    def _is_requests(self, found: _Module, name: str, hops: int) -> bool:
        """Whether `name` in module `found` is bound to the requests module."""
        summary = found.summary
        if summary is None or hops > _MAX_HOPS:
            return False
        if name in summary.requests_names:
            return True
        target = summary.imported.get(name)
        if target is None:
            return False
        package = found.name if found.path.endswith("__init__.py") else found.name.rpartition(".")[0]
        target = _absolute(target, package)
        if target is None:
            return False
        owner, _, attribute = target.rpartition(".")
        source = self.index.module(self.root, owner)
        return source is not None and self._is_requests(source, attribute, hops + 1)

    def add_stars(self, own: _Module, text: str) -> None:
        stars = own.summary.star_imports if own.summary is not None else _star_imports(text)
        for written in stars:
            target = _absolute(written, self.package)
            source = self.index.module(self.root, target) if target else None
            if source is None:
                if written.startswith(".") or self.star == "":
                    self.star = self.star or "unresolved"
                continue
            if source.summary is not None and source.summary.exports("requests") and self._is_requests(source, "requests", 0):
                self.star = "resolved"

    def build(self) -> Optional[ProjectFacts]:
        facts = ProjectFacts(
            module=self.module, package=self.package,
            requests_modules=frozenset(self.requests_modules), star_requests=self.star,
            offload_helpers=tuple(sorted(self.offload.items())),
            requests_helpers=tuple(sorted(self.helpers.items())),
            origins=tuple(sorted(self.origins.items())),
        )
        return facts if facts else None


def _star_imports(text: str) -> List[str]:
    return [m.group(1) for m in _FROM_IMPORT.finditer(text) if m.group(2).strip() == "*"]

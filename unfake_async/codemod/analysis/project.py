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
from dataclasses import dataclass, field, replace
from typing import Dict, FrozenSet, Iterable, Iterator, List, Optional, Tuple

from unfake_async.codemod.analysis.import_text import (
    absolute_module,
    header,
    imported_modules,
    star_imports,
)
from unfake_async.codemod.analysis.project_scan import OFFLOAD_WORDS, ModuleSummary, summarize
from unfake_async.codemod.engine.prechecks.coroutine_reach import Seeds
from unfake_async.codemod.engine.prechecks.prefilter import has_trigger

# `from . import get_string, requests`: a name `requests` imported from somewhere else.
_REEXPORT = re.compile(r"^[ \t]*from[ \t]+(?!requests\b)\S+[ \t]+import[ \t]+[^#\n]*\brequests\b", re.MULTILINE)
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
    # What the run decided for the requests helpers this file defines or runs from async code
    # across modules (`project_links`): (helper, "" to make it `async def` or why not, the
    # files that run it).
    joint_helpers: Tuple[Tuple[str, str, Tuple[str, ...]], ...] = ()

    def __bool__(self) -> bool:
        return bool(self.requests_modules or self.star_requests or self.offload_helpers or self.requests_helpers
                    or self.joint_helpers)

    def fingerprint(self) -> str:
        return json.dumps([self.module, sorted(self.requests_modules), self.star_requests,
                           sorted(self.offload_helpers), sorted(self.requests_helpers),
                           sorted(self.joint_helpers)])

    def joint_decision(self, helper: str) -> Optional[str]:
        """For an absolute helper name: None when the run has not decided (a one-file run, stdin),
        "" when the helper becomes `async def` and its callers await it, else why not."""
        for name, decision, _ in self.joint_helpers:
            if name == helper:
                return decision
        return None

    def defined_here(self) -> Dict[str, Tuple[str, Tuple[str, ...]]]:
        """The helpers of this module the run decided on: local name -> (decision, callers)."""
        prefix = f"{self.module}." if self.module else ""
        return {name[len(prefix):]: (decision, callers) for name, decision, callers in self.joint_helpers
                if name.startswith(prefix) and "." not in name[len(prefix):]}

    def reach_seeds(self) -> Seeds:
        """What the engine's coroutine-reach precheck adds for this file: the words that may be
        the requests module here (a re-export's name, the `requests` of a star import) and the
        names other modules' requests helpers are called by (engine/prechecks/coroutine_reach.py)."""
        words = {name.rpartition(".")[2] for name in self.requests_modules}
        if self.star_requests:
            words.add("requests")
        return Seeds(modules=tuple(sorted((word, "requests") for word in words)),
                     senders=frozenset(name.rpartition(".")[2] for name, _ in self.requests_helpers))

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
    """A module of the tree; its `ast` summary is made only when one of its words asks for it:
    an import of requests (helpers, re-exports) or an offload word (forwarding helpers, needed
    only by files that hand requests callables around)."""

    name: str
    path: str
    text: str = ""
    imports_requests: bool = False
    offloads: bool = False
    _summary: Optional[ModuleSummary] = None
    _summarised: bool = False

    def summary_for(self, wants_offloads: bool) -> Optional[ModuleSummary]:
        if not (self.imports_requests or (wants_offloads and self.offloads)):
            return None
        if not self._summarised:
            self._summary, self._summarised = summarize(self.text, self.offloads), True
            self.text = ""  # the summary is all that is kept
        return self._summary

    @property
    def summary(self) -> Optional[ModuleSummary]:
        return self._summary


def _module(name: str, path: str, text: str, imports_requests: Optional[bool] = None) -> _Module:
    if imports_requests is None:
        imports_requests = has_trigger(text, "requests")
    return _Module(name, path, text, imports_requests, any(w in text for w in OFFLOAD_WORDS))


@dataclass
class ProjectIndex:
    """Summaries of the tree's modules, read on demand and once per run."""

    _modules: Dict[str, Optional[_Module]] = field(default_factory=dict)  # by path
    _by_name: Dict[Tuple[str, str], Optional[_Module]] = field(default_factory=dict)  # (root, module name)
    _names: Dict[str, Tuple[str, str]] = field(default_factory=dict)  # directory -> (root, package)
    reads: int = 0
    _links: Optional[object] = None  # `project_links.Links`, once a file runs another module's helper

    def facts_for(self, path: str, text: str) -> Optional[ProjectFacts]:
        """The facts `text` (the file at `path`) gets from itself and the modules it imports."""
        if "async def" not in text:
            return None  # no coroutine to be fake in
        # Forwarding helpers matter only to a file that hands requests callables around.
        handles_requests = has_trigger(text, "requests") or (
            "requests" in text and (_REEXPORT.search(text) is not None or "import *" in text))
        root, module, is_package = self._module_name(path)
        package = module if is_package else module.rpartition(".")[0]
        imported = list(self._imported(root, package, text))
        if not handles_requests and not any(found.imports_requests for found, _ in imported):
            # Such a file learns only from modules that import requests (`summary_for`): no
            # collecting for it (3,953 of the 4,857 files of Home Assistant with `async def`).
            return None
        facts = _Collector(self, root, module, package, handles_requests)
        if handles_requests:  # its own requests helpers are the same-module passes' business
            facts.add(_module(module, path, text, imports_requests=False), local=True)
        for found, names in imported:
            facts.add(found, names)
        if handles_requests and "import *" in text:
            facts.add_stars(text)
        return facts.build()

    def _imported(self, root: str, package: str, text: str) -> Iterator[Tuple[_Module, Optional[List[str]]]]:
        """Each module of the tree an import of `text` finds, with the names taken from it
        (None: all of it)."""
        for module_name, names in imported_modules(header(text), package):
            if names is not None:
                # `DOMAIN`, `CONF_HOST`: constants are neither helpers nor modules.
                names = [name for name in names if not name.isupper()]
                if not names:
                    continue
            found = self.module(root, module_name)
            if found is not None:
                yield found, names
            if names and (found is None or found.path.endswith("__init__.py")):
                for name in names:  # `from pkg import utils`: a submodule, maybe
                    if name[:1].islower() and name != "requests":
                        submodule = self.module(root, f"{module_name}.{name}" if module_name else name)
                        if submodule is not None:
                            yield submodule, None

    # -- helpers made `async def` across modules (issue 17; see `project_links`) ---------------
    def settle(self, parts: Dict[str, Dict[str, Optional[str]]], files: Iterable[str]) -> FrozenSet[str]:
        """Decide, from what each analysed file says of its part (`parts`: path -> helper ->
        None when it can make its part, or why not), which helpers of the run become `async def`
        in their module and awaited in every file that runs them; the paths whose decisions
        changed, to be analysed again with them (empty once the decisions hold)."""
        from unfake_async.codemod.analysis.project_links import Links

        if self._links is None:
            self._links = Links(self, frozenset(os.path.abspath(f) for f in files))
        return self._links.settle(parts)

    def facts_with_decisions(self, path: str, text: str) -> Optional[ProjectFacts]:
        """`facts_for`, with the run's decisions on the helpers `path` defines or runs."""
        facts = self.facts_for(path, text)
        joint = self._links.decisions_for(path) if self._links is not None else ()
        if not joint:
            return facts
        if facts is None:
            root, module, is_package = self._module_name(path)
            facts = ProjectFacts(module=module, package=module if is_package else module.rpartition(".")[0])
        return replace(facts, joint_helpers=joint)

    def module(self, root: str, name: str) -> Optional[_Module]:
        """The summary of module `name` under `root` (None when it is not in the tree)."""
        if not name or root is None:
            return None
        key = (root, name)
        if key not in self._by_name:  # found or not: each module is looked for once
            self._by_name[key] = None
            base = os.path.join(root, *name.split("."))
            for path in (base + ".py", os.path.join(base, "__init__.py")):
                if path not in self._modules and os.path.isfile(path):
                    self._modules[path] = self._read(name, path)
                if self._modules.get(path) is not None:
                    self._by_name[key] = self._modules[path]
                    break
        return self._by_name[key]

    def _read(self, name: str, path: str) -> _Module:
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except OSError:
            return _Module(name, path)
        self.reads += 1
        # Most modules hold neither word: they are not decoded at all.
        if b"requests" not in data and not any(word.encode() in data for word in OFFLOAD_WORDS):
            return _Module(name, path)
        return _module(name, path, data.decode("utf-8", errors="replace"))

    def _module_name(self, path: str) -> Tuple[str, str, bool]:
        """(import root, dotted module name, is a package `__init__`) of a file, from the
        `__init__.py` files above it."""
        directory, filename = os.path.split(os.path.abspath(path))
        stem = filename[:-3] if filename.endswith(".py") else filename
        root, package = self._package_of(directory)
        module = package if stem == "__init__" else ".".join(filter(None, [package, stem]))
        return root, module, stem == "__init__"

    def _package_of(self, directory: str) -> Tuple[str, str]:
        """(import root, dotted package name) of a directory, from the `__init__.py` files above it."""
        if directory not in self._names:
            if os.path.isfile(os.path.join(directory, "__init__.py")):
                parent, name = os.path.split(directory)
                root, package = self._package_of(parent) if parent != directory else (parent, "")
                self._names[directory] = (root, ".".join(filter(None, [package, name])))
            else:
                self._names[directory] = (directory, "")
        return self._names[directory]


class _Collector:
    def __init__(self, index: ProjectIndex, root: str, module: str, package: str, handles_requests: bool) -> None:
        self.index, self.root, self.module, self.package = index, root, module, package
        self.handles_requests = handles_requests
        self.requests_modules: set = set()
        self.offload: Dict[str, str] = {}
        self.helpers: Dict[str, str] = {}
        self.origins: Dict[str, str] = {}
        self.star = ""

    def add(self, found: _Module, names: Optional[List[str]] = None, local: bool = False) -> None:
        """What `found` offers: all of it (`import utils`), or the `names` imported from it."""
        summary = found.summary_for(self.handles_requests)
        if summary is None:
            return
        self.origins[found.name] = found.path
        prefix = f"{found.name}." if found.name else ""
        for name in summary.names() if names is None else names:
            offload, helpers = summary.helpers_of(name)
            if self.handles_requests:  # a forwarding helper matters to who hands it requests callables
                for qualified, kind in offload.items():
                    self.offload[prefix + qualified] = kind
            if not local:  # the module's own requests helpers are the same-module passes' business
                for qualified, what in helpers.items():
                    self.helpers[prefix + qualified] = what
        if not local:
            for name in summary.requests_names:
                self.requests_modules.add(prefix + name)
            for name in summary.imported if names is None else [n for n in names if n in summary.imported]:
                if self._is_requests(found, name, 0):
                    self.requests_modules.add(prefix + name)

    def _is_requests(self, found: _Module, name: str, hops: int) -> bool:
        """Whether `name` in module `found` is bound to the requests module."""
        summary = found.summary_for(False)
        if summary is None or hops > _MAX_HOPS:
            return False
        if name in summary.requests_names:
            return True
        target = summary.imported.get(name)
        if target is None:
            return False
        package = found.name if found.path.endswith("__init__.py") else found.name.rpartition(".")[0]
        target = absolute_module(target, package)
        if target is None:
            return False
        owner, _, attribute = target.rpartition(".")
        source = self.index.module(self.root, owner)
        return source is not None and self._is_requests(source, attribute, hops + 1)

    def add_stars(self, text: str) -> None:
        """A bare `requests` under `from X import *`: X's own, or unknown (X outside the tree)."""
        for written in star_imports(text):
            target = absolute_module(written, self.package)
            source = self.index.module(self.root, target) if target else None
            if source is None:
                self.star = self.star or "unresolved"
                continue
            summary = source.summary_for(False)
            if summary is not None and summary.exports("requests") and self._is_requests(source, "requests", 0):
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

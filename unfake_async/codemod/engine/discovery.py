"""Turning the paths given on the command line into the list of Python files to check.

Directories are walked for `*.py`/`*.pyi`, pruning the usual non-source directories, anything a
`.gitignore` ignores, and the user's exclude globs (gitignore syntax, matched against the path
relative to the project root). Files named explicitly are always checked unless
`force_exclude` is set (what pre-commit needs, since it passes every staged file by name).
Symlinks are never followed out of the given roots. A path that cannot be checked (unreadable
directory, broken link, loop, link out of the roots) is a one-line error, so the run exits 2 and
nobody mistakes an unchecked tree for a clean one, while the walk goes on with everything else.
"""
from __future__ import annotations

import errno
import os
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Sequence, Set, Tuple

import pathspec

from unfake_async.codemod.engine.exclude_spec import ExcludeSpec

SOURCE_SUFFIXES = (".py", ".pyi")

# Never source code of the project itself: VCS metadata, virtualenvs, caches, build output.
DEFAULT_EXCLUDES: Tuple[str, ...] = (
    ".bzr",
    ".direnv",
    ".eggs",
    ".git",
    ".hg",
    ".mypy_cache",
    ".nox",
    ".pytest_cache",
    ".ruff_cache",
    ".svn",
    ".tox",
    ".unfake-async-cache",
    ".venv",
    "venv",
    "__pycache__",
    "__pypackages__",
    "_build",
    "build",
    "dist",
    "node_modules",
    "site-packages",
)


# The .gitignore files that apply to a directory, deepest first: (directory, spec) pairs.
_Chain = Tuple[Tuple[str, pathspec.GitIgnoreSpec], ...]

OUTSIDE_LINK = "symlink points outside the given paths; not followed (name its target to check it)"


@dataclass
class Discovery:
    """The files to check, plus every path left out for a reason worth telling the user."""

    files: List[str] = field(default_factory=list)
    skipped: List[Tuple[str, str]] = field(default_factory=list)  # (path, reason)
    errors: List[Tuple[str, str]] = field(default_factory=list)  # (path, message): exit 2


@dataclass(frozen=True)
class DiscoveryOptions:
    excludes: Tuple[str, ...] = DEFAULT_EXCLUDES
    # The directory exclude globs are relative to (where pyproject.toml lives); cwd when None.
    root: Optional[str] = None
    respect_gitignore: bool = True
    force_exclude: bool = False


def discover(paths: Sequence[str], options: DiscoveryOptions = DiscoveryOptions()) -> Discovery:
    """Expand `paths` (files and directories) into the sorted, de-duplicated files to check."""
    walker = _Walker(paths, options)
    return walker.run()


def is_excluded(path: str, options: DiscoveryOptions = DiscoveryOptions()) -> bool:
    """Whether excludes or .gitignore rule `path` out (used for --stdin-filename)."""
    return _Walker([path], options)._excluded(path, False)


def is_virtualenv(directory: str) -> bool:
    """A directory is a virtualenv whatever its name when it holds `pyvenv.cfg`."""
    return os.path.isfile(os.path.join(directory, "pyvenv.cfg"))


class _Walker:
    def __init__(self, paths: Sequence[str], options: DiscoveryOptions) -> None:
        self.paths = list(paths)
        self.options = options
        self.root = os.path.realpath(options.root or os.getcwd())
        self.exclude_spec = ExcludeSpec(options.excludes)
        self.real_roots = [os.path.realpath(p) for p in paths if os.path.exists(p)]
        self.result = Discovery()
        self.seen: set = set()
        self._gitignores: Dict[str, Optional[pathspec.GitIgnoreSpec]] = {}
        self._chains: Dict[Tuple[str, str], _Chain] = {}  # by (directory, top)
        self._applicable: Dict[Tuple[str, Optional[str]], _Chain] = {}  # by (directory, anchor)
        self._tops: Dict[str, str] = {}
        self._git_roots: Dict[str, Optional[str]] = {}
        self._without_git: Set[str] = set()  # directories listed without a `.git` entry
        self._anchor: Optional[str] = None  # set while walking an explicitly named excluded dir

    def run(self) -> Discovery:
        for path in self.paths:
            self._visit_given(path)
        return self.result

    # -- the paths the user named --------------------------------------------------------------

    def _visit_given(self, path: str) -> None:
        if os.path.islink(path) and not os.path.exists(path):
            self._link_problem(path)
            return
        if not os.path.exists(path):
            self.result.errors.append((path, "no such file or directory"))
            return
        if self.options.force_exclude and self._excluded(path, os.path.isdir(path)):
            return  # silently, like ruff: pre-commit names every staged file
        if os.path.isdir(path):
            # A directory named explicitly is walked even when it is itself excluded or ignored
            # (`unfake-async .venv/lib/.../site-packages`): then patterns are matched below it.
            self._anchor = _real(path) if self._excluded(path, True) else None
            try:
                self._walk(path, os.path.realpath(path))
            finally:
                self._anchor = None
        else:
            self._add(path)

    # -- walking directories -------------------------------------------------------------------

    def _walk(self, top: str, real_top: str) -> None:
        # Real paths are built by joining names onto the real directory: directory symlinks are
        # never descended, so no entry below needs a realpath() (an lstat per path component).
        stack = [(top, real_top, False)]
        while stack:
            directory, real_directory, below_top = stack.pop()
            entries = self._list(directory)
            if entries is None:
                continue
            names = {entry.name for entry in entries}
            # A named directory is walked even when it is a virtualenv; one found below is not.
            # Only a listing holding `pyvenv.cfg` needs is_virtualenv's stat() to tell.
            if below_top and "pyvenv.cfg" in names and is_virtualenv(directory):
                continue
            self._note_listing(real_directory, names)
            # os.path.join's result for a plain name, without its call per entry.
            prefix = real_directory if real_directory.endswith(os.sep) else real_directory + os.sep
            subdirs = []
            for entry in entries:
                path = entry.path
                real = prefix + entry.name
                if entry.is_symlink():
                    self._visit_link(path)
                    continue
                try:
                    is_dir = entry.is_dir(follow_symlinks=False)
                except OSError:
                    continue
                if is_dir:
                    if not self._excluded(path, True, real, real_directory):
                        subdirs.append((path, real, True))
                elif entry.name.endswith(SOURCE_SUFFIXES):
                    if not self._excluded(path, False, real, real_directory):
                        self._add(path, real)
            stack.extend(reversed(subdirs))  # depth-first, in name order

    def _list(self, directory: str) -> Optional[List[os.DirEntry]]:
        try:
            with os.scandir(directory) as it:
                return sorted(it, key=lambda e: e.name)
        except OSError as exc:
            self.result.errors.append(
                (directory, f"cannot read directory: {exc.strerror or exc}; not checked")
            )
            return None

    def _note_listing(self, real_directory: str, names: Set[str]) -> None:
        """Remember what the listing shows is absent, so that the .gitignore lookups for the
        entries need no failed open() of `.gitignore` or stat() of `.git` per directory."""
        if ".gitignore" not in names:
            self._gitignores.setdefault(real_directory, None)
        if ".git" not in names:
            self._without_git.add(real_directory)

    def _visit_link(self, path: str) -> None:
        """A symlink found while walking: files inside the roots count, nothing else is followed."""
        is_dir = os.path.isdir(path)
        if not (is_dir or path.endswith(SOURCE_SUFFIXES)) or self._excluded(path, is_dir):
            return  # not source code; or excluded, which is how a user silences the errors below
        if not os.path.exists(path):  # broken or a loop
            self._link_problem(path)
            return
        real = os.path.realpath(path)
        if not any(_is_within(real, root) for root in self.real_roots):
            self.result.errors.append((path, OUTSIDE_LINK))
            return
        # Inside the roots: a directory link's target is walked on its own, and a file link's
        # target is checked once under its real path (de-duplicated in _add).
        if os.path.isfile(path) and path.endswith(SOURCE_SUFFIXES):
            self._add(path)

    def _link_problem(self, path: str) -> None:
        try:
            os.stat(path)
            message = "broken symlink"
        except OSError as exc:
            message = "symlink loop" if exc.errno == errno.ELOOP else "broken symlink"
        self.result.errors.append((path, f"{message}; not checked"))

    def _add(self, path: str, real: Optional[str] = None) -> None:
        real = real or os.path.realpath(path)
        if real in self.seen:
            return
        self.seen.add(real)
        self.result.files.append(path)

    # -- exclusion -----------------------------------------------------------------------------

    def _excluded(
        self, path: str, is_dir: bool, real: Optional[str] = None, directory: Optional[str] = None
    ) -> bool:
        """`real` and its (real) `directory` when the walk knows them, to spare working them out."""
        absolute = real or _real(path)
        relative = self._relative(absolute)
        candidate = relative + "/" if is_dir else relative
        # Gitignore semantics: a pattern naming a directory also excludes every file below it.
        if self.exclude_spec.match_file(candidate):
            return True
        return self.options.respect_gitignore and self._gitignored(absolute, is_dir, directory)

    def _relative(self, absolute: str) -> str:
        if self._anchor is not None and _is_within(absolute, self._anchor):
            return _below(absolute, self._anchor)
        if _is_within(absolute, self.root):
            return _below(absolute, self.root)
        return absolute.lstrip("/").replace(os.sep, "/")

    def _gitignored(self, absolute: str, is_dir: bool, directory: Optional[str] = None) -> bool:
        directory = directory or os.path.dirname(absolute)
        chain = self._applicable.get((directory, self._anchor))
        if chain is None:
            top = self._anchor or self._gitignore_top(directory)
            chain = self._applicable[(directory, self._anchor)] = self._gitignore_chain(directory, top)
        # The deepest .gitignore with an opinion wins, as in git.
        for base, spec in chain:
            relative = _below(absolute, base)
            verdict = _verdict(spec, relative + "/" if is_dir else relative)
            if verdict is not None:
                return verdict
        return False

    def _gitignore_chain(self, directory: str, top: str) -> "_Chain":
        """Every (directory, spec) of a .gitignore from `directory` up to `top`, deepest first.

        Memoised per directory, and built from the nearest ancestor already known, so that the
        files of a directory no .gitignore applies to cost one dict lookup (Django: 0.09 s of a
        0.14 s walk went into asking every ancestor of every path again)."""
        pending = []
        chain: _Chain = ()
        for ancestor in _ancestors(directory):
            known = self._chains.get((ancestor, top))
            if known is not None:
                chain = known
                break
            pending.append(ancestor)
            if ancestor == top:
                break
        for ancestor in reversed(pending):
            spec = self._gitignore_at(ancestor)
            if spec is not None:
                chain = ((ancestor, spec),) + chain
            self._chains[(ancestor, top)] = chain
        return chain

    def _gitignore_top(self, directory: str) -> str:
        """The highest directory whose .gitignore applies: the repository root, or else the
        given root (or project root) the path lies in, so stray files above do not leak in."""
        if directory not in self._tops:
            top = self._git_root(directory)
            if top is None:
                containing = [r for r in self.real_roots + [self.root] if _is_within(directory, r)]
                top = min(containing, key=len) if containing else directory
            self._tops[directory] = top
        return self._tops[directory]

    def _git_root(self, directory: str) -> Optional[str]:
        """The nearest ancestor holding `.git`, memoised for every directory on the way up."""
        pending = []
        found = None
        for ancestor in _ancestors(directory):
            if ancestor in self._git_roots:
                found = self._git_roots[ancestor]
                break
            pending.append(ancestor)
            if ancestor not in self._without_git and os.path.exists(os.path.join(ancestor, ".git")):
                found = ancestor
                break
        for ancestor in pending:
            self._git_roots[ancestor] = found
        return found

    def _gitignore_at(self, directory: str) -> Optional[pathspec.GitIgnoreSpec]:
        if directory not in self._gitignores:
            spec = None
            try:
                with open(os.path.join(directory, ".gitignore"), encoding="utf-8") as handle:
                    spec = _gitignore_spec(handle.read().splitlines())
            except (OSError, UnicodeDecodeError):
                pass
            self._gitignores[directory] = spec
        return self._gitignores[directory]


def _gitignore_spec(lines: List[str]) -> pathspec.GitIgnoreSpec:
    """The spec of a .gitignore, skipping lines pathspec rejects (a lone `!`), as git does,
    instead of failing the whole run over one project's odd .gitignore."""
    try:
        return pathspec.GitIgnoreSpec.from_lines(lines)
    except Exception:  # noqa: BLE001 - pathspec's error classes differ between versions
        valid = []
        for line in lines:
            try:
                pathspec.GitIgnoreSpec.from_lines([line])
            except Exception:  # noqa: BLE001
                continue
            valid.append(line)
        return pathspec.GitIgnoreSpec.from_lines(valid)


def _real(path: str) -> str:
    """The absolute path with its directory resolved but the entry itself not (a symlink stays)."""
    absolute = os.path.abspath(path)
    return os.path.join(os.path.realpath(os.path.dirname(absolute)), os.path.basename(absolute))


def _verdict(spec: pathspec.GitIgnoreSpec, path: str) -> Optional[bool]:
    """True ignored, False re-included by a `!pattern`, None: this .gitignore has no opinion."""
    if hasattr(spec, "check_file"):  # pathspec >= 0.12.1
        return spec.check_file(path).include
    return True if spec.match_file(path) else None  # older: no negation across files


def _below(path: str, directory: str) -> str:
    """`path` relative to `directory` (which contains it), with forward slashes; "." for itself."""
    if path == directory:
        return "."
    return path[len(directory.rstrip(os.sep)) + 1:].replace(os.sep, "/")


def _ancestors(directory: str) -> Iterable[str]:
    while True:
        yield directory
        parent = os.path.dirname(directory)
        if parent == directory:
            return
        directory = parent


def _is_within(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)

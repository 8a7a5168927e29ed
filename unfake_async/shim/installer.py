"""Applying and undoing patches, including on modules imported after `install()`.

A patch replaces one attribute and remembers whether the owner had its own value (restored with
setattr) or inherited it (restored with delattr, so `socket.socket.send` falls back to the C
method again). Targets whose module is not imported yet wait in a post-import hook: a meta-path
finder that lets the normal finders find the module and patches it right after it executes.
"""
from __future__ import annotations

import importlib.abc
import sys
import threading
from typing import Dict, List

from unfake_async.shim.patches import Target

_MISSING = object()


class AppliedPatch:
    def __init__(self, target: Target, owner, attribute: str) -> None:
        self.target = target
        self.owner = owner
        self.attribute = attribute
        own_value = vars(owner).get(attribute, _MISSING) if hasattr(owner, "__dict__") \
            else getattr(owner, attribute)
        # A re-export of a function patched in its own module first (`asyncio.to_thread`, bound
        # by `from .threads import *` after asyncio.threads was patched on import) holds our
        # wrapper: what to put back is the function it wraps.
        self.own_value = getattr(own_value, "__unfake_async_original__", own_value)
        original = getattr(owner, attribute)
        setattr(owner, attribute, target.factory(original))

    def undo(self) -> None:
        if self.own_value is _MISSING:
            delattr(self.owner, self.attribute)
        else:
            setattr(self.owner, self.attribute, self.own_value)


def _resolve(module, path: str):
    *owner_path, attribute = path.split(".")
    owner = module
    for name in owner_path:
        owner = getattr(owner, name)
    return owner, attribute


class _PatchingLoader(importlib.abc.Loader):
    """Delegates to the real loader, then patches the module; gives the real loader back."""

    def __init__(self, inner, on_loaded) -> None:
        self.inner = inner
        self.on_loaded = on_loaded

    def create_module(self, spec):
        return self.inner.create_module(spec)

    def exec_module(self, module) -> None:
        module.__loader__ = self.inner
        if module.__spec__ is not None:
            module.__spec__.loader = self.inner
        self.inner.exec_module(module)
        self.on_loaded(module)

    def __getattr__(self, name):
        return getattr(self.inner, name)


class _PostImportFinder(importlib.abc.MetaPathFinder):
    def __init__(self, installer: "Installer") -> None:
        self.installer = installer

    def find_spec(self, fullname, path, target=None):
        if fullname not in self.installer.pending:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = _PatchingLoader(spec.loader, self.installer.module_loaded)
                return spec
        return None


class Installer:
    """Holds the applied patches and the targets waiting for their module."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.applied: List[AppliedPatch] = []
        self.pending: Dict[str, List[Target]] = {}
        self.finder = _PostImportFinder(self)

    def apply(self, targets: List[Target]) -> None:
        with self.lock:
            for target in targets:
                module = sys.modules.get(target.module)
                if module is not None:
                    self._patch(module, target)
                else:
                    self.pending.setdefault(target.module, []).append(target)
            if self.pending and self.finder not in sys.meta_path:
                sys.meta_path.insert(0, self.finder)

    def module_loaded(self, module) -> None:
        with self.lock:
            for target in self.pending.pop(module.__name__, []):
                self._patch(module, target)
            if not self.pending:
                self._remove_finder()

    def _patch(self, module, target: Target) -> None:
        try:
            owner, attribute = _resolve(module, target.path)
        except AttributeError:
            return  # this version of the library has no such entry point
        if any(p.owner is owner and p.attribute == attribute for p in self.applied):
            return
        self.applied.append(AppliedPatch(target, owner, attribute))

    def undo_all(self) -> None:
        with self.lock:
            for patch in reversed(self.applied):
                patch.undo()
            self.applied.clear()
            self.pending.clear()
            self._remove_finder()

    def _remove_finder(self) -> None:
        try:
            sys.meta_path.remove(self.finder)
        except ValueError:
            pass

    def patched_names(self) -> List[str]:
        with self.lock:
            return [patch.target.name for patch in self.applied]

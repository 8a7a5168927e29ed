"""A content-hash cache of analysis results, so a second run over an unchanged tree parses nothing.

An entry's key covers everything the result depends on: the tool's version and a fingerprint of
the analysis modules (so a development checkout never serves results of older rules), the file's
resolved settings, the fix level, the path, and the sha256 of the file's bytes. Entries live in
one JSON file under `.unfake-async-cache/`; it is replaced atomically, so concurrent runs can at
worst lose each other's new entries, never corrupt the file. Entries unused for 30 days are
dropped on save.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import tempfile
import time
from typing import Any, Dict, Optional

import unfake_async
from unfake_async.codemod.engine.model import Finding, FixLevel, FixSafety, SourceResult

CACHE_DIRNAME = ".unfake-async-cache"
_FORMAT = 1
_MAX_AGE_SECONDS = 30 * 24 * 3600
_CACHEDIR_TAG = (
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a cache directory tag created by unfake-async.\n"
)


def settings_fingerprint(settings: Any) -> str:
    """A stable text for a Settings object, equal exactly when the settings are equal."""
    fields = dataclasses.asdict(settings) if dataclasses.is_dataclass(settings) else settings
    return json.dumps(fields, sort_keys=True, default=str)


# What the analysis is made of: a change to any of these may change results.
_ANALYSIS_SOURCES = ("codemod", "rules", "settings.py")


def code_fingerprint() -> str:
    """Version plus the size and mtime of every module the analysis runs (one stat each)."""
    package_dir = os.path.dirname(os.path.abspath(unfake_async.__file__))
    digest = hashlib.sha256(unfake_async.__version__.encode())
    for name in _ANALYSIS_SOURCES:
        top = os.path.join(package_dir, name)
        if os.path.isfile(top):
            _add_stat(digest, top)
        for directory, dirnames, filenames in os.walk(top):
            dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
            for filename in sorted(filenames):
                if filename.endswith(".py"):
                    _add_stat(digest, os.path.join(directory, filename))
    return digest.hexdigest()[:16]


def _add_stat(digest, path: str) -> None:
    info = os.stat(path)
    digest.update(f"{path}:{info.st_size}:{info.st_mtime_ns}\n".encode())


class Cache:
    """Results keyed by (code, settings, fix level, path, content digest)."""

    def __init__(self, directory: str) -> None:
        self.directory = directory
        self.code = code_fingerprint()
        self.file = os.path.join(directory, f"results-{unfake_async.__version__}.json")
        self._entries: Optional[Dict[str, Dict[str, Any]]] = None
        self._dirty = False
        self.hits = 0

    def key(self, *, path: str, digest: str, settings: Any, fix_level: FixLevel, project: str = "") -> str:
        """`project`: the fingerprint of what other modules tell this file (their helpers, their
        re-exports), so a change there is a miss here."""
        # The same file named `src/a.py`, `./src/a.py` or by its absolute path is one entry.
        material = "\0".join(
            [self.code, settings_fingerprint(settings), str(int(fix_level)), os.path.abspath(path), digest, project]
        )
        return hashlib.sha256(material.encode("utf-8", "surrogatepass")).hexdigest()

    def get(self, key: str) -> Optional[SourceResult]:
        entry = self._load().get(key)
        if entry is None:
            return None
        try:
            result = _result_from_json(entry["result"])
        except (KeyError, TypeError, ValueError):
            return None
        entry["seen"] = int(time.time())
        self._dirty = True
        self.hits += 1
        return result

    def put(self, key: str, result: SourceResult) -> None:
        self._load()[key] = {"seen": int(time.time()), "result": _result_to_json(result)}
        self._dirty = True

    def save(self) -> None:
        """Write the cache back (atomically); errors are ignored: a cache is only an optimisation."""
        if not self._dirty or self._entries is None:
            return
        cutoff = time.time() - _MAX_AGE_SECONDS
        entries = {k: v for k, v in self._entries.items() if v.get("seen", 0) >= cutoff}
        try:
            os.makedirs(self.directory, exist_ok=True)
            self._write_markers()
            fd, temp = tempfile.mkstemp(dir=self.directory, prefix=".results.", suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump({"format": _FORMAT, "entries": entries}, handle)
            os.replace(temp, self.file)
        except OSError:
            pass

    def _load(self) -> Dict[str, Dict[str, Any]]:
        if self._entries is None:
            self._entries = {}
            try:
                with open(self.file, encoding="utf-8") as handle:
                    data = json.load(handle)
                if data.get("format") == _FORMAT and isinstance(data.get("entries"), dict):
                    self._entries = data["entries"]
            except (OSError, ValueError, AttributeError):
                pass  # missing or corrupt: start afresh
        return self._entries

    def _write_markers(self) -> None:
        tag = os.path.join(self.directory, "CACHEDIR.TAG")
        if not os.path.exists(tag):
            with open(tag, "w", encoding="ascii") as handle:
                handle.write(_CACHEDIR_TAG)
        ignore = os.path.join(self.directory, ".gitignore")
        if not os.path.exists(ignore):
            with open(ignore, "w", encoding="ascii") as handle:
                handle.write("# Created by unfake-async.\n*\n")


def _result_to_json(result: SourceResult) -> Dict[str, Any]:
    findings = []
    for finding in result.findings:
        data = dataclasses.asdict(finding)
        data["fix"] = finding.fix.value
        data["notes"] = list(finding.notes)
        findings.append(data)
    return {"findings": findings, "fixed_source": result.fixed_source,
            "created_files": dict(result.created_files), "joint": dict(result.joint)}


def _result_from_json(data: Dict[str, Any]) -> SourceResult:
    findings = []
    for item in data["findings"]:
        item = dict(item)
        item["fix"] = FixSafety(item["fix"])
        item["notes"] = tuple(item.get("notes", ()))
        findings.append(Finding(**item))
    return SourceResult(findings=findings, fixed_source=data.get("fixed_source"),
                        created_files=dict(data.get("created_files") or {}), joint=dict(data.get("joint") or {}))

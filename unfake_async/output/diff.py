"""Unified diffs of the fixes (`--diff`), plain or coloured with rich for a terminal.

Above a file's `---` header, `#` lines name each unsafe fix in it and why it is unsafe: the diff
shows the whole migration, and those are the changes `--fix` alone does not make. `patch` and
`git apply` skip lines before a header, so the diff still applies as it is.
"""
from __future__ import annotations

import difflib
import os
from typing import Iterable, List

from rich.markup import escape

from unfake_async.codemod.engine.model import FixSafety


def render_diff(result, *, color: bool = False) -> List[str]:
    """One unified diff per changed file, `--- path` / `+++ path` like ruff; a file the fixes
    create (the project's client module) first, as a diff from /dev/null like git's."""
    lines: List[str] = []
    for new in getattr(result, "created", ()):
        diff = difflib.unified_diff([], new.text.splitlines(keepends=True), fromfile="/dev/null",
                                    tofile=display_path(new.path))
        lines += _lines(diff, color)
    for report in result.reports:
        if not report.changed or report.error:
            continue
        lines += [_note(line, color) for line in unsafe_notes(report)]
        diff = difflib.unified_diff(
            report.original.splitlines(keepends=True),
            report.fixed_source.splitlines(keepends=True),
            fromfile=report.path,
            tofile=report.path,
        )
        lines += _lines(diff, color)
    return lines


def display_path(path: str) -> str:
    """`path` relative to the working directory when it is below it (as paths are given)."""
    relative = os.path.relpath(path)
    return path if relative.startswith(os.pardir) else relative


def _lines(diff: Iterable[str], color: bool) -> List[str]:
    lines: List[str] = []
    for line in diff:
        text = line.rstrip("\n")
        if line and not line.endswith("\n"):
            # difflib glues a missing final newline onto the next line; say it like git.
            lines.append(_colour(text, color))
            lines.append("\\ No newline at end of file")
            continue
        lines.append(_colour(text, color))
    return lines


def unsafe_notes(report) -> List[str]:
    """`#` lines for the unsafe fixes shown in `report`'s diff, with their reasons."""
    unsafe = [f for f in report.findings if f.fixed and f.fix is FixSafety.UNSAFE]
    if not unsafe:
        return []
    count = f"{len(unsafe)} unsafe fix" + ("es" if len(unsafe) > 1 else "")
    notes = [f"# {report.path}: {count} below, applied by `--fix --unsafe-fixes` only:"]
    for finding in unsafe:
        notes.append(f"#   {finding.line}:{finding.col} {finding.rule_id} unsafe: "
                     f"{finding.reason or 'may change behaviour'}")
    return notes


def _note(line: str, color: bool) -> str:
    return f"[yellow]{escape(line)}[/yellow]" if color else line


def _colour(line: str, color: bool) -> str:
    if not color:
        return line
    style = None
    if line.startswith(("+++", "---")):
        style = "bold"
    elif line.startswith("+"):
        style = "green"
    elif line.startswith("-"):
        style = "red"
    elif line.startswith("@@"):
        style = "cyan"
    return f"[{style}]{escape(line)}[/{style}]" if style else escape(line)

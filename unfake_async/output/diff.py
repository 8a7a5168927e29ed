"""Unified diffs of the fixes (`--diff`), plain or coloured with rich for a terminal."""
from __future__ import annotations

import difflib
from typing import List

from rich.markup import escape


def render_diff(result, *, color: bool = False) -> List[str]:
    """One unified diff per changed file, `--- path` / `+++ path` like ruff."""
    lines: List[str] = []
    for report in result.reports:
        if not report.changed or report.error:
            continue
        diff = difflib.unified_diff(
            report.original.splitlines(keepends=True),
            report.fixed_source.splitlines(keepends=True),
            fromfile=report.path,
            tofile=report.path,
        )
        for line in diff:
            text = line.rstrip("\n")
            if line and not line.endswith("\n"):
                # difflib glues a missing final newline onto the next line; say it like git.
                lines.append(_colour(text, color))
                lines.append("\\ No newline at end of file")
                continue
            lines.append(_colour(text, color))
    return lines


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

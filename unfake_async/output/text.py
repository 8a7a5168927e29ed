"""Findings for people, one per line as ruff prints them: `path:line:col: UFA001 [*] message`.

`[*]` marks a finding a fix is available for at the current fix level (safe fixes always, unsafe
ones only with --unsafe-fixes), like ruff. With `color`, lines carry rich markup.
"""
from __future__ import annotations

from collections import Counter
from typing import List

from rich.markup import escape

from unfake_async.codemod.engine.model import FixLevel, FixSafety
from unfake_async.output.rules import rule_name


def fix_available(finding, fix_level: FixLevel) -> bool:
    if finding.fix is FixSafety.SAFE:
        return True
    return finding.fix is FixSafety.UNSAFE and fix_level >= FixLevel.UNSAFE


def render_findings(result, *, color: bool = False, show_fixes: bool = False,
                    unsafe_fixes: bool = False) -> List[str]:
    """Lines for every finding still present (fixed ones are gone from the file)."""
    level = FixLevel.UNSAFE if unsafe_fixes else FixLevel.SAFE
    lines = []
    for report in result.reports:
        for finding in report.remaining:
            marker = " [*]" if fix_available(finding, level) else ""
            location = f"{report.path}:{finding.line}:{finding.col}:"
            if color:
                line = (f"[bold]{escape(location)}[/bold] [bold red]{finding.rule_id}[/bold red]"
                        f"{escape(marker)} {escape(finding.message)}")
            else:
                line = f"{location} {finding.rule_id}{marker} {finding.message}"
            lines.append(line)
            if show_fixes:
                lines.extend(_fix_detail(finding, color))
    return lines


def _fix_detail(finding, color: bool) -> List[str]:
    detail = [f"    fix: {finding.fix.value}" + (f" ({finding.reason})" if finding.reason else "")]
    detail += [f"    note: {note}" for note in finding.notes]
    return [f"[dim]{escape(line)}[/dim]" for line in detail] if color else detail


def render_fixed(result) -> List[str]:
    """`--show-fixes` after `--fix`: what was fixed, per file and rule, like ruff."""
    per_file = []
    for report in result.reports:
        counts = Counter(f.rule_id for f in report.findings if f.fixed)
        if counts:
            per_file.append((report.path, counts))
    if not per_file:
        return []
    total = sum(sum(c.values()) for _, c in per_file)
    lines = [f"Fixed {total} finding{'s' if total != 1 else ''}:"]
    for path, counts in per_file:
        lines.append(f"- {path}:")
        for rule_id, count in sorted(counts.items()):
            name = rule_name(rule_id)
            lines.append(f"    {count} × {rule_id}" + (f" ({name})" if name else ""))
    return lines

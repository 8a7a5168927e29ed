"""The closing summary: files scanned, findings, fixes, skips with their reasons, and the hints
ruff gives (`[*] N fixable with --fix`, unsafe fixes held back)."""
from __future__ import annotations

from collections import Counter
from typing import List

from unfake_async.codemod.engine.model import FixLevel, FixSafety
from unfake_async.codemod.engine.runner import Mode
from unfake_async.output.diff import display_path


def _plural(count: int, word: str, plural: str = "") -> str:
    return f"{count} {word if count == 1 else plural or word + 's'}"


def render_summary(result, *, unsafe_fixes: bool = False) -> List[str]:
    """Summary lines for the end of a run (no markup)."""
    reports = result.reports
    findings = [f for r in reports for f in r.findings]
    fixed = sum(1 for f in findings if f.fixed)
    remaining = len(findings) - fixed
    would_fix = sum(1 for r in reports if r.changed and not r.error)

    skip_reasons = Counter(_reason_kind(reason) for _, reason in result.skipped())
    errors = len(result.errors())

    scan = [f"{_plural(len(reports), 'file')} scanned"]
    parsed = sum(1 for r in reports if r.parsed)
    cached = sum(1 for r in reports if r.cached)
    detail = [f"{parsed} parsed"] + ([f"{cached} cached"] if cached else [])
    scan[0] += f" ({', '.join(detail)})"
    if skip_reasons:
        reasons = ", ".join(f"{reason}: {count}" for reason, count in sorted(skip_reasons.items()))
        scan.append(f"{sum(skip_reasons.values())} skipped ({reasons})")
    if errors:
        scan.append(_plural(errors, "error"))

    if result.mode == Mode.FIX:
        head = (f"Found {_plural(len(findings), 'finding')} "
                f"({fixed} fixed, {remaining} remaining)." if findings else "All checks passed!")
    elif result.mode == Mode.DIFF:
        head = (f"Would fix {_plural(fixed, 'finding')} in {_plural(would_fix, 'file')}."
                if fixed else "No fixes available.")
    else:
        head = f"Found {_plural(len(findings), 'finding')}." if findings else "All checks passed!"
    lines = [head, "; ".join(scan) + "."]
    for new in getattr(result, "created", ()):
        verb = "Created" if result.mode == Mode.FIX else "Would create"
        lines.append(f"{verb} {display_path(new.path)} (imported by the fixes of "
                     f"{_plural(len(new.needed_by), 'file')}).")

    if result.mode == Mode.CHECK:
        level = FixLevel.UNSAFE if unsafe_fixes else FixLevel.SAFE
        fixable = sum(1 for r in reports for f in r.remaining if f.fix is FixSafety.SAFE
                      or (f.fix is FixSafety.UNSAFE and level >= FixLevel.UNSAFE))
        if fixable:
            lines.append(f"[*] {fixable} fixable with --fix"
                         + (" --unsafe-fixes." if unsafe_fixes else "."))
    if result.mode == Mode.DIFF and fixed:
        lines.append(_diff_levels(findings, unsafe_fixes=unsafe_fixes))
    held = unsafe_hidden(result, unsafe_fixes=unsafe_fixes)
    if held:
        lines.append(f"{_plural(held, 'unsafe fix', 'unsafe fixes')} held back "
                     "(enable with --unsafe-fixes; review the diff first).")
    return lines


def _diff_levels(findings, *, unsafe_fixes: bool) -> str:
    """Which `--fix` applies which part of the diff."""
    shown = [f for f in findings if f.fixed]
    unsafe = sum(1 for f in shown if f.fix is FixSafety.UNSAFE)
    safe = len(shown) - unsafe
    if not unsafe:
        return f"All {_plural(safe, 'fix', 'fixes')} shown are safe: `--fix` applies them."
    if unsafe_fixes:
        # On by flag or by config; this run cannot tell which, so both are named.
        return (f"{safe} safe and {unsafe} unsafe (marked `#` above each file's diff): `--fix` "
                "applies all of them while unsafe fixes are on (`--unsafe-fixes` or "
                f"`unsafe-fixes = true`), else only the {safe} safe.")
    if not safe:
        return (f"All {_plural(unsafe, 'fix', 'fixes')} shown are unsafe: `--fix --unsafe-fixes` "
                "applies them, `--fix` alone none (the reasons are marked `#` above each file's diff).")
    return (f"`--fix` applies the {_plural(safe, 'safe fix', 'safe fixes')}; `--fix --unsafe-fixes` "
            f"also the {_plural(unsafe, 'unsafe one', 'unsafe ones')} (marked `#` above each "
            "file's diff, with the reason).")


def unsafe_hidden(result, *, unsafe_fixes: bool) -> int:
    """Findings with an unsafe fix that this run neither applied nor offered."""
    if unsafe_fixes or result.fix_level >= FixLevel.UNSAFE:
        return 0
    return sum(1 for r in result.reports for f in r.findings
               if f.fix is FixSafety.UNSAFE and not f.fixed)


def _reason_kind(reason: str) -> str:
    """The reason without its specifics, so that skips group ("file too large (12 MB...)")."""
    return reason.split(" (")[0].split(";")[0]

"""`--statistics`: how many findings each rule has, most frequent first, laid out as ruff does.

    2\tUFA003\t[*] blocking-requests-in-async
    1\tUFA001\t[ ] requests-in-run-in-executor

`[*]` marks a rule whose findings have a fix that applies at this run's fix level (unsafe fixes
only with --unsafe-fixes), `[ ]` one without; neither appears when nothing is fixable.
"""
from __future__ import annotations

import json
from collections import Counter
from typing import Dict, List

from unfake_async.codemod.engine.model import FixLevel
from unfake_async.output.rules import rule_name
from unfake_async.output.text import fix_available


def collect(result, *, unsafe_fixes: bool = False) -> List[Dict[str, object]]:
    level = FixLevel.UNSAFE if unsafe_fixes else FixLevel.SAFE
    counts: Counter = Counter()
    fixable: Dict[str, bool] = {}
    for report in result.reports:
        for finding in report.remaining:
            counts[finding.rule_id] += 1
            fixable[finding.rule_id] = fixable.get(finding.rule_id, False) or fix_available(
                finding, level
            )
    return [
        {"code": code, "name": rule_name(code), "count": count, "fixable": fixable[code]}
        for code, count in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    ]


def render_statistics(result, *, fmt: str = "text", unsafe_fixes: bool = False) -> str:
    rows = collect(result, unsafe_fixes=unsafe_fixes)
    if fmt == "json":
        return json.dumps(rows, indent=2) + "\n"
    if not rows:
        return ""
    count_width = max(len(str(row["count"])) for row in rows)
    code_width = max(len(str(row["code"])) for row in rows)
    any_fixable = any(row["fixable"] for row in rows)
    lines = []
    for row in rows:
        marker = ("[*] " if row["fixable"] else "[ ] ") if any_fixable else ""
        lines.append(f"{row['count']:>{count_width}}\t{row['code']:<{code_width}}\t"
                     f"{marker}{row['name'] or ''}".rstrip())
    return "\n".join(lines) + "\n"

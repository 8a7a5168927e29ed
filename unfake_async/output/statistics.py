"""`--statistics`: how many findings each rule has, most frequent first, like ruff."""
from __future__ import annotations

import json
from collections import Counter
from typing import Dict, List

from unfake_async.codemod.model import FixSafety
from unfake_async.output.rules import rule_name


def collect(result) -> List[Dict[str, object]]:
    counts: Counter = Counter()
    fixable: Dict[str, bool] = {}
    for report in result.reports:
        for finding in report.remaining:
            counts[finding.rule_id] += 1
            fixable[finding.rule_id] = fixable.get(finding.rule_id, False) or (
                finding.fix is not FixSafety.NONE
            )
    return [
        {"code": code, "name": rule_name(code), "count": count, "fixable": fixable[code]}
        for code, count in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    ]


def render_statistics(result, *, fmt: str = "text") -> str:
    rows = collect(result)
    if fmt == "json":
        return json.dumps(rows, indent=2) + "\n"
    if not rows:
        return ""
    width = max(len(str(row["count"])) for row in rows)
    lines = []
    for row in rows:
        marker = "[*] " if row["fixable"] else "    "
        lines.append(f"{row['count']:>{width}}\t{row['code']}\t{marker}{row['name'] or ''}".rstrip())
    return "\n".join(lines) + "\n"

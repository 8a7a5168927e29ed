"""`--output-format json`: one stable, documented JSON document (format version 1).

    {
      "version": 1,
      "tool": {"name": "unfake-async", "version": "0.1.0"},
      "diagnostics": [
        {"code": "UFA001", "name": "rule-name" | null, "message": "...",
         "filename": "src/app.py",              # relative to the project root when inside it
         "location": {"row": 3, "column": 5},   # 1-based
         "end_location": {"row": 3, "column": 17},
         "fix": {"applicability": "safe" | "unsafe"} | null,
         "reason": "why the fix is unsafe or missing" | null,
         "notes": ["behaviour difference worth a look", ...]}
      ],
      "errors":  [{"filename": "...", "message": "..."}],    # the run exits 2 when non-empty
      "skipped": [{"filename": "...", "reason": "..."}],
      "summary": {"files": 10, "parsed": 2, "cached": 0, "findings": 3, "fixed": 0,
                  "remaining": 3, "errors": 0, "skipped": 0}
    }

Diagnostics list the findings still in the code (after `--fix`, the fixed ones are gone and only
counted in `summary.fixed`), sorted by file, line and column. New keys may be added; existing
keys keep their meaning while "version" stays 1.
"""
from __future__ import annotations

import json
from typing import Any, Dict

import unfake_async
from unfake_async.output.rules import display_path, rule_name

FORMAT_VERSION = 1


def document(result, *, root: str) -> Dict[str, Any]:
    diagnostics = []
    for report in result.reports:
        filename = display_path(report.path, root)
        for finding in report.remaining:
            diagnostics.append({
                "code": finding.rule_id,
                "name": rule_name(finding.rule_id),
                "message": finding.message,
                "filename": filename,
                "location": {"row": finding.line, "column": finding.col},
                "end_location": {"row": finding.end_line, "column": finding.end_col},
                "fix": None if not finding.fixable else {"applicability": finding.fix.value},
                "reason": finding.reason,
                "notes": list(finding.notes),
            })
    findings = [f for r in result.reports for f in r.findings]
    fixed = sum(1 for f in findings if f.fixed)
    errors = result.errors()
    skipped = result.skipped()
    return {
        "version": FORMAT_VERSION,
        "tool": {"name": "unfake-async", "version": unfake_async.__version__},
        "diagnostics": diagnostics,
        "errors": [{"filename": display_path(p, root), "message": m} for p, m in errors],
        "skipped": [{"filename": display_path(p, root), "reason": m} for p, m in skipped],
        # New files the fixes created (--fix) or would create (--diff): the project's client module.
        "created": [{"filename": display_path(new.path, root),
                     "needed_by": [display_path(p, root) for p in new.needed_by]}
                    for new in getattr(result, "created", ())],
        "summary": {
            "files": len(result.reports),
            "parsed": sum(1 for r in result.reports if r.parsed),
            "cached": sum(1 for r in result.reports if r.cached),
            "findings": len(findings),
            "fixed": fixed,
            "remaining": len(findings) - fixed,
            "errors": len(errors),
            "skipped": len(skipped),
        },
    }


def render(result, *, root: str) -> str:
    return json.dumps(document(result, root=root), indent=2, ensure_ascii=False) + "\n"

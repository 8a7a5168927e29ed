"""`--output-format sarif`: a SARIF 2.1.0 log for code-scanning uploads.

One run, the tool's rules in `tool.driver.rules` (every catalogued rule, plus any id a finding
carries that the catalogue lacks), one result per remaining finding with a region, and files that
failed as `toolExecutionNotifications` (with `executionSuccessful` false). Paths are relative to
the project root under `uriBaseId` `%SRCROOT%`, which is what GitHub code scanning expects.
"""
from __future__ import annotations

import json
import os
import pathlib
from typing import Any, Dict, List
from urllib.parse import quote

import unfake_async
from unfake_async.output.rules import display_path, rules_by_id

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"


def _artifact_uri(path: str, root: str) -> Dict[str, Any]:
    shown = display_path(path, root)
    if os.path.isabs(shown):
        return {"uri": pathlib.Path(shown).as_uri()}
    return {"uri": quote(shown), "uriBaseId": "%SRCROOT%"}


def _rule_descriptor(rule_id: str, rule) -> Dict[str, Any]:
    descriptor: Dict[str, Any] = {"id": rule_id}
    if rule is None:
        return descriptor
    descriptor.update({
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": " ".join(rule.what_it_does.split())},
        "help": {"text": rule.summary, "markdown": rule.docs()},
        "properties": {"fix": rule.fix.value},
    })
    return descriptor


def document(result, *, root: str) -> Dict[str, Any]:
    catalogue = rules_by_id()
    used = sorted({f.rule_id for r in result.reports for f in r.remaining} - set(catalogue))
    rule_ids = sorted(catalogue) + used
    index = {rule_id: position for position, rule_id in enumerate(rule_ids)}

    results: List[Dict[str, Any]] = []
    for report in result.reports:
        location = _artifact_uri(report.path, root)
        for finding in report.remaining:
            message = finding.message
            if finding.notes:
                message += " Notes: " + " ".join(finding.notes)
            results.append({
                "ruleId": finding.rule_id,
                "ruleIndex": index[finding.rule_id],
                "level": "warning",
                "message": {"text": message},
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": dict(location),
                        "region": {
                            "startLine": finding.line,
                            "startColumn": finding.col,
                            "endLine": max(finding.end_line, finding.line),
                            "endColumn": max(finding.end_col, 1),
                        },
                    }
                }],
                "properties": {"fix": finding.fix.value},
            })
    notifications = [
        {
            "level": "error",
            "message": {"text": message},
            "locations": [{"physicalLocation": {"artifactLocation": _artifact_uri(path, root)}}],
        }
        for path, message in result.errors()
    ]
    root_uri = pathlib.Path(os.path.abspath(root)).as_uri().rstrip("/") + "/"
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "unfake-async",
                    "version": unfake_async.__version__,
                    "semanticVersion": unfake_async.__version__,
                    "rules": [_rule_descriptor(r, catalogue.get(r)) for r in rule_ids],
                }
            },
            "originalUriBaseIds": {"%SRCROOT%": {"uri": root_uri}},
            "invocations": [{
                "executionSuccessful": not notifications,
                "toolExecutionNotifications": notifications,
            }],
            "results": results,
        }],
    }


def render(result, *, root: str) -> str:
    return json.dumps(document(result, root=root), indent=2, ensure_ascii=False) + "\n"

"""`--output-format github`: GitHub Actions workflow commands, one annotation per finding.

    ::warning file=src/app.py,line=3,col=5,endLine=3,endColumn=17,title=UFA001::message

Files that failed become `::error` annotations. Values are escaped as the Actions runner
expects (`%`, CR, LF everywhere; `:` and `,` in properties too).
"""
from __future__ import annotations

from typing import List

from unfake_async.output.rules import display_path


def escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(value: str) -> str:
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")


def render(result, *, root: str) -> str:
    lines: List[str] = []
    for report in result.reports:
        filename = escape_property(display_path(report.path, root))
        for finding in report.remaining:
            title = escape_property(finding.rule_id)
            lines.append(
                f"::warning file={filename},line={finding.line},col={finding.col},"
                f"endLine={finding.end_line},endColumn={finding.end_col},title={title}"
                f"::{escape_data(finding.message)}"
            )
    for path, message in result.errors():
        lines.append(
            f"::error file={escape_property(display_path(path, root))},title=unfake-async"
            f"::{escape_data(message)}"
        )
    return "".join(line + "\n" for line in lines)

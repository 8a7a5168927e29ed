"""The `rules` and `rule` commands' output: the rule list and one rule's page.

On a terminal the list is a rich table and the page is rendered Markdown; when piped, both are
plain text (the page stays Markdown source), so they can be grepped or pasted into docs.
"""
from __future__ import annotations

import json
from typing import Optional

from rich.console import Console
from rich.markdown import Markdown
from rich.table import Table

from unfake_async.rules import ALL_RULES, RUNTIME_RULES, get_rule

# The static rules and the runtime shim's own (UFA011): `unfake-async rules` lists every id a
# report can carry.
CATALOGUE = ALL_RULES + RUNTIME_RULES


def rules_rows():
    return [{"code": r.id, "name": r.name, "fix": r.fix.value, "summary": r.summary}
            for r in sorted(CATALOGUE, key=lambda r: r.id)]


def print_rules(console: Console, *, fmt: str = "text") -> None:
    rows = rules_rows()
    if fmt == "json":
        console.file.write(json.dumps(rows, indent=2) + "\n")
        return
    if not rows:
        console.file.write("No rules are registered.\n")
        return
    if console.is_terminal:
        table = Table("Code", "Name", "Fix", "Summary")
        for row in rows:
            table.add_row(row["code"], row["name"], row["fix"], row["summary"])
        console.print(table)
        return
    name_width = max(len(row["name"]) for row in rows)
    for row in rows:
        console.file.write(
            f"{row['code']}  {row['name']:<{name_width}}  {row['fix']:<6}  {row['summary']}\n"
        )


def find_rule(code: str):
    try:
        return get_rule(code)
    except KeyError:
        return None


def print_rule(console: Console, code: str, *, fmt: str = "text") -> Optional[str]:
    """Print one rule's docs; returns an error message when the code is unknown."""
    rule = find_rule(code)
    if rule is None:
        known = ", ".join(r.id for r in sorted(CATALOGUE, key=lambda r: r.id)) or "none yet"
        return f"unknown rule {code!r} (known: {known})"
    if fmt == "json":
        data = {"code": rule.id, "name": rule.name, "summary": rule.summary,
                "fix": rule.fix.value, "explanation": rule.docs()}
        console.file.write(json.dumps(data, indent=2) + "\n")
    elif console.is_terminal:
        console.print(Markdown(rule.docs()))
    else:
        console.file.write(rule.docs())
    return None

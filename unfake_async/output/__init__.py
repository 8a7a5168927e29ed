"""Reporters: turn a run's result into text for people (text, diff, summary, statistics) or
documents for machines (json, github, sarif, junit). Each module renders to a string, so the CLI
decides where it goes (stdout, stderr or `-o FILE`) and tests can read it directly."""
from __future__ import annotations

FORMATS = ("text", "json", "github", "sarif", "junit")


def render_document(fmt: str, result, *, root: str) -> str:
    """The report in a machine format (every format except text and diff)."""
    if fmt == "json":
        from unfake_async.output.json import render
    elif fmt == "github":
        from unfake_async.output.github import render
    elif fmt == "sarif":
        from unfake_async.output.sarif import render
    elif fmt == "junit":
        from unfake_async.output.junit import render
    else:
        raise ValueError(f"unknown output format {fmt!r}")
    return render(result, root=root)

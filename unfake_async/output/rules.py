"""Rule metadata for reporters: names and summaries by id, tolerant of ids the catalogue lacks."""
from __future__ import annotations

import os
from typing import Dict, Optional

from unfake_async.rules import ALL_RULES, Rule


def rules_by_id() -> Dict[str, Rule]:
    return {rule.id: rule for rule in ALL_RULES}


def rule_name(rule_id: str) -> Optional[str]:
    rule = rules_by_id().get(rule_id)
    return rule.name if rule else None


def display_path(path: str, root: str) -> str:
    """The path as reports show it: relative to `root` with forward slashes when inside it."""
    absolute = os.path.abspath(path)
    root = os.path.abspath(root)
    if absolute.startswith(root.rstrip(os.sep) + os.sep):
        return os.path.relpath(absolute, root).replace(os.sep, "/")
    return path.replace(os.sep, "/")

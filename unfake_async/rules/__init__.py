"""The rule catalogue: one module per rule, each defining `RULE`."""
from __future__ import annotations

from typing import Dict, List

from unfake_async.rules.base import Example, Rule

ALL_RULES: List[Rule] = []


def get_rule(rule_id: str) -> Rule:
    by_id: Dict[str, Rule] = {rule.id: rule for rule in ALL_RULES}
    return by_id[rule_id.upper()]


__all__ = ["ALL_RULES", "Example", "Rule", "get_rule"]

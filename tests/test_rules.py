"""The rule catalogue: ids, docs, and the examples in the docs run as tests (Fixit style)."""
from __future__ import annotations

import re

import pytest

from unfake_async.codemod import FixLevel, FixSafety, analyze_source
from unfake_async.rules import ALL_RULES, get_rule

EXAMPLES = [(rule, example) for rule in ALL_RULES for example in rule.examples]
VALID = [(rule, snippet) for rule in ALL_RULES for snippet in rule.valid]


def test_rule_ids_and_names_are_unique_and_well_formed():
    assert len({r.id for r in ALL_RULES}) == len(ALL_RULES)
    for rule in ALL_RULES:
        assert re.fullmatch(r"UFA\d{3}", rule.id)
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", rule.name)
        assert get_rule(rule.id.lower()) is rule


@pytest.mark.parametrize("rule", ALL_RULES, ids=lambda r: r.id)
def test_docs_have_ruff_sections(rule):
    docs = rule.docs()
    for heading in ("## What it does", "## Why is this bad?", "## Fix safety", "```python"):
        assert heading in docs
    assert rule.examples, "every rule shows an example"


@pytest.mark.parametrize("rule,example", EXAMPLES, ids=lambda x: getattr(x, "id", "example"))
def test_examples_are_flagged_and_fixed_as_documented(rule, example):
    result = analyze_source(example.before, fix_level=FixLevel.UNSAFE)
    assert [f.rule_id for f in result.findings] == [rule.id]
    assert result.findings[0].fix is example.fix
    if example.after is None:
        assert result.fixed_source is None
    else:
        assert result.fixed_source is not None and result.fixed_source.endswith(example.after)
        compile(result.fixed_source, rule.id, "exec")
    if example.fix is FixSafety.SAFE:
        assert analyze_source(example.before, fix_level=FixLevel.SAFE).fixed_source == result.fixed_source
    else:
        assert analyze_source(example.before, fix_level=FixLevel.SAFE).fixed_source is None


@pytest.mark.parametrize("rule,snippet", VALID, ids=lambda x: getattr(x, "id", "valid"))
def test_valid_code_is_not_flagged(rule, snippet):
    import textwrap

    assert analyze_source(textwrap.dedent(snippet)).findings == []

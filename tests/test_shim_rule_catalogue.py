"""UFA011, the watchdog's rule, has a catalogue page but no static matcher."""
from __future__ import annotations

import textwrap

import pytest

from unfake_async.cli import main
from unfake_async.codemod import analyze_source
from unfake_async.rules import ALL_RULES, RUNTIME_RULES, get_rule
from unfake_async.shim.report import RULE_NAMES


def test_every_runtime_rule_id_with_a_page_matches_the_shims_names():
    rule = get_rule("ufa011")
    assert rule in RUNTIME_RULES and rule not in ALL_RULES
    assert RULE_NAMES[rule.id] == rule.name
    docs = rule.docs()
    for heading in ("## What it does", "## Why is this bad?", "## Fix safety", "```python"):
        assert heading in docs


def test_rule_command_prints_the_page(capsys):
    with pytest.raises(SystemExit) as info:
        main(["rule", "UFA011"])
    assert info.value.code == 0
    assert capsys.readouterr().out == get_rule("UFA011").docs()


def test_static_analysis_never_reports_it():
    for example in get_rule("UFA011").examples:
        assert "UFA011" not in [f.rule_id for f in analyze_source(example.before).findings]
    for snippet in get_rule("UFA011").valid:
        assert analyze_source(textwrap.dedent(snippet)).findings == []

"""Every fixture: the codemod turns before.py into after.py exactly, reports expected.txt exactly,
and after.py compiles and is a fixed point (a second run changes nothing)."""
from __future__ import annotations

import pathlib

import libcst as cst
import pytest

from tests.support.fixture_project import fixture_facts
from tests.support.fixture_settings import fixture_settings
from unfake_async.codemod import FixLevel, FixSafety, analyze_source

FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "fixtures"
CASES = sorted(p.name for p in FIXTURES.iterdir() if (p / "before.py").exists())


def _findings_text(result) -> str:
    return "".join(
        f"{f.line}:{f.col} {f.rule_id} fix={f.fix.value}"
        + (f" reason={f.reason}" if f.fix is FixSafety.NONE else "")
        + "\n"
        for f in result.findings
    )


def test_there_are_enough_fixtures():
    assert len(CASES) >= 20


@pytest.mark.parametrize("case", CASES)
def test_before_becomes_after(case):
    before = (FIXTURES / case / "before.py").read_text()
    expected = (FIXTURES / case / "after.py").read_text()
    result = analyze_source(before, path=f"{case}/before.py", settings=fixture_settings(FIXTURES / case),
                            fix_level=FixLevel.UNSAFE, project=fixture_facts(FIXTURES / case, "before.py", before))
    assert (result.fixed_source or before) == expected
    assert _findings_text(result) == (FIXTURES / case / "expected.txt").read_text()


@pytest.mark.parametrize("case", CASES)
def test_after_compiles_and_is_a_fixed_point(case):
    after = (FIXTURES / case / "after.py").read_text()
    cst.parse_module(after)
    compile(after, f"{case}/after.py", "exec")
    again = analyze_source(after, path=f"{case}/after.py", settings=fixture_settings(FIXTURES / case),
                           fix_level=FixLevel.UNSAFE, project=fixture_facts(FIXTURES / case, "after.py", after))
    assert again.fixed_source is None
    # What is left are only the findings that had no fix in the first place.
    assert all(f.fix is FixSafety.NONE for f in again.findings)


@pytest.mark.parametrize("case", CASES)
def test_report_only_run_changes_nothing(case):
    before = (FIXTURES / case / "before.py").read_text()
    result = analyze_source(before, settings=fixture_settings(FIXTURES / case), fix_level=FixLevel.NONE,
                            project=fixture_facts(FIXTURES / case, "before.py", before))
    assert result.fixed_source is None


@pytest.mark.parametrize("case", CASES)
def test_safe_level_applies_only_safe_fixes(case):
    before = (FIXTURES / case / "before.py").read_text()
    facts = fixture_facts(FIXTURES / case, "before.py", before)
    result = analyze_source(before, settings=fixture_settings(FIXTURES / case), fix_level=FixLevel.SAFE, project=facts)
    fixed = [f for f in result.findings if f.fixed]
    assert all(f.fix is FixSafety.SAFE for f in fixed)
    if result.fixed_source is not None:
        compile(result.fixed_source, case, "exec")
        again = analyze_source(result.fixed_source, settings=fixture_settings(FIXTURES / case), fix_level=FixLevel.SAFE,
                               project=facts)
        assert again.fixed_source is None

"""flake8-async's eval files, ALL of them, as an oracle for every sync-HTTP rule.

tests/test_oracle_flake8_async.py holds the requests lines of async210.py to the requests rules.
This file holds the whole of async210.py (requests, httpx, httpx2, urllib3, urlopen) and
async212.py (sync httpx/httpx2 clients, urllib3 pools) to all of our rules: every line
flake8-async flags must carry one of our findings at the same line and column (its columns are
0-based), and no line it considers fine may carry one, except the differences listed in
DIFFERENCES with the reason for each. The counts are asserted exactly and printed (`-s`), so the
agreement is on record and any change in it is noticed.

async212.py uses `httpx`/`httpx2` without importing them (flake8-async matches the text); we
resolve names through their imports, so the test appends the two imports after the last line,
which moves no line. async211.py (ASYNC211, flake8-async's opt-in `.request("VERB")` heuristic)
is checked as a bonus: its flagged lines must be flagged too.
"""
from __future__ import annotations

from typing import Dict, List, Set, Tuple

import pytest

from tests.support.flake8_async import eval_file
from unfake_async.codemod import analyze_source

APPENDED_IMPORTS = {"async212.py": "import httpx\nimport httpx2\n"}

# (file, line): why we differ. "missed": flake8-async flags it, we do not; "extra": the reverse.
DIFFERENCES: Dict[Tuple[str, int], Tuple[str, str]] = {
    ("async210.py", 50): ("missed", "`request.urlopen()`: `request` is bound nowhere in the file (a NameError "
                                    "at run time); we resolve names through imports and do not guess"),
    ("async210.py", 51): ("missed", "`urlopen()`: bound nowhere in the file either"),
    ("async212.py", 98): ("extra", "`client: Client = Client()` with `from httpx import Client`: a sync httpx "
                                   "client; the eval file marks it '# not implemented' in flake8-async"),
}

# Which of our rules answers which flake8-async name.
RULE_FOR_NAME = (
    ("requests.", "UFA003"),
    ("httpx.", "UFA005"),
    ("httpx2.", "UFA005"),
    ("urllib3.", "UFA006"),
    ("urllib.request.urlopen", "UFA006"),
    ("request.urlopen", "UFA006"),
    ("urlopen", "UFA006"),
    ("client.", "UFA005"),
    ("glob_client.", "UFA005"),
    ("c.", "UFA006"),  # async212's urllib3 pools are all called `c`
)


def _analyze(name: str):
    source_file = eval_file(name)
    result = analyze_source(source_file.source + APPENDED_IMPORTS.get(name, ""), path=name)
    return source_file, result.findings


@pytest.fixture(scope="module")
def oracle():
    return {name: _analyze(name) for name in ("async210.py", "async212.py")}


def _agreement(name: str, source_file, findings) -> Dict[str, object]:
    ours = {(f.line, f.col - 1) for f in findings}
    expected = source_file.expectations
    flagged = [e for e in expected if (e.line, e.column) in ours]
    missed = sorted({e.line for e in expected if (e.line, e.column) not in ours})
    ok = source_file.ok_lines()
    extra = sorted({f.line for f in findings if f.line in ok})
    return {
        "expected": len(expected), "flagged": len(flagged), "missed": missed,
        "ok_lines": len(ok), "ok_call_lines": len(source_file.ok_call_lines()), "extra": extra,
    }


def _listed(name: str, kind: str) -> List[int]:
    return sorted(line for (file, line), (what, _) in DIFFERENCES.items() if file == name and what == kind)


@pytest.mark.parametrize("name", ["async210.py", "async212.py"])
def test_every_flagged_line_is_ours_and_no_ok_line_except_the_listed_differences(oracle, name):
    source_file, findings = oracle[name]
    agreement = _agreement(name, source_file, findings)
    assert agreement["missed"] == _listed(name, "missed"), [source_file.text_of(n) for n in agreement["missed"]]
    assert agreement["extra"] == _listed(name, "extra"), [source_file.text_of(n) for n in agreement["extra"]]


def test_agreement_counts(oracle, capsys):
    """The numbers for the closing note, asserted so that any change shows up."""
    table = {name: _agreement(name, *oracle[name]) for name in oracle}
    with capsys.disabled():
        for name, row in table.items():
            print(f"\n{name}: {row['flagged']}/{row['expected']} expected errors flagged at the same line and "
                  f"column; {len(row['extra'])} of {row['ok_lines']} OK lines flagged "
                  f"({row['ok_call_lines']} of them calls); differences: missed {row['missed']}, extra {row['extra']}")
    assert (table["async210.py"]["expected"], table["async210.py"]["flagged"]) == (30, 28)
    assert (table["async212.py"]["expected"], table["async212.py"]["flagged"]) == (40, 40)
    assert len(table["async210.py"]["extra"]) == 0 and len(table["async212.py"]["extra"]) == 1


@pytest.mark.parametrize("name", ["async210.py", "async212.py"])
def test_each_flagged_line_gets_the_rule_for_its_library(oracle, name):
    source_file, findings = oracle[name]
    by_place: Dict[Tuple[int, int], Set[str]] = {}
    for finding in findings:
        by_place.setdefault((finding.line, finding.col - 1), set()).add(finding.rule_id)
    wrong = []
    for expectation in source_file.expectations:
        rules = by_place.get((expectation.line, expectation.column))
        if rules is None:
            continue  # a listed difference, checked above
        rule = next(rule for prefix, rule in RULE_FOR_NAME if expectation.name.startswith(prefix))
        if rule not in rules:
            wrong.append((expectation.line, expectation.name, sorted(rules)))
    assert wrong == []


def test_no_finding_on_a_line_the_eval_file_does_not_mention_as_code(oracle):
    """Our findings sit on code lines only (never on the imports we appended)."""
    for source_file, findings in oracle.values():
        last = len(source_file.source.splitlines())
        assert all(f.line <= last for f in findings)


def test_async211_flagged_lines_are_flagged_too():
    """Bonus: ASYNC211 flags `.request("VERB")` on anything; we flag every call on the PoolManager
    by its binding, so its flagged lines are ours and so are the calls its heuristic leaves out
    (`foo.request()`, `foo.request(None)`: still a blocking request on a pool)."""
    source_file, findings = _analyze("async211.py")
    ours = {(f.line, f.col - 1) for f in findings}
    missed = [e.line for e in source_file.expectations if (e.line, e.column) not in ours]
    assert missed == []
    extra = sorted({f.line for f in findings if f.line in source_file.ok_lines()})
    assert [source_file.text_of(n).strip() for n in extra] == [
        'foo.request()', 'foo.request(..., "PUT")', 'foo.request("sPUTnik")', "foo.request(None)",
        "foo.request(put)", "foo.request(PUT)", 'foo.request("REQUEST")  # not an HTTP verb',
    ]
    assert 'request("PUT")' not in [source_file.text_of(f.line).strip() for f in findings]

"""flake8-async's own eval file as an external oracle for the `requests` rules.

`tests/eval_files/async210.py` from the pinned flake8-async sdist (fetched at test time, see
tests/support/flake8_async.py) marks each blocking HTTP call it expects flagged. Every one of its
`requests.*` expectations must be one of our findings at the same line and column, and no line it
considers fine may carry a finding of ours. Lines for other libraries (httpx, urllib3, urlopen)
are not claimed here: the requests rules do not cover them.
"""
from __future__ import annotations

import pytest

from tests.support.flake8_async import eval_file, parse_expectations
from unfake_async.codemod import analyze_source

REQUESTS = r"requests\."
REQUESTS_RULES = {"UFA001", "UFA002", "UFA003"}  # other libraries have rules of their own


@pytest.fixture(scope="module")
def async210():
    source_file = eval_file("async210.py")
    result = analyze_source(source_file.source, path="async210.py")
    return source_file, result.findings


def test_every_requests_call_flake8_async_flags_is_flagged_at_the_same_place(async210):
    source_file, findings = async210
    expected = [e for e in source_file.expectations if e.name.startswith("requests.")]
    assert len(expected) >= 10, "the oracle lost its requests lines; is the pin right?"
    # flake8-async columns are 0-based; direct calls in async def are UFA003.
    ours = {(f.line, f.col - 1) for f in findings if f.rule_id == "UFA003"}
    missed = [(e.line, e.column, e.name, source_file.text_of(e.line).strip())
              for e in expected if (e.line, e.column) not in ours]
    assert missed == []


def test_no_finding_of_any_rule_on_a_line_flake8_async_considers_fine(async210):
    source_file, findings = async210
    ok = source_file.ok_lines()
    # The near misses are among them: a non-HTTP requests attribute, a dict's .get().
    near_misses = [source_file.text_of(n).strip() for n in sorted(source_file.ok_call_lines())]
    assert "requests.foo()" in near_misses and 'r.get("not a sync http client")' in near_misses
    wrongly = [(f.line, source_file.text_of(f.line).strip()) for f in findings if f.line in ok]
    assert wrongly == []


def test_every_finding_is_on_a_requests_line_of_the_oracle(async210):
    """Nothing beyond the oracle either: each requests finding is on a requests line it flags."""
    source_file, findings = async210
    ours = [f for f in findings if f.rule_id in REQUESTS_RULES]
    assert len(ours) == 11
    assert {f.line for f in ours} == source_file.lines_matching(REQUESTS)


def test_expectation_parser_reads_flake8_async_comment_syntax():
    source = (
        "async def f():\n"
        "    print(requests.get(requests.get()))# ASYNC210: 10, 'requests.get' # ASYNC210: 23, 'requests.get'\n"
        "    # requests.get()  # ASYNC210: 4, 'commented out'\n"
        "    client.send()  # ASYNC212: 4, \"send\", \"client\"\n"
        "    x = 1  # plain comment\n"
    )
    parsed = parse_expectations(source)
    assert [(e.code, e.line, e.column, e.name) for e in parsed] == [
        ("ASYNC210", 2, 10, "requests.get"),
        ("ASYNC210", 2, 23, "requests.get"),
        ("ASYNC212", 4, 4, "client.send"),
    ]

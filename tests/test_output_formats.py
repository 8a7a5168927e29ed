"""Machine formats: SARIF validates against the official schema, JUnit loads in a JUnit parser,
GitHub annotations are escaped, JSON has its documented shape; plus text, diff and statistics."""
import json
import os
import pathlib

import jsonschema
import junitparser
import pytest

from unfake_async.codemod.engine.model import Finding, FixLevel, FixSafety
from unfake_async.codemod.engine.runner import FileReport, Mode, RunResult
from unfake_async.output import github, render_document
from unfake_async.output.diff import render_diff
from unfake_async.output.rules import rule_name
from unfake_async.output.statistics import collect, render_statistics
from unfake_async.output.summary import render_summary
from unfake_async.output.text import render_findings

SCHEMA = pathlib.Path(__file__).parent / "schemas" / "sarif-schema-2.1.0.json"


def finding(rule="UFA001", line=3, col=5, fix=FixSafety.UNSAFE, message="blocking call", **kw):
    return Finding(rule, message, line, col, line, col + 12, fix=fix, **kw)


def sample(root, mode=Mode.CHECK):
    reports = [
        FileReport(os.path.join(root, "src", "app.py"), parsed=True, findings=[
            finding(reason="exceptions change", notes=("response.url is an httpx.URL",)),
            finding("UFA003", 9, 1, FixSafety.SAFE, 'say "hi", 100%: done\nnext line'),
        ]),
        FileReport(os.path.join(root, "src", "clean.py"), parsed=True),
        FileReport(os.path.join(root, "src", "fixed.py"), parsed=True, changed=True,
                   findings=[finding("UFA002", fix=FixSafety.SAFE, fixed=True)],
                   original="a = 1\nb = 2\n", fixed_source="a = 1\nb = 3"),
        FileReport(os.path.join(root, "broken.py"), error="syntax error at 2:1: bad input"),
        FileReport(os.path.join(root, "huge.py"), skipped="file too large (12.0 MB > 10 MB limit)"),
    ]
    return RunResult(reports, fix_level=FixLevel.NONE, mode=mode,
                     discovery_skipped=[(os.path.join(root, "out.py"), "symlink points outside")])


def test_sarif_validates_against_the_official_schema(tmp_path):
    document = json.loads(render_document("sarif", sample(str(tmp_path)), root=str(tmp_path)))
    jsonschema.validate(document, json.loads(SCHEMA.read_text()))
    run = document["runs"][0]
    rule_ids = [rule["id"] for rule in run["tool"]["driver"]["rules"]]
    results = run["results"]
    assert [r["ruleId"] for r in results] == ["UFA001", "UFA003"]
    for result in results:
        assert rule_ids[result["ruleIndex"]] == result["ruleId"]
    location = results[0]["locations"][0]["physicalLocation"]
    assert location["artifactLocation"] == {"uri": "src/app.py", "uriBaseId": "%SRCROOT%"}
    assert location["region"] == {"startLine": 3, "startColumn": 5, "endLine": 3, "endColumn": 17}
    assert run["invocations"][0]["executionSuccessful"] is False
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == tmp_path.as_uri() + "/"


def test_sarif_of_a_clean_run_validates_too(tmp_path):
    result = RunResult([FileReport(str(tmp_path / "a.py"))])
    document = json.loads(render_document("sarif", result, root=str(tmp_path)))
    jsonschema.validate(document, json.loads(SCHEMA.read_text()))
    assert document["runs"][0]["results"] == []


def test_junit_loads_in_a_junit_parser(tmp_path):
    path = tmp_path / "report.xml"
    path.write_text(render_document("junit", sample(str(tmp_path)), root=str(tmp_path)))
    xml = junitparser.JUnitXml.fromfile(str(path))
    suites = {suite.name: suite for suite in xml}
    assert set(suites) == {"src/app.py", "broken.py"}
    cases = list(suites["src/app.py"])
    assert [case.name for case in cases] == ["UFA001 3:5", "UFA003 9:1"]
    assert all(isinstance(case.result[0], junitparser.Failure) for case in cases)
    assert isinstance(list(suites["broken.py"])[0].result[0], junitparser.Error)
    assert (xml.tests, xml.failures, xml.errors) == (3, 2, 1)


def test_junit_of_a_clean_run_has_one_passing_case(tmp_path):
    path = tmp_path / "report.xml"
    path.write_text(render_document("junit", RunResult([FileReport("a.py")]), root=str(tmp_path)))
    xml = junitparser.JUnitXml.fromfile(str(path))
    cases = [case for suite in xml for case in suite]
    assert len(cases) == 1 and cases[0].is_passed


def test_github_annotations_are_escaped(tmp_path):
    lines = render_document("github", sample(str(tmp_path)), root=str(tmp_path)).splitlines()
    assert lines[0] == ("::warning file=src/app.py,line=3,col=5,endLine=3,endColumn=17,"
                        "title=UFA001::blocking call")
    assert lines[1].endswith('::say "hi", 100%25: done%0Anext line')
    assert lines[2] == "::error file=broken.py,title=unfake-async::syntax error at 2:1: bad input"
    assert len(lines) == 3
    assert github.escape_property("a,b:c") == "a%2Cb%3Ac"


def test_json_has_the_documented_shape(tmp_path):
    document = json.loads(render_document("json", sample(str(tmp_path)), root=str(tmp_path)))
    assert document["version"] == 1
    first = document["diagnostics"][0]
    assert first == {
        "code": "UFA001", "name": first["name"], "message": "blocking call",
        "filename": "src/app.py", "location": {"row": 3, "column": 5},
        "end_location": {"row": 3, "column": 17}, "fix": {"applicability": "unsafe"},
        "reason": "exceptions change", "notes": ["response.url is an httpx.URL"],
    }
    assert len(document["diagnostics"]) == 2  # the fixed one is only counted
    assert document["errors"] == [{"filename": "broken.py", "message": "syntax error at 2:1: bad input"}]
    assert {s["filename"] for s in document["skipped"]} == {"out.py", "huge.py"}
    assert document["summary"] == {"files": 5, "parsed": 3, "cached": 0, "findings": 3, "fixed": 1,
                                   "remaining": 2, "errors": 1, "skipped": 2}


def test_text_lines_mark_fixable_findings_like_ruff(tmp_path):
    result = sample(str(tmp_path))
    lines = render_findings(result)
    app = os.path.join(str(tmp_path), "src", "app.py")
    assert lines[0] == f"{app}:3:5: UFA001 blocking call"  # unsafe: no [*] without --unsafe-fixes
    assert lines[1].startswith(f"{app}:9:1: UFA003 [*] say")
    assert render_findings(result, unsafe_fixes=True)[0] == f"{app}:3:5: UFA001 [*] blocking call"
    detailed = render_findings(result, show_fixes=True)
    assert "    fix: unsafe (exceptions change)" in detailed
    assert "    note: response.url is an httpx.URL" in detailed


def test_summary_counts_skips_with_reasons_and_unsafe_fixes_held_back(tmp_path):
    lines = render_summary(sample(str(tmp_path)))
    assert lines[0] == "Found 3 findings."
    assert lines[1] == ("5 files scanned (3 parsed); 2 skipped (file too large: 1, "
                        "symlink points outside: 1); 1 error.")
    assert "[*] 1 fixable with --fix." in lines
    assert "1 unsafe fix held back (enable with --unsafe-fixes; review the diff first)." in lines


def test_diff_is_unified_and_marks_a_missing_final_newline(tmp_path):
    lines = render_diff(sample(str(tmp_path), Mode.DIFF))
    path = os.path.join(str(tmp_path), "src", "fixed.py")
    assert lines[:2] == [f"--- {path}", f"+++ {path}"]
    assert lines[-3:] == ["-b = 2", "+b = 3", "\\ No newline at end of file"]


def test_statistics_count_remaining_findings_per_rule(tmp_path):
    result = sample(str(tmp_path))
    result.reports[1].findings = [finding("UFA003", fix=FixSafety.NONE)]
    rows = collect(result)
    # As in ruff, "fixable" means a fix that applies at this run's level: UFA001's is unsafe.
    assert [(r["code"], r["count"], r["fixable"]) for r in rows] == [
        ("UFA003", 2, True), ("UFA001", 1, False)]
    assert [r["fixable"] for r in collect(result, unsafe_fixes=True)] == [True, True]
    text = render_statistics(result)
    assert text.splitlines() == [f"2\tUFA003\t[*] {rule_name('UFA003') or ''}".rstrip(),
                                 f"1\tUFA001\t[ ] {rule_name('UFA001') or ''}".rstrip()]
    assert json.loads(render_statistics(result, fmt="json"))[0] == {
        "code": "UFA003", "name": rule_name("UFA003"), "count": 2, "fixable": True}


def test_statistics_without_any_fixable_rule_have_no_markers(tmp_path):
    reports = [FileReport("a.py", parsed=True, findings=[finding(fix=FixSafety.NONE)] * 10)]
    assert render_statistics(RunResult(reports)) == f"10\tUFA001\t{rule_name('UFA001') or ''}\n"


@pytest.mark.parametrize("fmt", ["json", "github", "sarif", "junit"])
def test_every_format_renders_an_empty_run(fmt, tmp_path):
    text = render_document(fmt, RunResult([]), root=str(tmp_path))
    assert text == "" if fmt == "github" else text.endswith("\n")


def test_summary_plurals():
    reports = [FileReport("a.py", parsed=True, findings=[finding(), finding(line=4)])]
    lines = render_summary(RunResult(reports))
    assert lines[:2] == ["Found 2 findings.", "1 file scanned (1 parsed)."]
    assert "2 unsafe fixes held back (enable with --unsafe-fixes; review the diff first)." in lines

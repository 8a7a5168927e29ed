"""`--output-format junit`: JUnit XML, laid out as ruff does it.

One `<testsuite>` per file with findings and one failing `<testcase>` per finding (classname is
the file, name the rule id and position); files that failed get an `<error>` testcase. A clean run
is a single passing testcase, so CI systems still record that the check ran.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import OrderedDict

from unfake_async.output.rules import display_path


def render(result, *, root: str) -> str:
    suites_element = ET.Element("testsuites", name="unfake-async")
    by_file = OrderedDict()
    for report in result.reports:
        if report.remaining:
            by_file.setdefault(display_path(report.path, root), []).extend(
                ("failure", f) for f in report.remaining
            )
    for path, message in result.errors():
        by_file.setdefault(display_path(path, root), []).append(("error", message))

    total = failures = errors = 0
    for filename, items in by_file.items():
        suite = ET.SubElement(suites_element, "testsuite", name=filename)
        suite_failures = suite_errors = 0
        for kind, item in items:
            if kind == "failure":
                case = ET.SubElement(
                    suite, "testcase", classname=filename,
                    name=f"{item.rule_id} {item.line}:{item.col}",
                    file=filename, line=str(item.line),
                )
                failure = ET.SubElement(case, "failure", message=item.message, type=item.rule_id)
                failure.text = f"line {item.line}, col {item.col}, {item.message}"
                suite_failures += 1
            else:
                case = ET.SubElement(suite, "testcase", classname=filename, name="unfake-async",
                                     file=filename)
                ET.SubElement(case, "error", message=item, type="error").text = item
                suite_errors += 1
        count = suite_failures + suite_errors
        suite.set("tests", str(count))
        suite.set("failures", str(suite_failures))
        suite.set("errors", str(suite_errors))
        total, failures, errors = total + count, failures + suite_failures, errors + suite_errors

    if not by_file:
        suite = ET.SubElement(suites_element, "testsuite", name="unfake-async", tests="1",
                              failures="0", errors="0")
        ET.SubElement(suite, "testcase", classname="unfake-async", name="No findings")
        total = 1
    suites_element.set("tests", str(total))
    suites_element.set("failures", str(failures))
    suites_element.set("errors", str(errors))
    ET.indent(suites_element)
    body = ET.tostring(suites_element, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"

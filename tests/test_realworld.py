"""`unfake-async --fix --unsafe-fixes` over pinned sdists of real projects loses nothing.

Slow (downloads ~100 MB once, then minutes per large project), so CI skips it. Run it with

    .venv/bin/python -m pytest tests/test_realworld.py -q -m slow              # every project
    .venv/bin/python -m pytest tests/test_realworld.py -q -m slow -k requests  # one of them

or, for the table in docs/reliability.md, `scripts/realworld.py --markdown docs/reliability.md`.
Each project must come through with no crash, every changed file compiling and a fixed point,
every other file byte-identical (see scripts/realworld.py for the checks). A project whose sdist
cannot be downloaded (offline) is skipped with the reason.
"""
from __future__ import annotations

import importlib.util
import pathlib
import sys

import pytest

SCRIPT = pathlib.Path(__file__).resolve().parent.parent / "scripts" / "realworld.py"


def _load_script():
    spec = importlib.util.spec_from_file_location("unfake_async_realworld", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


realworld = _load_script()


@pytest.mark.slow
@pytest.mark.parametrize("name,version", [(n, v) for n, v, _ in realworld.PROJECTS],
                         ids=[n for n, _, _ in realworld.PROJECTS])
def test_fix_over_a_real_project_loses_nothing(name, version, tmp_path):
    sdists = pathlib.Path(realworld.cache_root()) / "sdists"
    try:
        outcome = realworld.check_project(name, version, str(sdists), str(tmp_path))
    except realworld.DownloadError as exc:
        pytest.skip(f"sdist not available (offline?): {exc}")
    assert outcome.failures == []
    assert outcome.files > 0
    assert not [e for e in outcome.tool_errors if "internal error" in e]


def test_the_project_list_meets_the_issue():
    """At least 20 pinned projects, several of them async code that really calls requests."""
    assert len(realworld.PROJECTS) >= 20
    assert all(version[0].isdigit() for _, version, _ in realworld.PROJECTS)
    assert len({name.lower() for name, _, _ in realworld.PROJECTS}) == len(realworld.PROJECTS)


def test_markdown_table_is_replaced_between_its_markers(tmp_path):
    doc = tmp_path / "reliability.md"
    doc.write_text("# Title\n\nintro\n")
    first = realworld.table([realworld.Outcome("a", "1.0", files=3, findings=2, fixed=1)])
    realworld.write_markdown(str(doc), first)
    second = realworld.table([realworld.Outcome("b", "2.0", files=5)])
    realworld.write_markdown(str(doc), second)
    text = doc.read_text()
    assert text.startswith("# Title\n\nintro\n") and text.count(realworld.BEGIN) == 1
    assert "| b | 2.0 | 5 |" in text and "| a | 1.0 |" not in text

"""UFA008's trial on a slice of the rewrite (`passes/sync_helpers/trial_slice.py`) against the
same trial on the whole rewrite, the algorithm it replaces: on every fixture with a sync helper
and on shapes where a careless slice would lose what decides the verdict (a Session attribute
set in `__init__`, a closure's session, a rebinding of `requests`, a suppression comment), the
core's findings in each helper, the helpers' lines and the verdicts are the same."""
from __future__ import annotations

import ast
import dataclasses
import textwrap
from pathlib import Path
from typing import List

import pytest

from tests.support.fixture_project import fixture_facts
from tests.support.fixture_settings import fixture_settings
from unfake_async.codemod import FixLevel, analyze_source
from unfake_async.codemod.passes.sync_helpers import rule, trial
from unfake_async.codemod.passes.sync_helpers.model import UNSAFE
from unfake_async.codemod.passes.sync_helpers.rewrite import rewrite
from unfake_async.codemod.passes.sync_helpers.trial_slice import trial_slice
from unfake_async.settings import Settings

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
HELPER_CASES = sorted(p.parent.name for p in FIXTURES.glob("*/expected.txt") if "UFA008" in p.read_text())


@dataclasses.dataclass
class Comparison:
    helpers: List[object]  # copies, as they were before the trial
    sliced: object  # (spans, findings), or None when the slice was refused
    whole: object

    @property
    def labels(self) -> List[str]:
        return [helper.label for helper in self.helpers]


def _inside(spans, findings):
    def key(f):
        return (f.rule_id, f.message, f.line, f.col, f.end_line, f.end_col, f.fix, f.reason)
    return [sorted(key(f) for f in findings if span and span[0] <= f.line <= span[1]) for span in spans]


def _verdicts(helpers, spans, findings):
    copies = [dataclasses.replace(helper, reason=None) for helper in helpers]
    outside = trial._judge(copies, spans, findings)
    return [helper.reason for helper in copies], outside


@pytest.fixture
def compared(monkeypatch):
    """Every trial run during the test, with both algorithms' answers on the same rewrite."""
    runs: List[Comparison] = []
    real = rule.check_core_migrates

    def both(helpers, view, context, **options):
        candidate = rewrite(view, helpers, clean=False)
        runs.append(Comparison([dataclasses.replace(h) for h in helpers], trial.sliced_trial(candidate, helpers, context),
                               trial.whole_trial(candidate, helpers, context)))
        return real(helpers, view, context, **options)

    monkeypatch.setattr(rule, "check_core_migrates", both)
    return runs


def assert_same(runs: List[Comparison]) -> None:
    assert runs, "no trial ran"
    for run in runs:
        if run.sliced is None:
            continue
        sliced_spans, sliced_findings = run.sliced
        whole_spans, whole_findings = run.whole
        assert sliced_spans == whole_spans, run.labels
        assert _inside(sliced_spans, sliced_findings) == _inside(whole_spans, whole_findings), run.labels
        assert _verdicts(run.helpers, *run.sliced)[0] == _verdicts(run.helpers, *run.whole)[0], run.labels


@pytest.mark.parametrize("case", HELPER_CASES)
def test_fixture_verdicts_agree(case, compared):
    case_dir = FIXTURES / case
    for name in sorted(p.name for p in case_dir.glob("*.py") if p.name != "after.py"):
        text = (case_dir / name).read_text()
        analyze_source(text, path=f"{case}/{name}", settings=fixture_settings(case_dir), fix_level=FixLevel.NONE,
                       project=fixture_facts(case_dir, name, text))
    if not compared:
        pytest.skip(f"{case}: no helper reaches the trial (each is refused before it)")
    assert_same(compared)


def test_most_fixture_trials_are_sliced(compared):
    """The comparison above means something only if the slice is taken."""
    for case in HELPER_CASES:
        case_dir = FIXTURES / case
        text = (case_dir / "before.py").read_text()
        analyze_source(text, settings=fixture_settings(case_dir), project=fixture_facts(case_dir, "before.py", text))
    assert len(compared) >= 5
    assert sum(run.sliced is not None for run in compared) == len(compared)


def trials(source: str, settings: Settings = None, runs=None):
    analyze_source(textwrap.dedent(source), settings=settings, fix_level=FixLevel.NONE)
    assert_same(runs)
    return runs


SESSION_ATTRIBUTE = """
import asyncio
import requests


class Client:
    def __init__(self, base):
        self.base = base
        self.session = requests.Session()
        self.session.headers["x"] = "1"

    def _fetch(self, path):
        return self.session.get(self.base + path).json()

    async def fetch(self, path):
        return await asyncio.to_thread(self._fetch, path)

    def close(self):
        self.session.close()


class Unrelated:
    async def _fetch(self):
        return 1
"""

CLOSURE_SESSION = """
import asyncio
import requests


async def main(url):
    session = requests.Session()

    def unrelated():
        return 2

    def fetch():
        requests.head(url, timeout=5)
        return session.get(url)

    return await asyncio.to_thread(fetch)
"""

# A module-level Session: its `get` is a request the core cannot migrate (a Session in a
# variable), unless another binding makes `session` something else, and no longer a request.
MODULE_SESSION = """
import asyncio
import requests

session = requests.Session()


def _fetch(url):
    requests.head(url, timeout=5)
    return session.get(url)


async def fetch(url):
    return await asyncio.to_thread(_fetch, url)
"""

REBOUND_SESSION = MODULE_SESSION.replace("session = requests.Session()\n", """session = requests.Session()
if not session:
    session = object()
""")

WALRUS_IN_A_STUBBED_HEADER = MODULE_SESSION.replace("session = requests.Session()\n", """session = requests.Session()


def elsewhere(x=(session := None)):
    return x
""")

SUPPRESSED_INSIDE = """
import asyncio
import requests

LIMIT = 3


def _fetch(url):
    return requests.get(url, timeout=LIMIT)  # noqa: UFA003


async def fetch(url):
    return await asyncio.to_thread(_fetch, url)
"""

NESTED_IN_A_METHOD = """
import asyncio
import requests


async def send(hass, data):
    verify = data.get("verify", True)

    class Bot:
        def helper(self):
            return 1

        async def upload(self, url):
            def get_url(url):
                return requests.get(url, verify=verify)

            result = await asyncio.to_thread(get_url, url)
            return result.content

    return await Bot().upload(data["url"])
"""

RESPONSE_USED_IN_A_NESTED_FUNCTION = """
import asyncio
import requests


def _fetch(url):
    r = requests.get(url)

    def reason():
        return r.reason

    return reason()


async def fetch(url):
    return await asyncio.to_thread(_fetch, url)
"""

MIGRATES = """
import asyncio
import requests


def _fetch(url):
    try:
        return requests.get(url, timeout=5).json()
    except requests.RequestException:
        return None


async def fetch(url):
    return await asyncio.to_thread(_fetch, url)


class Other: pass
def one_line(): return 1
"""


@pytest.mark.parametrize("source", [SESSION_ATTRIBUTE, CLOSURE_SESSION, MODULE_SESSION, REBOUND_SESSION,
                                    WALRUS_IN_A_STUBBED_HEADER, SUPPRESSED_INSIDE, NESTED_IN_A_METHOD,
                                    RESPONSE_USED_IN_A_NESTED_FUNCTION, MIGRATES],
                         ids=["session-attribute", "closure-session", "module-session", "rebound-session", "walrus-in-a-stub",
                              "suppressed-inside", "nested-in-a-method", "response-in-a-closure", "migrates"])
def test_shapes_agree_and_are_sliced(source, compared):
    runs = trials(source, runs=compared)
    assert all(run.sliced is not None for run in runs)


def test_the_verdicts_of_the_shapes():
    """What the shapes above decide, so that agreeing on them is agreeing on something."""
    def reasons(source):
        return [f.reason for f in analyze_source(textwrap.dedent(source)).findings if f.rule_id == "UFA008"]

    migrates = [UNSAFE]
    assert reasons(MIGRATES) == reasons(SESSION_ATTRIBUTE) == reasons(RESPONSE_USED_IN_A_NESTED_FUNCTION) == migrates
    assert reasons(REBOUND_SESSION) == reasons(WALRUS_IN_A_STUBBED_HEADER) == migrates
    assert "a requests.Session kept in a variable" in reasons(MODULE_SESSION)[0]
    assert "a requests.Session kept in a variable" in reasons(CLOSURE_SESSION)[0]
    assert reasons(SUPPRESSED_INSIDE) == ["a requests call in the helper is suppressed or not migratable"]
    assert "verify=" in reasons(NESTED_IN_A_METHOD)[0]


def test_the_slice_drops_what_cannot_matter():
    text = textwrap.dedent(NESTED_IN_A_METHOD).replace("def get_url", "async def get_url")  # as the rewrite has it
    tree = ast.parse(text)
    definition = next(d for d in ast.walk(tree) if isinstance(d, ast.AsyncFunctionDef) and d.name == "get_url")
    cut = trial_slice(text, tree, [definition])
    assert "def helper(self):" not in cut.text  # another member of a class on the way
    assert 'verify = data.get("verify", True)' in cut.text  # the closure's binding
    assert "return requests.get(url, verify=verify)" in cut.text
    kept = [text.split("\n")[number - 1] for number in cut.line_numbers]
    assert kept == cut.text.split("\n")[:-1]  # verbatim, each where it was


@pytest.mark.parametrize("source", [
    CLOSURE_SESSION.replace("def unrelated():\n        return 2", "def unrelated():\n        nonlocal session"),
    MODULE_SESSION.replace("def _fetch(url):", "def rebind():\n    global session\n\n\ndef _fetch(url):"),
    MODULE_SESSION.replace("def _fetch(url):", "def _fetch(url=print()):"),
], ids=["nonlocal", "global", "call-in-a-default"])
def test_refused_shapes_take_the_whole_module(source, compared):
    runs = trials(source, runs=compared)
    assert runs and all(run.sliced is None for run in runs)

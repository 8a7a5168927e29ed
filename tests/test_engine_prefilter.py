"""The text prefilter: strict enough to skip prose about "requests", loose enough for every
import form of the library."""
import pytest

from unfake_async.codemod.engine.prechecks import prefilter

ASYNC = "async def main():\n    pass\n"


@pytest.mark.parametrize("imports", [
    "import requests",
    "import os, requests",
    "import requests as rq",
    "import requests.api",
    "from requests import get",
    "from requests.api import get",
    "from requests import (\n    get,\n)",
    "    import requests  # inside a function",
    "import json, requests as r, os",
])
def test_every_import_form_of_requests_passes(imports):
    assert prefilter.might_match(imports + "\n" + ASYNC)


@pytest.mark.parametrize("text", [
    # Django's docstrings: the English word, executor helpers without requests, lookalikes.
    '"""Handle incoming requests."""\n' + ASYNC,
    "# we process requests here\n" + ASYNC,
    "x = 'import requests'\n" + ASYNC,
    "import requests_oauthlib\n" + ASYNC,
    "from requests_toolbelt import x\n" + ASYNC,
    "from .requests import get\n" + ASYNC,
    "await loop.run_in_executor(None, f)\nawait asyncio.to_thread(g)\n" + ASYNC,
    # An import of requests but no async code at all: nothing can be fake async.
    "import requests\nrequests.get('http://x')\n",
    "import requests\nasynchronous = True\n",
])
def test_files_that_cannot_match_are_rejected(text):
    assert not prefilter.might_match(text)


def test_trigger_list_is_extensible(monkeypatch):
    text = "import pycurl\n" + ASYNC  # a blocking library no rule covers (yet)
    assert not prefilter.might_match(text)
    monkeypatch.setattr(prefilter, "TRIGGER_PATTERNS",
                        prefilter.TRIGGER_PATTERNS + [("pycurl", r"^[ \t]*import[ \t]+pycurl\b")])
    prefilter.refresh()
    try:
        assert prefilter.might_match(text)
    finally:
        monkeypatch.undo()
        prefilter.refresh()
    assert not prefilter.might_match(text)


# -- the pass gates: a file no pass can report on is not parsed ----------------------------------

from unfake_async.codemod.engine.pass_protocol import pass_order  # noqa: E402
from unfake_async.settings import Settings  # noqa: E402

AIOHTTP_TYPES_ONLY = (  # Home Assistant's common shape: aiohttp for its types and errors only
    "import aiohttp\n\nasync def fetch(session: 'Session'):\n"
    "    try:\n        return await session.get('u')\n    except aiohttp.ClientError:\n        return None\n"
)


def test_a_file_whose_trigger_no_pass_needs_is_not_worth_parsing():
    assert prefilter.might_match(AIOHTTP_TYPES_ONLY)
    assert not prefilter.worth_parsing(AIOHTTP_TYPES_ONLY, Settings())
    per_call = AIOHTTP_TYPES_ONLY + "\nasync def g():\n    async with aiohttp.ClientSession() as s:\n        pass\n"
    assert prefilter.worth_parsing(per_call, Settings())


def test_the_gated_out_file_really_has_no_findings():
    from unfake_async.codemod import analyze_source

    assert analyze_source(AIOHTTP_TYPES_ONLY).findings == []


def test_the_prefilter_names_every_pass_in_the_order_they_run():
    loaded = [lazy.load() for lazy in pass_order()]
    assert tuple(type(p).__name__ for p in loaded) == prefilter.PASS_NAMES
    assert all(p.rule_ids for p in loaded)


def test_the_sync_helper_gate_is_an_import_of_requests():
    # A helper may be called straight from a coroutine (issue 17): no offload word to wait for.
    text = "import requests\n\nasync def f(word):\n    return lookup(word)\n"
    assert prefilter.pass_may_apply("SyncHelperPass", text, Settings())
    prose = '"""Serve requests."""\n\nasync def f(hass):\n    return await hass.run_blocking(helper)\n'
    assert not prefilter.pass_may_apply("SyncHelperPass", prose, Settings(offload_methods=("run_blocking",)))


SLEEP_SHAPES = [
    "import time\nasync def f():\n    time.sleep(1)\n",
    "from time import sleep\nasync def f():\n    sleep(1)\n",
    "from time import sleep as nap\nasync def f():\n    nap(1)\n",
    "import time as t\nasync def f():\n    t.sleep(1)\n",
    "import time  as  t\nasync def f():\n    t.sleep(1)\n",
    "from time import (sleep  as nap)\nasync def f():\n    nap(1)\n",
    "async def f():\n    x = [sleep(1)]\n",
    "async def f():\n    await asyncio.sleep(1)\n",
    "async def f():\n    my_sleep(1)\n    self.sleep(2)\n",
    "async def f():\n    rétime.sleep(1)\n    _sleep(1)\n",
]


@pytest.mark.parametrize("text", SLEEP_SHAPES)
def test_the_sleep_candidate_says_yes_wherever_the_sleep_trigger_matches(text):
    """`_may_sleep` only spares the regex its work: it must never say no where it matches."""
    (pattern,) = [pattern for literal, pattern in prefilter._triggers if literal == "sleep"]
    if pattern.search(text):
        assert prefilter._may_sleep(text)


def test_the_sleep_candidate_rules_out_asyncio_sleep_alone():
    assert not prefilter._may_sleep("async def f():\n    await asyncio.sleep(1)\n")
    assert prefilter._may_sleep("async def f():\n    time.sleep(1)\n")


def test_the_async_pattern_is_the_word_async():
    (pattern,) = [pattern for _, pattern in prefilter._required]
    for text, word in [("async def f(): pass", True), ("import asyncio", False), ("x = 1; async", True),
                       ("_async = 1", False), ("asyncx", False), ("notasync def", False), ("(async)", True)]:
        assert (pattern.search(text) is not None) is word, text

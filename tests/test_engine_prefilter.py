"""The text prefilter: strict enough to skip prose about "requests", loose enough for every
import form of the library."""
import pytest

from unfake_async.codemod import prefilter

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

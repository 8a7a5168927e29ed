"""A cheap text test that decides whether a file can possibly hold a finding, before any parsing.

Most files in a real tree never touch `requests`, and parsing them with LibCST costs ~10 ms each
(Django: 29 s for 2,788 files), so the engine only parses files that pass this filter. The
patterns are deliberately strict: the loose `requests|run_in_executor|to_thread` matches the
English word "requests" in docstrings (52 Django files, 3 s of parsing for nothing), whereas an
*import* of requests on its own line parses nothing there.

A file passes when every entry in REQUIRED_PATTERNS matches and at least one in
TRIGGER_PATTERNS does. Rules for other libraries (httpx, urllib3, urllib.request, aiohttp,
time.sleep) add their import pattern to TRIGGER_PATTERNS.
"""
from __future__ import annotations

import re
from typing import Dict, List, Pattern, Tuple

# Each entry is (literal, pattern): the literal is a word the pattern cannot match without, tested
# with a plain substring search first, so the regular expression only runs on the few files that
# contain it (a `\b`- or `^`-anchored regex over every file costs ~0.3 ms each).

# Without `async` there is no async function to be fake, whatever else the file holds.
# (`\basync\b` as a pattern that starts with its literal: the regex engine then skips to each
# `async` instead of trying every character; 0.10 ms a file -> 0.005 ms on Home Assistant.)
REQUIRED_PATTERNS: List[Tuple[str, str]] = [
    ("async", r"async(?<!\wasync)\b"),
]

# The start of a line indented under an `async def` (its block: deeper-indented lines, blank
# lines and the `)` closing a multi-line signature), up to where the trigger must follow. The
# alternatives cannot match the same text, so the regex runs in linear time.
_IN_ASYNC_DEF = r"^([ \t]*)async[ \t]+def\b[^\n]*\n(?:[ \t]*\n|\1[ \t]+\S[^\n]*\n|\1\)[^\n]*\n)*?\1[ \t]+(?=\S)[^\n]*?"

# An import of a blocking HTTP library, one entry per library. Each matches the statement at
# the start of a line, in every import form: `import requests`, `import os, requests`,
# `import requests as rq`, `import requests.api`, `from requests import get`,
# `from requests.api import get`.
TRIGGER_PATTERNS: List[Tuple[str, str]] = [
    ("requests", r"^[ \t]*(?:import[ \t]+[^#\n]*\brequests\b|from[ \t]+requests\b)"),
    # Issue 7, helper A: aiohttp.ClientSession per call (UFA004; httpx's pattern serves its clients).
    ("aiohttp", r"^[ \t]*(?:import[ \t]+[^#\n]*\baiohttp\b|from[ \t]+aiohttp\b)"),
    # Issue 7, helper B: sync httpx/httpx2 (UFA005), urllib3 and urlopen (UFA006), time.sleep (UFA010),
    # get_event_loop (UFA009). The literal gates keep `import time`/`import urllib.parse` cheap.
    ("httpx", r"^[ \t]*(?:import[ \t]+[^#\n]*\bhttpx2?\b|from[ \t]+httpx2?\b)"),
    ("urllib3", r"^[ \t]*(?:import[ \t]+[^#\n]*\burllib3\b|from[ \t]+urllib3\b)"),
    ("urlopen", r"^[ \t]*(?:import[ \t]+[^#\n]*\burllib\b|from[ \t]+urllib\b)"),
    # time.sleep and get_event_loop are common in sync code next to async code (Django's tests):
    # they count only on a line indented under an `async def` (or with an aliased time import).
    ("sleep", _IN_ASYNC_DEF + r"(?:\btime\.sleep\(|(?<![\w.])sleep\()"
              r"|^[ \t]*(?:import[ \t]+time[ \t]+as|from[ \t]+time[ \t]+import[^#\n]*\bsleep[ \t]+as)\b"),
    ("get_event_loop", _IN_ASYNC_DEF + r"\bget_event_loop\("),
]


def _compile(entries: List[Tuple[str, str]]) -> List[Tuple[str, Pattern[str]]]:
    return [(literal, re.compile(pattern, re.MULTILINE)) for literal, pattern in entries]


_required = _compile(REQUIRED_PATTERNS)
_triggers = _compile(TRIGGER_PATTERNS)


def _matches(source: str, literal: str, pattern: Pattern[str]) -> bool:
    return literal in source and _candidate(literal, source) and pattern.search(source) is not None


# Home Assistant awaits `asyncio.sleep(` in hundreds of files: the `sleep` trigger's regex, which
# tries every line start for an `async def` above the call (1.3 ms a file), runs only where one
# of its three forms can match: `time.sleep(`, a bare `sleep(`, or `time`/`sleep` renamed by `as`.
_SLEEP_RENAMED = re.compile(r"(?:time|sleep)[ \t]+as\b")


def _may_sleep(source: str) -> bool:
    if "time.sleep(" in source:
        return True
    at = source.find("sleep(")
    while at >= 0:
        before = source[at - 1] if at else ""
        if not (before == "." or before == "_" or before.isalnum()):
            return True
        at = source.find("sleep(", at + 1)
    return _SLEEP_RENAMED.search(source) is not None


_CANDIDATES = {"sleep": _may_sleep}


def _candidate(literal: str, source: str) -> bool:
    """A cheap necessary condition of a trigger's regex, where one is written."""
    check = _CANDIDATES.get(literal)
    return check is None or check(source)


def might_match(source: str) -> bool:
    """True when `source` could hold a finding and is worth parsing; False means it cannot."""
    # Every literal is looked for before any regex runs, so that the regexes (`\basync\b` reads
    # all of a file with `asyncio` but no `async` word) run only on files holding the words of
    # both: of Django's 2,788 files 95 hold `async`, 20 of them a trigger's word too.
    if not all(literal in source for literal, _ in _required):
        return False
    triggers = [pattern for literal, pattern in _triggers if literal in source and _candidate(literal, source)]
    if not triggers:
        return False
    if not all(pattern.search(source) is not None for _, pattern in _required):
        return False
    return any(pattern.search(source) is not None for pattern in triggers)


def has_required_words(source: str) -> bool:
    """The cheap half of `might_match`: the words every finding needs (`async`) are in `source`."""
    return all(literal in source for literal, _ in _required)


def worth_parsing(source: str, settings) -> bool:
    """`might_match`, and some pass's words are in the text: a file no pass can report on is
    never parsed (Home Assistant: 337 of the 539 files that import an HTTP library and say
    `async` have none, such as `aiohttp` imported for `ClientError` and no `ClientSession`)."""
    return might_match(source) and any(pass_may_apply(name, source, settings) for name in PASS_NAMES)


# The passes in the order they rewrite (`engine/pass_protocol.py` imports each lazily under this name).
# SyncClientsPass turns `with httpx.Client()` into `async with httpx.AsyncClient()`, which
# PerCallClientPass then moves to the shared client: it must come first.
# SyncHelperPass makes helpers `async def` whose requests calls CorePass then migrates.
PASS_NAMES: Tuple[str, ...] = (
    "SyncHelperPass", "SyncClientsPass", "PerCallClientPass", "StreamingPass", "CorePass", "LoopHygienePass",
)

# Words a pass cannot find anything without, as groups: the text must hold a word of every group.
# A pass whose words are absent is skipped: each pass walks the whole module (0.1-0.7 s on a
# 700-line file), and most files that pass the prefilter concern one rule family only.
_GATES: Dict[str, Tuple[Tuple[str, ...], ...]] = {
    "CorePass": (("requests",),),
    "SyncClientsPass": (("httpx", "urllib3", "urlopen"),),
    "PerCallClientPass": (("AsyncClient", "ClientSession"),),
    "StreamingPass": (("requests",), ("stream",)),
    "LoopHygienePass": (("get_event_loop", "sleep"),),
}


def pass_may_apply(name: str, text: str, settings) -> bool:
    """False when `text` cannot hold anything for the pass called `name` (a cheap substring test)."""
    if name == "SyncHelperPass":
        # A sync helper is only migrated for the requests calls in it; it may be offloaded
        # (`run_in_executor`, a decorator) or called straight from a coroutine (`def` is then
        # all there is to see), so requests is the gate.
        groups: Tuple[Tuple[str, ...], ...] = (("requests",),)
    else:
        groups = _GATES.get(name, ())
    return all(any(_mentions(text, word) for word in group) for group in groups)


def _mentions(text: str, word: str) -> bool:
    # "requests" is also an English word (Django's tests say "2 requests concurrently"): for it,
    # an import statement is what counts, as in the trigger.
    if word == "requests":
        return has_trigger(text, "requests")
    return word in text


def has_trigger(source: str, literal: str) -> bool:
    """Whether the trigger for one library (`"requests"`, `"httpx"`, ...) matches `source`."""
    return any(_matches(source, word, pattern) for word, pattern in _triggers if word == literal)


def refresh() -> None:
    """Recompile after REQUIRED_PATTERNS or TRIGGER_PATTERNS were changed at run time (tests)."""
    global _required, _triggers
    _required = _compile(REQUIRED_PATTERNS)
    _triggers = _compile(TRIGGER_PATTERNS)

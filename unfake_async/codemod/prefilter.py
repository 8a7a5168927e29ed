"""A cheap text test that decides whether a file can possibly hold a finding, before any parsing.

Most files in a real tree never touch `requests`, and parsing them with LibCST costs ~10 ms each
(Django: 29 s for 2,788 files), so the engine only parses files that pass this filter. The
patterns are deliberately strict: the loose `requests|run_in_executor|to_thread` matches the
English word "requests" in docstrings (52 Django files, 3 s of parsing for nothing), whereas an
*import* of requests on its own line parses nothing there.

A file passes when every pattern in REQUIRED_PATTERNS matches and at least one in
TRIGGER_PATTERNS does. Rules for other libraries (httpx, urllib3, urllib.request, aiohttp,
time.sleep) add their import pattern to TRIGGER_PATTERNS.
"""
from __future__ import annotations

import re
from typing import List, Pattern

# Without `async` there is no async function to be fake, whatever else the file holds.
REQUIRED_PATTERNS: List[str] = [
    r"\basync\b",
]

# An import of a blocking HTTP library, one pattern per library. Each matches the statement at
# the start of a line, in every import form: `import requests`, `import os, requests`,
# `import requests as rq`, `import requests.api`, `from requests import get`,
# `from requests.api import get`.
TRIGGER_PATTERNS: List[str] = [
    r"^[ \t]*(?:import[ \t]+[^#\n]*\brequests\b|from[ \t]+requests\b)",
]


def _compile(patterns: List[str]) -> List[Pattern[str]]:
    return [re.compile(pattern, re.MULTILINE) for pattern in patterns]


_required = _compile(REQUIRED_PATTERNS)
_triggers = _compile(TRIGGER_PATTERNS)


def might_match(source: str) -> bool:
    """True when `source` could hold a finding and is worth parsing; False means it cannot."""
    if not all(pattern.search(source) for pattern in _required):
        return False
    return any(pattern.search(source) for pattern in _triggers)


def refresh() -> None:
    """Recompile after REQUIRED_PATTERNS or TRIGGER_PATTERNS were changed at run time (tests)."""
    global _required, _triggers
    _required = _compile(REQUIRED_PATTERNS)
    _triggers = _compile(TRIGGER_PATTERNS)

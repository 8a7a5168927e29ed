"""Suppression comments: `# noqa`, `# noqa: UFA001,UFA002`, `# unfake-async: ignore[UFA001]`,
and a file-level `# unfake-async: skip-file`."""
from __future__ import annotations

import re
from typing import Dict, Optional, Set

# Codes may be prefixes (`# noqa: UFA` silences every UFA rule, like `--ignore UFA`); a prefix must
# not fall back to a bare `# noqa`, which would silence other tools' codes on the line too.
_NOQA = re.compile(r"#\s*noqa(?::\s*(?P<codes>[A-Z]+[0-9]*(?:[\s,]+[A-Z]+[0-9]*)*))?", re.IGNORECASE)
_IGNORE = re.compile(r"#\s*unfake-async:\s*ignore(?:\[(?P<codes>[^\]]*)\])?", re.IGNORECASE)
_SKIP_FILE = re.compile(r"^\s*#\s*unfake-async:\s*skip-file\b", re.IGNORECASE | re.MULTILINE)

ALL = None  # suppresses every rule on the line


def skip_file(source: str) -> bool:
    return bool(_SKIP_FILE.search(source))


class Suppressions:
    """Which rule ids are suppressed on which (1-based) line."""

    def __init__(self, source: str) -> None:
        self._by_line: Dict[int, Optional[Set[str]]] = {}
        if "noqa" not in source and "unfake-async" not in source:
            return
        for number, line in enumerate(source.splitlines(), 1):
            if "#" not in line:
                continue
            for pattern in (_NOQA, _IGNORE):
                match = pattern.search(line)
                if match is None:
                    continue
                codes = match.group("codes")
                if not codes:
                    self._by_line[number] = ALL
                elif self._by_line.get(number, set()) is not ALL:
                    found = {c.upper() for c in re.split(r"[\s,]+", codes.strip()) if c}
                    self._by_line[number] = (self._by_line.get(number) or set()) | found

    def suppressed(self, rule_id: str, *lines: int) -> bool:
        for line in lines:
            if line not in self._by_line:
                continue
            codes = self._by_line[line]
            if codes is ALL or any(rule_id.startswith(code) for code in codes):
                return True
        return False

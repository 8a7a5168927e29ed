"""What the shim found: one record per blocking call, a thread-safe recorder, and the summary.

Rule ids match the static rules where the runtime sees the same problem:

=======  ==========================  ===================================================
UFA001   requests-in-run-in-executor  an HTTP request (requests/urllib3/http.client/sync
                                      httpx) in a worker thread that a coroutine started with
                                      ``loop.run_in_executor`` or ``executor.submit``
UFA002   requests-in-thread-offload   the same, started through ``asyncio.to_thread`` or
                                      another offload helper (anyio, starlette, asgiref)
UFA003   blocking-http-in-async       a blocking HTTP request on the event loop's thread
UFA900   blocking-call-on-loop        any other blocking call on the loop's thread: blocking
                                      socket connect/send/recv, DNS, ``ssl`` socket I/O, and
                                      functions the user registers
UFA010   time-sleep-in-async          ``time.sleep`` on the loop's thread
UFA011   event-loop-blocked           the loop did not come back for longer than the
                                      watchdog's threshold; the site is where its thread
                                      was at that moment (C calls, CPU-bound work, names
                                      the patches cannot see)
=======  ==========================  ===================================================
"""
from __future__ import annotations

import json
import os
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Tuple

from unfake_async.shim.frames import Site

RULE_NAMES = {
    "UFA001": "requests-in-run-in-executor",
    "UFA002": "requests-in-thread-offload",
    "UFA003": "blocking-http-in-async",
    "UFA900": "blocking-call-on-loop",
    "UFA010": "time-sleep-in-async",
    "UFA011": "event-loop-blocked",
}
WATCHDOG_RULE = "UFA011"
FAKE_ASYNC_RULES = frozenset({"UFA001", "UFA002"})


@dataclass(frozen=True)
class RuntimeFinding:
    """One blocking call the shim saw."""

    rule_id: str
    call: str  # the patched entry point, e.g. "requests.Session.send", "time.sleep"
    detail: str  # already redacted, e.g. "GET http://127.0.0.1:8080/json?token=***"
    site: Optional[Site]  # the user's frame that made the call
    origin: Optional[Site] = None  # fake async: the coroutine frame that offloaded the work
    via: Optional[str] = None  # fake async: "loop.run_in_executor", "asyncio.to_thread", ...
    thread: str = ""
    # Seconds the loop was blocked (UFA011), or the call took (log mode); None otherwise.
    duration: Optional[float] = field(default=None, compare=False)

    @property
    def after_the_fact(self) -> bool:
        """Seen by the watchdog once the loop came back: nothing left to raise into."""
        return self.rule_id == WATCHDOG_RULE

    @property
    def fake_async(self) -> bool:
        return self.rule_id in FAKE_ASYNC_RULES

    @property
    def key(self) -> Tuple:
        """Findings with the same key are the same site; the summary counts them together."""
        return (self.rule_id, self.call, self.site, self.origin, self.via)

    @property
    def message(self) -> str:
        where = str(self.site) if self.site else "<unknown site>"
        what = f"{self.call}({self.detail})" if self.detail else self.call
        if self.after_the_fact:
            took = f" for {self.duration * 1000:.0f} ms" if self.duration is not None else ""
            waited = f" ({self.detail})" if self.detail else ""
            return f"{self.rule_id} event loop blocked{took}{waited}, at {where}"
        if self.fake_async:
            origin = str(self.origin) if self.origin else "<unknown coroutine>"
            made = f"made at {where}" if self.site else "the offloaded callable itself"
            return (f"{self.rule_id} fake async: {what} ran in a worker thread started by "
                    f"{self.via} in {origin} ({made})")
        return f"{self.rule_id} blocking call on the event loop: {what} at {where}"

    def as_dict(self) -> dict:
        return {
            "rule_id": self.rule_id, "call": self.call, "detail": self.detail,
            "site": self.site.as_dict() if self.site else None,
            "origin": self.origin.as_dict() if self.origin else None,
            "via": self.via, "thread": self.thread, "duration": self.duration,
        }

    def log_fields(self, count: int) -> dict:
        """`extra` for a log record: flat, prefixed names (LogRecord owns `lineno` and co.)."""
        site = self.site or self.origin
        return {
            "ufa_rule": self.rule_id, "ufa_name": RULE_NAMES.get(self.rule_id, ""),
            "ufa_call": self.call, "ufa_detail": self.detail,
            "ufa_url": self.detail.split(" ", 1)[1] if " " in self.detail and "://" in self.detail
            else None,
            "ufa_site": str(site) if site else None,
            "ufa_file": site.filename if site else None,
            "ufa_line": site.lineno if site else None,
            "ufa_function": site.function if site else None,
            "ufa_origin": str(self.origin) if self.origin else None,
            "ufa_via": self.via,
            "ufa_duration_ms": round(self.duration * 1000, 3) if self.duration is not None
            else None,
            "ufa_count": count,
        }

    @classmethod
    def from_dict(cls, data: dict) -> "RuntimeFinding":
        return cls(
            data["rule_id"], data["call"], data.get("detail", ""), Site.from_dict(data.get("site")),
            Site.from_dict(data.get("origin")), data.get("via"), data.get("thread", ""),
            data.get("duration"),
        )


class Recorder:
    """Thread-safe store of findings, optionally mirrored to a JSON-lines file as they happen
    (so a process that ends with os._exit still leaves its findings behind).

    Counts by site are exact; the list of individual findings (and the mirror file) keeps the
    first `MAX_KEPT`, so a long-running process that blocks in a loop does not grow forever.
    """

    MAX_KEPT = 10_000

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._findings: List[RuntimeFinding] = []
        self._counts: Counter = Counter()
        self._first: Dict[Tuple, RuntimeFinding] = {}
        self._sink = None

    def add(self, finding: RuntimeFinding) -> int:
        """Record `finding`; returns how many times its site has been seen, this one included."""
        with self._lock:
            self._counts[finding.key] += 1
            count = self._counts[finding.key]
            self._first.setdefault(finding.key, finding)
            if len(self._findings) >= self.MAX_KEPT:
                return count
            self._findings.append(finding)
            if self._sink is not None:
                self._sink.write(json.dumps(finding.as_dict()) + "\n")
                self._sink.flush()
            return count

    def grouped(self) -> List[Tuple[RuntimeFinding, int]]:
        """One (first finding, exact count) per site, most frequent first."""
        with self._lock:
            return [(self._first[key], count) for key, count in self._counts.most_common()]

    def findings(self, start: int = 0) -> List[RuntimeFinding]:
        with self._lock:
            return self._findings[start:]

    def __len__(self) -> int:
        with self._lock:
            return len(self._findings)

    def clear(self) -> None:
        with self._lock:
            self._findings.clear()
            self._counts.clear()
            self._first.clear()

    def mirror_to(self, path: Optional[str]) -> None:
        """Append every later finding to `path` (JSON lines); None stops mirroring."""
        with self._lock:
            if self._sink is not None:
                self._sink.close()
            self._sink = open(path, "a", encoding="utf-8") if path else None


def load_findings(paths: Iterable[str]) -> List[RuntimeFinding]:
    """Findings from JSON-lines files written by `Recorder.mirror_to`; torn lines are skipped."""
    found: List[RuntimeFinding] = []
    for path in paths:
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                try:
                    found.append(RuntimeFinding.from_dict(json.loads(line)))
                except (ValueError, KeyError, TypeError):
                    continue
    return found


def findings_in_dir(directory: str) -> List[RuntimeFinding]:
    names = sorted(n for n in os.listdir(directory) if n.endswith(".jsonl"))
    return load_findings(os.path.join(directory, n) for n in names)


def group_by_site(findings: Iterable[RuntimeFinding]) -> List[Tuple[RuntimeFinding, int]]:
    """One (example finding, count) per site, most frequent first."""
    counts: Counter = Counter()
    first: Dict[Tuple, RuntimeFinding] = {}
    for finding in findings:
        counts[finding.key] += 1
        first.setdefault(finding.key, finding)
    return [(first[key], count) for key, count in counts.most_common()]


def format_summary(findings: Iterable[RuntimeFinding], title: str = "unfake-async shim") -> str:
    """The end-of-run summary: totals, then one line per site with its count."""
    return format_grouped(group_by_site(findings), title)


def format_grouped(grouped: List[Tuple[RuntimeFinding, int]], title: str = "unfake-async shim"
                   ) -> str:
    """`format_summary` from (finding, count) pairs, e.g. `Recorder.grouped()`."""
    if not grouped:
        return f"{title}: no blocking calls on the event loop, no fake-async calls."
    total = sum(count for _, count in grouped)
    fake = sum(count for finding, count in grouped if finding.fake_async)
    lines = [
        f"{title}: {total - fake} blocking call(s) on the event loop, "
        f"{fake} fake-async call(s), at {len(grouped)} site(s):"
    ]
    for finding, count in grouped:
        lines.append(f"  {count:>5}x  {finding.message}")
    return "\n".join(lines)

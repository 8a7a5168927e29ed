"""pytest plugin for the unfake-async runtime shim (registered as the ``pytest11`` entry point).

Off unless asked for, and cheap to import (the shim is imported only when used):

* ``pytest --unfake-async=raise|warn|log`` (or ini ``unfake_async = raise``): the shim is on for
  the whole run. In raise mode a test that makes a blocking call on the event loop, or a
  fake-async request, fails with the list of sites (even if the code swallowed the error);
  in warn/log mode the calls are reported as they happen. Either way a summary by site ends
  the run. ``--unfake-async-allow=RULE`` (repeatable) allow-lists a module or function;
  ``--unfake-async-watchdog=MS`` adds the loop-lag watchdog (UFA011: a loop blocked longer
  than MS milliseconds, by C calls or CPU-bound code the patches cannot see).
* ``@pytest.mark.no_blocking`` (optionally ``allow=["pkg.mod", "pkg.mod:func"]``): this test
  fails if it blocks, whatever the command line says.
* the ``unfake_async_shim`` fixture: the shim on for one test in record mode, yielding an object
  whose ``.findings`` lists what this test did; the test judges them (``--unfake-async`` does
  not fail it), so it can also check that something does block.
"""
from __future__ import annotations

from typing import List, Optional

import pytest

MARKER = "no_blocking"
FIXTURE = "unfake_async_shim"


def pytest_addoption(parser) -> None:
    group = parser.getgroup("unfake-async", "unfake-async runtime shim")
    group.addoption(
        "--unfake-async", dest="unfake_async_mode", choices=("raise", "warn", "log"), default=None,
        help="report blocking calls on the event loop and fake-async requests (raise: fail the "
             "test that made them)",
    )
    group.addoption(
        "--unfake-async-allow", dest="unfake_async_allow", action="append", default=[],
        metavar="RULE", help="allow blocking calls from a module ('pkg.mod') or function "
                             "('pkg.mod:func'); repeatable",
    )
    group.addoption(
        "--unfake-async-watchdog", dest="unfake_async_watchdog", type=float, default=None,
        metavar="MS", help="with --unfake-async: also report the event loop blocked longer than "
                           "MS milliseconds (UFA011)",
    )
    parser.addini("unfake_async", "default mode for --unfake-async (raise, warn or log)",
                  default="")


def pytest_configure(config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(allow=()): fail the test if it makes a blocking call on the event loop or a "
        "fake-async HTTP request (runs the unfake-async shim for it)",
    )
    mode = config.getoption("unfake_async_mode") or config.getini("unfake_async").strip() or None
    if mode is not None and mode not in ("raise", "warn", "log"):
        raise pytest.UsageError(f"unfake_async ini option: expected raise, warn or log, got {mode!r}")
    config.pluginmanager.register(_ShimPlugin(config, mode), "unfake_async_shim_session")


class _ShimPlugin:
    def __init__(self, config, mode: Optional[str]) -> None:
        self.config = config
        self.mode = mode
        self.tests_with_findings: dict = {}
        self.shim = None
        if mode is not None:
            from unfake_async import shim

            self.shim = shim
            watchdog_ms = config.getoption("unfake_async_watchdog")
            shim.install(mode, allow=config.getoption("unfake_async_allow"),
                         watchdog=watchdog_ms / 1000 if watchdog_ms else None)
            self.start = len(shim.findings())

    def pytest_unconfigure(self, config) -> None:
        if self.shim is not None:
            self.shim.uninstall()

    def _phase(self, item):
        """Wrap one test phase: run it with the shim on if asked, then judge its findings."""
        marker = item.get_closest_marker(MARKER)
        # A test that takes the fixture judges its findings itself (it may check that something
        # does block), unless it is also marked.
        hands_off = self.mode is None or FIXTURE in getattr(item, "fixturenames", ())
        if marker is None and hands_off:
            return (yield)
        from unfake_async import shim

        allow = list(marker.kwargs.get("allow", ())) if marker is not None else []
        error: Optional[BaseException] = None
        with shim.verifying(shim.installed_mode() or "raise", allow=allow) as verification:
            try:
                result = yield
            except Exception as exc:  # BlockingCallError or whatever the code made of it
                error = exc
            found = verification.findings
        if found:
            self.tests_with_findings[item.nodeid] = \
                self.tests_with_findings.get(item.nodeid, 0) + len(found)
            if marker is not None or self.mode == "raise":
                raise pytest.fail.Exception(_failure_text(found), pytrace=False) from error
        if error is not None:
            raise error
        return result

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_setup(self, item):
        return (yield from self._phase(item))

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item):
        return (yield from self._phase(item))

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_teardown(self, item):
        return (yield from self._phase(item))

    def pytest_terminal_summary(self, terminalreporter) -> None:
        if self.shim is None:
            return
        from unfake_async.shim.report import format_summary

        found = self.shim.findings(self.start)
        terminalreporter.section("unfake-async shim")
        terminalreporter.write_line(format_summary(found))
        for nodeid, count in self.tests_with_findings.items():
            terminalreporter.write_line(f"  {count:>5} call(s) in {nodeid}")


def _failure_text(found) -> str:
    from unfake_async.shim.report import group_by_site

    grouped = group_by_site(found)
    lines = [f"unfake-async: {len(found)} blocking/fake-async call(s) at {len(grouped)} site(s):"]
    lines += [f"  {count}x {finding.message}" for finding, count in grouped]
    return "\n".join(lines)


@pytest.fixture
def unfake_async_shim():
    """The shim on for this test in record mode (whatever ``--unfake-async`` says); yields an
    object whose ``.findings`` are this test's, for the test to assert on."""
    from unfake_async import shim

    with shim.verifying("record") as verification:
        yield verification


__all__: List[str] = ["unfake_async_shim"]

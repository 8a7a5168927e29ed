"""UFA009 (get_event_loop in a coroutine) and UFA010 (time.sleep in async def): spellings, scopes,
suppression, imports, and that the rewritten sleep really lets other tasks run."""
from __future__ import annotations

import asyncio
import textwrap

import pytest

from unfake_async.codemod import FixLevel, FixSafety, analyze_source
from unfake_async.settings import Settings


def run(source: str, level: FixLevel = FixLevel.UNSAFE, settings: Settings = None):
    return analyze_source(textwrap.dedent(source), fix_level=level, settings=settings)


def rules(result):
    return [(f.line, f.rule_id) for f in result.findings]


@pytest.mark.parametrize(
    "imports,call",
    [
        ("import time", "time.sleep(1)"),
        ("import time as t", "t.sleep(1)"),
        ("from time import sleep", "sleep(1)"),
        ("from time import sleep as nap", "nap(1)"),
    ],
)
def test_time_sleep_under_every_spelling_becomes_asyncio_sleep(imports, call):
    result = run(f"{imports}\n\nasync def f():\n    {call}\n    return 1\n")
    assert rules(result) == [(4, "UFA010")]
    assert result.findings[0].fix is FixSafety.UNSAFE and result.findings[0].fixed
    assert "    await asyncio.sleep(1)\n" in result.fixed_source
    assert "import asyncio\n" in result.fixed_source
    # The time import is gone with its last use (the alias too).
    assert "time" not in result.fixed_source.replace("asyncio", "")
    compile(result.fixed_source, "x", "exec")


def test_time_sleep_fix_needs_unsafe_fixes():
    source = "import time\n\nasync def f():\n    time.sleep(1)\n"
    assert run(source, FixLevel.SAFE).fixed_source is None
    assert run(source, FixLevel.SAFE).findings[0].fixed is False


def test_sleep_used_as_a_value_is_parenthesised():
    result = run("import time\n\nasync def f():\n    return time.sleep(0) is None\n")
    assert "return await asyncio.sleep(0) is None" in result.fixed_source
    result = run("import time\n\nasync def f():\n    return [time.sleep(0)][0]\n")
    assert "return [await asyncio.sleep(0)][0]" in result.fixed_source


def test_not_flagged_outside_async_context():
    source = """
        import asyncio
        import time

        def sync():
            time.sleep(1)
            return asyncio.get_event_loop()

        async def outer():
            def inner():
                time.sleep(1)
                return asyncio.get_event_loop()
            later = lambda: time.sleep(1)
            return inner, later

        class Slow:
            async def method(self, default=time.sleep(0)):
                return default
    """
    assert run(source).findings == []


def test_shadowed_names_are_not_time_sleep():
    source = """
        import asyncio

        def sleep(seconds):
            return seconds

        async def f(time):
            time.sleep(1)
            sleep(2)
            await asyncio.sleep(0)
    """
    assert run(source).findings == []


def test_get_event_loop_spellings():
    result = run("""
        import asyncio as aio
        from asyncio import get_event_loop

        async def f(cb):
            aio.get_event_loop().call_soon(cb)
            get_event_loop().call_soon(cb)
            return aio.get_event_loop
    """, FixLevel.SAFE)
    assert rules(result) == [(6, "UFA009"), (7, "UFA009")]
    assert all(f.fix is FixSafety.SAFE and f.fixed for f in result.findings)
    assert "aio.get_running_loop().call_soon(cb)" in result.fixed_source
    assert "asyncio.get_running_loop().call_soon(cb)" in result.fixed_source
    assert "from asyncio import get_event_loop" not in result.fixed_source
    # A reference that is not a call is left alone.
    assert "return aio.get_event_loop\n" in result.fixed_source


def test_get_event_loop_with_a_policy_argument_is_not_ours():
    assert run("import asyncio\n\nasync def f(x):\n    return asyncio.get_event_loop(x)\n").findings == []


def test_a_loop_that_only_offloads_requests_belongs_to_ufa001():
    source = """
        import asyncio
        import requests

        async def f(url):
            loop = asyncio.get_event_loop()
            return await loop.run_in_executor(None, requests.get, url)
    """
    assert [r for _, r in rules(run(source))] == ["UFA001"]
    # With UFA001 switched off, nobody removes the loop: UFA009 reports it.
    settings = Settings(ignore=("UFA001",))
    assert [r for _, r in rules(run(source, settings=settings))] == ["UFA009"]


def test_suppression_and_select():
    source = """
        import asyncio
        import time

        async def f():
            time.sleep(1)  # noqa: UFA010
            asyncio.get_event_loop()  # noqa
            time.sleep(2)
    """
    assert rules(run(source)) == [(8, "UFA010")]
    assert run(source, settings=Settings(ignore=("UFA010",))).findings == []
    assert run(source, settings=Settings(select=("UFA009",))).findings == []


def test_fix_is_idempotent():
    source = "import asyncio, time\n\nasync def f():\n    time.sleep(1)\n    return asyncio.get_event_loop()\n"
    fixed = run(source).fixed_source
    again = run(fixed)
    assert again.findings == [] and again.fixed_source is None


def test_rewritten_sleep_lets_other_tasks_run():
    """Before the fix the sleeping coroutine holds the loop, so the other task's step comes after
    it; after the fix the other task runs during the pause. Ordering only, no timing."""
    source = textwrap.dedent("""
        import time

        async def worker(log):
            log.append("worker starts")
            time.sleep(0.05)
            log.append("worker done")
    """)
    fixed = analyze_source(source, fix_level=FixLevel.UNSAFE).fixed_source

    def order(code):
        namespace = {}
        exec(compile(code, "worker", "exec"), namespace)
        log = []

        async def other():
            await asyncio.sleep(0)
            log.append("other ran")

        async def main():
            await asyncio.gather(namespace["worker"](log), other())

        asyncio.run(main())
        return log

    assert order(source) == ["worker starts", "worker done", "other ran"]
    assert order(fixed) == ["worker starts", "other ran", "worker done"]


def test_a_loop_that_only_feeds_a_stream_download_is_left_to_ufa007():
    """UFA007 rewrites the executor download and drops the loop line: no UFA009 on it."""
    source = """
        import asyncio
        import requests

        async def download(url, path):
            loop = asyncio.get_event_loop()
            r = await loop.run_in_executor(None, lambda: requests.get(url, stream=True))
            with open(path, "wb") as f:
                for chunk in r.iter_content(8192):
                    f.write(chunk)
    """
    result = run(source)
    assert "UFA009" not in [f.rule_id for f in result.findings]
    assert "get_event_loop" not in result.fixed_source


def test_a_loop_kept_by_an_unfixable_request_is_reported():
    source = """
        import asyncio
        import requests

        async def insecure(url):
            loop = asyncio.get_event_loop()
            return await loop.run_in_executor(None, lambda: requests.get(url, verify=False))
    """
    result = run(source)
    assert [f.rule_id for f in result.findings] == ["UFA009", "UFA001"]
    assert "loop = asyncio.get_running_loop()" in result.fixed_source

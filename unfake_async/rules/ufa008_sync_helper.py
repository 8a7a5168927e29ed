"""UFA008 sync-helper-in-executor: a module's own sync helper that makes the `requests` calls,
pushed onto a thread with `run_in_executor`/`to_thread`/an offload helper."""
from __future__ import annotations

from unfake_async.codemod.engine.model import FixSafety
from unfake_async.rules.base import Example, Rule

RULE = Rule(
    id="UFA008",
    name="sync-helper-in-executor",
    summary="Sync helper making `requests` calls, run in a thread from async code",
    fix=FixSafety.UNSAFE,
    what_it_does="""
        Checks for `await loop.run_in_executor(EXEC, self._fetch, url)`, `asyncio.to_thread(fetch,
        url)` and the other configured offload helpers (`extra-offload-helpers`,
        `extra-offload-methods`) where the callable is a plain `def` of the same class (through
        `self`) or of the same module whose body makes `requests` calls. The fix makes the
        helper `async def`, awaits it at every call site (a future that is not awaited where it
        is created becomes `asyncio.ensure_future(...)`, which starts at once like the thread
        did), and leaves the helper's requests calls to the requests migration (UFA003), which
        runs next in the same fix; an executor or loop variable that only served these calls is
        removed. Direct calls of the helper from async code are awaited too.

        The same helper called straight from `async def`, with no executor at all, blocks the
        loop as surely as a direct call: it is reported at the call with the chain
        (`story -> chatbot -> requests.post`) and fixed the same way when every caller is
        async. A helper run in a thread by a decorator (`@sync_to_async`, `@asyncify`, or a
        project's own decorator whose wrapper calls `asyncio.to_thread`/`run_in_executor`)
        becomes `async def` without the decorator; its callers already await it.

        A helper of another module of the tree imported by name (`from .utils import
        fetch_json`) is fixed across modules, as one change for the whole run: it becomes `async
        def` in its module (its requests calls migrated there) and every file of the run that
        runs it awaits it, or no file changes for it. That needs, for the run: the helper's
        module is one of the files checked (a one-file run, such as pre-commit's, reads the
        module, reports the calls and fixes nothing there); the helper is not public API (not
        listed in `__all__` of its module, not imported by a package's `__init__.py`); every
        module of the tree that imports it (the files of the run and the `.py` files of the
        helper's own package and its subpackages) is a file of the run that only runs it from async code,
        imports it by name at the top, and can await every use; and its module can make it
        `async def` (the rules above). The finding at each call says which of these failed. A
        method of a class of another module (reached through `api = WemPortalApi(...)` or
        `self.api = BwtApi(...)`) or a helper reached through its module (`utils.fetch_json`)
        is reported at the call without a fix: the objects or aliases that reach it cannot all
        be followed.

        A finding that has no fix on its own but becomes fixable once a helper is `async def`
        (the `self.session.get` beside a login helper on the same `requests.Session`: the
        session then moves whole to the class's client) is labelled with the helper's unsafe
        fix, in check mode too.

        Reported without a fix when the helper is used anywhere else: called from sync code,
        passed as a callback or aliased, called on another object, overridden in a subclass,
        decorated, a generator, exported in `__all__`; and when a requests call in it cannot be
        migrated (an `async def` that still called requests would block the loop, which is
        worse than the thread it had).
    """,
    why_bad="""
        The executor only hides the blocking: each call holds a worker thread for the whole
        request, concurrency is capped at the pool size (`min(32, cpu + 4)` threads by default),
        and the event loop pays a thread handoff per call. The HTTP calls are the part that
        should be asynchronous, and they sit one function away from where ruff and flake8-async
        look: nobody offers this fix (ruff#7807 asks for it).
    """,
    fix_safety="""
        Unsafe: the helper's signature changes from a function to a coroutine function, so any
        caller this module cannot see (a subclass elsewhere, another module, a test; for a
        helper fixed across modules, any code outside the run's tree) must now await it; and its requests calls get httpx's exceptions and responses (see UFA003).
        Other blocking work in the helper (file I/O, CPU work) moves from the thread onto the
        event loop; review helpers that do more than HTTP.
    """,
    examples=(
        Example(
            before="""
                import asyncio

                import requests


                def _fetch_user(uid):
                    r = requests.get(f"https://api.example.com/users/{uid}", timeout=10)
                    return r.json()


                async def user(uid):
                    return await asyncio.to_thread(_fetch_user, uid)
            """,
            after="""
                async def _fetch_user(uid):
                    r = await _http_client().get(
                        f"https://api.example.com/users/{uid}", timeout=httpx.Timeout(10, pool=None)
                    )
                    return r.json()


                async def user(uid):
                    return await _fetch_user(uid)
            """,
            fix=FixSafety.UNSAFE,
        ),
    ),
    valid=(
        """
        import asyncio
        import hashlib

        def _digest(data):
            return hashlib.sha256(data).hexdigest()

        async def digest(data):
            # CPU work in a thread is what executors are for
            return await asyncio.to_thread(_digest, data)
        """,
        """
        import requests

        def _fetch(url):
            return requests.get(url).json()

        def sync_api(url):
            return _fetch(url)
        """,
    ),
)

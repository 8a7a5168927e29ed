"""UFA008 sync-helper-in-executor: `await loop.run_in_executor(None, self._fetch, u)` where
`_fetch` is a plain `def` whose body makes the `requests` calls.

The fix makes the helper `async def` and awaits it at every call site; the core pass, which runs
next, then migrates the requests calls now inside an `async def` (UFA003) and removes the
executor that only served them. Nothing is changed when the helper is used anywhere else (called
from sync code, passed as a callback, decorated, overridden in a subclass, called on another
object, exported in `__all__`), or when the core could not migrate every requests call in it:
an `async def` that still calls requests would block the loop, which is worse than the thread.

The modules, one job each:

- `model`: the rule's id and messages, a `Helper` and its `Use`s;
- `offloads`: which callable a `run_in_executor` / `to_thread` / configured helper call hands
  to a thread, with its arguments (through `partial` and `lambda` too);
- `finder`: the helpers of this module run from async code, and the other modules' helpers;
- `references`: whether every other reference to a helper lets it become `async def`;
- `trial`: whether the core pass migrates every requests call of a helper made async;
- `trial_slice`: the part of that rewrite the core's verdict depends on, which the trial analyses
  instead of the whole module;
- `rewrite`: the edit (helper `async def`, call sites awaited, dead executors and imports gone);
- `cross_module`: a helper of another module of the run (`from .utils import fetch_json`): this
  file's part of the change the run decides for the whole tree (`analysis/project_links`);
- `rule`: the pass itself.
"""
from unfake_async.codemod.passes.sync_helpers.rule import SyncHelperPass, migratable_offloads

__all__ = ["SyncHelperPass", "migratable_offloads"]

"""Marking work that a coroutine pushes onto a worker thread, so fake async can be reported.

`loop.run_in_executor` does not copy the caller's context into the worker, so a ContextVar
cannot carry "who offloaded this": instead the callable is wrapped (`Marked`) with the caller's
stack, and sets a thread-local while it runs. `asyncio.to_thread` goes through
`run_in_executor`, and is told apart by the frames between the coroutine and that call (see
`frames.OFFLOAD_HELPERS`). anyio (and so starlette's and FastAPI's `run_in_threadpool`) has its
own worker threads, so `anyio.to_thread.run_sync` is wrapped too. A coroutine that calls
`executor.submit` directly is caught by the wrapped `ThreadPoolExecutor.submit`.

Process pools are left alone: the wrapper would have to cross a pickle, and a process is not a
fake-async thread hop anyway (`Marked` still pickles as the bare callable, just in case).
"""
from __future__ import annotations

import functools
from concurrent.futures import ProcessPoolExecutor

from unfake_async.shim import frames
from unfake_async.shim._state import Offload, _get_running_loop, state, worker
from unfake_async.shim.patches import Target

# How much of the offloading coroutine's stack to keep: enough for the allow-list and the site.
OFFLOAD_STACK_LIMIT = 32


def _bare(func):
    return func


class Marked:
    """A callable that runs `func` with this thread marked as doing `offload`'s work."""

    __slots__ = ("func", "offload", "__weakref__")

    def __init__(self, func, offload: Offload) -> None:
        self.func = func
        self.offload = offload

    def __call__(self, *args, **kwargs):
        previous = getattr(worker, "offload", None)
        worker.offload = self.offload
        try:
            return self.func(*args, **kwargs)
        finally:
            worker.offload = previous

    def __reduce__(self):
        return (_bare, (self.func,))

    def __repr__(self) -> str:
        return f"<unfake-async marked {self.func!r}>"


def mark(func, via: str, rule_id: str, skip: int = 1) -> Marked:
    """Wrap `func` with the stack of the code `skip` frames above mark()'s caller."""
    stack = frames.caller_stack(skip, OFFLOAD_STACK_LIMIT)
    helper = frames.offload_helper(stack)
    if helper is not None:
        via, rule_id = helper, "UFA002"
    return Marked(func, Offload(rule_id, via, stack))


def _is_thread_executor(loop, executor) -> bool:
    if executor is None:
        executor = getattr(loop, "_default_executor", None)
    return not isinstance(executor, ProcessPoolExecutor)


def _run_in_executor_factory(original):
    @functools.wraps(original)
    def run_in_executor(self, executor, func, *args):
        if state.mode is not None and not isinstance(func, Marked) \
                and _is_thread_executor(self, executor):
            func = mark(func, "loop.run_in_executor", "UFA001")
        return original(self, executor, func, *args)

    run_in_executor.__unfake_async_original__ = original
    return run_in_executor


def _submit_factory(original):
    @functools.wraps(original)
    def submit(self, fn, /, *args, **kwargs):
        if state.mode is not None and not isinstance(fn, Marked) \
                and _get_running_loop() is not None:
            fn = mark(fn, "executor.submit", "UFA001")
        return original(self, fn, *args, **kwargs)

    submit.__unfake_async_original__ = original
    return submit


def _anyio_run_sync_factory(original):
    @functools.wraps(original)
    async def run_sync(func, *args, **kwargs):
        if state.mode is not None and not isinstance(func, Marked):
            func = mark(func, "anyio.to_thread.run_sync", "UFA002")
        return await original(func, *args, **kwargs)

    run_sync.__unfake_async_original__ = original
    return run_sync


def offload_targets():
    """The thread-offload entry points that get marked."""
    return [
        Target("asyncio.base_events", "BaseEventLoop.run_in_executor", _run_in_executor_factory),
        Target("uvloop", "Loop.run_in_executor", _run_in_executor_factory),
        Target("concurrent.futures.thread", "ThreadPoolExecutor.submit", _submit_factory),
        Target("anyio.to_thread", "run_sync", _anyio_run_sync_factory),
    ]

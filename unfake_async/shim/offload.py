"""Marking work that a coroutine pushes onto a worker thread, so fake async can be reported.

`loop.run_in_executor` does not copy the caller's context into the worker, so a ContextVar
cannot carry "who offloaded this": instead the callable is wrapped (`Marked`) with the caller's
stack, and sets a thread-local while it runs. `asyncio.to_thread` goes through
`run_in_executor`, and is told apart by the frames between the coroutine and that call (see
`frames.OFFLOAD_HELPERS`). anyio (and so starlette's and FastAPI's `run_in_threadpool`) has its
own worker threads, so `anyio.to_thread.run_sync` is wrapped too. A coroutine that calls
`executor.submit` directly is caught by the wrapped `ThreadPoolExecutor.submit`.

Helpers that are coroutine functions (`asyncio.to_thread`, `run_in_threadpool`, asgiref's
`SyncToAsync.__call__`, anyio's `run_sync`) are wrapped by plain functions that capture the
caller's stack when they are *called*: `gather(to_thread(...))`, `create_task(...)`, task groups
and `asyncio.wait` run the coroutine later in a task of its own, where the stack holds only the
event loop. The captured Offload travels in `offload_call` (a ContextVar, so it follows the
coroutine into its task) to the `run_in_executor` that marks the job.

Process pools are left alone: the wrapper would have to cross a pickle, and a process is not a
fake-async thread hop anyway (`Marked` still pickles as the bare callable, just in case).
"""
from __future__ import annotations

import asyncio
import functools
import inspect
from concurrent.futures import ProcessPoolExecutor

from unfake_async.shim import frames
from unfake_async.shim._state import Offload, _get_running_loop, offload_call, state, worker
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
    """Wrap `func` with the Offload of the helper call being run, or else with the stack of the
    code `skip` frames above mark()'s caller (its task's frames only, on the loop's thread)."""
    called = offload_call.get()
    if called is not None:
        return Marked(func, called)
    stack = frames.caller_stack(skip, OFFLOAD_STACK_LIMIT, in_task=_get_running_loop() is not None)
    helper = frames.offload_helper(stack)
    if helper is not None:
        via, rule_id = helper, "UFA002"
    return Marked(func, Offload(rule_id, via, stack))


def _offload_here(via: str, skip: int) -> Offload:
    """An Offload from the stack `skip` frames above the caller of this function."""
    return Offload("UFA002", via, frames.caller_stack(
        skip, OFFLOAD_STACK_LIMIT, in_task=_get_running_loop() is not None))


async def _attributed(coro, offload: Offload):
    token = offload_call.set(offload)
    try:
        return await coro
    finally:
        offload_call.reset(token)


def _mark_as_coroutine_function(wrapper):
    """Keep `iscoroutinefunction(helper)` true for code that checks it."""
    if hasattr(inspect, "markcoroutinefunction"):  # Python 3.12+
        inspect.markcoroutinefunction(wrapper)
    marker = getattr(asyncio.coroutines, "_is_coroutine", None)
    if marker is not None:  # asyncio.iscoroutinefunction before 3.14
        wrapper._is_coroutine = marker
    return wrapper


def _called_helper_factory(via: str):
    """Wrapper factory for a coroutine-function helper: attribute its work to its caller."""

    def factory(original):
        if hasattr(original, "__unfake_async_original__"):
            return original  # a re-export of a helper already wrapped in its own module

        @functools.wraps(original)
        def helper(*args, **kwargs):
            if state.mode is None or offload_call.get() is not None:
                return original(*args, **kwargs)  # off, or inside another helper's call
            return _attributed(original(*args, **kwargs), _offload_here(via, 1))

        helper.__unfake_async_original__ = original
        return _mark_as_coroutine_function(helper)

    return factory


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
    # anyio runs jobs on its own threads, not through run_in_executor: mark the job here, at the
    # call (a plain function, for the same reason as `_called_helper_factory`).
    @functools.wraps(original)
    def run_sync(func, *args, **kwargs):
        if state.mode is not None and not isinstance(func, Marked):
            called = offload_call.get()
            func = Marked(func, called or _offload_here("anyio.to_thread.run_sync", 1))
        return original(func, *args, **kwargs)

    run_sync.__unfake_async_original__ = original
    return _mark_as_coroutine_function(run_sync)


def offload_targets():
    """The thread-offload entry points that get marked."""
    to_thread = _called_helper_factory("asyncio.to_thread")
    threadpool = _called_helper_factory("starlette.concurrency.run_in_threadpool")
    return [
        # The helpers first: asyncio's package namespace re-exports asyncio.threads.to_thread,
        # and fastapi.concurrency re-exports starlette's run_in_threadpool.
        Target("asyncio.threads", "to_thread", to_thread),
        Target("asyncio", "to_thread", to_thread),
        Target("starlette.concurrency", "run_in_threadpool", threadpool),
        Target("fastapi.concurrency", "run_in_threadpool", threadpool),
        Target("asgiref.sync", "SyncToAsync.__call__",
               _called_helper_factory("asgiref.sync.sync_to_async")),
        Target("asyncio.base_events", "BaseEventLoop.run_in_executor", _run_in_executor_factory),
        Target("uvloop", "Loop.run_in_executor", _run_in_executor_factory),
        Target("concurrent.futures.thread", "ThreadPoolExecutor.submit", _submit_factory),
        Target("anyio.to_thread", "run_sync", _anyio_run_sync_factory),
    ]

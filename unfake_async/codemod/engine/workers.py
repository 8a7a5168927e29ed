"""Analysis workers that start before the files are read, and take each file as it is found.

A check of a big tree reads and prefilters thousands of files and parses a handful. Importing
libcst costs 0.13 s, more than the parse of those few files (Django: one file, 0.07 s on its
slice). A worker forked before the read loop imports it on another core meanwhile, and analyses
each file the moment the prefilter lets it through, while the main process reads on.

Workers start one at a time: the first at once (to warm up), another only when files wait for
one, up to the number of jobs; so a tree with one file to parse does not pay the CPU of importing
libcst twice on a 2-core machine.

Why not `concurrent.futures.ProcessPoolExecutor`: it cannot stop a worker that is still
importing without waiting for it (`kill_workers` arrives in Python 3.14), so a tree with nothing
to parse would wait for an import it never needed; and a worker that dies breaks the whole pool
instead of failing one file. Linux only (the `fork` start method, so the analyze function and the
imports done so far are inherited); `available()` says whether this platform has it.
"""
from __future__ import annotations

import collections
import multiprocessing
import multiprocessing.connection
import signal
import sys
from typing import Callable, Deque, Iterator, List, Optional, Tuple

Task = Tuple[str, str, object, object]  # (path, text, settings, fix_level)
Outcome = object  # a SourceResult, or a one-line failure message

# How long to wait for a result before looking again (a worker's death also wakes the wait).
_POLL_SECONDS = 0.5


def available() -> bool:
    return sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods()


def _warm_up() -> None:
    """Import what every analysis needs, before the first file arrives."""
    import libcst  # noqa: F401
    import libcst.metadata  # noqa: F401

    from unfake_async.codemod.engine import local_slice, transform  # noqa: F401
    from unfake_async.codemod.engine.pass_protocol import pass_order

    for lazy in pass_order():
        if lazy.name == "LoopHygienePass":  # the others import libcst.matchers (0.17 s): on demand
            lazy.load()


def _serve(connection, main_end, run_one: Callable[[Task], Outcome]) -> None:
    # The fork copied the main process's end of the pipe too: closed here, the pipe reads as
    # ended once the main process is gone.
    main_end.close()
    # Ctrl-C reaches the whole process group: the main process stops the workers (close()),
    # and a worker must not print a KeyboardInterrupt traceback of its own.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        _warm_up()
        connection.send(_READY)
        while True:
            task = connection.recv()
            if task is None:
                return
            connection.send((task[0], run_one(task)))
    except (EOFError, BrokenPipeError):
        return  # the main process is gone: nobody is waiting for this worker


_READY = "ready"


class _Worker:
    def __init__(self, context, run_one) -> None:
        self.connection, child_end = context.Pipe()
        self.process = context.Process(target=_serve, args=(child_end, self.connection, run_one),
                                       daemon=True)
        self.process.start()
        child_end.close()
        self.ready = False
        self.task: Optional[str] = None  # the path it is analysing


class Workers:
    """Up to `limit` forked workers; each gets one file at a time, so the main process always
    knows which file a worker that dies was in, and neither side can block the other on a full
    pipe."""

    # Workers started again after one died, before the files left are failed instead.
    RESTARTS = 3

    def __init__(self, limit: int, run_one: Callable[[Task], Outcome]) -> None:
        self._context = multiprocessing.get_context("fork")
        self._run_one = run_one
        self._limit = max(1, limit)
        self._workers: List[_Worker] = [_Worker(self._context, run_one)]
        self._backlog: Deque[Task] = collections.deque()
        self._done: List[Tuple[str, Outcome]] = []
        self._pending = 0
        self._restarts = 0

    def submit(self, task: Task) -> None:
        self._pending += 1
        self._backlog.append(task)
        self._pump()

    def results(self) -> Iterator[Tuple[str, Outcome]]:
        """Every submitted task's (path, outcome), in the order they finish. A worker that dies
        in a file fails that file with a one-line message, and a new worker takes the rest."""
        while self._pending:
            self._pump()
            while self._done:
                self._pending -= 1
                yield self._done.pop(0)
            if self._pending:
                waitables = [w.connection for w in self._workers] + [w.process.sentinel for w in self._workers]
                multiprocessing.connection.wait(waitables, timeout=_POLL_SECONDS)

    def _pump(self) -> None:
        """Take in what the workers said, bury the dead, and hand the backlog to idle workers."""
        for worker in list(self._workers):
            closed = False
            while not closed and worker.connection.poll():
                try:
                    message = worker.connection.recv()
                except (EOFError, OSError):  # the worker is gone: its end of the pipe closed
                    closed = True
                    continue
                if message == _READY:
                    worker.ready = True
                else:
                    self._done.append(message)
                    worker.task = None
            if closed or not worker.process.is_alive() and not worker.connection.poll():
                self._bury(worker)
        for worker in self._workers:
            if self._backlog and worker.ready and worker.task is None:
                task = self._backlog.popleft()
                worker.task = task[0]
                worker.connection.send(task)
        if self._backlog and all(w.task is not None for w in self._workers) and len(self._workers) < self._limit:
            self._workers.append(_Worker(self._context, self._run_one))

    def _bury(self, worker: _Worker) -> None:
        self._workers.remove(worker)
        message = (f"internal error: the analysis process died (exit code {worker.process.exitcode}); "
                   "file not checked")
        if worker.task is not None:
            self._done.append((worker.task, message))
        if self._backlog and not self._workers:
            if self._restarts >= self.RESTARTS:
                while self._backlog:
                    self._done.append((self._backlog.popleft()[0], message))
                return
            self._restarts += 1
            self._workers.append(_Worker(self._context, self._run_one))

    def close(self) -> None:
        """Stop every worker now, whatever it is doing (importing, or waiting for work)."""
        for worker in self._workers:
            if worker.process.is_alive():
                worker.process.kill()
        for worker in self._workers:
            worker.process.join()
            worker.connection.close()

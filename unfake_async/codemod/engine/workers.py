"""Analysis workers that start before the files are read, and take each file as it is found.

A check of a big tree reads and prefilters thousands of files and parses a handful. Importing
libcst costs 0.13 s, more than the parse of those few files (Django: one file, 0.07 s on its
slice). A worker forked before the read loop imports it on another core meanwhile, and analyses
each file the moment the prefilter lets it through, while the main process reads on.

The first worker starts at once (to warm up) in two steps. First what every analysis needs
(libcst, the `ast` prechecks, the loop-hygiene pass): it is then READY. If the main process
sends it the run's last file at that moment (Django: one file to parse, found before the worker
was ready), it answers it at once: the other passes, the layout of a fix and `libcst.matchers`
they import (0.2 s) are not waited for (Django's scan: 0.54 -> 0.33 s). Otherwise it imports
those too, and then forks the others itself (`_Sibling`), up to the number of jobs, before it
answers its first file: a fork of a warm process costs a few milliseconds where a second import
costs 0.35 s of CPU (on Home Assistant, a tenth of the whole scan's CPU), so a tree with one file
to parse does not pay for importing libcst twice, and one with many gets its second worker as
soon as the first is warm. A first worker that is not warm yet is killed at close (it has no
sibling to wait for). A worker started again after a death is forked by the main process and
imports for itself.

Why not `concurrent.futures.ProcessPoolExecutor`: it cannot stop a worker that is still
importing without waiting for it (`kill_workers` arrives in Python 3.14), so a tree with nothing
to parse would wait for an import it never needed; and a worker that dies breaks the whole pool
instead of failing one file. Linux only (the `fork` start method, so the analyze function and the
imports done so far are inherited); `available()` says whether this platform has it.
"""
from __future__ import annotations

import collections
import gc
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import time
from typing import Callable, Deque, Iterator, List, Optional, Sequence, Tuple

Task = Tuple[str, str, object, object]  # (path, text, settings, fix_level)
Outcome = object  # a SourceResult, or a one-line failure message

# How long the first worker, ready, waits for a file before it imports the rest (seconds): the
# main process sends one as soon as it reads READY, if it has one.
_FIRST_FILE_WAIT = 0.05
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
        if lazy.name == "LoopHygienePass":  # the others import libcst.matchers (0.17 s): later
            lazy.load()


def _warm_up_rest() -> None:
    """Import what only some analyses need: every pass, and the layout of a fix (with them,
    libcst.matchers). Done when the first worker is idle, before it forks the others."""
    from unfake_async.codemod.engine import layout  # noqa: F401
    from unfake_async.codemod.engine.pass_protocol import pass_order

    for lazy in pass_order():
        lazy.load()


def _serve(connection, main_end, run_one: Callable[[Task], Outcome], siblings: Sequence = ()) -> None:
    # The fork copied the main process's end of the pipe too: closed here, the pipe reads as
    # ended once the main process is gone. `siblings`: (main end, worker end) of the pipes of the
    # workers this one forks once warm.
    main_end.close()
    for sibling_main_end, _ in siblings:
        sibling_main_end.close()
    # Ctrl-C reaches the whole process group: the main process stops the workers (close()),
    # and a worker must not print a KeyboardInterrupt traceback of its own.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    forked: List[int] = []
    try:
        _warm_up()
        connection.send(_READY)
        # The last file of a run, sent the moment the main process reads READY, is answered at
        # once (Django's one file needs no more imports, and no siblings); any other first file
        # waits for the rest of the imports and for the siblings, forked after them to inherit
        # them, which then share the files that follow.
        first: Optional[Task] = None
        if connection.poll(_FIRST_FILE_WAIT):
            message = connection.recv()
            if message is None:
                return
            if isinstance(message, _Last):
                connection.send((message.task[0], run_one(message.task)))
            else:
                first = message
        _warm_up_rest()
        # What the imports made lives as long as the worker: out of the collector's reach, its
        # full collections do not walk it again, nor write to the pages the siblings share.
        gc.freeze()
        forked = _fork_siblings(connection, [end for _, end in siblings], run_one)
        connection.send(_WARM)
        if first is not None:
            connection.send((first[0], run_one(first)))
        _answer(connection, run_one)
    except (EOFError, BrokenPipeError):
        return  # the main process is gone: nobody is waiting for this worker
    # Told to stop: the siblings were told too (or killed); waiting for them puts their CPU
    # time in this process's, and so in what the main process's caller measures of the run.
    for pid in forked:
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass


def _answer(connection, run_one: Callable[[Task], Outcome]) -> None:
    while True:
        task = connection.recv()
        if task is None:
            return
        if isinstance(task, _Last):
            task = task.task
        connection.send((task[0], run_one(task)))


def _fork_siblings(own_end, ends: List, run_one: Callable[[Task], Outcome]) -> List[int]:
    """Fork one worker per pipe end in `ends`, each inheriting this process's imports. The main
    process learns their pid from their first message, to kill them. This process never waits
    for them while they serve: one that dies stays a zombie, whose exit code the main process
    reads for its message (`_zombie_exit_code`); their pids are returned, to wait for at the end."""
    forked = []
    for index, end in enumerate(ends):
        try:
            pid = os.fork()
        except OSError:  # out of processes or memory: the pipes left read as ended, and the
            for left in ends[index:]:  # main process forks what workers it still needs itself
                left.close()
            break
        if pid == 0:
            code = 0
            try:
                own_end.close()
                for other in ends[index + 1:]:
                    other.close()
                end.send(_Ready(os.getpid()))
                _answer(end, run_one)
            except (EOFError, BrokenPipeError):
                pass
            except BaseException:  # noqa: BLE001 - never unwind into the parent's code
                code = 1
            finally:
                # Not a return: up the stack is multiprocessing's bootstrap of the parent worker.
                os._exit(code)
        end.close()
        forked.append(pid)
    return forked


class _Ready:
    """A sibling's first message: it is ready, and this is its pid."""

    def __init__(self, pid: int) -> None:
        self.pid = pid


class _Last:
    """A task the main process sends to a first worker still importing: the run's last."""

    def __init__(self, task: Task) -> None:
        self.task = task


_READY = "ready"  # the first worker can analyse (it may still be importing the rest)
_WARM = "warm"  # ... and it has imported everything and forked its siblings


class _Worker:
    def __init__(self, context, run_one, siblings: Sequence = ()) -> None:
        self.connection, child_end = context.Pipe()
        self.process = context.Process(target=_serve, args=(child_end, self.connection, run_one, siblings),
                                       daemon=True)
        self.process.start()
        child_end.close()
        self.ready = False
        self.warm = False
        self.task: Optional[str] = None  # the path it is analysing

    def alive(self) -> bool:
        return self.process.is_alive()

    def exit_code(self) -> Optional[int]:
        # Its pipe reads as ended a moment before it can be waited for (longer when it has
        # siblings to hand over to init): a short wait, on this failure path only.
        self.process.join(_EXIT_WAIT_SECONDS)
        return self.process.exitcode

    def waitables(self) -> list:
        return [self.connection, self.process.sentinel]

    def stop(self) -> None:
        """An idle worker ends on its own when told (and the first one waits for its siblings);
        any other is killed, whatever it is doing: in a file, or still importing (a first
        worker that has not forked its siblings has nobody to wait for)."""
        if self.ready and self.warm and self.task is None:
            try:
                self.connection.send(None)
                return
            except OSError:
                pass
        self.kill()

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()

    def join(self) -> None:
        self.process.join()
        self.connection.close()


class _Sibling(_Worker):
    """A worker the first worker forked once warm (`_fork_siblings`); not a child of the main
    process, so it is known by its pipe (which reads as ended when it dies) and the pid it sends."""

    def __init__(self, connection) -> None:
        # Not `super().__init__()`: that forks a process from the main one.
        self.connection = connection
        self.pid: Optional[int] = None
        self.ready = False
        self.warm = True  # forked from a warm worker
        self.task: Optional[str] = None

    def alive(self) -> bool:
        return True  # a death shows as the end of its pipe

    def exit_code(self) -> Optional[int]:
        return _zombie_exit_code(self.pid)

    def waitables(self) -> list:
        return [self.connection]

    def kill(self) -> None:
        if self.pid is not None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def join(self) -> None:
        self.connection.close()


def _zombie_exit_code(pid: Optional[int]) -> Optional[int]:
    """The exit code of a dead sibling, as `Process.exitcode` gives it (minus the signal that
    killed it), read from /proc once it is a zombie waiting for the first worker to reap it
    (Linux keeps the status in the last field of /proc/PID/stat); None when that is gone (the
    first worker died too, and init reaped it)."""
    if pid is None:
        return None
    deadline = time.monotonic() + _EXIT_WAIT_SECONDS
    while True:
        try:
            with open(f"/proc/{pid}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            return None
        if fields[0] == "Z" or time.monotonic() > deadline:
            break
        time.sleep(0.01)  # its pipe closed a moment before it became a zombie
    try:
        status = int(fields[-1])
    except ValueError:
        return None
    return -(status & 0x7F) if status & 0x7F else status >> 8


def _noted(worker: _Worker, message) -> bool:
    """Take in what a worker says of itself; False for anything else (a result)."""
    if isinstance(message, _Ready):  # only siblings send it
        if isinstance(worker, _Sibling):
            worker.pid = message.pid
        worker.ready = True
    elif message == _READY:
        worker.ready = True
    elif message == _WARM:
        worker.warm = True
    else:
        return False
    return True


# How long a dead worker's exit code is waited for.
_EXIT_WAIT_SECONDS = 1.0


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
        pipes = [self._context.Pipe() for _ in range(self._limit - 1)]
        self._workers: List[_Worker] = [_Worker(self._context, run_one, pipes)]
        for main_end, sibling_end in pipes:
            sibling_end.close()
            self._workers.append(_Sibling(main_end))
        self._backlog: Deque[Task] = collections.deque()
        self._done: List[Tuple[str, Outcome]] = []
        self._pending = 0
        self._restarts = 0
        self._all_submitted = False  # set by results(): no task comes after those in the backlog

    def submit(self, task: Task) -> None:
        self._pending += 1
        self._backlog.append(task)
        self._pump()

    def results(self) -> Iterator[Tuple[str, Outcome]]:
        """Every submitted task's (path, outcome), in the order they finish. A worker that dies
        in a file fails that file with a one-line message, and a new worker takes the rest."""
        self._all_submitted = True
        while self._pending:
            self._pump()
            while self._done:
                self._pending -= 1
                yield self._done.pop(0)
            if self._pending:
                waitables = [waitable for worker in self._workers for waitable in worker.waitables()]
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
                if not _noted(worker, message):
                    self._done.append(message)
                    worker.task = None
            if closed or not worker.alive() and not worker.connection.poll():
                self._bury(worker)
        for worker in self._workers:
            if self._backlog and worker.ready and worker.task is None:
                task = self._backlog.popleft()
                worker.task = task[0]
                last = not worker.warm and self._all_submitted and not self._backlog
                worker.connection.send(_Last(task) if last else task)
        if self._backlog and all(w.task is not None for w in self._workers) and len(self._workers) < self._limit:
            self._workers.append(_Worker(self._context, self._run_one))

    def _bury(self, worker: _Worker) -> None:
        self._workers.remove(worker)
        message = (f"internal error: the analysis process died (exit code {worker.exit_code()}); "
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
        """Stop every worker now: an idle one is told to end, any other (importing, or in a
        file) is killed."""
        self._pump_ready()
        for worker in self._workers:
            worker.stop()
        # The siblings' pipes first: one that never got to say it was ready ends when its pipe
        # closes, and the first worker waits for it before it ends.
        for worker in sorted(self._workers, key=lambda w: not isinstance(w, _Sibling)):
            worker.join()

    def _pump_ready(self) -> None:
        """Read what the workers said of themselves before closing: the siblings' pids, and
        whether the first worker is warm (to be told to stop rather than killed)."""
        for worker in self._workers:
            try:
                while worker.connection.poll():
                    _noted(worker, worker.connection.recv())
            except (EOFError, OSError):
                continue

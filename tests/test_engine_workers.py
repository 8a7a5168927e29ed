"""The analysis workers forked before the read loop (`codemod/engine/workers.py`): same results as
in-process, one file at a time, a worker that dies fails only its file, and close() stops a
worker whatever it is doing."""
import os
import time

import pytest

from tests.test_engine_runner import CALLS, CLEAN, FAKE, fake_analyze, reset_calls, tree  # noqa: F401
from unfake_async.codemod.engine import workers as workers_module
from unfake_async.codemod.engine.dispatch import EARLY_WORKER_FILES, start_workers
from unfake_async.codemod.engine.model import Finding, FixLevel, SourceResult
from unfake_async.codemod.engine.runner import Mode, RunOptions, run_files
from unfake_async.settings import Settings

TEST_PROCESS = os.getpid()  # the workers' main process: forks inherit it
pytestmark = pytest.mark.skipif(not workers_module.available(), reason="needs the fork start method")


def crashing_analyze(source, *, path, settings, fix_level):
    """The stand-in analyzer, except that a file saying CRASH kills the process it runs in."""
    if "CRASH" in source:
        os._exit(3)
    return fake_analyze(source, path=path, settings=settings, fix_level=fix_level)


def sleeping_analyze(source, *, path, settings, fix_level):
    time.sleep(3600)


def run(paths, jobs, analyze=fake_analyze, workers=None, mode=Mode.CHECK):
    level = FixLevel.NONE if mode == Mode.CHECK else FixLevel.SAFE
    return run_files(paths, Settings(), RunOptions(mode=mode, fix_level=level, jobs=jobs),
                     analyze=analyze, workers=workers)


def summary(result):
    return [(r.path, r.findings, r.parsed, r.error, r.fixed_source) for r in result.reports]


def test_a_big_tree_is_analysed_by_early_workers_with_the_same_results(tmp_path):
    files = {f"pkg{i % 7}/m{i:03}.py": (FAKE if i % 50 == 0 else CLEAN if i % 50 == 1 else "x = 1\n")
             for i in range(EARLY_WORKER_FILES + 20)}
    paths = tree(tmp_path, files)
    for mode in (Mode.CHECK, Mode.DIFF):
        CALLS.clear()
        serial = run(paths, jobs=1, mode=mode)
        assert len(CALLS) == 22  # the files passing the prefilter, analysed here
        CALLS.clear()
        early = run(paths, jobs=2, mode=mode)
        assert CALLS == []  # ... and there by the workers, which keep their own CALLS
        assert summary(early) == summary(serial)
        assert sum(r.parsed for r in early.reports) == 22
        assert sum(bool(r.findings) for r in early.reports) == 11


def test_a_worker_that_dies_fails_only_its_file(tmp_path):
    files = {f"m{i:02}.py": FAKE for i in range(10)}
    files["m04.py"] = FAKE + "# CRASH\n"
    paths = tree(tmp_path, files)
    result = run(paths, jobs=2, analyze=crashing_analyze, workers=start_workers(2, crashing_analyze))
    by_name = {os.path.basename(r.path): r for r in result.reports}
    assert by_name["m04.py"].error == (
        "internal error: the analysis process died (exit code 3); file not checked")
    others = [r for name, r in by_name.items() if name != "m04.py"]
    assert all(r.error is None and len(r.findings) == 1 for r in others)


def test_files_fail_with_a_message_when_workers_keep_dying(tmp_path):
    paths = tree(tmp_path, {f"m{i}.py": FAKE + "# CRASH\n" for i in range(6)})
    result = run(paths, jobs=2, analyze=crashing_analyze, workers=start_workers(2, crashing_analyze))
    assert all("analysis process died" in r.error for r in result.reports)


def _alive(pid):
    """Whether `pid` runs (a zombie, dead and waiting for its parent to reap it, does not)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _busy_pool(analyze, paths):
    """A pool of two whose workers (the first and the sibling it forked) each took a file."""
    pool = start_workers(2, analyze)
    for path in paths:
        pool.submit((path, FAKE, Settings(), FixLevel.NONE, None))
    for _ in range(400):
        pool._pump()
        if all(w.task is not None for w in pool._workers):
            break
        time.sleep(0.05)
    assert sorted(w.task for w in pool._workers) == sorted(paths)
    return pool


def test_close_stops_a_worker_in_the_middle_of_a_file():
    pool = _busy_pool(sleeping_analyze, ["a.py", "b.py"])
    first, sibling = pool._workers
    assert isinstance(sibling, workers_module._Sibling) and sibling.pid not in (None, first.process.pid)
    pool.close()
    assert not first.process.is_alive() and first.process.exitcode == -9  # killed, not left to finish
    for _ in range(100):
        if not _alive(sibling.pid):
            break
        time.sleep(0.05)
    assert not _alive(sibling.pid)


def crash_in_a_sibling(source, *, path, settings, fix_level):
    """Dies with exit code 6 in a sibling (whose parent is the first worker, not the test's
    process); analyses normally in the first worker."""
    if os.getppid() != TEST_PROCESS:
        os._exit(6)
    return fake_analyze(source, path=path, settings=settings, fix_level=fix_level)


def test_a_sibling_that_dies_is_reported_with_its_exit_code(tmp_path):
    """The sibling is not the main process's child: its exit code is read while it is a zombie
    of the first worker. It dies in its first file; the first worker analyses the others."""
    paths = tree(tmp_path, {f"m{i}.py": FAKE for i in range(4)})
    result = run(paths, jobs=2, analyze=crash_in_a_sibling, workers=start_workers(2, crash_in_a_sibling))
    errors = [r.error for r in result.reports if r.error]
    assert errors == ["internal error: the analysis process died (exit code 6); file not checked"]
    assert sum(len(r.findings) == 1 for r in result.reports) == 3


def test_the_first_worker_forks_its_siblings_warm(tmp_path):
    """Siblings inherit libcst from the first worker instead of importing it again: their
    import of it is a no-op, and each analyses files with the same results."""
    files = {f"m{i:02}.py": FAKE for i in range(12)}
    paths = tree(tmp_path, files)
    pool = start_workers(3, fake_analyze)
    assert len(pool._workers) == 3 and all(isinstance(w, workers_module._Sibling) for w in pool._workers[1:])
    result = run(paths, jobs=3, workers=pool)
    assert all(r.error is None and len(r.findings) == 1 for r in result.reports)
    assert len({w.pid for w in pool._workers[1:]}) == 2


REST_MARKER = "rest-of-the-warm-up-started"


def _marking_rest(directory):
    """`_warm_up_rest` that leaves a file behind when it starts (in the worker that runs it)."""
    def rest():
        (directory / REST_MARKER).write_text("")
    return rest


def rest_seen_analyze(source, *, path, settings, fix_level):
    """One finding whose message says whether the rest of the warm-up had started."""
    started = os.path.exists(os.path.join(os.path.dirname(path), REST_MARKER))
    return SourceResult(findings=[Finding("UFA900", f"rest started: {started}", 1, 1, 1, 2)])


def _gated(gate):
    """`_warm_up` that waits (in the worker) until the test creates `gate`."""
    def warm_up():
        for _ in range(6000):
            if gate.exists():
                return
            time.sleep(0.01)
    return warm_up


def test_the_last_file_of_a_run_is_answered_before_the_rest_of_the_imports(tmp_path, monkeypatch):
    """Django's shape: one file to parse, submitted before the worker is ready. The main process
    marks it as the run's last; the first worker answers it before importing every pass (and
    libcst.matchers), forks no sibling, and is killed at close, not waited for."""
    gate = tmp_path / "ready"
    monkeypatch.setattr(workers_module, "_warm_up", _gated(gate))  # inherited by the fork
    marking = _marking_rest(tmp_path)

    def slow_rest():  # the marker, then long enough that only a kill ends it
        marking()
        time.sleep(30)

    monkeypatch.setattr(workers_module, "_warm_up_rest", slow_rest)
    monkeypatch.setattr(workers_module, "_FIRST_FILE_WAIT", 60)  # no race with the main process
    pool = start_workers(2, rest_seen_analyze)
    first, sibling = pool._workers
    try:
        pool.submit((str(tmp_path / "only.py"), FAKE, Settings(), FixLevel.NONE, None))
        gate.write_text("")  # the worker says READY from now on; the main process reads it below
        [(path, outcome)] = list(pool.results())
        assert [f.message for f in outcome.findings] == ["rest started: False"]
    finally:
        pool.close()
    assert not first.warm and sibling.pid is None
    assert first.process.exitcode == -9  # in the rest of its imports: killed, not waited for


def test_files_that_stream_in_wait_for_the_rest_of_the_imports_and_the_siblings(tmp_path, monkeypatch):
    """Home Assistant's shape: files arrive while the main process still reads. The first one
    waits for the rest of the warm-up, so that the siblings forked after it inherit it; every
    file is analysed after it, and the first worker ends when told (it has siblings to wait for)."""
    monkeypatch.setattr(workers_module, "_warm_up_rest", _marking_rest(tmp_path))
    pool = start_workers(2, rest_seen_analyze)
    first = pool._workers[0]
    try:
        for i in range(6):
            pool.submit((str(tmp_path / f"m{i}.py"), FAKE, Settings(), FixLevel.NONE, None))
        messages = sorted({f.message for _, outcome in pool.results() for f in outcome.findings})
        assert messages == ["rest started: True"]
        assert first.warm  # said before its first answer
    finally:
        pool.close()
    assert first.process.exitcode == 0  # told to stop, it waited for its sibling


def test_when_the_first_worker_cannot_fork_the_main_process_starts_the_others(monkeypatch):
    """os.fork failing in the first worker (out of processes): the siblings' pipes end, and the
    main process forks the workers it needs itself; every file is still analysed."""
    real_fork = os.fork

    def fork_refused_in_workers():
        if os.getpid() != TEST_PROCESS:
            raise OSError("fork refused")
        return real_fork()  # the main process's own forks (multiprocessing's) go through

    monkeypatch.setattr(workers_module.os, "fork", fork_refused_in_workers)  # inherited by the workers
    pool = start_workers(2, fake_analyze)
    first = pool._workers[0]
    try:
        for i in range(12):
            pool.submit((f"m{i:02}.py", FAKE, Settings(), FixLevel.NONE, None))
        results = sorted(pool.results())
        assert [path for path, _ in results] == [f"m{i:02}.py" for i in range(12)]
        assert all(len(outcome.findings) == 1 for _, outcome in results)
        assert first in pool._workers and first.process.is_alive()  # it went on without siblings
    finally:
        pool.close()


def test_one_job_or_no_fork_means_no_workers(monkeypatch):
    assert start_workers(1) is None
    monkeypatch.setattr(workers_module, "available", lambda: False)
    assert start_workers(2) is None


def test_a_worker_whose_main_process_is_gone_exits_quietly(tmp_path):
    """The main process killed (SIGKILL: no close()): its worker finds its pipe closed and
    exits without a traceback."""
    import subprocess
    import sys

    script = (
        "import os, signal, sys\n"
        "from unfake_async.codemod.engine.dispatch import start_workers\n"
        "pool = start_workers(2)\n"
        "print(pool._workers[0].process.pid, flush=True)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                          cwd=str(tmp_path), env=dict(os.environ, PYTHONPATH=os.getcwd()))
    worker = int(done.stdout.split()[0])
    for _ in range(200):  # the orphan finishes its warm-up, finds the pipe closed, and exits
        try:
            os.kill(worker, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        os.kill(worker, 9)
        pytest.fail("the orphaned worker was still running after 10 s")
    assert "Traceback" not in done.stderr

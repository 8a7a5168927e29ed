"""Finding the user's own frame in a stack, and matching stacks against the allow-list.

Only the slow path (a call that will be reported) captures stacks, so the code here favours
clarity over speed, with one cache: whether a code object belongs to "infrastructure" (the
libraries between the user's code and the blocking call: requests, urllib3, asyncio, the standard
library, this shim) is decided once per code object.
"""
from __future__ import annotations

import asyncio
import os
import sys
import sysconfig
from dataclasses import dataclass
from typing import Iterable, List, NamedTuple, Optional, Sequence, Tuple

# Modules whose frames are never "the user's": the HTTP stack, the event loop and thread-pool
# machinery, test runners, and the shim itself. Matched as dotted prefixes of `__name__`.
INFRA_MODULES = (
    "unfake_async.shim",
    "requests",
    "urllib3",
    "httpx",
    "httpcore",
    "h11",
    "anyio",
    "sniffio",
    "uvloop",
    "asgiref",
    # ASGI/WSGI servers run the event loop; their frames are never the line to fix.
    "uvicorn",
    "hypercorn",
    "gunicorn",
    "starlette.concurrency",
    "fastapi.concurrency",
    "asyncer",
    "certifi",
    "idna",
    "charset_normalizer",
    "chardet",
    "_pytest",
    "pytest",
    "pluggy",
)

# Helpers that offload a sync callable to a worker thread: when one of these sits between the
# coroutine and `run_in_executor`, the runtime rule is UFA002 rather than UFA001.
OFFLOAD_HELPERS = {
    "asyncio.threads": "asyncio.to_thread",
    "asgiref.sync": "asgiref.sync.sync_to_async",
    "anyio.to_thread": "anyio.to_thread.run_sync",
    "starlette.concurrency": "starlette.concurrency.run_in_threadpool",
    "fastapi.concurrency": "fastapi.concurrency.run_in_threadpool",
    "asyncer": "asyncer.asyncify",
}

_STDLIB_DIRS = tuple(
    {os.path.normcase(os.path.realpath(sysconfig.get_paths()[key])) + os.sep
     for key in ("stdlib", "platstdlib")}
)
_infra_cache: dict = {}


@dataclass(frozen=True)
class Site:
    """A place in the user's code: file, line and (qualified) function name."""

    filename: str
    lineno: int
    function: str

    def __str__(self) -> str:
        return f"{display_path(self.filename)}:{self.lineno} in {self.function}"

    def as_dict(self) -> dict:
        return {"filename": self.filename, "lineno": self.lineno, "function": self.function}

    @classmethod
    def from_dict(cls, data: Optional[dict]) -> Optional["Site"]:
        return cls(data["filename"], data["lineno"], data["function"]) if data else None


class FrameInfo(NamedTuple):
    """What the shim keeps of one stack frame (frames themselves would keep locals alive)."""

    module: str
    filename: str
    lineno: int
    function: str
    infra: bool

    @property
    def site(self) -> Site:
        return Site(self.filename, self.lineno, self.function)


def display_path(filename: str) -> str:
    """`filename` relative to the working directory when it lies below it."""
    try:
        relative = os.path.relpath(filename)
    except ValueError:  # another drive on Windows
        return filename
    return filename if relative.startswith(os.pardir) else relative


def _is_infra(code, module: str) -> bool:
    cached = _infra_cache.get(code)
    if cached is None:
        cached = _classify(code.co_filename, module)
        _infra_cache[code] = cached
    return cached


def _classify(filename: str, module: str) -> bool:
    if any(module == prefix or module.startswith(prefix + ".") for prefix in INFRA_MODULES):
        return True
    if filename.startswith("<frozen"):
        return True
    path = os.path.normcase(os.path.realpath(filename)) if os.path.isabs(filename) else ""
    in_stdlib = path.startswith(_STDLIB_DIRS)
    return in_stdlib and "site-packages" not in path and "dist-packages" not in path


def _legacy_qualname(frame, code) -> str:
    """Before 3.11 code objects have no co_qualname: recover `Class.method` from self/cls."""
    if not code.co_argcount or code.co_varnames[0] not in ("self", "cls"):
        return code.co_name
    try:
        bound = frame.f_locals.get(code.co_varnames[0])
        owner = bound if isinstance(bound, type) else type(bound)
        for klass in owner.__mro__:
            function = klass.__dict__.get(code.co_name)
            function = getattr(function, "__func__", function)
            if getattr(function, "__code__", None) is code:
                return f"{klass.__qualname__}.{code.co_name}"
    except Exception:  # a broken __getattr__ or exotic self must never break the report
        pass
    return code.co_name


def _runs_the_loop(code, module: str) -> bool:
    """A frame of the loop's own dispatch or of the runner that started it: what lies below it
    on the loop's thread (``asyncio.run(main())``, a server's ``run``) did not make the call."""
    return code.co_name in _LOOP_FUNCTIONS.get(module, ())


_LOOP_FUNCTIONS = {
    "asyncio.events": ("_run",),  # Handle._run: one callback or task step
    "asyncio.base_events": ("_run_once", "run_forever", "run_until_complete"),
    "asyncio.runners": ("run",),
    "uvloop": ("run",),
    "unfake_async.shim.watchdog": ("run_forever",),  # the watchdog's run_forever wrapper
}


def capture(frame, limit: int = 64, stop=None) -> Tuple[FrameInfo, ...]:
    """The stack from `frame` outwards, innermost first.

    With `stop` (a frame, usually the running task's coroutine), the walk ends there, or at the
    event loop's own frames: a call made in a task was made by the task, not by the code that
    started the loop, whose frames are below it on the same thread.
    """
    captured: List[FrameInfo] = []
    bounded = stop is not None
    while frame is not None and len(captured) < limit:
        code = frame.f_code
        module = frame.f_globals.get("__name__") or ""
        if bounded and captured and _runs_the_loop(code, module):
            break
        infra = _is_infra(code, module)
        function = getattr(code, "co_qualname", None)
        if function is None:
            function = code.co_name if infra else _legacy_qualname(frame, code)
        captured.append(FrameInfo(module, code.co_filename, frame.f_lineno, function, infra))
        if frame is stop:
            break
        frame = frame.f_back
    return tuple(captured)


# `stop` value meaning "no task: end at the loop's own frames only".
LOOP_FRAMES = object()


def task_root_frame(loop=None):
    """The outermost frame of the task `loop` is running (the current thread's loop by default),
    or LOOP_FRAMES when it runs a plain callback."""
    try:
        task = asyncio.current_task(loop)
    except RuntimeError:  # no running loop in this thread
        return None
    if task is None:
        return LOOP_FRAMES
    coro = task.get_coro()
    return getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None) or LOOP_FRAMES


def caller_stack(skip: int = 0, limit: int = 64, in_task: bool = False
                 ) -> Tuple[FrameInfo, ...]:
    """The caller's stack, `skip` frames above the caller of this function; `in_task`: only
    the frames of the running task (see `capture`)."""
    return capture(sys._getframe(skip + 2), limit, task_root_frame() if in_task else None)


def first_user_frame(stack: Sequence[FrameInfo]) -> Optional[FrameInfo]:
    """The innermost frame that is the user's code, not a library on the way to the call."""
    return next((info for info in stack if not info.infra), None)


def site_of(stack: Sequence[FrameInfo]) -> Optional[Site]:
    """Where to report a call made with `stack`: the user's frame; in a task that is library
    code all the way down, its outermost frame (which names the coroutine)."""
    user = first_user_frame(stack)
    if user is not None:
        return user.site
    return stack[-1].site if stack else None


def is_installed_library(filename: str) -> bool:
    """In site-packages / dist-packages (where installed libraries live)."""
    return "site-packages" in filename or "dist-packages" in filename


def first_app_frame(stack: Sequence[FrameInfo]) -> Optional[FrameInfo]:
    """The innermost frame outside the standard library, site-packages and the known
    infrastructure: the application's own line (the watchdog's notion of "user")."""
    return next((info for info in stack
                 if not info.infra and not is_installed_library(info.filename)), None)


def offload_helper(stack: Sequence[FrameInfo]) -> Optional[str]:
    """The thread-offload helper between the innermost frame and the user's frame, if any."""
    for info in stack:
        if not info.infra:
            return None
        for module, helper in OFFLOAD_HELPERS.items():
            if info.module == module or info.module.startswith(module + "."):
                return helper
    return None


def parse_allow_rule(rule: str) -> Tuple[str, Optional[str]]:
    """`"pkg.mod"` allows a module (and its submodules); `"pkg.mod:func"` one function in it.

    The function may be a plain or qualified name (`Class.method`).
    """
    module, _, function = rule.partition(":")
    if not module:
        raise ValueError(f"allow rule {rule!r} needs a module: 'pkg.mod' or 'pkg.mod:function'")
    return module, function or None


def stack_is_allowed(stacks: Iterable[Sequence[FrameInfo]], rules) -> bool:
    """True when any frame of any stack matches an allow rule (as blockbuster's can_block_in)."""
    if not rules:
        return False
    for stack in stacks:
        for info in stack:
            for module, function in rules:
                if info.module != module and not info.module.startswith(module + "."):
                    continue
                if function is None or function == info.function \
                        or info.function.endswith("." + function):
                    return True
    return False

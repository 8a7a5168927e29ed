"""Startup hook for processes run by ``unfake-async verify`` (this directory is put first on
their PYTHONPATH): run any sitecustomize this one shadows, then turn the shim on from the
environment. Python ignores it under ``-I``, ``-E`` or ``-S``.
"""
import importlib.machinery
import importlib.util
import os
import sys


def _run_shadowed_sitecustomize(here):
    others = [entry for entry in sys.path
              if os.path.abspath(entry or os.curdir) != here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", others)
    if spec is None or spec.loader is None:
        return
    module = importlib.util.module_from_spec(spec)
    sys.modules["_unfake_async_shadowed_sitecustomize"] = module
    spec.loader.exec_module(module)


def _activate():
    home = os.environ.get("UNFAKE_ASYNC_SHIM_HOME")
    added = bool(home) and importlib.util.find_spec("unfake_async") is None
    if added:
        sys.path.append(home)  # last, and only for this import: never shadow the user's modules
    try:
        import unfake_async.shim.auto  # noqa: F401
    except ImportError as error:
        print(f"unfake-async: shim not active in {sys.executable}: {error}", file=sys.stderr)
    finally:
        if added and home in sys.path:
            sys.path.remove(home)


_here = os.path.dirname(os.path.abspath(__file__))
try:
    _run_shadowed_sitecustomize(_here)
finally:
    _activate()

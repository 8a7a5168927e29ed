"""The engine: find fake-async shapes in source text and rewrite them to real async I/O.

`analyze_source` is the one entry point for a single text; `unfake_async.codemod.engine.runner` drives
it over files and trees.
"""
from unfake_async.codemod.engine.model import Finding, FixLevel, FixSafety, SourceResult

__all__ = ["Finding", "FixLevel", "FixSafety", "SourceResult", "analyze_source"]


def analyze_source(source, *, path="<stdin>", settings=None, fix_level=FixLevel.NONE, project=None):
    """Find fake-async code in `source`; with a fix level, also return the rewritten text.
    `project`: the file's facts from the run's project index (`engine.runner.project_index()`:
    other modules' helpers and re-exports), or None."""
    # Imported here so that importing the package does not import libcst.
    from unfake_async.codemod.engine.transform import analyze

    return analyze(source, path=path, settings=settings, fix_level=fix_level, project=project)


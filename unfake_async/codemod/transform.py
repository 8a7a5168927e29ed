"""Placeholder until the transformer lands: finds nothing."""
from unfake_async.codemod.model import SourceResult


def analyze(source, *, path, settings, fix_level):
    return SourceResult()

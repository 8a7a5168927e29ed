"""Parametrize over a whole corpus, with only a fixed sample in the default run.

Some equivalence tests (a fix made with a shortcut equals the fix made without it) cost seconds
per fixture, and over every fixture they were a quarter of the suite. The default run checks
every `every`-th name (sorted, so the sample is the same on every machine); `pytest -m slow`
checks the rest.
"""
from __future__ import annotations

from typing import Iterable, List

import pytest


def sampled(names: Iterable[str], every: int = 4) -> List[object]:
    return [name if index % every == 0 else pytest.param(name, marks=pytest.mark.slow)
            for index, name in enumerate(sorted(names))]

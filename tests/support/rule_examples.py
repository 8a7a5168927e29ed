"""Every rule's catalogue snippets (its examples' `before` and its valid code), named
`UFA00N-example-K` / `UFA00N-valid-K`: a corpus for tests that compare two ways of analysing."""
from __future__ import annotations

import textwrap
from typing import Iterator, Tuple

from unfake_async.rules import ALL_RULES


def rule_snippets() -> Iterator[Tuple[str, str]]:
    for rule in ALL_RULES:
        for number, example in enumerate(rule.examples):
            yield f"{rule.id}-example-{number}", textwrap.dedent(example.before)
        for number, valid in enumerate(rule.valid):
            yield f"{rule.id}-valid-{number}", textwrap.dedent(valid)

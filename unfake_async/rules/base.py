"""What a rule is: its id, its docs in ruff's layout, and examples that double as tests.

A rule module defines one `RULE = Rule(...)`. Detection for the executor/offload/direct shapes
lives next to the docs in the same module (see `matches`); the rewrite those shapes share lives in
`unfake_async.codemod`.
"""
from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from typing import Optional, Tuple

from unfake_async.codemod.engine.model import FixSafety


@dataclass(frozen=True)
class Example:
    """A snippet the rule flags and how the fix leaves it.

    `after` is the end of the fixed module (the rewritten code, without the generated client
    helper that precedes it); None when there is no fix.
    """

    before: str
    after: Optional[str] = None
    # Minimum --fix level needed to reach `after` (unsafe fixes need --unsafe-fixes).
    fix: FixSafety = FixSafety.UNSAFE

    def __post_init__(self) -> None:
        object.__setattr__(self, "before", textwrap.dedent(self.before).lstrip("\n"))
        if self.after is not None:
            object.__setattr__(self, "after", textwrap.dedent(self.after).lstrip("\n"))


@dataclass(frozen=True)
class Rule:
    id: str
    name: str
    summary: str
    # The best fix this rule can offer; individual findings may have a weaker one.
    fix: FixSafety
    what_it_does: str
    why_bad: str
    fix_safety: str
    examples: Tuple[Example, ...] = ()
    # Code that must not be flagged.
    valid: Tuple[str, ...] = field(default_factory=tuple)

    def docs(self) -> str:
        """The rule's page, in Markdown, in the layout of ruff's rule pages."""
        parts = [
            f"# {self.id} {self.name}",
            "",
            f"_{self.summary}_  ·  fix: **{self.fix.value}**",
            "",
            "## What it does",
            textwrap.dedent(self.what_it_does).strip(),
            "",
            "## Why is this bad?",
            textwrap.dedent(self.why_bad).strip(),
        ]
        for number, example in enumerate(self.examples, 1):
            title = "## Example" if len(self.examples) == 1 else f"## Example {number}"
            parts += ["", title, "```python", example.before.rstrip(), "```"]
            if example.after is not None:
                parts += ["", "Use instead:", "```python", example.after.rstrip(), "```"]
        parts += ["", "## Fix safety", textwrap.dedent(self.fix_safety).strip()]
        return "\n".join(parts) + "\n"

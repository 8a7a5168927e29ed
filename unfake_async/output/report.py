"""Where each part of a run's output goes, following ruff.

- The product goes to stdout (or `-o FILE`): the findings in text mode, the document in a machine
  format, the statistics with `--statistics`, the diff with `--diff`.
- The summary follows the findings in text check/fix mode; with a diff or a machine document it
  goes to stderr instead, so stdout stays a clean diff or document.
- Skips and per-file errors are one line each on stderr (`path: error: message`); `--quiet`
  drops the summary, hints and skips but never an error.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import IO, List, Optional, Tuple

from rich.console import Console
from rich.markup import escape

from unfake_async.codemod.engine.runner import Mode
from unfake_async.output import render_document
from unfake_async.output.diff import render_diff
from unfake_async.output.statistics import render_statistics
from unfake_async.output.summary import render_summary
from unfake_async.output.text import render_findings, render_fixed


@dataclass(frozen=True)
class ReportOptions:
    output_format: str = "text"
    statistics: bool = False
    show_fixes: bool = False
    unsafe_fixes: bool = False
    quiet: bool = False
    root: str = "."
    # Once-per-run lines about the migration as a whole (a dependency the project lacks): the
    # head of a diff, and the summary.
    notes: Tuple[str, ...] = ()


class Sink:
    """A text destination that prints rich markup on a terminal and plain text elsewhere."""

    def __init__(self, stream: IO[str], *, allow_color: bool = True) -> None:
        self.stream = stream
        self.console = Console(file=stream, highlight=False, soft_wrap=True)
        self.color = allow_color and self.console.is_terminal and not self.console.no_color

    def lines(self, lines: List[str], *, markup: bool = False) -> None:
        """Print lines; `markup` says they already carry rich markup (rendered with color)."""
        for line in lines:
            if self.color:
                self.console.print(line if markup else escape(line))
            else:
                self.stream.write(line + "\n")

    def text(self, text: str) -> None:
        self.stream.write(text)


def emit(result, options: ReportOptions, *, out: Sink, err: Sink,
         diagnostics_to_err: bool = False) -> None:
    """Print a finished run. `diagnostics_to_err` is for `--fix` on stdin, where stdout carries
    the fixed source and the findings must go elsewhere."""
    product = err if diagnostics_to_err else out
    for path, message in result.errors():
        err.lines([f"{path}: error: {message}"])
    if not options.quiet:
        for path, reason in result.skipped():
            err.lines([f"{path}: skipped: {reason}"])

    summary_sink: Optional[Sink] = product
    if result.mode == Mode.DIFF:
        diff = render_diff(result, color=out.color)
        if diff:  # before the first `---`, where patch and git apply skip text
            out.lines([f"# {note}" for note in options.notes])
        out.lines(diff, markup=True)
        summary_sink = err
    elif options.statistics:
        product.text(render_statistics(result, fmt="json" if options.output_format == "json"
                                       else "text", unsafe_fixes=options.unsafe_fixes))
        summary_sink = err if options.output_format != "text" else product
    elif options.output_format != "text":
        product.text(render_document(options.output_format, result, root=options.root))
        summary_sink = err
    else:
        product.lines(render_findings(result, color=product.color, show_fixes=options.show_fixes,
                                      unsafe_fixes=options.unsafe_fixes), markup=True)
        if options.show_fixes and result.mode == Mode.FIX:
            product.lines(render_fixed(result))

    if not options.quiet:
        summary_sink.lines(render_summary(result, unsafe_fixes=options.unsafe_fixes))
    if options.notes and (not options.quiet or result.mode == Mode.FIX):
        summary_sink.lines(list(options.notes))


def stream_sink(path: Optional[str], default: IO[str]) -> Sink:
    """Stdout (coloured when a terminal) or an output file (never coloured)."""
    if path is None or path == "-":
        return Sink(default)
    return Sink(open(path, "w", encoding="utf-8", newline="\n"), allow_color=False)


def stderr_sink() -> Sink:
    return Sink(sys.stderr)

"""The last step of a rewrite: make the new code fit the project's checks.

Runs once per rewritten file, after every pass, on the text all passes produced: the imports
(dead ones removed, repeats dropped, isort's order kept: `import_block`) and the lines the
rewrite made too long (`wrap`). Neither knows anything about HTTP.
"""
from __future__ import annotations

from typing import Optional

import libcst as cst

from unfake_async.codemod.engine.layout.imports import tidy_imports
from unfake_async.codemod.engine.layout.wrap import join_rewritten_statements, wrap_long_lines


def finish(original: str, code: str, *, line_length: int, path: Optional[str] = None) -> str:
    """`code`, the rewrite of `original`, with its imports and long lines put in order."""
    try:
        original_module = cst.parse_module(original)
        module = cst.parse_module(code)
    except cst.ParserSyntaxError:
        return code
    module = tidy_imports(original, original_module, module, path)
    module = join_rewritten_statements(module, original)
    module = wrap_long_lines(module, original, line_length)
    return module.code

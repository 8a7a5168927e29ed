"""Small expressions the migration writes at every site, built as LibCST nodes instead of parsed.

`cst.parse_expression(f"{target}.Timeout({value}, pool=None)")` costs a parse per site (2,000
parses, a quarter of a second, for a generated SDK client of 2,000 calls), where the nodes are
known. Each builder here writes exactly the text that parse would have been given (same
whitespace, same commas), so the output does not change; where that cannot be promised (a dotted
or unusual name, a value written over several lines) it parses as before.
"""
from __future__ import annotations

import keyword as _keyword
from typing import Optional

import libcst as cst

from unfake_async.codemod.analysis.names import code as _code

_NO_SPACE = cst.SimpleWhitespace("")


def dotted_name(text: str) -> Optional[cst.BaseExpression]:
    """`a.b.c` as `Attribute(Attribute(Name(a), b), c)`; None unless every part is an identifier
    (and no keyword), so a name we would have to tokenise goes through the parser instead."""
    parts = text.split(".")
    if not all(part.isidentifier() and not _is_keyword(part) for part in parts):
        return None
    node: cst.BaseExpression = cst.Name(parts[0])
    for part in parts[1:]:
        node = cst.Attribute(value=node, attr=cst.Name(part))
    return node


def call(function: str, *arguments: cst.Arg) -> Optional[cst.Call]:
    """`function(arg, arg, ...)` with `, ` between arguments, as written by hand; None where
    `function` is not a dotted name (`dotted_name`)."""
    func = dotted_name(function)
    if func is None:
        return None
    args = [arg.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
            for arg in arguments[:-1]] + list(arguments[-1:])
    return cst.Call(func=func, args=args)


def positional(value: cst.BaseExpression) -> cst.Arg:
    return cst.Arg(value=value)


def keyword(name: str, value: cst.BaseExpression) -> cst.Arg:
    """`name=value`, no spaces around `=` (PEP 8 for keyword arguments)."""
    return cst.Arg(value=value, keyword=cst.Name(name),
                   equal=cst.AssignEqual(whitespace_before=_NO_SPACE, whitespace_after=_NO_SPACE))


def reusable(value: cst.BaseExpression) -> bool:
    """Whether `value` can move into a built call as it is. A value written over several lines
    carries `ParenthesizedWhitespace` whose indentation is relative to its old block; parsing its
    text, as before, may read that indentation differently, so such a value is parsed."""
    text = _code(value)
    return "\n" not in text and "\r" not in text


def _is_keyword(word: str) -> bool:
    return _keyword.iskeyword(word) or word in ("None", "True", "False")

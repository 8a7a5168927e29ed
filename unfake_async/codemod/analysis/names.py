"""What a name refers to, resolved with LibCST's QualifiedNameProvider and ScopeProvider.

Everything that decides "is this requests?" goes through here, so that `import requests as rq`,
`from requests import get`, `requests.api.get` and shadowing are handled in one place and a
`dict.get` on a variable that happens to be called `session` is never mistaken for HTTP.
"""
from __future__ import annotations

import keyword as _keyword
from dataclasses import dataclass
from typing import Callable, Collection, Optional, Set

import libcst as cst
from libcst.metadata import QualifiedName, QualifiedNameSource

from unfake_async.codemod.engine.prechecks.coroutine_reach import Reach

HTTP_METHODS = ("get", "post", "put", "patch", "delete", "head", "options", "request")
_REQUESTS_MODULES = ("requests", "requests.api")
SESSION_CLASSES = frozenset(
    {"requests.Session", "requests.session", "requests.sessions.Session", "requests.sessions.session"}
)
PARTIAL = frozenset({"functools.partial"})
# Every requests finding resolves a name to one of these (a function of the API, or a Session
# class: a session is known by its constructor or annotation): a module that refers to none of
# them has nothing for the requests passes (`required_names`, engine/prechecks/name_references.py).
REQUESTS_FUNCTIONS = frozenset(f"{module}.{method}" for module in _REQUESTS_MODULES for method in HTTP_METHODS)
REQUESTS_REFERENCES = REQUESTS_FUNCTIONS | SESSION_CLASSES
# ... and sits in a coroutine, or in a plain `def` a coroutine or a decorator runs: what sends is
# a function of the API or a session's HTTP method (`coroutine_reach`, engine/prechecks/coroutine_reach.py).
REQUESTS_REACH = Reach(senders=REQUESTS_FUNCTIONS, session_factories=SESSION_CLASSES,
                       session_methods=frozenset(HTTP_METHODS))
EXECUTOR_CLASSES = frozenset(
    {"concurrent.futures.ThreadPoolExecutor", "concurrent.futures.thread.ThreadPoolExecutor"}
)

# Returns the qualified names of an expression (empty when unknown).
NameLookup = Callable[[cst.CSTNode], Collection[QualifiedName]]


def code(node: cst.CSTNode) -> str:
    """The source text of a node (what `cst.Module([]).code_for_node` gives)."""
    return cst.Module([]).code_for_node(node)


def resolved(value) -> Collection[QualifiedName]:
    """A metadata value from `MetadataWrapper.resolve`, which may still be lazy."""
    return value() if callable(value) else (value or ())


def imported_names(lookup: NameLookup, node: cst.CSTNode) -> Set[str]:
    """Qualified names of `node` that come from an import (not local definitions or builtins)."""
    return {q.name for q in lookup(node) if q.source is QualifiedNameSource.IMPORT}


def requests_function(lookup: NameLookup, node: cst.CSTNode) -> Optional[str]:
    """`get` for `requests.get`, `rq.get`, `get` (from requests import get), `requests.api.get`."""
    if not isinstance(node, (cst.Name, cst.Attribute)):
        return None
    for name in imported_names(lookup, node):
        module, _, method = name.rpartition(".")
        if module in _REQUESTS_MODULES and method in HTTP_METHODS:
            return method
    return None


def is_session_constructor(lookup: NameLookup, node: cst.BaseExpression) -> bool:
    """`requests.Session()` / `requests.session()` under any import spelling."""
    return (
        isinstance(node, cst.Call)
        and not node.args
        and bool(imported_names(lookup, node.func) & SESSION_CLASSES)
    )


def is_session_annotation(lookup: NameLookup, annotation: Optional[cst.Annotation]) -> bool:
    """`requests.Session`, `Optional[requests.Session]`, `"requests.Session"` stays unknown."""
    if annotation is None:
        return False
    expr = annotation.annotation
    if isinstance(expr, cst.Subscript) and len(expr.slice) == 1:
        element = expr.slice[0].slice
        if isinstance(element, cst.Index) and bool(imported_names(lookup, expr.value) & {"typing.Optional"}):
            expr = element.value
    return bool(imported_names(lookup, expr) & SESSION_CLASSES)


def is_executor_constructor(lookup: NameLookup, node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Call) and bool(imported_names(lookup, node.func) & EXECUTOR_CLASSES)


def is_partial(lookup: NameLookup, node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Call) and bool(imported_names(lookup, node.func) & PARTIAL)


@dataclass(frozen=True)
class Receiver:
    """Who sends the request: the `requests` module (a fresh Session per call) or a Session."""

    kind: str  # "module" | "session-attribute" | "session-with" | "session-local"
    # The session expression as written (`self.session`, `s`); None for the module.
    expression: Optional[cst.BaseExpression] = None
    # For a session attribute: the attribute name on self.
    attribute: Optional[str] = None

    @property
    def is_module(self) -> bool:
        return self.kind == "module"


MODULE = Receiver("module")


UNRESOLVED_STAR = ("`requests` comes from a star import this tool could not follow; "
                   "it is taken to be the requests library")


def project_lookup(lookup: NameLookup, project) -> NameLookup:
    """`lookup` with the names the tree explains (`analysis.project.ProjectFacts`): relative
    imports made absolute, a re-exported requests module spelled `requests`, and a bare
    `requests` that only a star import can bind taken as the requests module."""
    if not project:
        return lookup

    def translated(node: cst.CSTNode) -> Collection[QualifiedName]:
        found = resolved(lookup(node))
        result = {
            QualifiedName(project.canonical(q.name), q.source) if q.source is QualifiedNameSource.IMPORT else q
            for q in found
        }
        if not found and project.star_requests and dotted_base(node) == "requests":
            result.add(QualifiedName(code(node), QualifiedNameSource.IMPORT))
        return result

    return translated


def dotted_base(node: cst.CSTNode) -> Optional[str]:
    """`a` for `a`, `a.b`, `a.b.c`; None for anything else."""
    while isinstance(node, cst.Attribute):
        node = node.value
    return node.value if isinstance(node, cst.Name) else None


# -- Small expressions the migration writes at every site, built as nodes --------------------
# `cst.parse_expression(f"{target}.Timeout({value}, pool=None)")` cost a parse per site (2,000
# parses, a quarter of a second, for a generated SDK client of 2,000 calls) where the nodes are
# known. Each builder writes exactly the text that parse was given (same whitespace, same
# commas), so the output does not change; where that cannot be promised (a name that is not
# dotted identifiers, a value written over several lines) the caller parses as before.

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


def build_call(function: str, *arguments: cst.Arg) -> Optional[cst.Call]:
    """`function(arg, arg, ...)` with `, ` between arguments, as written by hand; None where
    `function` is not a dotted name (`dotted_name`)."""
    func = dotted_name(function)
    if func is None:
        return None
    args = [arg.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
            for arg in arguments[:-1]] + list(arguments[-1:])
    return cst.Call(func=func, args=args)


def positional_arg(value: cst.BaseExpression) -> cst.Arg:
    return cst.Arg(value=value)


def keyword_arg(name: str, value: cst.BaseExpression) -> cst.Arg:
    """`name=value`, no spaces around `=` (PEP 8 for keyword arguments)."""
    return cst.Arg(value=value, keyword=cst.Name(name),
                   equal=cst.AssignEqual(whitespace_before=_NO_SPACE, whitespace_after=_NO_SPACE))


def reusable(value: cst.BaseExpression) -> bool:
    """Whether `value` can move into a built call as it is. A value written over several lines
    carries `ParenthesizedWhitespace` whose indentation is relative to its old block; parsing its
    text, as before, may read that indentation differently, so such a value is parsed."""
    text = code(value)
    return "\n" not in text and "\r" not in text


def _is_keyword(word: str) -> bool:
    return _keyword.iskeyword(word) or word in ("None", "True", "False")

"""What one module offers the others, read with Python's `ast` (cheap: no LibCST, no metadata).

For each module of the tree that another checked module imports (and for the checked module
itself) this records, under names relative to the module:

- which top-level names are the `requests` module (`import requests`, `import requests as rq`)
  and which are imported from elsewhere (to follow `from . import requests` re-exports);
- its offload helpers: functions that hand their first argument, with the rest of their
  arguments unchanged, to `run_in_executor` / `to_thread` / `run_sync` / `sync_to_async` /
  `partial(...)`, or call it directly; and decorators whose wrapper does that;
- its plain-`def` requests helpers (functions and methods of top-level classes whose own body
  sends a requests call, directly or through a `requests.Session` kept on `self`).

Only names are compared (`to_thread`, `run_in_executor`): this is a summary of someone else's
module for another module's checks, and a look-alike costs at worst a finding whose fix is
marked unsafe by the check itself.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Dict, FrozenSet, List, Optional, Set, Tuple

HTTP_METHODS = frozenset({"get", "post", "put", "patch", "delete", "head", "options", "request"})
# Callables that run their first argument in a thread with the rest of the arguments.
_CALL_OFFLOADS = frozenset({"to_thread", "run_sync", "run_in_threadpool", "async_add_executor_job"})
# Callables that wrap their argument: `sync_to_async(func)(*args, **kwargs)`.
_WRAP_OFFLOADS = frozenset({"sync_to_async", "asyncify"})
# Words a module defining a forwarding helper must contain.
OFFLOAD_WORDS = tuple(sorted(_CALL_OFFLOADS | _WRAP_OFFLOADS | {"run_in_executor"}))
_SESSION_FACTORIES = frozenset({"Session", "session"})


@dataclass
class ModuleSummary:
    """A module's imports, read at once, and its definitions, read on demand: another module
    usually imports two or three names of it, and only those are walked."""

    # Top-level names bound to the requests module.
    requests_names: Set[str] = field(default_factory=set)
    # Top-level names imported from elsewhere: name -> qualified name as written (may be relative).
    imported: Dict[str, str] = field(default_factory=dict)
    # `from X import *` modules, as written.
    star_imports: List[str] = field(default_factory=list)
    # `__all__` when it is a literal list/tuple of strings.
    all_names: Optional[FrozenSet[str]] = None
    offloads: bool = True
    _definitions: Dict[str, ast.stmt] = field(default_factory=dict, repr=False)
    _lines: List[str] = field(default_factory=list, repr=False)
    _requests_functions: Dict[str, str] = field(default_factory=dict, repr=False)
    # name -> (offload helpers, requests helpers) of that top-level def or class.
    _read: Dict[str, Tuple[Dict[str, str], Dict[str, str]]] = field(default_factory=dict, repr=False)

    def exports(self, name: str) -> bool:
        """Whether `from this import *` binds `name`."""
        if self.all_names is not None:
            return name in self.all_names
        return not name.startswith("_")

    def helpers_of(self, name: str) -> Tuple[Dict[str, str], Dict[str, str]]:
        """Offload helpers ("run_sync" / "Client._execute" -> "call" | "call-args" | "direct" |
        "decorator") and requests helpers ("fetch_json" / "Api.web_login" -> what it sends,
        "requests.post" / "self.session.get") defined by the top-level name `name`."""
        if name not in self._read:
            offload: Dict[str, str] = {}
            helpers: Dict[str, str] = {}
            statement = self._definitions.get(name)
            calls = _RequestsCalls(self.requests_names, self._requests_functions)
            # The text of each definition decides whether its nodes are walked at all (most
            # definitions a module imports are neither helpers nor forwarders).
            if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self._read_function(statement, name, False, offload, helpers, calls, frozenset())
            elif isinstance(statement, ast.ClassDef):
                text = self._text(statement)
                sessions = _session_attributes(statement, calls) if "ession(" in text else frozenset()
                for member in statement.body:
                    if isinstance(member, (ast.FunctionDef, ast.AsyncFunctionDef)):
                        self._read_function(member, f"{name}.{member.name}", True, offload, helpers, calls, sessions)
            self._read[name] = (offload, helpers)
        return self._read[name]

    def _text(self, statement: ast.stmt) -> str:
        return "\n".join(self._lines[statement.lineno - 1:getattr(statement, "end_lineno", None) or len(self._lines)])

    def _read_function(self, function, name: str, is_method: bool, offload: Dict[str, str],
                       helpers: Dict[str, str], calls: "_RequestsCalls", sessions: FrozenSet[str]) -> None:
        text = self._text(function)
        signature = _signature(function, is_method)
        if signature is not None and (
                any(word in text for word in OFFLOAD_WORDS) or f"{signature.func}(" in text):
            kind = offload_kind(function, is_method)
            if kind is not None:
                offload[name] = kind
                return
        words = set(self.requests_names) | set(self._requests_functions) | set(sessions)
        if words and any(word in text for word in words):
            _read_helper(function, name, helpers, calls, sessions)

    def names(self) -> List[str]:
        return list(self._definitions)

    @property
    def offload_helpers(self) -> Dict[str, str]:
        return {k: v for name in self._definitions for k, v in self.helpers_of(name)[0].items()}

    @property
    def requests_helpers(self) -> Dict[str, str]:
        return {k: v for name in self._definitions for k, v in self.helpers_of(name)[1].items()}


def summarize(text: str, offloads: bool = True) -> Optional[ModuleSummary]:
    """The summary of one module's text, or None when it does not parse. `offloads=False`: the
    text has no offload word, so no function is asked whether it forwards its argument."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    summary = ModuleSummary(offloads=offloads, _lines=text.splitlines())
    for statement in tree.body:
        _read_import(statement, summary, summary._requests_functions)
        if isinstance(statement, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in statement.targets
        ):
            summary.all_names = _literal_names(statement.value)
        elif isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            summary._definitions[statement.name] = statement
    return summary


def _read_import(statement: ast.stmt, summary: ModuleSummary, requests_functions: Dict[str, str]) -> None:
    if isinstance(statement, ast.Import):
        for alias in statement.names:
            if alias.name == "requests":
                summary.requests_names.add(alias.asname or "requests")
            elif alias.asname:
                summary.imported[alias.asname] = alias.name
    elif isinstance(statement, ast.ImportFrom):
        module = "." * statement.level + (statement.module or "")
        for alias in statement.names:
            if alias.name == "*":
                summary.star_imports.append(module)
            elif module in ("requests", "requests.api") and alias.name in HTTP_METHODS:
                requests_functions[alias.asname or alias.name] = alias.name
            else:
                joined = module + alias.name if module.endswith(".") else f"{module}.{alias.name}"
                summary.imported[alias.asname or alias.name] = joined


def _literal_names(value: ast.expr) -> Optional[FrozenSet[str]]:
    if isinstance(value, (ast.List, ast.Tuple)) and all(
        isinstance(e, ast.Constant) and isinstance(e.value, str) for e in value.elts
    ):
        return frozenset(e.value for e in value.elts)  # type: ignore[attr-defined]
    return None


class _RequestsCalls:
    """Which calls send a requests HTTP request, by name."""

    def __init__(self, module_names: Set[str], functions: Dict[str, str]) -> None:
        self.module_names = module_names
        self.functions = functions

    def what(self, call: ast.Call, sessions: FrozenSet[str]) -> Optional[str]:
        func = call.func
        if isinstance(func, ast.Name) and func.id in self.functions:
            return f"requests.{self.functions[func.id]}"
        if not (isinstance(func, ast.Attribute) and func.attr in HTTP_METHODS):
            return None
        owner = func.value
        if isinstance(owner, ast.Name) and owner.id in self.module_names:
            return f"requests.{func.attr}"
        if (isinstance(owner, ast.Attribute) and isinstance(owner.value, ast.Name)
                and owner.value.id == "self" and owner.attr in sessions):
            return f"self.{owner.attr}.{func.attr}"
        return None

    def is_session_factory(self, value: ast.expr) -> bool:
        return (isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute)
                and value.func.attr in _SESSION_FACTORIES and isinstance(value.func.value, ast.Name)
                and value.func.value.id in self.module_names)


def _session_attributes(class_def: ast.ClassDef, calls: _RequestsCalls) -> FrozenSet[str]:
    """`self.<name> = requests.Session()` anywhere in the class."""
    found = set()
    for node in ast.walk(class_def):
        if isinstance(node, ast.Assign) and calls.is_session_factory(node.value):
            for target in node.targets:
                if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id == "self":
                    found.add(target.attr)
    return frozenset(found)


def _own_nodes(function: ast.AST):
    """The nodes of a function's body, without those of nested functions, lambdas and classes."""
    pending = list(ast.iter_child_nodes(function))
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            continue
        yield node
        pending.extend(ast.iter_child_nodes(node))


def _read_helper(function, name: str, helpers: Dict[str, str], calls: _RequestsCalls,
                 sessions: FrozenSet[str]) -> None:
    if isinstance(function, ast.AsyncFunctionDef) or function.decorator_list:
        return
    own = list(_own_nodes(function))
    if any(isinstance(node, (ast.Yield, ast.YieldFrom)) for node in own):
        return
    for node in own:
        if isinstance(node, ast.Call):
            what = calls.what(node, sessions)
            if what is not None:
                helpers[name] = what
                return


# -- offload helpers ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Signature:
    func: str  # the callable parameter
    rest: Tuple[str, ...]  # positional parameters after it
    star: Optional[str]
    double_star: Optional[str]


def _signature(function, is_method: bool) -> Optional[_Signature]:
    args = function.args
    positional = [a.arg for a in list(getattr(args, "posonlyargs", [])) + list(args.args)]
    if is_method:
        if not positional:
            return None
        positional = positional[1:]
    if not positional or args.defaults:
        return None
    return _Signature(positional[0], tuple(positional[1:]), args.vararg.arg if args.vararg else None,
                      args.kwarg.arg if args.kwarg else None)


def offload_kind(function, is_method: bool = False) -> Optional[str]:
    """"call"/"call-args" when `function` runs its first argument in a thread with the rest
    (keywords forwarded too, or not); "direct" when it calls it on the spot; "decorator" when it
    returns a wrapper that does the thread hand-off; else None."""
    signature = _signature(function, is_method)
    if signature is None:
        return None
    for node in _own_nodes(function):
        if isinstance(node, ast.Call):
            kind = _forwarding(node, signature)
            if kind is not None:
                return kind
    if not is_method and not signature.rest and signature.star is None:
        for inner in ast.walk(function):
            if inner is function or not isinstance(inner, ast.AsyncFunctionDef):
                continue
            args = inner.args
            wrapped = _Signature(signature.func, tuple(a.arg for a in args.args),
                                 args.vararg.arg if args.vararg else None, args.kwarg.arg if args.kwarg else None)
            if any(isinstance(n, ast.Call) and _forwarding(n, wrapped) in ("call", "call-args")
                   for n in _own_nodes(inner)):
                return "decorator"
    return None


def _callee_name(func: ast.expr) -> Optional[str]:
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Name):
        return func.id
    return None


def _forwarding(call: ast.Call, signature: _Signature) -> Optional[str]:
    """The kind of hand-off `call` is, when it passes the callable and the rest on unchanged."""
    name = _callee_name(call.func)
    if isinstance(call.func, ast.Name) and call.func.id == signature.func:
        return "direct" if _forwards_rest(call.args, call.keywords, signature, 0) == "call" else None
    if name == "run_in_executor" and len(call.args) >= 2:
        return _handed(call.args[1], call.args[2:], call.keywords, signature)
    if name in _CALL_OFFLOADS and call.args:
        return _handed(call.args[0], call.args[1:], call.keywords, signature)
    if isinstance(call.func, ast.Call) and _callee_name(call.func.func) in _WRAP_OFFLOADS and call.func.args:
        return _handed(call.func.args[0], call.args, call.keywords, signature)
    return None


def _handed(callable_arg: ast.expr, args, keywords, signature: _Signature) -> Optional[str]:
    if isinstance(callable_arg, ast.Name) and callable_arg.id == signature.func:
        return _forwards_rest(args, keywords, signature, 0)
    if (isinstance(callable_arg, ast.Call) and _callee_name(callable_arg.func) == "partial" and callable_arg.args
            and isinstance(callable_arg.args[0], ast.Name) and callable_arg.args[0].id == signature.func
            and not args and not keywords):
        return _forwards_rest(callable_arg.args[1:], callable_arg.keywords, signature, 0)
    return None


def _forwards_rest(args, keywords, signature: _Signature, _depth: int) -> Optional[str]:
    """"call" when `args`/`keywords` are the rest of the parameters in order with the keywords,
    "call-args" when the keywords stay with the helper, None when anything is changed."""
    expected = [("name", p) for p in signature.rest] + ([("star", signature.star)] if signature.star else [])
    written = []
    for arg in args:
        if isinstance(arg, ast.Name):
            written.append(("name", arg.id))
        elif isinstance(arg, ast.Starred) and isinstance(arg.value, ast.Name):
            written.append(("star", arg.value.id))
        else:
            return None
    if written != expected:
        return None
    if not keywords:
        return "call-args" if signature.double_star else "call"
    if (len(keywords) == 1 and keywords[0].arg is None and isinstance(keywords[0].value, ast.Name)
            and keywords[0].value.id == signature.double_star):
        return "call"
    return None

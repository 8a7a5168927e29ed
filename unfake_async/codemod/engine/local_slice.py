"""Cut a module down to what a function-local rule can see, so a check run parses less.

The loop-hygiene rules (UFA009, UFA010) judge one call: what its name was imported as, and
whether the function running it is an `async def`. LibCST's metadata costs about 1 ms per line of
the *whole* module (Django's `tests/asgi/tests.py`, 659 lines: 0.45 s of scope analysis for one
`asyncio.get_event_loop()`), so when those are the only rules that can fire in a file, a check
run analyses a slice of it instead: the lines that can change what such a rule reports,
verbatim. Columns are the module's, and `Slice.line_numbers` turns a slice line back into the
module's (`PassContext` does that for positions and suppression comments, which it reads from
the full text).

What a function can see, by Python's scoping rules, is its own names, its enclosing functions'
and the module's, never a class body's. So the slice keeps:

- every module-level statement that is not a def or class (imports, assignments, `if`/`try`
  blocks), whole;
- every outermost function that holds a candidate call, whole (closures included);
- the header (decorators, bases, signature) of every class on the way to such a function;
- of every other module-level def or class, the header with `pass` as its body, so the name is
  still bound and anything its header binds (a walrus in a default) still is.

Class-body statements beside the kept functions go: a method cannot see them. A module with a
`global` statement anywhere is not sliced (a dropped function could rebind a module name), nor a
module with a carriage return (Python's and `str.splitlines`' idea of a line differ there), nor
one Python's own parser rejects (the full analysis reports it as before).

Python's `ast` finds the candidates and the statement extents: its C parser reads that 659-line
file in 4 ms, against 45 ms for LibCST's parse alone. Candidate calls are over-approximated: a
call run directly by an `async def` is one when some import anywhere in the module could make
its name one of the rule's qualified names (`t.sleep` with an `import time as t` in any scope). LibCST's qualified names
then decide, on the slice, exactly as on the whole module. The over-approximation only has to
be a superset; tests/test_local_slice.py checks that sliced and whole analyses agree.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Set, Tuple, Union

from unfake_async.codemod.engine.prechecks.name_references import attribute_path

Definition = Union[ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef]
_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)


@dataclass(frozen=True)
class Slice:
    """The kept lines of a module, verbatim, and the line number each had in the module."""

    text: str
    line_numbers: Tuple[int, ...]  # line_numbers[i] is the original number of line i + 1


def function_local_slice(source: str, qualified_names: Iterable[str],
                         tree: Optional[ast.Module] = None, kept_calls: Iterable[str] = ()) -> Optional[Slice]:
    """The slice of `source` for rules about calls to `qualified_names` (`"time.sleep"`), or None
    when the module must be analysed whole. `tree` is `ast.parse(source)` when the caller has it.
    `kept_calls`: attribute or function names (`"run"`) of calls a rule reads module-wide
    (UFA004's `asyncio.run(main())`): every statement holding one, in any scope, is kept too."""
    if "\r" in source:
        return None
    if tree is None:
        try:
            tree = ast.parse(source)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return None
    candidate = _CandidateTest(tree, frozenset(qualified_names))
    if candidate.has_global:
        return None
    slicer = _Slicer(source.split("\n"), _holders(tree, candidate, frozenset(kept_calls)))
    slicer.module(tree.body)
    return slicer.slice()


def holds_coroutine_call(tree: ast.Module, qualified_names: Iterable[str]) -> bool:
    """Whether a call an `async def` runs directly may name one of `qualified_names` (a superset
    of what LibCST resolves, as for the slice). A pass that only reports such calls has nothing
    to report in a module where this is False."""
    return bool(_holders(tree, _CandidateTest(tree, frozenset(qualified_names)), frozenset(), first=True))


class _CandidateTest:
    """Whether a call may name one of the target functions, from the module's imports in every
    scope (a superset of what LibCST's QualifiedNameProvider resolves it to)."""

    def __init__(self, tree: ast.Module, targets: frozenset) -> None:
        self.targets = targets
        self.bound: Dict[str, Set[str]] = {}  # local name -> dotted names an import gives it
        self.has_global = False  # read on the same walk: the slicer's other question of every node
        for node in _statements(tree.body):
            if isinstance(node, ast.Global):
                self.has_global = True
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        self._bind(alias.asname, alias.name)
                    else:  # `import a.b` binds `a`
                        root = alias.name.split(".")[0]
                        self._bind(root, root)
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                # LibCST resolves neither relative imports to these names nor `import *`.
                for alias in node.names:
                    if alias.name != "*":
                        self._bind(alias.asname or alias.name, f"{node.module}.{alias.name}")

    def _bind(self, name: str, dotted: str) -> None:
        self.bound.setdefault(name, set()).add(dotted)

    def __call__(self, call: ast.Call) -> bool:
        base, attributes = attribute_path(call.func)
        if not isinstance(base, ast.Name):
            return False
        rest = "".join("." + attribute for attribute in attributes)
        return any(dotted + rest in self.targets for dotted in self.bound.get(base.id, ()))


class LineKeeper:
    """The lines of a module a slice keeps, verbatim, and the bodies it stubs with `pass`
    (also used by UFA008's trial slice, `passes/sync_helpers/trial_slice.py`)."""

    def __init__(self, lines: Sequence[str]) -> None:
        self.lines = lines
        self.keep = [False] * len(lines)
        self.body_stubs: Set[int] = set()  # line indices whose text becomes `pass` (a stubbed body)

    def keep_whole(self, node: ast.stmt) -> None:
        self._keep(first_line(node), node.end_lineno)

    def keep_header(self, node: Definition) -> bool:
        """Keep the header of a def or class (decorators to the line before its body); False
        when the body starts on the header's line, which keeps the whole statement instead."""
        if not self._body_on_own_lines(node):
            self.keep_whole(node)
            return False
        self._keep(first_line(node), first_line(node.body[0]) - 1)
        return True

    def stub(self, node: Definition) -> None:
        """Keep the header of a def or class, with `pass` for its body."""
        if self.keep_header(node):  # else `def f(): return 1` on one line, kept whole
            self.body_stubs.add(first_line(node.body[0]) - 1)

    def slice(self) -> Slice:
        kept, numbers = [], []
        for index, line in enumerate(self.lines):
            if index in self.body_stubs:
                kept.append(indentation(line) + "pass")
            elif self.keep[index]:
                kept.append(line)
            else:
                continue
            numbers.append(index + 1)
        return Slice("\n".join(kept) + "\n", tuple(numbers))

    def _body_on_own_lines(self, node: Definition) -> bool:
        """The first body statement starts its own line, so the header ends on the line before."""
        first = node.body[0]
        line = self.lines[first.lineno - 1].encode("utf-8")
        return not line[: first.col_offset].strip()

    def _keep(self, first: int, last: Optional[int]) -> None:
        for index in range(first - 1, (last or first)):
            self.keep[index] = True


class _Slicer(LineKeeper):
    def __init__(self, lines: Sequence[str], holders: Set[int]) -> None:
        super().__init__(lines)
        self.holders = holders

    def module(self, body: Sequence[ast.stmt]) -> None:
        for statement in body:
            if not isinstance(statement, _DEFINITIONS):
                self.keep_whole(statement)
            elif self._holds_candidate(statement):
                self._definition(statement)
            else:
                self.stub(statement)

    def _class_body(self, body: Sequence[ast.stmt]) -> None:
        for statement in body:
            if not self._holds_candidate(statement):
                continue  # a method cannot see class-body names
            if isinstance(statement, ast.ClassDef):
                self._definition(statement)
            else:
                self.keep_whole(statement)

    def _definition(self, node: Definition) -> None:
        """A def or class holding a candidate: a function whole, a class by its header and the
        members that hold one."""
        if isinstance(node, _FUNCTIONS):
            self.keep_whole(node)
        elif self.keep_header(node):
            self._class_body(node.body)

    def _holds_candidate(self, node: ast.AST) -> bool:
        return id(node) in self.holders


def _statements(body: List[ast.stmt]) -> Iterator[ast.stmt]:
    """Every statement of `body`, nested ones included, without walking expressions: imports
    and `global` are statements, and a module's expressions are most of its nodes."""
    stack: List[ast.AST] = list(reversed(body))
    while stack:
        node = stack.pop()
        if isinstance(node, ast.stmt):
            yield node
        for field in _BLOCKS:
            block = getattr(node, field, None)
            if type(block) is list:
                stack.extend(reversed(block))


_BLOCKS = ("body", "orelse", "finalbody", "handlers", "cases")  # where statements nest


def _holders(tree: ast.Module, candidate: Callable[[ast.Call], bool], kept_calls: frozenset,
             first: bool = False) -> Set[int]:
    """The ids of the module-level and class-body statements that hold a candidate call run
    directly by an `async def` (not by a nested sync def, lambda or class body; decorators,
    defaults and bases run in the enclosing scope), or a call named in `kept_calls` in any
    scope: the statements the slicer keeps. One walk of the module, each node carrying the
    statements it is inside; with `first`, it stops at the first such call (a module that holds
    one has a holder). Iterative: a deeply nested expression must not exhaust the stack."""
    found: Set[int] = set()
    stack = [(statement, False, (id(statement),)) for statement in tree.body]
    while stack:
        current, running, owners = stack.pop()
        if isinstance(current, ast.Call) and (
                (running and candidate(current)) or (kept_calls and _call_name(current) in kept_calls)):
            found.update(owners)
            if first:
                return found
        if isinstance(current, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            body = current.body if isinstance(current.body, list) else [current.body]
            inner = isinstance(current, ast.AsyncFunctionDef)
            in_body = {id(statement) for statement in body}
            if isinstance(current, ast.ClassDef):  # a class's members are statements the slicer asks about
                stack.extend((child, inner, owners + (id(child),)) for child in body)
            else:
                stack.extend((child, inner, owners) for child in body)
            stack.extend((child, running, owners) for child in ast.iter_child_nodes(current) if id(child) not in in_body)
        else:
            stack.extend((child, running, owners) for child in ast.iter_child_nodes(current))
    return found


def _call_name(call: ast.Call) -> Optional[str]:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None


def first_line(node: ast.stmt) -> int:
    """The statement's first line, its decorators' included (`lineno` is the `def`'s)."""
    decorators = getattr(node, "decorator_list", None) or ()
    return min([node.lineno] + [decorator.lineno for decorator in decorators])


def indentation(line: str) -> str:
    """The line's leading whitespace (a stubbed body's `pass` gets its first line's)."""
    return line[: len(line) - len(line.lstrip(" \t\f"))]

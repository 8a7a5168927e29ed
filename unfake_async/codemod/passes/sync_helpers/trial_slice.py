"""The part of the rewritten module that decides UFA008's trial (`trial.py`), so the core pass
parses and analyses that instead of the whole module.

The trial's verdict on a helper reads the core's findings on the lines of one `async def` of
the rewritten module (`span_definitions`). The core judges a call there from:

- the names its scopes see: the module's, each enclosing function's (a closure), its own (what
  `requests` and a session are bound to, `sessions.SessionTracker`), never a class body's;
- the function itself (arguments, how the response is used, the `try` around the call, a
  `with requests.Session()` block, calls nested in one another);
- when it is a method, its class: the Session attributes and every other call on them
  (`plan_session_attribute`, the core's `_tie_sessions`), `self.hass` (`home_assistant`);
- the text (suppression comments, whether it is a Home Assistant integration): the trial's
  context keeps the whole rewritten text as its source, as `local_slice` does.

So the slice keeps, verbatim, as `engine/local_slice.py` does for loop hygiene:

- each definition the verdict reads, whole, and when it is a method its class whole;
- every statement that is not a def or class, whole, in the module and in each function on the
  way down to such a definition (their bindings; a def inside one of them is kept with it);
- of each class on the way, its header and the members on the way (a method cannot see the
  rest of a class body);
- of every other def or class of the module or of a function on the way, the header with `pass`
  as its body (its name stays bound, and whatever its decorators and defaults bind).

It refuses (None: the trial analyses the whole module) a module with a `global` or `nonlocal`
statement (a function it drops could bind a name the helper sees), one where the definition's
parameters or return annotation call anything (they run in the enclosing scope, and a request
there would be judged as the enclosing function's), and what `local_slice` refuses.
`tests/test_sync_helper_trial.py` checks the verdicts agree with the whole module's.
"""
from __future__ import annotations

import ast
from typing import Dict, List, Optional, Sequence, Set

from unfake_async.codemod.engine.local_slice import LineKeeper, Slice
from unfake_async.codemod.passes.sync_helpers.model import Helper

_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def span_definitions(tree: ast.Module, helpers: Sequence[Helper]) -> List[Optional[ast.AsyncFunctionDef]]:
    """For each helper, the `async def` of the rewritten module whose lines hold its requests
    calls for the verdict, or None when there is not exactly one: a method by its name among
    the top-level classes of its class's name, a function by its name anywhere."""
    found: List[Optional[ast.AsyncFunctionDef]] = []
    for helper in helpers:
        name = helper.definition.name.value
        if helper.class_def is not None:
            class_name = helper.class_def.name.value
            candidates = [s for c in tree.body if isinstance(c, ast.ClassDef) and c.name == class_name
                          for s in c.body if isinstance(s, ast.AsyncFunctionDef) and s.name == name]
        else:
            candidates = [d for d in ast.walk(tree) if isinstance(d, ast.AsyncFunctionDef) and d.name == name]
        found.append(candidates[0] if len(candidates) == 1 else None)
    return found


def trial_slice(source: str, tree: ast.Module, definitions: Sequence[ast.AsyncFunctionDef]) -> Optional[Slice]:
    """The slice of `source` (the rewritten module, `tree` its `ast`) that decides the core's
    findings in `definitions`, or None when the module must be analysed whole."""
    if "\r" in source:
        return None  # Python's and `str.split`'s idea of a line differ
    parents: Dict[int, ast.AST] = {}
    for node in ast.walk(tree):
        if isinstance(node, (ast.Global, ast.Nonlocal)):
            return None
        for child in ast.iter_child_nodes(node):
            parents[id(child)] = node
    whole: Set[int] = set()
    on_path: Set[int] = set()
    for definition in definitions:
        header = [definition.args] + ([definition.returns] if definition.returns is not None else [])
        if any(isinstance(node, ast.Call) for part in header for node in ast.walk(part)):
            return None
        whole.add(id(definition))
        scope = None
        node = parents.get(id(definition))
        while node is not None:
            on_path.add(id(node))
            if scope is None and isinstance(node, _DEFINITIONS):
                scope = node
            node = parents.get(id(node))
        if isinstance(scope, ast.ClassDef):
            whole.add(id(scope))
    slicer = _TrialSlicer(source.split("\n"), whole, on_path)
    slicer.body(tree.body, in_class=False)
    return slicer.slice()


class _TrialSlicer(LineKeeper):
    def __init__(self, lines: Sequence[str], whole: Set[int], on_path: Set[int]) -> None:
        super().__init__(lines)
        self.whole, self.on_path = whole, on_path

    def body(self, statements: Sequence[ast.stmt], in_class: bool) -> None:
        for statement in statements:
            if id(statement) in self.whole:
                self.keep_whole(statement)
            elif isinstance(statement, _DEFINITIONS):
                if id(statement) in self.on_path:
                    if self.keep_header(statement):
                        self.body(statement.body, isinstance(statement, ast.ClassDef))
                elif not in_class:
                    self.stub(statement)
                # else: another member of a class on the way, which a method cannot see
            elif not in_class or id(statement) in self.on_path:
                self.keep_whole(statement)

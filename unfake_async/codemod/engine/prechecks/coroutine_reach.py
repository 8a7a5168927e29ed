"""Whether a coroutine can reach a sending call at all, asked of Python's `ast` before LibCST.

`name_references` keeps LibCST off modules that never name `requests.get` or `requests.Session`;
what it lets through is still mostly silent. On Home Assistant 2024.6.4, 22 of the 29 modules it
let through had no finding and cost 4 s of LibCST work: they import `requests.Session` to hand it
to a vendor library, or call `requests.get` in a plain `def` that only sync code runs. Every
finding of the requests passes needs more than a reference: a call that sends, or a requests
callable handed over, *inside an `async def`* (the detector only looks at calls whose innermost
scope is one), or a sending plain `def` that a coroutine names or that a decorator hands to a
thread (UFA008). A pass states what sends (`Reach`, its `coroutine_reach`); this module answers
"can any coroutine, or any decorated `def`, reach one?" with one walk of the module.

The answer is a superset of what LibCST's passes resolve, so it can only let too much through:
- a name is "sending" when something bound to it mentions a sending reference anywhere (a `def`
  whose body calls `requests.get`, `fetch = partial(requests.get)`, `self.fetch` of any class),
  and a "session" when it is bound from anything that mentions a session class (`self.s =
  requests.Session()`, `with ... as s`, `s: requests.Session`), by name only: no scopes, no
  types, every binding of every scope, repeated until nothing new is learnt;
- `x.get(...)` sends when `x` is a session name, whatever object `x` is at run time;
- an `async def` reaches when anything in it (nested functions and lambdas included) mentions a
  sending reference, a session class, or a sending name; a decorated plain `def` reaches when it
  mentions a sending reference or name (its decorator may hand it to a thread: UFA008);
- what the tree tells the file (`ProjectFacts.reach_seeds`) adds the words that may name the
  requests module here (a re-export, a star import) and other modules' sending helpers.
Where the module does not parse, or nests deeper than the walk allows, the answer is "yes".
tests/test_coroutine_reach.py runs the whole analysis with and without this test over every
fixture (packages too, with their project facts) and asserts the same findings;
scripts/check_reach_filter.py does the same over real trees.
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import Dict, FrozenSet, Iterable, List, Optional, Set, Tuple

from unfake_async.codemod.engine.prechecks.name_references import NameTargets, attribute_path

# Off only to compare the analysis with and without it (tests, scripts/check_reach_filter.py).
ENABLED = True

Chain = Tuple[str, ...]
# The part of a chain that stands for a call: `requests.Session().get` is
# ("requests", "Session", "()", "get").
_CALLED = "()"
_DOTTED_WORD = re.compile(r"[A-Za-z_]\w*(?:[ \t]*\.[ \t]*[A-Za-z_]\w*)*")


@dataclass(frozen=True)
class Reach:
    """What a pass's findings need a coroutine to reach (qualified names, as `required_names`)."""

    senders: FrozenSet[str]  # `requests.get`: referring to one may send
    session_factories: FrozenSet[str]  # `requests.Session`: what it makes sends by its methods
    session_methods: FrozenSet[str]  # `get`, `post`: the methods of a session that send


@dataclass(frozen=True)
class Seeds:
    """What the rest of the tree adds (`ProjectFacts.reach_seeds`)."""

    # Words that may be bound to a module, with the module (`{"requests": "requests"}` for a
    # `from .utils import requests` re-export or a star import).
    modules: Tuple[Tuple[str, str], ...] = ()
    # Names of other modules' sending helpers (`fetch_json`, `web_login`).
    senders: FrozenSet[str] = frozenset()


def may_reach(tree: Optional[ast.Module], reach: Reach, seeds: Optional[Seeds] = None) -> bool:
    """False only when no `async def` (nor decorated `def`) of `tree` can reach what `reach`
    sends; `tree` is None where the text does not parse."""
    if tree is None:
        return True
    seeds = seeds or Seeds()
    try:
        module = _Module(tree, reach, {word for word, _ in seeds.modules})
    except RecursionError:
        return True
    return module.reaches(seeds)


class _Unit:
    """A binding: the names it binds and the chains its value mentions. What the names become
    follows the kind, as LibCST's analyses read bindings: a `def` is a sending helper when its
    body sends (`_Finder.helper_of`, `remote_helper`); a value binds a session when it makes one
    (`SessionTracker` takes nothing else: not `s2 = s`, not a function returning a session); an
    import renames a sending helper or the module."""

    __slots__ = ("kind", "targets", "chains")

    def __init__(self, kind: str, targets: List[str], chains: Set[Chain]) -> None:
        self.kind, self.targets, self.chains = kind, targets, chains


class _Module:
    """One walk: the imports, each binding (its target names, the chains its value mentions),
    and the chains each `async def` and each decorated `def` mentions."""

    def __init__(self, tree: ast.Module, reach: Reach, module_words: Set[str]) -> None:
        self.reach = reach
        self.senders = NameTargets(reach.senders)
        self.factories = NameTargets(reach.session_factories)
        self.roots = self.senders.roots | self.factories.roots
        # A string is read as names (LibCST resolves string annotations) only where it holds
        # one of these: no name can resolve to a target without starting with one.
        self._string_words = tuple(self.roots | module_words)
        self.bound: Dict[str, Set[str]] = {}
        self.units: List[_Unit] = []
        self.coroutines: List[Set[Chain]] = []
        self.decorated: List[Set[Chain]] = []
        self._visit(tree)

    # -- the walk: each call returns the chains mentioned under `node` ---------------------------
    def _visit(self, node: ast.AST) -> Set[Chain]:
        kind = type(node)
        if kind is ast.Name:
            return {(node.id,)}
        if kind is ast.Attribute:
            base, attributes = attribute_path(node)
            if isinstance(base, ast.Name):
                return {(base.id, *attributes)}
            found = self._visit(base)
            if isinstance(base, ast.Call):  # `requests.Session().get`: a method of what it makes
                made = _name_chain(base.func)
                if made is not None:
                    found.add((*made, _CALLED, *attributes))
            return found
        if kind is ast.Constant:
            text = node.value
            if isinstance(text, str) and any(word in text for word in self._string_words):
                return {tuple(re.split(r"[ \t]*\.[ \t]*", w)) for w in _DOTTED_WORD.findall(text)}
            return set()
        handler = _HANDLERS.get(kind)
        if handler is not None:
            return handler(self, node)
        return self._children(node)

    def _children(self, node: ast.AST, skip: Iterable[str] = ()) -> Set[Chain]:
        found: Set[Chain] = set()
        for name in node._fields:
            if name in skip:
                continue
            value = getattr(node, name, None)
            if isinstance(value, ast.AST):
                found |= self._visit(value)
            elif isinstance(value, list):
                for item in value:
                    if isinstance(item, ast.AST):
                        found |= self._visit(item)
        return found

    def _bind(self, target: Optional[ast.AST], chains: Set[Chain]) -> Set[Chain]:
        """Record that the names `target` binds get what `chains` mention; the target's own chains."""
        if target is None:
            return set()
        names: List[str] = []
        _target_names(target, names)
        if names:
            self.units.append(_Unit("value", names, chains))
        return self._visit(target)

    def _function(self, node) -> Set[Chain]:
        chains = self._children(node)
        self.units.append(_Unit("def", [node.name], chains))
        arguments = node.args
        for arg in [*getattr(arguments, "posonlyargs", []), *arguments.args, *arguments.kwonlyargs,
                    arguments.vararg, arguments.kwarg]:
            if arg is not None and arg.annotation is not None:
                self.units.append(_Unit("value", [arg.arg], self._visit(arg.annotation)))
        if isinstance(node, ast.AsyncFunctionDef):
            self.coroutines.append(chains)
        elif node.decorator_list:
            self.decorated.append(chains)
        return chains

    def _assign(self, node) -> Set[Chain]:
        value = self._visit(node.value) if node.value is not None else set()
        if isinstance(node, ast.AnnAssign):
            value = value | self._visit(node.annotation)
        found = set(value)
        for target in getattr(node, "targets", None) or [node.target]:
            found |= self._bind(target, value)
        return found

    def _for(self, node) -> Set[Chain]:
        """`for` and `async for` loops, and a comprehension's `for` clause (same fields)."""
        source = self._visit(node.iter)
        return self._bind(node.target, source) | source | self._children(node, ("target", "iter"))

    def _with_item(self, node: ast.withitem) -> Set[Chain]:
        source = self._visit(node.context_expr)
        return self._bind(node.optional_vars, source) | source

    def _named(self, node: ast.NamedExpr) -> Set[Chain]:
        value = self._visit(node.value)
        return self._bind(node.target, value) | value

    def _import(self, node: ast.Import) -> Set[Chain]:
        for alias in node.names:
            if alias.asname:
                self.bound.setdefault(alias.asname, set()).add(alias.name)
                self.units.append(_Unit("import", [alias.asname], {tuple(alias.name.split("."))}))
            else:
                root = alias.name.split(".")[0]
                self.bound.setdefault(root, set()).add(root)
        return set()

    def _import_from(self, node: ast.ImportFrom) -> Set[Chain]:
        module = node.module or ""
        for alias in node.names:
            if alias.name == "*":
                if not node.level and module:
                    self._star(module)
                continue
            local = alias.asname or alias.name
            if not node.level and module:
                self.bound.setdefault(local, set()).add(f"{module}.{alias.name}")
            # Relative or not: what the name is called where it comes from (a project seed).
            self.units.append(_Unit("import", [local], {(alias.name,)}))
        return set()

    def _star(self, module: str) -> None:
        """`from requests import *` binds every target name under `module`."""
        for target in self.senders.names | self.factories.names:
            if target.startswith(module + "."):
                first = target[len(module) + 1:].split(".")[0]
                self.bound.setdefault(first, set()).add(f"{module}.{first}")

    # -- the question ----------------------------------------------------------------------------
    def reaches(self, seeds: Seeds) -> bool:
        modules = dict(seeds.modules)
        bound = {name: dotted for name, dotted in self.bound.items()
                 if any(d.split(".")[0] in self.roots for d in dotted)}
        facts = _Facts(self, bound, modules, set(seeds.senders))
        facts.learn(self.units)
        return any(facts.sends(chain) for chains in self.coroutines + self.decorated for chain in chains)


class _Facts:
    """The sending names and the session names of a module, learnt to a fixed point."""

    def __init__(self, module: _Module, bound: Dict[str, Set[str]], modules: Dict[str, str],
                 senders: Set[str]) -> None:
        self.module, self.bound, self.modules = module, bound, modules
        self.senders = senders
        self.sessions: Set[str] = set()
        self.methods = module.reach.session_methods

    def _resolves(self, chain: Chain, targets: NameTargets) -> bool:
        for dotted in self.bound.get(chain[0], ()):
            if targets.hit(".".join((dotted, *chain[1:]))):
                return True
        for at, part in enumerate(chain):
            module = self.modules.get(part)
            if module is not None and targets.hit(".".join((module, *chain[at + 1:]))):
                return True
        return False

    def sends(self, chain: Chain) -> bool:
        last = len(chain) - 1
        for at, part in enumerate(chain):
            if part in self.senders:
                return True
            if at < last and chain[at + 1] in self.methods and (
                    part in self.sessions or (part == _CALLED and self.makes_session(chain[:at]))):
                return True
        return self._resolves(chain, self.module.senders)

    def makes_session(self, chain: Chain) -> bool:
        return self._resolves(chain, self.module.factories)

    def learn(self, units: List[_Unit]) -> None:
        by_word: Dict[str, List[_Unit]] = {}
        for unit in units:
            for word in {part for chain in unit.chains for part in chain}:
                by_word.setdefault(word, []).append(unit)
        pending = list(units)
        while pending:
            unit = pending.pop()
            kind, chains = unit.kind, unit.chains
            sends = kind == "def" and any(self.sends(chain) for chain in chains) or (
                kind == "import" and any(chain[-1] in self.senders for chain in chains))
            session = kind == "value" and any(self.makes_session(chain) for chain in chains)
            module = None  # `from .utils import requests as rq`: another name for the module
            if kind == "import":
                module = next((self.modules[c[-1]] for c in chains if c[-1] in self.modules), None)
            for name in unit.targets:
                new = False
                if sends and name not in self.senders:
                    self.senders.add(name)
                    new = True
                if session and name not in self.sessions:
                    self.sessions.add(name)
                    new = True
                if module is not None and name not in self.modules:
                    self.modules[name] = module
                    new = True
                if new:
                    pending.extend(by_word.get(name, ()))


def _name_chain(node: ast.AST) -> Optional[Chain]:
    base, attributes = attribute_path(node)
    return (base.id, *attributes) if isinstance(base, ast.Name) else None


def _target_names(target: ast.AST, names: List[str]) -> None:
    if isinstance(target, ast.Name):
        names.append(target.id)
    elif isinstance(target, ast.Attribute):
        names.append(target.attr)
    elif isinstance(target, (ast.Tuple, ast.List)):
        for element in target.elts:
            _target_names(element, names)
    elif isinstance(target, ast.Starred):
        _target_names(target.value, names)
    elif isinstance(target, ast.Subscript):  # `self.sessions[key] = ...`: the container's name
        _target_names(target.value, names)


_HANDLERS = {
    ast.FunctionDef: _Module._function,
    ast.AsyncFunctionDef: _Module._function,
    ast.Assign: _Module._assign,
    ast.AnnAssign: _Module._assign,
    ast.AugAssign: _Module._assign,
    ast.For: _Module._for,
    ast.AsyncFor: _Module._for,
    ast.withitem: _Module._with_item,
    ast.comprehension: _Module._for,
    ast.NamedExpr: _Module._named,
    ast.Import: _Module._import,
    ast.ImportFrom: _Module._import_from,
}

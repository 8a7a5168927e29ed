"""Whether a module can refer to some qualified names at all, asked of Python's `ast` before LibCST.

Most files of an async tree that import an HTTP library have nothing for the rules: Home
Assistant imports `requests.exceptions` for an `except` clause in hundreds of integrations that
talk HTTP through a vendor library. Every requests finding needs a name that LibCST's
`QualifiedNameProvider` resolves, through an import, to one of a few qualified names
(`requests.get`, `requests.Session`, ...): a pass that names them (`required_names`) has nothing
to report in a module that never mentions one, and the module need not be parsed for it.

The test is a superset of what LibCST resolves, so it can only let too much through:
- a name is bound by every import in every scope (`import a.b` binds `a`, `from a import b as c`
  binds `c`), whatever shadows it later;
- a reference is any `Name` or dotted `Attribute` chain, anywhere, and any dotted word inside a
  string constant (LibCST reads string annotations such as `"requests.Session"`);
- a `from m import *` of a module under one of the targets' packages counts as a reference.
Where this interpreter's `ast` rejects the file (Python 3.12 syntax on 3.11), the same test
runs on `tokenize`'s tokens; where that fails too, the answer is "yes" and LibCST decides.
tests/test_name_references.py checks the equivalence over every fixture and rule example.
"""
from __future__ import annotations

import ast
import io
import re
import tokenize
from typing import Dict, FrozenSet, Iterable, Iterator, List, Optional, Set, Tuple

_DOTTED_WORD = re.compile(r"[A-Za-z_]\w*(?:[ \t]*\.[ \t]*[A-Za-z_]\w*)*")


def _bind_import(bound: Dict[str, Set[str]], name: str, asname: Optional[str]) -> None:
    if asname:
        bound.setdefault(asname, set()).add(name)
    else:  # `import a.b` binds `a`
        root = name.split(".")[0]
        bound.setdefault(root, set()).add(root)


class NameTargets:
    """Qualified names (`requests.get`) a pass needs some module reference to resolve to."""

    def __init__(self, names: Iterable[str]) -> None:
        self.names: FrozenSet[str] = frozenset(names)
        self.roots: FrozenSet[str] = frozenset(name.split(".")[0] for name in self.names)

    def hit(self, dotted: str) -> bool:
        """`dotted` (a resolved chain) is a target or an attribute of one."""
        if dotted in self.names:
            return True
        end = dotted.rfind(".")
        while end > 0:
            if dotted[:end] in self.names:
                return True
            end = dotted.rfind(".", 0, end)
        return False


def may_reference(source: str, tree: Optional[ast.Module], targets: NameTargets) -> bool:
    """False only when no reference in `source` can resolve to one of `targets`. `tree` is
    `ast.parse(source)`, or None where it does not parse."""
    if not any(root in source for root in targets.roots):
        return False  # no import can bind a target without naming its package
    if tree is not None:
        return ModuleIndex(tree).may_reference(targets)
    try:
        return _token_references(source, targets)
    except (tokenize.TokenError, SyntaxError, ValueError):  # what even tokenize rejects: LibCST says why
        return True


def _relevant(bound: Dict[str, Set[str]], targets: NameTargets) -> Dict[str, Set[str]]:
    return {name: dotted for name, dotted in bound.items()
            if any(d.split(".")[0] in targets.roots for d in dotted)}


def _resolves(bound: Dict[str, Set[str]], chain: List[str], targets: NameTargets) -> bool:
    rest = "".join("." + part for part in chain[1:])
    return any(targets.hit(dotted + rest) for dotted in bound.get(chain[0], ()))


def _in_strings(bound: Dict[str, Set[str]], text: str, targets: NameTargets) -> bool:
    if not any(name in text for name in bound):
        return False
    return any(_resolves(bound, re.split(r"[ \t]*\.[ \t]*", word), targets)
               for word in _DOTTED_WORD.findall(text))


def _star_import(module: Optional[str], targets: NameTargets) -> bool:
    return bool(module) and module.split(".")[0] in targets.roots


# Tokens: the fallback for syntax this interpreter's `ast` does not know ------------------------


def _token_references(source: str, targets: NameTargets) -> bool:
    tokens = [t for t in tokenize.generate_tokens(io.StringIO(source).readline)
              if t.type not in (tokenize.COMMENT, tokenize.NL, tokenize.INDENT, tokenize.DEDENT)]
    bound: Dict[str, Set[str]] = {}
    for statement in _import_statements(tokens):
        kind, module, names = statement
        if kind == "star":
            if _star_import(module, targets):
                return True
        elif kind == "import":
            for name, asname in names:
                _bind_import(bound, name, asname)
        else:
            for name, asname in names:
                bound.setdefault(asname or name, set()).add(f"{module}.{name}")
    bound = _relevant(bound, targets)
    if not bound:
        return False
    for index, token in enumerate(tokens):
        if token.type == tokenize.STRING:
            if _in_strings(bound, token.string, targets):
                return True
        elif token.type == tokenize.NAME and token.string in bound:
            if index and tokens[index - 1].string == ".":
                continue  # an attribute of something else
            chain = [token.string]
            at = index + 1
            while (at + 1 < len(tokens) and tokens[at].string == "."
                   and tokens[at + 1].type == tokenize.NAME):
                chain.append(tokens[at + 1].string)
                at += 2
            if _resolves(bound, chain, targets):
                return True
    return False


def _dotted(tokens: List[tokenize.TokenInfo], at: int) -> Tuple[str, int]:
    parts = []
    while at < len(tokens) and tokens[at].type == tokenize.NAME:
        parts.append(tokens[at].string)
        if at + 1 < len(tokens) and tokens[at + 1].string == ".":
            at += 2
        else:
            at += 1
            break
    return ".".join(parts), at


def _import_statements(tokens: List[tokenize.TokenInfo]) -> Iterator[Tuple[str, Optional[str], list]]:
    """("import", None, [(name, asname)]), ("from", module, [(name, asname)]) or ("star",
    module, []) for each import statement (relative imports are left out, as in the ast test)."""
    for index, token in enumerate(tokens):
        if token.type != tokenize.NAME or token.string not in ("import", "from"):
            continue
        previous = tokens[index - 1] if index else None
        if previous is not None and previous.type != tokenize.NEWLINE and previous.string not in (";", ":"):
            continue  # `yield from x`, `raise E from e`: not at the start of a statement
        if token.string == "import":
            yield "import", None, _aliases(tokens, index + 1)
            continue
        if index + 1 < len(tokens) and tokens[index + 1].string == ".":
            continue  # relative
        module, at = _dotted(tokens, index + 1)
        if not module or at >= len(tokens) or tokens[at].string != "import":
            continue
        if at + 1 < len(tokens) and tokens[at + 1].string == "*":
            yield "star", module, []
        else:
            yield "from", module, _aliases(tokens, at + 1)


def _aliases(tokens: List[tokenize.TokenInfo], at: int) -> List[Tuple[str, Optional[str]]]:
    names = []
    if at < len(tokens) and tokens[at].string == "(":
        at += 1
    while at < len(tokens):
        name, at = _dotted(tokens, at)
        if not name:
            break
        asname = None
        if at + 1 < len(tokens) and tokens[at].string == "as" and tokens[at + 1].type == tokenize.NAME:
            asname, at = tokens[at + 1].string, at + 2
        names.append((name, asname))
        if at < len(tokens) and tokens[at].string == ",":
            at += 1
            continue
        break
    return names


# One walk per module: what every `ast` question of the passes reads ---------------------------


class ModuleIndex:
    """The imports, reference chains, strings and calls of one module, from a single walk of
    its `ast` (each `ast.walk` costs about 1 µs a node: asking each pass's question with a walk
    of its own cost more than the LibCST analyses it saved on a tree of async services)."""

    def __init__(self, tree: ast.Module) -> None:
        self.bound: Dict[str, Set[str]] = {}
        self.star_modules: Set[str] = set()
        self.chains: Set[Tuple[str, ...]] = set()  # every Name and maximal Name.attr... chain
        self.strings: List[str] = []
        self.calls: Set[Tuple[str, ...]] = set()  # chains called anywhere
        self.coroutine_calls: Set[Tuple[str, ...]] = set()  # chains called directly by an `async def`
        self._walk(tree)

    def _walk(self, tree: ast.Module) -> None:
        stack: List[Tuple[ast.AST, bool]] = [(tree, False)]
        while stack:
            node, running = stack.pop()
            kind = type(node)
            if kind is ast.Attribute or kind is ast.Name:
                chain, base = _chain(node)
                if chain is not None:
                    self.chains.add(chain)
                    continue
                stack.append((base, running))  # `f().x`: the call's own names still count
                continue
            if kind is ast.Call:
                chain, _ = _chain(node.func)
                if chain is not None:
                    self.calls.add(chain)
                    if running:
                        self.coroutine_calls.add(chain)
            elif kind is ast.Constant:
                if isinstance(node.value, str):
                    self.strings.append(node.value)
                continue
            elif kind is ast.Import:
                for alias in node.names:
                    _bind_import(self.bound, alias.name, alias.asname)
                continue
            elif kind is ast.ImportFrom:
                if not node.level and node.module:
                    for alias in node.names:
                        if alias.name == "*":
                            self.star_modules.add(node.module)
                        else:
                            self.bound.setdefault(alias.asname or alias.name, set()).add(f"{node.module}.{alias.name}")
                continue
            elif kind in _SCOPES:
                body = node.body if isinstance(node.body, list) else [node.body]
                inner = kind is ast.AsyncFunctionDef
                stack.extend((child, inner) for child in body)
                in_body = {id(statement) for statement in body}
                stack.extend((child, running) for child in ast.iter_child_nodes(node) if id(child) not in in_body)
                continue
            for name in node._fields:
                value = getattr(node, name, None)
                if isinstance(value, ast.AST):
                    stack.append((value, running))
                elif isinstance(value, list):
                    stack.extend((item, running) for item in value if isinstance(item, ast.AST))

    def may_reference(self, targets: NameTargets) -> bool:
        """`may_reference` of the module this index was made from."""
        if any(_star_import(module, targets) for module in self.star_modules):
            return True
        bound = _relevant(self.bound, targets)
        if not bound:
            return False
        if any(chain[0] in bound and _resolves(bound, list(chain), targets) for chain in self.chains):
            return True
        return any(_in_strings(bound, text, targets) for text in self.strings)

    def calls_any(self, qualified_names: FrozenSet[str], coroutine_only: bool) -> bool:
        """A call (run directly by an `async def`, with `coroutine_only`) may name one of
        `qualified_names`: the import-resolved name equals one (local_slice's candidate test)."""
        bound = self.bound
        for chain in (self.coroutine_calls if coroutine_only else self.calls):
            rest = "".join("." + part for part in chain[1:])
            if any(dotted + rest in qualified_names for dotted in bound.get(chain[0], ())):
                return True
        return False


_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)


def _chain(node: ast.expr) -> Tuple[Optional[Tuple[str, ...]], ast.expr]:
    """(`("a", "b", "c")`, base) for `a.b.c`; (None, base) when the chain does not start at a name."""
    base, attributes = attribute_path(node)
    return ((base.id, *attributes) if isinstance(base, ast.Name) else None), base


def attribute_path(node: ast.AST) -> Tuple[ast.AST, Tuple[str, ...]]:
    """`a.b.c` -> (the node `a`, ("b", "c")); a node that is no attribute -> (itself, ())."""
    attributes = []
    while isinstance(node, ast.Attribute):
        attributes.append(node.attr)
        node = node.value
    return node, tuple(reversed(attributes))

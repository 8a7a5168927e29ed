"""UFA004 per-call-client: an `httpx.AsyncClient` / `aiohttp.ClientSession` made for one call.

`async with httpx.AsyncClient() as c: r = await c.get(u)` inside a request handler (or a loop)
builds a connection pool, an SSL context and new TCP/TLS connections every time, then throws
them away. The fix drops the `async with` and sends the requests through the shared per-loop
client (`client_expression`), with the constructor's options and a bare client's defaults
written out per call (per_call_options.py). aiohttp sessions are reported with a suggested
rewrite: its API differs from httpx's.

Not flagged (the client lives longer than one call): a client in `__init__`, `__aenter__`,
a lifespan/startup hook, an async generator or fixture, `main()` or a function the module runs
with `asyncio.run(...)`, a client that is returned, yielded or stored, and one passed in.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Set

import libcst as cst
import libcst.matchers as m
from libcst.metadata import ParentNodeProvider, QualifiedNameProvider, ScopeProvider

from unfake_async.codemod.analysis.names import resolved
from unfake_async.codemod.engine.metadata import children_of
from unfake_async.codemod.engine.model import FixSafety
from unfake_async.codemod.engine.pass_protocol import PassContext, PassOutcome
from unfake_async.codemod.migrate import per_call_options as opts
from unfake_async.codemod.migrate.shared_client import client_expression, ensure_clients, source_for

RULE_ID = "UFA004"
CLIENT_CLASSES = {
    "httpx.AsyncClient": "httpx", "httpx._client.AsyncClient": "httpx", "httpx2.AsyncClient": "httpx",
    "aiohttp.ClientSession": "aiohttp", "aiohttp.client.ClientSession": "aiohttp",
}
# Functions that run once per process or per object, where one client is the right thing.
SETUP_NAMES = {"__init__", "__post_init__", "__aenter__", "lifespan", "startup", "on_startup", "setup",
               "async_setup", "asetup", "setup_hook", "main", "_main", "amain", "async_main"}
SETUP_DECORATOR_WORDS = ("asynccontextmanager", "fixture", "startup", "lifespan", "on_event")
LOOPS = (cst.For, cst.While)
REPEATING = (cst.For, cst.While, cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp, cst.FunctionDef, cst.Lambda)
MESSAGES = {
    "call": "`{what}` is created for this call and closed after it: every call pays a new connection pool, SSL context and TCP/TLS handshakes; share one client",
    "loop": "`{what}` is created on every loop iteration: each iteration pays a new connection pool, SSL context and TCP/TLS handshakes; share one client",
}
AIOHTTP_REASON = (
    "aiohttp's API differs from httpx's: create one ClientSession per event loop (at startup or in a "
    "lifespan hook) and pass it in, or move these requests to the shared httpx client"
)


@dataclass
class ClientBlock:
    """One `async with <client>(...) as name:` (or `name = <client>(...)`) in an async function,
    and what it sends."""

    # The `async with` statement, or for `name = <client>(...)` the function (the client's span).
    with_node: cst.CSTNode
    item: Optional[cst.WithItem]
    library: str
    function: cst.FunctionDef
    class_def: Optional[cst.ClassDef]
    in_loop: bool
    assigned: Optional[cst.Assign] = None
    calls: List[cst.Call] = field(default_factory=list)
    repeated: bool = False
    escapes: bool = False
    blockers: List[str] = field(default_factory=list)
    unsafe: List[str] = field(default_factory=list)

    @property
    def constructor(self) -> cst.Call:
        return self.assigned.value if self.assigned is not None else self.item.item

    @property
    def name(self) -> cst.Name:
        return self.assigned.targets[0].target if self.assigned is not None else self.item.asname.name

    @property
    def safety(self) -> FixSafety:
        if self.blockers:
            return FixSafety.NONE
        return FixSafety.UNSAFE if self.unsafe else FixSafety.SAFE


class _Finder(cst.CSTVisitor):
    """Collects per-call client blocks whose innermost scope is an `async def`."""

    METADATA_DEPENDENCIES = (QualifiedNameProvider, ParentNodeProvider, ScopeProvider)

    def __init__(self) -> None:
        super().__init__()
        self.scopes: List[cst.CSTNode] = []
        self.blocks: List[ClientBlock] = []
        self.run_once: Set[str] = set()

    def visit_Call(self, node: cst.Call) -> None:
        # `asyncio.run(main())` / `loop.run_until_complete(main())`: main runs once. Read during
        # this walk (the blocks are judged after it), not by a matcher walk of its own: that
        # was a quarter of this pass on aiohttp's test files.
        if m.matches(node, _RUNS_A_COROUTINE):
            self.run_once.add(node.args[0].value.func.value)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.scopes.append(node)

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.scopes.pop()

    def visit_Lambda(self, node: cst.Lambda) -> None:
        self.scopes.append(node)

    def leave_Lambda(self, original_node: cst.Lambda) -> None:
        self.scopes.pop()

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.scopes.append(node)

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self.scopes.pop()

    def visit_With(self, node: cst.With) -> None:
        function = self.scopes[-1] if self.scopes else None
        if node.asynchronous is None or not isinstance(function, cst.FunctionDef) or function.asynchronous is None:
            return
        for item in node.items:
            library = self._library(item.item)
            if library is None or item.asname is None or not isinstance(item.asname.name, cst.Name):
                continue
            self.blocks.append(ClientBlock(node, item, library, function, self._class(), self._in_loop(node, function)))

    def visit_Assign(self, node: cst.Assign) -> None:
        function = self.scopes[-1] if self.scopes else None
        if not isinstance(function, cst.FunctionDef) or function.asynchronous is None:
            return
        if len(node.targets) != 1 or not isinstance(node.targets[0].target, cst.Name):
            return
        library = self._library(node.value)
        if library is not None:
            self.blocks.append(ClientBlock(function, None, library, function, self._class(),
                                           self._in_loop(node, function), assigned=node))

    def _class(self) -> Optional[cst.ClassDef]:
        return self.scopes[-2] if len(self.scopes) >= 2 and isinstance(self.scopes[-2], cst.ClassDef) else None

    def _library(self, node: cst.BaseExpression) -> Optional[str]:
        if not isinstance(node, cst.Call):
            return None
        for name in resolved(self.get_metadata(QualifiedNameProvider, node.func, set())):
            if name.name in CLIENT_CLASSES:
                return CLIENT_CLASSES[name.name]
        return None

    def _in_loop(self, node: cst.CSTNode, function: cst.FunctionDef) -> bool:
        current = self.get_metadata(ParentNodeProvider, node, None)
        while current is not None and current is not function:
            if isinstance(current, LOOPS):
                return True
            current = self.get_metadata(ParentNodeProvider, current, None)
        return False


_RUNS_A_COROUTINE = m.Call(
    func=m.Attribute(attr=m.Name("run") | m.Name("run_until_complete")) | m.Name("run"),
    args=[m.Arg(value=m.Call(func=m.Name())), m.ZeroOrMore()],
)


def _is_setup(function: cst.FunctionDef, run_once: Set[str]) -> bool:
    if function.name.value in SETUP_NAMES or function.name.value in run_once:
        return True
    for decorator in function.decorators:
        text = opts.code(decorator.decorator).lower()
        if any(word in text for word in SETUP_DECORATOR_WORDS):
            return True
    # An async generator hands the client's lifetime to its consumer (lifespan-style).
    return _yields(function)


def _yields(function: cst.FunctionDef) -> bool:
    """A `yield` of the function's own (not of a def or lambda inside it). One walk of the
    body's children that stops at nested functions: three matcher walks (`m.findall`) of
    every body with a client were a third of this pass on aiohttp's test files."""
    pending = list(children_of(function.body))
    while pending:
        node = pending.pop()
        if isinstance(node, cst.Yield):
            return True
        if not isinstance(node, (cst.FunctionDef, cst.Lambda)):
            pending.extend(children_of(node))
    return False


class _Analyser:
    """Follows the client's name: its request calls, whether it escapes, what blocks a fix."""

    def __init__(self, wrapper: cst.MetadataWrapper) -> None:
        self.parents = wrapper.resolve(ParentNodeProvider)
        self.scopes = wrapper.resolve(ScopeProvider)

    def analyse(self, block: ClientBlock) -> None:
        name_node = block.name
        scope = self.scopes.get(name_node)
        assignments = [a for a in scope.assignments[name_node.value] if a.node is name_node] if scope else []
        if len(scope.assignments[name_node.value]) > 1 if scope else False:
            block.blockers.append(f"`{name_node.value}` is bound more than once in this function")
        for assignment in assignments:
            for access in assignment.references:
                self._classify(block, access.node)
        if len(block.calls) > 1 or block.repeated:
            block.unsafe.append(
                "the block sends several requests through one client, whose cookie jar carried cookies "
                "from one response to the next request; the shared client keeps none"
            )

    def _classify(self, block: ClientBlock, node: cst.CSTNode) -> None:
        parent = self.parents.get(node)
        code = opts.code(parent) if parent is not None else ""
        if isinstance(parent, cst.Attribute) and parent.value is node:
            grandparent = self.parents.get(parent)
            method = parent.attr.value
            if block.assigned is not None and method in ("aclose", "close") and isinstance(grandparent, cst.Call):
                return  # the hand-written end of the client's life
            if isinstance(grandparent, cst.Call) and grandparent.func is parent and method in opts.REQUEST_METHODS:
                block.calls.append(grandparent)
                if self._repeats(grandparent, block.with_node):
                    block.repeated = True
                if not self._inside(grandparent, block.with_node):
                    block.blockers.append(f"`{code}` is used after the client's block")
                return
            block.blockers.append(f"the block uses `{code}`, which has no per-request equivalent")
            return
        if isinstance(parent, (cst.Return, cst.Yield, cst.Assign, cst.AnnAssign, cst.AugAssign, cst.Element,
                               cst.DictElement, cst.StarredElement, cst.NamedExpr, cst.Global, cst.Nonlocal)):
            block.escapes = True
            return
        if isinstance(parent, cst.Arg) and block.assigned is not None:
            block.escapes = True  # no `async with` bounds its life: the callee may keep it
            return
        if isinstance(parent, cst.Arg):
            call = self.parents.get(parent)
            callee = opts.code(call.func) if isinstance(call, cst.Call) else "a call"
            block.blockers.append(
                f"the client is passed to `{callee}()`; pass it the shared client by hand (it follows redirects "
                "and has no timeout, unlike a bare client)"
            )
            block.repeated = True
            return
        block.blockers.append(f"the client is used as `{code}`")

    def _inside(self, node: cst.CSTNode, ancestor: cst.CSTNode) -> bool:
        current = self.parents.get(node)
        while current is not None:
            if current is ancestor:
                return True
            current = self.parents.get(current)
        return False

    def _repeats(self, call: cst.Call, with_node: cst.With) -> bool:
        current = self.parents.get(call)
        while current is not None and current is not with_node:
            if isinstance(current, REPEATING):
                return True
            current = self.parents.get(current)
        return False


def _in_class_method(block: ClientBlock, module: cst.Module) -> bool:
    function = block.function
    if block.class_def is None or block.class_def not in module.body or not function.params.params:
        return False
    if function.params.params[0].name.value != "self":
        return False
    return not any(m.matches(d.decorator, m.Name("staticmethod") | m.Name("classmethod")) for d in function.decorators)


def _plan_calls(block: ClientBlock, target: str) -> opts.ClientOptions:
    """Check every request of the block can take the client's options; the options to apply."""
    options = opts.read_options(block.constructor)
    block.blockers.extend(options.blockers)
    block.unsafe.extend(options.unsafe)
    if opts.follows_redirects(options, [list(call.args) for call in block.calls]):
        block.unsafe.append(
            "cookies set by a redirect response were sent on the next hop by this client's cookie jar; "
            "the shared client keeps none"
        )
    for call in block.calls:
        edit = opts.per_call_arguments(call, call.func.attr.value, options, target)
        block.blockers.extend(b for b in edit.blockers if b not in block.blockers)
        block.unsafe.extend(u for u in edit.unsafe if u not in block.unsafe)
    return options


class _Rewriter(cst.CSTTransformer):
    def __init__(self, blocks: List[ClientBlock], clients: Dict[int, cst.BaseExpression],
                 options: Dict[int, opts.ClientOptions], target: str) -> None:
        super().__init__()
        self.items = {id(b.item): b for b in blocks if b.item is not None}
        self.withs = {id(b.with_node) for b in blocks}
        self.calls = {}
        for block in blocks:
            for call in block.calls:
                self.calls[call] = (clients[id(block)], options[id(block)])
        self.target = target

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        if original_node not in self.calls:
            return updated_node
        client, options = self.calls[original_node]
        func = updated_node.func.with_changes(value=client)
        # From the updated call: a request may sit in another's arguments.
        edit = opts.per_call_arguments(updated_node, updated_node.func.attr.value, options, self.target)
        return updated_node.with_changes(func=func, args=edit.new_args)

    def leave_With(self, original_node: cst.With, updated_node: cst.With):
        if id(original_node) not in self.withs:
            return updated_node
        items = [new for old, new in zip(original_node.items, updated_node.items) if id(old) not in self.items]
        if items:
            items[-1] = items[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
            return updated_node.with_changes(items=items)
        suite = updated_node.body
        leading = list(updated_node.leading_lines)
        if isinstance(suite, cst.SimpleStatementSuite):  # `async with ... as c: return ...`
            body = [cst.SimpleStatementLine(body=suite.body)]
        else:
            body = list(suite.body)
            if suite.header.comment is not None:  # `async with ... as c:  # why` keeps its comment
                leading.append(cst.EmptyLine(comment=suite.header.comment))
        body[0] = body[0].with_changes(leading_lines=leading + list(body[0].leading_lines))
        return cst.FlattenSentinel(body)


class PerCallClientPass:
    """Rule UFA004."""

    rule_ids = (RULE_ID,)
    # A block is a client constructor called by a coroutine (`async with httpx.AsyncClient()`,
    # `s = aiohttp.ClientSession()`): without such a call (`ast` says), the pass is skipped.
    required_calls = frozenset(CLIENT_CLASSES)
    # What a check run reports depends on the function holding the constructor, the module's
    # names and the class header, plus the functions the module runs once (`_Finder.visit_Module`
    # reads every `run(...)`/`run_until_complete(...)` call): a function-local slice keeps those.
    local_calls = required_calls
    slice_kept_calls = frozenset({"run", "run_until_complete"})

    def run(self, context: PassContext) -> PassOutcome:
        finder = _Finder()
        context.wrapper.visit(finder)
        analyser = _Analyser(context.wrapper)
        module = context.module
        target = context.settings.target
        source = source_for(context)
        findings, chosen, clients, options = [], [], {}, {}
        setup: Dict[int, bool] = {}  # several blocks may sit in one function
        for block in finder.blocks:
            function = block.function
            if id(function) not in setup:
                setup[id(function)] = _is_setup(function, finder.run_once)
            if setup[id(function)]:
                continue
            analyser.analyse(block)
            if block.escapes or not context.reportable(RULE_ID, block.constructor):
                continue
            if not block.calls and not block.blockers:
                continue
            if block.library == "aiohttp":
                block.blockers.insert(0, AIOHTTP_REASON)
            else:
                options[id(block)] = _plan_calls(block, target)
                self._check_items(block)
            safety = block.safety
            reason = "; ".join(dict.fromkeys(block.blockers or block.unsafe)) or None
            wanted = context.wants_fix(safety)
            if wanted:
                chosen.append(block)
                clients[id(block)] = client_expression(context.settings, _in_class_method(block, module), source)
            what = opts.code(block.constructor.func) + "()"
            message = MESSAGES["loop" if block.in_loop else "call"].format(what=what)
            findings.append(context.finding(RULE_ID, message, block.constructor, fix=safety, reason=reason,
                                            fixed=wanted))
        if not chosen:
            return PassOutcome(findings=findings)
        rewritten = module.visit(_Rewriter(chosen, clients, options, target))
        class_names = {b.class_def.name.value for b in chosen if _in_class_method(b, module)}
        module_client = any(not _in_class_method(b, module) for b in chosen)
        rewritten = ensure_clients(rewritten, context.settings, module_client=module_client, class_names=class_names,
                                   source=source)
        fixed = rewritten.code
        if fixed == context.source:
            return PassOutcome(findings=findings)
        return PassOutcome(findings=findings, fixed_source=fixed, created_files=source.created_files(fixed))

    @staticmethod
    def _check_items(block: ClientBlock) -> None:
        if block.assigned is not None:
            block.blockers.append(
                "the client is created and closed by hand; move its requests to the shared client (or at least "
                "an `async with` block, which this rule fixes) by hand"
            )
            return
        others = [item for item in block.with_node.items if item is not block.item]
        name = block.name.value
        for item in others:
            uses_client = bool(m.findall(item.item, m.Attribute(value=m.Name(name))))
            if not uses_client:
                block.blockers.append(
                    "the same `async with` enters other context managers; split it before moving the client"
                )
                return

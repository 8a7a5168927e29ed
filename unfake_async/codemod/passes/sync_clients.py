"""Sync HTTP clients other than requests inside `async def`: UFA005 (httpx/httpx2) and UFA006
(urllib3, urllib.request.urlopen). The shapes of flake8-async's ASYNC210 and ASYNC212.

UFA005 fixes what keeps its meaning on an async client:
- `httpx.get(url, ...)` (and post/put/patch/delete/head/options/request) becomes
  `await <shared client>.get(url, ..., follow_redirects=False, timeout=httpx.Timeout(5.0, pool=None))`:
  the module-level functions build a throwaway `httpx.Client` that does not follow redirects and
  times out after 5 s, while the shared client follows redirects and has no timeout, so both
  defaults are written out per call (a timeout the caller gave is kept).
- `with httpx.Client(...) as c:` whose client is only used for requests inside the block becomes
  `async with httpx.AsyncClient(...) as c:` with the requests awaited: the same options on the
  async twin of the same class. UFA004 (per-call-client) then moves that block to the shared
  client, which is why this pass runs before it.
- `with httpx.stream(...) as r:` whose response only feeds `for` loops and reads becomes
  `async with <shared client>.stream(...) as r:` with `async for ... in r.aiter_*()` and
  `await r.aread()` (httpx_stream.py).
Everything else (a sync client in an attribute, a variable or a parameter, client-level options
such as `verify=` on `httpx.get`) is reported with the reason.
UFA006 only reports: urllib's and urllib3's APIs differ from httpx's; the message says what to
write instead.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Set, Tuple

import libcst as cst
import libcst.matchers as m

from unfake_async.codemod.analysis.async_scope import ModuleView, ReplaceNodes, awaited
from unfake_async.codemod.analysis.bindings import Binding, BindingResolver
from unfake_async.codemod.analysis.names import code
from unfake_async.codemod.engine.layout.wrap import one_line_arguments
from unfake_async.codemod.engine.model import FixSafety
from unfake_async.codemod.engine.pass_protocol import PassContext, PassOutcome
from unfake_async.codemod.migrate.shared_client import client_expression, ensure_clients, source_for
from unfake_async.codemod.passes.httpx_stream import StreamBlock, stream_block

LIBRARIES = ("httpx", "httpx2")
FUNCTIONS = ("get", "post", "put", "patch", "delete", "head", "options", "request", "stream")
# ASYNC212's list: the sync client methods that do network I/O.
CLIENT_METHODS = ("close", "delete", "get", "head", "options", "patch", "post", "put", "request", "send", "stream")
AWAITABLE = ("delete", "get", "head", "options", "patch", "post", "put", "request", "send")
CLIENT_CLASSES = {f"{lib}.Client": lib for lib in LIBRARIES} | {f"{lib}._client.Client": lib for lib in LIBRARIES}
URLLIB3_POOLS = frozenset(
    f"urllib3.{name}" for name in (
        "PoolManager", "ProxyManager", "HTTPConnectionPool", "HTTPSConnectionPool",
        "connectionpool.ConnectionPool", "connectionpool.HTTPConnectionPool",
        "connectionpool.HTTPSConnectionPool", "poolmanager.PoolManager", "poolmanager.ProxyManager",
        "request.RequestMethods", "_request_methods.RequestMethods",
    )
)
URLLIB_FUNCTIONS = {
    "urllib3.request": "urllib3",
    "urllib.request.urlopen": "urlopen",
}
# Options of httpx.get() & co. that configure the throwaway Client, not the request.
CLIENT_LEVEL = ("cookies", "proxy", "proxies", "verify", "cert", "trust_env", "transport", "mounts", "app")
# httpx.request()'s positional parameters after (method, url); the client's are keyword-only.
REQUEST_POSITIONAL = ("params", "content", "data", "files", "json", "headers", "cookies", "auth", "proxy",
                      "timeout", "follow_redirects", "verify", "trust_env")

MESSAGES = {
    "function": "`{what}` is a blocking request inside `async def`: every other task waits for it; "
                "`await` the same call on a shared `{lib}.AsyncClient`",
    "client": "`{what}` on a sync `{lib}.Client` blocks the event loop inside `async def`: every other "
              "task waits for the whole request; use an `{lib}.AsyncClient`",
    "urllib3": "`{what}` is a blocking urllib3 request inside `async def`: every other task waits for "
               "it; send it with `await client.request(method, url)` on a shared httpx.AsyncClient",
    "urlopen": "`{what}` blocks the event loop inside `async def`: every other task waits for the whole "
               "request; use `await client.get(url)` on a shared httpx.AsyncClient",
    "pool": "`{what}` on a urllib3 pool blocks the event loop inside `async def`: every other task "
            "waits for it; send requests with a shared httpx.AsyncClient",
}
URLLIB_REASONS = {
    "urllib3": "urllib3's API differs from httpx's: write `r = await client.request(method, url, ...)`, "
               "read `r.content` for `r.data`, `r.status_code` for `r.status` (neither raises on 4xx/5xx)",
    "urlopen": "urllib's API differs from httpx's: write `r = await client.get(url)` then "
               "`r.raise_for_status()` (urlopen raises HTTPError on 4xx/5xx) and `r.content` for `.read()`",
    "pool": "urllib3's API differs from httpx's: move these requests to a shared httpx.AsyncClient by hand "
            "(`r.data` is `r.content`, `r.status` is `r.status_code`)",
}
KEPT_CLIENT_REASONS = {
    "assign": "the sync client lives in a variable: create an `{lib}.AsyncClient` instead (and `await` "
              "its requests and `aclose()`), or send the requests through the shared client",
    "annotation": "the sync client lives in a variable: create an `{lib}.AsyncClient` instead (and "
                  "`await` its requests and `aclose()`), or send the requests through the shared client",
    "parameter": "the sync client is passed in: its owner must hand over an `{lib}.AsyncClient`",
    "attribute": "the sync client is kept in an attribute and may serve sync code too: make it an "
                 "`{lib}.AsyncClient` (closed with `aclose()`) or use the shared client, by hand",
    "inline": "a client built for one call: use the shared `{lib}.AsyncClient`",
}


@dataclass(eq=False)
class Hit:
    """One blocking call found in async code."""

    rule: str
    kind: str  # function | client | urllib3 | urlopen | pool
    call: cst.Call
    function: cst.FunctionDef
    what: str
    lib: str = ""
    method: str = ""
    binding: Optional[Binding] = None
    stream: Optional[StreamBlock] = None  # for `with httpx.stream(...) as r:`
    reason: Optional[str] = None  # why there is no fix
    unsafe: List[str] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)

    @property
    def safety(self) -> FixSafety:
        if self.reason is not None:
            return FixSafety.NONE
        return FixSafety.UNSAFE if self.unsafe else FixSafety.SAFE


class SyncClientsPass:
    """Rules UFA005 and UFA006."""

    rule_ids = ("UFA005", "UFA006")
    # A hit resolves a call, or the constructor or annotation of its receiver's binding, to these.
    required_names = frozenset(
        {f"{lib}.{function}" for lib in LIBRARIES for function in FUNCTIONS}
    ) | frozenset(CLIENT_CLASSES) | URLLIB3_POOLS | frozenset(URLLIB_FUNCTIONS)

    def run(self, context: PassContext) -> PassOutcome:
        if not any(library in context.source for library in ("httpx", "urllib")):
            return PassOutcome()  # nothing can resolve to these libraries without naming them
        view = ModuleView(context.wrapper)
        finder = _Finder(view, context)
        every = finder.hits()
        hits = [hit for hit in every if context.reportable(hit.rule, hit.call)]
        _whole_blocks(every, hits)
        chosen = [hit for hit in hits if hit.rule == "UFA005" and context.wants_fix(hit.safety)]
        # A with-block is converted whole or not at all.
        blocks = _with_blocks(hits)
        chosen = [h for h in chosen if h.kind != "client" or all(context.wants_fix(o.safety) for o in blocks[h.binding.node])]
        findings = [
            context.finding(hit.rule, MESSAGES[hit.kind].format(what=hit.what, lib=hit.lib), hit.call,
                            fix=hit.safety, reason=hit.reason or ("; ".join(hit.unsafe) or None),
                            notes=hit.notes, fixed=hit in chosen)
            for hit in hits
        ]
        if not chosen:
            return PassOutcome(findings)
        rewrite = _Rewrite(view, context)
        fixed = rewrite.apply(chosen)
        if fixed == context.source:
            return PassOutcome(findings)
        return PassOutcome(findings, fixed, created_files=rewrite.source.created_files(fixed))


class _Finder:
    def __init__(self, view: ModuleView, context: PassContext) -> None:
        self.view = view
        self.context = context
        self.bindings = BindingResolver(view)

    def hits(self) -> List[Hit]:
        found = []
        for call in self.view.calls():
            function = self.view.async_function_of(call)
            if function is None:
                continue
            hit = self._classify(call, function)
            if hit is not None:
                if hit.reason is None and hit.rule == "UFA005" and self.view.in_generator_expression(call):
                    hit.reason = "the call is inside a generator expression, where `await` would make it async"
                found.append(hit)
        return found

    def _classify(self, call: cst.Call, function: cst.FunctionDef) -> Optional[Hit]:
        if not isinstance(call.func, (cst.Name, cst.Attribute)):
            return None  # `httpx.get(u)(x)` calls what the request returned (LibCST names it `httpx.get`)
        qualified = self.view.imported(call.func)
        what = code(call.func)
        for name in sorted(qualified):
            lib, _, method = name.partition(".")
            if lib in LIBRARIES and method in FUNCTIONS:
                return self._function_hit(call, function, what, lib, method)
            if name in URLLIB_FUNCTIONS:
                kind = URLLIB_FUNCTIONS[name]
                return Hit("UFA006", kind, call, function, what, reason=URLLIB_REASONS[kind])
        if not isinstance(call.func, cst.Attribute):
            return None
        binding = self.bindings.of(call.func.value)
        if binding is None:
            return None
        method = call.func.attr.value
        libs = {CLIENT_CLASSES[t] for t in binding.types if t in CLIENT_CLASSES}
        if libs and method in CLIENT_METHODS:
            lib = sorted(libs)[0]
            hit = Hit("UFA005", "client", call, function, what, lib=lib, method=method, binding=binding)
            self._client_fixability(hit)
            return hit
        if binding.types & URLLIB3_POOLS:
            return Hit("UFA006", "pool", call, function, what, reason=URLLIB_REASONS["pool"])
        return None

    def _function_hit(self, call, function, what, lib, method) -> Hit:
        hit = Hit("UFA005", "function", call, function, what, lib=lib, method=method)
        args = list(call.args)
        keywords = {a.keyword.value for a in args if a.keyword is not None}
        if any(a.star for a in args):
            hit.reason = "arguments are forwarded with * or **; they cannot be mapped"
        elif keywords & set(CLIENT_LEVEL):
            options = ", ".join(f"`{k}=`" for k in CLIENT_LEVEL if k in keywords)
            hit.reason = f"{options} configures a client, not a request: give a dedicated AsyncClient these options"
        elif lib != self.context.settings.target:
            hit.reason = f"the shared client is {self.context.settings.target}'s, not {lib}'s (exceptions would differ)"
        elif method == "request" and len([a for a in args if a.keyword is None]) > 2 + len(REQUEST_POSITIONAL):
            hit.reason = "too many positional arguments"
        elif method == "stream":
            hit.stream, hit.reason = stream_block(call, function, self.view)
        if hit.reason is None:
            timeout = next((a.value for a in args if a.keyword is not None and a.keyword.value == "timeout"), None)
            if timeout is not None and not isinstance(timeout, (cst.Integer, cst.Float)) and not m.matches(timeout, m.Name("None")):
                hit.unsafe.append(f"`timeout=` is passed through: on the shared client it also bounds the wait for a "
                                  f"free connection, which `{lib}.{method}()` never had")
            if "follow_redirects" in keywords:
                hit.notes.append("the shared client follows at most 30 redirects (a throwaway client: 20)")
        return hit

    def _client_fixability(self, hit: Hit) -> None:
        binding = hit.binding
        if binding.kind != "with":
            hit.reason = KEPT_CLIENT_REASONS[binding.kind].format(lib=hit.lib)
            return
        if hit.method not in AWAITABLE:
            hit.reason = f"`.{hit.method}()` on the client has no direct async twin here; convert the block by hand"
            return
        with_node = binding.node
        if self.view.async_function_of(with_node) is not hit.function:
            hit.reason = "the client is created outside this function"
        elif with_node.asynchronous is not None or len(with_node.items) != 1:
            hit.reason = "the `with` statement manages several things; convert it by hand"
        else:
            constructor = with_node.items[0].item
            if any(a.star or (a.keyword is not None and a.keyword.value in ("transport", "mounts", "event_hooks", "app"))
                   for a in constructor.args):
                hit.reason = "the client has sync-only options (transport, mounts, event hooks, app); convert it by hand"
            elif self._other_uses(with_node):
                hit.reason = self._other_uses(with_node)

    def _other_uses(self, with_node: cst.With) -> Optional[str]:
        """Why the block's client cannot become async, or None: every use must be a request
        we can await, or an attribute that both clients have."""
        name = with_node.items[0].asname.name
        if not isinstance(name, cst.Name):
            return "the client is unpacked"
        for use in m.findall(with_node.body, m.Name(name.value)):
            parent = self.view.parents.get(use)
            if not (isinstance(parent, cst.Attribute) and parent.value is use):
                return f"`{name.value}` is passed on or used as a value; it would become an AsyncClient there too"
            grand = self.view.parents.get(parent)
            if isinstance(grand, cst.Call) and grand.func is parent and parent.attr.value in CLIENT_METHODS:
                if parent.attr.value not in AWAITABLE:
                    return f"`.{parent.attr.value}()` has no direct async twin; convert the block by hand"
                if self.view.async_function_of(grand) is None or self.view.in_generator_expression(grand):
                    return "a request in the block runs where `await` cannot go (nested function, lambda, generator)"
        return None


def _whole_blocks(every: List[Hit], reported: List[Hit]) -> None:
    """A `with httpx.Client()` block becomes async whole or not at all: when one of its requests
    cannot be awaited (or is suppressed, so it must stay as written), none of them is fixed."""
    shown = {id(hit) for hit in reported}
    for block in _with_blocks(every).values():
        reasons = [h.reason for h in block if h.reason is not None]
        if any(id(h) not in shown for h in block):
            reasons.append("a request in the same block is suppressed and must stay sync")
        if reasons:
            for hit in block:
                hit.reason = hit.reason or f"another request on this client cannot be converted ({reasons[0]})"


def _with_blocks(hits: List[Hit]) -> Dict[cst.CSTNode, List[Hit]]:
    blocks: Dict[cst.CSTNode, List[Hit]] = {}
    for hit in hits:
        if hit.kind == "client" and hit.binding.kind == "with":
            blocks.setdefault(hit.binding.node, []).append(hit)
    return blocks


class _Rewrite:
    def __init__(self, view: ModuleView, context: PassContext) -> None:
        self.view = view
        self.settings = context.settings
        self.source = source_for(context)
        self.edits: Dict[cst.CSTNode, Callable] = {}
        self.module_client = False
        self.classes: Set[str] = set()
        self.from_imports: Set[Tuple[str, str]] = set()

    def apply(self, chosen: List[Hit]) -> str:
        for hit in chosen:
            if hit.kind == "function":
                self._function(hit)
            else:
                self._block_call(hit)
        module = self.view.module.visit(ReplaceNodes(self.edits))
        module = ensure_clients(
            module, self.settings, module_client=self.module_client, class_names=sorted(self.classes),
            add_imports=[(self.settings.target, None)] + [(lib, None) for lib, _ in self.from_imports],
            remove_unused=list(self.from_imports), source=self.source,
        )
        return module.code

    def _client(self, function: cst.FunctionDef) -> cst.BaseExpression:
        class_def = self.view.method_class(function)
        if class_def is not None:
            self.classes.add(class_def.name.value)
        else:
            self.module_client = True
        return client_expression(self.settings, class_def is not None, self.source)

    def _function(self, hit: Hit) -> None:
        client = self._client(hit.function)
        lib = hit.lib
        original = hit.call

        def edit(updated: cst.Call) -> cst.BaseExpression:
            args = _keyword_request_args(list(updated.args), hit.method)
            keywords = {a.keyword.value for a in args if a.keyword is not None}
            for index, arg in enumerate(args):
                if arg.keyword is not None and arg.keyword.value == "timeout" and isinstance(arg.value, (cst.Integer, cst.Float)):
                    args[index] = arg.with_changes(value=cst.parse_expression(f"{lib}.Timeout({code(arg.value)}, pool=None)"))
            if "follow_redirects" not in keywords:
                args.append(_keyword("follow_redirects", "False"))
            if "timeout" not in keywords:
                # httpx's module functions time out after 5 s; never waiting for a pool slot, like them.
                args.append(_keyword("timeout", f"{lib}.Timeout(5.0, pool=None)"))
            args = _fix_commas(args)
            call = cst.Call(func=cst.Attribute(value=client, attr=cst.Name(hit.method)), args=one_line_arguments(args))
            if hit.stream is not None:
                return call  # the context manager of the `async with`
            return awaited(original, call, self.view.parents)

        self.edits[original] = edit
        if hit.stream is not None:
            self.edits.update(hit.stream.edits(self.view.parents))

    def _block_call(self, hit: Hit) -> None:
        original = hit.call
        self.edits[original] = lambda updated: awaited(original, updated.with_changes(lpar=[], rpar=[]), self.view.parents)
        with_node = hit.binding.node
        if with_node in self.edits:
            return
        constructor = with_node.items[0].item
        if isinstance(constructor.func, cst.Attribute):
            new_func = constructor.func.with_changes(attr=cst.Name("AsyncClient"))
        else:
            new_func = cst.parse_expression(f"{hit.lib}.AsyncClient")
            self.from_imports.add((hit.lib, code(constructor.func)))

        def edit(updated: cst.With) -> cst.With:
            item = updated.items[0]
            return updated.with_changes(
                asynchronous=cst.Asynchronous(),
                items=[item.with_changes(item=item.item.with_changes(func=new_func))],
            )

        self.edits[with_node] = edit


def _keyword_request_args(args: List[cst.Arg], method: str) -> List[cst.Arg]:
    """`httpx.request("GET", u, {"q": 1})` passes params positionally; the client's request() takes
    keywords only after (method, url)."""
    if method != "request":
        return args
    positional = [a for a in args if a.keyword is None]
    result = positional[:2]
    for name, arg in zip(REQUEST_POSITIONAL, positional[2:]):
        result.append(_keyword(name, "").with_changes(value=arg.value, comma=arg.comma))
    return result + [a for a in args if a.keyword is not None]


def _keyword(name: str, value: str) -> cst.Arg:
    """`name=value` written the way people write it (no spaces around `=`)."""
    return cst.parse_expression(f"f({name}={value or 'None'})").args[0]


def _fix_commas(args: List[cst.Arg]) -> List[cst.Arg]:
    """Every argument but the last needs a comma once arguments were appended."""
    fixed = []
    for index, arg in enumerate(args):
        last = index == len(args) - 1
        if not last and arg.comma is cst.MaybeSentinel.DEFAULT:
            arg = arg.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
        fixed.append(arg)
    return fixed

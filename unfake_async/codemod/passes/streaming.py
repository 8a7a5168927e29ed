"""UFA007 blocking-stream: `requests.get(u, stream=True)` read chunk by chunk in async code.

A streamed requests response blocks twice: the request itself, and every `iter_content()` /
`iter_lines()` step, which reads the socket. Pushing the request onto a thread
(`run_in_executor`, `to_thread`) does not help the second part: the loop over the body still
runs on the event loop. The fix is httpx's stream API on the shared client:

    r = requests.get(url, stream=True)          async with _http_client().stream("GET", url) as r:
    for chunk in r.iter_content(8192):    →         async for chunk in r.aiter_bytes(8192):
        f.write(chunk)                                  f.write(chunk)

for `r = <call>` (the block runs to the last statement that uses `r`) and `with <call> as r:`,
when the response does not leave that block (stream_usage.py); otherwise the call is reported.
The core pass leaves these calls to this one (detect.py skips them while UFA007 is enabled).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Set

import libcst as cst
from libcst.metadata import ParentNodeProvider, QualifiedNameProvider, ScopeProvider

from unfake_async.codemod.analysis.names import REQUESTS_REACH, REQUESTS_REFERENCES, resolved
from unfake_async.codemod.analysis.sites import RequestCall, Site
from unfake_async.codemod.analysis.stream_sites import is_stream_site, stream_argument
from unfake_async.codemod.analysis.stream_usage import StreamPlan, UsagePlanner
from unfake_async.codemod.engine.layout.wrap import one_line_arguments
from unfake_async.codemod.engine.model import FixSafety
from unfake_async.codemod.engine.pass_protocol import PassContext, PassOutcome
from unfake_async.codemod.migrate import cleanup, exceptions
from unfake_async.codemod.migrate.arguments import map_arguments
from unfake_async.codemod.migrate.client import with_requests_defaults
from unfake_async.codemod.migrate.client_source import ACCESSOR
from unfake_async.codemod.migrate.shared_client import client_expression, ensure_clients, source_for

RULE_ID = "UFA007"
MESSAGES = {
    "direct": "`{what}(..., stream=True)` blocks the event loop inside `async def`, for the request and again for every chunk read from the body",
    "offload": "`{what}(..., stream=True)` runs in a thread via `{via}`, but its body is then read on the event loop: every chunk read blocks it",
}
_NOT_CONTAINED = ("requests exceptions raised here can reach callers, who may catch requests.RequestException; "
                  "they now get httpx exceptions")


@dataclass
class StreamSite:
    site: Site
    response: Optional[cst.Name] = None
    # `with <call> as r:` or the `r = <call>` statement line, and the statements the stream spans.
    with_node: Optional[cst.With] = None
    statement: Optional[cst.SimpleStatementLine] = None
    region: List[cst.BaseStatement] = field(default_factory=list)
    usage: StreamPlan = field(default_factory=StreamPlan)
    stream_call: Optional[cst.Call] = None
    tries: List[cst.Try] = field(default_factory=list)
    blockers: List[str] = field(default_factory=list)
    unsafe: List[str] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)

    @property
    def safety(self) -> FixSafety:
        if self.blockers:
            return FixSafety.NONE
        return FixSafety.UNSAFE if self.unsafe else FixSafety.SAFE


class _Planner:
    def __init__(self, context: PassContext) -> None:
        wrapper = context.wrapper
        self.settings = context.settings
        self.source = source_for(context)
        self.module = wrapper.module
        self.parents = wrapper.resolve(ParentNodeProvider)
        self.scopes = wrapper.resolve(ScopeProvider)
        self._qnames = wrapper.resolve(QualifiedNameProvider)
        self.usage = UsagePlanner(self.parents, self.scopes, self.qualified)

    def qualified(self, node: cst.CSTNode) -> Set[str]:
        return {q.name for q in resolved(self._qnames.get(node))}

    def plan(self, site: Site) -> StreamSite:
        stream = StreamSite(site, blockers=list(site.blockers), unsafe=list(site.unsafe))
        if site.wrapper is not None or not site.awaited:
            stream.blockers.append("the thread's result is post-processed or not awaited here")
            return stream
        self._bind(stream)
        if stream.response is None:
            return stream
        kept = [a for a in site.request.args if not _is_stream_arg(a)]
        if kept and site.request.args and kept[-1] is not site.request.args[-1]:
            kept[-1] = kept[-1].with_changes(comma=site.request.args[-1].comma)
        call = map_arguments(RequestCall(site.request.method, site.request.receiver, kept), self.qualified)
        stream.blockers += call.blockers
        stream.unsafe += call.unsafe
        stream.notes += call.notes
        flag = stream_argument(site)
        if not (isinstance(flag, cst.Name) and flag.value == "True"):
            stream.unsafe.append("stream= is not the literal True: the fix always streams the body")
        stream.usage = self.usage.plan(self._references(stream), site.function, call.follows_redirects)
        stream.blockers += stream.usage.blockers
        stream.unsafe += stream.usage.unsafe
        if stream.blockers:
            return stream
        args = list(call.args)
        if call.method != "request":
            args.insert(0, cst.Arg(cst.SimpleString(f'"{call.method.upper()}"'),
                                   comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))))
        client = client_expression(self.settings, self.in_class_method(site), self.source)
        if self.source.kind == ACCESSOR:
            args = with_requests_defaults(args, self.settings)
        stream.stream_call = cst.Call(func=cst.Attribute(client, cst.Name("stream")), args=one_line_arguments(args))
        self._tries(stream)
        return stream

    def _bind(self, stream: StreamSite) -> None:
        """Where the response is bound: `with <call> as r:` or `r = <call>` in a block."""
        node = stream.site.node
        parent = self.parents.get(node)
        if isinstance(parent, cst.WithItem) and isinstance(parent.asname and parent.asname.name, cst.Name):
            with_node = self.parents.get(parent)
            if len(with_node.items) != 1 or with_node.asynchronous is not None:
                stream.blockers.append("the `with` statement enters other context managers too")
                return
            stream.with_node, stream.response = with_node, parent.asname.name
            stream.region = list(with_node.body.body)
            return
        line = self.parents.get(parent)
        block = self.parents.get(line)
        if not (isinstance(parent, cst.Assign) and len(parent.targets) == 1 and isinstance(parent.targets[0].target, cst.Name)
                and isinstance(line, cst.SimpleStatementLine) and len(line.body) == 1
                and isinstance(block, cst.IndentedBlock)):
            stream.blockers.append("the streamed response is not bound by `r = ...` or `with ... as r:`")
            return
        stream.statement, stream.response = line, parent.targets[0].target
        following = list(block.body)[list(block.body).index(line) + 1:]
        names = {id(n) for n in self._raw_references(stream.response)}
        using = [i for i, statement in enumerate(following) if _contains_any(statement, names)]
        stream.region = following[: using[-1] + 1] if using else []

    def _raw_references(self, target: cst.Name) -> List[cst.CSTNode]:
        scope = self.scopes.get(target)
        if scope is None:
            return []
        return [ref.node for a in scope.assignments[target.value] if a.node is target for ref in a.references]

    def _references(self, stream: StreamSite) -> List[cst.Name]:
        """Every use of the response; each must sit in the stream's block."""
        target = stream.response
        scope = self.scopes.get(target)
        if scope is not None and len(scope.assignments[target.value]) != 1:
            stream.blockers.append(f"`{target.value}` is assigned more than once")
        references = self._raw_references(target)
        region = {id(n) for statement in stream.region for n in _walk(statement)}
        if any(id(node) not in region for node in references):
            stream.blockers.append(f"`{target.value}` is used outside the block the stream would span")
        return [n for n in references if isinstance(n, cst.Name)]

    def in_class_method(self, site: Site) -> bool:
        function = site.function
        if site.class_def is None or site.class_def not in self.module.body or not function.params.params:
            return False
        return function.params.params[0].name.value == "self" and not function.decorators

    def _tries(self, stream: StreamSite) -> None:
        anchor = stream.with_node or stream.statement
        child, current = anchor, self.parents.get(anchor)
        contained = False
        while current is not None and current is not stream.site.function:
            if isinstance(current, cst.Try) and child is current.body:
                stream.tries.append(current)
                contained |= any(exceptions.catches_every_requests_error(h, self.qualified)
                                 and not exceptions.reraises(h) for h in current.handlers)
            child, current = current, self.parents.get(current)
        loops = {id(loop) for loop in stream.usage.loops}
        for statement in stream.region:
            for node in _walk(statement):
                if isinstance(node, cst.Try) and any(id(n) in loops for n in _walk(node.body)):
                    stream.tries.append(node)
        if not contained:
            stream.unsafe.append(_NOT_CONTAINED)


def _is_stream_arg(arg: cst.Arg) -> bool:
    return arg.keyword is not None and arg.keyword.value == "stream"


def _walk(node: cst.CSTNode):
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(current.children)


def _contains_any(node: cst.CSTNode, ids: Set[int]) -> bool:
    return any(id(n) in ids for n in _walk(node))


class _Rewriter(cst.CSTTransformer):
    def __init__(self, streams: List[StreamSite], handlers: Dict[cst.ExceptHandler, cst.ExceptHandler]) -> None:
        super().__init__()
        self.edits: Dict[cst.CSTNode, object] = {}
        self.loops: Set[int] = set()
        self.withs = {s.with_node: s for s in streams if s.with_node is not None}
        self.statements = {s.statement: s for s in streams if s.statement is not None}
        self.region_ids: Dict[int, StreamSite] = {}
        self.handlers = handlers
        for stream in streams:
            self.edits.update(stream.usage.edits)
            self.loops.update(id(loop) for loop in stream.usage.loops)

    def on_leave(self, original_node, updated_node):
        updated_node = super().on_leave(original_node, updated_node)
        edit = self.edits.get(original_node)
        return edit(updated_node) if edit is not None else updated_node

    def leave_For(self, original_node: cst.For, updated_node: cst.For) -> cst.For:
        if id(original_node) in self.loops:
            return updated_node.with_changes(asynchronous=cst.Asynchronous())
        return updated_node

    def leave_ExceptHandler(self, original_node, updated_node):
        mapped = self.handlers.get(original_node)
        if mapped is None:
            return updated_node
        return updated_node.with_changes(type=mapped.type, whitespace_after_except=cst.SimpleWhitespace(" "))

    def leave_With(self, original_node: cst.With, updated_node: cst.With) -> cst.With:
        stream = self.withs.get(original_node)
        if stream is None:
            return updated_node
        item = updated_node.items[0].with_changes(item=stream.stream_call)
        return updated_node.with_changes(asynchronous=cst.Asynchronous(), items=[item])

    def leave_IndentedBlock(self, original_node: cst.IndentedBlock, updated_node: cst.IndentedBlock):
        originals = list(original_node.body)
        if not any(statement in self.statements for statement in originals):
            return updated_node
        body: List[cst.BaseStatement] = []
        index = 0
        updated = list(updated_node.body)
        while index < len(originals):
            stream = self.statements.get(originals[index])
            if stream is None:
                body.append(updated[index])
                index += 1
                continue
            count = len(stream.region)
            inner = updated[index + 1: index + 1 + count] or [cst.SimpleStatementLine([cst.Pass()])]
            target = cst.AsName(stream.response)
            body.append(cst.With(
                items=[cst.WithItem(stream.stream_call, asname=target)],
                body=cst.IndentedBlock(body=inner),
                asynchronous=cst.Asynchronous(),
                leading_lines=originals[index].leading_lines,
            ))
            index += 1 + count
        return updated_node.with_changes(body=body)


class StreamingPass:
    """Rule UFA007."""

    rule_ids = (RULE_ID,)
    required_names = REQUESTS_REFERENCES  # its sites are the core detector's
    coroutine_reach = REQUESTS_REACH

    def run(self, context: PassContext) -> PassOutcome:
        from unfake_async.codemod.analysis.detect import Detector
        from unfake_async.rules import CALL_RULE_MODULES

        detector = Detector(context.settings, CALL_RULE_MODULES, skip_streams=False)
        context.wrapper.visit(detector)
        planner = _Planner(context)
        findings, chosen = [], []
        for site in detector.sites:
            if not is_stream_site(site) or not context.reportable(RULE_ID, site.report_node):
                continue
            stream = planner.plan(site)
            safety = stream.safety
            wanted = context.wants_fix(safety)
            if wanted:
                chosen.append(stream)
            shape = "direct" if site.rule_id == "UFA003" else "offload"
            via = site.via or "run_in_executor"
            findings.append(context.finding(
                RULE_ID, MESSAGES[shape].format(what=site.what, via=via) + site.unforwarded_note(),
                site.report_node, fix=safety,
                reason="; ".join(dict.fromkeys(stream.blockers or stream.unsafe)) or None,
                notes=stream.notes, fixed=wanted))
        if not chosen:
            return PassOutcome(findings=findings)
        fixed_source = self._rewrite(context, planner, chosen, detector.sites)
        return PassOutcome(findings=findings, fixed_source=fixed_source,
                           created_files=planner.source.created_files(fixed_source or ""))

    def _rewrite(self, context: PassContext, planner: _Planner, chosen: List[StreamSite], sites: List[Site]) -> str:
        chosen_nodes = {id(s.site.node) for s in chosen}
        handlers: Dict[cst.ExceptHandler, cst.ExceptHandler] = {}
        for stream in chosen:
            for try_node in stream.tries:
                inside = {id(n) for n in _walk(try_node.body)}
                keep = any(id(s.node) in inside and id(s.node) not in chosen_nodes for s in sites)
                for handler in try_node.handlers:
                    mapped, notes = exceptions.map_handler(handler, planner.qualified, keep, False, context.settings.target)
                    if mapped is not None:
                        handlers[handler] = mapped
        module = context.module.visit(_Rewriter(chosen, handlers))
        names: Set[str] = set()
        for stream in chosen:
            loop = getattr(stream.site.report_node, "func", None)
            if isinstance(loop, cst.Attribute) and isinstance(loop.value, cst.Name):
                names.add(loop.value.value)
            if isinstance(stream.site.executor, cst.Name):
                names.add(stream.site.executor.value)
        module = cleanup.remove_dead_code(module, names, set())
        in_class = [s for s in chosen if planner.in_class_method(s.site)]
        module = ensure_clients(module, context.settings, source=planner.source,
                                module_client=len(in_class) < len(chosen),
                                class_names={s.site.class_def.name.value for s in in_class},
                                # the executor's partial may be gone too
                                remove_unused=[("requests", None), ("functools", None)])
        code = module.code
        return code if code != context.source else None

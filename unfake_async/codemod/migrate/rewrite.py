"""Apply the planned edits: awaited client calls, response fixes, except clauses, client code.

One transformer pass over the metadata-wrapped module. Every edit is keyed by the original node
it replaces (nodes are compared by identity), and built from the updated node so that edits
nested in one another compose.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Set, Tuple

import libcst as cst
import libcst.matchers as m

from unfake_async.codemod.analysis.async_scope import in_place_of
from unfake_async.codemod.analysis.names import build_call
from unfake_async.codemod.analysis.names import code as _code
from unfake_async.codemod.engine.layout.wrap import one_line_arguments
from unfake_async.codemod.engine.metadata import WalksTowardsTargets
from unfake_async.codemod.migrate import cleanup, exceptions, home_assistant
from unfake_async.codemod.migrate import client as client_code
from unfake_async.codemod.migrate.client_source import ACCESSOR, FACTORY_NAME, INLINE_SOURCE, ClientSource
from unfake_async.codemod.migrate.plan import SitePlan
from unfake_async.codemod.migrate.session_attribute import SessionAttributeMigration
from unfake_async.settings import Settings


def client_expression(plan: SitePlan, settings: Settings, source: ClientSource = INLINE_SOURCE) -> cst.BaseExpression:
    if plan.hass is not None:
        return home_assistant.client_expression(plan)
    if plan.client == "session":
        return plan.site.request.receiver.expression
    if plan.client == "class" and (plan.session is not None or not source.shared):
        getter = f"self.{settings.client_getter}"
        return build_call(getter) or cst.parse_expression(f"{getter}()")
    if source.shared:
        # Classes without state of their own (a Session's headers, auth, cookies) share it too.
        return cst.parse_expression(source.call_code)
    function = settings.module_client_function
    return build_call(function) or cst.parse_expression(f"{function}()")


def _uses_shared_accessor(plan: SitePlan, source: ClientSource) -> bool:
    return source.shared and plan.client in ("class", "module") and plan.session is None and plan.hass is None


def _has_httpx_defaults(plan: SitePlan, source: ClientSource) -> bool:
    """The call's client is not ours: requests' behaviour is written out per call."""
    return plan.hass is not None or (source.kind == ACCESSOR and _uses_shared_accessor(plan, source))


def replacement(plan: SitePlan, original: cst.CSTNode, parents, settings: Settings,
                source: ClientSource = INLINE_SOURCE) -> cst.BaseExpression:
    """The expression that takes the place of the site's node."""
    site = plan.site
    func = cst.Attribute(value=client_expression(plan, settings, source), attr=cst.Name(plan.call.method))
    args = one_line_arguments(plan.call.args)
    if _has_httpx_defaults(plan, source):
        args = client_code.with_requests_defaults(args, settings)
    call = cst.Call(func=func, args=args)
    if not site.awaited:
        return cst.parse_expression(f"asyncio.ensure_future({_code(call)})")
    awaited = cst.Await(expression=call)
    if site.wrapper is not None:
        result = site.wrapper(awaited)
    else:
        result = awaited
    if isinstance(original, cst.Await):
        return result.with_changes(
            lpar=list(original.lpar) + list(result.lpar), rpar=list(result.rpar) + list(original.rpar)
        )
    # A direct call: `requests.get(u).json()` needs `(await c.get(u)).json()`.
    return in_place_of(original, result, parents)


class Rewriter(WalksTowardsTargets, cst.CSTTransformer):
    def __init__(
        self,
        plans: Sequence[SitePlan],
        unfixed_nodes: Set[cst.CSTNode],
        parents,
        qualified,
        settings: Settings,
        source: ClientSource = INLINE_SOURCE,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.source = source
        self.notes: Dict[int, List[str]] = {}
        self._builders: Dict[cst.CSTNode, object] = {}
        self._handlers: Dict[cst.ExceptHandler, cst.ExceptHandler] = {}
        self._with_nodes: Set[cst.With] = set()
        self._classes: Dict[cst.ClassDef, List[SitePlan]] = {}
        # Classes whose Session moves onto Home Assistant's create_async_httpx_client.
        self._hass_classes: Dict[cst.ClassDef, SessionAttributeMigration] = {}
        self.needs_module_client = False
        self.needs_hass = False
        self.module_cap: Optional[str] = None
        self.needs_json = False
        for plan in plans:
            node = plan.site.node
            self._builders[node] = lambda updated, p=plan, o=node: replacement(p, o, parents, settings, source)
            for target, builder in plan.edits.items():
                self._builders[target] = builder
            if plan.session is not None:
                for target, builder in plan.session.edits.items():
                    self._builders[target] = builder
            if plan.with_node is not None:
                self._with_nodes.add(plan.with_node)
            if plan.hass is not None:
                self.needs_hass = True
            elif plan.session is not None and plan.session.hass is not None:
                self._hass_classes[plan.site.class_def] = plan.session
            elif _uses_shared_accessor(plan, source):
                self.needs_module_client = True
            elif plan.client == "class":
                self._classes.setdefault(plan.site.class_def, []).append(plan)
            elif plan.client == "module":
                self.needs_module_client = True
        self._plan_handlers(plans, unfixed_nodes, qualified)
        module_caps = {p.site.executor_cap for p in plans if p.client == "module" and p.site.executor_cap}
        if settings.keep_concurrency_cap and source.shared:
            # One client serves every module: one module's executor cannot set its limit.
            for plan in plans:
                if plan.site.executor_cap and _uses_shared_accessor(plan, source):
                    plan.site.notes.append(f"keep-concurrency-cap: max_workers={plan.site.executor_cap} is not "
                                           "kept, the project's shared client has its own connection limit")
        elif settings.keep_concurrency_cap and len(module_caps) == 1:
            self.module_cap = module_caps.pop()

    def _plan_handlers(self, plans, unfixed_nodes, qualified) -> None:
        tries = {}
        for plan in plans:
            for try_node in plan.tries:
                tries.setdefault(try_node, []).append(plan)
        for try_node, members in tries.items():
            inside = set(m.findall(try_node.body, m.DoNotCare()))
            keep_requests = any(node in inside for node in unfixed_nodes)
            uses_json = bool(m.findall(try_node.body, m.Attribute(attr=m.Name("json"))))
            for handler in try_node.handlers:
                mapped, notes = exceptions.map_handler(handler, qualified, keep_requests, uses_json, self.settings.target)
                if mapped is not None:
                    self._handlers[handler] = mapped
                    self.needs_json |= "json.JSONDecodeError" in _code(mapped.type)
                for plan in members:
                    plan.site.notes.extend(n for n in notes if n not in plan.site.notes)

    # Where the walk goes ------------------------------------------------------------------
    def visit_only_towards_changes(self, parents) -> None:
        """Walk only the nodes above something this rewriter may change (`parents`: the parent
        map of the module it will visit). Every change is made in `on_leave` of a node it names
        (a site, an edit, a handler, a `with`, a class) or of a block above one (left empty); a
        node with none below it leaves as it came, so its subtree needs no walk (LibCST's walk
        rebuilds every node it enters: most of the rewrite's cost on a big module)."""
        self.walk_towards([*self._builders, *self._handlers, *self._with_nodes, *self._classes,
                           *self._hass_classes], parents.get)

    # Generic replacement -----------------------------------------------------------------
    def on_leave(self, original_node, updated_node):
        updated_node = super().on_leave(original_node, updated_node)
        builder = self._builders.get(original_node)
        if builder is not None:
            return builder(updated_node)
        return updated_node

    def leave_IndentedBlock(self, original_node, updated_node):
        if not updated_node.body:  # its only statement was the session's close()
            return updated_node.with_changes(body=[cleanup.placeholder_statement()])
        return updated_node

    def leave_ExceptHandler(self, original_node, updated_node):
        mapped = self._handlers.get(original_node)
        if mapped is None:
            return updated_node
        return updated_node.with_changes(type=mapped.type, whitespace_after_except=cst.SimpleWhitespace(" "))

    def leave_With(self, original_node, updated_node):
        if original_node not in self._with_nodes:
            return updated_node
        constructor = client_code.factory_call(self.settings, keep_cookies=True, source=self.source)
        items = [
            item.with_changes(item=cst.parse_expression(constructor)) if item.asname is not None else item
            for item in updated_node.items
        ]
        return updated_node.with_changes(asynchronous=cst.Asynchronous(), items=items)

    # Client code -----------------------------------------------------------------------------
    def leave_ClassDef(self, original_node, updated_node):
        hass_session = self._hass_classes.get(original_node)
        if hass_session is not None:
            return home_assistant.add_session_client(updated_node, self.settings, hass_session)
        plans = self._classes.get(original_node)
        if not plans:
            return updated_node
        caps = {plan.site.executor_cap for plan in plans if plan.site.executor_cap}
        cap = caps.pop() if self.settings.keep_concurrency_cap and len(caps) == 1 else None
        session = next((plan.session for plan in plans if plan.session is not None), None)
        return add_class_client(updated_node, self.settings, max_connections=cap, session=session,
                                source=self.source)

    def needed_imports(self) -> List[Tuple[str, Optional[str]]]:
        """The imports the client code needs (when it is defined elsewhere: only its names)."""
        imports: List[Tuple[str, Optional[str]]] = []
        if self.needs_hass:
            imports.append((home_assistant.HELPER_MODULE, home_assistant.ACCESSOR))
        if self._hass_classes:
            imports += home_assistant.session_client_imports(self.settings)
        if not self.source.shared:
            if self.needs_module_client or self._classes or self._with_nodes:
                imports += client_code.client_imports(self.settings)
            return imports
        if self.needs_module_client:
            imports.append((self.source.module, self.source.accessor))
        if self._classes or self._with_nodes:
            if self.source.has_factory:
                imports.append((self.source.module, FACTORY_NAME))
            imports.append(("asyncio", None))
        return imports

    def add_client_code(self, module: cst.Module) -> cst.Module:
        """Insert the module-level client code this rewrite needs. Called after the import fixes:
        the generated code is long, and import bookkeeping over it costs more than all the rest."""
        if self.source.shared:
            return module
        if self.needs_module_client:
            return add_module_client(module, self.settings, self.module_cap)
        if self._classes or self._with_nodes:
            return add_client_factory(module, self.settings)
        return module


def _top_level_function(module: cst.Module, name: str) -> Optional[int]:
    for index, statement in enumerate(module.body):
        if isinstance(statement, cst.FunctionDef) and statement.name.value == name:
            return index
    return None


def _insert_block(module: cst.Module, code: str, index: int) -> cst.Module:
    """Insert generated statements at `index`, two blank lines around them (PEP 8)."""
    block = client_code.parse_statements(code)
    body = list(module.body)
    blank = [cst.EmptyLine(indent=False), cst.EmptyLine(indent=False)]
    block[0] = block[0].with_changes(leading_lines=blank + list(block[0].leading_lines))
    if index < len(body):
        body[index] = body[index].with_changes(leading_lines=blank + [
            line for line in body[index].leading_lines if line.comment is not None
        ])
    return module.with_changes(body=body[:index] + block + body[index:])


def add_client_factory(module: cst.Module, settings: Settings) -> cst.Module:
    """Insert the client factory (and its transport) before the first def/class, once."""
    if _top_level_function(module, client_code.FACTORY) is not None:
        return module
    index = next(
        (i for i, statement in enumerate(module.body) if isinstance(statement, (cst.FunctionDef, cst.ClassDef))),
        len(module.body),
    )
    return _insert_block(module, client_code.factory_code(settings), index)


def add_module_client(module: cst.Module, settings: Settings, max_connections: Optional[str] = None) -> cst.Module:
    """Insert the module-level per-loop client right after the factory, once."""
    module = add_client_factory(module, settings)
    if _top_level_function(module, settings.module_client_function) is not None:
        return module
    factory = _top_level_function(module, client_code.FACTORY)
    return _insert_block(module, client_code.module_client_code(settings, max_connections), factory + 1)


def _method(class_def: cst.ClassDef, name: str) -> Optional[cst.FunctionDef]:
    for statement in class_def.body.body:
        if isinstance(statement, cst.FunctionDef) and statement.name.value == name:
            return statement
    return None


def add_class_client(class_def: cst.ClassDef, settings: Settings, max_connections: Optional[str] = None,
                     session: Optional[SessionAttributeMigration] = None,
                     source: ClientSource = INLINE_SOURCE) -> cst.ClassDef:
    """Give the class a lazily created client, aclose() and async-with support, once."""
    getter = _method(class_def, settings.client_getter)
    if getter is not None:
        return class_def  # already migrated (or the name is taken: reported by the planner)
    cap = max_connections
    body = list(class_def.body.body)
    init = _method(class_def, "__init__")
    attributes = client_code.parse_statements(client_code.init_attribute_code(settings))
    if init is not None:
        index = body.index(init)
        init_body = list(init.body.body) + attributes
        body[index] = init.with_changes(body=init.body.with_changes(body=init_body))
    else:
        plain = client_code.parse_statements(
            f"{settings.client_attribute} = None\n{settings.client_attribute}_loop = None\n"
        )
        docstring = 1 if body and m.matches(body[0], m.SimpleStatementLine(body=[m.Expr(m.SimpleString())])) else 0
        # Blank lines as black and ruff format want them: after a class docstring, before a def.
        if docstring:
            plain[0] = plain[0].with_changes(leading_lines=[cst.EmptyLine(indent=False)])
        rest = body[docstring:]
        if rest and isinstance(rest[0], (cst.FunctionDef, cst.ClassDef)) and not any(
                line.comment is None for line in rest[0].leading_lines):
            rest[0] = rest[0].with_changes(leading_lines=[cst.EmptyLine(indent=False)] + list(rest[0].leading_lines))
        body = body[:docstring] + plain + rest
    new_members: List[cst.BaseStatement] = []
    new_members += client_code.parse_statements(
        client_code.class_getter_code(
            settings, max_connections=cap, keep_cookies=session is not None,
            options=session.client_options if session is not None else (), source=source,
        )
    )
    aclose = _method(class_def, "aclose")
    if aclose is None:
        new_members += client_code.parse_statements(client_code.class_aclose_code(settings))
    else:
        index = body.index(aclose)
        extra = client_code.parse_statements(client_code.class_close_statements(settings))
        kept = [statement for statement in aclose.body.body if not m.matches(statement, m.SimpleStatementLine(body=[m.Pass()]))]
        body[index] = aclose.with_changes(body=aclose.body.with_changes(body=kept + extra))
    if _method(class_def, "__aenter__") is None:
        new_members += client_code.parse_statements(client_code.AENTER_CODE)
    aexit = _method(class_def, "__aexit__")
    if aexit is None:
        new_members += client_code.parse_statements(client_code.AEXIT_CODE)
    elif not m.findall(aexit, m.Call(func=m.Attribute(value=m.Name("self"), attr=m.Name("aclose")))):
        index = body.index(aexit)
        extra = client_code.parse_statements("await self.aclose()\n")
        body[index] = aexit.with_changes(body=aexit.body.with_changes(body=list(aexit.body.body) + extra))
    new_members = [
        member.with_changes(leading_lines=[cst.EmptyLine(indent=False)]) if isinstance(member, cst.FunctionDef) else member
        for member in new_members
    ]
    return class_def.with_changes(body=class_def.body.with_changes(body=body + new_members))

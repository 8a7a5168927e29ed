"""A `requests.Session` kept on `self` becomes the class's httpx client, with its headers and auth.

    def __init__(self, token):                      def __init__(self, token):
        self.session = requests.Session()               self._client_headers = httpx.Headers()
        self.session.headers["Authorization"] = t       self._client_headers["Authorization"] = t
                                                        self._client = None ...
    async def me(self):                             async def me(self):
        r = await loop.run_in_executor(                 r = await self._get_client().get(u)
            None, self.session.get, u)

The client is created lazily per event loop (`_get_client()`), so the session's configuration is
kept in plain attributes that the getter passes to the client: `httpx.Headers` is
case-insensitive like requests' header dict, and the client keeps cookies like a Session.

Only what provably carries over is migrated: the constructor and header/auth/cookie set-up
written directly in `__init__` (cookies as `httpx.Cookies`, which has requests' `update`, `set`
and `[name] = value`), the request calls found by the rules, and `close()`. In a Home Assistant
integration (`hass`: the class's `self.hass`), `verify = False` carries over too, as the client's
`verify_ssl=False`, and `close()` does nothing: Home Assistant closes the client. Any other use of the
attribute (a sync method sending requests, `verify`/`proxies`/`mount(...)`, headers changed after
construction, the session passed elsewhere) blocks the migration of every call on it, with the
reason: half a session cannot become a client.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Set

import libcst as cst
import libcst.matchers as m

from unfake_async.codemod.analysis.names import code as _code
from unfake_async.codemod.analysis.names import is_session_constructor
from unfake_async.settings import Settings

Builder = Callable[[cst.CSTNode], object]


@dataclass
class SessionAttributeMigration:
    """Everything the rewrite of one `self.<attribute>` Session needs."""

    attribute: str
    blockers: List[str] = field(default_factory=list)
    unsafe: List[str] = field(default_factory=list)
    # Original statement/expression → builder of its replacement (cst.RemoveFromParent() drops it).
    edits: Dict[cst.CSTNode, Builder] = field(default_factory=dict)
    # Keyword arguments for the generated client factory, e.g. "headers=self._client_headers".
    client_options: List[str] = field(default_factory=list)
    # In a Home Assistant integration, the class's `self.hass`: the client then comes from
    # `create_async_httpx_client(self.hass, ...)` (home_assistant.py), `verify = False` on the
    # session becomes `verify_ssl=False`, and Home Assistant closes the client.
    hass: Optional[str] = None
    verify_ssl: bool = True


def _self_attribute(name: str) -> m.Attribute:
    return m.Attribute(value=m.Name("self"), attr=m.Name(name))


def _init(class_def: cst.ClassDef) -> Optional[cst.FunctionDef]:
    for statement in class_def.body.body:
        if isinstance(statement, cst.FunctionDef) and statement.name.value == "__init__":
            return statement
    return None


class _Planner:
    def __init__(self, class_def, attribute, receivers, parents, lookup, settings: Settings, map_auth,
                 hass: Optional[str] = None) -> None:
        self.class_def = class_def
        self.attribute = attribute
        self.receivers = receivers
        self.parents = parents
        self.lookup = lookup
        self.settings = settings
        self.map_auth = map_auth
        self.result = SessionAttributeMigration(attribute, hass=hass)
        self.headers = f"self.{settings.client_attribute}_headers"
        self.auth = f"self.{settings.client_attribute}_auth"
        self.cookies = f"self.{settings.client_attribute}_cookies"
        init = _init(class_def)
        self.init_statements = set(init.body.body) if init is not None else set()
        self.constructors: List[cst.SimpleStatementLine] = []
        self.has_headers = False
        self.has_auth = False
        self.has_cookies = False

    def statement_of(self, node: cst.CSTNode) -> Optional[cst.SimpleStatementLine]:
        current = self.parents.get(node)
        while current is not None and not isinstance(current, cst.SimpleStatementLine):
            if isinstance(current, (cst.BaseCompoundStatement, cst.Lambda)):
                return None
            current = self.parents.get(current)
        return current

    def function_of(self, node: cst.CSTNode) -> Optional[cst.FunctionDef]:
        current = self.parents.get(node)
        while current is not None and not isinstance(current, cst.FunctionDef):
            current = self.parents.get(current)
        return current

    def block(self, reason: str) -> None:
        if reason not in self.result.blockers:
            self.result.blockers.append(reason)

    def run(self) -> SessionAttributeMigration:
        uses = m.findall(self.class_def.body, _self_attribute(self.attribute))
        for use in uses:
            if use in self.receivers:
                continue
            self.classify(use)
        if len(self.constructors) != 1:
            self.block(f"`self.{self.attribute}` is not created exactly once in `__init__`")
        if self.has_headers:
            self.result.client_options.append(f"headers={self.headers}")
        if self.has_auth:
            self.result.client_options.append(f"auth={self.auth}")
        if self.has_cookies:
            self.result.client_options.append(f"cookies={self.cookies}")
        if self.result.blockers:
            self.result.edits.clear()
        return self.result

    def classify(self, use: cst.Attribute) -> None:
        name = f"self.{self.attribute}"
        statement = self.statement_of(use)
        small = statement.body[0] if statement is not None and len(statement.body) == 1 else None
        in_init = statement in self.init_statements
        parent = self.parents.get(use)
        # self.session = requests.Session()
        if in_init and m.matches(small, m.Assign(targets=[m.AssignTarget(target=_self_attribute(self.attribute))])) \
                and is_session_constructor(self.lookup, small.value):
            self.constructors.append(statement)
            self.result.edits[statement] = lambda updated: self.constructor_replacement()
            return
        member = parent.attr.value if isinstance(parent, cst.Attribute) and parent.value is use else None
        # self.session.close()
        if member == "close" and m.matches(small, m.Expr(m.Call(func=m.Attribute(value=_self_attribute(self.attribute),
                                                                                   attr=m.Name("close")), args=[]))):
            function = self.function_of(use)
            if self.result.hass is not None:
                # Home Assistant closes its clients when it stops (their aclose() only warns).
                self.result.edits[statement] = lambda updated: cst.parse_statement(
                    "pass  # Home Assistant closes the HTTP client when it stops\n")
            elif function is not None and function.name.value == "aclose":
                # aclose() is extended to close the client; calling itself would recurse.
                self.result.edits[statement] = lambda updated: cst.RemoveFromParent()
            elif function is not None and function.asynchronous is not None:
                self.result.edits[statement] = lambda updated: cst.parse_statement("await self.aclose()\n")
            else:
                self.result.edits[statement] = lambda updated: cst.RemoveFromParent()
                self.result.unsafe.append(
                    f"the sync `{function.name.value if function else '?'}()` no longer closes the HTTP client "
                    "(it is async now): call `await obj.aclose()` or use `async with obj`"
                )
            return
        if member in ("headers", "auth", "cookies") and in_init:
            if self.plan_config(member, statement, small):
                return
        if member == "verify" and in_init and self.result.hass is not None and m.matches(
                small, m.Assign(targets=[m.AssignTarget(target=m.Attribute(value=_self_attribute(self.attribute)))],
                                value=m.Name("False"))):
            # Home Assistant's client takes it as `verify_ssl=False`.
            self.result.verify_ssl = False
            self.result.edits[statement] = lambda updated: cst.RemoveFromParent()
            return
        where = f"`{name}.{member}`" if member else f"`{name}`"
        snippet = " ".join(_code(statement or use).split())[:60]
        self.block(f"{where} is used outside the migrated request calls (`{snippet}`); "
                   "migrate the session to an httpx.AsyncClient by hand")

    def constructor_replacement(self):
        """`self.session = requests.Session()` becomes the containers of the session's state."""
        lines = []
        if self.has_headers:
            lines.append(f"{self.headers} = {self.settings.target}.Headers()\n")
        if self.has_cookies:
            lines.append(f"{self.cookies} = {self.settings.target}.Cookies()\n")
        if not lines:
            return cst.RemoveFromParent()
        statements = [cst.parse_statement(line) for line in lines]
        return cst.FlattenSentinel(statements) if len(statements) > 1 else statements[0]

    def plan_cookies(self, statement: cst.SimpleStatementLine, small) -> bool:
        """`self.session.cookies.update(X)`, `.set(name, value, ...)` and `[name] = value`:
        httpx.Cookies has the same three."""
        target = m.Attribute(value=_self_attribute(self.attribute), attr=m.Name("cookies"))
        if m.matches(small, m.Expr(m.Call(func=m.Attribute(value=target, attr=m.Name("update") | m.Name("set"))))):
            call = small.value
            if call.func.attr.value == "set" and any(
                    a.keyword is not None and a.keyword.value not in ("domain", "path") for a in call.args):
                return False  # requests' cookie attributes beyond domain and path
            args = ", ".join(_code(a.with_changes(comma=cst.MaybeSentinel.DEFAULT)) for a in call.args)
            method = call.func.attr.value
            self.has_cookies = True
            self.result.edits[statement] = lambda updated: cst.parse_statement(f"{self.cookies}.{method}({args})\n")
            return True
        if m.matches(small, m.Assign(targets=[m.AssignTarget(target=m.Subscript(value=target))])):
            key = _code(small.targets[0].target.slice[0].slice.value)
            value = _code(small.value)
            self.has_cookies = True
            self.result.edits[statement] = lambda updated: cst.parse_statement(f"{self.cookies}[{key}] = {value}\n")
            return True
        return False

    def plan_config(self, member: str, statement: cst.SimpleStatementLine, small) -> bool:
        if member == "cookies":
            return self.plan_cookies(statement, small)
        target_headers = m.Attribute(value=_self_attribute(self.attribute), attr=m.Name("headers"))
        target_auth = m.Attribute(value=_self_attribute(self.attribute), attr=m.Name("auth"))
        if member == "headers":
            # self.session.headers.update(X)
            if m.matches(small, m.Expr(m.Call(func=m.Attribute(value=target_headers, attr=m.Name("update"))))):
                self.has_headers = True
                args = ", ".join(_code(a) for a in small.value.args)
                self.result.edits[statement] = lambda updated: cst.parse_statement(f"{self.headers}.update({args})\n")
                return True
            # self.session.headers[K] = V
            if m.matches(small, m.Assign(targets=[m.AssignTarget(target=m.Subscript(value=target_headers))])):
                self.has_headers = True
                subscript = small.targets[0].target
                key = _code(subscript.slice[0].slice.value)
                value = _code(small.value)
                self.result.edits[statement] = lambda updated: cst.parse_statement(f"{self.headers}[{key}] = {value}\n")
                return True
            # self.session.headers = X (requests then drops its default headers; httpx keeps its own)
            if m.matches(small, m.Assign(targets=[m.AssignTarget(target=target_headers)])):
                self.has_headers = True
                value = _code(small.value)
                self.result.edits[statement] = lambda updated: cst.parse_statement(
                    f"{self.headers} = {self.settings.target}.Headers({value})\n"
                )
                return True
            return False
        if m.matches(small, m.Assign(targets=[m.AssignTarget(target=target_auth)])):
            mapped = self.map_auth(small.value)
            if mapped is None:
                return False
            self.has_auth = True
            value = _code(mapped)
            self.result.edits[statement] = lambda updated: cst.parse_statement(f"{self.auth} = {value}\n")
            return True
        return False


def plan_session_attribute(class_def: cst.ClassDef, attribute: str, receivers: Set[cst.CSTNode], parents,
                           lookup, settings: Settings, map_auth,
                           hass: Optional[str] = None) -> SessionAttributeMigration:
    """Decide how `self.<attribute>` (a requests Session) becomes the class's client.

    `receivers` are the `self.<attribute>` nodes of the request calls being migrated; `map_auth`
    turns a requests auth expression into the httpx one (None when it has no equivalent);
    `hass` is the class's `self.hass` in a Home Assistant integration.
    """
    return _Planner(class_def, attribute, receivers, parents, lookup, settings, map_auth, hass).run()

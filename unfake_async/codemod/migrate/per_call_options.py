"""A per-call client's constructor options → the same options on each request of the shared client.

`async with httpx.AsyncClient(headers=H, timeout=10) as c: await c.get(u)` becomes
`await shared.get(u, headers=H, timeout=...)`. httpx merges client and request options in a known
way (request headers/params update the client's, a request's timeout/auth/follow_redirects win),
so most options move to the call. The shared client's own defaults differ from a bare
`httpx.AsyncClient()` (it follows redirects and has no timeout, to behave like requests), so a
per-call client's *defaults* are written out at each call too: `follow_redirects=False` and
httpx's 5 s timeout. Options that only exist per client (transport, TLS, proxies, limits, ...)
cannot move: they are blockers, with the reason.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional

import libcst as cst

from unfake_async.codemod.analysis.names import code, keyword_arg
from unfake_async.codemod.migrate.arguments import pool_free_timeout

# Options httpx applies per request, so they can move from the constructor to each call.
PER_CALL = ("headers", "params", "timeout", "auth", "follow_redirects", "base_url")
# Options only a client has. Defaults that change nothing are dropped instead (DEFAULTS).
CLIENT_ONLY = {
    "cookies": "cookies= on the client are sent with every request; the shared client keeps no cookies",
    "verify": "verify= is a client setting in httpx (one client per TLS configuration)",
    "cert": "cert= is a client setting in httpx (one client per TLS configuration)",
    "proxy": "proxy= is a client setting in httpx",
    "proxies": "proxies= is a client setting in httpx",
    "mounts": "mounts= (per-URL transports) is a client setting",
    "transport": "a custom transport= is a client setting",
    "limits": "limits= caps this client's own pool; the shared client has its own limits",
    "http2": "http2= is a client setting",
    "event_hooks": "event_hooks= run for every request of the client that has them",
    "max_redirects": "max_redirects= is a client setting (no per-request equivalent)",
    "default_encoding": "default_encoding= is a client setting",
    "app": "app= (an in-process ASGI app) is a client setting",
}
DEFAULTS = {"verify": "True", "http1": "True", "http2": "False", "trust_env": "True", "cookies": "None",
            "proxy": "None", "mounts": "None", "event_hooks": "None"}
REQUEST_METHODS = ("get", "post", "put", "patch", "delete", "head", "options", "request", "stream")
# Methods whose first positional parameter is the HTTP method, then the URL.
METHOD_FIRST = ("request", "stream")


@dataclass
class ClientOptions:
    """What the constructor said, and what keeps the calls from taking it over."""

    values: Dict[str, cst.BaseExpression] = field(default_factory=dict)
    blockers: List[str] = field(default_factory=list)
    unsafe: List[str] = field(default_factory=list)


def read_options(constructor: cst.Call) -> ClientOptions:
    options = ClientOptions()
    for arg in constructor.args:
        if arg.star or arg.keyword is None:
            options.blockers.append("the client is built from forwarded or positional arguments")
            continue
        name, value = arg.keyword.value, arg.value
        if DEFAULTS.get(name) == code(value):
            continue
        if name in PER_CALL:
            options.values[name] = value
            if name in ("headers", "params", "auth", "timeout") and any(
                isinstance(n, cst.Call) for n in _walk(value)
            ) and not _is_timeout_call(value):
                options.unsafe.append(f"{name}= is now evaluated at each request instead of once per client")
        elif name in CLIENT_ONLY:
            options.blockers.append(CLIENT_ONLY[name])
        else:
            options.blockers.append(f"{name}= is a client setting")
    base = options.values.get("base_url")
    if base is not None and not _literal_text(base):
        options.blockers.append("base_url= is not a string literal, so it cannot be joined to each URL here")
    return options


def _walk(node: cst.CSTNode):
    yield node
    for child in node.children:
        yield from _walk(child)


def _is_timeout_call(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Call) and code(node.func).split(".")[-1] == "Timeout"


def _literal_text(node: cst.BaseExpression) -> Optional[str]:
    if isinstance(node, cst.SimpleString) and isinstance(node.evaluated_value, str):
        return node.evaluated_value
    return None


def timeout_value(value: cst.BaseExpression, target: str) -> cst.BaseExpression:
    """A per-call client never waits for a pool slot (its pool is its own): keep it so on the
    shared pool with `pool=None`."""
    if isinstance(value, (cst.Integer, cst.Float)):
        return pool_free_timeout(value, target)
    if _is_timeout_call(value) and len(value.args) == 1 and value.args[0].keyword is None:
        return value.with_changes(args=[value.args[0].with_changes(comma=cst.Comma(
            whitespace_after=cst.SimpleWhitespace(" "))), keyword_arg("pool", cst.Name("None"))])
    return value


def _merged(client_value: cst.BaseExpression, call_value: cst.BaseExpression) -> cst.Dict:
    """`{**client, **call}`: httpx updates the client's headers/params with the request's. Two
    literal dicts become one literal (a later key wins in a display too)."""
    if isinstance(client_value, cst.Dict) and isinstance(call_value, cst.Dict) and client_value.elements:
        first = list(client_value.elements)
        first[-1] = first[-1].with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
        return call_value.with_changes(elements=first + list(call_value.elements))
    return cst.Dict([
        cst.StarredDictElement(client_value, comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))),
        cst.StarredDictElement(call_value),
    ])


def _keys_differ_only_by_case(first: cst.BaseExpression, second: cst.BaseExpression) -> bool:
    """Whether merging two header dicts as Python dicts could differ from httpx's merge (which
    ignores case). False only when both are literal dicts with literal keys that never clash."""
    def keys(node):
        if not isinstance(node, cst.Dict):
            return None
        found = []
        for element in node.elements:
            if not isinstance(element, cst.DictElement) or _literal_text(element.key) is None:
                return None
            found.append(_literal_text(element.key))
        return found

    a, b = keys(first), keys(second)
    if a is None or b is None:
        return True
    return any(x.lower() == y.lower() and x != y for x in a for y in b)


def _join_url(base: str, url: cst.BaseExpression) -> Optional[cst.BaseExpression]:
    """httpx's base_url merge for a URL written as a literal or an f-string (None: cannot tell
    whether the URL is relative). httpx appends the URL's path to the base path with one '/'."""
    base = base if base.endswith("/") else base + "/"
    if isinstance(url, cst.SimpleString) and isinstance(url.evaluated_value, str):
        text = url.evaluated_value
        if "://" in text:
            return url
        joined = base + text.lstrip("/")
        if url.prefix == "" and url.quote in ('"', "'") and "\\" not in joined and url.quote not in joined:
            return url.with_changes(value=f"{url.quote}{joined}{url.quote}")
        return cst.SimpleString(repr(joined))
    if isinstance(url, cst.FormattedString) and url.parts and isinstance(url.parts[0], cst.FormattedStringText):
        head = url.parts[0].value
        if "://" in head or any(c in base for c in "{}\\'\""):
            return url if "://" in head else None
        joined = cst.FormattedStringText(base + head.lstrip("/"))
        return url.with_changes(parts=[joined] + list(url.parts[1:]))
    return None


@dataclass
class CallEdit:
    new_args: List[cst.Arg] = field(default_factory=list)
    blockers: List[str] = field(default_factory=list)
    unsafe: List[str] = field(default_factory=list)


def per_call_arguments(call: cst.Call, method: str, options: ClientOptions, target: str) -> CallEdit:
    """The call's arguments plus the client's options (and the bare client's defaults)."""
    edit = CallEdit()
    if any(arg.star for arg in call.args):
        edit.blockers.append("the request's arguments are forwarded with * or **")
        return edit
    args = list(call.args)
    given = {arg.keyword.value: index for index, arg in enumerate(args) if arg.keyword is not None}
    base = options.values.get("base_url")
    if base is not None and _literal_text(base) is None:
        return edit  # read_options already says why (not a literal): nothing to join
    if base is not None:
        url_index = given.get("url", 1 if method in METHOD_FIRST else 0)
        if url_index >= len(args):
            edit.blockers.append("the request has no URL argument to join to base_url")
            return edit
        joined = _join_url(_literal_text(base), args[url_index].value)
        if joined is None:
            edit.blockers.append("the URL is not a literal, so whether base_url applies is unknown")
            return edit
        args[url_index] = args[url_index].with_changes(value=joined)
    extra: List[cst.Arg] = []
    for name in ("headers", "params"):
        client_value = options.values.get(name)
        if client_value is None:
            continue
        if name in given:
            index = given[name]
            args[index] = args[index].with_changes(value=_merged(client_value, args[index].value))
            if name == "headers" and _keys_differ_only_by_case(client_value, args[index].value):
                edit.unsafe.append("header names that differ only in case are now sent twice")
            if name == "params" and not (isinstance(client_value, cst.Dict) and isinstance(call_value(args, given, name), cst.Dict)):
                edit.unsafe.append("params= are merged as dicts; a list of pairs or a query string would not merge")
        else:
            extra.append(keyword_arg(name, client_value))
    if "auth" in options.values and "auth" not in given:
        extra.append(keyword_arg("auth", options.values["auth"]))
    if "follow_redirects" not in given:
        extra.append(keyword_arg("follow_redirects", options.values.get("follow_redirects", cst.Name("False"))))
    if "timeout" not in given:
        timeout = options.values.get("timeout", cst.Float("5.0"))
        extra.append(keyword_arg("timeout", timeout_value(timeout, target)))
    edit.new_args = _with_commas(args + extra)
    return edit


def call_value(args: List[cst.Arg], given: Dict[str, int], name: str) -> cst.BaseExpression:
    return args[given[name]].value


def _with_commas(args: List[cst.Arg]) -> List[cst.Arg]:
    separator = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
    out = []
    for index, arg in enumerate(args):
        if index < len(args) - 1 and not isinstance(arg.comma, cst.Comma):
            arg = arg.with_changes(comma=separator)
        out.append(arg)
    return out


def follows_redirects(options: ClientOptions, calls_args: List[List[cst.Arg]]) -> bool:
    """Whether any request may follow redirects (then the client's cookie jar mattered)."""
    def truthy(value: Optional[cst.BaseExpression]) -> bool:
        return value is not None and not (isinstance(value, cst.Name) and value.value in ("False", "None"))

    if truthy(options.values.get("follow_redirects")):
        return True
    for args in calls_args:
        for arg in args:
            if arg.keyword is not None and arg.keyword.value == "follow_redirects" and truthy(arg.value):
                return True
    return False


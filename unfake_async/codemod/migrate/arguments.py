"""requests call arguments → httpx call arguments (table A of docs/requests-to-httpx.md).

Positional arguments become keywords by requests' signatures, renamed or re-typed where httpx
differs, and each argument whose behaviour cannot be kept is a blocker (no fix) or an unsafe
reason (the fix may change behaviour), always with the reason in words.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, FrozenSet, List, Optional, Sequence, Tuple

import libcst as cst
import libcst.matchers as m

from unfake_async.codemod.analysis.names import build_call, keyword_arg, positional_arg, reusable
from unfake_async.codemod.analysis.names import code as _code
from unfake_async.codemod.analysis.sites import RequestCall

# requests' positional parameters, module functions (requests/api.py) and Session methods.
MODULE_SIGNATURES: Dict[str, Tuple[str, ...]] = {
    "request": ("method", "url"),
    "get": ("url", "params"),
    "options": ("url",),
    "head": ("url",),
    "post": ("url", "data", "json"),
    "put": ("url", "data"),
    "patch": ("url", "data"),
    "delete": ("url",),
}
SESSION_SIGNATURES: Dict[str, Tuple[str, ...]] = {
    **MODULE_SIGNATURES,
    "get": ("url",),
    "request": (
        "method", "url", "params", "data", "headers", "cookies", "files", "auth", "timeout",
        "allow_redirects", "proxies", "hooks", "stream", "verify", "cert", "json",
    ),
}
# httpx keyword → the requests keyword it replaces.
_RENAMED = {"content": "data", "follow_redirects": "allow_redirects"}
BODYLESS = ("get", "head", "options", "delete")
BODY_ARGUMENTS = ("data", "json", "files", "content")

# Arguments whose behaviour httpx only offers per client, or not at all.
BLOCKING_ARGUMENTS = {
    "cookies": "per-request cookies= is deprecated in httpx and not merged like requests; use a dedicated client",
    "proxies": "per-call proxies= needs a dedicated httpx client (proxy=/mounts=)",
    "verify": "per-call verify= is a client setting in httpx; use a dedicated client",
    "cert": "per-call cert= is a client setting in httpx; use a dedicated client",
    "hooks": "per-request hooks= do not exist in httpx (client event_hooks must be async and cannot replace the response)",
}


@dataclass
class HttpxCall:
    """The httpx call to emit: `client.<method>(<args>)`, plus what the mapping found."""

    method: str
    args: List[cst.Arg]
    blockers: List[str] = field(default_factory=list)
    unsafe: List[str] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)
    # Whether redirects are followed for this call (decides how raise_for_status is rewritten).
    follows_redirects: bool = True
    conditional: bool = False


def _kw(name: str, value: cst.BaseExpression) -> cst.Arg:
    return cst.Arg(
        value=value,
        keyword=cst.Name(name),
        equal=cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")),
    )


def _separators(args: Sequence[cst.Arg]):
    """The comma style between arguments and after the last one, taken from the original call."""
    between = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
    for arg in args[:-1]:
        if isinstance(arg.comma, cst.Comma):
            between = arg.comma
            break
    trailing = args[-1].comma if args else cst.MaybeSentinel.DEFAULT
    if isinstance(trailing, cst.Comma) and not isinstance(trailing.whitespace_after, cst.ParenthesizedWhitespace):
        # The last argument kept was followed by others (dropped or consumed by the helper):
        # a one-line call never ends in `, )`.
        trailing = cst.MaybeSentinel.DEFAULT
    return between, trailing


def _is_none(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Name) and node.value == "None"


def _is_false(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Name) and node.value == "False"


def _is_true(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Name) and node.value == "True"


def _is_text_like(node: cst.BaseExpression) -> bool:
    """Expressions that are certainly str or bytes: literals, f-strings, `.encode()`, json.dumps."""
    if isinstance(node, (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString)):
        return True
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Add):
        return _is_text_like(node.left) or _is_text_like(node.right)
    if m.matches(node, m.Call(func=m.Attribute(attr=m.Name("encode") | m.Name("format")))):
        return True
    return m.matches(node, m.Call(func=m.Attribute(value=m.Name("json"), attr=m.Name("dumps"))))


def _url_has_no_query(node: cst.BaseExpression) -> bool:
    """A literal or f-string URL whose literal text has no `?` (so params= cannot clash)."""
    if isinstance(node, cst.SimpleString):
        return "?" not in node.value
    if isinstance(node, cst.FormattedString):
        return all(
            "?" not in part.value for part in node.parts if isinstance(part, cst.FormattedStringText)
        )
    if isinstance(node, cst.ConcatenatedString):
        return _url_has_no_query(node.left) and _url_has_no_query(node.right)
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Add):
        # base + "/search": a literal path tail means the left part is the base, not a query.
        if isinstance(node.right, cst.BaseString):
            return _url_has_no_query(node.right)
        # "https://host/" + path: like an f-string, only the literal text is known.
        return _url_has_no_query(node.left)
    return False


def _form_dict(node: cst.Dict, what: str, call: HttpxCall) -> cst.Dict:
    """requests drops None values and sends True as "True"; httpx sends "" and "true"."""
    elements = []
    for element in node.elements:
        if isinstance(element, cst.DictElement) and _is_none(element.value):
            continue  # requests drops the key
        if isinstance(element, cst.DictElement) and (_is_true(element.value) or _is_false(element.value)):
            element = element.with_changes(value=cst.SimpleString(f'"{element.value.value}"'))
        if isinstance(element, cst.StarredDictElement):
            call.unsafe.append(f"{what}= unpacks another mapping: None values would be sent as `key=`")
        elements.append(element)
    if elements:
        # The last element's comma as the literal had it (black's magic trailing comma stays).
        elements[-1] = elements[-1].with_changes(comma=node.elements[-1].comma)
    return node.with_changes(elements=elements)


def _timeout(value: cst.BaseExpression, target: str) -> cst.BaseExpression:
    """requests never waits for a pool slot; keep it so under httpx (no PoolTimeout)."""
    if _is_none(value):
        return value
    if isinstance(value, cst.Tuple) and len(value.elements) == 2 and not any(
            isinstance(element, cst.StarredElement) for element in value.elements):
        # requests' (connect, read): write and pool stay unbounded. httpx takes a 2-tuple at run
        # time too, but types `timeout=` as a 4-tuple: spelt out, mypy accepts it.
        connect, read = (element.value for element in value.elements)
        built = reusable(connect) and reusable(read) and build_call(
            f"{target}.Timeout", positional_arg(cst.Name("None")),
            keyword_arg("connect", connect), keyword_arg("read", read))
        return built or cst.parse_expression(
            f"{target}.Timeout(None, connect={_code(connect)}, read={_code(read)})")
    if isinstance(value, cst.Tuple):
        return value
    return pool_free_timeout(value, target)


def pool_free_timeout(value: cst.BaseExpression, target: str) -> cst.BaseExpression:
    """`{target}.Timeout(value, pool=None)`: the timeout of `value` seconds, never waiting for a
    pool slot (built as nodes; parsed where `value` cannot move as it is)."""
    built = reusable(value) and build_call(
        f"{target}.Timeout", positional_arg(value), keyword_arg("pool", cst.Name("None")))
    return built or cst.parse_expression(f"{target}.Timeout({_code(value)}, pool=None)")


def _auth(value: cst.BaseExpression, call: HttpxCall, lookup, target: str) -> Optional[cst.BaseExpression]:
    if isinstance(value, cst.Tuple) or _is_none(value):
        return value
    if isinstance(value, cst.Call):
        names = lookup(value.func)
        for requests_name, httpx_name in (
            ("requests.auth.HTTPBasicAuth", "httpx.BasicAuth"),
            ("requests.auth.HTTPDigestAuth", "httpx.DigestAuth"),
            ("requests.HTTPBasicAuth", "httpx.BasicAuth"),
            ("requests.HTTPDigestAuth", "httpx.DigestAuth"),
        ):
            if requests_name in names:
                return value.with_changes(func=cst.parse_expression(httpx_name.replace("httpx", target, 1)))
        call.blockers.append("a custom requests auth object has no httpx equivalent (write an httpx.Auth)")
        return None
    call.unsafe.append("auth= is not a literal tuple: a requests AuthBase object would not work with httpx")
    return value


def map_auth(value: cst.BaseExpression, call: HttpxCall, lookup, target: str = "httpx") -> Optional[cst.BaseExpression]:
    """A requests `auth=` value as httpx's (blockers/unsafe reasons land on `call`)."""
    return _auth(value, call, lookup, target)


def text_parameters(function: Optional[cst.FunctionDef]) -> FrozenSet[str]:
    """Parameters of `function` annotated `str` or `bytes` that its body never rebinds."""
    if function is None:
        return frozenset()
    params = function.params
    annotated = {
        param.name.value for param in (*params.posonly_params, *params.params, *params.kwonly_params)
        if param.annotation is not None and m.matches(param.annotation.annotation, m.Name("str") | m.Name("bytes"))
    }
    rebound = {
        name for name in annotated
        if m.findall(function.body, m.AssignTarget(target=m.Name(name)) | m.AugAssign(target=m.Name(name))
                     | m.For(target=m.Name(name)) | m.NamedExpr(target=m.Name(name)))
    }
    return frozenset(annotated - rebound)


def map_arguments(request: RequestCall, lookup, target: str = "httpx",
                  text_names: FrozenSet[str] = frozenset()) -> HttpxCall:
    """Translate one requests call into the httpx call that behaves the same. `text_names`:
    names known to hold str or bytes (see `text_parameters`), sent as httpx's `content=`."""
    signatures = MODULE_SIGNATURES if request.receiver.is_module else SESSION_SIGNATURES
    positional_names = signatures.get(request.method, ("url",))
    call = HttpxCall(method=request.method, args=[])
    named: Dict[str, cst.BaseExpression] = {}
    originals: Dict[str, cst.Arg] = {}
    positional = [a for a in request.args if a.keyword is None and not a.star]
    if any(a.star for a in request.args):
        call.blockers.append("arguments are forwarded with * or **; they cannot be mapped")
        return call
    if len(positional) > len(positional_names):
        call.blockers.append("more positional arguments than requests accepts")
        return call
    for name, arg in zip(positional_names, positional):
        named[name] = arg.value
    for arg in request.args:
        if arg.keyword is not None:
            if arg.keyword.value in named:
                call.blockers.append(f"{arg.keyword.value}= is given twice (requests raises TypeError)")
                return call
            named[arg.keyword.value] = arg.value
            originals[arg.keyword.value] = arg
    if "url" not in named:
        call.blockers.append("the call has no URL argument")
        return call
    named_before_mapping = dict(named)

    method_literal = None
    if request.method == "request":
        method_expr = named.pop("method", None)
        if method_expr is None:
            call.blockers.append("requests.request() without a method")
            return call
        if isinstance(method_expr, cst.SimpleString):
            method_literal = method_expr.evaluated_value.upper() if isinstance(method_expr.evaluated_value, str) else None

    for name, reason in BLOCKING_ARGUMENTS.items():
        if name in named:
            if name == "verify" and _is_true(named[name]):
                named.pop(name)
                continue
            if name in ("cookies", "proxies", "hooks", "cert") and _is_none(named[name]):
                named.pop(name)
                continue
            call.blockers.append(reason)
    stream = named.pop("stream", None)
    if stream is not None and not (_is_false(stream) or _is_none(stream)):
        call.blockers.append("stream=True through a Session needs `async with client.stream(...)` by hand (UFA007 rewrites requests.get(..., stream=True))")
    if "files" in named:
        files = named["files"]
        opened = m.findall(files, m.Call(func=m.Name("open")))
        if opened or not isinstance(files, cst.Dict):
            call.blockers.append("files= with file handles would be read on the event loop; read them into bytes first")

    kwargs: List[Tuple[str, cst.BaseExpression]] = []
    merged_into_url: List[str] = []
    url = named.pop("url")
    for name, value in named.items():
        if name == "params":
            if isinstance(value, cst.Dict):
                value = _form_dict(value, "params", call)
            elif not _is_none(value):
                call.unsafe.append("params= values of None are sent as `key=` by httpx (requests drops them)")
            if not _url_has_no_query(url) and not _is_none(value):
                # httpx's params= replaces a query already in the URL; requests appends to it.
                url = cst.parse_expression(
                    f"{target}.URL({_code(url)}).copy_merge_params({_code(value)})"
                )
                call.unsafe.append("a key both in the URL's query and in params= is now sent once (httpx merges by key)")
                merged_into_url.append("params")
                continue
            kwargs.append(("params", value))
        elif name == "data":
            if _is_none(value):
                continue
            if _is_text_like(value):
                kwargs.append(("content", value))
            elif isinstance(value, cst.Name) and value.value in text_names:
                call.unsafe.append(
                    f"data={value.value} is sent as content= because it is annotated str/bytes: "
                    "a dict passed there despite the annotation would now fail"
                )
                kwargs.append(("content", value))
            elif isinstance(value, cst.Dict):
                kwargs.append(("data", _form_dict(value, "data", call)))
            elif isinstance(value, (cst.List, cst.Tuple)):
                call.blockers.append("data= as a list of pairs is not accepted by httpx; use a dict of lists")
            else:
                call.unsafe.append(
                    "data= is not a literal: httpx needs content= for str/bytes and rejects file objects and pair lists"
                )
                kwargs.append(("data", value))
        elif name == "json":
            call.notes.append("httpx serialises json= compactly (no spaces, UTF-8): the bytes on the wire differ")
            kwargs.append(("json", value))
        elif name == "allow_redirects":
            kwargs.append(("follow_redirects", value))
            call.follows_redirects = not _is_false(value)
        elif name == "timeout":
            kwargs.append(("timeout", _timeout(value, target)))
        elif name == "auth":
            mapped = _auth(value, call, lookup, target)
            if mapped is not None:
                kwargs.append(("auth", mapped))
        elif name == "headers":
            if isinstance(value, cst.Dict):
                value = _form_dict(value, "headers", call)
                keys = [
                    e.key.evaluated_value.lower()
                    for e in value.elements
                    if isinstance(e, cst.DictElement) and isinstance(e.key, cst.SimpleString)
                    and isinstance(e.key.evaluated_value, str)
                ]
                call.conditional = any(k.startswith("if-") for k in keys)
            kwargs.append(("headers", value))
        elif name in ("files",):
            kwargs.append((name, value))
        elif name in BLOCKING_ARGUMENTS:
            continue
        else:
            call.blockers.append(f"unknown requests argument {name}=")

    method = request.method
    has_body = any(name in BODY_ARGUMENTS for name, _ in kwargs)
    if method == "head" and "allow_redirects" not in named:
        # requests.head() does not follow redirects; a shared client that follows would.
        kwargs.append(("follow_redirects", cst.Name("False")))
        call.follows_redirects = False
    if method in BODYLESS and has_body:
        method_expr = cst.SimpleString(f'"{method.upper()}"')
        method = "request"
    call.method = method
    if method == "request":
        call.args.append(cst.Arg(method_expr))
        if request.method == "request" and method_literal == "HEAD":
            call.follows_redirects = True
    call.args.append(cst.Arg(url))
    for name, value in kwargs:
        original = originals.get(name) or originals.get(_RENAMED.get(name, ""))
        if original is not None and original.keyword is not None and original.keyword.value == name:
            call.args.append(original.with_changes(value=value))
        elif original is not None and original.keyword is not None:
            call.args.append(original.with_changes(keyword=cst.Name(name), value=value))
        else:
            call.args.append(_kw(name, value))
    if not call.blockers:
        lost = lost_arguments(named_before_mapping, call, merged_into_url)
        if lost:
            call.blockers.append("the fix would drop " + ", ".join(f"{name}=" for name in lost))
    between, trailing = _separators(list(request.args))
    last = len(call.args) - 1
    call.args = [arg.with_changes(comma=trailing if i == last else between) for i, arg in enumerate(call.args)]
    return call


# httpx keywords a requests argument may arrive under (table A).
_ARRIVES_AS = {"data": ("data", "content"), "allow_redirects": ("follow_redirects",)}


def _is_no_op(name: str, value: cst.BaseExpression) -> bool:
    """Arguments table A drops because they ask for requests' default behaviour."""
    if name == "verify":
        return _is_true(value)
    if name in ("cookies", "proxies", "hooks", "cert", "data"):
        return _is_none(value)
    if name == "stream":
        return _is_false(value) or _is_none(value)
    return False


def lost_arguments(named: Dict[str, cst.BaseExpression], call: HttpxCall, merged_into_url: Sequence[str]) -> List[str]:
    """The requests arguments (by name, positional ones by requests' signature) that reach
    neither the httpx call nor table A's list of no-ops: a fix that would lose them is refused.

    Checked on every mapped call, so a shape that forgets an argument cannot produce a fix."""
    emitted = {arg.keyword.value for arg in call.args if arg.keyword is not None}
    lost = []
    for name, value in named.items():
        if name in ("url", "method"):
            continue  # emitted positionally
        if any(alias in emitted for alias in _ARRIVES_AS.get(name, (name,))):
            continue
        if name in merged_into_url:
            continue  # `httpx.URL(url).copy_merge_params(params)`
        if _is_no_op(name, value):
            continue
        lost.append(name)
    return lost


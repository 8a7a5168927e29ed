"""`except requests.X` → the httpx exceptions that fire in the same situations (table B).

`HTTPError` maps to `httpx.HTTPStatusError`, never to `httpx.HTTPError` (the root of every httpx
error, which would also swallow network failures). Broad builtins that used to catch requests
errors because `RequestException` is an `OSError` (and URL errors a `ValueError`) gain the httpx
types, with a note, since httpx exceptions are neither.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple

import libcst as cst

from unfake_async.codemod.analysis.names import code as _code

REQUESTS_TO_HTTPX: Dict[str, Tuple[str, ...]] = {
    "RequestException": ("httpx.HTTPError", "httpx.InvalidURL", "httpx.StreamError"),
    "HTTPError": ("httpx.HTTPStatusError",),
    "ConnectionError": (
        "httpx.ConnectError", "httpx.ConnectTimeout", "httpx.ReadError", "httpx.WriteError",
        "httpx.RemoteProtocolError", "httpx.ProxyError",
    ),
    "ConnectTimeout": ("httpx.ConnectTimeout",),
    "ReadTimeout": ("httpx.ReadTimeout",),
    "Timeout": ("httpx.TimeoutException",),
    "SSLError": ("httpx.ConnectError",),
    "ProxyError": ("httpx.ProxyError", "httpx.ConnectError"),
    "TooManyRedirects": ("httpx.TooManyRedirects",),
    "InvalidURL": ("httpx.InvalidURL", "httpx.UnsupportedProtocol"),
    "MissingSchema": ("httpx.UnsupportedProtocol",),
    "InvalidSchema": ("httpx.UnsupportedProtocol",),
    "InvalidProxyURL": ("ValueError",),
    "URLRequired": (),
    "JSONDecodeError": ("json.JSONDecodeError",),
    "InvalidJSONError": ("ValueError", "TypeError"),
    "ChunkedEncodingError": ("httpx.RemoteProtocolError", "httpx.ReadError"),
    "ContentDecodingError": ("httpx.DecodingError",),
    "InvalidHeader": ("TypeError", "httpx.LocalProtocolError"),
    "StreamConsumedError": ("httpx.StreamConsumed",),
    "UnrewindableBodyError": ("httpx.StreamConsumed",),
}
NOTES = {
    "SSLError": "httpx has no TLS-specific error: except requests.SSLError now catches every httpx.ConnectError",
    "InvalidURL": "some URLs requests rejects as InvalidURL fail later in httpx as ConnectError",
    "RetryError": "httpx has no RetryError (no status retries): the clause can no longer fire for migrated calls",
}
# Builtins that caught requests errors through inheritance, and what they need added.
BROAD_BUILTINS: Dict[str, Tuple[str, ...]] = {
    "OSError": ("httpx.HTTPError", "httpx.InvalidURL"),
    "IOError": ("httpx.HTTPError", "httpx.InvalidURL"),
    "EnvironmentError": ("httpx.HTTPError", "httpx.InvalidURL"),
    "socket.error": ("httpx.HTTPError", "httpx.InvalidURL"),
    "ValueError": ("httpx.InvalidURL", "httpx.UnsupportedProtocol"),
}
# Handlers that catch every error a requests call can raise.
CATCH_ALL = {"builtins.Exception", "builtins.BaseException", "builtins.OSError", "builtins.IOError",
             "builtins.EnvironmentError"}


_KNOWN = frozenset(REQUESTS_TO_HTTPX) | {"RetryError"}


def requests_exception_name(qualified: Sequence[str]) -> Optional[str]:
    for name in qualified:
        for prefix in ("requests.exceptions.", "requests.", "requests.compat."):
            if name.startswith(prefix) and name[len(prefix):] in _KNOWN:
                return name[len(prefix):]
    return None


def handler_types(handler: cst.ExceptHandler) -> List[cst.BaseExpression]:
    if handler.type is None:
        return []
    if isinstance(handler.type, cst.Tuple):
        return [element.value for element in handler.type.elements]
    return [handler.type]


def catches_every_requests_error(handler: cst.ExceptHandler, qualified) -> bool:
    """Bare except, Exception, OSError or RequestException: nothing a requests call raises escapes."""
    if handler.type is None:
        return True
    for expr in handler_types(handler):
        names = qualified(expr)
        if names & CATCH_ALL or requests_exception_name(sorted(names)) == "RequestException":
            return True
    return False


def reraises(handler: cst.ExceptHandler) -> bool:
    import libcst.matchers as m

    return bool(m.findall(handler.body, m.Raise()))


def map_handler(
    handler: cst.ExceptHandler, qualified, keep_requests: bool, uses_json: bool, httpx: str
) -> Tuple[Optional[cst.ExceptHandler], List[str]]:
    """The handler with requests types replaced (kept too when un-migrated calls remain)."""
    notes: List[str] = []
    new_types: List[str] = []
    changed = False

    def add(name: str) -> None:
        name = name.replace("httpx.", f"{httpx}.", 1) if name.startswith("httpx.") else name
        if name not in new_types:
            new_types.append(name)

    for expr in handler_types(handler):
        code = _code(expr)
        names = qualified(expr)
        requests_name = requests_exception_name(sorted(names))
        builtin = next((n[len("builtins."):] for n in names if n.startswith("builtins.")), None)
        if requests_name is not None and requests_name in REQUESTS_TO_HTTPX:
            changed = True
            if keep_requests:
                add(code)
            for replacement in REQUESTS_TO_HTTPX[requests_name]:
                add(replacement)
            if requests_name == "RequestException" and uses_json:
                add("json.JSONDecodeError")
            if requests_name in NOTES:
                notes.append(NOTES[requests_name])
        elif requests_name == "RetryError":
            add(code)
            notes.append(NOTES["RetryError"])
        elif builtin in BROAD_BUILTINS or "socket.error" in names:
            add(code)
            extra = BROAD_BUILTINS[builtin or "socket.error"]
            for replacement in extra:
                add(replacement)
            changed = True
            notes.append(f"except {code} caught requests errors by inheritance; httpx errors are not {code}, so they were added")
        else:
            add(code)
    if not changed:
        return None, notes
    if not new_types:
        return None, notes + ["the except clause only named requests errors with no httpx equivalent"]
    source = new_types[0] if len(new_types) == 1 else "(" + ", ".join(new_types) + ")"
    return handler.with_changes(type=cst.parse_expression(source)), notes

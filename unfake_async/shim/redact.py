"""Keep credentials out of reports.

Reports describe a request by method and URL only (never headers or bodies, so Authorization and
Cookie headers cannot leak). The URL itself is redacted: the password in its user-info, the
values of query parameters whose names look like secrets, and path segments that look like
tokens (long random-looking strings, e.g. a bot token in the path).
"""
from __future__ import annotations

import re
from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit

MASK = "***"

SECRET_NAME = re.compile(
    r"(token|key|secret|pass|pwd|auth|sig|session|cred|jwt|bearer|cookie|code|otp|sid)",
    re.IGNORECASE,
)
# 24+ characters drawn from a token alphabet, with both letters and digits.
TOKEN_SEGMENT = re.compile(r"^(?=.*[A-Za-z])(?=.*\d)[A-Za-z0-9_\-.:=+~]{24,}$")


def redact_url(url: str) -> str:
    """`url` with credentials masked; anything unparsable is masked whole."""
    try:
        parts = urlsplit(str(url))
        netloc = parts.netloc
        if "@" in netloc:
            userinfo, _, hostport = netloc.rpartition("@")
            user = userinfo.split(":", 1)[0]
            netloc = f"{user}:{MASK}@{hostport}" if ":" in userinfo else f"{user}@{hostport}"
        path = "/".join(MASK if TOKEN_SEGMENT.match(seg) else seg for seg in parts.path.split("/"))
        query = "&".join(
            f"{quote(name, safe='')}={MASK if SECRET_NAME.search(name) else quote(value, safe='')}"
            for name, value in parse_qsl(parts.query, keep_blank_values=True)
        )
        return urlunsplit((parts.scheme, netloc, path, query, ""))
    except (ValueError, TypeError):
        return MASK


def redact_headers(headers) -> dict:
    """A copy of `headers` with sensitive values masked (for callers that must show headers)."""
    return {
        name: MASK if SECRET_NAME.search(name) or name.lower() == "authorization" else value
        for name, value in dict(headers or {}).items()
    }

"""Which requests calls are streaming downloads (`stream=True`), owned by rule UFA007.

Kept apart from `streaming.py` so the core detector can ask without importing the whole pass.
"""
from __future__ import annotations

import libcst as cst

from unfake_async.codemod.analysis.sites import Site


def stream_argument(site: Site):
    """The `stream=` value of the site's requests call, or None when it has none."""
    for arg in site.request.args:
        if arg.keyword is not None and arg.keyword.value == "stream":
            return arg.value
    return None


def is_stream_site(site: Site) -> bool:
    """A call through the requests module (not a Session) with `stream=` other than False/None."""
    value = stream_argument(site)
    if value is None or not site.request.receiver.is_module:
        return False
    return not (isinstance(value, cst.Name) and value.value in ("False", "None"))

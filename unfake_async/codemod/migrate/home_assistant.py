"""Home Assistant integrations use Home Assistant's own client (issue 18, part 3).

In a module that imports `homeassistant`, a request whose function has `hass` at hand (a
parameter, or `self.hass` in a class that uses it) goes to
`homeassistant.helpers.httpx_client.get_async_client(hass)`, the client Home Assistant shares
and closes itself (quality scale rules "inject-websession" and "async-dependency"): no client code
is written. That client keeps httpx's defaults, so requests' behaviour (redirects followed, no
timeout) is written out per call, and `verify=False` selects its non-verifying twin
(`get_async_client(hass, verify_ssl=False)`) instead of blocking the fix.

A class that keeps a `requests.Session` (cookies from a login, headers, auth) and has `self.hass`
gets a client of its own from `create_async_httpx_client(self.hass, ...)`, made on first use:
the session's auth and cookies as its keyword arguments, requests' behaviour (redirects, no
timeout) too, since this client is the class's alone, `verify_ssl=False` for `verify = False`,
and the session's headers added after creation (Home Assistant passes its User-Agent as
`headers`, so a second `headers=` would be a TypeError). It is not closed on unload: Home
Assistant replaces the client's `aclose()` with a warning that closes nothing, and with the
default `auto_cleanup=True` closes the client itself when it stops, as for the clients its own
integrations (`rest`) make this way. `auto_cleanup=False` would leave a client that nothing can
close. The session's `close()` becomes a no-op saying so.
"""
from __future__ import annotations

import re
from typing import List, Optional, Tuple

import libcst as cst
import libcst.matchers as m

from unfake_async.codemod.analysis.sites import Site
from unfake_async.codemod.migrate import client as client_code
from unfake_async.codemod.migrate.arguments import BLOCKING_ARGUMENTS
from unfake_async.codemod.migrate.session_attribute import SessionAttributeMigration
from unfake_async.settings import Settings

HELPER_MODULE = "homeassistant.helpers.httpx_client"
ACCESSOR = "get_async_client"
FACTORY = "create_async_httpx_client"
_IMPORTS_HOMEASSISTANT = re.compile(r"^\s*(?:import|from)\s+homeassistant\b", re.M)
_VERIFY_BLOCKER = BLOCKING_ARGUMENTS["verify"]


def is_integration(source: str) -> bool:
    return _IMPORTS_HOMEASSISTANT.search(source) is not None


def hass_in_reach(site: Site) -> Optional[str]:
    """`hass` or `self.hass` where the site's function can reach it, else None."""
    params = site.function.params
    names = [p.name.value for p in list(params.posonly_params) + list(params.params) + list(params.kwonly_params)]
    if "hass" in names:
        return "hass"
    if site.class_def is not None and names and names[0] == "self":
        return class_hass(site.class_def)
    return None


def class_hass(class_def: cst.ClassDef) -> Optional[str]:
    """`self.hass` when the class's methods use it, else None."""
    if m.findall(class_def, m.Attribute(value=m.Name("self"), attr=m.Name("hass"))):
        return "self.hass"
    return None


def verify_disabled(site: Site) -> bool:
    """The call passed `verify=False`."""
    return any(m.matches(arg, m.Arg(keyword=m.Name("verify"), value=m.Name("False"))) for arg in site.request.args)


def adopt(plan) -> None:
    """Move a planned site onto Home Assistant's client where `hass` is in reach (SitePlan.hass)."""
    site = plan.site
    if plan.client not in ("module", "class") or plan.session is not None:
        return  # a Session's own state (cookies, headers) stays in a client of its own
    hass = hass_in_reach(site)
    if hass is None:
        return
    plan.hass = hass
    if verify_disabled(site):
        plan.verify_ssl = False
        site.blockers[:] = [b for b in site.blockers if b != _VERIFY_BLOCKER]


def client_expression(plan) -> cst.BaseExpression:
    arguments = plan.hass + ("" if plan.verify_ssl else ", verify_ssl=False")
    return cst.parse_expression(f"{ACCESSOR}({arguments})")


# -- a class that keeps a Session: a client of its own from create_async_httpx_client -------------


def session_client_imports(settings: Settings) -> List[Tuple[str, Optional[str]]]:
    return [(HELPER_MODULE, FACTORY), (settings.target, None)]


def session_getter_code(settings: Settings, session: SessionAttributeMigration) -> str:
    httpx = client_code.client_module(settings)
    attribute, getter = settings.client_attribute, settings.client_getter
    headers = [o.split("=", 1)[1] for o in session.client_options if o.startswith("headers=")]
    arguments = [session.hass] + ([] if session.verify_ssl else ["verify_ssl=False"]) + [
        "follow_redirects=True,  # requests follows redirects",
        "max_redirects=30,  # requests' limit (httpx: 20)",
    ]
    timeout = client_code.timeout_option(settings)
    if timeout is not None:
        arguments.append(timeout)
    arguments += [o for o in session.client_options if not o.startswith("headers=")]
    lines = "".join(f"\n            {a if a.endswith(',') or '#' in a else a + ','}" for a in arguments)
    update = "".join(
        "\n        # Home Assistant sets its User-Agent as `headers`: the session's are added."
        f"\n        self.{attribute}.headers.update({value})" for value in headers)
    return f'''
def {getter}(self) -> {httpx}.AsyncClient:
    """The client that keeps this object's session (cookies, headers, auth),
        made on first use. Home Assistant closes it when it stops."""
    if self.{attribute} is None:
        self.{attribute} = {FACTORY}({lines}
        ){update}
    return self.{attribute}
'''


def add_session_client(class_def: cst.ClassDef, settings: Settings,
                       session: SessionAttributeMigration) -> cst.ClassDef:
    """Give the class its attribute and getter, once; no aclose(): Home Assistant closes it."""
    body = list(class_def.body.body)
    if any(isinstance(s, cst.FunctionDef) and s.name.value == settings.client_getter for s in body):
        return class_def
    httpx = client_code.client_module(settings)
    attribute = client_code.parse_statements(f'self.{settings.client_attribute}: "{httpx}.AsyncClient | None" = None\n')
    for index, statement in enumerate(body):
        if isinstance(statement, cst.FunctionDef) and statement.name.value == "__init__":
            init_body = list(statement.body.body) + attribute
            body[index] = statement.with_changes(body=statement.body.with_changes(body=init_body))
    getter = client_code.parse_statements(session_getter_code(settings, session))
    getter = [g.with_changes(leading_lines=[cst.EmptyLine(indent=False)]) for g in getter]
    return class_def.with_changes(body=class_def.body.with_changes(body=body + getter))

"""Home Assistant integrations use Home Assistant's own client (issue 18, part 3).

In a module that imports `homeassistant`, a request whose function has `hass` at hand (a
parameter, or `self.hass` in a class that uses it) goes to
`homeassistant.helpers.httpx_client.get_async_client(hass)`, the client Home Assistant shares
and closes itself (quality scale rules "inject-websession" and "async-dependency"): no client code
is written. That client keeps httpx's defaults, so requests' behaviour (redirects followed, no
timeout) is written out per call, and `verify=False` selects its non-verifying twin
(`get_async_client(hass, verify_ssl=False)`) instead of blocking the fix.
"""
from __future__ import annotations

import re
from typing import Optional

import libcst as cst
import libcst.matchers as m

from unfake_async.codemod.analysis.sites import Site
from unfake_async.codemod.migrate.arguments import BLOCKING_ARGUMENTS

HELPER_MODULE = "homeassistant.helpers.httpx_client"
ACCESSOR = "get_async_client"
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
    if site.class_def is not None and names and names[0] == "self" and m.findall(
            site.class_def, m.Attribute(value=m.Name("self"), attr=m.Name("hass"))):
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

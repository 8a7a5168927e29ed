"""The rule catalogue: one module per rule, each defining `RULE` (and `match` for call shapes)."""
from __future__ import annotations

from typing import Dict, List

from unfake_async.rules import (
    ufa001_run_in_executor,
    ufa002_to_thread,
    ufa003_blocking_call,
    ufa004_per_call_client,
    ufa005_sync_httpx,
    ufa006_sync_urllib,
    ufa007_blocking_stream,
    ufa008_sync_helper,
    ufa009_get_event_loop,
    ufa010_time_sleep,
    ufa011_event_loop_blocked,
    ufa012_requests_callable_to_helper,
)
from unfake_async.rules.base import Example, Rule

# Order matters for matching: offload shapes claim a call before the direct-call rule sees it.
# UFA012 (any awaited helper) comes after the known offloads and before the direct call.
CALL_RULE_MODULES = (ufa001_run_in_executor, ufa002_to_thread, ufa012_requests_callable_to_helper, ufa003_blocking_call)

ALL_RULES: List[Rule] = [module.RULE for module in CALL_RULE_MODULES]
ALL_RULES += [ufa004_per_call_client.RULE, ufa007_blocking_stream.RULE]  # per-call clients, streams (issue 7)
ALL_RULES += [ufa005_sync_httpx.RULE, ufa006_sync_urllib.RULE]  # other sync HTTP clients (issue 7)
ALL_RULES += [ufa008_sync_helper.RULE]  # sync helpers behind an executor (issue 7)
ALL_RULES += [ufa009_get_event_loop.RULE, ufa010_time_sleep.RULE]  # loop hygiene (issue 7)

# Rules only the runtime shim reports: catalogued (`unfake-async rule UFA011`), never matched
# or fixed by the static analysis, so they stay out of ALL_RULES.
RUNTIME_RULES: List[Rule] = [ufa011_event_loop_blocked.RULE]  # loop-lag watchdog (issue 16)


def get_rule(rule_id: str) -> Rule:
    by_id: Dict[str, Rule] = {rule.id: rule for rule in ALL_RULES + RUNTIME_RULES}
    return by_id[rule_id.upper()]


__all__ = ["ALL_RULES", "CALL_RULE_MODULES", "RUNTIME_RULES", "Example", "Rule", "get_rule"]

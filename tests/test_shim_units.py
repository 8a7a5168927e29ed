"""Pure units of the shim: redaction, allow rules, summaries, the environment switch."""
from __future__ import annotations

import asyncio
import json
import pickle
import time

import pytest

from unfake_async import shim
from unfake_async.shim import auto, frames
from unfake_async.shim._state import Offload
from unfake_async.shim.offload import Marked
from unfake_async.shim.redact import redact_headers, redact_url
from unfake_async.shim.report import RuntimeFinding, format_summary, load_findings


@pytest.mark.parametrize("url, expected", [
    ("http://127.0.0.1:8000/json", "http://127.0.0.1:8000/json"),
    ("https://bob:pa55@api.example/x", "https://bob:***@api.example/x"),
    ("https://tok3n@api.example/x", "https://tok3n@api.example/x"),
    ("http://h/x?page=2&api_key=abc&Token=t&q=a+b", "http://h/x?page=2&api_key=***&Token=***&q=a%20b"),
    ("http://h/bot123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/send",
     "http://h/***/send"),
    ("http://h/users/42/profile", "http://h/users/42/profile"),
    ("http://h/x#frag-secret", "http://h/x"),
])
def test_redact_url(url, expected):
    assert redact_url(url) == expected


def test_redact_headers():
    headers = {"Authorization": "Bearer x", "Cookie": "a=b", "X-Api-Key": "k", "Accept": "*/*"}
    assert redact_headers(headers) == {
        "Authorization": "***", "Cookie": "***", "X-Api-Key": "***", "Accept": "*/*"
    }


def test_allow_rules_parse_and_match():
    assert frames.parse_allow_rule("pkg.mod") == ("pkg.mod", None)
    assert frames.parse_allow_rule("pkg.mod:Client.get") == ("pkg.mod", "Client.get")
    stack = (frames.FrameInfo("pkg.mod.sub", "f.py", 3, "Client.get", False),)
    assert frames.stack_is_allowed([stack], [("pkg.mod", None)])
    assert frames.stack_is_allowed([stack], [("pkg.mod.sub", "get")])
    assert not frames.stack_is_allowed([stack], [("pkg.mo", None)])
    assert not frames.stack_is_allowed([stack], [("pkg.mod.sub", "post")])
    assert not frames.stack_is_allowed([stack], [])


def test_stack_capture_classifies_user_and_library_frames():
    def user_code():
        return frames.caller_stack(-1)

    stack = user_code()
    assert stack[0].function.endswith("user_code") and not stack[0].infra
    assert frames.first_user_frame(stack) is stack[0]

    async def in_loop():
        return frames.caller_stack(-1)

    stack = asyncio.run(in_loop())
    library = [f for f in stack if f.module.startswith(("asyncio", "_pytest", "pluggy"))]
    assert library and all(f.infra for f in library)
    assert frames.first_user_frame(stack).function.endswith("in_loop")


def test_offload_helper_is_found_between_call_and_user_frame():
    infra = frames.FrameInfo("asyncio.threads", "threads.py", 25, "to_thread", True)
    user = frames.FrameInfo("app", "app.py", 3, "main", False)
    assert frames.offload_helper((infra, user)) == "asyncio.to_thread"
    assert frames.offload_helper((user, infra)) is None


def finding(rule="UFA003", line=3, origin=None):
    return RuntimeFinding(rule, "requests.Session.send", "GET http://h/",
                          frames.Site("/x/app.py", line, "f"), origin,
                          "loop.run_in_executor" if origin else None, "MainThread")


def test_summary_groups_by_site_most_frequent_first(tmp_path):
    origin = frames.Site("/x/app.py", 9, "select")
    found = [finding(), finding(line=4), finding("UFA001", 10, origin), finding("UFA001", 10, origin)]
    text = format_summary(found)
    assert text.splitlines()[0] == ("unfake-async shim: 2 blocking call(s) on the event loop, "
                                    "2 fake-async call(s), at 3 site(s):")
    assert text.splitlines()[1].startswith("      2x  UFA001 fake async")
    assert format_summary([]).endswith("no blocking calls on the event loop, no fake-async calls.")
    path = tmp_path / "f.jsonl"
    path.write_text("".join(json.dumps(f.as_dict()) + "\n" for f in found) + '{"torn')
    assert load_findings([str(path)]) == found


def test_marked_callables_pickle_as_the_bare_function():
    marked = Marked(time.monotonic, Offload("UFA001", "loop.run_in_executor", ()))
    assert pickle.loads(pickle.dumps(marked)) is time.monotonic
    assert isinstance(marked(), float)


def test_environment_switch(capsys):
    try:
        assert auto.activate_from_environment({}) is None
        assert auto.activate_from_environment({"UNFAKE_ASYNC_SHIM": "loud"}) is None
        assert "ignoring UNFAKE_ASYNC_SHIM='loud'" in capsys.readouterr().err
        assert shim.installed_mode() is None
        assert auto.activate_from_environment(
            {"UNFAKE_ASYNC_SHIM": "Record", "UNFAKE_ASYNC_SHIM_ALLOW": "a.b, c:d"}) == "record"
        assert shim.installed_mode() == "record"
        from unfake_async.shim._state import state

        assert ("a.b", None) in state.allow_rules and ("c", "d") in state.allow_rules
    finally:
        shim.uninstall()
        from unfake_async.shim._state import state

        state.allow_rules.clear()

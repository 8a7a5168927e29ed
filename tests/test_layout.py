"""The last step of a rewrite (codemod/engine/layout): imports and long lines, on small texts.

The fixtures prove the whole (tests/test_output_checks.py runs ruff, black and mypy over them);
these pin each rule down on its own, with the tools' verdict where one is installed."""
from __future__ import annotations

import pathlib
import shutil
import subprocess
import sys
import textwrap

import libcst as cst
import pytest

from unfake_async.codemod import FixLevel, analyze_source
from unfake_async.codemod.engine.layout import finish
from unfake_async.codemod.engine.layout.wrap import one_line_arguments
from unfake_async.config import load_config, project_line_length
from unfake_async.settings import Settings

BIN = pathlib.Path(sys.executable).parent


def _tool(name: str) -> str:
    path = BIN / name
    found = str(path) if path.exists() else shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed")
    return found


def _accepted_by(formatter: str, code: str, tmp_path, line_length: int = 88) -> bool:
    target = tmp_path / "module.py"
    target.write_text(code)
    if formatter == "black":
        command = [_tool("black"), "-q", "--check", "-l", str(line_length), str(target)]
    else:
        command = [_tool("ruff"), "format", "--isolated", "--no-cache", "--check",
                   "--line-length", str(line_length), str(target)]
    return subprocess.run(command, capture_output=True, timeout=60).returncode == 0


def _ruff_findings(code: str, tmp_path, line_length: int = 88) -> list:
    target = tmp_path / "module.py"
    target.write_text(code)
    done = subprocess.run(
        [_tool("ruff"), "check", "--isolated", "--no-cache", "--select", "E,F,I,W", "--line-length",
         str(line_length), "--output-format", "concise", "--exit-zero", str(target)],
        capture_output=True, text=True, timeout=60)
    return [line.split(": ", 1)[1] for line in done.stdout.splitlines() if ": " in line and "module.py" in line]


# -- imports --------------------------------------------------------------------------------------


def test_an_import_whose_last_use_went_is_removed_dotted_or_from():
    original = textwrap.dedent("""\
        import anyio.to_thread
        import requests.api
        from asgiref.sync import sync_to_async

        async def f(u):
            await anyio.to_thread.run_sync(g)
            await sync_to_async(g)()
            return requests.api.get(u)
        """)
    rewritten = textwrap.dedent("""\
        import anyio.to_thread
        import requests.api
        from asgiref.sync import sync_to_async

        async def f(u):
            return await client().get(u)
        """)
    assert finish(original, rewritten, line_length=88).startswith("async def f(u):")


def test_an_import_unused_before_and_one_still_used_stay():
    original = "import os\nimport json\n\n\ndef f():\n    return json.dumps(1) + requests.get(1)\n"
    rewritten = "import os\nimport json\n\n\ndef f():\n    return json.dumps(1)\n"
    assert finish(original, rewritten, line_length=88) == rewritten


def test_an_added_import_the_module_already_has_further_down_is_dropped():
    # LibCST's AddImportsVisitor adds `import asyncio` at the top when the module's own comes
    # later (after code): ruff F811 on real code.
    original = "import requests\n\nTIMEOUT = 5\nimport asyncio\n\n\nasync def f():\n    requests.get(1)\n"
    rewritten = "import asyncio\nimport requests\n\nTIMEOUT = 5\nimport asyncio\n\n\nasync def f():\n    await g()\n"
    out = finish(original, rewritten, line_length=88)
    assert out.count("import asyncio") == 1 and "TIMEOUT = 5\nimport asyncio" in out


def test_new_imports_go_to_their_isort_section_of_a_sorted_block(tmp_path):
    original = textwrap.dedent('''\
        """Doc."""

        import asyncio
        from concurrent.futures import ThreadPoolExecutor

        import requests
        from fastapi import FastAPI

        app = FastAPI()


        async def f(u):
            return requests.get(u)
        ''')
    rewritten = textwrap.dedent('''\
        """Doc."""
        import asyncio
        import httpx
        import urllib.request
        import http.cookiejar

        from fastapi import FastAPI

        app = FastAPI()


        async def f(u):
            return (asyncio, httpx, urllib.request, http.cookiejar)
        ''')
    out = finish(original, rewritten, line_length=88)
    assert out.startswith(textwrap.dedent('''\
        """Doc."""

        import asyncio
        import http.cookiejar
        import urllib.request

        import httpx
        from fastapi import FastAPI

        app = FastAPI()
        '''))
    assert _ruff_findings(out, tmp_path) == []


def test_a_block_in_another_order_is_the_projects_choice_and_is_not_resorted():
    original = "import requests\nimport asyncio\n\n\nasync def f():\n    requests.get(1)\n"
    rewritten = "import asyncio\nimport httpx\n\n\nasync def f():\n    await httpx.get(1)\n"
    assert finish(original, rewritten, line_length=88) == rewritten


def test_first_party_is_what_the_project_root_holds(tmp_path):
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "mypkg").mkdir()
    path = tmp_path / "mypkg" / "mod.py"
    original = "import requests\n\nfrom mypkg import util\n\n\nasync def f():\n    requests.get(util)\n"
    rewritten = "from mypkg import util\nimport httpx\n\n\nasync def f():\n    await httpx.get(util)\n"
    out = finish(original, rewritten, line_length=88, path=str(path))
    assert out.startswith("import httpx\n\nfrom mypkg import util\n\n\nasync def")


@pytest.mark.parametrize("folder", ["shop", "shop/routers"])  # routers/: a namespace folder
def test_the_files_own_package_is_first_party_without_a_project_root(tmp_path, folder):
    """No pyproject.toml or .git above (a copy of a package): the import of the package's own
    client module goes to the first-party section, as ruff's detect-same-package puts it."""
    (tmp_path / folder).mkdir(parents=True)
    (tmp_path / "shop" / "__init__.py").write_text("")
    path = tmp_path / folder / "orders.py"
    original = "import httpx\n\n\nasync def f():\n    httpx.get(1)\n"
    rewritten = "import httpx\nfrom shop._http_client import http_client\n\n\nasync def f():\n    http_client(httpx)\n"
    out = finish(original, rewritten, line_length=88, path=str(path))
    assert out.startswith("import httpx\n\nfrom shop._http_client import http_client\n\n\nasync def")


# -- long lines -------------------------------------------------------------------------------


CALL = "await _http_client().get(url, follow_redirects=False, timeout=httpx.Timeout(5.0, pool=None))"


@pytest.mark.parametrize("statement", [
    f"r = {CALL}",
    f"return ({CALL}).status_code",
    f"return [({CALL}).status_code for url in urls]",
    "r = await _http_client().post(f'{API}/users', json={'a': 1}, headers={'Accept': 'json'}, "
    "follow_redirects=False, timeout=httpx.Timeout(10, pool=None))",
    "async with _http_client().stream('GET', url, follow_redirects=False, timeout=httpx.Timeout(5)) as r:\n"
    "        pass",
])
@pytest.mark.parametrize("formatter", ["black", "ruff format"])
def test_a_long_new_line_is_split_as_the_formatters_split_it(statement, formatter, tmp_path):
    statement = statement.replace("'", '"')
    original = "async def f(url, urls):\n    pass\n"
    rewritten = f"async def f(url, urls):\n    {statement}\n"
    out = finish(original, rewritten, line_length=88)
    assert all(len(line) <= 88 for line in out.splitlines())
    assert cst.parse_module(out).code == out
    compile(out, "<out>", "exec")
    assert _accepted_by(formatter, out, tmp_path), out


def test_a_long_line_the_user_wrote_is_left_alone():
    long_line = "x = " + " + ".join(["value"] * 30)
    original = f"{long_line}\nrequests.get(x)\n"
    rewritten = f"{long_line}\nawait c.get(x)\n"
    assert finish(original, rewritten, line_length=88) == rewritten


def test_arguments_moved_into_a_new_call_lose_their_hanging_indent():
    call = cst.parse_expression("partial(requests.post, url,\n            json=item,\n    timeout=10,\n)")
    args = one_line_arguments(call.args[1:])
    assert cst.Module(body=[]).code_for_node(cst.Call(func=cst.Name("post"), args=args)) == \
        "post(url, json=item, timeout=10)"


def test_a_comment_between_arguments_keeps_their_layout():
    call = cst.parse_expression("f(url,  # the base\n  timeout=10)")
    assert one_line_arguments(call.args) == list(call.args)


def test_the_migration_of_a_black_formatted_module_is_black_formatted(tmp_path):
    before = textwrap.dedent('''\
        import asyncio
        import functools

        import requests


        async def create_item(api, token, item):
            loop = asyncio.get_running_loop()
            r = await loop.run_in_executor(
                None,
                functools.partial(
                    requests.post,
                    f"{api}/items",
                    json=item,
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=10,
                ),
            )
            return r.json()["id"]
        ''')
    assert _accepted_by("black", before, tmp_path)
    after = analyze_source(before, settings=Settings(line_length=88), fix_level=FixLevel.UNSAFE).fixed_source
    assert _accepted_by("black", after, tmp_path)
    assert _accepted_by("ruff format", after, tmp_path)
    assert _ruff_findings(after, tmp_path) == []


@pytest.mark.parametrize("call", [
    # open-webui's shape: a dict with magic trailing commas, one element spanning lines
    """\
        r = requests.request(
            method="DELETE",
            url=f"{url}/api/delete",
            data=json.dumps(form_data).encode(),
            headers={
                "Content-Type": "application/json",
                **(
                    {
                        "X-User-Id": user_id,
                    }
                    if user_id
                    else {}
                ),
            },
        )
        r.raise_for_status()
    """,
    # deeper in the original (a partial in an executor), shallower in the migration
    """\
        loop = asyncio.get_running_loop()
        r = await loop.run_in_executor(
            None,
            functools.partial(
                requests.post,
                f"{url}/items",
                json={
                    "name": "x",
                    "tags": ["a", "b"],
                },
            ),
        )
        r.raise_for_status()
    """,
])
def test_a_moved_argument_that_spans_lines_is_laid_out_as_black_does(tmp_path, call):
    before = "import asyncio\nimport functools\nimport json\n\nimport requests\n\n\n" \
        "async def delete(url, form_data, user_id):\n" + textwrap.indent(textwrap.dedent(call), "    ")
    assert _accepted_by("black", before, tmp_path)
    after = analyze_source(before, settings=Settings(line_length=88), fix_level=FixLevel.UNSAFE).fixed_source
    assert "requests." not in after.split("async def delete")[1]
    assert _accepted_by("black", after, tmp_path), after
    assert _accepted_by("ruff format", after, tmp_path), after


# -- the line length ----------------------------------------------------------------------------


@pytest.mark.parametrize("name, text, expected", [
    ("pyproject.toml", "[tool.ruff]\nline-length = 120\n", 120),
    ("pyproject.toml", "[tool.black]\nline-length = 79\n", 79),
    ("pyproject.toml", "[tool.ruff]\nline-length = 100\n[tool.black]\nline-length = 79\n", 100),
    ("ruff.toml", "line-length = 110\n", 110),
    (".ruff.toml", "line-length = 99\n", 99),
    ("pyproject.toml", "[tool.ruff.lint]\nselect = ['E']\n", None),
])
def test_the_line_length_is_the_formatters(tmp_path, name, text, expected):
    (tmp_path / name).write_text(text)
    (tmp_path / "src").mkdir()
    assert project_line_length(str(tmp_path / "src")) == expected
    assert load_config([str(tmp_path / "src")]).settings.line_length == (expected or 88)


def test_line_length_in_the_tools_own_table_wins(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        "[tool.ruff]\nline-length = 120\n[tool.unfake-async]\nline-length = 72\n")
    assert load_config([str(tmp_path)]).settings.line_length == 72


def test_the_rewrite_wraps_at_the_configured_length():
    source = textwrap.dedent("""\
        import requests


        async def fetch(url):
            return requests.get(url, params={"query": "something"}, timeout=30).json()
        """)
    outputs = {}
    for length in (79, 120):
        out = analyze_source(source, settings=Settings(line_length=length), fix_level=FixLevel.UNSAFE)
        assert all(len(line) <= length for line in out.fixed_source.splitlines())
        outputs[length] = out.fixed_source
    # 120 columns hold the arguments on one line; 79 need one argument per line.
    assert '            httpx.URL(url).copy_merge_params({"query": "something"}),\n' in outputs[79]
    assert ('            httpx.URL(url).copy_merge_params({"query": "something"}), '
            'timeout=httpx.Timeout(30, pool=None)\n') in outputs[120]


# The scope analysis reads only the statements that name a dead-looking import
# (dead_imports._statements_naming): the whole module's analysis, as LibCST runs it, is the oracle.
_BINDING_CASES = {
    "string annotation far below": (
        "import requests\nimport os\n\n\ndef f(r):\n    return requests.get(r)\n\n\n"
        "def g(x: 'requests.Response') -> int:\n    return os.sep\n",
        "import requests\nimport os\n\n\ndef f(r):\n    return r\n\n\n"
        "def g(x: 'requests.Response') -> int:\n    return os.sep\n"),
    "__all__": (
        "import requests\n\n__all__ = ['requests']\n\n\ndef f():\n    requests.get(1)\n",
        "import requests\n\n__all__ = ['requests']\n\n\ndef f():\n    pass\n"),
    "a comment only": (
        "import requests\n\n\ndef f():\n    requests.get(1)\n\n\n# requests used to live here\n",
        "import requests\n\n\ndef f():\n    pass\n\n\n# requests used to live here\n"),
    "nested import": (
        "import os\n\n\ndef f():\n    import requests\n    return requests.get(os.sep)\n",
        "import os\n\n\ndef f():\n    import requests\n    return os.sep\n"),
    "type checking block": (
        "from typing import TYPE_CHECKING\nimport requests\n\nif TYPE_CHECKING:\n    import httpx\n\n\n"
        "def f(c: 'httpx.Client'):\n    return requests.get(c)\n",
        "from typing import TYPE_CHECKING\nimport requests\n\nif TYPE_CHECKING:\n    import httpx\n\n\n"
        "def f(c: 'httpx.Client'):\n    return c\n"),
    "several aliases, a comment kept": (
        "from requests import (\n    get,  # fetch\n    post,\n)\n\n\ndef f():\n    return get(1), post(2)\n",
        "from requests import (\n    get,  # fetch\n    post,\n)\n\n\ndef f():\n    return 1, post(2)\n"),
    "package import": (
        "from . import utils, models\n\n\ndef f(x: 'models.Item'):\n    return utils.get(x)\n",
        "from . import utils, models\n\n\ndef f(x: 'models.Item'):\n    return x\n"),
    "rebinding further down": (
        "import json\n\n\ndef f():\n    return json.dumps(1)\n\n\njson = None\n",
        "import json\n\n\ndef f():\n    return 1\n\n\njson = None\n"),
}


def _whole_module_removal(original: str, rewritten: str) -> str:
    """What LibCST's RemoveImportsVisitor makes of `rewritten` analysing the whole module."""
    from libcst.codemod import CodemodContext
    from libcst.codemod.visitors import RemoveImportsVisitor

    from unfake_async.codemod.engine.layout import dead_imports as dead

    module = cst.parse_module(rewritten)
    used_before, used_after = dead._used_names(original), dead._used_names(rewritten)
    context = CodemodContext(full_package_name=dead._STAND_IN_PACKAGE)
    package = set()
    for statement, alias in dead._aliases(module):
        binding = dead._binding(statement, alias)
        if binding not in used_before or binding in used_after:
            continue
        if isinstance(statement, cst.ImportFrom) and statement.module is None:
            package.add(alias)
        elif isinstance(statement, cst.Import):
            RemoveImportsVisitor.remove_unused_import(context, alias.evaluated_name, asname=alias.evaluated_alias)
        else:
            RemoveImportsVisitor.remove_unused_import(context, dead._absolute_module(statement),
                                                      alias.evaluated_name, alias.evaluated_alias)
    wrapper = cst.MetadataWrapper(module, unsafe_skip_copy=True)
    wrapper.resolve_many(dead._GatherUnusedPackageImports.get_inherited_dependencies())
    gatherer = dead._GatherUnusedPackageImports(CodemodContext(wrapper=wrapper))
    wrapper.visit(gatherer)
    drop = {alias for alias, _ in gatherer.unused_imports} & package
    module = RemoveImportsVisitor(context).transform_module(module)

    class DropPackageAliases(cst.CSTTransformer):
        def leave_ImportFrom(self, original_node, updated_node):
            keep = [a for a in updated_node.names if not any(a.deep_equals(d) for d in drop)] \
                if original_node.module is None else updated_node.names
            if len(keep) == len(updated_node.names):
                return updated_node
            if not keep:
                return cst.RemoveFromParent()
            keep[-1] = keep[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
            return updated_node.with_changes(names=keep)

    return module.visit(DropPackageAliases()).code


@pytest.mark.parametrize("case", sorted(_BINDING_CASES))
def test_dead_imports_read_only_the_statements_naming_them_as_the_whole_module_would(case):
    from unfake_async.codemod.engine.layout.dead_imports import remove_newly_unused

    original, rewritten = _BINDING_CASES[case]
    ours = remove_newly_unused(original, cst.parse_module(rewritten), rewritten).code
    assert ours == _whole_module_removal(original, rewritten)
    if case in ("several aliases, a comment kept", "a comment only", "package import"):
        assert ours != rewritten  # something went: the comparison is not between two no-ops


def test_a_nested_import_unused_before_stays_when_the_top_level_one_goes():
    # LibCST's visitor, asked to remove the top-level `import requests`, also drops every other
    # unused `import requests` it meets; one that was unused before the rewrite is the project's.
    from unfake_async.codemod.engine.layout.dead_imports import remove_newly_unused

    original = "import requests\n\n\ndef f():\n    return requests.get(1)\n\n\ndef g():\n    import requests\n    return 2\n"
    rewritten = original.replace("requests.get(1)", "1")
    out = remove_newly_unused(original, cst.parse_module(rewritten), rewritten).code
    assert out == rewritten.replace("import requests\n\n\n", "\n\n", 1)


def _fixture_layouts():
    from tests.support.sampling import sampled

    fixtures = pathlib.Path(__file__).resolve().parents[1] / "fixtures"
    return sampled(p.name for p in fixtures.iterdir() if (p / "before.py").exists())


@pytest.mark.parametrize("case", _fixture_layouts())
def test_the_statements_the_layout_skips_are_those_no_step_would_change(case, monkeypatch):
    """`_statements_to_lay_out` hands the steps only the statements with a new line that is too
    long or inside something spanning lines, and joining and exploding only the latter: every
    fixture's fix is the same as when every statement with a new line goes through all three."""
    import unfake_async.codemod.engine.layout as layout
    from tests.support.fixture_project import fixture_facts
    from tests.support.fixture_settings import fixture_settings

    folder = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / case
    before = (folder / "before.py").read_text()

    def fix() -> str:
        return analyze_source(before, path=f"{case}/before.py", settings=fixture_settings(folder),
                              fix_level=FixLevel.UNSAFE,
                              project=fixture_facts(folder, "before.py", before)).fixed_source or before

    chosen = fix()
    skipped = []
    chooser = layout._statements_to_lay_out

    def every_new_statement(module, text, known, line_length):
        picked = chooser(module, text, known, line_length)
        statements = [(index, True) for index, _ in chooser(module, text, known, 0)]  # at 0, every new line is too long
        skipped.extend(set(statements) - set(picked))
        return statements

    monkeypatch.setattr(layout, "_statements_to_lay_out", every_new_statement)
    assert fix() == chosen
    # Where the fix wrote code, some of it is left to itself (the client's lines, short calls):
    # the comparison is not between two runs that laid out the same statements.
    assert skipped or chosen == before


def test_the_import_view_keeps_every_module_level_statement_and_empties_def_and_class_bodies():
    from unfake_async.codemod.engine.layout import import_view

    source = ("import os\n\n# a comment\n@decorate\nasync def f():\n    return os.sep\n\n\n"
              "class C:\n    x = 1\n\n\ntry:\n    import ujson as json\nexcept ImportError:\n    import json\n")
    module = cst.parse_module(source)
    view = import_view(module)
    assert len(view.body) == len(module.body)
    assert [s.leading_lines for s in view.body] == [s.leading_lines for s in module.body]
    assert view.body[0] is module.body[0] and view.body[3] is module.body[3]  # imports and try: as they were
    assert view.body[1].decorators == module.body[1].decorators
    assert "return os.sep" not in view.code and "x = 1" not in view.code and "import ujson as json" in view.code

"""`[tool.unfake-async]`: discovery by walking up, kebab-case keys, validation, flag overrides."""
import pytest

from unfake_async.cli import CheckArgs, resolve_config, run_check
from unfake_async.config import ConfigError, config_from_table, find_pyproject, load_config
from unfake_async.settings import Settings


def write_pyproject(directory, body):
    path = directory / "pyproject.toml"
    path.write_text(body)
    return path


def test_every_key_reaches_settings():
    config = config_from_table({
        "select": ["ufa0"], "extend-select": ["UFA1"], "ignore": ["UFA003"],
        "exclude": ["vendor/"], "extend-exclude": ["gen_*.py"],
        "per-file-ignores": {"tests/**": ["UFA001"]}, "jobs": 3, "unsafe-fixes": True,
        "respect-gitignore": False, "force-exclude": True,
        "client-attribute": "http", "client-getter": "get_http",
        "module-client-function": "client", "module-close-function": "close_client",
        "timeout": 30, "keep-concurrency-cap": True, "target": "httpx2", "transport": "aiohttp",
        "extra-offload-helpers": {"myapp.util.run_sync": "call", "myapp.util.asyncify": "wrap"},
        "extra-offload-methods": ["run_blocking"],
    }, path="/p/pyproject.toml")
    s = config.settings
    assert s.select == ("UFA0", "UFA1") and s.ignore == ("UFA003",)
    assert config.excludes == ("vendor/", "gen_*.py")
    assert config.per_file_ignores == (("tests/**", ("UFA001",)),)
    assert (config.jobs, config.unsafe_fixes, config.respect_gitignore, config.force_exclude) == (
        3, True, False, True)
    assert (s.client_attribute, s.client_getter, s.module_client_function,
            s.module_close_function) == ("http", "get_http", "client", "close_client")
    assert s.timeout == 30.0 and s.keep_concurrency_cap and s.target == "httpx2"
    assert s.transport == "aiohttp"
    helpers = dict(s.offload_helpers)
    assert helpers["myapp.util.run_sync"] == "call" and helpers["myapp.util.asyncify"] == "wrap"
    assert helpers["asyncio.to_thread"] == "call"  # the defaults stay on
    assert s.offload_methods == ("async_add_executor_job", "run_blocking")
    assert config.root == "/p"


def test_client_keys():
    assert config_from_table({}).settings.client_module == "auto"
    s = config_from_table({"client-module": "src/shop/net/http.py", "client": "shop.http:get_client"},
                          path="/p/pyproject.toml").settings
    assert s.client_module == "/p/src/shop/net/http.py"  # relative to the config's directory
    assert s.client == "shop.http:get_client"
    assert config_from_table({"client-module": "inline"}).settings.client_module == "inline"


def test_offload_helpers_as_a_list_mean_call():
    s = config_from_table({"extra-offload-helpers": ["hass.helpers.run_job"]}).settings
    assert dict(s.offload_helpers)["hass.helpers.run_job"] == "call"


def test_empty_table_is_the_defaults():
    assert config_from_table({}).settings == Settings()


@pytest.mark.parametrize("table, message", [
    ({"selct": ["UFA"]}, "unknown key 'selct' (did you mean 'select'?)"),
    ({"jobs": "4"}, "'jobs' must be an integer, not a string ('4')"),
    ({"jobs": True}, "'jobs' must be an integer, not a boolean"),
    ({"jobs": -1}, "'jobs' must be at least 0"),
    ({"unsafe-fixes": "yes"}, "'unsafe-fixes' must be true or false"),
    ({"select": "UFA"}, "'select' must be a list of strings"),
    ({"select": ["E501"]}, "'select' has 'E501', which is not a rule code"),
    ({"timeout": "forever"}, "'timeout' must be 'preserve' or 'httpx-default' or a number"),
    ({"timeout": 0}, "'timeout' must be a positive number"),
    ({"target": "aiohttp"}, "'target' must be one of 'httpx', 'httpx2'"),
    ({"transport": "requests"}, "'transport' must be one of 'aiohttp', 'httpx', not 'requests'"),
    ({"transport": 1}, "'transport' must be a string, not an integer (1)"),
    ({"client-attribute": "my client"}, "'client-attribute' must be a Python identifier"),
    ({"extra-offload-helpers": {"x.run": "thread"}}, "'extra-offload-helpers.x.run' must be one of"),
    ({"extra-offload-helpers": "x.run"}, "'extra-offload-helpers' must be a table or a list"),
    ({"per-file-ignores": {"tests/*": "UFA001"}}, "'per-file-ignores.tests/*' must be a list"),
    ({"per-file-ignores": {"!src/**": ["UFA001"]}}, "'per-file-ignores.!src/**' is a negated"),
    ({"client-module": "pkg.http"}, "'client-module' must be \"auto\", \"inline\" or the path of a .py file"),
    ({"client": "pkg.http.get_client"}, "'client' must be \"module.path:function\""),
    ({"client": "pkg.http:get client"}, "'client' must be \"module.path:function\""),
])
def test_bad_values_name_the_key(table, message):
    with pytest.raises(ConfigError) as info:
        config_from_table(table, path="pyproject.toml")
    assert message in str(info.value)
    assert str(info.value).startswith("pyproject.toml: [tool.unfake-async]")


def test_found_by_walking_up_skipping_foreign_pyprojects(tmp_path):
    write_pyproject(tmp_path, "[tool.unfake-async]\nignore = ['UFA002']\n")
    inner = tmp_path / "pkg"
    (inner / "src").mkdir(parents=True)
    write_pyproject(inner, "[project]\nname = 'unfake-async-consumer'\n")  # no section: skipped
    (inner / "src" / "a.py").write_text("")
    assert find_pyproject([str(inner / "src" / "a.py")]) == str(tmp_path / "pyproject.toml")
    config = load_config([str(inner / "src")])
    assert config.settings.ignore == ("UFA002",) and config.root == str(tmp_path)


def test_no_config_means_defaults(tmp_path):
    (tmp_path / "a.py").write_text("")
    config = load_config([str(tmp_path / "a.py")])
    assert config.path is None and config.settings == Settings()


def test_invalid_toml_is_a_config_error(tmp_path):
    write_pyproject(tmp_path, "[tool.unfake-async\nunfake-async = 1\n")
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_config([str(tmp_path)])


def test_flags_override_the_file(tmp_path):
    write_pyproject(tmp_path, "[tool.unfake-async]\nselect = ['UFA001']\nignore = ['UFA002']\n"
                              "jobs = 2\nunsafe-fixes = true\nextend-exclude = ['a.py']\n")
    config = resolve_config(CheckArgs(paths=[str(tmp_path)], select=["UFA003"], ignore=["ufa004"],
                                      jobs=1, unsafe_fixes=False, extend_exclude=["b.py"],
                                      target="httpx2", transport="aiohttp"))
    assert config.settings.select == ("UFA003",)
    assert config.settings.ignore == ("UFA002", "UFA004")
    assert (config.jobs, config.unsafe_fixes) == (1, False)
    assert config.extend_exclude == ("a.py", "b.py")
    assert (config.settings.target, config.settings.transport) == ("httpx2", "aiohttp")


def test_exclude_flag_replaces_and_extend_exclude_adds_like_ruff(tmp_path):
    write_pyproject(tmp_path, "[tool.unfake-async]\nexclude = ['gen/']\nextend-exclude = ['a.py']\n")
    config = resolve_config(CheckArgs(paths=[str(tmp_path)]))
    assert config.excludes == ("gen/", "a.py")
    config = resolve_config(CheckArgs(paths=[str(tmp_path)], exclude=["old/"]))
    assert config.excludes == ("old/", "a.py")  # the file's `exclude` is replaced, not extended
    config = resolve_config(CheckArgs(paths=[str(tmp_path)], extend_exclude=["b.py"]))
    assert config.excludes == ("gen/", "a.py", "b.py")


def test_show_settings_prints_the_resolved_values(tmp_path, capsys):
    write_pyproject(tmp_path, "[tool.unfake-async]\ntimeout = 12.5\ntarget = 'httpx2'\n"
                              "transport = 'aiohttp'\n")
    assert run_check(CheckArgs(paths=[str(tmp_path)], show_settings=True, extend_select=["UFA9"])) == 0
    out = capsys.readouterr().out
    assert f"# config file: {tmp_path / 'pyproject.toml'}" in out
    assert 'target = "httpx2"' in out and "timeout = 12.5" in out
    assert 'transport = "aiohttp"' in out
    assert 'select = ["UFA", "UFA9"]' in out


def test_config_error_exits_2_with_the_key(tmp_path, capsys):
    write_pyproject(tmp_path, "[tool.unfake-async]\nkeep-concurency-cap = true\n")
    assert run_check(CheckArgs(paths=[str(tmp_path)])) == 2
    err = capsys.readouterr().err
    assert "unknown key 'keep-concurency-cap' (did you mean 'keep-concurrency-cap'?)" in err


def test_the_old_transport_name_default_means_todays_default(tmp_path):
    """`transport = "default"` named `_PooledTransport` before the aiohttp transport became the
    default; such configs and command lines keep working and get today's default."""
    write_pyproject(tmp_path, "[tool.unfake-async]\ntransport = 'default'\n")
    from_file = resolve_config(CheckArgs(paths=[str(tmp_path)]))
    from_flag = resolve_config(CheckArgs(paths=[str(tmp_path)], transport="default"))
    assert from_file.settings.transport == from_flag.settings.transport == Settings().transport == "aiohttp"

"""`[tool.unfake-async]` in pyproject.toml: finding it, validating it, turning it into settings.

The file is found by walking up from the paths being checked (the first pyproject.toml that has
a `[tool.unfake-async]` table wins, as ruff does with `[tool.ruff]`). Keys are kebab-case; an
unknown key or a value of the wrong type is a `ConfigError` naming the key, which the CLI turns
into exit code 2. Command-line flags are applied on top by the CLI.
"""
from __future__ import annotations

import dataclasses
import difflib
import os
import re
import sys
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

from unfake_async.codemod.engine.discovery import DEFAULT_EXCLUDES
from unfake_async.settings import (
    DEFAULT_OFFLOAD_HELPERS,
    TARGETS,
    TIMEOUT_POLICIES,
    TRANSPORT_ALIASES,
    TRANSPORTS,
    Settings,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.9/3.10 only
    import tomli as tomllib

SECTION = "unfake-async"
# The ways a helper passes the function on, as the transformer knows them (settings.py).
OFFLOAD_KINDS = tuple(sorted(set(DEFAULT_OFFLOAD_HELPERS.values()) | {"call", "wrap"}))
_RULE_CODE = re.compile(r"^UFA[0-9]*$")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_QUALIFIED = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


class ConfigError(Exception):
    """A problem in the configuration; the message names the file and the key."""


@dataclass(frozen=True)
class Config:
    """Everything `[tool.unfake-async]` can set, resolved against the defaults."""

    settings: Settings = Settings()
    exclude: Tuple[str, ...] = DEFAULT_EXCLUDES
    extend_exclude: Tuple[str, ...] = ()
    per_file_ignores: Tuple[Tuple[str, Tuple[str, ...]], ...] = ()
    jobs: int = 0
    unsafe_fixes: bool = False
    respect_gitignore: bool = True
    force_exclude: bool = False
    # `line-length` was given in [tool.unfake-async]: the formatter's settings are not read.
    line_length_set: bool = False
    # Where the config came from, and the directory globs are relative to.
    path: Optional[str] = None
    root: str = field(default_factory=os.getcwd)

    @property
    def excludes(self) -> Tuple[str, ...]:
        return tuple(self.exclude) + tuple(self.extend_exclude)


def find_pyproject(paths: Sequence[str]) -> Optional[str]:
    """The nearest pyproject.toml with a `[tool.unfake-async]` table above the given paths."""
    start = _common_directory(paths or ["."])
    directory = start
    while True:
        candidate = os.path.join(directory, "pyproject.toml")
        if os.path.isfile(candidate) and _has_section(candidate):
            return candidate
        parent = os.path.dirname(directory)
        if parent == directory:
            return None
        directory = parent


def load_config(paths: Sequence[str] = (), *, config_file: Optional[str] = None) -> Config:
    """Read the config for `paths` (or the named file); defaults when there is none."""
    path = config_file or find_pyproject(paths)
    if path is None:
        config = Config(root=os.getcwd())
    else:
        config = config_from_table(_read_table(path), path=path)
    if config.line_length_set:
        return config
    start = os.path.dirname(os.path.abspath(path)) if config_file else _common_directory(paths or ["."])
    found = project_line_length(start)
    if found is None:
        return config
    return dataclasses.replace(config, settings=dataclasses.replace(config.settings, line_length=found))


# Where ruff and black read their line length, in ruff's order of precedence: the first file on
# the way up that sets it wins (ruff.toml and .ruff.toml hold ruff's keys at the top level).
_LINE_LENGTH_SOURCES = (("ruff.toml", ()), (".ruff.toml", ()), ("pyproject.toml", ("tool", "ruff")),
                        ("pyproject.toml", ("tool", "black")))


def project_line_length(start: str) -> Optional[int]:
    """The line length the project's formatter and linter use, from the nearest ruff.toml,
    .ruff.toml or pyproject.toml (`[tool.ruff]`, then `[tool.black]`) at or above `start`;
    None when none of them says."""
    directory = os.path.abspath(start)
    while True:
        for name, keys in _LINE_LENGTH_SOURCES:
            candidate = os.path.join(directory, name)
            if not os.path.isfile(candidate):
                continue
            try:
                with open(candidate, "rb") as handle:
                    table: Any = tomllib.load(handle)
            except (OSError, tomllib.TOMLDecodeError):
                continue
            for key in keys:
                table = table.get(key, {}) if isinstance(table, dict) else {}
            value = table.get("line-length") if isinstance(table, dict) else None
            if isinstance(value, int) and not isinstance(value, bool) and value > 0:
                return value
        parent = os.path.dirname(directory)
        if parent == directory:
            return None
        directory = parent


def config_from_table(table: Dict[str, Any], *, path: str = "pyproject.toml") -> Config:
    """Validate a `[tool.unfake-async]` table and resolve it against the defaults."""
    reader = _Reader(table, path)
    defaults = Settings()
    select = reader.codes("select", defaults.select)
    select = select + reader.codes("extend-select", ())
    helpers = dict(defaults.offload_helpers)
    helpers.update(reader.offload_helpers("extra-offload-helpers"))
    methods = tuple(defaults.offload_methods) + tuple(
        m for m in reader.names("extra-offload-methods", identifier=True)
        if m not in defaults.offload_methods
    )
    settings = dataclasses.replace(
        defaults,
        client_attribute=reader.identifier("client-attribute", defaults.client_attribute),
        client_getter=reader.identifier("client-getter", defaults.client_getter),
        module_client_function=reader.identifier(
            "module-client-function", defaults.module_client_function
        ),
        module_close_function=reader.identifier(
            "module-close-function", defaults.module_close_function
        ),
        timeout=reader.timeout("timeout", defaults.timeout),
        keep_concurrency_cap=reader.boolean("keep-concurrency-cap", defaults.keep_concurrency_cap),
        target=reader.choice("target", TARGETS, defaults.target),
        transport=reader.choice("transport", TRANSPORTS, defaults.transport, TRANSPORT_ALIASES),
        client_module=reader.client_module("client-module", defaults.client_module,
                                           os.path.dirname(os.path.abspath(path))),
        client=reader.accessor("client", defaults.client),
        offload_helpers=tuple(helpers.items()),
        offload_methods=methods,
        line_length=reader.integer("line-length", defaults.line_length, minimum=1),
        select=select,
        ignore=reader.codes("ignore", defaults.ignore),
    )
    config = Config(
        settings=settings,
        exclude=tuple(reader.strings("exclude", DEFAULT_EXCLUDES)),
        extend_exclude=tuple(reader.strings("extend-exclude", ())),
        per_file_ignores=reader.per_file_ignores("per-file-ignores"),
        jobs=reader.integer("jobs", 0, minimum=0),
        unsafe_fixes=reader.boolean("unsafe-fixes", False),
        respect_gitignore=reader.boolean("respect-gitignore", True),
        force_exclude=reader.boolean("force-exclude", False),
        line_length_set="line-length" in table,
        path=path,
        root=os.path.dirname(os.path.abspath(path)),
    )
    reader.reject_unknown()
    return config


KNOWN_KEYS = (
    "select", "extend-select", "ignore", "exclude", "extend-exclude", "per-file-ignores", "jobs",
    "unsafe-fixes", "respect-gitignore", "force-exclude", "client-attribute", "client-getter",
    "module-client-function", "module-close-function", "timeout", "keep-concurrency-cap",
    "target", "transport", "extra-offload-helpers", "extra-offload-methods", "line-length",
    "client-module", "client",
)


class _Reader:
    """Typed access to the table; every error names the key."""

    def __init__(self, table: Dict[str, Any], path: str) -> None:
        self.table = table
        self.path = path

    def fail(self, key: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.path}: [tool.{SECTION}] {key!r} {problem}")

    def reject_unknown(self) -> None:
        for key in self.table:
            if key not in KNOWN_KEYS:
                close = difflib.get_close_matches(key, KNOWN_KEYS, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise ConfigError(f"{self.path}: [tool.{SECTION}] unknown key {key!r}{hint}")

    def _get(self, key: str, kind, kind_name: str, default):
        if key not in self.table:
            return default
        value = self.table[key]
        if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
            raise self.fail(key, f"must be {kind_name}, not {_describe(value)}")
        return value

    def boolean(self, key: str, default: bool) -> bool:
        return self._get(key, bool, "true or false", default)

    def integer(self, key: str, default: int, *, minimum: int) -> int:
        value = self._get(key, int, "an integer", default)
        if value < minimum:
            raise self.fail(key, f"must be at least {minimum}, not {value}")
        return value

    def string(self, key: str, default: str) -> str:
        return self._get(key, str, "a string", default)

    def identifier(self, key: str, default: str) -> str:
        value = self.string(key, default)
        if not _IDENTIFIER.match(value):
            raise self.fail(key, f"must be a Python identifier, not {value!r}")
        return value

    def client_module(self, key: str, default: str, root: str) -> str:
        """"auto", "inline" or a path ending in .py, made absolute against the config's directory."""
        value = self.string(key, default)
        if value in ("auto", "inline"):
            return value
        if not value.endswith(".py"):
            raise self.fail(key, f"must be \"auto\", \"inline\" or the path of a .py file, not {value!r}")
        return os.path.normpath(os.path.join(root, value))

    def accessor(self, key: str, default: Optional[str]) -> Optional[str]:
        """"module.path:function", e.g. "pkg.http:get_client"."""
        if key not in self.table:
            return default
        value = self.string(key, "")
        module, _, function = value.partition(":")
        if not _QUALIFIED.match(module) or not _IDENTIFIER.match(function):
            raise self.fail(key, f"must be \"module.path:function\" (e.g. \"pkg.http:get_client\"), not {value!r}")
        return value

    def choice(self, key: str, choices: Sequence[str], default: str, aliases=None) -> str:
        value = self.string(key, default)
        value = (aliases or {}).get(value, value)
        if value not in choices:
            raise self.fail(key, f"must be one of {', '.join(map(repr, choices))}, not {value!r}")
        return value

    def timeout(self, key: str, default):
        if key not in self.table:
            return default
        value = self.table[key]
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if value <= 0:
                raise self.fail(key, f"must be a positive number of seconds, not {value}")
            return float(value)
        if isinstance(value, str) and value in TIMEOUT_POLICIES:
            return value
        raise self.fail(
            key, f"must be {' or '.join(map(repr, TIMEOUT_POLICIES))} or a number of seconds, "
            f"not {_describe(value)}"
        )

    def strings(self, key: str, default: Sequence[str]) -> List[str]:
        value = self._get(key, list, "a list of strings", None)
        if value is None:
            return list(default)
        for item in value:
            if not isinstance(item, str):
                raise self.fail(key, f"must be a list of strings, but holds {_describe(item)}")
        return value

    def names(self, key: str, *, identifier: bool = False) -> List[str]:
        value = self.strings(key, ())
        pattern = _IDENTIFIER if identifier else _QUALIFIED
        for item in value:
            if not pattern.match(item):
                raise self.fail(key, f"has {item!r}, which is not a valid name")
        return value

    def codes(self, key: str, default: Sequence[str]) -> Tuple[str, ...]:
        return tuple(check_codes(self.strings(key, default), lambda p: self.fail(key, p)))

    def offload_helpers(self, key: str) -> Dict[str, str]:
        """A table name -> "call"|"wrap", or a list of names (all "call")."""
        if key not in self.table:
            return {}
        value = self.table[key]
        if isinstance(value, list):
            return {name: "call" for name in self.names(key)}
        if not isinstance(value, dict):
            raise self.fail(key, f"must be a table or a list of names, not {_describe(value)}")
        for name, kind in value.items():
            if not _QUALIFIED.match(name):
                raise self.fail(key, f"has {name!r}, which is not a qualified name")
            if kind not in OFFLOAD_KINDS:
                raise self.fail(
                    f"{key}.{name}", f"must be one of {', '.join(map(repr, OFFLOAD_KINDS))}, "
                    f"not {_describe(kind)}"
                )
        return dict(value)

    def per_file_ignores(self, key: str) -> Tuple[Tuple[str, Tuple[str, ...]], ...]:
        if key not in self.table:
            return ()
        value = self.table[key]
        if not isinstance(value, dict):
            raise self.fail(key, f"must be a table of glob = [codes], not {_describe(value)}")
        pairs = []
        for glob, codes in value.items():
            if glob.startswith("!"):
                # ruff's "all files but these"; the matcher has no such mode, and a silently
                # dead entry is worse than an error.
                raise self.fail(f"{key}.{glob}", "is a negated pattern, which is not supported "
                                "yet; list the paths to ignore instead")
            if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
                raise self.fail(f"{key}.{glob}", "must be a list of rule codes")
            pairs.append((glob, tuple(check_codes(codes, lambda p: self.fail(f"{key}.{glob}", p)))))
        return tuple(pairs)


def check_codes(codes: Sequence[str], error) -> List[str]:
    """Upper-case rule codes/prefixes, rejecting anything that is not `UFA…`."""
    result = []
    for code in codes:
        normalised = code.strip().upper()
        if not _RULE_CODE.match(normalised):
            raise error(f"has {code!r}, which is not a rule code or prefix (UFA, UFA0, UFA001, ...)")
        result.append(normalised)
    return result


def _describe(value: Any) -> str:
    names = {str: "a string", bool: "a boolean", int: "an integer", float: "a number",
             list: "a list", dict: "a table"}
    return f"{names.get(type(value), type(value).__name__)} ({value!r})"


def _read_table(path: str) -> Dict[str, Any]:
    try:
        with open(path, "rb") as handle:
            document = tomllib.load(handle)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}")
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}")
    table = document.get("tool", {}).get(SECTION, {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.{SECTION}] must be a table")
    return table


def _has_section(path: str) -> bool:
    # A cheap text test first: most pyproject.toml files on the way up are someone else's.
    try:
        with open(path, "rb") as handle:
            data = handle.read()
        if b"unfake-async" not in data:
            return False
        document = tomllib.loads(data.decode("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return True  # let load_config report the problem with this file
    return SECTION in document.get("tool", {})


def _common_directory(paths: Sequence[str]) -> str:
    directories = []
    for path in paths:
        absolute = os.path.abspath(path)
        directories.append(absolute if os.path.isdir(absolute) else os.path.dirname(absolute))
    try:
        return os.path.commonpath(directories)
    except ValueError:  # different drives on Windows
        return os.getcwd()


def render_settings(config: Config) -> str:
    """The resolved configuration, one `key = value` line each, for `--show-settings`."""
    settings = config.settings
    lines = [
        f"# config file: {config.path or '(none: defaults)'}",
        f"# project root: {config.root}",
        "[tool.unfake-async]",
    ]
    values: List[Tuple[str, Any]] = [
        ("select", list(settings.select)),
        ("ignore", list(settings.ignore)),
        ("exclude", list(config.exclude)),
        ("extend-exclude", list(config.extend_exclude)),
        ("per-file-ignores", {glob: list(codes) for glob, codes in config.per_file_ignores}),
        ("jobs", config.jobs),
        ("unsafe-fixes", config.unsafe_fixes),
        ("respect-gitignore", config.respect_gitignore),
        ("force-exclude", config.force_exclude),
        ("client-attribute", settings.client_attribute),
        ("client-getter", settings.client_getter),
        ("module-client-function", settings.module_client_function),
        ("module-close-function", settings.module_close_function),
        ("timeout", settings.timeout),
        ("keep-concurrency-cap", settings.keep_concurrency_cap),
        ("target", settings.target),
        ("transport", settings.transport),
        ("line-length", settings.line_length),
        ("client-module", settings.client_module),
        ("client", settings.client or ""),
    ]
    for key, value in values:
        lines.append(f"{key} = {_toml_value(value)}")
    # Not keys of their own: the built-in helpers plus extra-offload-helpers/-methods.
    lines.append("# recognised thread-offload helpers and methods (built-in + extra-offload-*):")
    lines.append(f"# offload-helpers = {_toml_value(dict(settings.offload_helpers))}")
    lines.append(f"# offload-methods = {_toml_value(list(settings.offload_methods))}")
    return "\n".join(lines) + "\n"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict) and not value:
        return "{}"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items()) + " }"
    return repr(value)


def _toml_key(key: str) -> str:
    return key if re.match(r"^[A-Za-z0-9_-]+$", key) else _toml_value(key)

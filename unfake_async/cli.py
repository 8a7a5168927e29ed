"""The `unfake-async` command line, with ruff's flags and exit codes.

    unfake-async [PATHS] [--fix | --diff | --check] [--unsafe-fixes] ...   lint / fix (default)
    unfake-async rules | rule UFA001                                        the rule catalogue
    unfake-async verify ... | bench ...                                     shim / benchmark

Exit codes: 0 nothing found, 1 findings (or a non-empty diff), 2 usage or internal error (also
when any file failed to read, parse or write; the other files are still processed).
"""
from __future__ import annotations

import dataclasses
import importlib
import os
import sys
from dataclasses import dataclass, field
from typing import List, Optional

import typer
from rich.console import Console

import unfake_async
from unfake_async.codemod.engine.model import FixLevel

EXTERNAL_COMMANDS = {
    "verify": ("unfake_async.shim.command", "verify_main", "the verifying runtime shim"),
    "bench": ("unfake_async.bench.command", "bench_main", "the benchmark"),
}
CATALOGUE_COMMANDS = ("rules", "rule")
OUTPUT_FORMATS = ("text", "json", "github", "sarif", "junit")
STATISTICS_FORMATS = ("text", "json")
PROGRESS_THRESHOLD = 300  # files; below this a progress bar only flickers

EPILOG = (
    "Other commands: `unfake-async rules` lists the rules, `unfake-async rule UFA001` explains "
    "one, `unfake-async verify ...` and `unfake-async bench ...` run the shim and the benchmark. "
    "A path named like a command can be given as ./rules."
)


def main(argv: Optional[List[str]] = None) -> None:
    """Console-script entry point: dispatch to a subcommand or run the lint/fix command."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in EXTERNAL_COMMANDS:
        sys.exit(run_external(args[0], args[1:]))
    if args and args[0] in CATALOGUE_COMMANDS:
        command = typer.main.get_command(catalogue_app)
    else:
        command = typer.main.get_command(check_app)
    # Usage errors exit 2 inside typer; our commands raise typer.Exit with their own code.
    command.main(args=args, prog_name="unfake-async", standalone_mode=True)


def run_external(name: str, argv: List[str]) -> int:
    """Hand `verify`/`bench` their own argv; exit 2 with a clear message if not installed."""
    module_name, function_name, what = EXTERNAL_COMMANDS[name]
    try:
        module = importlib.import_module(module_name)
        function = getattr(module, function_name)
    except (ImportError, AttributeError) as exc:
        missing = getattr(exc, "name", None) or str(exc)
        sys.stderr.write(
            f"unfake-async: error: `unfake-async {name}` needs {what} ({module_name}."
            f"{function_name}), which is not available here: {missing}\n"
        )
        return 2
    return int(function(argv) or 0)


# -- the lint / fix command --------------------------------------------------------------------

check_app = typer.Typer(add_completion=False, rich_markup_mode=None, pretty_exceptions_enable=False)


def _split_commas(values: Optional[List[str]]) -> Optional[List[str]]:
    """`--select A,B --select C` -> [A, B, C], as ruff takes list flags; None stays None."""
    if values is None:
        return None
    return [item.strip() for value in values for item in value.split(",") if item.strip()]


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"unfake-async {unfake_async.__version__}")
        raise typer.Exit(0)


@check_app.command(epilog=EPILOG, context_settings={"help_option_names": ["-h", "--help"]})
def check(
    paths: List[str] = typer.Argument(None, help="Files or directories to check; - reads stdin."),
    fix: bool = typer.Option(False, "--fix", help="Apply safe fixes (and unsafe ones with --unsafe-fixes)."),
    diff: bool = typer.Option(False, "--diff", help="Print the whole migration as a unified diff, unsafe fixes marked with their reasons; write nothing."),
    check_only: bool = typer.Option(False, "--check", help="Only report; write nothing (the default)."),
    unsafe_fixes: Optional[bool] = typer.Option(None, "--unsafe-fixes/--no-unsafe-fixes", help="Also apply/show fixes that may change behaviour."),
    show_fixes: bool = typer.Option(False, "--show-fixes", help="Show what each fix does / what was fixed."),
    select: Optional[List[str]] = typer.Option(None, "--select", help="Rule codes or prefixes to enable (comma-separated)."),
    extend_select: Optional[List[str]] = typer.Option(None, "--extend-select", help="Rule codes or prefixes to enable on top."),
    ignore: Optional[List[str]] = typer.Option(None, "--ignore", help="Rule codes or prefixes to disable."),
    exclude: Optional[List[str]] = typer.Option(None, "--exclude", help="Gitignore-style globs to skip, comma-separated or repeated; replaces the configured `exclude` (and the default list), as in ruff."),
    extend_exclude: Optional[List[str]] = typer.Option(None, "--extend-exclude", help="Like --exclude, but adds to the excluded paths."),
    force_exclude: Optional[bool] = typer.Option(None, "--force-exclude/--no-force-exclude", help="Apply excludes to files named explicitly too (pre-commit)."),
    respect_gitignore: Optional[bool] = typer.Option(None, "--respect-gitignore/--no-respect-gitignore", help="Skip files .gitignore ignores."),
    stdin_filename: Optional[str] = typer.Option(None, "--stdin-filename", help="The path stdin's text is reported as."),
    target: Optional[str] = typer.Option(None, "--target", help="Library of the generated client: httpx or httpx2 (config key `target`)."),
    transport: Optional[str] = typer.Option(None, "--transport", help="Transport of the generated client: aiohttp (default; needs aiohttp) or httpx (httpx's own pools, no extra dependency) (config key `transport`)."),
    output_format: str = typer.Option("text", "--output-format", envvar="UNFAKE_ASYNC_OUTPUT_FORMAT", help="text, json, github, sarif or junit."),
    output_file: Optional[str] = typer.Option(None, "-o", "--output-file", help="Write the report to this file."),
    statistics: bool = typer.Option(False, "--statistics", help="Count findings per rule instead of listing them."),
    exit_zero: bool = typer.Option(False, "-e", "--exit-zero", help="Exit 0 even when there are findings (still 2 on errors)."),
    quiet: bool = typer.Option(False, "-q", "--quiet", help="Print findings only: no summary, hints or skips."),
    jobs: Optional[int] = typer.Option(None, "-j", "--jobs", min=0, help="Worker processes (0: all cores)."),
    no_cache: bool = typer.Option(False, "-n", "--no-cache", envvar="UNFAKE_ASYNC_NO_CACHE", help="Neither read nor write the result cache."),
    cache_dir: Optional[str] = typer.Option(None, "--cache-dir", envvar="UNFAKE_ASYNC_CACHE_DIR", help="Where the cache lives (default: .unfake-async-cache in the project root)."),
    config_file: Optional[str] = typer.Option(None, "--config", help="Use this pyproject.toml instead of searching for one."),
    show_settings: bool = typer.Option(False, "--show-settings", help="Print the resolved settings and exit."),
    show_files: bool = typer.Option(False, "--show-files", help="Print the files that would be checked and exit."),
    version: bool = typer.Option(False, "--version", callback=_version_callback, is_eager=True, help="Show the version and exit."),
) -> None:
    """Find fake-async HTTP code (requests in async def, run_in_executor, to_thread, ...) and
    migrate it to a shared httpx.AsyncClient."""
    if sum([fix, diff, check_only]) > 1:
        raise typer.BadParameter("choose one of them", param_hint="--fix / --diff / --check")
    if output_format not in OUTPUT_FORMATS:
        raise typer.BadParameter(
            f"{output_format!r} is not one of {', '.join(OUTPUT_FORMATS)}", param_hint="--output-format"
        )
    if statistics and output_format not in STATISTICS_FORMATS:
        # ruff refuses this too: statistics are a table, not annotations or test cases.
        raise typer.BadParameter(
            f"--statistics supports {' and '.join(STATISTICS_FORMATS)}, not {output_format!r}",
            param_hint="--output-format",
        )
    args = CheckArgs(
        paths=list(paths or ["."]),
        mode="fix" if fix else "diff" if diff else "check",
        unsafe_fixes=unsafe_fixes,
        show_fixes=show_fixes,
        select=_split_commas(select),
        extend_select=_split_commas(extend_select),
        ignore=_split_commas(ignore),
        exclude=_split_commas(exclude),
        extend_exclude=_split_commas(extend_exclude) or [],
        target=target,
        transport=transport,
        force_exclude=force_exclude,
        respect_gitignore=respect_gitignore,
        stdin_filename=stdin_filename,
        output_format=output_format,
        output_file=output_file,
        statistics=statistics,
        exit_zero=exit_zero,
        quiet=quiet,
        jobs=jobs,
        no_cache=no_cache,
        cache_dir=cache_dir,
        config_file=config_file,
        show_settings=show_settings,
        show_files=show_files,
    )
    try:
        code = run_check(args)
    except KeyboardInterrupt:
        sys.stderr.write("unfake-async: interrupted\n")
        code = 2
    except BrokenPipeError:
        # The reader stopped reading (`| head`): what it took is what it wanted. Python's own
        # advice: point stdout at /dev/null, or the flush at exit raises the same error again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 1
    except Exception as exc:  # noqa: BLE001 - a crash must exit 2, not 1 (which means findings)
        import traceback

        traceback.print_exc()
        sys.stderr.write(f"unfake-async: internal error: {type(exc).__name__}: {exc}\n")
        code = 2
    raise typer.Exit(code)


# -- running a check ---------------------------------------------------------------------------


@dataclass
class CheckArgs:
    """The lint/fix command's flags after parsing (None: not given, the config decides)."""

    paths: List[str] = field(default_factory=lambda: ["."])
    mode: str = "check"
    unsafe_fixes: Optional[bool] = None
    show_fixes: bool = False
    select: Optional[List[str]] = None
    extend_select: Optional[List[str]] = None
    ignore: Optional[List[str]] = None
    # --exclude replaces the configured `exclude` (None: keep it); --extend-exclude adds.
    exclude: Optional[List[str]] = None
    extend_exclude: List[str] = field(default_factory=list)
    target: Optional[str] = None
    transport: Optional[str] = None
    force_exclude: Optional[bool] = None
    respect_gitignore: Optional[bool] = None
    stdin_filename: Optional[str] = None
    output_format: str = "text"
    output_file: Optional[str] = None
    statistics: bool = False
    exit_zero: bool = False
    quiet: bool = False
    jobs: Optional[int] = None
    no_cache: bool = False
    cache_dir: Optional[str] = None
    config_file: Optional[str] = None
    show_settings: bool = False
    show_files: bool = False


def resolve_config(args: CheckArgs):
    """The pyproject config with the command-line flags applied on top (flags win)."""
    from unfake_async.config import check_codes, load_config
    from unfake_async.settings import TARGETS, TRANSPORT_ALIASES, TRANSPORTS

    lookup = [args.stdin_filename] if args.paths == ["-"] and args.stdin_filename else args.paths
    config = load_config([p for p in lookup if p != "-"] or ["."], config_file=args.config_file)

    def codes(values, flag):
        return tuple(check_codes(values, lambda problem: ConfigErrorForFlag(f"{flag} {problem}")))

    settings = config.settings
    if args.select is not None:
        settings = dataclasses.replace(settings, select=codes(args.select, "--select"))
    if args.extend_select:
        settings = dataclasses.replace(
            settings, select=settings.select + codes(args.extend_select, "--extend-select")
        )
    if args.ignore:
        settings = dataclasses.replace(settings, ignore=settings.ignore + codes(args.ignore, "--ignore"))
    for name, choices in (("target", TARGETS), ("transport", TRANSPORTS)):
        value = getattr(args, name)
        if name == "transport":
            value = TRANSPORT_ALIASES.get(value, value)
        if value is not None:
            if value not in choices:
                raise ConfigErrorForFlag(
                    f"--{name} must be one of {', '.join(map(repr, choices))}, not {value!r}")
            settings = dataclasses.replace(settings, **{name: value})
    # As in ruff: --exclude replaces `exclude` (defaults included), --extend-exclude adds.
    overrides = {"settings": settings,
                 "extend_exclude": config.extend_exclude + tuple(args.extend_exclude)}
    if args.exclude is not None:
        overrides["exclude"] = tuple(args.exclude)
    for name in ("force_exclude", "respect_gitignore", "jobs", "unsafe_fixes"):
        if getattr(args, name) is not None:
            overrides[name] = getattr(args, name)
    return dataclasses.replace(config, **overrides)


class ConfigErrorForFlag(Exception):
    """A bad rule code on the command line."""


def run_check(args: CheckArgs) -> int:
    """Run the lint/fix command; returns the exit code."""
    from unfake_async.config import ConfigError, render_settings

    try:
        config = resolve_config(args)
    except (ConfigError, ConfigErrorForFlag) as exc:
        sys.stderr.write(f"unfake-async: error: {exc}\n")
        return 2
    if args.show_settings:
        sys.stdout.write(render_settings(config))
        return 0
    if args.paths == ["-"]:
        _collect_less_often()
        return _run_stdin(args, config)
    if "-" in args.paths:
        sys.stderr.write("unfake-async: error: - (stdin) cannot be combined with other paths\n")
        return 2
    _collect_less_often()
    return _run_paths(args, config)


# Python's cyclic collector starts a collection every 700 net allocations; a LibCST tree is
# millions of objects, each walked again by every full collection (a 2,000-site module: 26
# full collections, 8-15% of a diff's CPU). Every 10,000: about the same peak memory there.
_GC_THRESHOLD = (10_000, 10, 10)


def _collect_less_often() -> None:
    """For this process and the workers it forks (the CLI's own run, not the library's)."""
    import gc

    gc.set_threshold(*_GC_THRESHOLD)


def _fix_level(args: CheckArgs, config) -> FixLevel:
    if args.mode == "check":
        return FixLevel.NONE
    if args.mode == "diff":
        # Unlike ruff, a diff shows the whole migration, unsafe fixes marked with their reasons:
        # it writes nothing, and most of a migration is unsafe by our own definition, so a
        # safe-only preview would show almost nothing. `--no-unsafe-fixes` narrows it to --fix's.
        return FixLevel.SAFE if args.unsafe_fixes is False else FixLevel.UNSAFE
    return FixLevel.UNSAFE if config.unsafe_fixes else FixLevel.SAFE


def _report_options(args: CheckArgs, config, result=None):
    from unfake_async.output.report import ReportOptions
    from unfake_async.project_requirements import requirements_note

    note = requirements_note(result.added_imports(), config.root) if result is not None else None
    return ReportOptions(output_format=args.output_format, statistics=args.statistics,
                         show_fixes=args.show_fixes, unsafe_fixes=config.unsafe_fixes,
                         quiet=args.quiet, root=config.root, notes=(note,) if note else ())


def _run_paths(args: CheckArgs, config) -> int:
    from unfake_async.codemod.engine.cache import CACHE_DIRNAME
    from unfake_async.codemod.engine.discovery import DiscoveryOptions, discover
    from unfake_async.codemod.engine.dispatch import start_workers
    from unfake_async.codemod.engine.runner import RunOptions, run_files

    # A directory may hold thousands of files: a worker forked now imports libcst on another
    # core while discovery and the prefilter run here.
    workers = None
    if not args.show_files and any(os.path.isdir(path) for path in args.paths):
        workers = start_workers(config.jobs)
    try:
        found = discover(args.paths, DiscoveryOptions(
            excludes=config.excludes, root=config.root,
            respect_gitignore=config.respect_gitignore, force_exclude=config.force_exclude,
        ))
    except BaseException:
        if workers is not None:
            workers.close()
        raise
    if args.show_files:
        sys.stdout.write("".join(path + "\n" for path in found.files))
        return 0
    cache_dir = None if args.no_cache else (args.cache_dir or os.path.join(config.root, CACHE_DIRNAME))
    options = RunOptions(
        mode=args.mode, fix_level=_fix_level(args, config), jobs=config.jobs,
        cache_dir=cache_dir, per_file_ignores=config.per_file_ignores, root=config.root,
    )
    with _progress(len(found.files), enabled=not args.quiet) as advance:
        result = run_files(found.files, config.settings, options, progress=advance, workers=workers)
    result.discovery_skipped = found.skipped
    result.discovery_errors = found.errors
    _emit_to(args, config, result)
    return exit_code(result, exit_zero=args.exit_zero)


def _run_stdin(args: CheckArgs, config) -> int:
    from unfake_async.codemod.engine.discovery import DiscoveryOptions, is_excluded
    from unfake_async.codemod.engine.runner import RunOptions, RunResult, run_source

    data = sys.stdin.buffer.read()
    name = args.stdin_filename or "-"
    if args.stdin_filename and config.force_exclude and is_excluded(args.stdin_filename, DiscoveryOptions(
            excludes=config.excludes, root=config.root, respect_gitignore=config.respect_gitignore)):
        if args.mode == "fix":  # an editor expects its text back, unchanged
            sys.stdout.buffer.write(data)
        return 0
    options = RunOptions(mode=args.mode, fix_level=_fix_level(args, config),
                         per_file_ignores=config.per_file_ignores, root=config.root)
    report = run_source(data, name, config.settings, options)
    for warning in report.warnings:
        sys.stderr.write(f"unfake-async: warning: {name}: {warning}\n")
    result = RunResult([report], fix_level=options.fix_level, mode=args.mode)
    if args.mode == "fix":
        sys.stdout.buffer.write(report.encoded if report.encoded is not None else data)
        sys.stdout.flush()
    _emit_to(args, config, result, diagnostics_to_err=args.mode == "fix")
    return exit_code(result, exit_zero=args.exit_zero)


def _emit_to(args: CheckArgs, config, result, *, diagnostics_to_err: bool = False) -> None:
    from unfake_async.output.report import emit, stderr_sink, stream_sink

    out = stream_sink(args.output_file, sys.stdout)
    try:
        emit(result, _report_options(args, config, result), out=out, err=stderr_sink(),
             diagnostics_to_err=diagnostics_to_err)
    finally:
        if out.stream is not sys.stdout:
            out.stream.close()


def exit_code(result, *, exit_zero: bool = False) -> int:
    """0 clean, 1 findings (a non-empty diff with --diff), 2 when anything failed."""
    if result.errors():
        return 2
    if result.mode == "diff":
        found = any(r.changed for r in result.reports)
    else:
        found = any(r.remaining for r in result.reports)
    return 0 if exit_zero or not found else 1


class _progress:
    """A rich progress bar on stderr for big trees on a terminal; a no-op otherwise."""

    def __init__(self, total: int, *, enabled: bool) -> None:
        self.total = total
        self.enabled = enabled and total > PROGRESS_THRESHOLD and sys.stderr.isatty()
        self.bar = None

    def __enter__(self):
        if not self.enabled:
            return None
        return self._advance

    def _advance(self, count: int) -> None:
        # Started on the first file done, not before: the bar's refresh thread must not exist
        # yet when the runner forks its analysis workers (`codemod/engine/workers.py`).
        if self.bar is None:
            from rich.progress import Progress

            self.bar = Progress(console=Console(file=sys.stderr), transient=True)
            self.bar.start()
            self._task = self.bar.add_task("Checking", total=self.total)
        self.bar.advance(self._task, count)

    def __exit__(self, *exc_info) -> None:
        if self.bar is not None:
            self.bar.stop()


# -- the rule catalogue ------------------------------------------------------------------------

catalogue_app = typer.Typer(add_completion=False, rich_markup_mode=None, pretty_exceptions_enable=False)


@catalogue_app.command("rules")
def rules_command(
    output_format: str = typer.Option("text", "--output-format", help="text or json."),
) -> None:
    """List every rule: code, name, fix safety (safe / unsafe / none) and summary."""
    from unfake_async.output.catalogue import print_rules

    print_rules(Console(highlight=False), fmt=output_format)


@catalogue_app.command("rule")
def rule_command(
    code: str = typer.Argument(..., help="A rule code such as UFA001."),
    output_format: str = typer.Option("text", "--output-format", help="text or json."),
) -> None:
    """Explain one rule: what it does, why it is bad, an example, and its fix safety."""
    from unfake_async.output.catalogue import print_rule

    problem = print_rule(Console(highlight=False), code, fmt=output_format)
    if problem:
        sys.stderr.write(f"unfake-async: error: {problem}\n")
        raise typer.Exit(2)


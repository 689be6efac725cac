"""The command line: parse options, run the engine, print, exit. No analysis here."""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Optional


EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 2, 130
#: Up to this many files are linted with the cyclic garbage collector off (see main()).
GC_FREE_FILES = 8


def _split(values: tuple) -> Optional[tuple]:
    if not values:
        return None
    out = []
    for value in values:
        out.extend(v for v in (p.strip() for p in value.split(",")) if v)
    return tuple(out)


def _display(path: Path) -> str:
    text = os.path.normpath(str(path))
    if os.path.isabs(text):
        try:
            rel = os.path.relpath(text)
            if not rel.startswith(".."):
                return rel
        except ValueError:
            pass
    return text


_ANSI = None


def echo(message: str, err: bool = False) -> None:
    """``click.echo(message, err=err)`` for a str, without importing click: a line, ANSI escapes stripped
    where the stream is no terminal, flushed."""
    stream = sys.stderr if err else sys.stdout
    if stream is None:
        return
    message = f"{message}\n"
    if "\033" in message:
        global _ANSI
        import re

        _ANSI = _ANSI or re.compile(r"\033\[[;?0-9]*[a-zA-Z]")
        try:
            tty = stream.isatty()
        except (AttributeError, ValueError):
            tty = False
        if not tty:
            message = _ANSI.sub("", message)
    stream.write(message)
    stream.flush()


def __getattr__(name: str):
    """``lint_command`` and ``rule_command`` (the click commands) load click on first use."""
    if name in ("lint_command", "rule_command"):
        from . import commands

        return getattr(commands, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def fail(message: str) -> None:
    echo(f"zerolint: error: {message}", err=True)
    sys.exit(EXIT_ERROR)


def _confirm(per_file: list, device: str, timeout: float, steps: int, quiet: bool) -> list:
    from .confirm import ConfirmUnavailable, confirm

    def progress(display: str) -> None:
        if not quiet:
            echo(f"zerolint: running {display} (--confirm executes it)", err=True)

    from .notebook import parse_all

    notebooks = parse_all((path, display) for path, display, _, _ in per_file)  # run as one script each
    files = [(path, display, [notebooks[display].unplace_finding(f) for f in kept] if display in notebooks
              else kept) for path, display, kept, _ in per_file]
    try:
        confirmed = confirm(files, device, timeout, steps, progress)
    except ConfirmUnavailable as exc:
        fail(str(exc))
    confirmed = [notebooks[f.path].place_finding(f) if f.path in notebooks and f.cell is None else f
                 for f in confirmed]
    places = {display: (path, config) for path, display, _, config in per_file}
    return [f for f in confirmed
            if not f.code.startswith("ZL9") or places[f.path][1].is_enabled(f.code, places[f.path][0])]


FORMAT_NAMES = ["text", "json", "json-lines", "sarif", "github", "grouped"]


def run_lint(paths, output_format="text", select=(), ignore=(), extend_select=(), exclude=(), extend_exclude=(),
             config_file=None, exit_zero=False, quiet=False, statistics=False, jobs=None, cache_dir=None,
             no_cache=False, file_timeout=None, fix=False, diff=False, confirm_run=False, device="auto",
             confirm_timeout=60.0, confirm_steps=3, stdin_filename=None) -> None:
    """The lint command's body (the defaults are the options' defaults: tests/test_cli.py compares them)."""
    from . import guard  # the engine's, imported by any run: no cost here

    try:
        # A Ctrl-C is remembered as well as raised: one whose KeyboardInterrupt something inside the
        # analysis swallowed (libcst turns it into a KeyError) still ends the run with 130.
        with guard.interrupts():
            _lint(paths, output_format, select, ignore, extend_select, exclude, extend_exclude, config_file,
                  exit_zero, quiet, statistics, jobs, cache_dir, no_cache, file_timeout, fix, diff, confirm_run,
                  device, confirm_timeout, confirm_steps, stdin_filename)
    except KeyboardInterrupt:
        echo("zerolint: interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)


def _lint(paths, output_format, select, ignore, extend_select, exclude, extend_exclude, config_file,
          exit_zero, quiet, statistics, jobs, cache_dir, no_cache, file_timeout, fix, diff, confirm_run, device,
          confirm_timeout, confirm_steps, stdin_filename=None) -> None:
    from .config import ConfigError, ConfigFinder, load_file, parse_codes
    from .discovery import MissingPath, discover
    from .engine import sort_findings
    from .output import FORMATS, MACHINE, fix_key, statistics as stats_table
    from .runner import default_jobs, lint_all

    if fix and diff:
        fail("--fix and --diff cannot be combined")
    stdin = "-" in paths
    if stdin and len(paths) > 1:
        fail("`-` (read stdin) cannot be combined with other paths")
    if stdin_filename and not stdin:
        fail("--stdin-filename needs `-` as the path")
    if stdin and confirm_run:
        fail("--confirm runs files on disk; it cannot read stdin")
    if confirm_run:
        if fix or diff:
            fail("--confirm cannot be combined with --fix or --diff")
        from .confirm import INSTALL_HINT, torch_importable  # lazy: the static path never loads it

        if not torch_importable():
            fail(INSTALL_HINT)
    try:
        overrides = {
            "select": parse_codes(list(_split(select)), "--select", "command line") if select else None,
            "ignore": parse_codes(list(_split(ignore)), "--ignore", "command line") if ignore else None,
            "extend_select": parse_codes(list(_split(extend_select)), "--extend-select", "command line")
            if extend_select else None,
            "exclude": _split(exclude),
            "file_timeout": file_timeout,
        }
        overrides = {k: v for k, v in overrides.items() if v is not None}
        fixed = load_file(Path(config_file)) if config_file else None
        finder = ConfigFinder(Path.cwd())
        targets = list(paths) or ["."]
        extra_exclude = _split(extend_exclude) or ()
        items = []

        def skipped(path: Path, why: str) -> None:
            if not quiet:
                echo(f"zerolint: skipping {_display(path)}: {why}", err=True)

        for path, config in ([] if stdin else discover(targets, finder, fixed, overrides, on_skip=skipped)):
            if extra_exclude:
                config = config.with_overrides(extend_exclude=config.extend_exclude + extra_exclude)
                if config.is_excluded(path):
                    continue
            items.append((path, config, _display(path)))
        cache = None if no_cache else _open_cache(cache_dir, fixed if fixed is not None else finder.for_path(Path.cwd()))
    except ConfigError as exc:
        fail(str(exc))
    except MissingPath as exc:
        fail(f"path does not exist: {exc.args[0]}")

    if not quiet:
        for source in {config.source for _, config, _ in items if config.selects_nothing()}:
            echo(f"zerolint: warning: {'--select' if 'select' in overrides else source or 'the configuration'}"
                       " selects no rule: only unreadable files (ZL000) are reported", err=True)
    if len(items) > GC_FREE_FILES:
        import gc

        gc.enable()  # memory stays bounded on long runs
    out = sys.stdout
    if stdin:
        from .stdin import fix_stdin, lint_stdin

        try:
            data = sys.stdin.buffer.read()
            items, results = lint_stdin(data, stdin_filename, finder, fixed, overrides, extra_exclude)
        except ConfigError as exc:
            fail(str(exc))
        if fix or diff:
            new_data = fix_stdin(data, items[0], diff, quiet)
            if diff:
                sys.exit(EXIT_FINDINGS if new_data != data and not exit_zero else EXIT_CLEAN)
            if new_data != data:
                _, results = lint_stdin(new_data, stdin_filename, finder, fixed, overrides, extra_exclude)
            out = sys.stderr  # stdout holds the source: what is left goes to stderr
            fix = False
    else:
        progress = _progress_printer() if output_format == "text" and not quiet and _stderr_is_tty() else None
        results = lint_all(items, jobs or default_jobs(), cache, progress)

    if fix or diff:
        from .fix.apply import apply_fixes

        changed = apply_fixes(items, results, write=fix)
        if diff:
            sys.stdout.write("".join(text for _, text in changed))
            if not quiet:
                echo(f"{len(changed)} file{'s' * (len(changed) != 1)} would be fixed.", err=True)
            sys.exit(EXIT_FINDINGS if changed and not exit_zero else EXIT_CLEAN)
        if changed:
            if not quiet:
                fixed_count = sum(n for n, _ in changed)
                echo(f"Fixed {fixed_count} finding{'s' * (fixed_count != 1)} in {len(changed)} "
                           f"file{'s' * (len(changed) != 1)}.", err=True)
            results = lint_all(items, 1, cache)  # report what is left

    findings = []
    fixable = set()
    internal_errors = 0
    for (path, config, _), result in zip(items, results):
        findings.extend(f for f in result.findings if config.is_enabled(f.code, path))
        fixable.update((result.path, *key) for key in result.fixable)
        if result.error:
            internal_errors += 1
            echo(f"zerolint: internal error on {result.path} (please report it): {result.error}", err=True)
    checked = len(items)

    if confirm_run:
        per_file = [(path, display, [f for f in result.findings if config.is_enabled(f.code, path)], config)
                    for (path, config, display), result in zip(items, results)]
        findings = _confirm(per_file, device, confirm_timeout, confirm_steps, quiet)
    findings = sort_findings(findings)
    fixable = {fix_key(f) for f in findings} & fixable
    out.write(FORMATS[output_format](findings, fixable=fixable))
    if statistics:
        table = stats_table(findings)
        if output_format in MACHINE:
            sys.stderr.write(table)
        else:
            out.write(table)
    if not quiet:
        files = len({f.path for f in findings})
        if findings:
            echo(f"Found {len(findings)} finding{'s' * (len(findings) != 1)} in {files} "
                       f"file{'s' * (files != 1)} ({checked} checked).", err=True)
            if fixable and output_format in ("text", "grouped") and not fix:
                echo(f"[*] {len(fixable)} fixable with `zerolint --fix` (preview with --diff).", err=True)
        elif internal_errors:  # never "All checks passed" for a file zerolint failed to analyze
            echo(f"No findings, but {internal_errors} of {checked} file{'s' * (checked != 1)} could not be "
                 "analyzed (internal error above).", err=True)
        else:
            echo(f"All checks passed ({checked} file{'s' * (checked != 1)} checked).", err=True)
    if internal_errors:
        sys.exit(EXIT_ERROR)
    sys.exit(EXIT_FINDINGS if findings and not exit_zero else EXIT_CLEAN)


def _open_cache(cache_dir, config):
    from .cache import DEFAULT_DIR, Cache, find_project_root

    if cache_dir:
        return Cache(Path(cache_dir))
    if config.cache_dir:
        return Cache(config.root / config.cache_dir)
    root = config.root if config.source is not None else find_project_root(Path.cwd())
    return Cache(root / DEFAULT_DIR)


def _stderr_is_tty() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def _progress_printer():
    state = {"shown": False}

    def show(done: int, total: int) -> None:
        if total < 50:
            return
        if done >= total:
            if state["shown"]:
                sys.stderr.write("\r\033[K")
                sys.stderr.flush()
            return
        state["shown"] = True
        sys.stderr.write(f"\rzerolint: {done}/{total} files")
        sys.stderr.flush()

    return show


def rule(code, show_all) -> None:
    """Print the page of rule CODE (e.g. ZL101), or list all rules with --all."""
    from .codes import CODES
    from .pages import page

    if show_all or not code:
        width = max(len(c.name) for c in CODES.values())
        for c in CODES.values():
            what = c.summary if c.static else f"{c.summary}; reported by `zerolint --confirm` (a run)"
            echo(f"{c.code}  {c.name:<{width}}  {c.severity:<7}  {what}")
        return
    wanted = code.strip().upper()
    declared = CODES.get(wanted)
    if declared is None:
        fail(f"unknown rule {code!r} (see `zerolint rule --all`)")
    if declared.page is None:
        echo(f"# {wanted}: {declared.name}\n\n{declared.summary[:1].upper()}{declared.summary[1:]}.\n\n"
                   f"Severity: {declared.severity}. A runtime-only check: `zerolint --confirm` reports it when a "
                   "shrunk run of the script shows it (README, section \"--confirm: run the script and see\").")
        return
    text = page(wanted)
    if text is None:
        fail(f"the page of {wanted} is missing from this installation")
    echo(text.rstrip("\n"))


#: The flags the plain command line may hold (`zerolint [-q] [--no-cache] FILE...`, pre-commit's case):
#: flag -> run_lint's keyword. Anything else goes through click.
_PLAIN_FLAGS = {"-q": "quiet", "--quiet": "quiet", "--no-cache": "no_cache", "--exit-zero": "exit_zero",
                "--statistics": "statistics", "--fix": "fix", "--diff": "diff"}


def plain_command_line(argv: list) -> Optional[dict]:
    """run_lint's arguments for a command line of only paths and the flags above, parsed as click would;
    None for any other (an option with a value, --help, `-`, `--`, no path: click parses those)."""
    flags: dict = {}
    paths = []
    for arg in argv:
        if arg.startswith("-"):
            if arg not in _PLAIN_FLAGS:
                return None
            flags[_PLAIN_FLAGS[arg]] = True
        else:
            paths.append(arg)
    if not paths:
        return None
    return {"paths": tuple(paths), **flags}


def _run_plain(kwargs: dict) -> None:
    try:
        run_lint(**kwargs)
    except OSError as exc:  # as click does: a closed pipe (`zerolint x.py | head`) exits 1 quietly
        import errno

        if exc.errno != errno.EPIPE:
            raise
        from click.utils import PacifyFlushWrapper

        sys.stdout = PacifyFlushWrapper(sys.stdout)
        sys.stderr = PacifyFlushWrapper(sys.stderr)
        sys.exit(1)


def main(args=None, prog_name=None, **extra):
    """The console script: `zerolint rule ...` prints rule pages, anything else lints paths."""
    import gc

    # A short run (the one-file pre-commit case) allocates a tree and a model and exits: the cyclic
    # collector would only rescan the libcst import, so it is off until a run has many files.
    enabled = gc.isenabled()
    gc.disable()
    try:
        argv = list(sys.argv[1:] if args is None else args)
        if argv and argv[0] == "rule" and not Path("rule").exists():
            from .commands import rule_command

            return rule_command.main(argv[1:], prog_name="zerolint rule", **extra)
        if argv and argv[0] == "server" and not Path("server").exists():
            from .lsp import serve

            return serve(argv[1:])
        plain = None if extra or "_ZEROLINT_COMPLETE" in os.environ else plain_command_line(argv)  # completion: click
        if plain is not None:
            return _run_plain(plain)
        from .commands import lint_command

        return lint_command.main(argv, prog_name=prog_name or "zerolint", **extra)
    finally:
        if enabled:
            gc.enable()

"""The command line: parse options, run the engine, print, exit. No analysis here."""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Optional

import click

from . import __version__

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


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


def fail(message: str) -> None:
    click.echo(f"zerolint: error: {message}", err=True)
    sys.exit(EXIT_ERROR)


def _confirm(per_file: list, device: str, timeout: float, steps: int, quiet: bool) -> list:
    from .confirm import ConfirmUnavailable, confirm

    def progress(display: str) -> None:
        if not quiet:
            click.echo(f"zerolint: running {display} (--confirm executes it)", err=True)

    try:
        confirmed = confirm([(path, display, kept) for path, display, kept, _ in per_file],
                            device, timeout, steps, progress)
    except ConfirmUnavailable as exc:
        fail(str(exc))
    places = {display: (path, config) for path, display, _, config in per_file}
    return [f for f in confirmed
            if not f.code.startswith("ZL9") or places[f.path][1].is_enabled(f.code, places[f.path][0])]


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="Output format.")
@click.option("--select", multiple=True, help="Codes or prefixes to enable (e.g. ZL1,ZL201).")
@click.option("--ignore", multiple=True, help="Codes or prefixes to disable.")
@click.option("--extend-select", multiple=True, help="Codes or prefixes to enable on top of the config.")
@click.option("--exclude", multiple=True, help="Glob patterns of paths to skip (replaces the config's).")
@click.option("--extend-exclude", multiple=True, help="Glob patterns to skip on top of the config's.")
@click.option("--config", "config_file", type=click.Path(dir_okay=False),
              help="Use this pyproject.toml or zerolint.toml instead of discovering one.")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when there are findings.")
@click.option("-q", "--quiet", is_flag=True, help="Print no summary line on stderr.")
@click.option("--confirm", "confirm_run", is_flag=True,
              help="Run a shrunk copy of each training script (this EXECUTES the script) and mark "
                   "each finding confirmed, refuted or unreached; adds runtime-only ZL9xx findings.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True,
              help="With --confirm: where the script runs (cpu hides GPUs from it).")
@click.option("--confirm-timeout", type=click.FloatRange(min=0.1), default=60.0, show_default=True,
              metavar="SECONDS", help="With --confirm: wall-clock limit per script.")
@click.option("--confirm-steps", type=click.IntRange(min=1), default=3, show_default=True, metavar="N",
              help="With --confirm: iterations each training/evaluation loop may run.")
@click.version_option(__version__, "--version", prog_name="zerolint")
def main(paths, output_format, select, ignore, extend_select, exclude, extend_exclude, config_file,
         exit_zero, quiet, confirm_run, device, confirm_timeout, confirm_steps) -> None:
    """Lint PyTorch/Keras training scripts for bugs that keep accuracy at 0 or the loss flat.

    PATHS are files or folders (default: the current folder). Exit status: 0 clean, 1 findings,
    2 usage or configuration error.
    """
    from .config import ConfigError, ConfigFinder, load_file, parse_codes
    from .discovery import MissingPath, discover
    from .engine import lint_file, sort_findings
    from .output import FORMATS

    if confirm_run:
        from .confirm import INSTALL_HINT, torch_importable  # lazy: the static path never loads it

        if not torch_importable():
            fail(INSTALL_HINT)
    per_file = []
    try:
        overrides = {
            "select": parse_codes(list(_split(select)), "--select", "command line") if select else None,
            "ignore": parse_codes(list(_split(ignore)), "--ignore", "command line") if ignore else None,
            "extend_select": parse_codes(list(_split(extend_select)), "--extend-select", "command line")
            if extend_select else None,
            "exclude": _split(exclude),
        }
        overrides = {k: v for k, v in overrides.items() if v is not None}
        fixed = load_file(Path(config_file)) if config_file else None
        finder = ConfigFinder(Path.cwd())
        targets = list(paths) or ["."]
        findings = []
        checked = 0
        internal_errors = 0
        extra_exclude = _split(extend_exclude) or ()
        for path, config in discover(targets, finder, fixed, overrides):
            if extra_exclude:
                config = config.with_overrides(extend_exclude=config.extend_exclude + extra_exclude)
                if config.is_excluded(path):
                    continue
            result = lint_file(path, config, _display(path))
            checked += 1
            kept = [f for f in result.findings if config.is_enabled(f.code, path)]
            findings.extend(kept)
            per_file.append((path, _display(path), kept, config))
            if result.error:
                internal_errors += 1
                click.echo(f"zerolint: internal error on {result.path} (please report it): {result.error}",
                           err=True)
    except ConfigError as exc:
        fail(str(exc))
    except MissingPath as exc:
        fail(f"path does not exist: {exc.args[0]}")

    if confirm_run:
        findings = _confirm(per_file, device, confirm_timeout, confirm_steps, quiet)
    findings = sort_findings(findings)
    sys.stdout.write(FORMATS[output_format](findings))
    if not quiet:
        files = len({f.path for f in findings})
        if findings:
            click.echo(f"Found {len(findings)} finding{'s' * (len(findings) != 1)} in {files} "
                       f"file{'s' * (files != 1)} ({checked} checked).", err=True)
        else:
            click.echo(f"All checks passed ({checked} file{'s' * (checked != 1)} checked).", err=True)
    if internal_errors:
        sys.exit(EXIT_ERROR)
    sys.exit(EXIT_FINDINGS if findings and not exit_zero else EXIT_CLEAN)

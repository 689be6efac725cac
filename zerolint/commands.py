"""The click commands: option parsing, --help and --version for `zerolint` and `zerolint rule`.

Imported only when a command line needs click: ``cli.main`` runs the plain `zerolint [-q] FILE...`
case (the pre-commit hook's) without it, with the same defaults (tests/test_cli.py compares them).
"""
from __future__ import annotations

import click

from . import __version__
from .cli import FORMAT_NAMES, rule, run_lint


@click.command(context_settings={"help_option_names": ["-h", "--help"]},
               epilog="`zerolint rule ZL101` prints a rule's page; `zerolint rule --all` lists the rules.")
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--format", "output_format", type=click.Choice(FORMAT_NAMES), default="text",
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
@click.option("--statistics", is_flag=True,
              help="Print the number of findings per code (after text output; on stderr for machine formats).")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None,
              help="Files linted in parallel (default: all cores).")
@click.option("--cache-dir", type=click.Path(file_okay=False),
              help="Cache folder (default: .zerolint_cache at the project root, or `cache-dir` in config).")
@click.option("--no-cache", is_flag=True, help="Neither read nor write the cache.")
@click.option("--file-timeout", type=click.FloatRange(min=0), default=None, metavar="SECONDS",
              help="Analysis budget per file; past it the file gets a ZL000 (default 5, or "
                   "`file-timeout` in config; 0: no limit).")
@click.option("--fix", is_flag=True, help="Apply the safe fixes (findings marked [*]) in place.")
@click.option("--diff", is_flag=True, help="Print the safe fixes as a unified diff; change nothing.")
@click.option("--confirm", "confirm_run", is_flag=True,
              help="Run a shrunk copy of each training script (this EXECUTES the script) and mark "
                   "each finding confirmed, refuted or unreached; adds runtime-only ZL9xx findings.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True,
              help="With --confirm: where the script runs (cpu hides GPUs from it).")
@click.option("--confirm-timeout", type=click.FloatRange(min=0.1), default=60.0, show_default=True,
              metavar="SECONDS", help="With --confirm: wall-clock limit per script.")
@click.option("--confirm-steps", type=click.IntRange(min=1), default=3, show_default=True, metavar="N",
              help="With --confirm: iterations each training/evaluation loop may run.")
@click.option("--stdin-filename", metavar="PATH",
              help="With `-` as the path: the file the source read from stdin belongs to (its config, "
                   "per-file-ignores and the name findings are printed under; .ipynb for a notebook).")
@click.version_option(__version__, "--version", prog_name="zerolint")
def lint_command(paths, output_format, select, ignore, extend_select, exclude, extend_exclude, config_file,
                 exit_zero, quiet, statistics, jobs, cache_dir, no_cache, file_timeout, fix, diff, confirm_run,
                 device, confirm_timeout, confirm_steps, stdin_filename) -> None:
    """Lint PyTorch/Keras training scripts for bugs that keep accuracy at 0 or the loss flat.

    PATHS are files or folders (default: the current folder); `-` reads one file from stdin (name it
    with --stdin-filename; with --fix the fixed source is printed to stdout). Files ending in .ipynb
    are linted as Jupyter notebooks. Exit status: 0 clean, 1 findings, 2 usage or configuration error,
    130 interrupted.
    """
    run_lint(paths, output_format, select, ignore, extend_select, exclude, extend_exclude, config_file, exit_zero,
             quiet, statistics, jobs, cache_dir, no_cache, file_timeout, fix, diff, confirm_run, device,
             confirm_timeout, confirm_steps, stdin_filename)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("code", required=False)
@click.option("--all", "show_all", is_flag=True, help="List every rule: code, name, severity, summary.")
def rule_command(code, show_all) -> None:
    """Print the page of rule CODE (e.g. ZL101), or list all rules with --all."""
    rule(code, show_all)

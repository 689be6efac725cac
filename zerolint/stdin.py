"""`zerolint - --stdin-filename PATH`: lint (and fix) one source read from stdin, as the file PATH."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional


def lint_stdin(data: bytes, name: Optional[str], finder, fixed, overrides: dict, extra_exclude: tuple) -> tuple:
    """Lint the source on stdin as the file ``name`` (its config and per-file-ignores); no cache."""
    from .cli import _display
    from .runner import Linted, lint_one

    real = Path(name) if name else None
    base = fixed if fixed is not None else finder.for_path(real if real is not None else Path.cwd())
    config = base.with_overrides(**overrides) if overrides else base
    if extra_exclude:
        config = config.with_overrides(extend_exclude=config.extend_exclude + extra_exclude)
    display = _display(real) if real is not None else "-"
    item = (real if real is not None else Path("-"), config, display)
    if real is not None and config.is_excluded(real):
        return [item], [Linted(display)]
    return [item], [lint_one(data, display, config, real)]


def fix_stdin(data: bytes, item: tuple, diff: bool, quiet: bool) -> bytes:
    """--fix: the fixed source on stdout (the input unchanged when nothing applies); --diff: the diff.

    Returns the fixed bytes (``data`` itself when nothing changed)."""
    import difflib

    from .fix.apply import fix_data

    path, config, display = item
    real = None if display == "-" else path
    text, new_text, count = (data.decode("utf-8", "replace"), None, 0)
    if real is None or not config.is_excluded(real):
        text, new_text, count, _ = fix_data(data, display, config, real)
    if not count or new_text == text:
        if not diff:
            sys.stdout.buffer.write(data)
            sys.stdout.flush()
        return data
    if diff:
        sys.stdout.write("".join(difflib.unified_diff(text.splitlines(keepends=True),
                                                      new_text.splitlines(keepends=True),
                                                      f"a/{display}", f"b/{display}")))
        return new_text.encode("utf-8")
    sys.stdout.write(new_text)
    sys.stdout.flush()
    if not quiet:
        from .cli import echo

        echo(f"Fixed {count} finding{'s' * (count != 1)}.", err=True)
    return new_text.encode("utf-8")

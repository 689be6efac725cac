"""Output formats: each turns sorted findings into text for stdout.

A format is a function ``(findings) -> str`` registered in ``FORMATS``; ``MACHINE`` lists the ones
other programs parse (no progress, no statistics mixed into stdout).
"""
from __future__ import annotations

from collections import Counter
from typing import Callable, Collection, Iterable, Optional

from ..diagnostic import Finding
from ..fix import is_fixable


def fix_key(f: Finding) -> tuple:
    return (f.path, *f.key)


def _confirmation(finding: Finding) -> str:
    """`` [confirmed: evidence]`` after a finding checked by --confirm; nothing otherwise."""
    c = finding.confirmation
    return f" [{c['status']}: {c['evidence']}]" if c else ""


def _code(f: Finding, fixable: Optional[Collection]) -> str:
    """``CODE [*]`` when a fix applies: per finding when known (``fixable`` keys), else per rule."""
    marked = is_fixable(f.code) if fixable is None else fix_key(f) in fixable
    return f"{f.code} [*]" if marked else f.code


def text(findings: Iterable[Finding], fixable: Optional[Collection] = None) -> str:
    """flake8 style: ``path:line:col: CODE message`` with 1-based line and column (``[*]``: fixable).

    In a notebook: ``path:cell N:line:col: ...`` (as ruff prints it), line and column within the cell.
    """
    return "".join(f"{f.path}:{f.where}: {_code(f, fixable)} {f.message}{_confirmation(f)}\n"
                   for f in findings)


def json_array(findings: Iterable[Finding], **_) -> str:
    import json  # lazy: text runs never need it

    return json.dumps([f.to_json() for f in findings], indent=2) + "\n"


def json_lines(findings: Iterable[Finding], **_) -> str:
    """One JSON object per line, same keys as ``json``."""
    import json

    return "".join(json.dumps(f.to_json()) + "\n" for f in findings)


def grouped(findings: Iterable[Finding], fixable: Optional[Collection] = None) -> str:
    """For people: a heading per file, then ``line:col CODE message`` indented under it."""
    out: list = []
    current = None
    for f in findings:
        if f.path != current:
            if current is not None:
                out.append("\n")
            current = f.path
            out.append(f"{f.path}:\n")
        place = f"{f.line:>4}:{f.column:<3}" if f.cell is None else f"cell {f.cell}:{f.line}:{f.column}"
        out.append(f"  {place} {_code(f, fixable)} {f.message}\n")
    return "".join(out)


def statistics(findings: Iterable[Finding]) -> str:
    """Counts per code, most frequent first: ``count  CODE  [*] name`` ([*]: the rule has a fix)."""
    counts: Counter = Counter()
    names: dict = {}
    for f in findings:
        counts[f.code] += 1
        names[f.code] = f.name
    rows = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    width = max((len(str(n)) for _, n in rows), default=1)
    return "".join(f"{n:>{width}}  {code}  {'[*] ' if is_fixable(code) else ''}{names[code]}\n"
                   for code, n in rows)


def _sarif(findings: Iterable[Finding], **_) -> str:
    from .sarif import render

    return render(findings)


def _github(findings: Iterable[Finding], **_) -> str:
    from .github import render

    return render(findings)


FORMATS: dict[str, Callable[..., str]] = {  # (findings, fixable=None) -> str
    "text": text,
    "json": json_array,
    "json-lines": json_lines,
    "sarif": _sarif,
    "github": _github,
    "grouped": grouped,
}
MACHINE = frozenset({"json", "json-lines", "sarif", "github"})

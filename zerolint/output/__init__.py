"""Output formats: each turns sorted findings into text for stdout."""
from __future__ import annotations

import json
from typing import Callable, Iterable

from ..diagnostic import Finding


def text(findings: Iterable[Finding]) -> str:
    """flake8 style: ``path:line:col: CODE message`` with 1-based line and column."""
    return "".join(f"{f.path}:{f.line}:{f.column}: {f.code} {f.message}{_confirmation(f)}\n"
                   for f in findings)


def _confirmation(finding: Finding) -> str:
    """`` [confirmed: evidence]`` after a finding checked by --confirm; nothing otherwise."""
    c = finding.confirmation
    return f" [{c['status']}: {c['evidence']}]" if c else ""


def json_array(findings: Iterable[Finding]) -> str:
    return json.dumps([f.to_json() for f in findings], indent=2) + "\n"


FORMATS: dict[str, Callable[[Iterable[Finding]], str]] = {
    "text": text,
    "json": json_array,
}

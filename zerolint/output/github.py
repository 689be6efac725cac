"""GitHub Actions workflow commands: one ``::error``/``::warning`` annotation per finding."""
from __future__ import annotations

from typing import Iterable

from ..diagnostic import Finding


def escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(value: str) -> str:
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")


def annotation(f: Finding) -> str:
    level = "warning" if f.severity == "warning" else "error"
    props = [("file", f.path), ("line", f.line), ("col", f.column), ("endLine", f.end_line),
             ("endColumn", f.end_column), ("title", f"{f.code} {f.name}")]
    message = f.message
    if f.cell is not None:  # a notebook: annotate the line of the .ipynb JSON holding the source line
        props = [("file", f.path), ("line", f.file_line or 1), ("title", f"{f.code} {f.name}")]
        message = f"cell {f.cell}, line {f.line}, column {f.column}: {f.message}"
    joined = ",".join(f"{key}={escape_property(str(value))}" for key, value in props)
    return f"::{level} {joined}::{escape_data(message)}\n"


def render(findings: Iterable[Finding]) -> str:
    return "".join(annotation(f) for f in findings)

"""SARIF 2.1.0 for code scanning (GitHub accepts it with `github/codeql-action/upload-sarif`)."""
from __future__ import annotations

import json
import os
from typing import Iterable
from urllib.parse import quote

from .. import __version__
from ..codes import CODES, ZL000
from ..diagnostic import Finding
from ..pages import page, section

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/your-org/zerolint"


def _level(severity: str) -> str:
    return "warning" if severity == "warning" else "error"


def rule_descriptors() -> list:
    """One reportingDescriptor per declared code (ZL000 first), the help text taken from its page in `rules/`."""
    out = []
    for declared in (ZL000, *CODES.values()):
        code, name, severity, summary = declared.code, declared.name, declared.severity, declared.summary
        text = (page(code) or "") if declared.page else ""
        what = section(text, "What it does") if text else ""
        short = summary[:1].upper() + summary[1:] if summary else name
        descriptor = {
            "id": code,
            "name": name,
            "shortDescription": {"text": short},
            "fullDescription": {"text": what or short},
            "help": {"text": text or short, "markdown": text or short},
            "defaultConfiguration": {"level": _level(severity)},
            "properties": {"tags": ["zerolint", "training"]},
        }
        if text:
            descriptor["helpUri"] = f"{INFORMATION_URI}/blob/main/{declared.page}"
        out.append(descriptor)
    return out


def relative_uri(path: str) -> str:
    """A relative, forward-slash, percent-encoded URI (GitHub rejects absolute ones)."""
    norm = os.path.normpath(path)
    if os.path.isabs(norm):
        norm = os.path.relpath(norm)
    return quote(norm.replace(os.sep, "/"), safe="/-_.~")


def result(f: Finding, index: dict) -> dict:
    region = {"startLine": f.line, "startColumn": f.column, "endLine": f.end_line, "endColumn": f.end_column}
    message = f.message
    if f.cell is not None:  # a notebook: the region is the line of the .ipynb JSON holding the source line
        region = {"startLine": f.file_line or 1}
        message = f"cell {f.cell}, line {f.line}, column {f.column}: {f.message}"
    out = {
        "ruleId": f.code,
        "ruleIndex": index[f.code],
        "level": _level(f.severity),
        "message": {"text": message},
        "locations": [{
            "physicalLocation": {
                "artifactLocation": {"uri": relative_uri(f.path), "uriBaseId": "%SRCROOT%"},
                "region": region,
            }
        }],
    }
    if f.cell is not None:
        out["properties"] = {"cell": f.cell, "cellLine": f.line, "cellColumn": f.column}
    return out


def document(findings: Iterable[Finding]) -> dict:
    rules = rule_descriptors()
    index = {r["id"]: i for i, r in enumerate(rules)}
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "zerolint", "version": __version__, "semanticVersion": __version__,
                                "informationUri": INFORMATION_URI, "rules": rules}},
            "originalUriBaseIds": {"%SRCROOT%": {"uri": _cwd_uri()}},
            "columnKind": "unicodeCodePoints",
            "results": [result(f, index) for f in findings if f.code in index],
        }],
    }


def _cwd_uri() -> str:
    cwd = os.getcwd().replace(os.sep, "/")
    return "file://" + quote(cwd if cwd.startswith("/") else "/" + cwd) + "/"


def render(findings: Iterable[Finding]) -> str:
    return json.dumps(document(findings), indent=2) + "\n"

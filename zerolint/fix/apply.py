"""Apply the safe fixes to files: one fix at a time, each verified by re-linting, written atomically.

A fix is kept only if the file still parses, the finding it targets is gone (one fewer finding of
that code) and no other code gained a finding. Anything else leaves the file as it was.
"""
from __future__ import annotations

import difflib
import sys
from collections import Counter
from pathlib import Path
from typing import Optional

from ..atomic import write_atomic
from ..engine import _decode, lint_source
from . import FIXABLE

MAX_ROUNDS = 50


def fix_text(text: str, path: str = "<string>", config=None, real_path: Optional[Path] = None) -> tuple:
    """(new text, number of findings fixed). Never raises on bad input: no fix then."""
    from .transforms import FIXES, Tree

    fixed = 0
    refused: set = set()
    for _ in range(MAX_ROUNDS):
        result = lint_source(text, path, config, real_path=real_path, notebook=False)
        if result.error or not result.parsed:
            break
        findings = [f for f in result.findings
                    if f.code in FIXABLE and (config is None or config.is_enabled(f.code, real_path))]
        lines = text.splitlines()
        candidates = [f for f in findings if _identity(f, lines) not in refused]
        if not candidates:
            break
        before = Counter(f.code for f in result.findings)
        applied = False
        for finding in candidates:
            identity = _identity(finding, lines)
            try:
                tree = Tree.parse(text)
                module = FIXES[finding.code](tree, finding, [f for f in findings if f.code == finding.code])
                new_text = module.code if module is not None else None
            except Exception:  # a transform that cannot handle this shape: no fix
                new_text = None
            if new_text is None or new_text == text or not _verified(new_text, finding.code, before, path,
                                                                       config, real_path):
                refused.add(identity)
                continue
            text = new_text
            fixed += 1
            applied = True
            break
        if not applied:
            break
    return text, fixed


def _identity(finding, lines: list) -> tuple:
    source = lines[finding.line - 1].strip() if 0 < finding.line <= len(lines) else ""
    return finding.code, source, finding.message


def _verified(text: str, code: str, before: Counter, path: str, config, real_path) -> bool:
    try:
        compile(text, path, "exec", flags=0x400, dont_inherit=True)
    except (SyntaxError, ValueError):
        return False
    result = lint_source(text, path, config, real_path=real_path, notebook=False)
    if result.error or not result.parsed:
        return False
    after = Counter(f.code for f in result.findings)
    if after[code] >= before[code]:
        return False
    return all(after[c] <= before[c] for c in after)


def fix_data(data: bytes, display: str, config=None, real_path: Optional[Path] = None) -> tuple:
    """(old text, new text, number fixed) for one file's bytes (a notebook's: its JSON text).

    Only UTF-8 files without a BOM are fixed; anything else comes back unchanged with 0."""
    if (real_path is not None and str(real_path).lower().endswith(".ipynb")) or display.lower().endswith(".ipynb"):
        from ..notebook import NotebookError, fix_notebook

        try:
            return fix_notebook(data, display, config, real_path)
        except NotebookError:
            return "", "", 0
    try:
        if data.startswith(b"\xef\xbb\xbf"):
            return "", "", 0
        text = _decode(data)
        if text.encode("utf-8") != data:
            return text, text, 0  # only UTF-8 files are rewritten
    except (UnicodeDecodeError, LookupError, SyntaxError):
        return "", "", 0
    new_text, count = fix_text(text, display, config, real_path=real_path)
    return text, new_text, count


def apply_fixes(items: list, results: list, write: bool) -> list:
    """For each file with fixable findings: fix it; return [(fixed count, unified diff)] of changed files."""
    changed = []
    for (path, config, display), result in zip(items, results):
        if not any(f.code in FIXABLE and config.is_enabled(f.code, path) for f in result.findings):
            continue
        try:
            data = path.read_bytes()
        except OSError:
            continue
        text, new_text, count = fix_data(data, display, config, path)
        if not count or new_text == text:
            continue
        diff = "".join(difflib.unified_diff(text.splitlines(keepends=True), new_text.splitlines(keepends=True),
                                            f"a/{display}", f"b/{display}"))
        if write and not write_atomic(path, new_text):
            sys.stderr.write(f"zerolint: cannot write {display}; left unchanged\n")
            continue
        changed.append((count, diff))
    return changed

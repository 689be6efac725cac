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

from ..atomic import rewrite_file
from ..engine import _decode, lint_source, source_encoding
from . import FIXABLE

MAX_ROUNDS = 50


def fix_text(text: str, path: str = "<string>", config=None, real_path: Optional[Path] = None) -> tuple:
    """(new text, number of findings fixed). Never raises on bad input: no fix then.

    Each round lints once, plans every fixable finding on that parse, and applies all the plans
    that touch separate parts of the file in one pass; if the result fails verification, the plans
    are tried one at a time (as a lone plan that fails is refused for good).
    """
    from .transforms import FIXES, Tree, apply

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
        try:
            tree = Tree.of(*result.tree) if result.tree is not None else Tree.parse(text)
        except Exception:
            break
        plans = []
        for finding in candidates:
            try:
                plan = FIXES[finding.code](tree, finding, [f for f in findings if f.code == finding.code])
            except Exception:  # a transform that cannot handle this shape: no fix
                plan = None
            if plan:
                plans.append((finding, plan))
            else:
                refused.add(_identity(finding, lines))
        if not plans:
            break
        batch = _disjoint(tree, plans)
        if len(batch) > 1:
            new_text = _applied(tree, {k: v for _, plan in batch for k, v in plan.items()}, apply)
            if new_text is not None and new_text != text and \
                    _verified(new_text, Counter(f.code for f, _ in batch), before, path, config, real_path):
                text = new_text
                fixed += len(batch)
                continue
        applied = False
        for finding, plan in plans:
            new_text = _applied(tree, plan, apply)
            if new_text is None or new_text == text or \
                    not _verified(new_text, Counter([finding.code]), before, path, config, real_path):
                refused.add(_identity(finding, lines))
                continue
            text = new_text
            fixed += 1
            applied = True
            break
        if not applied:
            break
    return text, fixed


def _applied(tree, plan: dict, apply) -> Optional[str]:
    try:
        return apply(tree, plan).code
    except Exception:
        return None


def _disjoint(tree, plans: list) -> list:
    """The plans, in order, that replace nodes neither inside nor around another kept plan's."""
    kept = []
    claimed: set = set()  # replaced nodes and their ancestors
    replaced: set = set()
    for finding, plan in plans:
        nodes = set(plan)
        around = {a for node in nodes for a in tree.ancestors(node)}
        if nodes & claimed or around & replaced:
            continue
        kept.append((finding, plan))
        claimed |= nodes | around
        replaced |= nodes
    return kept


def _identity(finding, lines: list) -> tuple:
    source = lines[finding.line - 1].strip() if 0 < finding.line <= len(lines) else ""
    return finding.code, source, finding.message


def _verified(text: str, fixed: Counter, before: Counter, path: str, config, real_path) -> bool:
    """The text parses, each fixed code has at least that many fewer findings, no other code gained one."""
    try:
        compile(text, path, "exec", flags=0x400, dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    result = lint_source(text, path, config, real_path=real_path, notebook=False)
    if result.error or not result.parsed:
        return False
    after = Counter(f.code for f in result.findings)
    if any(after[code] > before[code] - count for code, count in fixed.items()):
        return False
    return all(after[c] <= before[c] for c in after)


def fix_data(data: bytes, display: str, config=None, real_path: Optional[Path] = None) -> tuple:
    """(old text, new text, number fixed, new bytes) for one file's bytes (a notebook's: its JSON text).

    A file that would not be written back byte for byte (its encoding does not round-trip) comes back
    unchanged with 0; ``new bytes`` is None when the fixed text cannot be written in its encoding."""
    if (real_path is not None and str(real_path).lower().endswith(".ipynb")) or display.lower().endswith(".ipynb"):
        from ..notebook import NotebookError, fix_notebook

        try:
            text, new_text, count = fix_notebook(data, display, config, real_path)
        except NotebookError:
            return "", "", 0, None
        return text, new_text, count, new_text.encode("utf-8")
    try:
        text = _decode(data)
        bom = b"\xef\xbb\xbf" if data.startswith(b"\xef\xbb\xbf") else b""
        encoding = source_encoding(data)
        if bom + text.encode(encoding) != data:
            return text, text, 0, None  # would not write back byte for byte: never rewritten
    except (UnicodeError, LookupError, SyntaxError):
        return "", "", 0, None
    new_text, count = fix_text(text, display, config, real_path=real_path)
    try:
        new_data = bom + new_text.encode(encoding)
    except UnicodeError:
        new_data = None
    return text, new_text, count, new_data


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
        text, new_text, count, new_data = fix_data(data, display, config, path)
        if not count or new_text == text:
            continue
        if new_data is None:
            sys.stderr.write(f"zerolint: the fixes of {display} cannot be written in its encoding; left unchanged\n")
            continue
        diff = "".join(difflib.unified_diff(text.splitlines(keepends=True), new_text.splitlines(keepends=True),
                                            f"a/{display}", f"b/{display}"))
        if write:
            why = rewrite_file(path, new_data)
            if why is not None:
                sys.stderr.write(f"zerolint: cannot fix {display}: {why}; left unchanged\n")
                continue
        changed.append((count, diff))
    return changed

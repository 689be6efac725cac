"""Safe mechanical fixes (libcst transforms). Importing this package does not import libcst."""
from __future__ import annotations

from ..codes import FIXABLE  # codes declared with a fix; text output marks their findings with ``[*]``


def is_fixable(code: str) -> bool:
    return code in FIXABLE


def fixable_keys(data, findings, parsed=None) -> frozenset:
    """``Finding.key`` of the findings whose fix applies here (the transform has a plan).

    Plans are local (no whole-file transform), so this is linear in the file and its findings.
    Imports libcst; called only for files that have findings of a fixable code.
    """
    candidates = [f for f in findings if f.code in FIXABLE]
    if not candidates:
        return frozenset()
    try:
        from ..engine import _decode
        from .transforms import FIXES, Tree

        if parsed is not None:  # the linter's own (module, positions): no second parse
            tree = Tree.of(*parsed)
        else:
            tree = Tree.parse(_decode(data) if isinstance(data, bytes) else data)
        keys = set()
        same: dict = {}
        for f in candidates:
            same.setdefault(f.code, []).append(f)
        for f in candidates:
            try:
                plan = FIXES[f.code](tree, f, same[f.code])
            except Exception:
                plan = None
            if plan:
                keys.add(f.key)
        return frozenset(keys)
    except Exception:
        return frozenset()

"""Safe mechanical fixes (libcst transforms). Importing this package does not import libcst."""
from __future__ import annotations

#: Codes with a fix; text output marks their findings with ``[*]``.
FIXABLE = frozenset({"ZL101", "ZL201", "ZL202", "ZL301"})


def is_fixable(code: str) -> bool:
    return code in FIXABLE

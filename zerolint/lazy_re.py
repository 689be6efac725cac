"""``re.compile`` deferred to the pattern's first use.

Compiling a regular expression costs 50 to 300 µs; a module-level pattern that a run never uses (a Lightning
flag in a plain PyTorch script, a config code in a run without config) should cost nothing (issue 9). After
its first use the pattern's methods are bound on the object, so later calls cost what a compiled pattern's do.
"""
from __future__ import annotations

import re


class LazyPattern:
    """Stands for ``re.compile(pattern, flags)``: ``search``, ``match``, ``sub``... compile it on first use."""

    def __init__(self, pattern, flags: int = 0) -> None:
        self._source = (pattern, flags)

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        compiled = re.compile(*self._source)
        for method in ("search", "match", "fullmatch", "sub", "subn", "split", "findall", "finditer"):
            setattr(self, method, getattr(compiled, method))
        return getattr(compiled, name)

    def __repr__(self) -> str:
        return f"LazyPattern({self._source[0]!r})"


def compile(pattern, flags: int = 0) -> LazyPattern:  # noqa: A001 - the name re users expect
    return LazyPattern(pattern, flags)

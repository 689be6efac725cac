"""The rule pages (`rules/ZLxxx.md`), read from the installed package or, in a checkout, from `rules/`.

The top-level `rules/` folder is the source; `setup.py` copies it into `zerolint/_pages/` when a wheel
is built, so `zerolint rule ZL101` and the SARIF help texts work from an installed wheel too.
"""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Optional

_CHECKOUT = Path(__file__).resolve().parent.parent / "rules"


def _installed(code: str) -> Optional[str]:
    try:
        from importlib.resources import files

        resource = files("zerolint") / "_pages" / f"{code}.md"
        if resource.is_file():
            return resource.read_text(encoding="utf-8")
    except (ModuleNotFoundError, OSError, TypeError):
        pass
    return None


@lru_cache(maxsize=None)
def page(code: str) -> Optional[str]:
    """The markdown page of a rule, or None when there is none."""
    if not re.fullmatch(r"ZL\d{3}", code):
        return None
    text = _installed(code)
    if text is not None:
        return text
    path = _CHECKOUT / f"{code}.md"
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return None


def section(text: str, heading: str) -> str:
    """The body of a `## heading` section, stripped."""
    out, inside = [], False
    for line in text.splitlines():
        if line.startswith("## "):
            inside = line[3:].strip() == heading
            continue
        if inside:
            out.append(line)
    return "\n".join(out).strip()

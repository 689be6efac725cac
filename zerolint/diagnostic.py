"""The Finding type: the JSON contract lives here and nowhere else."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

#: The keys of one JSON element, in order. Other tools consume this: keep it stable.
JSON_KEYS = (
    "path",
    "line",
    "column",
    "end_line",
    "end_column",
    "code",
    "name",
    "severity",
    "message",
    "fix",
    "confirmation",
)


@dataclass(frozen=True)
class Finding:
    """One diagnostic. Positions are 1-based; ``end_column`` is exclusive."""

    path: str
    line: int
    column: int
    end_line: int
    end_column: int
    code: str
    name: str
    severity: str  # "error" or "warning"
    message: str
    fix: Optional[dict] = None
    confirmation: Optional[dict] = field(default=None, compare=False)

    def sort_key(self) -> tuple:
        return (self.path, self.line, self.column, self.code)

    def to_json(self) -> dict[str, Any]:
        return {key: getattr(self, key) for key in JSON_KEYS}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Finding":
        return cls(**{key: data[key] for key in JSON_KEYS})

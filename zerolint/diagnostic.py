"""The Finding type: the JSON contract lives here and nowhere else."""
from __future__ import annotations

from dataclasses import field
from typing import Any, Optional

from .lazy_dataclass import dataclass  # @dataclass, its methods generated on first use (issue 9)

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
    "cell",
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
    # Notebooks: the code cell (1-based among code cells; line and column are then the cell's own)
    # and the line of the .ipynb JSON file holding that source line (for SARIF and GitHub).
    cell: Optional[int] = None
    file_line: Optional[int] = field(default=None, compare=False)

    def sort_key(self) -> tuple:
        return (self.path, self.cell or 0, self.line, self.column, self.code)

    @property
    def key(self) -> tuple:
        """What identifies a finding within its file (fixable sets, caches)."""
        return (self.line, self.column, self.code, self.cell)

    @property
    def where(self) -> str:
        """``line:column``, or ``cell N:line:column`` in a notebook."""
        place = f"{self.line}:{self.column}"
        return f"cell {self.cell}:{place}" if self.cell is not None else place

    def to_json(self) -> dict[str, Any]:
        return {key: getattr(self, key) for key in JSON_KEYS}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Finding":
        return cls(**{key: data.get(key) for key in JSON_KEYS})

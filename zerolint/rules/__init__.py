"""The rule registry. A rule is a code, a name, a severity, a summary and a query over the model.

Rule modules register themselves on import; ``all_rules()`` imports each family once.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Iterator, Optional

import libcst as cst

from ..model import SemanticModel


@dataclass(frozen=True)
class Report:
    """What a rule returns: the node the bug acts on and the message for it."""

    node: cst.CSTNode
    message: str
    severity: Optional[str] = None  # overrides the rule's severity for this finding


class Rule:
    code: str = ""
    name: str = ""
    severity: str = "error"  # or "warning"
    summary: str = ""  # one line, for `zerolint rule --all` and SARIF

    def check(self, model: SemanticModel) -> Iterable[Report]:  # pragma: no cover - interface
        raise NotImplementedError


_REGISTRY: dict[str, Rule] = {}
_FAMILIES = ("loss", "step", "evaluation", "data", "init")


def register(cls: type[Rule]) -> type[Rule]:
    if cls.code in _REGISTRY:
        raise ValueError(f"rule code {cls.code} registered twice")
    _REGISTRY[cls.code] = cls()
    return cls


def all_rules() -> dict[str, Rule]:
    if not _REGISTRY:
        import importlib

        for family in _FAMILIES:
            importlib.import_module(f"{__name__}.{family}")
    return dict(sorted(_REGISTRY.items()))


_EMPTY = cst.Module(body=[])


def source(node: cst.CSTNode) -> str:
    """The code of a node, on one line."""
    return " ".join(_EMPTY.code_for_node(node).split())


def unique(reports: Iterable[Report]) -> Iterator[Report]:
    seen: set = set()
    for report in reports:
        if id(report.node) not in seen:
            seen.add(id(report.node))
            yield report


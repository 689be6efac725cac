"""The rule registry. A rule is a declared code (zerolint/codes.py: name, severity, summary) and a query over the model.

Rule modules register themselves on import; ``all_rules()`` imports each family once.
"""
from __future__ import annotations

from typing import Iterable, Iterator, Optional

import libcst as cst

from ..codes import CODES, RULE_FAMILIES
from ..model import SemanticModel


class Report:
    """What a rule returns: the node the bug acts on and the message for it.

    ``group``: reports of one rule with the same group are one bug seen at several places (the same model's
    output fed to the same wrong loss twice in one iteration): the engine keeps the first and names the others
    in its message."""

    __slots__ = ("node", "message", "severity", "group")

    def __init__(self, node: cst.CSTNode, message: str, severity: Optional[str] = None,
                 group: Optional[tuple] = None) -> None:
        self.node = node
        self.message = message
        self.severity = severity  # overrides the rule's severity for this finding
        self.group = group

    def __repr__(self) -> str:
        return (f"Report(node={self.node!r}, message={self.message!r}, severity={self.severity!r}, "
                f"group={self.group!r})")


class Rule:
    """A rule class declares only its ``code`` and its check; name, severity and summary come from
    the code's declaration in ``zerolint.codes`` (filled in by ``register``)."""

    code: str = ""
    name: str = ""
    severity: str = "error"  # or "warning"
    summary: str = ""  # one line, for `zerolint rule --all` and SARIF

    def check(self, model: SemanticModel) -> Iterable[Report]:  # pragma: no cover - interface
        raise NotImplementedError


_REGISTRY: dict[str, Rule] = {}


def register(cls: type[Rule]) -> type[Rule]:
    """Register a rule class under its declared code; its module must be the code's family."""
    declared = CODES.get(cls.code)
    if declared is None or not declared.static:
        raise ValueError(f"rule {cls.__name__}: {cls.code!r} is not a static code declared in zerolint/codes.py")
    if cls.__module__.rsplit(".", 1)[-1] != declared.family:
        raise ValueError(f"rule {cls.code} belongs in zerolint/rules/{declared.family}.py")
    for field in ("name", "severity", "summary"):
        if field in vars(cls):
            raise ValueError(f"rule {cls.code} repeats its {field}: declare it once, in zerolint/codes.py")
    if cls.code in _REGISTRY:
        raise ValueError(f"rule code {cls.code} registered twice")
    cls.name, cls.severity, cls.summary = declared.name, declared.severity, declared.summary
    _REGISTRY[cls.code] = cls()
    return cls


def all_rules() -> dict[str, Rule]:
    if not _REGISTRY:
        import importlib

        for family in RULE_FAMILIES:
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


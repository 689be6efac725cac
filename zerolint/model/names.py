"""Qualified names through every import style, without libcst's costly metadata providers.

``import torch.nn as nn``, ``from torch import nn``, ``from torch.nn import BCELoss`` and
``import torch.nn.functional as F`` all end up in one table of local name -> qualified name.
"""
from __future__ import annotations

from typing import Optional

import libcst as cst

# Frameworks that re-export torch under another root, normalized so rules see one name.
_CANONICAL_PREFIXES = (
    ("torch.nn.modules.loss.", "torch.nn."),
    ("torch.nn.modules.linear.", "torch.nn."),
    ("torch.nn.modules.", "torch.nn."),
    ("torch.optim.adam.", "torch.optim."),
    ("torch.optim.sgd.", "torch.optim."),
    ("torch.optim.adamw.", "torch.optim."),
    ("tensorflow.keras.", "keras."),
    ("tensorflow.python.keras.", "keras."),
)


def dotted(expr: cst.BaseExpression) -> Optional[str]:
    """``a.b.c`` for a Name/Attribute chain, else None."""
    parts = []
    while isinstance(expr, cst.Attribute):
        parts.append(expr.attr.value)
        expr = expr.value
    if isinstance(expr, cst.Name):
        parts.append(expr.value)
        return ".".join(reversed(parts))
    return None


def bound_names(target: cst.BaseExpression) -> tuple:
    """The plain names an assignment or loop target binds (``a``, ``a, (b, c)``, ``*rest``)."""
    if isinstance(target, cst.Name):
        return (target.value,)
    if isinstance(target, (cst.Tuple, cst.List)):
        return tuple(name for el in target.elements for name in bound_names(el.value))
    if isinstance(target, cst.StarredElement):
        return bound_names(target.value)
    return ()


def dotted_indexed(expr: cst.BaseExpression) -> Optional[str]:
    """``a.b[0].c`` for a Name/Attribute chain that may index by integer literals (``layers[0].weight``), else None."""
    parts = []
    while True:
        if isinstance(expr, cst.Attribute):
            parts.append("." + expr.attr.value)
            expr = expr.value
        elif isinstance(expr, cst.Subscript) and len(expr.slice) == 1 and isinstance(expr.slice[0].slice, cst.Index) \
                and isinstance(expr.slice[0].slice.value, cst.Integer):
            parts.append(f"[{expr.slice[0].slice.value.value}]")
            expr = expr.value
        elif isinstance(expr, cst.Name):
            parts.append(expr.value)
            return "".join(reversed(parts))
        else:
            return None


def literal(node: cst.BaseExpression):
    """``node.evaluated_value`` of a string or number literal, read directly for the plain ones.

    libcst evaluates every literal with ``ast.literal_eval`` (a compile per call, about 20 µs): for a plain
    quoted string without escapes or prefix, a decimal integer or a float, the text is the value."""
    if isinstance(node, cst.SimpleString):
        text = node.value
        if "\\" not in text and text[:1] in ("'", '"'):
            quote = 3 if text[:3] in ('"""', "'''") else 1
            return text[quote:-quote]
    elif isinstance(node, cst.Integer):
        text = node.value.replace("_", "")
        if text.isdigit() and (text[0] != "0" or text == "0"):
            return int(text)
    elif isinstance(node, cst.Float):
        text = node.value.replace("_", "")
        if text[:1].isdigit() or text[:1] == ".":
            return float(text)
    return node.evaluated_value


def _module_dotted(node: cst.BaseExpression) -> str:
    return dotted(node) or ""


def canonical(qualname: str) -> str:
    for prefix, replacement in _CANONICAL_PREFIXES:
        if qualname.startswith(prefix):
            return replacement + qualname[len(prefix):]
    return qualname


class ImportTable:
    """Local names bound by import statements, anywhere in the file."""

    def __init__(self) -> None:
        self.aliases: dict[str, str] = {}

    def add(self, node: cst.Import | cst.ImportFrom) -> None:
        if isinstance(node, cst.Import):
            for alias in node.names:
                full = _module_dotted(alias.name)
                if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                    self.aliases[alias.asname.name.value] = full
                else:
                    root = full.split(".")[0]
                    self.aliases[root] = root
            return
        if node.relative or node.module is None:
            base = "." * len(node.relative) + (_module_dotted(node.module) if node.module else "")
        else:
            base = _module_dotted(node.module)
        if isinstance(node.names, cst.ImportStar):
            return
        for alias in node.names:
            name = _module_dotted(alias.name)
            local = name
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                local = alias.asname.name.value
            self.aliases[local] = f"{base}.{name}" if base else name

    def resolve(self, expr: cst.BaseExpression) -> Optional[str]:
        """The canonical qualified name of a Name/Attribute chain rooted in an import."""
        name = dotted(expr)
        if name is None:
            return None
        head, _, rest = name.partition(".")
        target = self.aliases.get(head)
        if target is None:
            if head != "torch":  # snippets often use torch without importing it
                return None
            target = head
        full = f"{target}.{rest}" if rest else target
        return canonical(full)

    def imports_any(self, *roots: str) -> bool:
        return any(value.split(".")[0] in roots for value in self.aliases.values())

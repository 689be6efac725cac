"""What a value is reported as: the name it is stored in, the text printed or logged next to it.

``train_acc = accuracy(model, train_loader)``, ``print("Train: %.2f" % accuracy(model, train_loader))``,
``f"valid acc {acc}"``, ``writer.add_scalar("Accuracy/test", acc)`` and ``{"val_loss": loss}`` all say which
split a number stands for. Rules use it to tell a training accuracy reported as such from one reported as a
validation/test score. Purely syntactic; each query walks one function body (only for the few call sites a
rule asks about).
"""
from __future__ import annotations

import re
from typing import Optional

import libcst as cst

from .. import lazy_re
from .names import dotted, literal
from .naming import role_of_name
from .walk import descendants

_PERCENT = lazy_re.compile(r"%(?!%)[-#0 +]*(?:\d+|\*)?(?:\.(?:\d+|\*))?[hlL]?[a-zA-Z]")
_BRACES = lazy_re.compile(r"\{[^{}]*\}")


def _contains(tree: cst.CSTNode, target: cst.CSTNode) -> bool:
    if tree is target:
        return True
    return any(node is target for node in descendants(tree))


def _text(node: cst.CSTNode) -> Optional[str]:
    if isinstance(node, cst.SimpleString):
        try:
            value = literal(node)
        except Exception:  # pragma: no cover - odd literals
            return None
        return value if isinstance(value, str) else None
    if isinstance(node, cst.ConcatenatedString):
        left, right = _text(node.left), _text(node.right)
        return (left or "") + (right or "") if left is not None or right is not None else None
    return None


def _segment(fmt: str, pattern: re.Pattern, index: int) -> Optional[str]:
    """The text just before the ``index``-th placeholder of a format string."""
    pieces = pattern.split(fmt)
    return pieces[index] if index < len(pieces) - 1 else None


def label_of(expr: cst.CSTNode, target: cst.CSTNode) -> Optional[str]:
    """The text that labels ``target`` inside ``expr``; "" when found without a label, None when absent."""
    if expr is target:
        return ""
    if not _contains(expr, target):
        return None
    if isinstance(expr, cst.Assign):
        names = " ".join(_target_text(t.target) for t in expr.targets)
        inner = label_of(expr.value, target)
        if isinstance(expr.value, (cst.Tuple, cst.List)) and len(expr.targets) == 1 \
                and isinstance(expr.targets[0].target, (cst.Tuple, cst.List)):
            values, targets = expr.value.elements, expr.targets[0].target.elements
            for value, name in zip(values, targets):
                if _contains(value.value, target):
                    return _target_text(name.value) + " " + (label_of(value.value, target) or "")
        return names + " " + (inner or "")
    if isinstance(expr, (cst.AnnAssign, cst.AugAssign)):
        return _target_text(expr.target) + " " + (label_of(expr.value, target) or "") \
            if expr.value is not None else None
    if isinstance(expr, cst.Dict):
        for el in expr.elements:
            if isinstance(el, cst.DictElement) and _contains(el.value, target):
                return (_text(el.key) or dotted(el.key) or "") + " " + (label_of(el.value, target) or "")
    if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, cst.Modulo) \
            and _text(expr.left) is not None and _contains(expr.right, target):
        elements = expr.right.elements if isinstance(expr.right, cst.Tuple) else None
        index = next((i for i, el in enumerate(elements) if _contains(el.value, target)), 0) if elements else 0
        return (_segment(_text(expr.left) or "", _PERCENT, index) or "") + " " + (label_of(expr.right, target) or "")
    if isinstance(expr, cst.FormattedString):
        last = ""
        for part in expr.parts:
            if isinstance(part, cst.FormattedStringText):
                last = part.value
            elif _contains(part, target):
                return last + " " + (label_of(part.expression, target) or "")
        return ""
    if isinstance(expr, cst.Call):
        func = expr.func
        fmt = _text(func.value) if isinstance(func, cst.Attribute) and func.attr.value == "format" else None
        last = ""
        positional = 0
        for arg in expr.args:
            if _contains(arg.value, target):
                inner = label_of(arg.value, target) or ""
                if arg.keyword is not None:
                    return arg.keyword.value + " " + inner
                if fmt is not None:
                    return (_segment(fmt, _BRACES, positional) or "") + " " + inner
                # history["train_loss"].append(x), train_accs.append(x): the container names the value
                owner = _target_text(func.value) if isinstance(func, cst.Attribute) and not last else ""
                return owner + " " + last + " " + inner
            text = _text(arg.value)
            if isinstance(arg.value, cst.FormattedString):
                text = "".join(p.value for p in arg.value.parts if isinstance(p, cst.FormattedStringText))
            if text is not None:
                last = text
            if arg.keyword is None:
                positional += 1
        return label_of(func, target)
    for child in expr.children:
        found = label_of(child, target)
        if found is not None:
            return found
    return None


def _target_text(node: cst.CSTNode) -> str:
    if isinstance(node, cst.Subscript):
        keys = [_text(el.slice.value) or "" for el in node.slice if isinstance(el.slice, cst.Index)]
        return _target_text(node.value) + " " + " ".join(keys)
    return dotted(node) or ""


def _blocks(stmt: cst.CSTNode) -> list:
    out = []
    for attr in ("body", "orelse", "finalbody"):
        block = getattr(stmt, attr, None)
        if isinstance(block, cst.If):
            out.append([block])
        elif isinstance(block, (cst.Else, cst.Finally)):
            out.append(block.body.body)
        elif isinstance(block, (cst.IndentedBlock, cst.SimpleStatementSuite)):
            out.append(block.body)
    for handler in getattr(stmt, "handlers", ()) or ():
        out.append(handler.body.body)
    return out


def _find(body, node: cst.CSTNode) -> Optional[tuple]:
    for i, stmt in enumerate(body):
        if not _contains(stmt, node):
            continue
        if isinstance(stmt, (cst.SimpleStatementLine, cst.SimpleStatementSuite)):
            small = next((s for s in stmt.body if _contains(s, node)), stmt)
            return small, body, i
        if isinstance(stmt, cst.BaseSmallStatement):
            return stmt, body, i
        for block in _blocks(stmt):
            found = _find(block, node)
            if found is not None:
                return found
        return stmt, body, i
    return None


def statement_of(root: cst.CSTNode, node: cst.CSTNode) -> Optional[tuple]:
    """(statement, block, index) of the innermost statement of ``root`` (a module or a function) holding ``node``."""
    if isinstance(root, cst.Module):
        return _find(root.body, node)
    body = getattr(root, "body", None)
    return _find(body.body, node) if isinstance(body, (cst.IndentedBlock, cst.SimpleStatementSuite)) else None


def _role(text: Optional[str]) -> Optional[str]:
    return role_of_name(text) if text else None


def reported_role(root: cst.CSTNode, node: cst.CSTNode, follow: int = 8) -> Optional[str]:
    """"train" or "eval": what the value of ``node`` (a call, a name) is reported as, from the statement that
    holds it and, when that statement stores it in a name that says nothing (``acc = ...``), from the next
    ``follow`` statements of the same block that use the name; None when nothing says."""
    found = statement_of(root, node)
    if found is None:
        return None
    stmt, block, index = found
    role = _role(label_of(stmt, node))
    if role is not None:
        return role
    stored = None
    if isinstance(stmt, cst.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0].target, cst.Name):
        stored = stmt.targets[0].target.value
    if stored is None:
        # the rest of the statement: `print(f"loss {train_loss:.3f} acc {evaluate(m, train_loader)}")`
        return _role(" ".join(_words(stmt, node)))
    for later in block[index + 1: index + 1 + follow]:
        for use in _uses(later, stored):
            role = _role(label_of(later, use))
            if role is not None:
                return role
    return None


def _words(tree: cst.CSTNode, skip: cst.CSTNode) -> list:
    """The names and string texts of a statement, outside ``skip``."""
    out: list = []
    stack = [tree]
    while stack:
        current = stack.pop()
        if current is skip:
            continue
        if isinstance(current, cst.Name):
            out.append(current.value)
        elif isinstance(current, cst.SimpleString):
            out.append(_text(current) or "")
        elif isinstance(current, cst.FormattedStringText):
            out.append(current.value)
        stack.extend(current.children)
    return out


def _uses(tree: cst.CSTNode, name: str) -> list:
    out = []
    stack = [tree]
    while stack:
        current = stack.pop()
        if isinstance(current, cst.Name) and current.value == name:
            out.append(current)
        stack.extend(current.children)
    return out

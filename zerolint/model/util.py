"""Small readers of call arguments and literals, shared by the core interpreter and the library models."""
from __future__ import annotations

from typing import Any, Optional

import libcst as cst

from . import values as V
from .names import dotted

UNBOUNDED = (float("-inf"), float("inf"))


def literal_int(value: Any) -> Optional[int]:
    if isinstance(value, V.Number) and isinstance(value.value, int) and not isinstance(value.value, bool):
        return value.value
    return None


def literal_shape(value: Any) -> Optional[tuple]:
    if isinstance(value, V.Seq):
        return tuple(literal_int(item) for item in value.items)
    n = literal_int(value)
    return (n,) if n is not None else None


def is_none(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Name) and node.value == "None"


def is_false(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Name) and node.value == "False" or \
        isinstance(node, cst.Integer) and node.value == "0"


def kw(kwargs: dict, args: list, name: str, index: int) -> Any:
    """The abstract value of an argument given by keyword or position."""
    if name in kwargs:
        return kwargs[name]
    return args[index] if len(args) > index else None


def arg_node(node: cst.Call, keyword: str, index: int) -> Optional[cst.BaseExpression]:
    """The expression of an argument given by keyword or position."""
    positional = 0
    for arg in node.args:
        if arg.keyword is not None:
            if arg.keyword.value == keyword:
                return arg.value
        elif not arg.star:
            if positional == index:
                return arg.value
            positional += 1
    return None


def bool_kw(node: cst.Call, name: str) -> Optional[bool]:
    for arg in node.args:
        if arg.keyword is not None and arg.keyword.value == name and isinstance(arg.value, cst.Name):
            if arg.value.value in ("True", "False"):
                return arg.value.value == "True"
    return None


def number(value: Any) -> Optional[float]:
    return value.value if isinstance(value, V.Number) else None


def dim_names(node: cst.Call) -> Optional[tuple]:
    names = tuple(dotted(a.value) for a in node.args if a.keyword is None and not a.star)
    return names if names and all(names) else None


def flatten_numbers(seq: V.Seq) -> Optional[list]:
    out: list = []
    for item in seq.items:
        if isinstance(item, V.Number):
            out.append(item.value)
        elif isinstance(item, V.Seq):
            inner = flatten_numbers(item)
            if inner is None:
                return None
            out.extend(inner)
        else:
            return None
    return out


def nested_shape(seq: V.Seq) -> Optional[tuple]:
    if not seq.items:
        return (0,)
    if all(isinstance(i, V.Number) for i in seq.items):
        return (len(seq.items),)
    if all(isinstance(i, V.Seq) for i in seq.items):
        shapes = {nested_shape(i) for i in seq.items}
        if len(shapes) == 1:
            inner = shapes.pop()
            return (len(seq.items),) + inner if inner is not None else None
    return None


def activation_range(kind: Optional[str], before: Optional[tuple]) -> Optional[tuple]:
    if kind in (V.SIGMOID, V.SOFTMAX):
        return (0.0, 1.0)
    if kind == V.TANH:
        return (-1.0, 1.0)
    if kind == V.LOG_SOFTMAX:
        return (float("-inf"), 0.0)
    if kind == V.RELU:
        return (0.0, before[1]) if before is not None else (0.0, float("inf"))
    return before if kind is None else None


def is_weight(text: Optional[str]) -> bool:
    if not text:
        return False
    parts = text.split(".")
    if parts[-1] == "data":
        parts = parts[:-1]
    return bool(parts) and parts[-1] == "weight"


PASS = object()  # a method handler's "not mine": the receiver's table decides


def first_arg(ip, qual: str, node: cst.Call, args: list, kwargs: dict) -> Any:
    """A call that returns its first argument (``tqdm(loader)``, ``torch.compile(model)``)."""
    return args[0] if args else None


def nothing(ip, qual: str, node: cst.Call, args: list, kwargs: dict) -> Any:
    """A package whose other names are known to return nothing the model follows."""
    return None


def moved(ip, recv: Any, recv_text: Optional[str], method: str, node: cst.Call, args: list, kwargs: dict) -> Any:
    """``criterion.to(device)``, ``scaler.cuda()``: the same object; any other method: nothing known."""
    return recv if method in ("to", "cuda", "cpu") else None

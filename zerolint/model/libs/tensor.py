"""torch tensors and autograd: tensor factories, activation functions, tensor methods, grad modes.

Add a factory: one entry in ``FACTORIES`` (``torch.<name>``). An activation function is one name in
``values.ACTIVATION_FUNCTIONS`` (it is callable as ``torch.<name>``, ``torch.special.<name>``,
``F.<name>`` and as a tensor method). A tensor method: one entry in ``TENSOR_METHODS``.
"""
from __future__ import annotations

from typing import Any, Optional

import libcst as cst

from .. import facts as F
from .. import values as V
from ..names import dotted, literal
from ..naming import SCALER_NAME
from ..util import (PASS, UNBOUNDED, activation_range, arg_node, flatten_numbers, is_false, is_weight, literal_int,
                    literal_shape, nested_shape, dim_names, nothing)


def _name(qual: str) -> str:
    return qual.rsplit(".", 1)[-1]


# ------------------------------------------------------------------ grad modes
def _grad_mode(ip, node, enabled: Optional[bool], as_statement: bool = False) -> V.GradContext:
    """A grad-mode API called: the event records that the routine switches grad mode (and to what, None when a
    run-time flag decides); the value turns gradients off or on for a ``with`` block (or, ``as_statement``,
    for the rest of the routine)."""
    ip.emit(F.GRAD_MODE, node, enabled=enabled)
    return V.GradContext(enabled, as_statement=as_statement)


def _no_grad(ip, qual, node, args, kwargs) -> Any:
    if _name(qual) == "inference_mode" and node.args and is_false(node.args[0].value):
        return _grad_mode(ip, node, True)
    return _grad_mode(ip, node, False)


def _enable_grad(ip, qual, node, args, kwargs) -> Any:
    return _grad_mode(ip, node, True)


def _set_grad_enabled(ip, qual, node, args, kwargs) -> Any:
    if node.args:
        first = node.args[0].value
        if is_false(first):
            return _grad_mode(ip, node, False, as_statement=True)
        if isinstance(first, cst.Name) and first.value == "True":
            return _grad_mode(ip, node, True, as_statement=True)
    return _grad_mode(ip, node, None)  # set_grad_enabled(is_train): a run-time flag decides


def _autograd_backward(ip, qual, node, args, kwargs) -> Any:
    first = node.args[0].value if node.args and node.args[0].keyword is None else None
    loss = ip.reach.of(first) if first is not None and not isinstance(first, (cst.List, cst.Tuple)) else None
    ip.emit(F.BACKWARD, node, manual=_name(qual) == "grad", reach=loss)
    return None


def _always(node: cst.BaseExpression) -> bool:
    return True


def _false_first_arg(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Call) and bool(node.args) and is_false(node.args[0].value)


# ------------------------------------------------------------------ factories
def dtype_of_args(ip, node: cst.Call) -> Optional[str]:
    """The dtype a call's arguments name (``torch.float32``, ``"long"``, ``np.uint8``), as float/int."""
    for arg in node.args:
        qual = ip.imports.resolve(arg.value) or ""
        name = qual.rsplit(".", 1)[-1]
        if isinstance(arg.value, cst.SimpleString):
            name = literal(arg.value)
            qual = "torch." + str(name)
        elif isinstance(arg.value, cst.Name) and arg.value.value in ("float", "int"):
            name, qual = arg.value.value, "torch." + arg.value.value
        if qual.startswith(("torch.", "numpy.")) and name in ("float", "float32", "float64", "float16", "bfloat16",
                                                              "double", "half", "FloatTensor", "DoubleTensor"):
            return "float"
        if qual.startswith(("torch.", "numpy.")) and name in ("long", "int64", "int32", "int", "LongTensor",
                                                              "IntTensor", "uint8"):
            return "int"
    return None


BYTE_RANGE = (0, 255)  # what a uint8 array holds: raw pixels / frames


def names_uint8(ip, node: cst.Call) -> bool:
    """Do a call's arguments name the uint8 dtype (``np.uint8``, ``torch.uint8``, ``"uint8"``)?"""
    for arg in node.args:
        value = arg.value
        if isinstance(value, cst.SimpleString) and literal(value) == "uint8":
            return True
        qual = ip.imports.resolve(value) if isinstance(value, (cst.Name, cst.Attribute)) else None
        if qual in ("numpy.uint8", "torch.uint8", "torch.ByteTensor"):
            return True
    return False


def byte_tensor(node: cst.CSTNode, shape: Optional[tuple] = None) -> V.Tensor:
    return V.Tensor(dtype="int", value_range=BYTE_RANGE, continuous=False, shape=shape, origin=node)


def _randint(ip, qual, node, args, kwargs) -> Any:
    numbers = [a for a in args if not isinstance(a, V.Seq)]
    size = next((a for a in args if isinstance(a, V.Seq)), kwargs.get("size"))
    bounds = [literal_int(n) for n in numbers]
    if "low" in kwargs or "high" in kwargs:
        bounds = [literal_int(kwargs.get("low", V.Number(0))), literal_int(kwargs.get("high"))]
    elif len(bounds) == 1:
        bounds = [0, bounds[0]]
    rng = (bounds[0], bounds[1] - 1) if len(bounds) >= 2 and None not in bounds[:2] else None
    return V.Tensor(dtype="int", encoding=V.INDICES, shape=literal_shape(size), value_range=rng,
                    continuous=False, origin=node)


_FILL_RANGES = {"rand": (0.0, 1.0), "rand_like": (0.0, 1.0), "randn": UNBOUNDED, "randn_like": UNBOUNDED,
                "normal": UNBOUNDED, "zeros": (0.0, 0.0), "ones": (1.0, 1.0)}


def _dim(value: Any) -> Any:
    """A literal size, a size that depends on the dataset item (``V.Varies``), or None."""
    if isinstance(value, V.PerItem) and value.kind == "number":
        return V.Varies(value.reason)
    return literal_int(value)


def _filled(ip, qual, node, args, kwargs) -> Any:
    name = _name(qual)
    dims = args if name != "full" else args[:1]
    shape = tuple(_dim(a) for a in dims[0].items) if len(dims) == 1 and isinstance(dims[0], V.Seq) else \
        tuple(_dim(a) for a in dims) if dims else None
    if names_uint8(ip, node):  # a buffer for frames/pixels: filled with 0..255 later
        return byte_tensor(node, shape)
    return V.Tensor(dtype="float", shape=shape, value_range=_FILL_RANGES.get(name), origin=node,
                    continuous=name in ("rand", "randn", "rand_like", "randn_like", "normal") or None,
                    dim_names=dim_names(node))


def _from_data(ip, qual, node, args, kwargs) -> Any:
    """torch.tensor / as_tensor / from_numpy / stack / FloatTensor / LongTensor / Tensor over data."""
    name = _name(qual)
    if name in ("tensor", "as_tensor") and names_uint8(ip, node):
        return byte_tensor(node)
    if name in ("tensor", "as_tensor") and args and isinstance(args[0], (V.Scalar, V.Number)):
        kind = args[0].kind if isinstance(args[0], V.Scalar) else "int" if isinstance(args[0].value, int) else "float"
        rng = (args[0].value, args[0].value) if isinstance(args[0], V.Number) else args[0].value_range
        return V.Tensor(dtype=dtype_of_args(ip, node) or kind, shape=(), value_range=rng, origin=node)  # a 0-d tensor
    if name != "stack" and args and isinstance(args[0], V.Frame):  # torch.tensor(df["label"]): one value per row
        frame = args[0]
        args = [V.Tensor(dtype=frame.dtype, shape=(None,) if frame.column is not None else (None, None))] + args[1:]
    if name != "stack" and args and isinstance(args[0], V.Tensor):
        cast = dtype_of_args(ip, node) or {"FloatTensor": "float", "LongTensor": "int"}.get(name)
        return args[0].but(dtype=cast or args[0].dtype, origin=node)
    seq = args[0] if args else None
    if isinstance(seq, V.PerItem) and seq.kind in ("seq", "image") and name != "stack":  # one item's data
        shape = (V.Varies(seq.reason),) if seq.kind == "seq" else (V.Varies(seq.reason), V.Varies(seq.reason), None)
        return V.Tensor(dtype=dtype_of_args(ip, node), shape=shape, origin=node)
    if name not in ("stack", "tensor", "as_tensor", "LongTensor", "FloatTensor"):
        return None
    if node.args:  # stack / tensor / as_tensor / LongTensor / FloatTensor over sequences
        ip.emit(F.STACK, node, seq=seq, function=name)
    if name == "stack" and isinstance(seq, V.ListOf) and isinstance(seq.element, V.Tensor) \
            and seq.element.value_range == BYTE_RANGE:
        return byte_tensor(node)  # a stack of uint8 frames
    if name == "stack" and isinstance(seq, V.Seq) and seq.items and isinstance(seq.items[0], V.Tensor):
        first = seq.items[0]
        shape = (len(seq.items),) + first.shape if first.shape is not None and all(
            isinstance(s, V.Tensor) and s.shape == first.shape for s in seq.items) else None
        return V.Tensor(dtype=first.dtype, shape=shape, origin=node)
    if name in ("tensor", "as_tensor", "LongTensor") and isinstance(seq, V.Seq):
        flat = flatten_numbers(seq)
        if flat is not None:
            is_int = all(isinstance(v, int) for v in flat) and "dtype" not in kwargs
            if is_int or name == "LongTensor":
                return V.Tensor(dtype="int", encoding=V.INDICES, shape=nested_shape(seq),
                                value_range=(min(flat), max(flat)) if flat else None, origin=node,
                                continuous=False)
            return V.Tensor(dtype="float", shape=nested_shape(seq), origin=node,
                            value_range=(min(flat), max(flat)) if flat else None,
                            continuous=not all(float(v).is_integer() for v in flat))
    if seq is None and name != "stack":  # a tensor of data not known here: only its dtype, where given
        return V.Tensor(dtype=dtype_of_args(ip, node) or {"FloatTensor": "float", "LongTensor": "int"}.get(name),
                        origin=node)
    return None


def _argmax(ip, qual, node, args, kwargs) -> Any:
    name = _name(qual)
    if len(node.args) + len(kwargs) >= 2:
        ip.emit(F.ARGMAX, node, input=args[0] if args else None)
        indices = V.Tensor(dtype="int", encoding=V.INDICES, origin=node)
        return indices if name == "argmax" else V.Seq((args[0] if args else None, indices))
    return None


def _reshape(ip, qual, node, args, kwargs) -> Any:
    source = args[0] if args else None
    return source.but(shape=None, units=None, origin=node) if isinstance(source, V.Tensor) else None


# Factories of random or constant values: a model run on one of these is being checked, not evaluated.
SYNTHETIC_FACTORIES = frozenset(("randint", "randn", "rand", "zeros", "ones", "empty", "full", "randn_like",
                                 "rand_like", "normal"))
FACTORIES = {
    "randint": _randint,
    **dict.fromkeys(("randn", "rand", "zeros", "ones", "empty", "full", "randn_like", "rand_like", "normal"),
                    _filled),
    **dict.fromkeys(("from_numpy", "tensor", "as_tensor", "FloatTensor", "LongTensor", "Tensor", "stack"),
                    _from_data),
    "argmax": _argmax,
    "max": _argmax,
    **dict.fromkeys(("squeeze", "unsqueeze", "flatten", "reshape"), _reshape),
}


# ------------------------------------------------------------------ activations
def dim_node_of(node: cst.Call, index: int) -> Optional[cst.BaseExpression]:
    """The ``dim`` argument of a reduction/softmax call: by position, ``dim=`` or its numpy-style alias ``axis=``."""
    found = arg_node(node, "dim", index)
    return found if found is not None else arg_node(node, "axis", -1)


def softmax_event(ip, node: cst.Call, t: Any, dim_node: Optional[cst.BaseExpression], dim_given: bool) -> None:
    dim = literal_int(ip.quiet_eval(dim_node)) if dim_node is not None else None
    units = t.units if isinstance(t, V.Tensor) else None
    ip.emit(F.SOFTMAX_CALL, node, single_unit=units == 1, dim_given=dim_given, dim=dim, input=t)


def activation(ip, qual, node, args, kwargs) -> Any:
    """An activation function (``torch.sigmoid``, ``F.softmax``, ``torch.special.expit``, ``F.linear``)."""
    kind = V.ACTIVATION_FUNCTIONS[_name(qual)]
    source = args[0] if args else None
    if kind in (V.SOFTMAX, V.LOG_SOFTMAX):
        dim_node = dim_node_of(node, 1)
        softmax_event(ip, node, source, dim_node, dim_node is not None)
    if kind == V.LINEAR:
        return V.Tensor(activation=V.LINEAR, dtype="float", origin=node)
    if isinstance(source, V.Tensor):
        return source.but(activation=kind, encoding=None, origin=node, loss_graph=False,
                          value_range=activation_range(kind, source.value_range))
    return V.Tensor(activation=kind, dtype="float", origin=node, value_range=activation_range(kind, None))


# ------------------------------------------------------------------ tensor methods
def _cast(t: V.Tensor, dtype: Optional[str], node: cst.CSTNode) -> V.Tensor:
    return t.but(dtype=dtype, origin=node)


def _shape_only(ip, t: V.Tensor, method: str, node: cst.Call) -> Any:
    """view / reshape / permute / detach / to(...): the same kind of tensor (``.to(dtype)`` casts)."""
    if method == "to" and names_uint8(ip, node):
        return byte_tensor(node, t.shape)
    if method == "to":
        cast = dtype_of_args(ip, node)
        if cast is not None:
            return _cast(t, cast, node)
    if method in ("detach", "clone", "contiguous", "cuda", "cpu", "to", "requires_grad_", "data"):
        return t.but(origin=node, loss_graph=t.loss_graph and method not in ("detach", "cpu"))
    reason = V.varies(t)  # as many elements as the item has: some dimension still depends on it
    return t.but(units=None if method not in ("unsqueeze", "unsqueeze_") else t.units, origin=node,
                 shape=(V.Varies(reason),) if reason else None, dim_names=_layout_after(t.dim_names, method, node))


def _layout_after(names: Optional[tuple], method: str, node: cst.Call) -> Optional[tuple]:
    """The names of the dimensions after ``view(seq_len, batch, -1)``, ``permute(1, 0, 2)``, ``transpose(0, 1)``."""
    positional = [a.value for a in node.args if a.keyword is None and not a.star]
    if method in ("view", "reshape"):
        named = tuple(dotted(v) or "" for v in positional)
        return named if len(named) >= 3 and any(named[:2]) else None
    order = [int(v.value) for v in positional if isinstance(v, cst.Integer)]
    if names is None or len(order) != len(positional):
        return None
    if names == V.BATCH_MAJOR and method in ("permute", "transpose"):  # a loader batch reordered: (batch, seq, feat)
        if method == "permute" and len(order) != 3 or method == "transpose" and max(order, default=3) > 2:
            return None
        names = ("batch", "seq", "features")
    if method == "permute" and sorted(order) == list(range(len(names))):
        return tuple(names[i] for i in order)
    if method == "transpose" and len(order) == 2 and max(order) < len(names):
        swapped = list(names)
        swapped[order[0]], swapped[order[1]] = swapped[order[1]], swapped[order[0]]
        return tuple(swapped)
    return names if method in ("contiguous", "to", "cuda", "cpu", "float") else None


def _to_float(ip, t: V.Tensor, method: str, node: cst.Call) -> Any:
    return _cast(t, "float", node)


def _to_int(ip, t: V.Tensor, method: str, node: cst.Call) -> Any:
    if method == "byte":
        return byte_tensor(node, t.shape)
    return _cast(t, "int", node)


def _type(ip, t: V.Tensor, method: str, node: cst.Call) -> Any:
    if names_uint8(ip, node):
        return byte_tensor(node, t.shape)
    cast = dtype_of_args(ip, node)
    return _cast(t, cast, node) if cast else t.but(origin=node)


def _activation_method(ip, t: V.Tensor, method: str, node: cst.Call) -> Any:
    kind = V.ACTIVATION_FUNCTIONS[method]
    if kind in (V.SOFTMAX, V.LOG_SOFTMAX):
        dim_node = dim_node_of(node, 0)
        softmax_event(ip, node, t, dim_node, dim_node is not None)
    return t.but(activation=kind, origin=node, encoding=None, loss_graph=False,
                 value_range=activation_range(kind, t.value_range))


def _argmax_method(ip, t: V.Tensor, method: str, node: cst.Call) -> Any:
    if not (node.args or method == "argmax"):
        return None  # t.max(): a value, not indices
    ip.emit(F.ARGMAX, node, input=t)
    indices = V.Tensor(dtype="int", encoding=V.INDICES, origin=node)
    return indices if method == "argmax" else V.Seq((t.but(origin=node), indices))


def _reduce(ip, t: V.Tensor, method: str, node: cst.Call) -> Any:
    if t.value_range is None:
        return None
    lo, hi = t.value_range
    unbounded = float("inf")
    rng = (lo, hi) if method == "mean" else ((0.0, unbounded) if lo >= 0 else (-unbounded, unbounded))
    return V.Tensor(dtype="float", continuous=t.continuous, value_range=rng, origin=node)


def _pixels_kept(ip, t: V.Tensor, method: str, node: cst.Call) -> Any:
    return t.but(units=None, shape=None, origin=node) if t.value_range == BYTE_RANGE else None


def _rounded(ip, t: V.Tensor, method: str, node: cst.Call) -> Any:
    return t.but(continuous=False, origin=node)


def _same_values(ip, t: V.Tensor, method: str, node: cst.Call) -> Any:
    return t.but(loss_graph=False, origin=node)


def _disjoint(*tables: dict) -> dict:
    merged: dict = {}
    for table in tables:
        assert not merged.keys() & table.keys(), sorted(merged.keys() & table.keys())
        merged.update(table)
    return merged


# Tensor methods: name -> (ip, tensor, method, node) -> value. A method not here returns nothing known.
TENSOR_METHODS = _disjoint(
    dict.fromkeys(V.SHAPE_ONLY_METHODS, _shape_only),
    dict.fromkeys(V.FLOAT_CASTS, _to_float),
    dict.fromkeys(V.INT_CASTS, _to_int),
    dict.fromkeys(("type", "astype"), _type),
    dict.fromkeys((m for m in V.ACTIVATION_FUNCTIONS if m not in ("matmul", "mm", "bmm")), _activation_method),
    dict.fromkeys(("argmax", "max"), _argmax_method),
    dict.fromkeys(("sum", "mean"), _reduce),
    dict.fromkeys(("round", "floor", "ceil", "sign"), _rounded),
    dict.fromkeys(("convert", "resize", "crop"), _pixels_kept),  # PIL images / arrays: the same pixel values
    dict.fromkeys(("numpy", "to_numpy", "toarray", "todense", "asnumpy"), _same_values),  # as an array, dense
)


def tensor_method(ip, t: V.Tensor, recv_text, method: str, node: cst.Call, args: list, kwargs: dict) -> Any:
    handler = TENSOR_METHODS.get(method)
    return handler(ip, t, method, node) if handler is not None else None


def backward(ip, recv, recv_text, method, node, args, kwargs) -> Any:
    """loss.backward(), scaler.scale(loss).backward(), accelerator.backward(loss), fabric.backward(loss),
    self.manual_backward(loss)."""
    on_receiver = not node.args or method == "backward" and recv_text and not (
        SCALER_NAME.search(recv_text) or "accelerator" in recv_text or "engine" in recv_text
        or "fabric" in recv_text.lower() or isinstance(recv, (V.Optimizer, V.Module, V.Instance))) \
        or node.args[0].keyword is not None
    loss_node = node.func.value if on_receiver and isinstance(node.func, cst.Attribute) else \
        node.args[0].value if not on_receiver else None
    receiver = recv_text if on_receiver else dotted(node.args[0].value)
    ip.emit(F.BACKWARD, node, receiver=receiver, reach=ip.reach.of(loss_node) if loss_node is not None else None)
    return None


def _fill(ip, recv, recv_text, method, node, args, kwargs) -> Any:
    """p.grad.zero_() clears a gradient; weight.fill_(0) / weight.zero_() sets a weight to a constant."""
    if method in ("zero_", "fill_") and recv_text and recv_text.split(".")[-1 if not recv_text.endswith(".data")
                                                                          else -2] == "grad":
        ip.emit(F.ZERO_GRAD, node)  # p.grad.zero_(), p.grad.data.zero_()
        return None
    if is_weight(recv_text):
        if method in ("fill_", "zero_"):
            ip.emit(F.WEIGHT_INIT, node, target=recv_text, guards=tuple(ip.guards), keras=False)
        return None
    return PASS


def mentions_grad(node: cst.CSTNode) -> bool:
    """Does an expression read some ``.grad`` (a manual parameter update)?"""
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, cst.Attribute):
            if current.attr.value == "grad":
                return True
            stack.append(current.value)
        elif isinstance(current, cst.BinaryOperation):
            stack.extend((current.left, current.right))
        elif isinstance(current, cst.UnaryOperation):
            stack.append(current.expression)
        elif isinstance(current, cst.Call):
            stack.append(current.func)
            stack.extend(a.value for a in current.args)
    return False


def _in_place_update(ip, recv, recv_text, method, node, args, kwargs) -> Any:
    """p.data.add_(-lr, p.grad): a parameter updated by hand."""
    if any(mentions_grad(a.value) for a in node.args):
        ip.emit(F.MANUAL_UPDATE, node)
    return PASS


def _tensor_data(ip, base: V.Tensor, name: str) -> Any:
    return base.but(loss_graph=False) if name in ("data", "values") else None  # a DataFrame's .values


def _reads_last_step(elements, batch_first: Optional[bool]) -> bool:
    """``out[:, -1]`` (batch first) or ``out[-1]`` (time first)."""
    def is_minus_one(el) -> bool:
        return isinstance(el.slice, cst.Index) and isinstance(el.slice.value, cst.UnaryOperation) and \
            isinstance(el.slice.value.operator, cst.Minus) and isinstance(el.slice.value.expression, cst.Integer) \
            and el.slice.value.expression.value == "1"

    def is_full(el) -> bool:
        return isinstance(el.slice, cst.Slice) and el.slice.lower is None and el.slice.upper is None

    if batch_first:
        return len(elements) >= 2 and is_full(elements[0]) and is_minus_one(elements[1])
    return len(elements) >= 1 and is_minus_one(elements[0])


def _subscript(ip, base: V.Tensor, e: cst.Subscript) -> Any:
    if base.padded and base.rnn_state and len(e.slice) >= 1 and isinstance(e.slice[0].slice, cst.Index):
        ip.emit(F.LAST_STEP, e, batch_first=None, state=True)  # h_n[-1]: a layer's state after the padding
    elif base.padded and _reads_last_step(e.slice, base.batch_first):
        ip.emit(F.LAST_STEP, e, batch_first=base.batch_first)
    slices_only = all(isinstance(el.slice, cst.Slice) for el in e.slice)
    shape = tuple(None for _ in base.shape) if slices_only and base.shape else None
    if base.shape is not None and len(base.shape) == 1 and len(e.slice) == 1 and isinstance(e.slice[0].slice, cst.Index) \
            and not isinstance(ip.quiet_eval(e.slice[0].slice.value), (V.Tensor, V.Seq)):
        shape = ()  # labels[idx]: one element of a 1-D array
    reason = V.varies(base)
    if reason and (slices_only or len(base.shape) > len(e.slice)):
        shape = (V.Varies(reason),)  # x[:max_len] keeps shorter items short; x[0] of (1, n) is (n,)
    return base.but(units=None, shape=shape, origin=e, padded=False)


CALLS = {
    **dict.fromkeys(("torch.no_grad", "torch.inference_mode", "torch.autograd.no_grad"), _no_grad),
    "torch.enable_grad": _enable_grad,
    **dict.fromkeys(("torch.set_grad_enabled", "torch.autograd.set_grad_enabled"), _set_grad_enabled),
    **dict.fromkeys(("torch.autograd.backward", "torch.autograd.grad"), _autograd_backward),
    **{f"torch.{name}": handler for name, handler in FACTORIES.items()},
    **{f"{package}.{name}": activation for name in V.ACTIVATION_FUNCTIONS for package in ("torch", "torch.special")},
}
DECORATORS = {
    **dict.fromkeys(("torch.no_grad", "torch.inference_mode", "torch.autograd.no_grad",
                     "torch.autograd.grad_mode.no_grad"), _always),
    "torch.set_grad_enabled": _false_first_arg,
}
CLEARED_ATTRIBUTES = {"grad": F.ZERO_GRAD}  # p.grad = None, del p.grad
# Methods and attributes whose result holds no autograd graph: a loss built from them reaches no parameter.
GRAPH_CUTS = frozenset(("detach", "detach_", "item", "tolist", "numpy", "data", "grad", "size", "dim", "numel",
                        "nelement", "shape", "ndim", "dtype", "device", "new_zeros", "new_ones", "new_full",
                        "new_empty", "new_tensor", "zero_", "fill_", "normal_", "uniform_", "random_", "bernoulli_",
                        "requires_grad"))
# Tensor (and torch.distributions) methods: their result's graph is the receiver's and the arguments'. Another
# method of a value we do not know (`agent.training_step(batch)`) may run a model: its reach is unknown.
GRAPH_METHODS = frozenset((
    *V.SHAPE_ONLY_METHODS, *V.FLOAT_CASTS, *V.ACTIVATION_FUNCTIONS, "sum", "mean", "max", "min", "argmax", "argmin",
    "pow", "exp", "log", "log1p", "abs", "clamp", "clip", "neg", "sqrt", "rsqrt", "norm", "std", "var", "prod",
    "gather", "scatter", "index_select", "masked_fill", "masked_select", "where", "expand", "expand_as", "repeat",
    "chunk", "split", "unbind", "narrow", "select", "roll", "flip", "t", "T", "mul", "add", "sub", "div", "square",
    "cumsum", "logsumexp", "sort", "topk", "mse_loss", "log_prob", "entropy", "rsample", "cdf", "squeeze_",
    "unsqueeze_", "mul_", "add_", "sub_", "div_", "float", "double", "half", "type", "values", "items", "get",
    "keys", "split_with_sizes", "diag", "trace", "dot", "outer", "amax", "amin", "nansum", "nanmean",
))
PREFIXES = {"torch": nothing}  # other torch.* names return nothing the model follows
METHODS = {
    "backward": backward,
    **dict.fromkeys(("zero_", "fill_", "normal_", "uniform_"), _fill),
    **dict.fromkeys(("add_", "sub_", "copy_", "addcdiv_", "add", "sub"), _in_place_update),
}
RECEIVERS = {V.Tensor: tensor_method}
ATTRIBUTES = {V.Tensor: _tensor_data}
SUBSCRIPTS = {V.Tensor: _subscript}

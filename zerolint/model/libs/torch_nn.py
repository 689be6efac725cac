"""torch.nn: layer and loss constructors, torch.nn.functional, nn.init, module wrappers, calling a module.

Add a layer: its name in the layer tables of ``values.py`` (``LAYER_KINDS``, ``DROPOUT_LAYERS``, ...);
a loss: its name in ``values.LOSS_FAMILY``; a functional op: a branch of ``_functional``; a module
method: ``_module_method``. Anything else in torch.nn: one entry in ``CALLS`` or ``PREFIXES``.
"""
from __future__ import annotations

from typing import Any, Optional

import libcst as cst

from .. import facts as F
from .. import values as V
from ..names import dotted_indexed, literal
from ..naming import may_be_module
from ..util import (PASS, activation_range, bool_kw, first_arg, is_false, is_weight, kw, literal_int,
                    moved, number)
from .tensor import activation, dim_node_of, softmax_event

_RESHAPING = {"Flatten", "Unflatten", "Reshape", "Permute", "RepeatVector"}
HEAD_NAMES = {"fc", "classifier", "head", "heads", "last_linear", "output", "out"}
# functional ops in a forward() that make train/eval mode matter
FUNCTIONAL_MODE_WORDS = ("dropout", "batch_norm")
FORWARD_METHODS = ("forward", "call", "__call__")  # torch, Keras, a plain callable
FORWARD_BY_NAME = ("torch",)
CHAIN_METHODS = {"to", "cpu", "cuda", "float", "double", "half", "train", "eval", "module", "requires_grad_"}


def reduction(node: cst.Call) -> Optional[str]:
    """The literal ``reduction=`` of a loss call (legacy ``size_average=False`` means "sum")."""
    for arg in node.args:
        name = arg.keyword.value if arg.keyword is not None else None
        if name == "reduction" and isinstance(arg.value, cst.SimpleString):
            return literal(arg.value)
        if name == "size_average" and isinstance(arg.value, cst.Name) and arg.value.value == "False":
            return "sum"
    return None


def log_target(node: cst.Call, positional_limit: int) -> Optional[bool]:
    """KLDivLoss / kl_div ``log_target=``: False when absent, None when not a literal."""
    if any(a.star for a in node.args) or len([a for a in node.args if a.keyword is None]) > positional_limit:
        return None
    if not any(a.keyword is not None and a.keyword.value == "log_target" for a in node.args):
        return False
    return bool_kw(node, "log_target")


# ------------------------------------------------------------------ constructors
def _nn(ip, qual: str, node: cst.Call, args: list, kwargs: dict) -> Any:
    """``torch.nn.<Name>(...)``: a layer, a container, a loss."""
    if qual.count(".") != 2:
        return None
    name = qual.rsplit(".", 1)[-1]
    if name in V.LOSS_FAMILY or name.endswith("Loss"):
        kws = tuple(sorted((k, v.value if isinstance(v, V.Number) else None) for k, v in kwargs.items()))
        return V.Loss(qual, kws, reduction=reduction(node),
                      log_target=log_target(node, 3) if name == "KLDivLoss" else False)
    if name in V.CONTAINERS:
        _check_sequence(ip, node, args)
        info = _sequential(name, args)
        if name == "Sequential" and info.output is None and len(node.args) == 1 and node.args[0].star == "*" \
                and isinstance(node.args[0].value, cst.Name):
            _ends_with(info, ip.last_item(node.args[0].value.value))  # Sequential(*layers), layers built by appends
        return V.Module(info)
    if name in ("DataParallel",):
        return args[0] if args and isinstance(args[0], V.Module) else None
    if name in V.LAYER_KINDS:
        kind = V.LAYER_KINDS[name]
        units = None
        if name in ("Linear", "Bilinear", "Embedding"):
            units = literal_int(kw(kwargs, args, "out_features" if name != "Embedding" else "embedding_dim",
                                   1 if name != "Bilinear" else 2))
        elif name == "LazyLinear":
            units = literal_int(kw(kwargs, args, "out_features", 0))
        info = V.ModuleInfo(name, output=kind, units=units, has_dropout_or_bn=False)
        if kind in (V.SIGMOID, V.SOFTMAX, V.LOG_SOFTMAX, V.TANH, V.RELU, V.OTHER) and name not in (
                "Transformer", "TransformerEncoder", "TransformerDecoder"):
            info.passthrough = True  # an activation: keeps the units it is given
        if name in ("Softmax", "LogSoftmax"):
            dim_node = dim_node_of(node, 0)
            softmax_event(ip, node, None, dim_node, dim_node is not None)
            if dim_node is not None:
                info.softmax_dim, info.softmax_node = literal_int(ip.quiet_eval(dim_node)), node
        if name.startswith("Transformer"):
            info.has_dropout_or_bn = True
        return V.Module(info)
    if name in V.BATCHNORM_LAYERS or name in V.DROPOUT_LAYERS:
        return V.Module(V.ModuleInfo(name, output=None, has_dropout_or_bn=True, passthrough=True))
    if name in V.NORMALIZATION_LAYERS or name in V.PASSTHROUGH_LAYERS:
        info = V.ModuleInfo(name, output=V.LINEAR if name in V.NORMALIZATION_LAYERS else None,
                            has_dropout_or_bn=False, passthrough=name in V.PASSTHROUGH_LAYERS)
        return V.Module(info)
    if name in V.RECURRENT_LAYERS:
        return V.Module(V.ModuleInfo(name, returns_tuple=True, batch_first=bool_kw(node, "batch_first") or False,
                                     has_dropout_or_bn=number(kwargs.get("dropout")) not in (None, 0, 0.0)))
    return None


def _check_sequence(ip, node: cst.Call, args: list) -> None:
    """A softmax layer right after a one-unit layer in Sequential(...) is constantly 1.0."""
    units = None
    for arg, value in zip(node.args, args):
        if not isinstance(value, V.Module) or arg.star:
            return
        info = value.info
        if info.output in (V.SOFTMAX, V.LOG_SOFTMAX) and info.passthrough and units == 1:
            ip.emit(F.SOFTMAX_CALL, arg.value, single_unit=True, dim_given=True, dim=None, input=None)
        if not info.passthrough:
            units = info.units


def _sequential(name: str, args: list) -> V.ModuleInfo:
    items = list(args)
    if len(items) == 1 and isinstance(items[0], V.Seq):  # Sequential(*layers) / ModuleList([...])
        items = list(items[0].items)
    modules = [v.info for v in items if isinstance(v, V.Module)]
    info = V.ModuleInfo(name)
    flags = [m.has_dropout_or_bn for m in modules]
    if any(flags):
        info.has_dropout_or_bn = True
    elif items and len(modules) == len(items) and all(f is False for f in flags):
        info.has_dropout_or_bn = False
    if name != "Sequential" or not items or len(modules) != len(items):
        return info
    info.layers = tuple(modules)
    first = next((m.name for m in modules if m.name not in V.RESHAPE_LAYERS), None)
    info.normalizes_input = first in V.INPUT_NORM_LAYERS if first is not None else None
    units = None
    output = None
    softmax = None  # the softmax layer that makes the output, if one does
    for m in modules:
        if m.returns_tuple:
            return info
        if m.passthrough:
            output = m.output or output
            softmax = m if m.output in (V.SOFTMAX, V.LOG_SOFTMAX) else softmax
            continue
        output, units, softmax = m.output, m.units, None
    info.output, info.units = output, units
    if softmax is not None:
        info.softmax_dim, info.softmax_node = softmax.softmax_dim, softmax.softmax_node
    return info


def _ends_with(info: V.ModuleInfo, last: Any) -> None:
    """A Sequential of a list built by appends (in a loop, so its layers are not all known) whose last appended
    layer is known: that layer makes its output (a passthrough one, its activation; units stay unknown)."""
    if not isinstance(last, V.Module) or last.info is None or last.info.returns_tuple:
        return
    if last.info.passthrough:
        info.output = last.info.output
    else:
        info.output, info.units = last.info.output, last.info.units


def _module_wrapper(ip, qual, node, args, kwargs) -> Any:
    """DistributedDataParallel(model), weight_norm(layer): the module it wraps."""
    return args[0] if args and isinstance(args[0], V.Module) else None


def _utils(ip, qual, node, args, kwargs) -> Any:
    if qual.rsplit(".", 1)[-1] in ("weight_norm", "spectral_norm"):
        return _module_wrapper(ip, qual, node, args, kwargs)
    return None


def _init(ip, qual, node, args, kwargs) -> Any:
    """nn.init.zeros_(layer.weight): a weight set to a constant."""
    if qual.rsplit(".", 1)[-1] in ("zeros_", "ones_", "constant_") and node.args:
        target = dotted_indexed(node.args[0].value)  # layer.weight, also net[0].weight
        if target is not None and "[" in target and not _indexed_weight_layer(ip, node.args[0].value):
            return None
        if is_weight(target):
            ip.emit(F.WEIGHT_INIT, node, target=target, guards=tuple(ip.guards), keras=False)
    return None


def _indexed_weight_layer(ip, weight: cst.BaseExpression) -> bool:
    """``net[0].weight``: is ``net[0]`` known to be a layer with weights to learn (not a norm layer, whose weight
    is set to one on purpose)? Unknown: no."""
    owner = weight.value if isinstance(weight, cst.Attribute) else None
    if isinstance(owner, cst.Attribute) and owner.attr.value == "weight":  # net[0].weight.data
        owner = owner.value
    if not (isinstance(owner, cst.Subscript) and len(owner.slice) == 1 and isinstance(owner.slice[0].slice, cst.Index)
            and isinstance(owner.slice[0].slice.value, cst.Integer)):
        return False
    container = ip.quiet_eval(owner.value)
    layers = container.info.layers if isinstance(container, V.Module) and container.info is not None else ()
    index = literal(owner.slice[0].slice.value)
    name = layers[index].name if index < len(layers) else None
    return bool(name) and name not in V.NORMALIZATION_LAYERS and name not in V.BATCHNORM_LAYERS


def _clip(ip, qual, node, args, kwargs) -> Any:
    ip.emit(F.CLIP, node)
    return None


def _functional(ip, qual, node, args, kwargs) -> Any:
    name = qual.rsplit(".", 1)[-1]
    if name in V.LOSS_FAMILY or name.endswith("_loss") or name in ("cross_entropy", "binary_cross_entropy",
                                                                    "kl_div", "nll_loss"):
        return loss(ip, V.Loss(qual, functional=True, reduction=reduction(node),
                               log_target=log_target(node, 2) if name == "kl_div" else False), node, args, kwargs)
    if name == "one_hot":
        source = args[0] if args else None
        classes = literal_int(kw(kwargs, args, "num_classes", 1))
        shape = source.shape + (classes,) if isinstance(source, V.Tensor) and source.shape else None
        return V.Tensor(dtype="int", encoding=V.ONEHOT, num_classes=classes, shape=shape, origin=node)
    if name in V.ACTIVATION_FUNCTIONS:
        return activation(ip, qual, node, args, kwargs)
    if name in ("dropout", "dropout2d", "pad", "normalize", "interpolate"):
        return args[0] if args and name == "dropout" else None
    return None


# ------------------------------------------------------------------ calling a module or a loss
def forward(ip, info: V.ModuleInfo, node: cst.Call, text: Optional[str], args: tuple = ()) -> Any:
    """``model(x)``: what a module (torch or Keras, library or local class) returns for its input."""
    inp = args[0] if args else None
    if info.framework == "torch" and (ip.facts.cls is None or not ip.facts.cls.is_module):
        ip.emit(F.FORWARD, node, module=info, receiver=text, input=inp)
    if info.softmax_dim == 0 and info.softmax_node is not None:
        _softmax_layer_applied(ip, info, node, inp)
    if info.name in V.RECURRENT_LAYERS:
        ip.emit(F.RNN_INPUT, node, module=info, input=inp)
        padded = isinstance(inp, V.Tensor) and (inp.padded or inp.pad_input)
        # the final state h_n of a padded batch run unpacked has read the padding of every shorter sequence
        state = V.Tensor(padded=True, rnn_state=True, origin=node) if isinstance(inp, V.Tensor) and inp.pad_input \
            else None
        if state is not None and info.name == "LSTM":
            state = V.Seq((state, None))
        return V.Seq((V.Tensor(padded=padded, batch_first=info.batch_first, origin=node), state))
    if info.passthrough and isinstance(inp, V.Tensor):
        if info.output in (V.SOFTMAX, V.LOG_SOFTMAX) and inp.units == 1:
            ip.emit(F.SOFTMAX_CALL, node, single_unit=True, dim_given=True, dim=None, input=inp)
        if info.name in _RESHAPING:
            return inp.but(units=None, shape=None, origin=node)
        return inp.but(activation=info.output or inp.activation, origin=node, encoding=None,
                       value_range=activation_range(info.output, inp.value_range))
    if info.internal_loss is not None:  # transformers heads: an output object holding .loss and .logits
        labels = True if any(a.keyword is not None and a.keyword.value == "labels" for a in node.args) else \
            None if any(a.star for a in node.args) else False
        return V.ModelOutput(info, labels, node)
    if info.returns_tuple or info.output is None and info.units is None:
        return V.Tensor(model=info, origin=node) if not info.returns_tuple else None
    if info.name == "Embedding" and isinstance(inp, V.Tensor) and inp.pad_input:  # padded ids -> padded vectors
        return V.Tensor(activation=info.output, units=info.units, model=info, dtype="float", origin=node,
                        pad_input=True, batch_first=inp.batch_first, dim_names=inp.dim_names)
    if info.name == "Embedding" and isinstance(inp, V.Tensor) and inp.dim_names == V.BATCH_MAJOR:
        # a loader batch of ids (batch, seq) -> vectors (batch, seq, dim)
        return V.Tensor(activation=info.output, units=info.units, model=info, dtype="float", origin=node,
                        dim_names=V.BATCH_MAJOR)
    return V.Tensor(activation=info.output, units=info.units, model=info, dtype="float", origin=node)


def _softmax_layer_applied(ip, info: V.ModuleInfo, node: cst.Call, inp: Any) -> None:
    """A Softmax(dim=0) layer applied (``self.softmax(self.fc(x))``), or a Sequential ending in one called
    (``model(state_batch)``): the softmax runs over the first axis of what reaches it. Reported where the
    layer is built; ``call`` lets the rule tell a call on one sample from one on a batch."""
    if info.passthrough:  # the layer itself: its input is what it normalizes
        reaching = inp if isinstance(inp, V.Tensor) else None
    else:  # a Sequential: what reaches its last softmax is the output of the layers before it
        reaching = V.Tensor(model=info, units=info.units, dtype="float", origin=node)
    ip.emit(F.SOFTMAX_CALL, info.softmax_node, single_unit=False, dim_given=True, dim=0, input=reaching,
            call=node)


def _call_module(ip, callee: V.Module, node, args, kwargs, text) -> Any:
    _padded_call_site(ip, callee.info, node, args, kwargs)
    return forward(ip, callee.info, node, text, args)


def _padded_call_site(ip, info: V.ModuleInfo, node, args: list, kwargs: dict) -> None:
    """``model(padded_batch)`` of a model class of this file: its ``forward`` reads the padded batch (a
    call site, as for a function of this file), so ``out[:, -1]`` or a permute before its RNN there is
    seen for what it is; so does a loss module fed model outputs (``criterion_kd(student(x), teacher(x))``)."""
    fwd = info.cls.methods.get("forward") if info.cls is not None else None
    if fwd is None or not ip.recording or fwd.interpreted:
        return
    if not any(isinstance(a, V.Tensor) and (a.pad_input or a.padded or a.dim_names or a.model is not None)
               for a in list(args) + list(kwargs.values())):
        return  # only a batch whose padding or layout is known says more than forward's own reading
    event = F.Event(F.CALL, node, ip.facts, ip.loop, ip.conditional, ip.grad_off, {"callee": fwd})
    fwd.call_sites.append(F.CallSite(node, ip.facts, event, list(args), dict(kwargs)))


def loss(ip, loss_value: V.Loss, node: cst.Call, args: list, kwargs: dict) -> Any:
    """``criterion(out, y)`` / ``F.cross_entropy(out, y)``: a LOSS event and the scalar loss tensor."""
    input_value = kw(kwargs, args, "input", 0)
    target_value = kw(kwargs, args, "target", 1)
    arg_nodes = [a.value for a in node.args if a.keyword is None]
    ip.emit(F.LOSS, node, loss=loss_value, input=input_value, target=target_value,
            input_node=arg_nodes[0] if arg_nodes else None,
            target_node=arg_nodes[1] if len(arg_nodes) > 1 else None,
            **({"reach": ip.reach.of(node)} if loss_value.reduction == "sum" else {}))
    return V.Tensor(dtype="float", shape=(), origin=node, loss_graph=not ip.grad_off)


def _call_loss(ip, callee: V.Loss, node, args, kwargs, text) -> Any:
    return loss(ip, callee, node, args, kwargs)


# ------------------------------------------------------------------ module methods and attributes
def _mode(ip, recv, recv_text, method, node, args, kwargs) -> Any:
    """model.eval(), model.train(), model.train(False); model.train(flag) sets the mode by a run-time flag."""
    if not (isinstance(recv, V.Module) or recv is None and may_be_module(recv_text)
            or isinstance(recv, V.Instance) and recv.cls.is_module):
        return PASS
    mode = method
    if method == "train" and node.args:
        first = node.args[0].value
        if is_false(first):
            mode = "eval"
        elif not (isinstance(first, cst.Name) and first.value == "True"):
            ip.emit(F.MODE_FLAG, node, receiver=recv_text, flag=first,
                    module=recv.info if isinstance(recv, V.Module) else None)
            return recv
    ip.emit(F.MODE_EVAL if mode == "eval" else F.MODE_TRAIN, node, receiver=recv_text,
            module=recv.info if isinstance(recv, V.Module) else None)
    return recv


_SAME_MODULE = {"to", "cuda", "cpu", "float", "double", "half", "bfloat16", "requires_grad_", "to_empty",
                "share_memory"}


def _module_method(ip, recv: V.Module, recv_text, method, node, args, kwargs) -> Any:
    if method in _SAME_MODULE:
        return recv
    if method == "forward":
        return forward(ip, recv.info, node, recv_text, tuple(args))
    return None


def _module_attribute(ip, base: V.Module, name: str) -> Any:
    return base if name in ("module", "_orig_mod") else None  # DataParallel(model).module, compiled._orig_mod


def _set_head(ip, base: V.Module, name: str, value: Any) -> None:
    """model.fc = nn.Linear(512, 2): a replaced head decides what the model outputs."""
    if name not in HEAD_NAMES:
        return
    head = value.info if isinstance(value, V.Module) else None
    base.info.output = head.output if head is not None and not head.passthrough else None
    base.info.units = head.units if head is not None else None


CALLS = {
    "torch.compile": first_arg,
    **dict.fromkeys(("torch.nn.utils.clip_grad_norm_", "torch.nn.utils.clip_grad_value_",
                     "torch.nn.utils.clip_grad.clip_grad_norm_"), _clip),
}
PREFIXES = {
    "torch.nn": _nn,
    "torch.nn.functional": _functional,
    "torch.nn.parallel": _module_wrapper,
    "torch.nn.utils": _utils,
    "torch.nn.init": _init,
}
METHODS = dict.fromkeys(("eval", "train"), _mode)
RECEIVERS = {(V.Module, "torch"): _module_method, V.Loss: moved}
ATTRIBUTES = {V.Module: _module_attribute}
SET_ATTRIBUTES = {V.Module: _set_head}
VALUE_CALLS = {V.Module: _call_module, V.Loss: _call_loss}
MODULE_BASES = {"torch.nn.Module": "torch"}

# Attributes of a module that hold no parameters (model/reach.py): reading `self.device` or `self.training` in a
# forward or a training_step does not put the whole model into a tensor's autograd graph.
PLAIN_MODULE_ATTRIBUTES = frozenset(("device", "dtype", "training"))

"""ZL1xx: the contract between what the model outputs and what the loss expects."""
from __future__ import annotations

import math
from typing import Iterable, Optional

import libcst as cst

from ..model import SemanticModel, facts as F, values as V
from ..model.libs.tensor import dim_node_of
from ..model.naming import sample_or_batch
from . import Report, Rule, register

LOGITS = "a Linear/conv layer with no activation (raw logits)"


def producer(t: V.Tensor) -> str:
    if t.model is not None and t.model.name:
        return f"the output of `{t.model.name}`"
    return "its input"


def loss_events(model: SemanticModel, *families: str) -> Iterable[tuple[F.Event, V.Loss, object, object]]:
    for event in model.events(F.LOSS):
        loss = event.data["loss"]
        if loss.family in families:
            yield event, loss, event.data.get("input"), event.data.get("target")


def fed(model: SemanticModel, families: tuple, kinds: tuple) -> Iterable[tuple[F.Event, V.Loss, V.Tensor]]:
    """Loss calls of these families whose input is known to come out of one of these ops."""
    for event, loss, inp, _ in loss_events(model, *families):
        if isinstance(inp, V.Tensor) and inp.activation in kinds:
            yield event, loss, inp


def same_bug(event: F.Event, loss: V.Loss, inp: object) -> Optional[tuple]:
    """The group of a report on a loss call fed a model's output (``Report.group``): the same model's output
    fed to the same loss in the same iteration (``criterion(D(real), ones)`` and ``criterion(D(fake), zeros)``)
    is one bug."""
    if not isinstance(inp, V.Tensor) or inp.model is None:
        return None
    return (id(inp.model), loss.qualname, loss.functional, id(event.function), id(event.loop))


def data_site(event: F.Event) -> cst.CSTNode:
    """Where the targets enter: the loss call, or Keras `fit(...)` when the loss was set in compile()."""
    return event.data.get("data_node") or event.node


def _tensor(value: object) -> Optional[V.Tensor]:
    return value if isinstance(value, V.Tensor) else None


def _units(value: object) -> Optional[int]:
    t = _tensor(value)
    return t.units if t is not None else None


def _range_text(rng: tuple) -> str:
    def fmt(x: float) -> str:
        if math.isinf(x):
            return "-inf" if x < 0 else "inf"
        return f"{x:g}"
    return f"[{fmt(rng[0])}, {fmt(rng[1])}]"


def _capitalized(text: str) -> str:
    return text[:1].upper() + text[1:]


def outside(rng: Optional[tuple], low: float, high: float) -> bool:
    return rng is not None and (rng[0] < low or rng[1] > high)


@register
class BCEOnLogits(Rule):
    code = "ZL101"

    def check(self, model: SemanticModel) -> Iterable[Report]:
        for event, loss, inp in fed(model, ("bce",), (V.LINEAR,)):
            fix = ("pass `from_logits=True` (keras.losses.BinaryCrossentropy(from_logits=True)) or give the "
                   "last Dense `activation=\"sigmoid\"`" if loss.is_keras else
                   "use nn.BCEWithLogitsLoss (F.binary_cross_entropy_with_logits) on the logits, or apply "
                   "torch.sigmoid before the loss")
            yield Report(event.node, (
                f"{loss.label} is fed raw logits: {producer(inp)} ends in {LOGITS}, so the loss sees "
                f"values outside [0, 1] and training stalls or fails. Instead, {fix}."),
                group=same_bug(event, loss, inp))


@register
class SigmoidBeforeBCEWithLogits(Rule):
    code = "ZL102"

    def check(self, model: SemanticModel) -> Iterable[Report]:
        for event, loss, inp in fed(model, ("bce_logits",), (V.SIGMOID,)):
            yield Report(event.node, (
                f"{loss.label} applies its own sigmoid, but {producer(inp)} is already a sigmoid: the "
                "loss sees sigmoid(sigmoid(x)), squeezed into [0.5, 0.73], and gradients almost vanish. "
                "Feed the raw logits (drop the sigmoid), or use a probability loss."), group=same_bug(event, loss, inp))


@register
class SoftmaxBeforeCrossEntropy(Rule):
    code = "ZL103"

    def check(self, model: SemanticModel) -> Iterable[Report]:
        for event, loss, inp in fed(model, ("ce",), (V.SOFTMAX, V.LOG_SOFTMAX)):
            what = "already a softmax" if inp.activation == V.SOFTMAX else "already a log_softmax"
            yield Report(event.node, (
                f"{loss.label} applies log_softmax itself, but {producer(inp)} is {what}: the double "
                "normalization flattens the outputs and gradients shrink until the loss stops moving. "
                "Feed the raw logits; keep the softmax for predictions only."), group=same_bug(event, loss, inp))


@register
class CrossEntropyTargetEncoding(Rule):
    code = "ZL104"

    def check(self, model: SemanticModel) -> Iterable[Report]:
        for event, loss, inp, target in loss_events(model, "ce", "ce_prob", "nll"):
            target = _tensor(target)
            if target is None:
                continue
            if loss.is_keras:
                yield from self._keras(event, loss, target)
                continue
            label = loss.label
            if loss.family == "nll":
                if target.dtype == "float" and (target.encoding == V.INDICES or target.encoding is None
                                                and target.shape == (None,)):
                    yield Report(event.node, (
                        f"{label} gets float targets (class ids stored or cast as float): it needs integer class "
                        "indices and raises `expected scalar type Long but found Float`. Store or cast the labels "
                        "as integers (`.long()`, `dtype=torch.long`)."))
                continue
            if target.encoding == V.INDICES and target.dtype == "float":
                yield Report(event.node, (
                    f"{label} gets class indices cast to float: float targets are read as class "
                    "probabilities of shape (N, C), so this raises a dtype/shape error or trains against "
                    "the wrong target. Pass the integer indices (`.long()`), not `.float()`."))
            elif target.encoding is None and target.dtype == "float" and target.shape == (None,) \
                    and isinstance(inp, V.Tensor) and inp.model is not None and _units(inp) != 1:
                yield Report(event.node, (
                    f"{label} gets float targets of shape (N,) (one float label per sample, from the data "
                    "set): float targets are read as class probabilities of shape (N, C), so this raises a "
                    "dtype/shape error. Store or cast the labels as integer class indices (`.long()`, "
                    "`dtype=torch.long`)."))
            elif target.encoding == V.INDICES and target.dtype == "int" and target.shape \
                    and len(target.shape) == 2 and target.shape[1] == 1:
                yield Report(event.node, (
                    f"{label} gets class indices of shape (N, 1): it expects shape (N,) and raises "
                    "'multi-target not supported' (or, with spatial outputs, misreads the extra axis). "
                    "Pass `y.squeeze(1)` (or `y.view(-1)`)."))
            elif target.encoding == V.ONEHOT and target.dtype == "int":
                yield Report(event.node, (
                    f"{label} gets one-hot targets as integers: one-hot targets must be float class "
                    "probabilities, so this raises a dtype error. Pass the class indices directly, or "
                    "`F.one_hot(y, C).float()`."))
            elif target.encoding == V.ONEHOT and target.num_classes is not None \
                    and _units(inp) is not None and target.num_classes != _units(inp):
                yield Report(event.node, (
                    f"{label} gets one-hot targets with {target.num_classes} classes but the model "
                    f"outputs {_units(inp)} units: shapes disagree. Use `num_classes={_units(inp)}` or "
                    "pass class indices."))

    @staticmethod
    def _keras(event: F.Event, loss: V.Loss, target: V.Tensor) -> Iterable[Report]:
        # integer labels one per sample cannot be one-hot rows, whatever produced them
        indices = target.encoding == V.INDICES or target.encoding is None and target.shape == (None,)
        if not loss.keras_sparse and indices and target.dtype == "int":
            yield Report(data_site(event), (
                f"{loss.label} expects one-hot labels, but the labels are integer class indices: the "
                "loss compares each index with a probability vector and accuracy stays near 0. Use "
                "`sparse_categorical_crossentropy`, or one-hot the labels with keras.utils.to_categorical."))
        elif loss.keras_sparse and target.encoding == V.ONEHOT:
            yield Report(data_site(event), (
                f"{loss.label} expects integer class indices, but the labels are one-hot: shapes "
                "disagree or every sample is read as class 0/1. Use `categorical_crossentropy`, or pass "
                "the indices (argmax of the one-hot labels)."))


@register
class BCETargetOutOfRange(Rule):
    code = "ZL105"

    def check(self, model: SemanticModel) -> Iterable[Report]:
        for event, loss, _, target in loss_events(model, "bce", "bce_logits"):
            target = _tensor(target)
            if target is None or target.continuous or not outside(target.value_range, 0, 1):
                continue
            yield Report(data_site(event), (
                f"{loss.label} gets targets in {_range_text(target.value_range)}, but binary "
                "cross-entropy needs targets in [0, 1]: the loss is meaningless (or negative) and "
                "accuracy stays at 0. Use cross-entropy over the classes, or scale/binarize the targets."))


@register
class CrossEntropySingleLogit(Rule):
    code = "ZL106"

    def check(self, model: SemanticModel) -> Iterable[Report]:
        for event, loss, inp, _ in loss_events(model, "ce", "ce_prob"):
            if _units(inp) == 1:
                yield Report(event.node, (
                    f"{loss.label} over {producer(inp)}, which has a single unit: a softmax over one "
                    "class is always 1, so the loss is identically 0 and nothing learns. For two classes "
                    "use one logit with BCEWithLogitsLoss (binary_crossentropy), or output 2 units."))


@register
class NLLWithoutLogSoftmax(Rule):
    code = "ZL107"

    def check(self, model: SemanticModel) -> Iterable[Report]:
        for event, loss, inp in fed(model, ("nll",), (V.LINEAR, V.SOFTMAX)):
            what = "raw logits" if inp.activation == V.LINEAR else "softmax probabilities (not their log)"
            yield Report(event.node, (
                f"{loss.label} expects log-probabilities but gets {what} from {producer(inp)}: the "
                "loss is unbounded below (or has the wrong gradients) and accuracy does not improve. "
                "Apply log_softmax(dim=1) before it, or use CrossEntropyLoss on the logits."),
                group=same_bug(event, loss, inp))


@register
class LossTaskMismatch(Rule):
    code = "ZL108"

    def check(self, model: SemanticModel) -> Iterable[Report]:
        for event, loss, inp, target in loss_events(model, "bce", "bce_logits", "ce", "ce_prob", "nll"):
            target = _tensor(target)
            if target is not None and target.continuous and target.dtype == "float" \
                    and outside(target.value_range, 0, 1) and target.encoding is None:
                yield Report(data_site(event), (
                    f"{loss.label} is a classification loss, but the targets are continuous values in "
                    f"{_range_text(target.value_range)} (a regression target): the loss cannot fit them "
                    "and accuracy is meaningless. Use a regression loss (MSELoss / mean_squared_error)."))
        for event, loss, inp, target in loss_events(model, "mse", "l1"):
            target = _tensor(target)
            if target is None or target.encoding != V.INDICES or target.dtype not in ("int", "float"):
                continue  # class indices, also cast to float for the regression loss
            units = _units(inp)
            activation = inp.activation if isinstance(inp, V.Tensor) else None
            if units is not None and units > 1 or activation in (V.SOFTMAX, V.LOG_SOFTMAX):
                yield Report(data_site(event), (
                    f"{loss.label} is a regression loss, but the targets are class indices and the model "
                    "outputs one score per class: the model is pushed to output the index number. Use "
                    "CrossEntropyLoss (sparse_categorical_crossentropy) for classification."))
            elif self._one_unit(inp) and target.num_classes is not None and target.num_classes >= 3:
                # the classes of a classification dataset (MNIST digits, iris species): nominal, not ordinal
                classes = target.num_classes
                yield Report(data_site(event), (
                    f"{loss.label} regresses class ids (0..{classes - 1}) on a single output unit: the classes "
                    "are treated as ordered numbers (class 2 'between' 1 and 3), and rounding the output gives "
                    f"accuracy near chance. Give the last layer {classes} units and use CrossEntropyLoss "
                    "(sparse_categorical_crossentropy) on the class indices."))

    @staticmethod
    def _one_unit(inp: object) -> bool:
        """A model output with one unit, also after `.squeeze()` / `.view(-1)`."""
        t = _tensor(inp)
        return t is not None and (t.units == 1 or t.units is None and t.model is not None and t.model.units == 1
                                  and t.activation in (None, V.LINEAR))


def _model_calls(model: SemanticModel, fn: F.FunctionFacts) -> list:
    """The calls that run ``fn``, a method of a model class: ``model(x)`` for its forward, ``model.pi(x)``."""
    calls = [(site.node, site.caller) for site in fn.call_sites]
    if fn.name == "forward":
        calls += [(e.node, e.function) for e in model.events(F.FORWARD) if isinstance(e.node, cst.Call)
                  and getattr(e.data.get("module"), "cls", None) is fn.cls]
    return calls


def _input_kind(node: cst.BaseExpression, caller: F.FunctionFacts, model: SemanticModel) -> Optional[str]:
    """sample_or_batch of a model input, through the caller's assignments to the name passed
    (``state = torch.from_numpy(state).unsqueeze(0)`` makes ``state`` a batch)."""
    kind = sample_or_batch(node)
    if isinstance(node, cst.Name):
        body = caller.node if caller.node is not None else model.module
        for assigned in _assignments(body, node.value):
            if sample_or_batch(assigned) == "batch":
                return "batch"
    return kind


def _assignments(body: cst.CSTNode, name: str) -> list:
    found: list = []

    class Visitor(cst.CSTVisitor):
        def visit_Assign(self, node: cst.Assign) -> None:
            if any(isinstance(t.target, cst.Name) and t.target.value == name for t in node.targets):
                found.append(node.value)

        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            return node is body

        def visit_ClassDef(self, node: cst.ClassDef) -> bool:
            return False

    body.visit(Visitor())
    return found


def _called_on_one_sample(model: SemanticModel, event: F.Event) -> bool:
    """Is the model whose method holds this softmax only ever called on one sample (an RL policy on one
    state, ``pi(torch.from_numpy(s).float())``)? Then dim 0 is its class dimension. Calls that pass the
    method's dim parameter explicitly (``pi(batch, softmax_dim=1)``) do not use the dim=0 default."""
    fn = event.function
    if fn.cls is None or not fn.cls.is_module:
        return False
    node = event.node
    dim_node = None
    if isinstance(node, cst.Call):
        dim_node = dim_node_of(node, 1 if model.imports.resolve(node.func) is not None else 0)
    dim_param = dim_node.value if isinstance(dim_node, cst.Name) else None
    position = next((i for i, p in enumerate(fn.params) if p.name.value == dim_param), None)
    kinds = set()
    for call, caller in _model_calls(model, fn):
        positional = [a for a in call.args if a.keyword is None and not a.star]
        if dim_param is not None and (any(a.keyword is not None and a.keyword.value == dim_param for a in call.args)
                                      or position is not None and len(positional) >= position):
            continue  # this call chooses its own dim
        kinds.add(_input_kind(positional[0].value, caller, model) if positional else None)
    return kinds == {"one"}


def _one_sample_call(model: SemanticModel, event: F.Event, call: cst.Call) -> bool:
    """A softmax layer reached through ``model(x)`` (a Sequential ending in Softmax(dim=0)) where ``x`` is one
    sample (``model(torch.from_numpy(state).float())``): dim 0 is then its class dimension."""
    positional = [a for a in call.args if a.keyword is None and not a.star]
    return bool(positional) and event.function is not None and \
        _input_kind(positional[0].value, event.function, model) == "one"


@register
class SoftmaxDim(Rule):
    code = "ZL109"

    def check(self, model: SemanticModel) -> Iterable[Report]:
        reported = set()
        for event in model.events(F.SOFTMAX_CALL):
            if event.data.get("single_unit") or id(event.node) in reported:
                continue
            inp = event.data.get("input")
            call = event.data.get("call")
            if call is not None and _one_sample_call(model, event, call):
                continue
            if not event.data.get("dim_given"):
                yield Report(event.node, (
                    "softmax without `dim`: PyTorch guesses the dimension (dim=0 for 1-D and 3-D input), "
                    "which normalizes across the batch instead of the classes for some shapes. Pass "
                    "`dim=1` (or `dim=-1`) explicitly."))
            elif event.data.get("dim") == 0 and isinstance(inp, V.Tensor) and inp.model is not None \
                    and not _called_on_one_sample(model, event):
                reported.add(id(event.node))
                yield Report(event.node, (
                    "softmax over dim=0 of a batched (N, C) model output normalizes across the batch, not "
                    "the classes: each sample's scores depend on the others and predictions are wrong. Use "
                    "`dim=1` (or `dim=-1`)."))


@register
class BoundedOutputUnscaledTarget(Rule):
    code = "ZL110"

    def check(self, model: SemanticModel) -> Iterable[Report]:
        bounds = {V.SIGMOID: (0.0, 1.0, "sigmoid"), V.TANH: (-1.0, 1.0, "tanh")}
        for event, loss, inp, target in loss_events(model, "mse", "l1"):
            target = _tensor(target)
            if not isinstance(inp, V.Tensor) or inp.activation not in bounds or target is None:
                continue
            low, high, name = bounds[inp.activation]
            if outside(target.value_range, low, high):
                yield Report(data_site(event), (
                    f"{_capitalized(producer(inp))} ends in a {name}, bounded to [{low:g}, {high:g}], but the "
                    f"targets lie in {_range_text(target.value_range)}: the output saturates and the loss "
                    "plateaus. Scale the targets into range, or drop the final activation."))


@register
class SoftmaxSingleUnit(Rule):
    code = "ZL111"

    def check(self, model: SemanticModel) -> Iterable[Report]:
        for event in model.events(F.SOFTMAX_CALL):
            if event.data.get("single_unit"):
                yield Report(event.node, (
                    "softmax over a single unit always outputs 1.0, whatever the input: the model cannot "
                    "express anything and accuracy is the share of one class. For binary outputs use "
                    "a sigmoid (activation=\"sigmoid\"), or give the layer one unit per class."))


@register
class ProbabilityLossOnLogits(Rule):
    code = "ZL112"

    def check(self, model: SemanticModel) -> Iterable[Report]:
        for event, loss, inp in fed(model, ("ce_prob",), (V.LINEAR,)):
            yield Report(event.node, (
                f"{loss.label} expects probabilities, but {producer(inp)} ends in a Dense layer with no "
                "softmax: the loss clips the raw scores and training stalls. Pass `from_logits=True` "
                "(e.g. keras.losses.SparseCategoricalCrossentropy(from_logits=True)) or add "
                "`activation=\"softmax\"` to the last layer."))
        for event, loss, inp, target in loss_events(model, "kl"):
            problems = []
            if isinstance(inp, V.Tensor) and inp.activation in (V.LINEAR, V.SOFTMAX):
                what = "raw outputs (logits)" if inp.activation == V.LINEAR else "probabilities"
                problems.append(f"expects log-probabilities as input but gets {what} from {producer(inp)}")
            fix_target = self._kl_target(loss, _tensor(target))
            if fix_target is not None:
                problems.append(fix_target[0])
            if not problems:
                continue
            fixes = (["apply log_softmax(dim=-1) to the input"] if len(problems) == 2 or fix_target is None else []) \
                + ([fix_target[1]] if fix_target is not None else [])
            yield Report(event.node, (
                f"{loss.label} {' and '.join(problems)}: the divergence is wrong (it can go negative) and the "
                f"student learns nothing useful. Instead, {'; '.join(fixes)}."))

    @staticmethod
    def _kl_target(loss: V.Loss, target: Optional[V.Tensor]) -> Optional[tuple]:
        """(what is wrong, the fix) with the target of a KL divergence, or None."""
        if target is None:
            return None
        if target.activation == V.LINEAR:
            return (f"gets raw scores (logits) from {producer(target)} as its target, not a distribution",
                    "pass F.softmax(teacher_logits / T, dim=-1) as the target (or F.log_softmax with "
                    "log_target=True)")
        if target.activation == V.SOFTMAX and loss.log_target is True:
            return ("is told log_target=True but gets probabilities (softmax) as its target",
                    "pass F.log_softmax as the target, or drop log_target=True")
        if target.activation == V.LOG_SOFTMAX and loss.log_target is False:
            return ("gets log-probabilities (log_softmax) as its target without log_target=True, so they are "
                    "read as probabilities", "pass `log_target=True`, or F.softmax as the target")
        return None

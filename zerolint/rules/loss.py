"""ZL1xx: the contract between what the model outputs and what the loss expects."""
from __future__ import annotations

from typing import Iterable, Optional

from ..model import SemanticModel, facts as F, values as V
from . import Report, Rule, register

_OUTPUT_WORDS = {
    V.LINEAR: "a Linear/conv layer with no activation (raw logits)",
    V.SIGMOID: "a sigmoid",
    V.SOFTMAX: "a softmax",
    V.LOG_SOFTMAX: "a log_softmax",
}


def loss_label(loss: V.Loss) -> str:
    name = loss.qualname.rsplit(".", 1)[-1]
    return f"F.{name}" if loss.functional else f"nn.{name}"


def producer(t: V.Tensor) -> str:
    if t.model is not None and t.model.name:
        return f"the output of `{t.model.name}`"
    return "its input"


def loss_events(model: SemanticModel, *families: str) -> Iterable[tuple[F.Event, V.Loss, object, object]]:
    for event in model.events(F.LOSS):
        loss = event.data["loss"]
        if loss.family in families:
            yield event, loss, event.data.get("input"), event.data.get("target")


@register
class BCEOnLogits(Rule):
    code = "ZL101"
    name = "bce-on-logits"
    summary = "BCELoss/binary_cross_entropy fed raw logits instead of probabilities"

    def check(self, model: SemanticModel) -> Iterable[Report]:
        for event, loss, inp, _ in loss_events(model, "bce"):
            if isinstance(inp, V.Tensor) and inp.activation == V.LINEAR:
                yield Report(event.node, (
                    f"{loss_label(loss)} is fed raw logits: {producer(inp)} ends in "
                    f"{_OUTPUT_WORDS[V.LINEAR]}, so the loss sees values outside [0, 1] and training "
                    "stalls or fails. Use nn.BCEWithLogitsLoss (F.binary_cross_entropy_with_logits) on "
                    "the logits, or apply torch.sigmoid before the loss."))


def _units(inp: object) -> Optional[int]:
    return inp.units if isinstance(inp, V.Tensor) else None


@register
class CrossEntropyTargetEncoding(Rule):
    code = "ZL104"
    name = "cross-entropy-target-encoding"
    summary = "cross-entropy targets in the wrong encoding (float-cast indices, integer one-hot, class count)"

    def check(self, model: SemanticModel) -> Iterable[Report]:
        for event, loss, inp, target in loss_events(model, "ce"):
            if not isinstance(target, V.Tensor):
                continue
            label = loss_label(loss)
            if target.encoding == V.INDICES and target.dtype == "float":
                yield Report(event.node, (
                    f"{label} gets class indices cast to float: float targets are read as class "
                    "probabilities of shape (N, C), so this raises a dtype/shape error or trains against "
                    "the wrong target. Pass the integer indices (`.long()`), not `.float()`."))
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

"""ZL3xx: evaluation code that runs with autograd on or with the model in training mode."""
from __future__ import annotations

from typing import Iterable

from ..model import SemanticModel, facts as F, regions
from . import Report, Rule, register

_WHERE = {
    "function": "in an evaluation function",
    "loop": "in a loop over an evaluation loader",
    "after-eval": "after model.eval()",
}


def _forwards(model: SemanticModel) -> Iterable[tuple[F.Event, str]]:
    for event in model.events(F.FORWARD):
        region = model.eval_region(event)
        if region is not None:
            yield event, region


@register
class EvalWithoutNoGrad(Rule):
    code = "ZL301"
    name = "eval-without-no-grad"
    severity = "warning"
    summary = "forward passes in evaluation run with autograd on"

    def check(self, model: SemanticModel) -> Iterable[Report]:
        seen = set()
        for event, region in _forwards(model):
            key = (event.function, event.loop)
            if key in seen or regions.is_grad_off(event):
                continue
            seen.add(key)
            yield Report(event.node, (
                f"forward pass {_WHERE[region]} runs with autograd on: every activation is kept for a "
                "backward pass that never comes, wasting memory and time. Wrap evaluation in "
                "`with torch.no_grad():` (or torch.inference_mode(), or decorate the function)."))


@register
class EvalWithoutModelEval(Rule):
    code = "ZL302"
    name = "eval-without-model-eval"
    summary = "evaluation of a model with Dropout/BatchNorm while it is in training mode"

    def check(self, model: SemanticModel) -> Iterable[Report]:
        seen = set()
        for event, region in _forwards(model):
            info = event.data.get("module")
            if region == "after-eval" or info is None or info.has_dropout_or_bn is not True:
                continue
            key = (event.function, event.loop)
            if key in seen or regions.mode_at(event, event) != "train":
                continue
            seen.add(key)
            name = f"`{info.name}`" if info.name else "the model"
            yield Report(event.node, (
                f"{name} is evaluated in training mode: it has Dropout/BatchNorm, which drop units and "
                "use batch statistics, so the reported accuracy is noisy and wrong. Call model.eval() "
                "before evaluating and model.train() before training again."))

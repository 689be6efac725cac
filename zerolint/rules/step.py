"""ZL2xx: the order of zero_grad, backward and step in a training iteration."""
from __future__ import annotations

from typing import Iterable

from ..model import SemanticModel, facts as F, regions
from . import Report, Rule, register, source


def _call(event: F.Event) -> str:
    """The step call as written, e.g. `scaler.step(optimizer)`."""
    text = source(event.node)
    return f"`{text}`" if len(text) <= 60 else "optimizer.step()"


@register
class MissingZeroGrad(Rule):
    code = "ZL201"
    name = "missing-zero-grad"
    summary = "optimizer.step() in a loop that never clears gradients"

    def check(self, model: SemanticModel) -> Iterable[Report]:
        for step in model.events(F.STEP):
            closure = step.data.get("closure")
            if closure is not None and any(e.kind == F.ZERO_GRAD for e in F.expand(closure.events)):
                continue
            for iteration in regions.iterations(step):
                if not any(item.kind == F.ZERO_GRAD for item in iteration):
                    yield Report(step.node, (
                        f"{_call(step)} runs in a loop that never clears gradients, so "
                        "every step applies the sum of all previous gradients and training diverges "
                        "or stalls. Call optimizer.zero_grad() once per iteration, before backward()."))
                    break


@register
class StepBeforeBackward(Rule):
    code = "ZL202"
    name = "step-before-backward"
    summary = "optimizer.step() before loss.backward() in the same iteration"

    def check(self, model: SemanticModel) -> Iterable[Report]:
        for step in model.events(F.STEP):
            if step.data.get("has_closure_arg") or step.conditional:
                continue
            for iteration in regions.iterations(step):
                at = regions.position(iteration, step)
                if at < 0 or iteration[at].conditional:
                    continue
                before = iteration[:at]
                after = iteration[at + 1:]
                if not any(i.kind == F.BACKWARD for i in before) and any(i.kind == F.BACKWARD for i in after):
                    yield Report(step.node, (
                        f"{_call(step)} runs before loss.backward() in the same iteration, "
                        "so it applies zero or stale gradients and the loss stays flat. Call "
                        "loss.backward() first, then optimizer.step()."))
                    break

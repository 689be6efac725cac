"""ZL3xx: evaluation code that runs with autograd on or with the model in training mode."""
from __future__ import annotations

from typing import Iterable

from ..model import SemanticModel, facts as F, regions, values as V
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


def _costly(event: F.Event) -> bool:
    """Does autograd here cost something that matters: a loop over batches, a routine that evaluates a
    data set, or a helper called from a loop? A one-sample `predict()` or a single forward printed after
    `model.eval()` keeps a graph for one input and frees it at once."""
    if event.loop is not None:
        return True
    fn = event.function
    if any(site.event.loop is not None for site in fn.call_sites):
        return True
    return bool(set(regions.tokens(fn.name)) & V.EVAL_ROUTINE_WORDS) and not fn.is_module


@register
class EvalWithoutNoGrad(Rule):
    code = "ZL301"

    def check(self, model: SemanticModel) -> Iterable[Report]:
        seen = set()
        for event, region in _forwards(model):
            key = (event.function, event.loop)
            if key in seen or regions.is_grad_off(event) or not _costly(event):
                continue
            seen.add(key)
            yield Report(event.node, (
                f"forward pass {_WHERE[region]} runs with autograd on: every activation is kept for a "
                "backward pass that never comes, wasting memory and time. Wrap evaluation in "
                "`with torch.no_grad():` (or torch.inference_mode(), or decorate the function)."))


@register
class EvalWithoutModelEval(Rule):
    code = "ZL302"

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


@register
class TrainModeNotRestored(Rule):
    code = "ZL303"

    def check(self, model: SemanticModel) -> Iterable[Report]:
        for fn in model.functions:
            for loop in fn.loops:
                events = F.expand(loop.events)
                kinds = [i.kind for i in events]
                if F.MODE_EVAL not in kinds or not (F.BACKWARD in kinds or F.STEP in kinds):
                    continue
                first_train = next(i for i, k in enumerate(kinds) if k in (F.BACKWARD, F.STEP))
                cyclic = events[first_train + 1:] + events[:first_train]
                last_mode = next((i for i in reversed(cyclic) if i.kind in (F.MODE_EVAL, F.MODE_TRAIN)), None)
                if last_mode is None or last_mode.kind != F.MODE_EVAL:
                    continue
                if last_mode.conditional and F.MODE_TRAIN in kinds:
                    continue  # `if phase == "train": model.train() else: model.eval()`: alternatives
                info = last_mode.event.data.get("module")
                if info is not None and info.has_dropout_or_bn is False:
                    continue
                node = last_mode.via[0].node if last_mode.via else last_mode.event.node
                yield Report(node, (
                    "the model is switched to eval mode inside the training loop and the next iteration "
                    "trains without calling model.train(): Dropout stays off and BatchNorm stops learning "
                    "its statistics for the rest of training. Call model.train() at the start of each "
                    "training epoch."))


@register
class EvalOnTrainingData(Rule):
    code = "ZL304"

    def check(self, model: SemanticModel) -> Iterable[Report]:
        for fn in model.functions:
            if not regions.is_eval_function(fn) or model.is_test_file:
                continue
            for loop in fn.loops:
                value = loop.iter_value
                if isinstance(value, V.Loader) and (value.role == "train" or value.dataset_role == "train"):
                    yield Report(loop.node.iter, (
                        f"`{fn.name}` evaluates on the training data (the loader passed in is the training "
                        "loader): the reported accuracy measures memorization, not generalization. Pass "
                        "the validation or test loader."))
        if not model.is_test_file:
            yield from self._loops_after_eval(model)
        for event in model.events(F.LOADER):
            loader = event.data["loader"]
            if loader.role == "eval" and loader.dataset_role == "train":
                yield Report(event.node, (
                    f"`{event.data['name']}` is an evaluation loader built on the training dataset: "
                    "evaluation measures memorization, not generalization. Build it on the validation/test "
                    "split (e.g. `train=False`)."))


    @staticmethod
    def _loops_after_eval(model: SemanticModel) -> Iterable[Report]:
        """A loop over the training loader, with no training in it, that evaluates after model.eval()."""
        for fn in model.functions:
            if regions.is_eval_function(fn):
                continue  # reported above, at the loop of the evaluation function
            for loop in fn.loops:
                value = loop.iter_value
                if not isinstance(value, V.Loader) or value.role != "train" or regions.has_training(loop.events):
                    continue
                forwards = [e for e in loop.events if e.kind == F.FORWARD]
                if forwards and model.eval_region(forwards[0]) == "after-eval":
                    yield Report(loop.node.iter, (
                        "this evaluation loop (after model.eval()) iterates the training loader: the "
                        "reported accuracy measures memorization, not generalization. Iterate the "
                        "validation or test loader."))


@register
class ArgmaxSingleLogit(Rule):
    code = "ZL305"

    def check(self, model: SemanticModel) -> Iterable[Report]:
        for event in model.events(F.ARGMAX):
            inp = event.data.get("input")
            if isinstance(inp, V.Tensor) and inp.units == 1 and inp.model is not None:
                yield Report(event.node, (
                    f"argmax over the output of `{inp.model.name}`, which has a single unit: the argmax "
                    "of one value is always 0, so every prediction is class 0 and accuracy is the share "
                    "of class 0. Threshold instead: `(logits > 0)` or `(torch.sigmoid(logits) > 0.5)`."))

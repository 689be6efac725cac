"""ZL3xx: evaluation code that runs with autograd on or with the model in training mode."""
from __future__ import annotations

from typing import Iterable, Optional

import libcst as cst

from ..model import SemanticModel, facts as F, labels, regions, values as V
from ..model.names import dotted, literal
from ..model.naming import role_of_name
from ..model.util import arg_node
from ..model.walk import descendants
from . import Report, Rule, register, source

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


_FLAG_PARAMS = {"train", "training", "is_train", "is_training", "train_mode", "do_train", "backprop", "update"}
_PHASE_PARAMS = {"mode", "phase", "split", "stage", "state"}


def _eval_flag(fn: F.FunctionFacts, site: F.CallSite) -> bool:
    """Is this call of a shared train/evaluate routine (`_run_epoch(loader, train=False)`,
    `run_epoch(loader, phase="val")`) the evaluation one: a training flag passed False, a phase named
    for evaluation?"""
    for param in fn.params:
        name = param.name.value
        index = _param_index(fn, name)
        if index is None:
            continue
        passed = arg_node(site.node, name, index)
        if passed is None:
            passed = param.default
        if passed is None:
            continue
        if name in _FLAG_PARAMS and isinstance(passed, cst.Name) and passed.value == "False":
            return True
        if name in _PHASE_PARAMS and isinstance(passed, cst.SimpleString) and \
                str(literal(passed)).lower() in V.EVAL_ROUTINE_WORDS:
            return True
    return False


def _switches(fn: F.FunctionFacts, kinds: tuple) -> bool:
    """Does the routine (or a helper it calls) switch the model's mode (``_MODE_KINDS``) or the grad mode
    (``F.GRAD_MODE``) itself, in any form: then it is written to evaluate, and its flag decides how."""
    return any(item.kind in kinds for item in F.expand(fn.events))


_MODE_KINDS = (F.MODE_TRAIN, F.MODE_EVAL, F.MODE_FLAG)


def _shared_routine_evals(model: SemanticModel) -> Iterable[tuple[F.CallSite, F.Event]]:
    """Calls that evaluate through a routine that also trains: `self._run_epoch(val_loader, train=False)`.
    The routine's own forward is training code (its loop steps the optimizer), so the evaluation is the
    call; yields (call site, first forward of the routine)."""
    if model.is_test_file:
        return
    for fn in model.functions:
        if not fn.call_sites or not regions.has_training(fn.events):
            continue
        forward = next((i.event for i in F.expand(fn.events) if i.kind == F.FORWARD), None)
        if forward is None:
            continue
        for site in fn.call_sites:
            if _eval_flag(fn, site):
                yield site, forward


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
        for site, forward in _shared_routine_evals(model):
            fn = forward.function
            if regions.is_grad_off(site.event) or forward.grad_off or _switches(fn, (F.GRAD_MODE,)) or \
                    fn.decorated_grad_off:
                continue
            yield Report(site.node, (
                f"`{fn.name}` evaluates here with autograd on: its forward passes keep every activation for "
                "a backward pass that never comes, wasting memory and time. Wrap the call in "
                "`with torch.no_grad():` (or disable gradients inside when the routine is not training)."))


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
        for site, forward in _shared_routine_evals(model):
            info = forward.data.get("module")
            fn = forward.function
            if info is None or info.has_dropout_or_bn is not True or _switches(fn, _MODE_KINDS) or \
                    regions.mode_at(site.event, forward) != "train":
                continue
            name = f"`{info.name}`" if info.name else "the model"
            yield Report(site.node, (
                f"`{fn.name}` evaluates {name} here in training mode: it has Dropout/BatchNorm, which drop "
                "units and use batch statistics, so the reported score is noisy and wrong. Call "
                "model.eval() before this call (or inside the routine when it is not training) and "
                "model.train() before training again."))


@register
class TrainModeNotRestored(Rule):
    code = "ZL303"

    def check(self, model: SemanticModel) -> Iterable[Report]:
        seen = set()
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
                node = last_mode.event.node  # the eval() call, also when a helper called from the loop makes it
                if node in seen:
                    continue
                seen.add(node)
                where = "inside the training loop"
                if last_mode.via:
                    call = source(last_mode.via[0].node)
                    call = call if len(call) <= 50 else "a call"
                    where = f"by `{call}` inside the training loop"
                yield Report(node, (
                    f"the model is switched to eval mode {where} and the next iteration "
                    "trains without calling model.train(): Dropout stays off and BatchNorm stops learning "
                    "its statistics for the rest of training. Call model.train() at the start of each "
                    "training epoch."))


def _training_dataset(value: object, text: Optional[str]) -> bool:
    if isinstance(value, V.Dataset):
        return value.train is True or value.train is None and role_of_name(text) == "train"
    if isinstance(value, V.Instance) and "__getitem__" in value.cls.methods:
        return role_of_name(text) == "train"
    return False


def _drawn_training_data(fn: F.FunctionFacts, loop: F.Loop) -> Optional[cst.CSTNode]:
    """The node of training data a loop reads without iterating it, `x, y = next(train_iter)` with
    `train_iter = iter(self.train_loader)`, or `self.train_set[i]`, when the loop accumulates a score
    over what it reads (`correct += ...`); None otherwise. Reading a few samples to show predictions
    is not an evaluation."""
    found = next((read for value, text, read in loop.draws
                  if _training_loader(value) or _training_dataset(value, text)), None)
    if found is None or not any(isinstance(n, cst.AugAssign) for n in _walk(loop.node.body)):
        return None
    return found


def _training_loader(value: object) -> bool:
    value = getattr(value, "inner", value)  # enumerate(loader)
    return isinstance(value, V.Loader) and (value.role == "train" or value.dataset_role == "train")


def _evaluates(model: SemanticModel, fn: F.FunctionFacts, loop: F.Loop) -> bool:
    """Does this loop (running no training) evaluate the model: in an evaluation function, after
    model.eval() or under no_grad, or computing an accuracy (argmax against the labels)?"""
    if regions.has_training(loop.events) or _peeks(loop):
        return False
    if regions.is_eval_function(fn):
        return True
    events = F.expand(loop.events)
    forwards = [i.event for i in events if i.kind == F.FORWARD]
    if not forwards:
        return False
    return model.eval_region(forwards[0]) is not None or regions.is_grad_off(forwards[0]) \
        or any(i.kind == F.ARGMAX for i in events)


def _peeks(loop: F.Loop) -> bool:
    """`for x in loader: ...; break`: one batch taken (to show some predictions), not a data set evaluated."""
    body = getattr(loop.node.body, "body", ())
    last = body[-1] if body else None
    return isinstance(last, cst.SimpleStatementLine) and any(isinstance(s, cst.Break) for s in last.body)


def _param_index(fn: F.FunctionFacts, name: str) -> Optional[int]:
    params = [p.name.value for p in fn.params]
    if fn.cls is not None and params and params[0] in ("self", "cls"):
        params = params[1:]
    return params.index(name) if name in params else None


@register
class EvalOnTrainingData(Rule):
    code = "ZL304"

    def check(self, model: SemanticModel) -> Iterable[Report]:
        if not model.is_test_file:
            yield from self._loops(model)
            yield from self._call_sites(model)
        for event in model.events(F.LOADER):
            loader = event.data["loader"]
            if loader.role == "eval" and loader.dataset_role == "train":
                yield Report(loader.site or event.node, (
                    f"`{event.data['name']}` is an evaluation loader built on the training dataset: "
                    "evaluation measures memorization, not generalization. Build it on the validation/test "
                    "split (e.g. `train=False`)."))

    @staticmethod
    def _loops(model: SemanticModel) -> Iterable[Report]:
        """An evaluation loop over the training loader named in place (`self.train_loader`, a global): the
        loop is the line to fix. A loader received as a parameter is judged where the caller passes it."""
        for fn in model.functions:
            for loop in fn.loops:
                drawn = _drawn_training_data(fn, loop)
                if not (_training_loader(loop.iter_value) or drawn) or not _evaluates(model, fn, loop):
                    continue
                iterated = getattr(loop.iter_value, "inner", loop.iter_value)
                if drawn is None and iterated.role == "eval" and iterated.dataset_role == "train" and \
                        iterated.site is not None:
                    continue  # `test_loader = get_loader("train")`: reported where the split is asked for
                read = dotted(drawn.args[0].value if isinstance(drawn, cst.Call) else drawn.value) \
                    if drawn is not None else loop.iter_text
                if read is not None and _param_index(fn, read) is not None:
                    continue  # a parameter: judged where the caller passes it
                if not regions.is_eval_function(fn) and _loop_reported_role(model, fn, loop) == "train":
                    continue  # training accuracy measured after the epoch and reported as such
                where = f"`{fn.name}`" if regions.is_eval_function(fn) else "this evaluation loop"
                what = "reads the training data" if drawn is not None else "iterates the training loader"
                yield Report(drawn if drawn is not None else loop.node.iter, (
                    f"{where} {what}: the reported accuracy measures memorization, "
                    "not generalization. Iterate the validation or test loader."))

    @staticmethod
    def _call_sites(model: SemanticModel) -> Iterable[Report]:
        """An evaluation helper (`evaluate(model, loader)`, `compute_accuracy(model, loader)`) called with
        the training loader and reported as a validation/test score: reported at the call. A helper that
        hands its own parameter on (`validate(loader)` calling `run_validate(loader)`) is judged where
        it is called in turn."""
        helpers = _evaluating_params(model)
        for fn, params in helpers.items():
            named_eval = regions.is_eval_function(fn) or any(
                regions.is_eval_function(callee) for callee in _callees(helpers, fn))
            for site in fn.call_sites:
                for name, index in params:
                    passed = arg_node(site.node, name, index)
                    if isinstance(passed, cst.Name) and any(
                            p == passed.value for p, _ in helpers.get(site.caller, ())):
                        continue  # the caller's own parameter: judged at the caller's call sites
                    value = site.kwargs.get(name) if name in site.kwargs else \
                        site.args[index] if index < len(site.args) else None
                    if isinstance(value, (V.Dataset, V.Instance)) and _training_dataset(value, dotted(passed)):
                        pass  # a training dataset indexed by the helper
                    elif not _training_loader(value) or getattr(value, "inner", value).role == "eval":
                        continue  # an evaluation loader on training data is reported where it is built
                    root = site.caller.node if site.caller.node is not None else model.module
                    role = labels.reported_role(root, site.node)
                    if role == "train" or role is None and (not named_eval or _beside_eval(root, site, fn)):
                        continue
                    yield Report(site.node, (
                        f"`{fn.name}` is given the training loader here and its result is reported as "
                        "evaluation: the accuracy measures memorization, not generalization. Pass the "
                        "validation or test loader."))
                    break


def _evaluating_params(model: SemanticModel) -> dict:
    """function -> {(parameter, positional index)} of the loaders it evaluates, directly (a loop over the
    parameter) or by passing the parameter to such a function (up to three levels of helpers)."""
    helpers: dict = {}
    for fn in model.functions:
        for loop in fn.loops:
            index = _param_index(fn, loop.iter_text) if loop.iter_text else None
            if index is not None and _evaluates(model, fn, loop):
                helpers.setdefault(fn, set()).add((loop.iter_text, index))
            for name in {text for _, text, _ in loop.draws if text and "." not in text}:  # dataset[i]
                index = _param_index(fn, name)
                if index is not None and _evaluates(model, fn, loop) and \
                        any(isinstance(n, cst.AugAssign) for n in _walk(loop.node.body)):
                    helpers.setdefault(fn, set()).add((name, index))
        for name in fn.comprehension_iters:  # sum(... for x, y in loader)
            index = _param_index(fn, name)
            forwards = [e for e in fn.events if e.kind == F.FORWARD]
            if index is not None and forwards and not regions.has_training(fn.events) and (
                    regions.is_eval_function(fn) or model.eval_region(forwards[0]) is not None
                    or regions.is_grad_off(forwards[0])):
                helpers.setdefault(fn, set()).add((name, index))
    frontier = dict(helpers)
    for _ in range(3):
        added: dict = {}
        for fn, params in frontier.items():
            for site in fn.call_sites:
                caller = site.caller
                for name, index in params:
                    passed = arg_node(site.node, name, index)
                    caller_index = _param_index(caller, passed.value) if isinstance(passed, cst.Name) \
                        and not caller.is_module else None
                    if caller_index is not None and (passed.value, caller_index) not in helpers.get(caller, ()):
                        helpers.setdefault(caller, set()).add((passed.value, caller_index))
                        added.setdefault(caller, set()).add((passed.value, caller_index))
        if not added:
            break
        frontier = added
    return helpers


def _callees(helpers: dict, fn: F.FunctionFacts) -> list:
    return [callee for callee in helpers if any(site.caller is fn for site in callee.call_sites)]


def _beside_eval(root, site: F.CallSite, fn: F.FunctionFacts) -> bool:
    """`print(evaluate(m, train_loader), evaluate(m, val_loader))`: a training score next to a held-out one."""
    found = labels.statement_of(root, site.node)
    if found is None:
        return False
    stmt = found[0]
    for other in fn.call_sites:
        if other is not site and labels.label_of(stmt, other.node) is not None and any(
                isinstance(v, V.Loader) and v.role == "eval" for v in (*other.args, *other.kwargs.values())):
            return True
    return False


def _loop_reported_role(model: SemanticModel, fn: F.FunctionFacts, loop: F.Loop) -> Optional[str]:
    """What the totals a loop accumulates are reported as: `train_correct += ...`, or the statements after
    the loop that print them."""
    names = set()
    for node in _walk(loop.node.body):
        if isinstance(node, cst.AugAssign) and isinstance(node.target, cst.Name):
            names.add(node.target.value)
    roles = {role_of_name(n) for n in names} - {None}
    if len(roles) == 1:
        return roles.pop()
    root = fn.node if fn.node is not None else model.module
    found = labels.statement_of(root, loop.node)
    if found is None:
        return None
    _, block, index = found
    for later in block[index + 1: index + 9]:
        for name in names:
            for use in labels._uses(later, name):
                role = role_of_name(labels.label_of(later, use) or "")
                if role is not None:
                    return role
    return None


def _walk(node: cst.CSTNode) -> Iterable[cst.CSTNode]:
    return descendants(node)  # unordered: the callers collect sets


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

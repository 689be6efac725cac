"""ZL2xx: the order of zero_grad, backward and step in a training iteration."""
from __future__ import annotations

from typing import Iterable

from ..model import SemanticModel, facts as F, libs, regions, values as V
from ..model.reach import reaches as graph_reaches
from . import Report, Rule, register, source


def _call(event: F.Event) -> str:
    """The step call as written, e.g. `scaler.step(optimizer)`."""
    text = source(event.node)
    return f"`{text}`" if len(text) <= 60 else "optimizer.step()"


def _runs_in(method: F.FunctionFacts | None) -> str:
    """Where a step repeats, up to the clause that says what the iteration does: a loop, or a method the
    framework calls once per batch (Lightning's training_step under manual optimization)."""
    if method is None:
        return "runs in a loop that"
    return f"runs in `{method.name}`, which Lightning calls once per batch and which"


def _related(a: str, b: str) -> bool:
    """Is one module, as written, the other or inside it (`model` and `model.encoder`)?"""
    a, b = a.split("."), b.split(".")
    n = min(len(a), len(b))
    return a[:n] == b[:n] or a[-1] == b[-1]


def _clears_for(clear: F.Event, step: F.Event, iteration: list) -> bool:
    """Does this clear cover the parameters of the optimizer stepped by ``step``?

    Unknown ownership on either side counts as covered (the whole-iteration view). A known clear is
    ruled out only when it clears another optimizer's parameters: it is that optimizer's own
    zero_grad(), or a module that optimizer (stepped in the same iteration) owns, sharing none of
    ``step``'s modules.
    """
    owns, covers = step.data.get("owns"), clear.data.get("covers")
    if owns is None or covers is None:
        return True
    if clear.data.get("optimizer") and clear.data["optimizer"] == step.data.get("optimizer"):
        return True
    if covers & owns or any(_related(a, b) for a in clear.data.get("texts", ())
                            for b in step.data.get("texts", ())):
        return True
    others = [i.event.data.get("owns") for i in iteration if i.kind == F.STEP and i.event is not step]
    return not any(other is not None and covers <= other and not other & owns for other in others)


@register
class MissingZeroGrad(Rule):
    code = "ZL201"

    def check(self, model: SemanticModel) -> Iterable[Report]:
        for step in model.events(F.STEP):
            closure = step.data.get("closure")
            if closure is not None and any(e.kind == F.ZERO_GRAD for e in F.expand(closure.events)):
                continue
            for iteration, method in regions.iterations_by(step):
                clears = [item.event for item in iteration if item.kind == F.ZERO_GRAD]
                if not clears:
                    yield Report(step.node, (
                        f"{_call(step)} {_runs_in(method)} never clears gradients, so "
                        "every step applies the sum of all previous gradients and training diverges "
                        "or stalls. Call optimizer.zero_grad() once per iteration, before backward()."))
                    break
                if not any(_clears_for(clear, step, iteration) for clear in clears):
                    yield Report(step.node, (
                        f"{_call(step)} {_runs_in(method)} clears the gradients of the other "
                        "optimizer's parameters but never its own, so every step applies the sum of all "
                        "previous gradients and that model diverges or stalls. Call "
                        f"`{step.data.get('optimizer') or 'optimizer'}.zero_grad()` once per iteration, "
                        "before its backward()."))
                    break


@register
class StepBeforeBackward(Rule):
    code = "ZL202"

    def check(self, model: SemanticModel) -> Iterable[Report]:
        for step in model.events(F.STEP):
            if step.data.get("has_closure_arg") or step.conditional:
                continue
            for iteration in regions.iterations(step):
                at = regions.position(iteration, step)
                if at < 0 or iteration[at].conditional:
                    continue
                before = [i.event for i in iteration[:at] if i.kind == F.BACKWARD]
                after = [i.event for i in iteration[at + 1:] if i.kind == F.BACKWARD]
                if not before and after:
                    yield Report(step.node, (
                        f"{_call(step)} runs before loss.backward() in the same iteration, "
                        "so it applies zero or stale gradients and the loss stays flat. Call "
                        "loss.backward() first, then optimizer.step()."))
                    break
                # several losses: the backward() before reaches other models only (or its gradients on this
                # optimizer's parameters are cleared before the step), the one after reaches this one's
                own = _own_backward_after(step, iteration, at)
                if before and own is not None:
                    loss = own.data.get("receiver")
                    yield Report(step.node, (
                        f"{_call(step)} runs before the backward() of the loss that reaches its parameters"
                        f"{f' (`{loss}`)' if loss else ''}; the backward() before it leaves this optimizer no "
                        "gradients (it reaches only the other model's parameters, or they are cleared before the "
                        "step), so this step applies zero or stale gradients and that model does not learn. "
                        "Backpropagate its loss first, then step."))
                    break


def _own_backward_after(step: F.Event, iteration: list, at: int) -> F.Event | None:
    """The backward() after ``step`` (at position ``at``) of a loss that reaches its parameters, when every
    backward() before the step leaves it no gradients: it is known to reach other models only, or a clear of
    this optimizer's parameters follows it before the step (a GAN's D step placed before D's own backward)."""
    own = next((i.event for i in iteration[at + 1:] if i.kind == F.BACKWARD
                and regions.reaches(i.event, step) is True), None)
    if own is None:
        return None
    for k, item in enumerate(iteration[:at]):
        if item.kind != F.BACKWARD:
            continue
        if item.event.data.get("reach") and regions.reaches(item.event, step) is False:
            continue
        if not any(i.kind == F.ZERO_GRAD and not i.conditional and _clears_for(i.event, step, iteration)
                   for i in iteration[k + 1:at]):
            return None
    return own


def _receiver(event: F.Event) -> str | None:
    text = source(event.node)
    return text.rsplit(".", 1)[0] if "." in text else None


@register
class ZeroGradAfterBackward(Rule):
    code = "ZL203"

    def check(self, model: SemanticModel) -> Iterable[Report]:
        for clear in model.events(F.ZERO_GRAD):
            owner = _receiver(clear)
            for iteration in regions.iterations(clear):
                at = regions.position(iteration, clear)
                if at < 0:
                    continue
                before = [i.event for i in iteration[:at] if i.kind == F.BACKWARD]
                following = iteration[at + 1:]
                next_step = next((i for i in following if i.kind in (F.STEP, F.BACKWARD)), None)
                if next_step is not None and next_step.kind == F.STEP and _premature(next_step, iteration):
                    continue  # the step comes before its own loss's backward(): that is ZL202's one finding
                if next_step is not None and next_step.kind == F.STEP \
                        and any(regions.reaches(b, next_step.event) is not False for b in before) \
                        and not regions.leaves_after(clear) and (owner and next_step.event.data.get("optimizer") == owner
                             or _module_clear_of(clear, next_step.event)):
                    yield Report(clear.node, (
                        f"`{source(clear.node)}` runs after loss.backward() and before "
                        f"`{source(next_step.event.node)}`: the step applies zero gradients and the loss "
                        "stays flat. Clear gradients at the start of the iteration (or after step())."))
                    break


def _premature(item, iteration: list) -> bool:
    """Is this step (an item of ``iteration``) reported by ZL202's several-losses case?"""
    step = item.event
    if step.data.get("has_closure_arg") or step.conditional or item.conditional:
        return False
    at = regions.position(iteration, step)
    return at >= 0 and any(i.kind == F.BACKWARD for i in iteration[:at]) and \
        _own_backward_after(step, iteration, at) is not None


def _module_clear_of(clear: F.Event, step: F.Event) -> bool:
    """`netG.zero_grad()` where the stepped optimizer owns netG (known ownership, same name)."""
    covers, owns = clear.data.get("covers"), step.data.get("owns")
    if clear.data.get("optimizer") is not None or not covers or not owns or not covers & owns:
        return False
    names = {t.rsplit(".", 1)[-1] for t in step.data.get("texts", ())}
    return any(t.rsplit(".", 1)[-1] in names for t in clear.data.get("texts", ()))


@register
class MissingBackwardOrStep(Rule):
    code = "ZL204"

    def check(self, model: SemanticModel) -> Iterable[Report]:
        for step in model.events(F.STEP):
            if step.data.get("has_closure_arg"):
                continue
            for iteration, method in regions.iterations_by(step):
                kinds = {i.kind for i in iteration}
                if F.LOSS in kinds and F.BACKWARD not in kinds:
                    yield Report(step.node, (
                        f"{_call(step)} {_runs_in(method)} computes a loss but never calls backward(): "
                        "no gradients are computed, so the step changes nothing and the loss stays flat. "
                        "Call loss.backward() before the step."))
                    break
                if not step.conditional and _unreached(step, iteration):
                    yield Report(step.node, (
                        f"{_call(step)} steps an optimizer whose parameters no backward() in this iteration "
                        "reaches: the losses backpropagated here are computed from other models (or detached "
                        "from this one), so its gradients stay zero and this model never learns. "
                        "Backpropagate its own loss (or a sum of the losses) before the step."))
                    break
        for fn in model.functions:
            if not _creates_optimizer(fn):
                continue
            for loop in fn.loops:
                if loop.parent is not None:
                    continue
                events = F.expand(loop.events)
                kinds = {i.kind for i in events}
                if F.BACKWARD in kinds and F.STEP not in kinds and F.MANUAL_UPDATE not in kinds \
                        and F.OPTIMIZER_NEW not in kinds and not _stepped_elsewhere(fn):
                    backward = next(i for i in events if i.kind == F.BACKWARD)
                    if backward.event.data.get("manual") or backward.grad_off:
                        continue
                    yield Report(backward.event.node, (
                        "this training loop calls backward() but never steps an optimizer: gradients are "
                        "computed and thrown away, so the weights never change. Call optimizer.step() "
                        "(and zero_grad()) in the loop."))
        yield from _per_batch_backward_without_step(model)


def _per_batch_backward_without_step(model: SemanticModel) -> Iterable[Report]:
    """A method the framework calls once per batch (Lightning's manual training_step) that backpropagates
    while no method of its class ever steps an optimizer."""
    seen: set = set()
    for fn in model.functions:
        if not fn.per_batch or fn.call_sites or id(fn.per_batch) in seen:
            continue
        seen.add(id(fn.per_batch))
        events = regions.per_batch_iteration(fn)
        backward = next((i for i in events if i.kind == F.BACKWARD and not i.grad_off
                         and not i.event.data.get("manual")), None)
        if backward is None or any(i.kind in (F.STEP, F.MANUAL_UPDATE) for i in events):
            continue
        methods = fn.cls.methods.values() if fn.cls is not None else ()
        if any(i.kind in (F.STEP, F.MANUAL_UPDATE) for m in methods for i in F.expand(m.events)):
            continue
        yield Report(backward.event.node, (
            f"`{fn.name}` backpropagates (`{source(backward.event.node)}`) but no optimizer is ever stepped: "
            "under manual optimization the gradients are computed and thrown away, so the weights never "
            "change. Call `opt.step()` (and `opt.zero_grad()`) after the backward."))


def _unreached(step: F.Event, iteration: list) -> bool:
    """Every backward of the iteration is known to reach other modules' parameters only (none is unknown)."""
    backwards = [i.event for i in iteration if i.kind == F.BACKWARD]
    return bool(backwards) and bool(step.data.get("params")) and all(
        b.data.get("reach") and regions.reaches(b, step) is False for b in backwards)


def _creates_optimizer(fn: F.FunctionFacts, depth: int = 3) -> bool:
    """Is an optimizer built in this function or in one that (transitively) calls it?"""
    if any(i.kind == F.OPTIMIZER_NEW for i in F.expand(fn.events)):
        return True
    return depth > 0 and any(_creates_optimizer(site.caller, depth - 1) for site in fn.call_sites)


def _stepped_elsewhere(fn: F.FunctionFacts, depth: int = 3) -> bool:
    """Is there a step around the calls of this function (a per-batch helper, a micro-step loop)?"""
    if any(i.kind in (F.STEP, F.MANUAL_UPDATE) for i in F.expand(fn.events)):
        return True
    if depth == 0:
        return False
    for site in fn.call_sites:
        if _stepped_elsewhere(site.caller, depth - 1):
            return True
    return False


@register
class ClipGradMisplaced(Rule):
    code = "ZL205"

    def check(self, model: SemanticModel) -> Iterable[Report]:
        for clip in model.events(F.CLIP):
            for iteration in regions.iterations(clip):
                at = regions.position(iteration, clip)
                order = [i.kind for i in iteration if i.kind in (F.BACKWARD, F.STEP)]
                if at < 0 or F.STEP not in order or F.BACKWARD not in order:
                    continue
                prev = next((i.kind for i in reversed(iteration[:at]) if i.kind in (F.BACKWARD, F.STEP)), None)
                nxt = next((i.kind for i in iteration[at + 1:] if i.kind in (F.BACKWARD, F.STEP)), None)
                where = "before backward()" if prev is None and nxt == F.BACKWARD else \
                    "after step()" if prev == F.STEP else None
                if where:
                    yield Report(clip.node, (
                        f"gradient clipping runs {where}: it clips gradients that are then overwritten "
                        "or were already applied, so exploding gradients are not contained. Clip between "
                        "loss.backward() and optimizer.step() (after scaler.unscale_ with AMP)."))
                    break


@register
class SchedulerBeforeOptimizer(Rule):
    code = "ZL206"

    def check(self, model: SemanticModel) -> Iterable[Report]:
        for sched in model.events(F.SCHEDULER_STEP):
            if sched.conditional:
                continue
            for iteration in regions.iterations(sched):
                at = regions.position(iteration, sched)
                if at < 0 or iteration[at].conditional:
                    continue
                before = any(i.kind == F.STEP for i in iteration[:at])
                after = any(i.kind == F.STEP and not i.conditional for i in iteration[at + 1:])
                if not after or before:
                    continue
                yield Report(sched.node, (
                    f"`{source(sched.node)}` runs before optimizer.step() in the same iteration: the first "
                    "learning rate of the schedule is skipped and every later one is off by a step. Call "
                    "scheduler.step() after optimizer.step()."))
                break


@register
class LossAccumulatedWithGraph(Rule):
    code = "ZL207"

    def check(self, model: SemanticModel) -> Iterable[Report]:
        for event in model.events(F.ACCUMULATE):
            if event.grad_off:
                continue
            name = event.data["target"]
            fn = event.function
            if event.data.get("attribute") and _backpropagated_by_its_class(fn, name):
                continue  # `self.acc += loss` ... `self.acc.backward()`: accumulated for one backward
            if event.loop is None:
                if event.data.get("attribute") and fn.batch_method:
                    yield Report(event.node, (
                        f"`{source(event.node)}` adds a loss tensor that still holds its autograd graph to the "
                        f"module's state: `{fn.name}` runs once per batch, so every batch's graph stays in memory "
                        "until the run slows down or runs out of memory. Accumulate `loss.item()` (or "
                        "`loss.detach()`) instead, or log the loss with `self.log`."))
                continue
            appended = event.data.get("appended")
            if appended is not None and not any(e.kind == F.BACKWARD and e.data.get("receiver") == appended
                                                for e in event.loop.events):
                continue  # losses.append(loss) with no loss.backward() here: kept for a later backward over them
            if (appended is None and name in fn.returned_names) or any(
                    e.kind == F.BACKWARD and e.data.get("receiver") == name for e in fn.events):
                continue
            init_loops = set(event.data["init_loop"].ancestors()) if event.data.get("init_loop") else set()
            across = [loop for loop in event.loop.ancestors() if loop not in init_loops]
            if not any(regions.has_training(loop.events) for loop in across):
                continue  # a per-iteration sum (reset inside the training loop), not a running total
            if appended is not None:
                yield Report(event.node, (
                    f"`{source(event.node)}` keeps a loss tensor that still holds its autograd graph in a list "
                    "that lives across iterations: every iteration's graph stays in memory until the run slows "
                    f"down or runs out of memory. Append `{appended}.item()` (or `{appended}.detach()`) instead."))
                continue
            yield Report(event.node, (
                f"`{source(event.node)}` adds a loss tensor that still holds its autograd graph to a "
                "running total: every iteration's graph stays in memory until the run slows down or "
                "runs out of memory. Accumulate `loss.item()` (or `loss.detach()`) instead."))


def _backpropagated_by_its_class(fn: F.FunctionFacts, name: str) -> bool:
    """Is ``self.<x>`` backpropagated in a method of the same class (or in this function)?"""
    methods = fn.cls.methods.values() if fn.cls is not None else (fn,)
    return any(e.kind == F.BACKWARD and e.data.get("receiver") == name for m in methods for e in m.events)


@register
class OptimizerInLoop(Rule):
    code = "ZL208"

    def check(self, model: SemanticModel) -> Iterable[Report]:
        reported = set()
        for step in model.events(F.STEP):
            for iteration in regions.iterations(step):
                for item in iteration:
                    if item.kind == F.OPTIMIZER_NEW and not item.conditional and id(item.event) not in reported:
                        node = item.via[0].node if item.via else item.event.node
                        reported.add(id(item.event))
                        yield Report(node, (
                            "the optimizer is constructed inside the training loop: its momentum/Adam "
                            "state resets every iteration, so it behaves like plain SGD with a warm-up "
                            "that never ends. Construct it once, before the loop."))


_LR_FLOOR = 1e-7


@register
class ImplausibleLearningRate(Rule):
    code = "ZL209"

    def check(self, model: SemanticModel) -> Iterable[Report]:
        driven_by_hand = any(True for _ in model.events(F.LR_SET)) or any(
            libs.is_scheduler_class(model.imports.resolve(base))
            for cls in model.classes for base in cls.bases)  # a scheduler of its own computes the lr
        # A summed loss scales the gradient by the batch (and element) count: a tiny lr is then correct, for the
        # optimizer whose parameters that loss reaches (any, when the reach or the ownership is unknown).
        summed = [e.data.get("reach") for e in model.events(F.LOSS)
                  if isinstance(e.data.get("loss"), V.Loss) and e.data["loss"].reduction == "sum"]
        for event in model.events(F.OPTIMIZER_NEW):
            opt = event.data["optimizer"]
            name = opt.qualname.rsplit(".", 1)[-1]
            lr = opt.lr
            if not isinstance(lr, (int, float)) or isinstance(lr, bool):
                continue
            if event.data.get("lr_from_cli") and event.conditional:
                continue  # a --lr default shared by several optimizers, each chosen by another flag
            if lr <= _LR_FLOOR and not driven_by_hand and not any(
                    graph_reaches(reach, opt.params) is not False for reach in summed):
                yield Report(event.node, (
                    f"{name} with learning rate {lr:g}: updates this small leave the weights unchanged "
                    "and the loss flat. Typical values are 1e-4 to 1e-2 (Adam) or 0.01 to 0.1 (SGD)."))
            elif event.data.get("prompt_learning") and lr <= 1:
                continue  # soft prompts / prefixes train at rates up to 1 (prompt tuning's documented practice)
            elif name in V.ADAPTIVE_OPTIMIZERS and lr >= 0.1 or name == "Adagrad" and lr >= 1:
                severity = "error" if lr >= 1 else "warning"
                yield Report(event.node, (
                    f"{name} with learning rate {lr:g}: adaptive optimizers normalize the step size, so "
                    "this moves every weight by about the learning rate per step; training diverges and "
                    "accuracy collapses. Use about 1e-3 (1e-5 to 5e-5 for fine-tuning)."), severity)

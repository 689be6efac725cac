"""Turn a run's observations into confirmations of static findings and runtime-only ZL9xx findings.

Runs in the linter's process: plain data in, Findings out, no torch.
"""
from __future__ import annotations

import os
import re
from dataclasses import replace
from typing import Callable, Optional

from ..codes import RUNTIME_RULES  # noqa: F401 - re-exported for confirm's callers
from ..diagnostic import Finding
from .runner import RunResult

CONFIRMED, REFUTED, UNREACHED = "confirmed", "refuted", "unreached"
#: The finding's line ran, but the run did not show what its check observes (an optimizer built and never
#: stepped in the capped loops, one addition where two are needed, ...): neither confirmed nor refuted, and
#: not ``unreached``, which is kept for lines that did not run.
INCONCLUSIVE = "inconclusive"


#: Crash signatures: a regex over the error (``Type: message``) -> the static code whose bug it is.
#: A crash that matches confirms that code's finding (or becomes a finding of that code when static
#: analysis missed it); any other crash of the user's code is ZL910.
CRASH_SIGNATURES: list = [
    (r"stack expects each tensor to be equal size|Sizes of tensors must match except in dimension"
     r"|each element in list of batch should be of equal size", "ZL401"),
    (r"expected scalar type Long but found Float|expected scalar type Long|"
     r"Expected floating point type for target with class probabilities|"
     r"\"nll_loss.*\" not implemented for 'Float'|multi-target not supported|"
     r"0D or 1D target tensor expected|Expected target size|expected target dtype to be Long", "ZL104"),
    (r"Target \d+ is out of bounds|IndexError: Target .* out of bounds|"
     r"device-side assert triggered", "ZL106"),
    (r"all elements of input should be between 0 and 1", "ZL101"),
    (r"all elements of target should be between 0 and 1", "ZL105"),
    (r"Target size \(.*\) must be the same as input size", "ZL108"),
    (r"element 0 of tensors does not require grad and does not have a grad_fn", "ZL204"),
    (r"Trying to backward through the graph a second time", "ZL207"),
]
_UNREACHED_ERRORS = ("ModuleNotFoundError", "FileNotFoundError", "KeyboardInterrupt")
_LINEAR_OPS = ("Addmm", "Mm", "Mv", "Bmm", "Linear", "Convolution", "Add", "Sub", "Mul", "Matmul", "Baddbmm")
_PROBABILITY_OPS = ("Sigmoid", "Softmax", "Clamp", "Hardsigmoid")

Verdict = Optional[tuple]  # (status, evidence) or None when the line was not observed


def _by_line(observations: dict, key: str) -> dict:
    return {item.get("line"): item for item in observations.get(key, []) if item.get("line")}


def _fmt(value: Optional[float]) -> str:
    return "?" if value is None else f"{value:.3g}"


def _zl101(obs: dict, line: int) -> Verdict:
    entry = _by_line(obs, "losses").get(line)
    if entry is None or entry.get("function") != "binary_cross_entropy":
        return None
    lo, hi = entry.get("min"), entry.get("max")
    span = f"[{_fmt(lo)}, {_fmt(hi)}]"
    raised = f"; torch raised: {entry['error']}" if entry.get("error") else ""
    producers = entry.get("producers", [])
    if lo is not None and (lo < 0 or hi > 1):
        return CONFIRMED, f"{entry['kind']} received inputs in {span}{raised}"
    if entry.get("error") and "between 0 and 1" in entry["error"]:
        return CONFIRMED, f"{entry['kind']} rejected its inputs{raised}"
    if producers and all(any(op in p for op in _LINEAR_OPS) for p in producers):
        return CONFIRMED, (f"{entry['kind']} received raw outputs of {producers[0]} (no sigmoid), "
                           f"in {span} so far")
    if producers and all(any(op in p for op in _PROBABILITY_OPS) for p in producers):
        return REFUTED, f"{entry['kind']} received probabilities from {producers[0]}, in {span}"
    return REFUTED, f"{entry['kind']} inputs stayed in {span} over {entry['calls']} calls"


def _zl104(obs: dict, line: int) -> Verdict:
    entry = _by_line(obs, "losses").get(line)
    if entry is None or entry.get("function") not in ("cross_entropy", "nll_loss"):
        return None
    if entry.get("error"):
        return CONFIRMED, f"{entry['kind']} raised {entry['error']}"
    dtype, shape = entry.get("target_dtype"), entry.get("target_shape")
    if entry.get("float_class_indices"):
        lo, hi = entry.get("target_range", [None, None])
        return CONFIRMED, (f"{entry['kind']} received {dtype} targets of shape {shape} holding class "
                           f"indices {_fmt(lo)}..{_fmt(hi)}, read as probabilities")
    return REFUTED, f"{entry['kind']} received {dtype} targets of shape {shape}, a valid encoding"


def _zl201(obs: dict, line: int) -> Verdict:
    entry = _by_line(obs, "steps").get(line)
    if entry is None:
        return None
    if entry.get("stale"):
        before, after = entry["stale"]
        return CONFIRMED, (f"gradients were not cleared after a step: the next backward() added to the "
                           f"gradient the step had already applied (norm {before:.3g}, "
                           f"{after:.3g} after accumulating)")
    if entry["calls"] >= 2:
        return REFUTED, f"gradients were cleared between all {entry['calls']} steps"
    return UNREACHED, "the step ran only once; two are needed to see gradients accumulate"


def _zl202(obs: dict, line: int) -> Verdict:
    entry = _by_line(obs, "steps").get(line)
    if entry is None:
        return None
    name, calls = entry["optimizer"], entry["calls"]
    checked = entry.get("changed", 0) + entry.get("unchanged", 0)
    unchanged = f"; parameters unchanged by the first {checked} steps" \
        if checked and not entry.get("changed") else ""
    if entry.get("without_grad"):
        return CONFIRMED, (f"`{name}.step()` found no gradients in {entry['without_grad']} of {calls} "
                           f"steps (backward() had not run yet){unchanged}")
    if entry.get("before_backward"):
        return CONFIRMED, (f"`{name}.step()` ran with no backward() since the previous step in "
                           f"{entry['before_backward']} of {calls} steps{unchanged}")
    return REFUTED, f"each of the {calls} steps had fresh gradients from a backward()"


def _zl301(obs: dict, line: int) -> Verdict:
    entry = _by_line(obs, "forwards").get(line)
    if entry is None:
        return None
    total = entry["grad_on"] + entry["grad_off"]
    if entry["grad_on"]:
        return CONFIRMED, (f"`{entry['module']}` ran with autograd enabled in {entry['grad_on']} of "
                           f"{total} forwards here")
    return REFUTED, f"`{entry['module']}` ran with autograd disabled in all {total} forwards here"


def _zl302(obs: dict, line: int) -> Verdict:
    entry = _by_line(obs, "forwards").get(line)
    if entry is None:
        return None
    total = entry["training"] + entry["eval"]
    if entry["training"]:
        return CONFIRMED, (f"`{entry['module']}` had module.training=True in {entry['training']} of "
                           f"{total} forwards here")
    return REFUTED, f"`{entry['module']}` was in eval mode in all {total} forwards here"


def _zl401(obs: dict, line: int) -> Verdict:
    errors = _by_line(obs, "stack_errors")
    if line in errors:
        return CONFIRMED, f"torch.stack raised {errors[line]['message']}"
    ok = _by_line(obs, "stack_ok").get(line)
    if ok:
        return REFUTED, f"torch.stack succeeded in all {ok['calls']} calls here"
    return None


def _loss_entry(obs: dict, line: int, *functions: str) -> Optional[dict]:
    entry = _by_line(obs, "losses").get(line)
    return entry if entry is not None and entry.get("function") in functions else None


def _zl102(obs: dict, line: int) -> Verdict:
    entry = _loss_entry(obs, line, "binary_cross_entropy_with_logits")
    if entry is None or entry.get("min") is None:
        return None
    producers = entry.get("producers", [])
    if any("Sigmoid" in p for p in producers) or 0 <= entry["min"] and entry["max"] <= 1:
        return CONFIRMED, (f"{entry['kind']} received values in [{_fmt(entry['min'])}, {_fmt(entry['max'])}]"
                           + (f" from {producers[0]}" if producers else "") + ": already probabilities")
    return REFUTED, f"{entry['kind']} received logits in [{_fmt(entry['min'])}, {_fmt(entry['max'])}]"


def _zl103(obs: dict, line: int) -> Verdict:
    entry = _loss_entry(obs, line, "cross_entropy")
    if entry is None or not entry.get("producers"):
        return None
    producer = entry["producers"][0]
    if "Softmax" in producer:
        return CONFIRMED, f"{entry['kind']} received the output of {producer}"
    return REFUTED, f"{entry['kind']} received the output of {producer}, not a softmax"


def _zl105(obs: dict, line: int) -> Verdict:
    entry = _loss_entry(obs, line, "binary_cross_entropy", "binary_cross_entropy_with_logits")
    if entry is None or entry.get("target_range") is None:
        return None
    lo, hi = entry["target_range"]
    span = f"[{_fmt(lo)}, {_fmt(hi)}]"
    if lo < 0 or hi > 1:
        return CONFIRMED, f"{entry['kind']} received targets in {span}"
    return REFUTED, f"{entry['kind']} targets stayed in {span}"


def _zl106(obs: dict, line: int) -> Verdict:
    entry = _loss_entry(obs, line, "cross_entropy")
    if entry is None or entry.get("num_classes") is None:
        return None
    if entry["num_classes"] == 1:
        return CONFIRMED, f"{entry['kind']} received inputs of shape {entry.get('input_shape')}: one class"
    return REFUTED, f"{entry['kind']} received {entry['num_classes']} classes"


def _zl107(obs: dict, line: int) -> Verdict:
    entry = _loss_entry(obs, line, "nll_loss")
    if entry is None or entry.get("max") is None:
        return None
    if entry["max"] > 0:
        return CONFIRMED, (f"{entry['kind']} received values up to {_fmt(entry['max'])}: log-probabilities "
                           "are never positive")
    return REFUTED, f"{entry['kind']} received values <= 0, as log-probabilities are"


def _zl203(obs: dict, line: int) -> Verdict:
    entry = _by_line(obs, "zero_grads").get(line)
    if entry is None:
        return None
    if entry["wiped"]:
        return CONFIRMED, (f"zero_grad() here cleared fresh gradients of a backward() before any step used "
                           f"them, in {entry['wiped']} of {entry['calls']} calls")
    return REFUTED, f"zero_grad() here never cleared gradients a step had not used ({entry['calls']} calls)"


def _zl204(obs: dict, line: int) -> Verdict:
    entry = _by_line(obs, "steps").get(line)
    if entry is None:
        return None
    if entry["without_grad"] == entry["calls"]:
        return CONFIRMED, (f"`{entry['optimizer']}.step()` found no gradients in any of its {entry['calls']} "
                           "calls: no backward() reached these parameters")
    return REFUTED, (f"`{entry['optimizer']}.step()` had gradients in {entry['calls'] - entry['without_grad']} "
                     f"of {entry['calls']} calls")


def _zl206(obs: dict, line: int) -> Verdict:
    entry = _by_line(obs, "schedulers").get(line)
    if entry is None:
        return None
    if entry["before_step"]:
        return CONFIRMED, (f"scheduler.step() ran with no optimizer.step() since the previous one in "
                           f"{entry['before_step']} of {entry['calls']} calls")
    return REFUTED, f"each of the {entry['calls']} scheduler steps followed an optimizer step"


def _zl208(obs: dict, line: int) -> Verdict:
    entry = _by_line(obs, "constructed").get(line)
    if entry is None:
        return None
    if entry["again"]:
        return CONFIRMED, (f"`{entry['optimizer']}` was built {entry['calls']} times here over parameters an "
                           "earlier optimizer already held: its momentum/Adam state restarts each time")
    return REFUTED, f"`{entry['optimizer']}` was built {entry['calls']} time(s) here, over fresh parameters"


_BOUNDED = {"Sigmoid": (0.0, 1.0), "Tanh": (-1.0, 1.0), "Softmax": (0.0, 1.0)}


def _zl110(obs: dict, line: int) -> Verdict:
    entry = _loss_entry(obs, line, "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss")
    if entry is None or entry.get("target_range") is None or not entry.get("producers"):
        return None
    producer = entry["producers"][0]
    bounds = next((b for op, b in _BOUNDED.items() if op in producer), None)
    lo, hi = entry["target_range"]
    if bounds is None:
        return REFUTED, f"{entry['kind']} received the output of {producer}, not a bounded activation"
    if lo < bounds[0] - 1e-6 or hi > bounds[1] + 1e-6:
        return CONFIRMED, (f"{entry['kind']} compared the output of {producer} (range [{bounds[0]:g}, "
                           f"{bounds[1]:g}]) with targets in [{_fmt(lo)}, {_fmt(hi)}]")
    return REFUTED, f"{entry['kind']} targets stayed in [{_fmt(lo)}, {_fmt(hi)}], inside {producer}'s range"


def _zl403(obs: dict, line: int) -> Verdict:
    entry = _by_line(obs, "loaders").get(line)
    if entry is None or not entry["trained"]:
        return None  # built but never the loader of an optimizer step: the training loop did not run
    if entry["sequential"] and not entry["shuffled"]:
        return CONFIRMED, (f"the DataLoader built here iterated in a fixed order (SequentialSampler) while "
                           f"{entry['trained']} optimizer steps trained on its batches")
    return REFUTED, "the DataLoader built here shuffles or uses its own sampler"


def _zl304(obs: dict, line: int) -> Verdict:
    sites = _by_line(obs, "iter_sites")
    entry = sites.get(line)
    if entry is None:
        return None
    if entry["steps"]:
        return REFUTED, f"the loop here trained ({entry['steps']} optimizer steps): it is not an evaluation"
    trained = {d for s in sites.values() if s["steps"] for d in s["datasets"]}
    if set(entry["datasets"]) & trained:
        return CONFIRMED, "the evaluation loop here iterated the same dataset object the training loop trained on"
    return REFUTED, "the evaluation loop here iterated a dataset no training step used"


_REGRESSION = ("mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss")
_CLASSIFICATION = ("binary_cross_entropy", "binary_cross_entropy_with_logits", "cross_entropy", "nll_loss")


def _units(shape: Optional[list]) -> Optional[int]:
    return shape[1] if shape and len(shape) >= 2 else None


def _zl108(obs: dict, line: int) -> Verdict:
    entry = _loss_entry(obs, line, *_REGRESSION, *_CLASSIFICATION)
    if entry is None or entry.get("target_values") is None:
        return None
    lo, hi = entry["target_values"]
    dtype, shape, inp = entry.get("target_dtype"), entry.get("target_shape"), entry.get("input_shape")
    raised = f"; torch raised {entry['error']}" if entry.get("error") else ""
    integral = entry.get("target_all_integral")
    if entry["function"] in _REGRESSION:
        units = _units(inp)
        producers = entry.get("producers", [])
        per_class = (units or 0) > 1 or any("Softmax" in p for p in producers)
        one_hot = shape == inp and lo >= 0 and hi <= 1  # a target per output: one-hot or soft labels
        if integral and lo >= 0 and per_class and not one_hot and shape != inp:
            return CONFIRMED, (f"{entry['kind']} compared outputs of shape {inp} (one score per class) with "
                               f"class indices {_fmt(lo)}..{_fmt(hi)} ({dtype}, shape {shape}){raised}")
        if not integral:
            return REFUTED, f"{entry['kind']} received continuous targets in [{_fmt(lo)}, {_fmt(hi)}]: a regression"
        if one_hot or shape == inp:
            return REFUTED, f"{entry['kind']} received one target per output ({dtype}, shape {shape})"
        return REFUTED, f"{entry['kind']} received targets {_fmt(lo)}..{_fmt(hi)} for outputs of shape {inp}: one unit"
    floating = dtype is not None and ("float" in dtype or "half" in dtype or "double" in dtype)
    if floating and (lo < 0 or hi > 1):  # read as probabilities (BCE, soft-label CE), they are values
        kind = "continuous" if not integral else "whole-number"
        return CONFIRMED, (f"{entry['kind']} received {kind} {dtype} targets in [{_fmt(lo)}, {_fmt(hi)}]: "
                           f"regression values, not classes or probabilities{raised}")
    what = "class indices" if not floating else "targets"
    return REFUTED, f"{entry['kind']} received {what} in [{_fmt(lo)}, {_fmt(hi)}] ({dtype})"


def _zl109(obs: dict, line: int) -> Verdict:
    entry = _by_line(obs, "softmaxes").get(line)
    if entry is None:
        return None
    how = "PyTorch's implicit dim" if entry["implicit"] else "dim"
    if entry["over_leading"]:
        shape = entry.get("leading_shape", entry["shape"])
        return CONFIRMED, (f"{entry['function']} ran over dim 0 (size {shape[0]}) of a {shape} tensor "
                           f"({how}) in {entry['over_leading']} of {entry['calls']} calls: it normalizes "
                           f"across the batch, not over the {shape[-1]} classes")
    shape, dim = entry["shape"], entry["dim"]
    return REFUTED, (f"{entry['function']} ran over dim {dim} (size {shape[dim]}) of a {shape} tensor ({how}), "
                     "not the batch")


def _zl111(obs: dict, line: int) -> Verdict:
    entry = _by_line(obs, "softmaxes").get(line)
    if entry is None:
        return None
    if entry["single"]:
        return CONFIRMED, (f"{entry['function']} ran over a dim of size 1 of a {entry['single_shape']} tensor in "
                           f"{entry['single']} of {entry['calls']} calls: its output is constantly "
                           + ("0" if entry["function"] == "log_softmax" else "1.0"))
    return REFUTED, (f"{entry['function']} ran over dim {entry['dim']} of size {entry['shape'][entry['dim']]} "
                     "(more than one unit)")


def _zl112(obs: dict, line: int) -> Verdict:
    entry = _loss_entry(obs, line, "kl_div")
    if entry is None or "input_logprob" not in entry:
        return None
    span = f"[{_fmt(entry.get('min'))}, {_fmt(entry.get('max'))}]"
    producer = (entry.get("producers") or ["?"])[0]
    if not entry["input_logprob"]:
        return CONFIRMED, (f"{entry['kind']} received inputs in {span} from {producer} that are not "
                           "log-probabilities (positive, or their exponentials do not sum to 1 per sample)")
    return REFUTED, f"{entry['kind']} received log-probabilities (in {span}, exponentials summing to 1)"


def _zl205(obs: dict, line: int) -> Verdict:
    entry = _by_line(obs, "clips").get(line)
    if entry is None:
        return None
    if entry["stale"]:
        what = "no gradients (cleared, before this iteration's backward())" if entry["cleared"] == entry["stale"] \
            else "gradients an optimizer step had already applied"
        return CONFIRMED, (f"{entry['function']} ran with no backward() since the previous optimizer step or "
                           f"zero_grad() in {entry['stale']} of {entry['calls']} calls: it clipped {what}")
    return REFUTED, (f"each of the {entry['calls']} {entry['function']} calls ran between a backward() and "
                     "the optimizer step that used its gradients")


def _zl207(obs: dict, line: int) -> Verdict:
    entry = _by_line(obs, "accumulations").get(line)
    if entry is None:
        return None
    if entry["carried"]:
        return CONFIRMED, (f"`+=` here added a tensor that requires grad to a total that already held earlier "
                           f"losses' graphs, in {entry['carried']} of {entry['calls']} runs of the line: every "
                           "iteration's graph stays alive")
    if entry["with_graph"] and entry["calls"] < 2:
        return UNREACHED, ("the line ran once; two additions are needed to see the total carry graphs "
                           "across iterations")
    if entry["with_graph"]:
        return REFUTED, (f"the total was restarted before each addition of a graph-holding tensor "
                         f"({entry['calls']} runs): no graph outlives its iteration")
    return REFUTED, f"`+=` here added values without an autograd graph in all {entry['calls']} runs"


#: Update-to-weight ratio per step (RMS of the update over RMS of the weights, of the weight tensor
#: that moved most).
#: Healthy training sits near 1e-3; Adam at lr >= 0.1 moves each weight by about lr, a quarter or more
#: of a default-initialized weight, and at lr <= 1e-7 by about 1e-6 of it.
_RATIO_HIGH, _RATIO_LOW = 0.25, 1e-5


def _zl209(obs: dict, line: int) -> Verdict:
    entry = _by_line(obs, "rates").get(line)
    if entry is None:
        return None
    ratios, lrs, base = entry["ratios"], entry["lrs"], entry["base_lr"]
    high = max(ratios)
    used = f"lr {lrs[0]:g}" + (f" (built with {base:g})" if abs(lrs[0] - base) > 1e-12 * max(base, 1e-30) else "")
    shown = ", ".join(f"{r:.2g}" for r in ratios)
    if high >= _RATIO_HIGH:
        return CONFIRMED, (f"`{entry['optimizer']}` at {used} changed the weights by {shown} of their size per "
                           "step: a few steps overwrite the initialization")
    if high == 0:
        return CONFIRMED, (f"`{entry['optimizer']}` at {used} left the weights exactly unchanged in the first "
                           f"{len(ratios)} steps: the updates are below float precision")
    if high <= _RATIO_LOW:
        return CONFIRMED, (f"`{entry['optimizer']}` at {used} changed the weights by {shown} of their size per "
                           "step: they barely move")
    if entry.get("scheduled") and any(abs(lr - base) > 1e-12 * max(base, 1e-30) for lr in lrs):
        return UNREACHED, (f"a scheduler set the rate to {lrs[0]:g} (built with {base:g}) in the steps observed "
                           "(loops capped); the rate as built was not seen in use")
    return REFUTED, (f"`{entry['optimizer']}` at {used} changed the weights by {shown} of their size per step, "
                     "a workable rate")


def _zl303(obs: dict, line: int) -> Verdict:
    entry = _by_line(obs, "mode_after_eval").get(line)
    if entry is None:
        return None
    if entry["trained_eval"]:
        return CONFIRMED, (f"after eval() here, `{entry['module']}` trained in eval mode (Dropout/BatchNorm "
                           f"off) at {entry['trained_eval']} later optimizer steps")
    if entry["trained_train"]:
        return REFUTED, f"after eval() here, `{entry['module']}` was back in training mode at the next optimizer step"
    return UNREACHED, ("eval() ran here, but no optimizer step followed it in the shrunk run (loops capped): "
                       "the mode of the next training step was not seen")


def _zl305(obs: dict, line: int) -> Verdict:
    entry = _by_line(obs, "argmaxes").get(line)
    if entry is None:
        return None
    shape, dim = entry["shape"], entry["dim"]
    if entry["single"]:
        return CONFIRMED, (f"{entry['function']} over dim {dim} of a {shape} tensor: that dim has size 1, so "
                           "every prediction is index 0")
    return REFUTED, f"{entry['function']} over dim {dim} of a {shape} tensor: {shape[dim]} values to choose from"


def _zl402(obs: dict, line: int) -> Verdict:
    entry = _by_line(obs, "last_steps").get(line)
    if entry is None:
        return None
    lengths = ", ".join(str(n) for n in entry["lengths"])
    if entry["padding"]:
        return CONFIRMED, (f"read time step {entry['step']} of a batch padded to {entry['length']} steps "
                           f"(lengths {lengths}): {entry['padding']} of {len(entry['lengths'])} sequences "
                           "are padding there")
    return REFUTED, (f"read time step {entry['step']} of a padded batch (lengths {lengths}): a real step of "
                     "every sequence")


_SCALE_LIMIT = 50  # as the static rule: values beyond +-50 are not on a unit scale


def _zl404(obs: dict, line: int) -> Verdict:
    entry = _by_line(obs, "forwards").get(line)
    if entry is None or "input_dtype" not in entry:
        return None
    if "input_peak" not in entry:
        return None
    peak, std = entry["input_peak"], entry["input_std"]
    if entry["input_dtype"] != "uint8" and not entry.get("input_floating", True):
        return REFUTED, f"`{entry['module']}` received {entry['input_dtype']} inputs: ids or indices, not features"
    if peak > _SCALE_LIMIT:
        return CONFIRMED, (f"`{entry['module']}` received inputs up to |x| = {peak:.4g} (std {std:.3g}) in its "
                           "first forwards here: unscaled")
    return REFUTED, f"`{entry['module']}` received inputs within |x| <= {peak:.3g} (std {std:.3g}): scaled"


def _zl405(obs: dict, line: int) -> Verdict:
    entry = _by_line(obs, "rnns").get(line)
    if entry is None:
        return None
    shape, batch_first = entry["shape"], entry["batch_first"]
    read_batch, read_time = (shape[0], shape[1]) if batch_first else (shape[1], shape[0])
    batch_dim = 0 if batch_first else 1
    batch = entry.get("target_batch")
    said = f"`{entry['module']}` (batch_first={batch_first}) was fed {shape}: it read dim {batch_dim} " \
           f"(size {read_batch}) as the batch"
    if batch is not None and batch == read_time and batch != read_batch:
        return CONFIRMED, f"{said}, but the targets its output met hold {batch} samples: batch and time are swapped"
    if batch is not None and batch == read_batch and batch != read_time:
        return REFUTED, f"{said}, matching the {batch} targets its output met"
    return UNREACHED, (f"{said}; the run did not show which dim holds the samples (no loss after it with a "
                       "batch of one of these sizes)")


def _zl501(obs: dict, line: int) -> Verdict:
    entry = _by_line(obs, "constant_inits").get(line)
    if entry is None:
        return None
    shape = entry["shape"]
    spread = f"{entry.get('spread', 0.0):.2g}"
    if entry["stepped_identical"]:
        return CONFIRMED, (f"the rows (units) of the {shape} weight set here were identical after init and, after "
                           f"{entry['steps']} optimizer steps, still (near) copies of one unit (row spread {spread}; "
                           "a random init spreads about 1)")
    if entry["stepped"]:
        return REFUTED, (f"the rows of the {shape} weight set here were identical after init, but after "
                         f"{entry['steps']} optimizer steps they differ as a random init's do (row spread {spread})")
    if not entry["identical_now"]:
        return REFUTED, (f"the rows of the {shape} weight set here differ by the end of the run (row spread "
                         f"{spread}): it was set again after this line")
    return UNREACHED, ("the weight set here kept identical rows, but no optimizer step updated it in the shrunk "
                       "run: whether the units stay identical was not seen")


#: The runtime check of each static code: observations and the finding's line -> a verdict, or None
#: when the line produced no observation (then the finding is unreached, with the reason).
CHECKS: dict[str, Callable[[dict, int], Verdict]] = {
    "ZL101": _zl101, "ZL102": _zl102, "ZL103": _zl103, "ZL104": _zl104, "ZL105": _zl105,
    "ZL106": _zl106, "ZL107": _zl107, "ZL110": _zl110, "ZL201": _zl201, "ZL202": _zl202, "ZL203": _zl203,
    "ZL204": _zl204, "ZL206": _zl206, "ZL208": _zl208,
    "ZL301": _zl301, "ZL302": _zl302, "ZL304": _zl304, "ZL401": _zl401, "ZL403": _zl403,
    "ZL108": _zl108, "ZL109": _zl109, "ZL111": _zl111, "ZL112": _zl112, "ZL205": _zl205, "ZL207": _zl207,
    "ZL209": _zl209, "ZL303": _zl303, "ZL305": _zl305, "ZL402": _zl402, "ZL404": _zl404, "ZL405": _zl405,
    "ZL501": _zl501,
}
#: Codes whose claim a run cannot show either way: their findings get this status, never ``unreached``.
#: Every static code now has a check above, each observing in the run the fact its rule claims (what
#: reaches a loss or a softmax, the order of backward/step/clip/zero_grad, the mode at a step after an
#: eval(), the update-to-weight ratio, the rows of a constant weight, the step read from a padded
#: batch, the layout an RNN reads), so this table is empty. A finding in code the probe does not
#: instrument (TensorFlow/Keras) gets the same status per run, with that reason (``_uninstrumented``).
NO_RUNTIME_CHECK_STATUS = "no-runtime-check"
NO_RUNTIME_CHECK: dict[str, str] = {}  # code -> why a run cannot show it


def why_unreached(run: RunResult, line: int, steps: int) -> str:
    """The reason a line produced no observation, in the user's terms."""
    if run.failure:
        return run.failure
    error = run.observations.get("error")
    if run.observations.get("status") == "exited":
        where = run.observations.get("exit_line")
        return (f"line {line} did not run: the script called sys.exit() "
                + (f"at line {where} " if where else "") + "before reaching it")
    if not error:
        return f"line {line} did not run in the shrunk script (loops capped at {steps} iterations)"
    where = f"line {error['line']}" if error.get("line") else "start-up"
    if error.get("network"):
        return f"script needs network access ({error['network']}; stopped at {where}), blocked under --confirm"
    if error.get("memory_gib"):
        return (f"the run exceeded {error['memory_gib']:g} GiB of memory at {where} "
                "(--confirm limits memory)")
    if "Torch not compiled with CUDA" in error.get("message", "") or \
            "no NVIDIA driver" in error.get("message", "") or \
            ("CUDA" in error.get("message", "") and "available" in error.get("message", "")):
        return f"script needs CUDA (stopped at {where}), not available to this run"
    if error.get("undefined"):
        return (f"script is incomplete: `{error['undefined']}` is never defined "
                f"(NameError at {where})")
    if error.get("missing_module"):
        return f"script needs module {error['missing_module']}, not installed"
    if error.get("missing_file"):
        name = error["missing_file"]
        if os.path.isabs(name):
            name = os.path.relpath(name, os.path.dirname(run.script))
        return f"script needs {name}, not present"
    if "Dataset not found" in error.get("message", "") or "download=True" in error.get("message", ""):
        return (f"script needs its dataset on disk (stopped at {where}; downloads are disabled "
                "under --confirm), not present")
    return f"script stopped at {where} before reaching it: {error['type']}: {error['message']}"


def crash(run: RunResult) -> Optional[dict]:
    """The user's code crashed (not for want of a module, a file, the network, memory or CUDA)."""
    error = run.observations.get("error") if not run.failure else None
    if not error or error.get("type") in _UNREACHED_ERRORS or error.get("network") or \
            error.get("memory_gib") or error.get("type") == "SystemExit" or not error.get("line"):
        return None
    if why_unreached(run, 0, 0).startswith(("script needs", "script is incomplete")):
        return None
    return error


def crash_code(error: dict) -> Optional[str]:
    text = f"{error.get('type')}: {error.get('message', '')}"
    return next((code for pattern, code in CRASH_SIGNATURES if re.search(pattern, text)), None)


def crash_targets(findings: list, run: RunResult) -> list:
    """The static findings a crash confirms: those of its signature's code on a line of the
    traceback, else every finding of that code in the file."""
    error = crash(run)
    code = crash_code(error) if error else None
    same = [f for f in findings if f.code == code]
    lines = error.get("lines") or [error["line"]] if error else []
    return [f for f in same if f.line in lines] or same


def crash_finding(run: RunResult, display: str, source_lines: list, static_codes: dict) -> Optional[Finding]:
    """A crash no static finding explains: a finding of its signature's code, or ZL910."""
    error = crash(run)
    if error is None:
        return None
    code = crash_code(error)
    line = error["line"]
    what = f"{error['type']}: {error['message']}"
    if code and code in static_codes:
        name, severity = static_codes[code]
        message = f"the script crashed at line {line} with {what} (the signature of {code} {name})"
    else:
        code, (name, severity) = "ZL910", RUNTIME_RULES["ZL910"]
        message = (f"the script crashed at line {line}: {what}. Training never gets past this "
                   "line; fix the error first")
    return _runtime(display, source_lines, code, name, severity, line, message,
                    f"the script crashed at line {line}: {what}")


def _runtime(display, source_lines, code, name, severity, line, message, evidence) -> Finding:
    line = line or 1
    text = source_lines[line - 1] if 0 < line <= len(source_lines) else ""
    column = len(text) - len(text.lstrip()) + 1
    end = max(len(text.rstrip()) + 1, column + 1)
    return Finding(display, line, column, line, end, code, name, severity, message,
                   confirmation={"status": CONFIRMED, "evidence": evidence})


def confirm_finding(finding: Finding, run: RunResult, steps: int, crashed: bool = False) -> Finding:
    check = CHECKS.get(finding.code)
    verdict = check(run.observations, finding.line) if check and not run.failure else None
    error = crash(run)
    if crashed and error and (verdict is None or verdict[0] != CONFIRMED):
        verdict = (CONFIRMED, f"the script crashed at line {error['line']}: {error['type']}: "
                              f"{error['message']}")
    if verdict is None and finding.code in NO_RUNTIME_CHECK:
        verdict = (NO_RUNTIME_CHECK_STATUS, NO_RUNTIME_CHECK[finding.code])
    if verdict is None and not run.failure and finding.line in (run.observations.get("ran_lines") or ()):
        verdict = _uninstrumented(run) or (UNREACHED, (
            f"line {finding.line} ran, but the run never showed what the {finding.code} check observes there"
            + (f" ({_NEEDS[finding.code]})" if finding.code in _NEEDS else "")))
    if verdict is None:
        if check is None and not run.failure:
            verdict = (UNREACHED, f"--confirm has no runtime check for {finding.code} yet")
        else:
            verdict = (UNREACHED, why_unreached(run, finding.line, steps))
    status, evidence = verdict
    if status == UNREACHED and not run.failure and finding.line in (run.observations.get("ran_lines") or ()):
        status = INCONCLUSIVE
    return replace(finding, confirmation={"status": status, "evidence": evidence})


#: What a check needs to see after its line ran, said when the run did not show it.
_NEEDS = {
    "ZL201": "two optimizer steps with a backward() between them", "ZL202": "an optimizer step",
    "ZL204": "an optimizer step", "ZL209": "an optimizer step with gradients after the optimizer was built",
    "ZL303": "an optimizer step after the eval()", "ZL403": "an optimizer step on one of its batches",
    "ZL501": "an optimizer step over the weight", "ZL304": "a loop over a DataLoader",
    "ZL404": "a tensor input to the model", "ZL405": "a 3-D tensor input to the RNN",
}


def _uninstrumented(run: RunResult) -> Verdict:
    """A line that ran in a run that used a framework the probe does not observe (TensorFlow/Keras):
    the run cannot show the finding either way."""
    frameworks = run.observations.get("frameworks") or []
    if not frameworks:
        return None
    return NO_RUNTIME_CHECK_STATUS, (f"--confirm observes PyTorch only, and the script ran "
                                     f"{'/'.join(frameworks)}: this line is not instrumented")


def not_run(finding: Finding, reason: str) -> Finding:
    return replace(finding, confirmation={"status": UNREACHED, "evidence": reason})


def runtime_findings(run: RunResult, display: str, source_lines: list) -> list:
    """ZL9xx findings from the run, placed on the loss/step/forward line where one is known."""
    out = []
    for item in run.observations.get("runtime", []):
        code = item.get("code")
        if code not in RUNTIME_RULES:
            continue
        name, severity = RUNTIME_RULES[code]
        out.append(_runtime(display, source_lines, code, name, severity, item.get("line"), item["message"],
                            "observed in the confirmation run"))
    return out

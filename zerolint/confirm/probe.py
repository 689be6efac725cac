"""The child side of ``--confirm``: instrument torch, run one shrunk script, write what was seen.

This file runs in its own interpreter (``python probe.py SHRUNK ORIGINAL OUT STEPS DEVICE``) and
is the only code in zerolint that imports torch. It imports nothing from zerolint, so the child
does not depend on how zerolint was installed. Observations are keyed by the *original* script's
line numbers: the shrunk copy keeps every statement on its line and is compiled under the
original path.
"""
from __future__ import annotations

import builtins
import copy
import json
import math
import operator
import os
import sys
import traceback
import weakref
from typing import Any, Optional

try:
    import torch
    import torch.nn.functional as F
    from torch import nn
except ImportError as _missing:  # the parent turns exit status 3 into an install hint
    if __name__ == "__main__":
        sys.stderr.write(f"zerolint probe: torch is not importable: {_missing}\n")
        sys.exit(3)
    raise

EXIT_NO_TORCH, EXIT_NO_CUDA = 3, 4

_VIEW_OPS = ("View", "Reshape", "Squeeze", "Unsqueeze", "Expand", "Permute", "Transpose", "Select",
             "Slice", "Clone", "ToCopy", "Unsafe", "Alias", "AsStrided")
_CE_FAMILY = {"cross_entropy": "ce", "nll_loss": "nll"}
_BCE_FAMILY = {"binary_cross_entropy": "bce", "binary_cross_entropy_with_logits": "bce_logits"}
_OTHER_LOSSES = ("mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "kl_div")
_OVERFIT_STEPS = 30
_GRAD_STEPS = 3  # ZL902 looks at the gradients of the first three steps together


class Probe:
    """Everything observed during one run, and the hooks that observe it."""

    def __init__(self, script: str, steps: int) -> None:
        self.script = script
        self.steps = steps
        self.losses: dict[int, dict] = {}
        self.steps_seen: dict[int, dict] = {}
        self.forwards: dict[int, dict] = {}
        self.stack_errors: dict[int, str] = {}
        self.stack_ok: dict[int, int] = {}
        self.runtime: list[dict] = []
        self.optimizers: list = []
        self.backward_count = 0
        self.depth = 0
        self.last_root: Optional[dict] = None
        self.overfit: Optional[dict] = None
        self.first_batch_done = False
        self.first_ce_done = False
        self.grad_checked = False
        self.in_loss = 0
        self.replaying = False  # the ZL901 replay runs with every hook switched off
        self.roots_tried = 0  # root forwards deep-copied as ZL901 candidates (at most 3)
        self.inputs_checked = False  # ZL907/908/909 look at the first training forward only
        self.relu_dead = 0.0
        self.overfit_losses: list = []
        self.constructed: dict[int, dict] = {}
        self.zero_grads: dict[int, dict] = {}
        self.schedulers: dict[int, dict] = {}
        self.loaders: dict[int, dict] = {}
        self.current_loader: Optional[int] = None  # line of the DataLoader iterated last
        self.iter_sites: dict[int, dict] = {}  # line of a loop over a DataLoader -> datasets, steps
        self.current_site: Optional[int] = None
        self.softmaxes: dict[int, dict] = {}  # ZL109/ZL111: the dim each softmax ran over, and its size
        self.in_softmax = 0
        self.clips: dict[int, dict] = {}  # ZL205: gradient clipping against the backward/step order
        self.last_kind: Optional[str] = None  # "backward" or "step", whichever ran last
        self.accumulations: dict[int, dict] = {}  # ZL207: `name += value` statements
        self.rates: dict[int, dict] = {}  # ZL209: update-to-weight ratio per optimizer construction line
        self.pending_evals: list = []  # ZL303: eval() calls not yet followed by an optimizer step
        self.mode_after_eval: dict[int, dict] = {}
        self.in_train_call = 0
        self.argmaxes: dict[int, dict] = {}  # ZL305: the size of the dim argmax/max reduced
        self.padded: dict[int, tuple] = {}  # ZL402: id(tensor) -> (weakref, lengths, time dim, side)
        self.last_steps: dict[int, dict] = {}
        self.rnns: dict[int, dict] = {}  # ZL405: RNN input layouts, and the batch size the next loss saw
        self.pending_rnns: list = []
        self.const_inits: dict[int, dict] = {}  # ZL501: weights set to a constant, judged at the end

    # ---- where in the script -------------------------------------------------------------
    def line(self) -> Optional[int]:
        frame = sys._getframe(1)
        while frame is not None:
            if frame.f_code.co_filename == self.script:
                return frame.f_lineno
            frame = frame.f_back
        return None

    def report(self, code: str, line: Optional[int], message: str) -> None:
        if not any(r["code"] == code for r in self.runtime):
            self.runtime.append({"code": code, "line": line, "message": message})

    # ---- losses ------------------------------------------------------------------------------
    def wrap_loss(self, name: str, original):
        probe = self

        def wrapper(input, target, *args, **kwargs):
            if probe.in_loss or probe.replaying:
                return original(input, target, *args, **kwargs)
            probe.in_loss += 1
            try:
                entry = probe.loss_entry(name, sys._getframe(1))
                probe.observe_loss_inputs(entry, name, input, target, kwargs)
                try:
                    out = original(input, target, *args, **kwargs)
                except Exception as exc:
                    entry["error"] = f"{type(exc).__name__}: {_first_line(exc)}"
                    raise
                probe.observe_loss_output(entry, name, input, target, out, kwargs)
                probe.consider_overfit(entry, name, original, input, target, args, kwargs)
                return out
            finally:
                probe.in_loss -= 1

        wrapper.__wrapped__ = original
        return wrapper

    def loss_entry(self, name: str, caller) -> dict:
        owner = caller.f_locals.get("self") if caller is not None else None
        kind = type(owner).__name__ if isinstance(owner, nn.modules.loss._Loss) else f"F.{name}"
        line = self.line() or 0
        entry = self.losses.setdefault(line, {"line": line, "kind": kind, "function": name, "calls": 0,
                                              "min": None, "max": None, "producers": []})
        entry["calls"] += 1
        return entry

    def observe_loss_inputs(self, entry: dict, name: str, input, target, kwargs: dict) -> None:
        if not isinstance(input, torch.Tensor) or not isinstance(target, torch.Tensor):
            return
        with torch.no_grad():
            if input.numel() and input.is_floating_point():
                lo, hi = float(input.min()), float(input.max())
                entry["min"] = lo if entry["min"] is None else min(entry["min"], lo)
                entry["max"] = hi if entry["max"] is None else max(entry["max"], hi)
            producer = _producer(input)
            if producer and producer not in entry["producers"]:
                entry["producers"].append(producer)
            entry.setdefault("input_shape", list(input.shape))
            entry.setdefault("target_shape", list(target.shape))
            entry.setdefault("target_dtype", str(target.dtype).replace("torch.", ""))
            if target.numel() and target.is_floating_point():
                integral = bool(torch.all(target == target.round()))
                sums_to_one = target.dim() == input.dim() and target.dim() >= 2 and \
                    bool(torch.allclose(target.sum(1), torch.ones_like(target.sum(1)), atol=1e-3))
                entry["float_class_indices"] = integral and not sums_to_one and \
                    target.shape != input.shape
                entry["target_range"] = [float(target.min()), float(target.max())]
                entry["target_integral"] = integral
            if name in _CE_FAMILY and input.dim() >= 2:
                entry["num_classes"] = int(input.shape[1])
            if target.numel() and not target.is_complex():
                # ZL108: what the targets hold, whatever their dtype (class ids or continuous values)
                lo, hi = float(target.min()), float(target.max())
                seen = entry.get("target_values")
                entry["target_values"] = [lo, hi] if seen is None else [min(seen[0], lo), max(seen[1], hi)]
                integral = not target.is_floating_point() or bool(torch.all(target == target.round()))
                entry["target_all_integral"] = entry.get("target_all_integral", True) and integral
            if name == "kl_div" and input.numel() and input.is_floating_point():
                # ZL112: log-probabilities are <= 0 and their exponentials sum to 1 over the classes
                dims = {input.dim() - 1, 1} if input.dim() >= 2 else {0}
                logprob = float(input.max()) <= 1e-5 and any(
                    bool(torch.allclose(torch.logsumexp(input.double(), dim=d),
                                        torch.zeros((), dtype=torch.float64), atol=1e-3)) for d in dims)
                entry["input_logprob"] = entry.get("input_logprob", True) and logprob
        if self.pending_rnns and target.dim() >= 1:
            for rnn in self.pending_rnns:  # ZL405: the batch size of the data the RNN's output met
                rnn.setdefault("target_batch", int(target.shape[0]))
            self.pending_rnns = []
        self.observe_labels(name, input, target)

    def observe_labels(self, name: str, input, target) -> None:
        if self.first_batch_done or name not in _CE_FAMILY or not torch.is_grad_enabled():
            return
        if target.dtype in (torch.int64, torch.int32) and target.dim() == 1 and target.numel() >= 32:
            self.first_batch_done = True
            counts = torch.bincount(target.detach().flatten().clamp(min=0).cpu())
            top = int(counts.argmax())
            share = float(counts[top]) / target.numel()
            if share >= 0.95:
                self.report("ZL906", self.line(), (
                    f"class {top} makes up {share:.0%} of the {target.numel()} labels in the first "
                    "batch: the model can reach high accuracy by always predicting it. Shuffle the "
                    "data or rebalance the classes."))

    def observe_loss_output(self, entry: dict, name: str, input, target, out, kwargs: dict) -> None:
        if not isinstance(out, torch.Tensor) or out.numel() != 1:
            return
        value = float(out.detach())
        entry.setdefault("first_value", value)
        if not math.isfinite(value):
            entry["nonfinite"] = True
            self.report("ZL904", entry["line"], (
                f"the loss became {value} at call {entry['calls']} of `{entry['kind']}`: training "
                "cannot recover. Check the learning rate, log/div of zero and the input scale."))
        if name in _CE_FAMILY and not self.first_ce_done and torch.is_grad_enabled():
            self.first_ce_done = True
            classes = entry.get("num_classes")
            smoothing = kwargs.get("label_smoothing", 0.0)
            if classes and classes >= 2 and not target.is_floating_point() and not smoothing:
                expected = math.log(classes)
                if value > 2 * expected + 1.0:
                    self.report("ZL905", entry["line"], (
                        f"the first cross-entropy loss was {value:.3g}, but an untrained "
                        f"classifier over {classes} classes should start near ln({classes}) = "
                        f"{expected:.2f}: the initial logits are far too large. Check the input "
                        "scale and the output layer's initialization."))

    # ---- modules (model forwards) -----------------------------------------------------------
    def forward_pre(self, module, args) -> None:
        if self.replaying:
            return
        self.depth += 1
        if self.pending_evals and torch.is_grad_enabled():
            for pending in self.pending_evals:  # ZL303: the mode of a forward that may train
                if pending["module"]() is module:
                    pending["forward_training"] = _training(module)
        if isinstance(module, nn.RNNBase):
            self.observe_rnn(module, args)
        if self.depth != 1 or isinstance(module, nn.modules.loss._Loss):
            return
        line = self.line()
        if line is None:
            return
        entry = self.forwards.setdefault(line, {"line": line, "module": type(module).__name__,
                                                "grad_on": 0, "grad_off": 0, "training": 0, "eval": 0,
                                                "stochastic": _stochastic(module)})
        entry["grad_on" if torch.is_grad_enabled() else "grad_off"] += 1
        entry["training" if module.training else "eval"] += 1
        if entry["grad_on"] + entry["grad_off"] <= 3:
            self.observe_inputs(entry, args)
        if torch.is_grad_enabled() and module.training:
            self.remember_root(module, args, line)

    def observe_inputs(self, entry: dict, args) -> None:
        """ZL404: the scale of the features reaching the model (its first floating-point input)."""
        x = next((a for a in args if isinstance(a, torch.Tensor) and a.numel() > 1), None)
        if x is None:
            return
        with torch.no_grad():
            entry["input_dtype"] = str(x.dtype).replace("torch.", "")
            entry["input_floating"] = x.is_floating_point()
            if x.is_complex() or x.dtype == torch.bool:
                return
            x = x.detach()
            peak, std = float(x.abs().max()), float(x.float().std())  # raw uint8 pixels count too
            entry["input_peak"] = max(entry.get("input_peak", peak), peak)
            entry["input_std"] = max(entry.get("input_std", std), std)
            entry["input_min"] = min(entry.get("input_min", float(x.min())), float(x.min()))

    def observe_rnn(self, module, args) -> None:
        """ZL405: the layout an RNN read (batch_first) and the sizes it was fed; the batch size of the
        targets that the next loss compares its output with is attached there."""
        x = args[0] if args else None
        if not isinstance(x, torch.Tensor) or x.dim() != 3:
            return  # a PackedSequence carries its own layout; an unbatched 2-D input has no batch dim
        line = self.line()
        if line is None:
            return
        entry = self.rnns.setdefault(line, {"line": line, "module": type(module).__name__, "calls": 0,
                                            "batch_first": bool(module.batch_first),
                                            "shape": list(x.shape)})
        entry["calls"] += 1
        if "target_batch" not in entry:
            self.pending_rnns.append(entry)

    def forward_post(self, module, args, output) -> None:
        if self.replaying:
            return
        if self.padded and args:
            self.follow_padding(module, args[0], output)
        if self.depth >= 2 and isinstance(module, nn.ReLU) and not self.inputs_checked:
            self.observe_relu(module, output)
        self.depth = max(0, self.depth - 1)
        if self.depth == 0 and self.last_root is not None and self.last_root["module"] is module:
            self.last_root["output"] = output
            self.check_first_batch(module, args, output, self.last_root["line"])

    def remember_root(self, module, args, line: int) -> None:
        if self.overfit is not None or self.roots_tried >= 3:
            self.last_root = None
            return
        self.roots_tried += 1
        try:
            self.last_root = {"module": module, "copy": copy.deepcopy(module),
                              "args": _detach(args), "line": line, "output": None}
        except Exception:
            self.last_root = None

    def observe_relu(self, module, output) -> None:
        """Per ReLU layer of the first training forward: the share of units zero for every example."""
        if not isinstance(output, torch.Tensor) or output.dim() < 2 or output.shape[0] < 8:
            return
        with torch.no_grad():
            units = output.detach().transpose(0, 1).flatten(1)  # (units or channels, examples...)
            if units.shape[0] >= 8:
                dead = float((units.abs().amax(1) == 0).float().mean())
                self.relu_dead = max(self.relu_dead, dead)

    def check_first_batch(self, module, args, output, line: int) -> None:
        if self.inputs_checked:
            return
        self.inputs_checked = True
        dead = self.relu_dead
        if dead >= 0.9:
            self.report("ZL908", line, (
                f"{dead:.0%} of the units of a ReLU layer in `{type(module).__name__}` output zero for "
                "every example of the first batch: they pass no gradient and never recover. Check "
                "the initialization, the input scale and the learning rate, or use LeakyReLU."))
        floats = [a for a in args if isinstance(a, torch.Tensor) and a.is_floating_point() and a.numel() > 1]
        if floats:
            x = floats[0].detach()
            peak, std = float(x.abs().max()), float(x.float().std())
            if peak > 50 or std > 20:
                self.report("ZL907", line, (
                    f"the first batch's inputs reach |x| = {peak:.4g} (std {std:.4g}): features this "
                    "large saturate activations and make the loss surface badly scaled. Normalize "
                    "the inputs (subtract the mean, divide by the std)."))
        if isinstance(output, torch.Tensor) and output.is_floating_point() and output.dim() >= 2 \
                and output.shape[0] >= 4 and output.shape[1] >= 2:
            rows = output.detach().flatten(1)
            if bool(torch.all(rows == rows[0:1])):
                self.report("ZL909", line, (
                    f"`{type(module).__name__}` returned the same output for all {rows.shape[0]} "
                    "examples of the first batch: it ignores its input. Check for a dead layer, "
                    "a zero-initialized weight or an input that is overwritten."))

    # ---- backward and optimizer steps ----------------------------------------------------
    def wrap_backward(self, original):
        probe = self

        def backward(*args, **kwargs):
            if probe.replaying:
                return original(*args, **kwargs)
            before = probe.stale_norms()
            result = original(*args, **kwargs)
            probe.backward_count += 1
            probe.last_kind = "backward"
            for opt, norm in before:
                after = _grad_norm(opt)
                state = probe.opt_state(opt)
                if after is not None:
                    entry = probe.steps_seen.get(state.get("last_line"))
                    if entry is not None and "stale" not in entry:
                        entry["stale"] = [norm, after]
            return result

        backward.__wrapped__ = original
        return backward

    def stale_norms(self) -> list:
        out = []
        for opt in self.optimizers:
            state = self.opt_state(opt)
            if state.get("norm_at_step") and state.get("grads_at_step") is not None:
                same = all(p.grad is g for p, g in zip(_params(opt), state["grads_at_step"]))
                norm = _grad_norm(opt)
                if same and norm is not None and norm > 0 and abs(norm - state["norm_at_step"]) <= 1e-6 * norm:
                    out.append((opt, norm))
        return out

    def opt_state(self, opt) -> dict:
        state = opt.__dict__.get("_zerolint")
        if state is None:
            state = opt.__dict__["_zerolint"] = {"backwards": 0}
            self.optimizers.append(opt)
        return state

    def step_pre(self, opt, args, kwargs) -> None:
        if self.replaying:
            return
        state = self.opt_state(opt)
        line = self.line() or 0
        entry = self.steps_seen.setdefault(line, {"line": line, "calls": 0, "without_grad": 0,
                                                  "unchanged": 0, "changed": 0, "before_backward": 0,
                                                  "optimizer": type(opt).__name__})
        entry["calls"] += 1
        self.last_kind = "step"
        if self.pending_evals:
            self.resolve_evals(opt)
        if state.get("backwards_at_step", 0) == self.backward_count:
            entry["before_backward"] = entry.get("before_backward", 0) + 1
        state["backwards_at_step"] = self.backward_count
        state["steps"] = state.get("steps", 0) + 1
        if self.current_loader in self.loaders:
            self.loaders[self.current_loader]["trained"] += 1
        if self.current_site in self.iter_sites:
            self.iter_sites[self.current_site]["steps"] += 1
        state["last_line"] = line
        params = _params(opt)
        grads = [p.grad for p in params]
        with_grad = [g is not None and bool(torch.any(g != 0)) for g in grads]
        state["pending"] = None
        if not any(with_grad):
            entry["without_grad"] += 1
        else:
            ever = state.setdefault("ever_grad", set())
            ever.update(id(p) for p, g in zip(params, with_grad) if g)
            state["steps_with_grad"] = state.get("steps_with_grad", 0) + 1
            if state["steps_with_grad"] == _GRAD_STEPS and not self.grad_checked:
                # judged over several steps: a zero-initialized branch gets gradients from step 2 on
                self.grad_checked = True
                self.check_missing_grads(params, [id(p) in ever for p in params], line)
        if any(g is not None and not bool(torch.all(torch.isfinite(g))) for g in grads):
            self.report("ZL904", line, "gradients contain NaN/Inf at this optimizer step: the "
                        "parameters become NaN. Lower the learning rate or clip gradients, and look "
                        "for log(0) or division by zero in the loss.")
        if entry["calls"] <= 3 and sum(p.numel() for p in params) <= 50_000_000:
            state["pending"] = [p.detach().clone() for p in params]

    def step_post(self, opt, args, kwargs) -> None:
        if self.replaying:
            return
        state = self.opt_state(opt)
        params = _params(opt)
        entry = self.steps_seen.get(state.get("last_line"))
        before = state.pop("pending", None)
        if entry is not None and before is not None:
            self.observe_rate(opt, before, params)
            changed = any(not torch.equal(b, p.detach()) for b, p in zip(before, params))
            entry["changed" if changed else "unchanged"] += 1
            if not changed and entry["calls"] > entry["without_grad"]:
                self.report("ZL903", entry["line"], (
                    f"`{type(opt).__name__}.step()` had gradients but left every parameter "
                    "unchanged: check the learning rate and which parameters the optimizer holds."))
        state["grads_at_step"] = [p.grad for p in params]
        state["norm_at_step"] = _grad_norm(opt)
        if entry is not None and entry["calls"] == 1:
            self.check_unoptimized_models(entry["line"])

    def check_missing_grads(self, params, with_grad, line: int) -> None:
        trainable = [(p, g) for p, g in zip(params, with_grad) if p.requires_grad]
        missing = [p for p, g in trainable if not g]
        if missing and len(missing) < len(trainable):
            count = sum(p.numel() for p in missing)
            self.report("ZL902", line, (
                f"{len(missing)} of the optimizer's {len(trainable)} trainable parameter tensors "
                f"({count} values) got no gradient in any of the first {_GRAD_STEPS} steps: they are not part of the "
                "loss's graph (unused layer, .detach(), a tensor rebuilt outside autograd) or sit "
                "behind dead units."))

    def check_unoptimized_models(self, line: int) -> None:
        root = self.overfit or self.last_root
        if root is None:
            return
        held = {id(p) for opt in self.optimizers for p in _params(opt)}
        module = root["module"]
        trained = [p for p in module.parameters() if p.requires_grad and p.grad is not None]
        if trained and not any(id(p) in held for p in module.parameters()):
            self.report("ZL903", line, (
                f"no optimizer holds the parameters of `{type(module).__name__}`, the model that "
                "produced the loss: optimizer.step() leaves it unchanged. Build the optimizer "
                "from this model's .parameters()."))

    # ---- ZL901: overfit the first batch --------------------------------------------------
    def consider_overfit(self, entry: dict, name: str, original, input, target, args, kwargs) -> None:
        root = self.last_root
        if self.overfit is not None or root is None or not torch.is_grad_enabled():
            return
        if root.get("output") is not input:
            return
        owner = sys._getframe(2).f_locals.get("self")
        loss_module = owner if isinstance(owner, nn.modules.loss._Loss) else None
        self.overfit = dict(root, loss_module=copy.deepcopy(loss_module) if loss_module else None,
                            function=original, target=target.detach().clone(), extra=args,
                            kwargs=kwargs, line=entry["line"], output=None)
        self.last_root = None

    def run_overfit(self) -> None:
        plan = self.overfit
        if plan is None:
            return
        opt = next((o for o in self.optimizers
                    if {id(p) for p in _params(o)} & {id(p) for p in plan["module"].parameters()}), None)
        if opt is None:
            return
        model = plan["copy"]
        model.train()
        names = {id(p): n for n, p in plan["module"].named_parameters()}
        copies = dict(model.named_parameters())
        groups = []
        for group in opt.param_groups:
            mapped = [copies[names[id(p)]] for p in group["params"] if id(p) in names]
            if mapped:
                groups.append(dict({k: v for k, v in group.items() if k != "params"}, params=mapped))
        try:
            spare = copy.deepcopy(model)
            fresh = type(opt)(groups)
        except Exception:
            return
        losses = self._replay(plan, model, fresh)
        self.overfit_losses[:] = losses or []
        if not losses or not _stuck(losses):
            return
        # Calibration: the script's own optimizer and learning rate did not memorize the batch. Only
        # when a known-good setup (Adam, lr 1e-3, same model, loss and batch) cannot either is the
        # fault in the model, the loss or the data; a small learning rate alone is not ZL901.
        spare.train()
        reference = self._replay(plan, spare, torch.optim.Adam(
            [p for p in spare.parameters() if p.requires_grad], lr=1e-3))
        if not reference or not _stuck(reference):
            return
        self.report("ZL901", plan["line"], (
            f"trained {_OVERFIT_STEPS} steps on the first batch alone, the loss went from "
            f"{losses[0]:.4g} to {losses[-1]:.4g} (and from {reference[0]:.4g} to {reference[-1]:.4g} "
            "with Adam at lr 1e-3): a working setup memorizes one batch quickly. Check the loss/target "
            "pairing, the output layer and that gradients reach the weights."))

    def _replay(self, plan: dict, model, optimizer) -> Optional[list]:
        losses: list = []
        self.replaying = True
        try:
            for _ in range(_OVERFIT_STEPS):
                optimizer.zero_grad()
                out = model(*plan["args"])
                if plan["loss_module"] is not None:
                    loss = plan["loss_module"](out, plan["target"])
                else:
                    loss = plan["function"](out, plan["target"], *plan["extra"], **plan["kwargs"])
                losses.append(float(loss.detach()))
                loss.backward()
                optimizer.step()
        except Exception:
            return None
        finally:
            self.replaying = False
        return losses

    # ---- torch.stack ---------------------------------------------------------------------
    def wrap_stack(self, original):
        probe = self

        def stack(tensors, *args, **kwargs):
            try:
                out = original(tensors, *args, **kwargs)
                line = probe.line()
                if line is not None:
                    probe.stack_ok[line] = probe.stack_ok.get(line, 0) + 1
                return out
            except Exception as exc:
                probe.stack_errors.setdefault(probe.line() or 0, f"{type(exc).__name__}: {_first_line(exc)}")
                raise

        return stack

    # ---- optimizer construction, zero_grad and scheduler order (ZL203, ZL206, ZL208) -----------
    def wrap_optimizer_init(self, original):
        probe = self
        held: set = set()  # ids of parameters some earlier optimizer already held

        def __init__(opt, params, *args, **kwargs):
            original(opt, params, *args, **kwargs)
            if probe.replaying:
                return
            line = probe.line()
            if line is None:
                return
            try:
                opt.__dict__["_zerolint_built"] = (line, float(opt.param_groups[0]["lr"]))
            except (KeyError, IndexError, TypeError, ValueError):
                pass
            ids = {id(p) for p in _params(opt)}
            entry = probe.constructed.setdefault(line, {"line": line, "calls": 0, "again": 0,
                                                        "optimizer": type(opt).__name__})
            entry["calls"] += 1
            if ids & held:
                entry["again"] += 1
            held.update(ids)

        return __init__

    def wrap_zero_grad(self, original):
        probe = self

        def zero_grad(opt, *args, **kwargs):
            if not probe.replaying:
                line = probe.line()
                state = probe.opt_state(opt)
                if line is not None:
                    entry = probe.zero_grads.setdefault(line, {"line": line, "calls": 0, "wiped": 0})
                    entry["calls"] += 1
                    fresh = probe.backward_count > state.get("backwards_at_step", 0)
                    if fresh and any(g is not None and bool(torch.any(g != 0))
                                     for g in (p.grad for p in _params(opt))):
                        entry["wiped"] += 1  # a backward's gradients cleared before any step used them
                state["backwards_at_zero"] = probe.backward_count
            return original(opt, *args, **kwargs)

        return zero_grad

    def wrap_scheduler_step(self, original):
        probe = self

        def step(scheduler, *args, **kwargs):
            caller = sys._getframe(1).f_code.co_name
            if not probe.replaying and getattr(scheduler, "optimizer", None) is not None:
                scheduler.optimizer.__dict__["_zerolint_scheduled"] = True
            if not probe.replaying and caller not in ("_initial_step", "__init__"):
                line = probe.line()
                opt = getattr(scheduler, "optimizer", None)
                if line is not None and opt is not None:
                    state = probe.opt_state(opt)
                    entry = probe.schedulers.setdefault(line, {"line": line, "calls": 0, "before_step": 0})
                    entry["calls"] += 1
                    steps = state.get("steps", 0)
                    if steps == state.get("steps_at_scheduler", 0):
                        entry["before_step"] += 1  # no optimizer.step() since the last scheduler step
                    state["steps_at_scheduler"] = steps
            return original(scheduler, *args, **kwargs)

        return step

    # ---- softmax: the dim it ran over, and that dim's size (ZL109, ZL111) ---------------------
    def wrap_softmax(self, name: str, original):
        probe = self

        def softmax(input, *args, **kwargs):
            if probe.in_softmax or probe.replaying or not isinstance(input, torch.Tensor):
                return original(input, *args, **kwargs)
            probe.in_softmax += 1  # F.softmax calls Tensor.softmax: observe the outer call only
            try:
                out = original(input, *args, **kwargs)
                probe.observe_softmax(name, input, args, kwargs, sys._getframe(1))
                return out
            finally:
                probe.in_softmax -= 1

        softmax.__wrapped__ = original
        return softmax

    def wrap_softmax_module(self, cls) -> None:
        """nn.Softmax()/nn.LogSoftmax() are judged where they are built (where the finding is)."""
        probe, init = self, cls.__init__

        def __init__(module, *args, **kwargs):
            init(module, *args, **kwargs)
            line = probe.line()
            if line is not None:
                module.__dict__["_zerolint_line"] = line

        cls.__init__ = __init__

    def observe_softmax(self, name: str, input, args, kwargs, caller) -> None:
        dim = args[0] if args else kwargs.get("dim")
        ndim = input.dim()
        implicit = dim is None
        if implicit:  # what PyTorch picks (with a deprecation warning) when no dim is given
            dim = 0 if ndim in (0, 1, 3) else 1
        if not isinstance(dim, int) or ndim == 0:
            return
        dim %= ndim
        owner = caller.f_locals.get("self") if caller is not None else None
        line = owner.__dict__.get("_zerolint_line") if isinstance(owner, nn.Module) else None
        line = line or self.line()
        if line is None:
            return
        entry = self.softmaxes.setdefault(line, {"line": line, "function": name, "calls": 0, "implicit": implicit,
                                                 "dim": dim, "shape": list(input.shape), "over_leading": 0,
                                                 "single": 0})
        entry["calls"] += 1
        if ndim >= 2 and dim == 0:
            entry["over_leading"] += 1  # over dim 0 of a batched tensor: the batch (or time), not classes
            entry["leading_shape"] = list(input.shape)
        if input.shape[dim] == 1:
            entry["single"] += 1  # over one unit: exp(x) / exp(x) = 1 whatever x is
            entry["single_shape"] = list(input.shape)

    # ---- gradient clipping against backward and step (ZL205) ----------------------------------
    def wrap_clip(self, name: str, original):
        probe = self

        def clip(parameters, *args, **kwargs):
            if not probe.replaying:
                if not isinstance(parameters, torch.Tensor):
                    parameters = list(parameters)  # a generator is consumed once: hand on the list
                probe.observe_clip(name, [parameters] if isinstance(parameters, torch.Tensor) else parameters)
            return original(parameters, *args, **kwargs)

        clip.__wrapped__ = original
        return clip

    def observe_clip(self, name: str, params: list) -> None:
        line = self.line()
        if line is None:
            return
        entry = self.clips.setdefault(line, {"line": line, "function": name, "calls": 0, "stale": 0,
                                             "cleared": 0})
        entry["calls"] += 1
        ids = {id(p) for p in params}
        holders = [o for o in self.optimizers if ids & {id(p) for p in _params(o)}]
        if holders:  # fresh: a backward() ran since this optimizer's last step and its last zero_grad()
            fresh = any(self.backward_count > max(self.opt_state(o).get("backwards_at_step", 0),
                                                  self.opt_state(o).get("backwards_at_zero", 0)) for o in holders)
        else:
            fresh = self.last_kind == "backward"
        cleared = not any(isinstance(p, torch.Tensor) and p.grad is not None and bool(torch.any(p.grad != 0))
                          for p in params)
        if cleared or not fresh:
            entry["stale"] += 1
            if cleared:
                entry["cleared"] += 1  # no gradient yet: the clip sits before this iteration's backward

    # ---- `name += value` (ZL207): the shrunk script calls this for every `+=` to a name ----------
    def accumulate(self, line: int, total, value):
        if not self.replaying:
            entry = self.accumulations.get(line)
            if entry is None:
                entry = self.accumulations[line] = {"line": line, "calls": 0, "with_graph": 0, "carried": 0}
            entry["calls"] += 1
            if isinstance(value, torch.Tensor) and value.requires_grad:
                entry["with_graph"] += 1
                if isinstance(total, torch.Tensor) and total.requires_grad:
                    entry["carried"] += 1  # the total already held earlier graphs, and keeps this one too
        return operator.iadd(total, value)

    # ---- learning rate: update-to-weight ratio of the first steps (ZL209) -------------------
    def observe_rate(self, opt, before: list, params: list) -> None:
        built = opt.__dict__.get("_zerolint_built")
        if built is None:
            return
        ratios = []
        with torch.no_grad():
            for b, p in zip(before, params):
                if p.dim() < 2 or p.grad is None or not bool(torch.any(p.grad != 0)):
                    continue
                scale = float(b.double().pow(2).mean().sqrt())
                if scale > 0:
                    ratios.append(float((p.detach().double() - b.double()).pow(2).mean().sqrt()) / scale)
        if not ratios:
            return
        # the weight tensor that moved most: a rate that overwrites any layer's init is implausible, and
        # one under which even that tensor barely moves is too small (the other tensors move less)
        line, base = built
        entry = self.rates.setdefault(line, {"line": line, "optimizer": type(opt).__name__, "base_lr": base,
                                             "ratios": [], "lrs": []})
        if len(entry["ratios"]) < 3:
            entry["ratios"].append(max(ratios))
            entry["lrs"].append(float(opt.param_groups[0]["lr"]))
            entry["scheduled"] = bool(opt.__dict__.get("_zerolint_scheduled"))

    # ---- eval() and the mode of the next training step (ZL303) --------------------------------
    def wrap_train(self, original):
        probe = self

        def train(module, mode=True):
            if probe.replaying or probe.in_train_call:
                return original(module, mode)
            probe.in_train_call += 1  # train() recurses into the children: record the outer call
            try:
                result = original(module, mode)
            finally:
                probe.in_train_call -= 1
            if not mode:
                probe.observe_eval(module)
            return result

        train.__wrapped__ = original
        return train

    def observe_eval(self, module) -> None:
        lines = self.stack_lines()  # the eval() call and the calls of the helpers that make it
        if not lines:
            return
        for line in lines:
            entry = self.mode_after_eval.setdefault(line, {"line": line, "module": type(module).__name__,
                                                           "evals": 0, "trained_eval": 0, "trained_train": 0})
            entry["evals"] += 1
        if len(self.pending_evals) < 32 and not any(p["module"]() is module and p["lines"] == lines
                                                    for p in self.pending_evals):
            self.pending_evals.append({"module": weakref.ref(module), "lines": lines,
                                       "params": {id(p) for p in module.parameters()}})

    def resolve_evals(self, opt) -> None:
        held = {id(p) for p in _params(opt)}
        keep = []
        for pending in self.pending_evals:
            module = pending["module"]()
            if module is None:
                continue
            if not pending["params"] & held:
                keep.append(pending)
                continue
            training = pending.get("forward_training", _training(module))
            for line in pending["lines"]:
                self.mode_after_eval[line]["trained_train" if training else "trained_eval"] += 1
        self.pending_evals = keep

    def stack_lines(self) -> list:
        lines, frame = [], sys._getframe(1)
        while frame is not None:
            if frame.f_code.co_filename == self.script:
                lines.append(frame.f_lineno)
            frame = frame.f_back
        return lines

    # ---- argmax / max(dim) (ZL305) ---------------------------------------------------------------
    def wrap_reduce(self, name: str, original, axis: str = "dim"):
        probe, script = self, self.script

        def reduce(input, *args, **kwargs):
            caller = sys._getframe(1)
            if caller.f_code.co_filename == script and not probe.replaying:
                dim = args[0] if args else kwargs.get(axis)
                if isinstance(dim, int) and not isinstance(dim, bool):
                    probe.observe_reduce(name, input, dim, caller.f_lineno)
            return original(input, *args, **kwargs)

        reduce.__wrapped__ = original
        return reduce

    def observe_reduce(self, name: str, input, dim: int, line: int) -> None:
        shape = getattr(input, "shape", None)
        if shape is None or len(shape) == 0 or not -len(shape) <= dim < len(shape):
            return
        size = int(shape[dim])
        entry = self.argmaxes.setdefault(line, {"line": line, "function": name, "calls": 0, "dim": dim,
                                                "shape": [int(n) for n in shape], "single": 0})
        entry["calls"] += 1
        if size == 1:
            entry["single"] += 1

    # ---- padded batches and the time step read from them (ZL402) -------------------------------
    def wrap_pad(self, name: str, original):
        probe = self

        def pad(*args, **kwargs):
            out = original(*args, **kwargs)
            if not probe.replaying:
                try:
                    probe.observe_padding(name, args, kwargs, out)
                except Exception:
                    pass
            return out

        pad.__wrapped__ = original
        return pad

    def observe_padding(self, name: str, args, kwargs, out) -> None:
        def arg(index: int, key: str, default):
            return args[index] if len(args) > index else kwargs.get(key, default)

        batch_first = bool(arg(1, "batch_first", False))
        if name == "pad_sequence":
            sequences, side, padded = arg(0, "sequences", None), arg(3, "padding_side", "right"), out
            if isinstance(sequences, torch.Tensor):
                return  # one tensor: every sequence has the same length, nothing is padding
            lengths = [int(s.size(0)) for s in sequences]
        else:
            padded, lens = out
            lengths, side = [int(n) for n in lens.tolist()], "right"
        self.mark_padded(padded, lengths, 1 if batch_first else 0, side)

    def mark_padded(self, tensor, lengths: list, time_dim: int, side: str) -> None:
        if not self.padded:
            self.install_getitem()
        if len(self.padded) > 256:
            self.padded = {k: v for k, v in self.padded.items() if v[0]() is not None}
        self.padded[id(tensor)] = (weakref.ref(tensor), lengths, time_dim, side)

    def follow_padding(self, module, x, output) -> None:
        """A module applied to a padded batch (an embedding, an RNN over it) returns one too."""
        info = self.padded.get(id(x))
        if info is None or info[0]() is not x:
            return
        out = output[0] if isinstance(output, tuple) and output else output
        if isinstance(out, torch.Tensor) and out is not x and out.dim() >= 2 \
                and tuple(out.shape[:2]) == tuple(x.shape[:2]):
            self.mark_padded(out, *info[1:])

    def install_getitem(self) -> None:
        probe, original, script = self, torch.Tensor.__getitem__, self.script

        def __getitem__(tensor, index):
            out = original(tensor, index)
            if probe.padded:
                info = probe.padded.get(id(tensor))
                if info is not None and info[0]() is tensor:
                    caller = sys._getframe(1)
                    line = caller.f_lineno if caller.f_code.co_filename == script else probe.line()
                    probe.observe_last_step(tensor, index, info, line)
            return out

        torch.Tensor.__getitem__ = __getitem__

    def observe_last_step(self, tensor, index, info: tuple, line: Optional[int]) -> None:
        _, lengths, time_dim, side = info
        if line is None or tensor.dim() <= time_dim:
            return
        if time_dim == 0:
            step = index[0] if isinstance(index, tuple) and index else index
        elif isinstance(index, tuple) and len(index) >= 2 and index[0] == slice(None):
            step = index[1]
        else:
            return
        if not isinstance(step, int) or isinstance(step, bool):
            return
        length = int(tensor.shape[time_dim])
        if not -length <= step < length:
            return
        step %= length
        padding = [n for n in lengths if (step >= n if side == "right" else step < length - n)]
        entry = self.last_steps.setdefault(line, {"line": line, "calls": 0, "step": step, "length": length,
                                                  "lengths": lengths[:16], "padding": 0})
        entry["calls"] += 1
        entry["padding"] = max(entry["padding"], len(padding))

    # ---- weights set to a constant (ZL501) -----------------------------------------------------
    def wrap_constant_init(self, name: str, original, method: bool = False):
        probe, script = self, self.script

        def init(tensor, *args, **kwargs):
            out = original(tensor, *args, **kwargs)
            if not probe.replaying and isinstance(tensor, torch.Tensor) and tensor.dim() >= 2 \
                    and tensor.shape[0] >= 2:
                if method:  # Tensor.fill_/zero_: only where the script itself calls them
                    caller = sys._getframe(1)
                    line = caller.f_lineno if caller.f_code.co_filename == script else None
                else:
                    line = probe.line()
                if line is not None:
                    probe.observe_constant(name, tensor, line)
            return out

        init.__wrapped__ = original
        return init

    def observe_constant(self, name: str, tensor, line: int) -> None:
        entry = self.const_inits.setdefault(line, {"line": line, "function": name, "calls": 0,
                                                   "shape": list(tensor.shape), "_tensors": []})
        entry["calls"] += 1
        if len(entry["_tensors"]) < 8 and not any(t is tensor for t, _ in entry["_tensors"]):
            entry["_tensors"].append((tensor, _identical_rows(tensor)))

    def judge_constants(self) -> list:
        """At the end of the run: are the rows (units) of each constant-initialized weight still
        identical, and did an optimizer step them?"""
        held = {}
        for opt in self.optimizers:
            steps = self.opt_state(opt).get("steps", 0)
            for p in _params(opt):
                held[p.data_ptr()] = max(held.get(p.data_ptr(), 0), steps)
        out = []
        for entry in self.const_inits.values():
            item = {k: v for k, v in entry.items() if k != "_tensors"}
            item.update(identical_at_init=0, identical_now=0, stepped=0, stepped_identical=0, steps=0, spread=0.0)
            for tensor, at_init in entry["_tensors"]:
                spread = _row_spread(tensor)
                now = spread < _ROW_SPREAD  # still (nearly) copies of one unit
                item["spread"] = max(item["spread"], spread)
                steps = held.get(tensor.data_ptr(), 0)
                item["identical_at_init"] += at_init
                item["identical_now"] += now
                item["steps"] = max(item["steps"], steps)
                if steps:
                    item["stepped"] += 1
                    item["stepped_identical"] += at_init and now
            out.append(item)
        return out

    # ---- DataLoaders (ZL403) -----------------------------------------------------------------
    def wrap_loader(self, loader_class) -> None:
        probe = self
        init, iterate = loader_class.__init__, loader_class.__iter__

        def __init__(loader, *args, **kwargs):
            init(loader, *args, **kwargs)
            line = probe.line()
            if line is not None:
                from torch.utils.data import SequentialSampler
                entry = probe.loaders.setdefault(line, {"line": line, "sequential": 0, "shuffled": 0,
                                                        "trained": 0})
                sequential = isinstance(getattr(loader, "sampler", None), SequentialSampler)
                entry["sequential" if sequential else "shuffled"] += 1
                loader.__dict__["_zerolint_line"] = line

        def __iter__(loader):
            probe.current_loader = loader.__dict__.get("_zerolint_line")
            site = probe.line()
            if site is not None:
                entry = probe.iter_sites.setdefault(site, {"line": site, "datasets": [], "steps": 0})
                if id(loader.dataset) not in entry["datasets"]:
                    entry["datasets"].append(id(loader.dataset))
            probe.current_site = site
            return iterate(loader)

        loader_class.__init__, loader_class.__iter__ = __init__, __iter__

    def result(self) -> dict:
        return {"losses": list(self.losses.values()), "steps": list(self.steps_seen.values()),
                "forwards": list(self.forwards.values()),
                "stack_errors": [{"line": k, "message": v} for k, v in self.stack_errors.items()],
                "stack_ok": [{"line": k, "calls": v} for k, v in self.stack_ok.items()],
                "constructed": list(self.constructed.values()), "zero_grads": list(self.zero_grads.values()),
                "schedulers": list(self.schedulers.values()), "loaders": list(self.loaders.values()),
                "iter_sites": list(self.iter_sites.values()),
                "softmaxes": list(self.softmaxes.values()), "clips": list(self.clips.values()),
                "accumulations": list(self.accumulations.values()), "rates": list(self.rates.values()),
                "mode_after_eval": list(self.mode_after_eval.values()), "argmaxes": list(self.argmaxes.values()),
                "last_steps": list(self.last_steps.values()), "rnns": list(self.rnns.values()),
                "constant_inits": self.judge_constants(),
                "runtime": self.runtime, "overfit_losses": self.overfit_losses[:: max(1, _OVERFIT_STEPS // 8)]}


def _stuck(losses: list) -> bool:
    first, last = losses[0], min(losses[-3:])
    return math.isfinite(first) and first > 1e-6 and (not math.isfinite(last) or last > 0.97 * first)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__


def _producer(tensor) -> Optional[str]:
    fn = tensor.grad_fn
    for _ in range(8):
        if fn is None:
            return None
        name = type(fn).__name__
        if not any(op in name for op in _VIEW_OPS):
            return name
        nxt = [f for f, _ in fn.next_functions if f is not None]
        fn = nxt[0] if nxt else None
    return None


def _stochastic(module) -> bool:
    return any(isinstance(m, (nn.modules.dropout._DropoutNd, nn.modules.batchnorm._BatchNorm))
               for m in module.modules())


def _training(module) -> bool:
    """Is the module in training mode where it matters: its Dropout/BatchNorm layers, else itself."""
    stochastic = [m for m in module.modules()
                  if isinstance(m, (nn.modules.dropout._DropoutNd, nn.modules.batchnorm._BatchNorm))]
    return all(m.training for m in stochastic) if stochastic else module.training


def _identical_rows(tensor) -> bool:
    """Are all rows (the units of a weight: dim 0) equal, up to float rounding?"""
    with torch.no_grad():
        rows = tensor.detach().flatten(1).double()
        return bool(torch.allclose(rows, rows[0:1].expand_as(rows), rtol=1e-5, atol=1e-7))


#: Rows of a weight whose spread (RMS distance from the mean row over the weight's RMS) stays below
#: this are still (near) copies of one unit: a random init spreads about 1.0, exact symmetry stays at
#: 0, and a constant init whose symmetry random biases break drifts apart by 1e-3 to 1e-1 over the
#: first steps, depending on the learning rate.
_ROW_SPREAD = 0.25


def _row_spread(tensor) -> float:
    with torch.no_grad():
        rows = tensor.detach().flatten(1).double()
        scale = float(rows.pow(2).mean().sqrt())
        return float((rows - rows.mean(0)).pow(2).mean().sqrt()) / scale if scale > 0 else 0.0


def _detach(args):
    return tuple(a.detach().clone() if isinstance(a, torch.Tensor) else a for a in args)


def _params(opt) -> list:
    return [p for group in opt.param_groups for p in group["params"]]


def _grad_norm(opt) -> Optional[float]:
    grads = [p.grad for p in _params(opt) if p.grad is not None]
    if not grads:
        return None
    with torch.no_grad():
        return float(sum(float(g.double().pow(2).sum()) for g in grads) ** 0.5)


def _cap_iter(iterable, limit: int):
    """Used by the shrunk script: iterate at most ``limit`` items of a loop's iterable."""
    for index, item in enumerate(iterable):
        if index >= limit:
            return
        yield item


class _WhileCap:
    """Used by the shrunk script: ``while __zerolint_while__(key, cond)`` runs at most ``limit`` times.

    The count restarts each time the loop ends by its condition or by the cap, and per frame, so a
    loop in a function called again starts afresh."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.counts: dict = {}

    def __call__(self, key: int, condition) -> bool:
        frame = sys._getframe(1)
        slot = (key, id(frame))
        if not condition:
            self.counts.pop(slot, None)
            return False
        seen = self.counts.get(slot, 0) + 1
        if seen > self.limit:
            self.counts.pop(slot, None)
            return False
        self.counts[slot] = seen
        return True


def install(probe: Probe) -> None:
    from torch.nn.modules import module as module_hooks
    from torch.optim import optimizer as optimizer_hooks

    for name in (*_CE_FAMILY, *_BCE_FAMILY, *_OTHER_LOSSES):
        setattr(F, name, probe.wrap_loss(name, getattr(F, name)))
    torch.autograd.backward = probe.wrap_backward(torch.autograd.backward)
    torch.stack = probe.wrap_stack(torch.stack)
    module_hooks.register_module_forward_pre_hook(probe.forward_pre)
    module_hooks.register_module_forward_hook(probe.forward_post, always_call=True)
    optimizer_hooks.register_optimizer_step_pre_hook(probe.step_pre)
    optimizer_hooks.register_optimizer_step_post_hook(probe.step_post)
    builtins.__zerolint_cap__ = lambda iterable: _cap_iter(iterable, probe.steps)
    builtins.__zerolint_while__ = _WhileCap(probe.steps)
    torch.optim.Optimizer.__init__ = probe.wrap_optimizer_init(torch.optim.Optimizer.__init__)
    torch.optim.Optimizer.zero_grad = probe.wrap_zero_grad(torch.optim.Optimizer.zero_grad)
    from torch.optim import lr_scheduler
    base = getattr(lr_scheduler, "LRScheduler", None) or lr_scheduler._LRScheduler
    base.step = probe.wrap_scheduler_step(base.step)
    from torch.utils.data import DataLoader
    probe.wrap_loader(DataLoader)
    # ZL109/ZL111: every softmax entry point; nn.Softmax/nn.LogSoftmax call F.softmax/F.log_softmax
    for owner in (F, torch):
        for name in ("softmax", "log_softmax"):
            setattr(owner, name, probe.wrap_softmax(name, getattr(owner, name)))
    for name in ("softmax", "log_softmax"):
        setattr(torch.Tensor, name, probe.wrap_softmax(name, getattr(torch.Tensor, name)))
    probe.wrap_softmax_module(nn.Softmax)
    probe.wrap_softmax_module(nn.LogSoftmax)
    # ZL205: gradient clipping, under every name a script reaches it by
    from torch.nn.utils import clip_grad
    for name in ("clip_grad_norm_", "clip_grad_value_", "clip_grad_norm"):
        original = getattr(clip_grad, name, None)
        if original is not None:
            wrapped = probe.wrap_clip(name, original)
            setattr(clip_grad, name, wrapped)
            if getattr(torch.nn.utils, name, None) is original:
                setattr(torch.nn.utils, name, wrapped)
    builtins.__zerolint_iadd__ = probe.accumulate  # ZL207: `name += value` in the shrunk script
    nn.Module.train = probe.wrap_train(nn.Module.train)  # ZL303 (eval() calls train(False))
    # ZL305: argmax / max over a dim (torch and numpy)
    torch.argmax = probe.wrap_reduce("argmax", torch.argmax)
    torch.max = probe.wrap_reduce("max", torch.max)
    torch.Tensor.argmax = probe.wrap_reduce("argmax", torch.Tensor.argmax)
    torch.Tensor.max = probe.wrap_reduce("max", torch.Tensor.max)
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        numpy.argmax = probe.wrap_reduce("argmax", numpy.argmax, axis="axis")
    # ZL402: padded batches (Tensor.__getitem__ is wrapped once a padded batch exists)
    from torch.nn.utils import rnn
    for name in ("pad_sequence", "pad_packed_sequence"):
        setattr(rnn, name, probe.wrap_pad(name, getattr(rnn, name)))
    # ZL501: weights set to a constant
    for name in ("zeros_", "ones_", "constant_"):
        setattr(nn.init, name, probe.wrap_constant_init(name, getattr(nn.init, name)))
    for name in ("fill_", "zero_"):
        setattr(torch.Tensor, name, probe.wrap_constant_init(name, getattr(torch.Tensor, name), method=True))


def _error(exc: BaseException, script: str) -> dict:
    lines = [lineno for frame, lineno in traceback.walk_tb(exc.__traceback__)
             if frame.f_code.co_filename == script]
    message, kind = _first_line(exc), type(exc).__name__
    text = str(exc)
    if "Original Traceback" in text:  # raised in a DataLoader worker: its own traceback is text
        import re
        worker = [int(n) for n in re.findall(r'File "' + re.escape(script) + r'", line (\d+)', text)]
        lines = lines + worker
        last = [t for t in text.strip().splitlines() if t.strip()][-1]
        kind, _, rest = last.partition(": ")
        message = rest.strip()[:300] or last[:300]
    line = lines[-1] if lines else None
    info: dict[str, Any] = {"type": kind, "message": message, "line": line, "lines": lines}
    if isinstance(exc, NameError) and getattr(exc, "name", None) and not _bound(script, exc.name):
        info["undefined"] = exc.name  # a snippet, not a script: the name is never defined
    if isinstance(exc, ModuleNotFoundError):
        info["missing_module"] = exc.name
    if isinstance(exc, FileNotFoundError):
        info["missing_file"] = exc.filename
    return info


def _forking(get_context):
    def get(method=None):
        return get_context("fork" if method in ("spawn", "forkserver") else method)
    return get


def _load_sandbox():
    """sandbox.py sits next to this file; load it without importing zerolint."""
    import importlib.util
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sandbox.py")
    spec = importlib.util.spec_from_file_location("_zerolint_sandbox", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _watch_parent(fd: int, tmp: str) -> None:
    """Die with zerolint: the parent holds the pipe's write end; EOF means it is gone."""
    import threading

    import shutil as _shutil
    import signal

    def leave(*_args) -> None:
        try:
            _shutil.rmtree(tmp, ignore_errors=True)
        finally:
            os._exit(137)

    def watch() -> None:
        try:
            while os.read(fd, 1):
                pass
        except OSError:
            pass
        leave()

    threading.Thread(target=watch, name="zerolint-parent-watch", daemon=True).start()
    signal.signal(signal.SIGTERM, leave)
    try:  # and the kernel's own SIGTERM if the parent dies, in case this thread cannot run
        import ctypes
        ctypes.CDLL(None).prctl(1, int(signal.SIGTERM))  # PR_SET_PDEATHSIG
        if os.getppid() == 1:
            leave()
    except Exception:
        pass


def _limit_memory(gib: float) -> None:
    """Cap the address space at what torch already holds plus ``gib`` GiB (CPU runs only)."""
    if gib <= 0:
        return
    try:
        import resource
        with open("/proc/self/statm") as handle:
            used = int(handle.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        limit = used + int(gib * (1 << 30))
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except Exception:
        pass


def _bound(script: str, name: str) -> bool:
    """Does the script bind ``name`` anywhere (assignment, def, class, import, loop, with, ...)?"""
    import ast
    try:
        with open(script, encoding="utf-8") as handle:
            tree = ast.parse(handle.read())
    except (OSError, SyntaxError, ValueError):
        return True
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)) and node.id == name:
            return True
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name == name:
            return True
        if isinstance(node, ast.alias) and (node.asname or node.name.split(".")[0]) == name:
            return True
        if isinstance(node, ast.arg) and node.arg == name:
            return True
        if isinstance(node, (ast.Global, ast.Nonlocal)) and name in node.names:
            return True
    return False


def _exit_line(exc: BaseException, script: str) -> Optional[int]:
    line = None
    for frame, lineno in traceback.walk_tb(exc.__traceback__):
        if frame.f_code.co_filename == script:
            line = lineno
    return line


def _is_memory_error(exc: BaseException) -> bool:
    text = str(exc)
    return isinstance(exc, MemoryError) or "can't allocate memory" in text or \
        "DefaultCPUAllocator: not enough memory" in text or "CUDA out of memory" in text


def main(argv: list) -> int:
    shrunk, script, out_path, steps, device = argv[1], argv[2], argv[3], int(argv[4]), argv[5]
    tmp = os.path.dirname(out_path)
    pipe_fd = int(argv[6]) if len(argv) > 6 else -1
    memory_gib = float(argv[7]) if len(argv) > 7 else 0.0
    if pipe_fd >= 0:
        _watch_parent(pipe_fd, tmp)
    probe = Probe(script, steps)
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda":
        if not torch.cuda.is_available():
            sys.stderr.write("zerolint probe: --device cuda, but torch sees no CUDA device\n")
            return EXIT_NO_CUDA
        torch.set_default_device("cuda")
    torch.manual_seed(0)  # the same evidence on every run, unless the script seeds itself
    install(probe)
    with open(shrunk, encoding="utf-8") as handle:
        code = compile(handle.read(), script, "exec")
    sandbox = _load_sandbox()
    import multiprocessing
    if device == "cpu":  # DataLoader workers must inherit the sandbox: fork them, never start afresh
        try:
            multiprocessing.set_start_method("fork", force=True)
            import torch.multiprocessing as torch_mp
            for owner in (multiprocessing, torch_mp):
                owner.get_context = _forking(owner.get_context)
        except (RuntimeError, ValueError):
            pass
    sandbox.install(os.path.join(tmp, "fs"), (tmp, "/dev", "/proc", "/sys"))
    sandbox.patch_torch(torch)
    if device == "cpu":
        _limit_memory(memory_gib)
    sys.path[0] = os.path.dirname(script)
    sys.argv = [script]
    namespace = {"__name__": "__main__", "__file__": script, "__builtins__": builtins}
    outcome: dict[str, Any] = {"status": "finished", "device": device}
    ran: set = set()  # the findings' lines that ran (the shrunk copy reports them)
    builtins.__zerolint_ran__ = lambda first, last: ran.update(range(first, last + 1))
    builtins.__zerolint_at__ = lambda first, last, value: (ran.update(range(first, last + 1)), value)[1]
    try:
        exec(code, namespace)
    except SystemExit as exc:
        line = _exit_line(exc, script)
        if exc.code not in (None, 0):
            outcome = {"status": "error", "error": {"type": "SystemExit", "message": f"exit status {exc.code}",
                                                    "line": line}}
        else:
            outcome = {"status": "exited", "exit_line": line}
    except BaseException as exc:  # the user's script failing is an observation, not our crash
        outcome = {"status": "error", "error": _error(exc, script)}
        if sandbox.network_attempt() and isinstance(exc, OSError) or _caused_by(exc, sandbox.NetworkBlocked):
            outcome["error"]["network"] = sandbox.network_attempt() or "network access"
        elif _is_memory_error(exc):
            outcome["error"]["memory_gib"] = memory_gib
    outcome["device"] = device
    outcome["ran_lines"] = sorted(ran)
    # Frameworks the probe does not instrument: their lines run without observations
    outcome["frameworks"] = [name for name in ("tensorflow", "keras", "jax") if name in sys.modules]
    try:
        probe.run_overfit()
    except Exception:
        pass
    outcome.update(probe.result())
    with open(out_path, "w", encoding="utf-8") as handle:
        json.dump(outcome, handle)
    return 0


def _caused_by(exc: BaseException, kind: type) -> bool:
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, kind):
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False


if __name__ == "__main__":
    sys.exit(main(sys.argv))

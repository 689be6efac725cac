"""PyTorch Lightning: LightningModule subclasses are modules; ``self.manual_backward(loss)`` backpropagates;
``self.optimizers()`` returns what ``configure_optimizers`` built (one optimizer, or a list to unpack).

Under manual optimization (``self.automatic_optimization = False``) the Trainer calls ``training_step`` once
per batch and the user writes the order of ``opt.zero_grad()``, ``self.manual_backward(loss)`` and
``opt.step()`` in it: its body is one training iteration (``PER_BATCH``). Under automatic optimization the
Trainer clears, backpropagates the returned loss and steps around it, so the body holds no step to judge.
"""
from __future__ import annotations

from typing import Any

import libcst as cst

from .. import facts as F
from .. import values as V
from ..names import dotted, literal
from ..util import PASS, is_false
from ..walk import descendants
from .tensor import backward


def _optimizer_list(value: Any) -> list | None:
    """The optimizers of a configure_optimizers return, in order: one, a list/tuple, ([optimizers], [schedulers]),
    a dict with "optimizer" (and "lr_scheduler"), or a list/tuple of such dicts."""
    if isinstance(value, V.Optimizer):
        return [value]
    if isinstance(value, V.Record) and isinstance(value.get("optimizer"), V.Optimizer):
        return [value.get("optimizer")]
    if isinstance(value, V.Seq) and value.items:
        found = [_optimizer_list(item) if isinstance(item, V.Record) else [item] for item in value.items]
        if all(f is not None and len(f) == 1 and isinstance(f[0], V.Optimizer) for f in found):
            return [f[0] for f in found]
        first = value.items[0]
        if isinstance(first, (V.Seq, V.Optimizer)) and len(value.items) == 2 and isinstance(value.items[1], V.Seq):
            return _optimizer_list(first)
    return None


def _optimizers(ip, recv, recv_text, method, node, args, kwargs) -> Any:
    """``opt_g, opt_d = self.optimizers()`` in a LightningModule (manual optimization)."""
    cls = recv.cls if isinstance(recv, V.Instance) else getattr(getattr(recv, "info", None), "cls", None)
    fn = cls.methods.get("configure_optimizers") if cls is not None else None
    if fn is None:
        return PASS
    found = _optimizer_list(ip.summary(fn, [], {}))
    if not found:
        return None
    return found[0] if len(found) == 1 else V.Seq(tuple(found))


def _save_hyperparameters(ip, recv, recv_text, method, node, args, kwargs) -> Any:
    """``self.save_hyperparameters()`` in ``__init__``: ``self.hparams`` holds the constructor's arguments (their
    values as bound here: the caller's where every call site agrees, else the default); given one dict/Namespace,
    its fields; given names, those arguments; ``ignore=`` names are left out."""
    cls = recv.cls if isinstance(recv, V.Instance) else getattr(getattr(recv, "info", None), "cls", None)
    if cls is None:
        return PASS
    names = [literal(a.value) for a in node.args
             if a.keyword is None and isinstance(a.value, cst.SimpleString)]
    if len(args) == 1 and not names and isinstance(args[0], V.Record):
        fields = dict(args[0].fields)
    elif len(args) == 1 and not names and isinstance(args[0], V.Namespace):
        fields = dict(args[0].defaults)
    elif args and len(names) != len(args) or any(a.star for a in node.args):
        fields = None  # something we cannot read: hparams stays unknown
    else:
        params = [p.name.value for p in ip.facts.params][1:] if ip.facts is not None else []
        ignored = set()
        for arg in node.args:
            if arg.keyword is not None and arg.keyword.value == "ignore":
                value = arg.value
                items = value.elements if isinstance(value, (cst.List, cst.Tuple)) else [value]
                ignored = {getattr(getattr(i, "value", i), "evaluated_value", None) for i in items}
        fields = {n: ip.env.get(n) for n in (names or params) if n not in ignored}
    cls.attrs["hparams"] = V.Record(fields) if fields is not None else None
    return None


_BATCH_HOOKS = ("on_train_batch_start", "training_step", "training_step_end", "on_train_batch_end")


def _manual_optimization(nodes: list) -> dict:
    """``training_step`` runs once per batch with the step order the user wrote, under manual optimization,
    between the ``on_train_batch_start`` and ``on_train_batch_end`` hooks."""
    if any(_manual(node) for node in nodes):
        return {"training_step": _BATCH_HOOKS}
    return {}


def _manual(node: cst.ClassDef) -> bool:
    """Manual optimization, as written in the class: `automatic_optimization = False` (a class attribute or a
    `self.` store), a property returning False, or a call of manual_backward (which Lightning refuses under
    automatic optimization). Read from the nodes, so comments and strings do not count."""
    for item in descendants(node):
        if isinstance(item, (cst.Assign, cst.AnnAssign)):
            targets = [t.target for t in item.targets] if isinstance(item, cst.Assign) else [item.target]
            if any(dotted(t) in ("automatic_optimization", "self.automatic_optimization") for t in targets) \
                    and is_false(item.value):
                return True
        elif isinstance(item, cst.FunctionDef) and item.name.value == "automatic_optimization":
            if any(isinstance(r, cst.Return) and is_false(r.value) for r in descendants(item.body)):
                return True
        elif isinstance(item, cst.Call) and isinstance(item.func, cst.Attribute) \
                and item.func.attr.value == "manual_backward":
            return True
    return False


def _lr_schedulers(ip, recv, recv_text, method, node, args, kwargs) -> Any:
    """``sch = self.lr_schedulers()``: the scheduler(s) configure_optimizers returned (a scheduler either way)."""
    cls = recv.cls if isinstance(recv, V.Instance) else getattr(getattr(recv, "info", None), "cls", None)
    if cls is None or "configure_optimizers" not in cls.methods:
        return PASS
    return V.Scheduler("lightning.lr_schedulers")


def _clip_gradients(ip, recv, recv_text, method, node, args, kwargs) -> Any:
    """``self.clip_gradients(opt, gradient_clip_val=...)`` in a LightningModule clips that optimizer's gradients."""
    cls = recv.cls if isinstance(recv, V.Instance) else getattr(getattr(recv, "info", None), "cls", None)
    if cls is None or not cls.is_module:
        return PASS
    ip.emit(F.CLIP, node)
    return None


def _no_event(ip, recv, recv_text, method, node, args, kwargs) -> Any:
    """``self.toggle_optimizer(opt)`` / ``untoggle_optimizer``: requires_grad of the other optimizers'
    parameters switched off and back; no gradient is cleared, computed or applied."""
    cls = recv.cls if isinstance(recv, V.Instance) else getattr(getattr(recv, "info", None), "cls", None)
    return None if cls is not None and cls.is_module else PASS


def _optimizer_attribute(ip, base, name) -> Any:
    """``opt.optimizer``: the optimizer a LightningOptimizer (what ``self.optimizers()`` returns) wraps."""
    return base if name == "optimizer" else None


METHODS = {"manual_backward": backward, "optimizers": _optimizers, "save_hyperparameters": _save_hyperparameters,
           "lr_schedulers": _lr_schedulers, "clip_gradients": _clip_gradients,
           "toggle_optimizer": _no_event, "untoggle_optimizer": _no_event}
MODULE_BASES = {"LightningModule": "torch"}
PER_BATCH = {"LightningModule": _manual_optimization}
BATCH_METHODS = {"LightningModule": ("training_step",)}  # validation/test steps run with gradients off
ATTRIBUTES = {V.Optimizer: _optimizer_attribute}

# A LightningModule's attributes that hold settings and loop state, not parameters (model/reach.py).
PLAIN_MODULE_ATTRIBUTES = frozenset(("hparams", "trainer", "logger", "global_step", "current_epoch", "local_rank",
                                     "global_rank", "automatic_optimization", "example_input_array", "fabric"))

"""torch.optim and friends: optimizers, schedulers, AMP grad scalers, the step/zero_grad methods.

Add an optimizer family: its package in ``PREFIXES`` (``_optimizer_family``); an optimizer name known
everywhere: ``values.OPTIMIZERS``.
"""
from __future__ import annotations

from typing import Any

import libcst as cst

from .. import facts as F
from .. import values as V
from ..names import dotted
from ..naming import SCALER_NAME, SCHEDULER_NAME, is_optimizer_name, last_name
from ..util import PASS, kw, moved, number


def _torch_optim(ip, qual: str, node: cst.Call, args: list, kwargs: dict) -> Any:
    """``torch.optim.<Optimizer>(params, lr)`` records OPTIMIZER_NEW; ``torch.optim.lr_scheduler.*``."""
    name = qual.rsplit(".", 1)[-1]
    if "lr_scheduler" in qual:
        return V.Scheduler(qual)
    if name in V.OPTIMIZERS or name[:1].isupper() and name != "Optimizer":
        value = V.Optimizer(qual, number(kw(kwargs, args, "lr", 1)))
        ip.emit(F.OPTIMIZER_NEW, node, optimizer=value,
                lr_from_cli=isinstance(kw(kwargs, args, "lr", 1), V.CliDefault))
        return value
    return None


def _optimizer_family(ip, qual, node, args, kwargs) -> Any:
    """bitsandbytes / apex / timm optimizers named like torch's (no OPTIMIZER_NEW event)."""
    if qual.rsplit(".", 1)[-1] in V.OPTIMIZERS:
        return V.Optimizer(qual, number(kw(kwargs, args, "lr", 1)))
    return None


def _grad_scaler(ip, qual, node, args, kwargs) -> Any:
    return V.Scaler(qual)


def _xla_step(ip, qual, node, args, kwargs) -> Any:
    ip.emit(F.STEP, node, closure=None, has_closure_arg=False,
            optimizer=dotted(node.args[0].value) if node.args else None)
    return None


# ------------------------------------------------------------------ methods
def _zero_grad(ip, recv, recv_text, method, node, args, kwargs) -> Any:
    ip.emit(F.ZERO_GRAD, node)
    return None


def _step(ip, recv, recv_text, method, node: cst.Call, args: list, kwargs: dict) -> Any:
    """optimizer.step(), optimizer.step(closure), scheduler.step(), scaler.step(optimizer)."""
    closure = kw(kwargs, args, "closure", 0)
    if isinstance(recv, V.Optimizer) or recv is None and is_optimizer_name(recv_text) and len(node.args) <= 1:
        if node.args and not isinstance(closure, V.Function) and not isinstance(node.args[0].value, cst.Lambda) \
                and (node.args[0].keyword is None or node.args[0].keyword.value != "closure"):
            return None  # e.g. DistributedOptimizer.step(context_id): not a local gradient step
        ip.emit(F.STEP, node, closure=closure.facts if isinstance(closure, V.Function) else None,
                has_closure_arg=bool(node.args), optimizer=recv_text)
    elif isinstance(recv, V.Scheduler) or recv is None and SCHEDULER_NAME.search(last_name(recv_text)):
        ip.emit(F.SCHEDULER_STEP, node)
    elif (isinstance(recv, V.Scaler) or recv is None and SCALER_NAME.search(last_name(recv_text))) and node.args:
        arg_text = dotted(node.args[0].value)
        ip.emit(F.STEP, node, closure=None, has_closure_arg=False, optimizer=arg_text)
    return None


def _scale(ip, recv, recv_text, method, node, args, kwargs) -> Any:
    """scaler.scale(loss): the loss."""
    if args and (isinstance(recv, V.Scaler) or SCALER_NAME.search(recv_text or "")):
        return args[0]
    return PASS


KEY_STORES = dict.fromkeys(("lr", "learning_rate"), F.LR_SET)  # param_group["lr"] = ...: lr driven by hand
CALLS = dict.fromkeys(("torch.GradScaler", "torch.amp.GradScaler", "torch.cuda.amp.GradScaler",
                       "torch.cpu.amp.GradScaler", "torch.amp.grad_scaler.GradScaler",
                       "torch.cuda.amp.grad_scaler.GradScaler"), _grad_scaler)
PREFIXES = {
    "torch.optim": _torch_optim,
    **dict.fromkeys(("bitsandbytes", "apex", "timm"), _optimizer_family),
}
SUFFIXES = {"xla_model.optimizer_step": _xla_step}
METHODS = {"zero_grad": _zero_grad, "step": _step, "scale": _scale}
RECEIVERS = {V.Scaler: moved}

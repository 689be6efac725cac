"""torch.optim and friends: optimizers, schedulers, AMP grad scalers, the step/zero_grad methods.

Add an optimizer family: its package in ``PREFIXES`` (``_optimizer_family``); an optimizer name known
everywhere: ``values.OPTIMIZERS``.
"""
from __future__ import annotations

from typing import Any

import libcst as cst

from .. import facts as F
from .. import values as V
from ..names import dotted, literal
from ..naming import SCALER_NAME, SCHEDULER_NAME, is_optimizer_name, last_name
from ..util import PASS, kw, moved, number


_PARAM_METHODS = ("parameters", "named_parameters")
_PARAM_WRAPPERS = ("chain", "list", "tuple", "filter", "itertools.chain")


def _owned(ip, node: Any, found: dict) -> bool:
    """Collect the modules whose parameters an optimizer's ``params`` expression names.

    ``m.parameters()``, ``chain(a.parameters(), b.parameters())``, ``list(a.parameters()) + [...]``,
    ``filter(lambda p: p.requires_grad, m.parameters())``, param groups ``[{"params": ..., "lr": ...}]``.
    False when any part is something else (a variable, a comprehension): ownership is then unknown.
    """
    if isinstance(node, cst.Call):
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value in _PARAM_METHODS:
            recv = ip.quiet_eval(func.value)
            if not isinstance(recv, V.Module):
                return False
            found[V.module_key(recv.info)] = dotted(func.value)
            if isinstance(found, _Found):
                found.trees |= V.module_tree(recv.info, _via(ip, func.value))
            return True
        if dotted(func) in _PARAM_WRAPPERS:
            parts = [a.value for a in node.args if not isinstance(a.value, cst.Lambda)]
            return bool(parts) and all(_owned(ip, part, found) for part in parts)
        return False
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Add):
        return _owned(ip, node.left, found) and _owned(ip, node.right, found)
    if isinstance(node, (cst.List, cst.Tuple)):
        return bool(node.elements) and all(
            not isinstance(el, cst.StarredElement) and _owned(ip, el.value, found) for el in node.elements)
    if isinstance(node, cst.Dict):
        params = [el.value for el in node.elements if isinstance(el, cst.DictElement)
                  and isinstance(el.key, cst.SimpleString) and literal(el.key) == "params"]
        return len(params) == 1 and _owned(ip, params[0], found)
    return False


class _Found(dict):
    """module key -> text, and the keys of those modules with their submodules (``trees``)."""

    def __init__(self) -> None:
        super().__init__()
        self.trees: set = set()


def _via(ip, node: cst.BaseExpression) -> Any:
    """(class, attribute) of ``model.encoder`` / ``self.actor`` when the base is a local class."""
    if not isinstance(node, cst.Attribute):
        return None
    base = ip.quiet_peek(node.value)
    cls = base.cls if isinstance(base, V.Instance) else getattr(getattr(base, "info", None), "cls", None)
    return (cls, node.attr.value) if cls is not None else None


def owns(ip, node: cst.Call) -> tuple:
    """(module keys, their texts) an optimizer call's params name; (None, ()) when unknown."""
    return ownership(ip, node)[:2]


def ownership(ip, node: cst.Call) -> tuple:
    """(module keys, their texts, the keys of those modules and their submodules); (None, (), None): unknown."""
    arg = next((a.value for a in node.args if a.keyword is None or a.keyword.value == "params"), None)
    found = _Found()
    if arg is None or not _owned(ip, arg, found):
        return None, (), None
    return frozenset(found), tuple(found.values()), frozenset(found.trees)


def trains_soft_prompts(ip, node: cst.Call) -> bool:
    """Does the optimizer train `model.parameters()` of a peft prompt-learning model (soft prompts only)?"""
    arg = next((a.value for a in node.args if a.keyword is None or a.keyword.value == "params"), None)
    if isinstance(arg, cst.Call) and isinstance(arg.func, cst.Attribute) and arg.func.attr.value in _PARAM_METHODS:
        recv = ip.quiet_eval(arg.func.value)
        return isinstance(recv, V.Module) and recv.info.prompt_learning
    return False


def _torch_optim(ip, qual: str, node: cst.Call, args: list, kwargs: dict) -> Any:
    """``torch.optim.<Optimizer>(params, lr)`` records OPTIMIZER_NEW; ``torch.optim.lr_scheduler.*``."""
    name = qual.rsplit(".", 1)[-1]
    if "lr_scheduler" in qual:
        if name in LR_SETTING_SCHEDULERS:
            ip.emit(F.LR_SET, node)
        return V.Scheduler(qual)
    if name in V.OPTIMIZERS or name[:1].isupper() and name != "Optimizer":
        keys, texts, params = ownership(ip, node)
        value = V.Optimizer(qual, number(kw(kwargs, args, "lr", 1)), keys, texts, params)
        ip.emit(F.OPTIMIZER_NEW, node, optimizer=value,
                lr_from_cli=isinstance(kw(kwargs, args, "lr", 1), V.CliDefault),
                prompt_learning=trains_soft_prompts(ip, node))
        return value
    return None


def _optimizer_family(ip, qual, node, args, kwargs) -> Any:
    """bitsandbytes / apex / timm optimizers named like torch's (no OPTIMIZER_NEW event)."""
    if qual.rsplit(".", 1)[-1] in V.OPTIMIZERS:
        keys, texts, params = ownership(ip, node)
        return V.Optimizer(qual, number(kw(kwargs, args, "lr", 1)), keys, texts, params)
    return None


def _lr_finder(ip, qual, node, args, kwargs) -> Any:
    """torch_lr_finder.LRFinder(model, optimizer, ...): a range test sweeps the optimizer's lr from its start."""
    if qual.rsplit(".", 1)[-1] == "LRFinder":
        ip.emit(F.LR_SET, node)
    return None


def _grad_scaler(ip, qual, node, args, kwargs) -> Any:
    return V.Scaler(qual)


def _xla_step(ip, qual, node, args, kwargs) -> Any:
    ip.emit(F.STEP, node, closure=None, has_closure_arg=False,
            optimizer=dotted(node.args[0].value) if node.args else None)
    return None


# ------------------------------------------------------------------ methods
def _zero_grad(ip, recv, recv_text, method, node, args, kwargs) -> Any:
    """optimizer.zero_grad() clears the parameters it owns; model.zero_grad() those of the module."""
    if isinstance(recv, V.Optimizer):
        ip.emit(F.ZERO_GRAD, node, covers=recv.owns, texts=recv.owner_texts, optimizer=recv_text)
    elif isinstance(recv, V.Module):
        ip.emit(F.ZERO_GRAD, node, covers=frozenset((V.module_key(recv.info),)), texts=(recv_text,),
                optimizer=None)
    else:
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
                has_closure_arg=bool(node.args), optimizer=recv_text,
                owns=recv.owns if isinstance(recv, V.Optimizer) else None,
                texts=recv.owner_texts if isinstance(recv, V.Optimizer) else (),
                params=recv.params if isinstance(recv, V.Optimizer) else None)
    elif isinstance(recv, V.Scheduler) or recv is None and SCHEDULER_NAME.search(last_name(recv_text)):
        ip.emit(F.SCHEDULER_STEP, node)
    elif (isinstance(recv, V.Scaler) or recv is None and SCALER_NAME.search(last_name(recv_text))) and node.args:
        arg_text = dotted(node.args[0].value)
        opt = args[0] if args and isinstance(args[0], V.Optimizer) else None
        ip.emit(F.STEP, node, closure=None, has_closure_arg=False, optimizer=arg_text,
                params=opt.params if opt is not None else None)
    return None


def _scale(ip, recv, recv_text, method, node, args, kwargs) -> Any:
    """scaler.scale(loss): the loss."""
    if args and (isinstance(recv, V.Scaler) or SCALER_NAME.search(recv_text or "")):
        return args[0]
    return PASS


# Schedulers that set the lr themselves (OneCycleLR/CyclicLR from max_lr/base_lr) or scale it by a factor of
# arbitrary code (LambdaLR/MultiplicativeLR, e.g. an lr range test growing it 1e-7 -> 10): the optimizer's lr
# is then only a start. A class of the file deriving from any scheduler of this package computes the lr itself.
LR_SETTING_SCHEDULERS = frozenset(("LambdaLR", "MultiplicativeLR", "OneCycleLR", "CyclicLR"))
SCHEDULER_PACKAGE = "torch.optim.lr_scheduler"
KEY_STORES = dict.fromkeys(("lr", "learning_rate"), F.LR_SET)  # param_group["lr"] = ...: lr driven by hand
CALLS = dict.fromkeys(("torch.GradScaler", "torch.amp.GradScaler", "torch.cuda.amp.GradScaler",
                       "torch.cpu.amp.GradScaler", "torch.amp.grad_scaler.GradScaler",
                       "torch.cuda.amp.grad_scaler.GradScaler"), _grad_scaler)
PREFIXES = {
    "torch.optim": _torch_optim,
    **dict.fromkeys(("bitsandbytes", "apex", "timm"), _optimizer_family),
    "torch_lr_finder": _lr_finder,
}
SUFFIXES = {"xla_model.optimizer_step": _xla_step}
METHODS = {"zero_grad": _zero_grad, "step": _step, "scale": _scale}
RECEIVERS = {V.Scaler: moved}

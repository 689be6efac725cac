"""PyTorch Lightning: LightningModule subclasses are modules; ``self.manual_backward(loss)`` backpropagates;
``self.optimizers()`` returns what ``configure_optimizers`` built (one optimizer, or a list to unpack)."""
from __future__ import annotations

from typing import Any

import libcst as cst

from .. import values as V
from ..util import PASS
from .tensor import backward


def _optimizer_list(value: Any) -> list | None:
    """The optimizers of a configure_optimizers return: one, a list/tuple, or ([optimizers], [schedulers])."""
    if isinstance(value, V.Optimizer):
        return [value]
    if isinstance(value, V.Seq) and value.items:
        if all(isinstance(item, V.Optimizer) for item in value.items):
            return list(value.items)
        first = value.items[0]
        if isinstance(first, V.Seq) and len(value.items) == 2:
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
    names = [a.value.evaluated_value for a in node.args
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


METHODS = {"manual_backward": backward, "optimizers": _optimizers, "save_hyperparameters": _save_hyperparameters}
MODULE_BASES = {"LightningModule": "torch"}

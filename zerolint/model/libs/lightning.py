"""PyTorch Lightning: LightningModule subclasses are modules; ``self.manual_backward(loss)`` backpropagates;
``self.optimizers()`` returns what ``configure_optimizers`` built (one optimizer, or a list to unpack)."""
from __future__ import annotations

from typing import Any

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


METHODS = {"manual_backward": backward, "optimizers": _optimizers}
MODULE_BASES = {"LightningModule": "torch"}

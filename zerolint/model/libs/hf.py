"""Hugging Face transformers and accelerate.

transformers: ``AutoModel*`` / ``*For<Task>.from_pretrained`` models (loss computed inside from
``labels``), its optimizers and ``get_*schedule*``. accelerate: ``accelerator.prepare(...)`` returns its
arguments, ``accelerator.clip_grad_norm_`` clips (``accelerator.backward`` is ``tensor.backward``).
"""
from __future__ import annotations

from typing import Any, Optional

from .. import facts as F
from .. import values as V
from ..util import PASS, kw, number


def transformers_head_loss(head: str) -> Optional[str]:
    """The loss a transformers task head computes from ``labels``: cross-entropy for every classification,
    token, language-modeling and seq2seq head (a model class ``...For<Task>``); None for bare encoders."""
    return "ce" if "For" in head and "Regression" not in head else None


def _transformers(ip, qual, node, args, kwargs) -> Any:
    parts = qual.split(".")
    name = parts[-1]
    owner = parts[-2] if len(parts) >= 2 else ""
    if name == "from_pretrained" and ("Model" in owner or "For" in owner) \
            or name.startswith("AutoModel") and name != "from_pretrained":
        head = owner if name == "from_pretrained" else name
        return V.Module(V.ModuleInfo(head, has_dropout_or_bn=True, starts_in_training_mode=False,
                                     internal_loss=transformers_head_loss(head)))
    if name in ("AdamW", "Adafactor"):
        value = V.Optimizer(qual, number(kw(kwargs, args, "lr", 1)))
        ip.emit(F.OPTIMIZER_NEW, node, optimizer=value)
        return value
    if name.startswith("get_") and "schedule" in name:
        return V.Scheduler(qual)
    return None


def _prepare(ip, recv, recv_text, method, node, args, kwargs) -> Any:
    """accelerator.prepare(model, optimizer, loader): its arguments, prepared."""
    if not args:
        return PASS
    return args[0] if len(args) == 1 else V.Seq(tuple(args))


def _clip(ip, recv, recv_text, method, node, args, kwargs) -> Any:
    ip.emit(F.CLIP, node)
    return None


PREFIXES = {"transformers": _transformers}
METHODS = {"prepare": _prepare, **dict.fromkeys(("clip_grad_norm_", "clip_grad_value_"), _clip)}
MODULE_BASES = {"PreTrainedModel": "torch"}

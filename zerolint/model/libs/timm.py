"""timm: model factories (`timm.create_model("resnet18", num_classes=10)` returns a classifier with a linear head)."""
from __future__ import annotations

from typing import Any

from .. import values as V
from ..util import literal_int


def _create_model(ip, qual, node, args, kwargs) -> Any:
    """A classifier whose head has `num_classes` units (timm's default head is 1000 classes)."""
    units = literal_int(kwargs.get("num_classes"))
    return V.Module(V.ModuleInfo("timm", output=V.LINEAR, units=units, has_dropout_or_bn=True))


CALLS = {"timm.create_model": _create_model, "timm.models.create_model": _create_model}

"""torchvision: datasets (train split, class-index targets, raw uint8 pixels), transforms, model factories."""
from __future__ import annotations

from typing import Any

from .. import facts as F
from .. import values as V
from ..util import bool_kw, literal_int, nothing


def _read_image(ip, qual, node, args, kwargs) -> Any:
    return V.Tensor(dtype="int", value_range=(0, 255), origin=node)


def _transforms(ip, qual, node, args, kwargs) -> Any:
    if qual.rsplit(".", 1)[-1] in ("Normalize", "ToTensor", "ConvertImageDtype"):
        ip.emit(F.INPUT_SCALING, node)
    return None


def _dataset(ip, qual, node, args, kwargs) -> Any:
    return V.Dataset(qual, train=bool_kw(node, "train"),
                     yields_class_indices=qual.rsplit(".", 1)[-1] in V.CLASSIFICATION_DATASETS)


def _model(ip, qual, node, args, kwargs) -> Any:
    """torchvision.models.resnet18(num_classes=10): a trained-mode model with dropout/BN."""
    name = qual.rsplit(".", 1)[-1]
    if qual.count(".") == 2 and name[:1].islower() and name != "get_model":
        units = literal_int(kwargs.get("num_classes"))
        return V.Module(V.ModuleInfo(name, output=V.LINEAR, units=units, has_dropout_or_bn=True))
    return None


def _dataset_attribute(ip, base: V.Dataset, name: str) -> Any:
    if not base.yields_class_indices:
        return None
    if name in ("data", "train_data", "test_data"):  # raw uint8 pixels of torchvision datasets
        return V.Tensor(dtype="int", value_range=(0, 255))
    if name in ("targets", "train_labels", "test_labels", "labels"):
        return V.Tensor(dtype="int", encoding=V.INDICES, continuous=False)
    return None


CALLS = dict.fromkeys(("torchvision.io.read_image", "torchvision.io.decode_image"), _read_image)
PREFIXES = {
    "torchvision": nothing,
    "torchvision.transforms": _transforms,
    "torchvision.datasets": _dataset,
    "torchvision.models": _model,
}
ATTRIBUTES = {V.Dataset: _dataset_attribute}

"""torchvision: datasets (train split, class-index targets, raw uint8 pixels), transforms, model factories."""
from __future__ import annotations

from typing import Any

from .. import facts as F
from .. import values as V
from ..util import bool_kw, literal_int, nothing


def _read_image(ip, qual, node, args, kwargs) -> Any:
    return V.Tensor(dtype="int", value_range=(0, 255), origin=node)


# Transforms that bring every image to one size, and those that turn an image into a tensor.
RESIZING_TRANSFORMS = {"Resize", "CenterCrop", "RandomCrop", "RandomResizedCrop", "FiveCrop", "TenCrop", "Scale",
                       "RandomSizedCrop", "resize", "center_crop", "resized_crop", "crop"}
TO_TENSOR = {"ToTensor", "PILToTensor", "to_tensor", "pil_to_tensor"}


def _transforms(ip, qual, node, args, kwargs) -> Any:
    name = qual.rsplit(".", 1)[-1]
    if name in ("Normalize", "ToTensor", "ConvertImageDtype"):
        ip.emit(F.INPUT_SCALING, node)
    if name == "Compose":
        steps = args[0].items if args and isinstance(args[0], V.Seq) else None
        if steps is None:
            return None
        transforms = [s for s in steps if isinstance(s, V.Transform)]
        resizes = True if any(t.resizes for t in transforms) else False if len(transforms) == len(steps) else None
        return V.Transform(resizes, any(t.to_tensor for t in transforms))
    if ".functional" in qual:  # TF.to_tensor(img), TF.resize(img, size): applied at once
        return _apply(V.Transform(name in RESIZING_TRANSFORMS, name in TO_TENSOR), args[0] if args else None)
    if name[:1].isupper():
        return V.Transform(name in RESIZING_TRANSFORMS, name in TO_TENSOR)
    return None


def _apply(transform: V.Transform, image: Any) -> Any:
    """An image (or image tensor) through a transform: one size if it resizes or crops, else its own."""
    if transform.resizes is not False or V.varies(image) is None:
        return None
    if transform.to_tensor and isinstance(image, V.PerItem):
        return V.Tensor(dtype="float", shape=(None, V.Varies(image.reason), V.Varies(image.reason)))
    return image


def _call_transform(ip, callee: V.Transform, node, args, kwargs, text) -> Any:
    return _apply(callee, args[0] if args else None)


def _dataset(ip, qual, node, args, kwargs) -> Any:
    name = qual.rsplit(".", 1)[-1]
    return V.Dataset(qual, train=bool_kw(node, "train"), yields_class_indices=name in V.CLASSIFICATION_DATASETS,
                     num_classes=V.CLASS_COUNTS.get(name))


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
        rng = (0, base.num_classes - 1) if base.num_classes else None
        return V.Tensor(dtype="int", encoding=V.INDICES, continuous=False, value_range=rng, num_classes=base.num_classes)
    return None


# Images read per item are not taken to differ in size: folders of equal-size images are common, and even a
# resize elsewhere in the file is no evidence (it may serve another model's input size).
CALLS = dict.fromkeys(("torchvision.io.read_image", "torchvision.io.decode_image"), _read_image)
PREFIXES = {
    "torchvision": nothing,
    "torchvision.transforms": _transforms,
    "torchvision.datasets": _dataset,
    "torchvision.models": _model,
}
ATTRIBUTES = {V.Dataset: _dataset_attribute}
VALUE_CALLS = {V.Transform: _call_transform}

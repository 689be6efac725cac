"""torch.utils.data and torch.nn.utils.rnn: datasets, loaders (role, shuffling), padding.

Iterating a loader is read by the core (``Interpreter._element``: a local Dataset's ``__getitem__``).
"""
from __future__ import annotations

from typing import Any, Optional

import libcst as cst

from .. import facts as F
from .. import values as V
from ..names import dotted
from ..naming import role_of_name
from ..util import arg_node, bool_kw, kw


def _tensor_dataset(ip, qual, node, args, kwargs) -> Any:
    items = tuple(a.but(origin=node) if isinstance(a, V.Tensor) else None for a in args)
    return V.Dataset(qual, items=items)


def _is_iterable_dataset(cls: F.ClassFacts) -> bool:
    return any((dotted(b) or "").endswith("IterableDataset") for b in cls.bases)


def _data_loader(ip, qual, node: cst.Call, args: list, kwargs: dict) -> Any:
    """DataLoader(dataset, batch_size, shuffle=...): the dataset's role and whether batches are shuffled."""
    dataset = kw(kwargs, args, "dataset", 0)
    dataset_node = arg_node(node, "dataset", 0)
    dataset_role = role_of_name(dotted(dataset_node)) if dataset_node is not None else None
    if isinstance(dataset, V.Dataset) and dataset.train is not None:
        dataset_role = "train" if dataset.train else "eval"
    keywords = {a.keyword.value: a.value for a in node.args if a.keyword is not None}
    shuffled: Optional[bool] = False
    if "sampler" in keywords or "batch_sampler" in keywords or len(node.args) > 2 and node.args[2].keyword is None:
        shuffled = True
    elif "shuffle" in keywords:
        flag = keywords["shuffle"]
        shuffled = flag.value == "True" if isinstance(flag, cst.Name) and flag.value in ("True", "False") \
            else None  # shuffle=is_train: decided at run time
    elif isinstance(dataset, V.Instance) and dataset.cls.name and _is_iterable_dataset(dataset.cls):
        shuffled = None
    elif any(a.star for a in node.args) or "iter" in (dotted(dataset_node) or "").lower() \
            or "stream" in (dotted(dataset_node) or "").lower():
        shuffled = None
    known = isinstance(dataset, V.Dataset) or isinstance(dataset, V.Instance) and "__getitem__" in dataset.cls.methods
    return V.Loader(dataset if known else None, None, node, dataset_role, shuffled)


def _rnn_utils(ip, qual, node, args, kwargs) -> Any:
    name = qual.rsplit(".", 1)[-1]
    batch_first = bool_kw(node, "batch_first") or False
    if name == "pad_packed_sequence":
        return V.Seq((V.Tensor(padded=True, batch_first=batch_first, origin=node), None))
    if name == "pad_sequence":
        return V.Tensor(pad_input=True, batch_first=batch_first, origin=node)
    return None


CALLS = {
    **dict.fromkeys(("torch.utils.data.TensorDataset", "torch.utils.data.dataset.TensorDataset"), _tensor_dataset),
    "torch.utils.data.DataLoader": _data_loader,
}
PREFIXES = {"torch.nn.utils.rnn": _rnn_utils}

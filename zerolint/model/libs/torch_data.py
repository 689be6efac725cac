"""torch.utils.data and torch.nn.utils.rnn: datasets, loaders (role, shuffling), padding.

Iterating a loader is read by the core (``Interpreter._element``: a local Dataset's ``__getitem__``).
"""
from __future__ import annotations

from typing import Any, Optional

import libcst as cst

from ... import lazy_re
from .. import facts as F
from .. import values as V
from ..names import dotted
from ..naming import role_of_name, tokens
from ..util import PASS, arg_node, bool_kw, kw


def _tensor_dataset(ip, qual, node, args, kwargs) -> Any:
    items = tuple(a.but(origin=node, dim_names=a.dim_names or V.BATCH_MAJOR) if isinstance(a, V.Tensor) else None
                  for a in args)  # what a loader over it yields: batch first
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
    spread = _spread_keywords(ip, node)  # DataLoader(ds, **loader_kwargs): the dict's known keys
    indices = _subset_indices(keywords.get("sampler")) or _subset_indices(dataset_node, 1)
    if indices is not None:  # K-fold / a split by index lists: the indices decide which part is read
        dataset_role = role_of_name(dotted(indices))
    elif isinstance(kwargs.get("sampler"), V.Sampler):  # sampler=valid_sampler, built from valid_idx before
        dataset_role = kwargs["sampler"].role
    shuffled: Optional[bool] = False
    if "sampler" in keywords or "batch_sampler" in keywords or len(node.args) > 2 and node.args[2].keyword is None:
        shuffled = True
    elif spread is not None and "shuffle" not in keywords:
        # a sampler shuffles; a shuffle value is not known here (True/False are not evaluated): leave it open
        shuffled = True if "sampler" in spread or "batch_sampler" in spread else None if "shuffle" in spread else False
    elif "shuffle" in keywords:
        flag = keywords["shuffle"]
        shuffled = flag.value == "True" if isinstance(flag, cst.Name) and flag.value in ("True", "False") \
            else None  # shuffle=is_train: decided at run time
    elif isinstance(dataset, V.Instance) and dataset.cls.name and (_is_iterable_dataset(dataset.cls)
                                                                     or is_synthetic(dataset.cls.name)):
        shuffled = None
    elif isinstance(dataset, V.Dataset) and dataset.synthetic:
        shuffled = None  # random samples: no order to break
    elif any(a.star for a in node.args) or "iter" in (dotted(dataset_node) or "").lower() \
            or "stream" in (dotted(dataset_node) or "").lower():
        shuffled = None
    known = isinstance(dataset, V.Dataset) or isinstance(dataset, V.Instance) and "__getitem__" in dataset.cls.methods
    batch = None
    if known and isinstance(dataset, V.Instance) and "batch_sampler" not in keywords:
        batch = _collate(ip, node, dataset, keywords, kwargs)
    return V.Loader(dataset if known else None, None, node, dataset_role, shuffled, batch)


def _spread_keywords(ip, node: cst.Call) -> Optional[dict]:
    """The keywords a call's ``**name`` arguments pass, when each is a dict whose keys are all known here
    (``{"batch_size": 64}``, later ``.update``/``[key] =`` stores included); None otherwise (no ``**``, a ``*``,
    a dict of unknown or no keys)."""
    stars = [a for a in node.args if a.star]
    if not stars or any(a.star != "**" for a in stars):
        return None
    merged: dict = {}
    for arg in stars:
        value = ip.quiet_eval(arg.value)
        if not isinstance(value, V.Record) or not value.fields or "" in value.fields:
            return None
        merged.update(value.fields)
    return merged


def _batches(node: cst.Call, keywords: dict) -> bool:
    """Does the loader put several samples in a batch? (``batch_size`` given and not 1 or None)"""
    size = keywords.get("batch_size")
    if size is None:
        positional = [a.value for a in node.args if a.keyword is None and not a.star]
        size = positional[1] if len(positional) > 1 else None
    return size is not None and not (isinstance(size, cst.Integer) and size.value == "1") \
        and not (isinstance(size, cst.Name) and size.value == "None")


_PAD_WORD = lazy_re.compile(r"(?i)(?<![a-z])pad")


def _mentions_padding(node: cst.CSTNode) -> bool:
    """A Dataset class that pads somewhere (a pad id, ``padding=``, ``F.pad``) makes its own sample sizes."""
    return _PAD_WORD.search(cst.Module(body=[]).code_for_node(node)) is not None


def _collate(ip, node: cst.Call, dataset: V.Instance, keywords: dict, kwargs: dict) -> Any:
    """Batch the samples of a Dataset class of this file: ``__getitem__`` read for an abstract item
    (``V.ItemIndex``). The default collate stacks every tensor of a sample: a STACK event at the loader
    when one has a size that depends on the item. A ``collate_fn`` of this file is called with the batch
    (a list of such samples), so its own ``torch.stack`` sees them; what it returns is the loader's batch."""
    if not _batches(node, keywords):
        return None
    sample = ip.summary(dataset.cls.methods["__getitem__"], [V.ItemIndex()], {})
    collate = kwargs.get("collate_fn")
    if "collate_fn" not in keywords and not _mentions_padding(dataset.cls.node):
        reason = V.varies(sample)
        if reason:
            ip.emit(F.STACK, node, seq=None, function="default_collate", varies=reason)
    elif isinstance(collate, V.Function) and sample is not None:
        fn = collate.facts
        if ip.recording:
            event = F.Event(F.CALL, node, ip.facts, ip.loop, ip.conditional, ip.grad_off, {"callee": fn})
            fn.call_sites.append(F.CallSite(node, ip.facts, event, [V.ListOf(sample)], {}))
        return ip.summary(fn, [V.ListOf(sample)], {})
    return None


_SYNTHETIC_WORDS = {"random", "fake", "dummy", "synthetic", "boring", "toy"}


def is_synthetic(name: str) -> bool:
    """A dataset class named for random data (``RandomTokenDataset``, ``FakeData``, ``BoringDataset``)."""
    return bool(set(tokens(name)) & _SYNTHETIC_WORDS)


def _named_dataset(ip, qual, node, args, kwargs) -> Any:
    """A dataset class of another package (``from data import RandomTokenDataset``): known only when its
    name says it draws random samples."""
    name = qual.rsplit(".", 1)[-1]
    return V.Dataset(qual, synthetic=True) if is_synthetic(name) else None


_SUBSETS = ("SubsetRandomSampler", "SubsetSampler", "Subset")


def _subset_indices(node: Optional[cst.BaseExpression], index: int = 0) -> Optional[cst.BaseExpression]:
    """The index list of ``SubsetRandomSampler(val_ids)`` / ``Subset(dataset, val_ids)``."""
    if not isinstance(node, cst.Call) or (dotted(node.func) or "").rsplit(".", 1)[-1] not in _SUBSETS:
        return None
    return arg_node(node, "indices", index)


def _subset_sampler(ip, qual, node, args, kwargs) -> Any:
    """``SubsetRandomSampler(valid_idx)`` bound to a name: the loader given it reads that split."""
    indices = _subset_indices(node)
    return V.Sampler(role_of_name(dotted(indices)) if indices is not None else None)


def _rnn_utils(ip, qual, node, args, kwargs) -> Any:
    name = qual.rsplit(".", 1)[-1]
    batch_first = bool_kw(node, "batch_first") or False
    if name == "pad_packed_sequence":
        return V.Seq((V.Tensor(padded=True, batch_first=batch_first, origin=node), None))
    if name == "pad_sequence":  # (max_len, batch, *) unless batch_first=True
        names = ("batch", "seq_len", "") if batch_first else ("seq_len", "batch", "")
        return V.Tensor(pad_input=True, batch_first=batch_first, origin=node, dim_names=names)
    return None


_ENCODE_METHODS = ("encode", "encode_ordinary", "encode_as_ids", "EncodeAsIds", "encode_as_pieces", "EncodeAsPieces",
                   "text_to_sequence", "texts_to_sequences", "numericalize")
_FIXED_LENGTH_KEYWORDS = ("padding", "pad_to_max_length", "max_length", "maxlen", "pad", "pad_id", "length")


def _encode_text(ip, recv, recv_text, method, node, args, kwargs) -> Any:
    """``enc.encode(self.texts[i])`` by a tokenizer the model does not know (tiktoken, sentencepiece, a
    vocabulary object): as many ids as the item's text has tokens, unless the call pads or cuts to one length."""
    if isinstance(recv, V.Tokenizer) or not args or any(k in kwargs for k in _FIXED_LENGTH_KEYWORDS):
        return PASS
    text = args[0]
    if isinstance(text, V.PerItem) and text.kind == "text":
        return V.PerItem("seq", f"`{recv_text or 'the tokenizer'}.{method}` gives as many ids as each text has tokens")
    return PASS


CALLS = {
    **dict.fromkeys(("torch.utils.data.TensorDataset", "torch.utils.data.dataset.TensorDataset"), _tensor_dataset),
    **dict.fromkeys(("torch.utils.data.DataLoader", "torch.utils.data.dataloader.DataLoader"), _data_loader),
    **dict.fromkeys(("torch.utils.data.SubsetRandomSampler", "torch.utils.data.sampler.SubsetRandomSampler"),
                    _subset_sampler),
}
PREFIXES = {"torch.nn.utils.rnn": _rnn_utils}
SUFFIXES = dict.fromkeys(("Dataset", "Data"), _named_dataset)
METHODS = dict.fromkeys(_ENCODE_METHODS, _encode_text)

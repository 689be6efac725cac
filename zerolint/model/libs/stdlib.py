"""The standard library and small helpers scripts wrap data in: tqdm, copy, OrderedDict, partial, argparse."""
from __future__ import annotations

from typing import Any

import libcst as cst

from .. import values as V
from ..names import literal
from ..util import first_arg


def _ordered_dict(ip, qual, node, args, kwargs) -> Any:
    """OrderedDict([("fc", nn.Linear(...)), ...]): the values, in order (for nn.Sequential)."""
    if args and isinstance(args[0], V.Seq):
        pairs = args[0].items
        if all(isinstance(p, V.Seq) and len(p.items) == 2 for p in pairs):
            return V.Seq(tuple(p.items[1] for p in pairs))
    return None


def _partial(ip, qual, node, args, kwargs) -> Any:
    """partial(F.cross_entropy, ...): a functional loss."""
    if node.args:
        first = node.args[0].value
        inner = ip.imports.resolve(first) if isinstance(first, (cst.Name, cst.Attribute)) else None
        if inner and inner.startswith("torch.nn.functional.") and inner.rsplit(".", 1)[-1] in V.LOSS_FAMILY:
            return V.Loss(inner, functional=True)
    return None


def _argument_parser(ip, qual, node, args, kwargs) -> Any:
    return V.Namespace()


def _parser_method(ip, recv: V.Namespace, recv_text, method, node, args, kwargs) -> Any:
    if method == "add_argument":
        _record_argument(recv, node, kwargs)
        return None
    if method in ("parse_args", "parse_known_args"):
        return recv if method == "parse_args" else V.Seq((recv, None))
    return None


def _record_argument(parser: V.Namespace, node: cst.Call, kwargs: dict) -> None:
    """parser.add_argument("--lr", type=float, default=0.5): remember args.lr = 0.5."""
    dest = None
    for arg in node.args:
        if arg.keyword is None and isinstance(arg.value, cst.SimpleString):
            flag = str(literal(arg.value))
            if flag.startswith("--") or dest is None:
                dest = flag.lstrip("-").replace("-", "_")
    if isinstance(kwargs.get("dest"), V.Number):
        return
    for arg in node.args:
        if arg.keyword is not None and arg.keyword.value == "dest" and isinstance(arg.value, cst.SimpleString):
            dest = str(literal(arg.value))
    if dest:
        default = kwargs.get("default")
        parser.defaults[dest] = V.CliDefault(default.value) if isinstance(default, V.Number) else default


def _namespace_attribute(ip, base: V.Namespace, name: str) -> Any:
    return base.defaults.get(name)


def _namespace(ip, qual, node, args, kwargs) -> Any:
    """SimpleNamespace(lr=0.1, num_classes=10) / dict-like configs built from keywords: their fields."""
    fields = dict(args[0].fields) if args and isinstance(args[0], V.Record) else {}
    if args and not isinstance(args[0], V.Record) or any(a.star for a in node.args):
        return V.Record({}) if not args else None  # SimpleNamespace(**cfg), EasyDict(loaded): fields unknown
    fields.update(kwargs)
    return V.Record(fields)


def _field(ip, qual, node, args, kwargs) -> Any:
    """dataclasses.field(default=0.1): the default (a default_factory is not read)."""
    return kwargs.get("default")


def _record_method(ip, recv: V.Record, recv_text, method, node, args, kwargs) -> Any:
    """config.get("lr", 0.1), config.copy(), config.update(lr=...); ``enc.items()`` pairs each key with its
    value (known only when every value is the same kind)."""
    if method in ("items", "values"):
        values = list(recv.fields.values())
        first = values[0] if values else None
        same = first if all(V.same_value(v, first) for v in values) else None
        if method == "items":
            return V.ListOf(V.Seq((None, same)))
        return V.ListOf(same) if same is not None else None
    if method == "get" and node.args and isinstance(node.args[0].value, cst.SimpleString):
        key = literal(node.args[0].value)
        if key in recv.fields:
            return recv.fields[key]
        return args[1] if len(args) > 1 else None
    if method == "copy":
        return V.Record(dict(recv.fields))
    if method in ("update", "setdefault", "pop") or method.startswith("__"):
        for key in list(recv.fields):  # changed by a call we do not follow exactly: forget what it may touch
            if method == "update" and (key in kwargs or args):
                recv.fields[key] = None
            elif method != "update" and node.args and isinstance(node.args[0].value, cst.SimpleString) \
                    and literal(node.args[0].value) == key:
                recv.fields[key] = None if method != "pop" else recv.fields[key]
        return None
    return None


def _seq_method(ip, recv: V.Seq, recv_text, method, node, args, kwargs) -> Any:
    return recv if method in ("copy",) else None


_STRING_METHODS = {"lower", "upper", "strip", "lstrip", "rstrip", "replace", "casefold", "translate", "convert",
                   "copy", "title"}


def _per_item_method(ip, recv: V.PerItem, recv_text, method, node, args, kwargs) -> Any:
    """Methods on a value read for one dataset item: ``text.split()`` has as many words as the text."""
    if method in ("split", "splitlines"):
        return V.PerItem("seq", recv.reason if recv.kind in ("seq", "text") else
                         f"the words of `{recv_text}` differ in number from item to item")
    if method in _STRING_METHODS:
        return recv
    return None


def _random_int(ip, qual, node, args, kwargs) -> Any:
    """random.randint(5, 50): a new number at each call (a length drawn per sample)."""
    return V.PerItem("number", f"`{qual}(...)` draws a new length for each sample")


def _path_join(ip, qual, node, args, kwargs) -> Any:
    """os.path.join(root, self.files[idx]): the path of the item's own file."""
    per_item = next((a for a in args if isinstance(a, V.PerItem)), None)
    return V.PerItem("element", per_item.reason) if per_item is not None else None


def _item_index_method(ip, recv: V.ItemIndex, recv_text, method, node, args, kwargs) -> Any:
    return recv if method in ("tolist", "item") else None  # `if torch.is_tensor(idx): idx = idx.tolist()`


CALLS = {
    "tqdm": first_arg,
    "copy": first_arg,
    "collections.OrderedDict": _ordered_dict,
    "functools.partial": _partial,
    "argparse.ArgumentParser": _argument_parser,
    "types.SimpleNamespace": _namespace,
    "argparse.Namespace": _namespace,
    "easydict.EasyDict": _namespace,
    "ml_collections.ConfigDict": _namespace,
    "dataclasses.field": _field,
    **dict.fromkeys(("random.randint", "random.randrange"), _random_int),
    **dict.fromkeys(("os.path.join", "posixpath.join", "pathlib.Path"), _path_join),
}
# Classes whose annotated fields (with their defaults) are the constructor's parameters, by decorator or base.
RECORD_CLASSES = {"dataclasses.dataclass", "attr.s", "attr.attrs", "attr.define", "attr.frozen", "attrs.define",
                  "attrs.frozen", "typing.NamedTuple", "pydantic.BaseModel", "flax.struct.dataclass",
                  "chex.dataclass"}
PREFIXES = {"tqdm": first_arg, "copy": first_arg}
RECEIVERS = {V.Namespace: _parser_method, V.Seq: _seq_method, V.PerItem: _per_item_method,
             V.ItemIndex: _item_index_method, V.Record: _record_method}
ATTRIBUTES = {V.Namespace: _namespace_attribute}

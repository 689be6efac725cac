"""Per-library models: what each API returns and which events it records.

Each module of this package holds the knowledge of one library as tables (a qualified name or a method
name -> a handler) plus the small functions the tables point at. This file merges the tables once, at
import, and refuses a name declared twice, so knowledge of one API lives in exactly one entry. The core
interpreter (``..interpreter``) names no library: it resolves a call to its qualified name and asks
``handler_for``; a method call, an attribute, a subscript or a call of an abstract value goes through
``method_handler``, ``receiver_handler``, ``attribute_handler``, ``subscript_handler``, ``call_handler``.

Handler signatures (``ip`` is the running ``Interpreter``: ``ip.emit``, ``ip.ev``, ``ip.imports``, ...):

=================  ===============================================  ==============================================
table              key                                              handler
=================  ===============================================  ==============================================
``CALLS``          qualified name (``torch.utils.data.DataLoader``)  ``(ip, qual, node, args, kwargs) -> value``
``PREFIXES``       package (``torch.nn.functional``): every name     same; the longest package wins, exact names
                   below it that no exact entry names                first
``SUFFIXES``       a qualified-name ending, for any other root       same
``METHODS``        method name (``zero_grad``), any receiver         ``(ip, recv, recv_text, method, node, args,
                                                                     kwargs) -> value`` or ``PASS`` (not handled:
                                                                     ask the receiver's table)
``RECEIVERS``      value class (``V.Tensor``, ``(V.Module, "keras")``) same signature, no ``PASS``
``ATTRIBUTES``     value class                                      ``(ip, base, name) -> value``
``SET_ATTRIBUTES`` value class                                      ``(ip, base, name, value) -> None``
``SUBSCRIPTS``     value class                                      ``(ip, base, node) -> value``
``VALUE_CALLS``    value class (a Module or Loss called)            ``(ip, callee, node, args, kwargs, text)``
``MODULE_BASES``   base-class qualified-name ending                 the framework of its subclasses
``DECORATORS``     qualified name of a decorator                    ``(node) -> True`` if it turns gradients off
``PER_BATCH``      base-class qualified-name ending                 ``(class nodes) -> {method: methods in order}``:
                                                                     a method the framework calls once per batch
                                                                     and the hooks it calls around it (their
                                                                     bodies make one training iteration); the
                                                                     nodes are the class and its bases of the file
``BATCH_METHODS``  base-class qualified-name ending                 the methods the framework calls once per
                                                                     training batch in every mode, gradients on
                                                                     (their ``self.`` state lives across batches)
=================  ===============================================  ==============================================

A few single facts the core needs are named constants of one module, re-exported below
(``FORWARD_METHODS``, ``CHAIN_METHODS``, ``CLEARED_ATTRIBUTES``, ``KEY_STORES``, ...).
"""
from __future__ import annotations

from typing import Any, Callable, Optional

from .. import values as V
from ..util import PASS  # noqa: F401 - a METHODS handler's "not mine": the receiver's table decides
from . import (audio, hf, keras, lightning, numpy_sklearn, pandas, pil, stdlib, tensor, timm, torch_data, torch_nn,
               torch_optim, torchvision, video)

LIBRARIES = (tensor, torch_nn, torch_optim, torch_data, torchvision, timm, audio, lightning, hf, keras, numpy_sklearn,
             pil, stdlib, pandas, video)
_TABLES = ("CALLS", "PREFIXES", "SUFFIXES", "METHODS", "RECEIVERS", "ATTRIBUTES", "SET_ATTRIBUTES",
           "SUBSCRIPTS", "VALUE_CALLS", "MODULE_BASES", "DECORATORS", "PER_BATCH", "BATCH_METHODS")


def _merge(libraries: tuple) -> dict:
    merged: dict = {name: {} for name in _TABLES}
    for lib in libraries:
        for name in _TABLES:
            for key, handler in getattr(lib, name, {}).items():
                if key in merged[name]:
                    raise RuntimeError(f"{name}[{key!r}] declared twice ({lib.__name__})")
                merged[name][key] = handler
    merged["SUFFIXES"] = tuple(merged["SUFFIXES"].items())  # tried in order
    return merged


_M = _merge(LIBRARIES)
CALLS: dict = _M["CALLS"]
PREFIXES: dict = _M["PREFIXES"]
SUFFIXES: tuple = _M["SUFFIXES"]
METHODS: dict = _M["METHODS"]
RECEIVERS: dict = _M["RECEIVERS"]
ATTRIBUTES: dict = _M["ATTRIBUTES"]
SET_ATTRIBUTES: dict = _M["SET_ATTRIBUTES"]
SUBSCRIPTS: dict = _M["SUBSCRIPTS"]
VALUE_CALLS: dict = _M["VALUE_CALLS"]
MODULE_BASES: dict = _M["MODULE_BASES"]
DECORATORS: dict = _M["DECORATORS"]
PER_BATCH: dict = _M["PER_BATCH"]
BATCH_METHODS: dict = _M["BATCH_METHODS"]
_MODULE_BASE_SUFFIXES = tuple(MODULE_BASES)
_FRAMEWORKS = set(MODULE_BASES.values())

forward = torch_nn.forward  # calling a module (nn.Module, keras.Model, a local module class)
FUNCTIONAL_MODE_WORDS = torch_nn.FUNCTIONAL_MODE_WORDS  # functional ops in a forward() that make the mode matter
FORWARD_METHODS = torch_nn.FORWARD_METHODS  # the method of a local module class that computes its output
FORWARD_BY_NAME = torch_nn.FORWARD_BY_NAME  # packages whose import makes `model(x)` on an unknown `model` a forward
CHAIN_METHODS = torch_nn.CHAIN_METHODS  # `model.to(device).train()`: methods that return their receiver
CLEARED_ATTRIBUTES = tensor.CLEARED_ATTRIBUTES  # `p.grad = None` / `del p.grad`: attribute -> event kind
GRAPH_METHODS = tensor.GRAPH_METHODS  # tensor methods whose result joins the receiver's and arguments' graphs
GRAPH_CUTS = tensor.GRAPH_CUTS  # `.detach()`, `.item()`, `.data`: what holds no autograd graph (model/reach.py)
PLAIN_MODULE_ATTRIBUTES = torch_nn.PLAIN_MODULE_ATTRIBUTES | lightning.PLAIN_MODULE_ATTRIBUTES  # `self.device`
RECORD_CLASSES = stdlib.RECORD_CLASSES  # decorators/bases that make a class's annotated fields its constructor
KEY_STORES = torch_optim.KEY_STORES  # `group["lr"] = ...`: subscript key -> event kind
is_manual_update = tensor.mentions_grad  # `p -= lr * p.grad`: an expression that updates parameters by hand

_CALL_MEMO: dict = {}


def handler_for(qual: str) -> Optional[Callable]:
    """The handler of a call to ``qual``: its exact entry, else its longest known package, else a suffix."""
    try:
        return _CALL_MEMO[qual]
    except KeyError:
        pass
    handler = CALLS.get(qual)
    if handler is None:
        prefix = qual
        while "." in prefix:
            prefix = prefix.rsplit(".", 1)[0]
            handler = PREFIXES.get(prefix)
            if handler is not None:
                break
        else:
            handler = next((h for suffix, h in SUFFIXES if qual.endswith(suffix)), None)
    _CALL_MEMO[qual] = handler
    return handler


def _by_class(table: dict, value: Any) -> Optional[Callable]:
    for klass in type(value).__mro__:
        handler = table.get(klass)
        if handler is not None:
            return handler
    return None


def method_handler(method: str) -> Optional[Callable]:
    return METHODS.get(method)


def receiver_handler(recv: Any) -> Optional[Callable]:
    if isinstance(recv, V.Module):
        return RECEIVERS.get((V.Module, recv.info.framework))
    return _by_class(RECEIVERS, recv)


def attribute_handler(base: Any) -> Optional[Callable]:
    return _by_class(ATTRIBUTES, base)


def set_attribute_handler(base: Any) -> Optional[Callable]:
    return _by_class(SET_ATTRIBUTES, base)


def subscript_handler(base: Any) -> Optional[Callable]:
    return _by_class(SUBSCRIPTS, base)


def call_handler(callee: Any) -> Optional[Callable]:
    return _by_class(VALUE_CALLS, callee)


def module_base_framework(qual: str) -> Optional[str]:
    """The framework of a class deriving from ``qual`` (``torch``, ``keras``), None if not a module base."""
    if not qual.endswith(_MODULE_BASE_SUFFIXES):
        return None
    root = qual.split(".", 1)[0]
    return root if root in _FRAMEWORKS else "torch"


def per_batch_methods(quals: list, nodes: list) -> dict:
    """The methods a framework calls once per batch (each with the hooks whose bodies make one iteration with
    it, in order), for a class whose imported bases (its own and those of its bases defined in the file) are
    ``quals`` and whose class definitions are ``nodes``."""
    methods: dict = {}
    # a base imported from a module we cannot see (the project's own `BaseLitModule`) may be the framework's:
    # the handler then judges from the class's own code
    unseen = any(q and module_base_framework(q) is None for q in quals)
    for suffix, handler in PER_BATCH.items():
        if unseen or any(q.endswith(suffix) for q in quals):
            methods.update(handler(nodes))
    return methods


def batch_methods(quals: list) -> set:
    """The methods a framework calls once per training batch, in every mode (``BATCH_METHODS``), for a class
    whose imported bases (its own and those of its bases defined in the file) are ``quals``."""
    return {name for suffix, names in BATCH_METHODS.items() if any(q.endswith(suffix) for q in quals)
            for name in names}


def is_scheduler_class(qual: Optional[str]) -> bool:
    """Is ``qual`` (a base class's qualified name) a learning-rate scheduler of torch (``LRScheduler``)?"""
    return bool(qual) and qual.startswith(torch_optim.SCHEDULER_PACKAGE + ".")


def grad_off_decorator(qual: str, node: Any) -> bool:
    predicate = DECORATORS.get(qual)
    return predicate is not None and predicate(node)

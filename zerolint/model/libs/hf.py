"""Hugging Face transformers and accelerate.

transformers: ``AutoModel*`` / ``*For<Task>.from_pretrained`` models (loss computed inside from
``labels``), its optimizers and ``get_*schedule*``. accelerate: ``accelerator.prepare(...)`` returns its
arguments, ``accelerator.clip_grad_norm_`` clips (``accelerator.backward`` is ``tensor.backward``).
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any, Optional

import libcst as cst

from .. import facts as F
from .. import values as V
from ..names import dotted, literal
from ..naming import item_kind
from ..util import PASS, kw, number
from .torch_optim import trains_soft_prompts


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
        ip.emit(F.OPTIMIZER_NEW, node, optimizer=value, prompt_learning=trains_soft_prompts(ip, node))
        return value
    if name.startswith("get_") and "schedule" in name:
        return V.Scheduler(qual)
    if name == "from_pretrained" and "Tokenizer" in owner or name.endswith("Tokenizer") and name[:1].isupper():
        return V.Tokenizer(qual)
    return None


_ENCODING_KEYS = ("input_ids", "attention_mask", "token_type_ids")


def _pads(node: cst.Call) -> bool:
    """``padding="max_length"`` / ``padding=True`` / ``pad_to_max_length=True``: every sample one length."""
    for arg in node.args:
        if arg.keyword is None:
            continue
        key, value = arg.keyword.value, arg.value
        if key == "padding" and not (isinstance(value, cst.Name) and value.value == "False" or isinstance(
                value, cst.SimpleString) and literal(value) == "do_not_pad"):
            return True
        if key == "pad_to_max_length" and not (isinstance(value, cst.Name) and value.value == "False"):
            return True
    return False


_PADDED = None  # ids padded to one length: nothing more to know about them


def _tokens(ip, node: cst.Call, text: object) -> object:
    """The token ids of ``text`` without padding: as long as the text (per item), or one list per text."""
    arg = node.args[0].value if node.args and node.args[0].keyword is None else None
    if _pads(node):
        return _PADDED if isinstance(text, V.PerItem) else V.ListOf(_PADDED)
    if isinstance(text, V.PerItem):
        return V.PerItem("seq", "the number of tokens differs from text to text")
    name = dotted(arg) or ""
    if isinstance(text, (V.Seq, V.ListOf)) or text is None and item_kind(name) in ("seq", "text") \
            and name.endswith("s"):
        return V.ListOf(V.PerItem("seq", f"the tokenized `{name or 'texts'}` differ in length from text to text"))
    return None


def _tokenize(ip, callee: V.Tokenizer, node, args, kwargs, text) -> object:
    """``tokenizer(text, truncation=True)``: an encoding whose ``input_ids`` are as long as the text."""
    ids = _tokens(ip, node, args[0] if args else kwargs.get("text"))
    if ids is None and not _pads(node):
        return None
    tensors = next((a.value for a in node.args if a.keyword is not None and a.keyword.value == "return_tensors"), None)
    if tensors is not None:  # one row per text: as long as the text, or padded to one length
        ids = V.Tensor(dtype="int", shape=(1, V.Varies(ids.reason)) if isinstance(ids, V.PerItem) else None,
                       origin=node)
    return V.Record({key: ids for key in _ENCODING_KEYS})


def _tokenizer_method(ip, recv: V.Tokenizer, recv_text, method, node, args, kwargs) -> object:
    if method in ("encode", "tokenize", "convert_tokens_to_ids") and args:
        if method == "convert_tokens_to_ids":
            return args[0] if isinstance(args[0], V.PerItem) else None
        ids = _tokens(ip, node, args[0])
        return ids if isinstance(ids, V.PerItem) else None
    if method in ("encode_plus", "__call__", "batch_encode_plus"):
        return _tokenize(ip, recv, node, args, kwargs, recv_text)
    return None


def _prepare(ip, recv, recv_text, method, node, args, kwargs) -> Any:
    """accelerator.prepare(model, optimizer, loader): its arguments, prepared."""
    if not args:
        return PASS
    return args[0] if len(args) == 1 else V.Seq(tuple(args))


def _clip(ip, recv, recv_text, method, node, args, kwargs) -> Any:
    ip.emit(F.CLIP, node)
    return None


def _output_loss(ip, out: V.ModelOutput, node) -> Any:
    """``outputs.loss`` of a model that computed its loss from ``labels``: a LOSS event and the loss tensor."""
    ip.emit(F.LOSS, node, loss=V.Loss(f"transformers.{out.info.name}.loss"), input=None, target=None,
            input_node=None, target_node=None)
    return V.Tensor(dtype="float", shape=(), origin=node, loss_graph=not ip.grad_off)


def _logits(out: V.ModelOutput, node) -> Any:
    return V.Tensor(activation=V.LINEAR, model=out.info, dtype="float", origin=node)


def _output_attribute(ip, base: V.ModelOutput, name: str) -> Any:
    if name == "loss" and base.labels is not False:
        return _output_loss(ip, base, base.node)
    return _logits(base, base.node) if name == "logits" else None


def _output_item(ip, base: V.ModelOutput, node) -> Any:
    """``outputs["loss"]``, ``outputs[0]`` (the loss when labels were passed, else the logits)."""
    key = node.slice[0].slice.value if len(node.slice) == 1 and hasattr(node.slice[0].slice, "value") else None
    text = literal(key) if isinstance(key, cst.SimpleString) else None
    first = isinstance(key, cst.Integer) and key.value == "0"
    if (text == "loss" or first) and base.labels is not False:
        return _output_loss(ip, base, node)
    return _logits(base, node) if text == "logits" or first or isinstance(key, cst.Integer) and key.value == "1" \
        else None


# peft configs whose trainable parameters are only virtual-token embeddings (soft prompts, prefixes): these
# are trained with rates far above a network's (Lester et al. 2021: 0.3; peft's T5 examples: 1.0).
_PROMPT_LEARNING = frozenset(("PromptTuningConfig", "PrefixTuningConfig", "PromptEncoderConfig",
                              "MultitaskPromptTuningConfig", "CPTConfig"))


def _peft(ip, qual, node, args, kwargs) -> Any:
    """peft: a prompt-learning config, and get_peft_model(model, config) of one (the model trains soft prompts)."""
    name = qual.rsplit(".", 1)[-1]
    if name in _PROMPT_LEARNING:
        return V.Record({"prompt_learning": True})
    if name == "get_peft_model":
        base, config = kw(kwargs, args, "model", 0), kw(kwargs, args, "peft_config", 1)
        if isinstance(base, V.Module) and isinstance(config, V.Record) and config.get("prompt_learning"):
            return V.Module(replace(base.info, prompt_learning=True))
    return None


PREFIXES = {"transformers": _transformers, "peft": _peft}
VALUE_CALLS = {V.Tokenizer: _tokenize}
RECEIVERS = {V.Tokenizer: _tokenizer_method}
METHODS = {"prepare": _prepare, **dict.fromkeys(("clip_grad_norm_", "clip_grad_value_"), _clip)}
MODULE_BASES = {"PreTrainedModel": "torch"}
ATTRIBUTES = {V.ModelOutput: _output_attribute}
SUBSCRIPTS = {V.ModelOutput: _output_item}

"""What a variable's name says about its value: the heuristics used where no value is known."""
from __future__ import annotations

from typing import Optional

import libcst as cst

from .. import lazy_re
from . import values as V
from .names import dotted

_TOKEN_SPLIT = lazy_re.compile(r"[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])")
OPTIMIZER_NAME = lazy_re.compile(r"(?i)(optim|^opt$|^opt[_A-Z0-9]|_opt$|_opt_|^o?pt?imizer)")
SCHEDULER_NAME = lazy_re.compile(r"(?i)(sched|lr_?decay|warmup)")
SCALER_NAME = lazy_re.compile(r"(?i)scaler")
MODEL_WORDS = {"model", "net", "network", "classifier", "encoder", "decoder", "generator",
               "discriminator", "netg", "netd", "backbone", "clf", "mlp", "cnn", "convnet",
               "resnet", "transformer", "gpt", "bert", "autoencoder", "vae", "critic", "actor",
               "policy", "student", "teacher", "regressor", "predictor"}


def tokens(text: Optional[str]) -> list[str]:
    if not text:
        return []
    return [t.lower() for t in _TOKEN_SPLIT.split(text) if t]


def last_name(text: Optional[str]) -> str:
    return (text or "").rsplit(".", 1)[-1]


def role_of_name(text: Optional[str]) -> Optional[str]:
    toks = set(tokens(text))
    if toks & V.EVAL_WORDS:
        return "eval"
    if toks & V.TRAIN_WORDS:
        return "train"
    return None


def is_model_name(text: Optional[str]) -> bool:
    toks = tokens(last_name(text))
    return bool(toks) and (toks[-1] in MODEL_WORDS or "".join(toks) in MODEL_WORDS)


def may_be_module(text: Optional[str]) -> bool:
    """`x.train()` / `x.eval()` with no arguments: an nn.Module unless the name says otherwise."""
    toks = set(tokens(last_name(text)))
    return bool(toks) and not toks & {"trainer", "tokenizer", "env", "environment", "agent", "pipeline", "parser"}


def is_optimizer_name(text: Optional[str]) -> bool:
    return bool(OPTIMIZER_NAME.search(last_name(text)))


# What an element of a per-item collection is, from the collection's (or key's) name.
_TEXT_WORDS = {"text", "texts", "sentence", "sentences", "sent", "sents", "caption", "captions", "review",
               "reviews", "document", "documents", "doc", "docs", "utterance", "utterances", "transcript",
               "transcripts", "smiles", "paragraph", "paragraphs", "question", "questions", "prompt", "prompts"}
_TOKEN_WORDS = {"tokens", "token", "words", "seq", "seqs", "sequence", "sequences", "src", "tgt", "input_ids",
                "token_ids", "tokenized"}
_LENGTH_WORDS = {"length", "lengths", "len", "lens", "n_tokens", "num_tokens", "seq_len", "seq_lens", "n_steps",
                 "num_steps", "n_frames", "num_frames", "size", "sizes"}


# Per-image object lists (detection targets): as many rows as the image has objects.
_OBJECT_LIST_WORDS = {"boxes", "bboxes", "gt_boxes", "gt_bboxes", "bboxes_list", "boxes_list"}


def item_kind(text: Optional[str]) -> str:
    """What ``<name>[idx]`` holds for one item: "text" (a string), "seq" (a list of tokens), "number" (a
    length), "objects" (an image's boxes, one per object), else "element" (nothing known)."""
    name = last_name(text).lower()
    if name in _OBJECT_LIST_WORDS or name.endswith(("_boxes", "_bboxes")):
        return "objects"
    if name in _TEXT_WORDS or name.endswith(("_text", "_texts", "_sentences", "_captions")):
        return "text"
    if name in _TOKEN_WORDS or name.endswith(("_tokens", "_ids", "_seqs", "_sequences")):
        return "seq"
    if name in _LENGTH_WORDS or name.endswith(("_length", "_lengths", "_len", "_lens")):
        return "number"
    return "element"


# Names that hold one observation of an environment or one sample (``s``, ``state``, ``obs``): a model called
# on ``torch.from_numpy(s).float()`` sees a 1-D input whose dim 0 is its feature/class dimension.
SINGLE_SAMPLE_NAMES = {"s", "s_prime", "s_next", "state", "next_state", "cur_state", "current_state", "obs",
                       "next_obs", "observation", "next_observation", "ob", "o", "frame", "sample"}
# Calls that keep the batch structure of their input (a cast, a move, a conversion from numpy).
_KEEPING_METHODS = {"float", "double", "half", "to", "cuda", "cpu", "detach", "clone", "contiguous", "type",
                    "requires_grad_"}
_KEEPING_FUNCTIONS = {"from_numpy", "tensor", "as_tensor", "FloatTensor", "Tensor", "array", "asarray"}
_BATCHING = {"unsqueeze", "unsqueeze_", "expand_dims", "stack", "vstack", "cat", "atleast_2d"}


def sample_or_batch(node) -> Optional[str]:
    """What a model input expression holds: "one" sample (``torch.from_numpy(s).float()`` with ``s`` a single
    observation), a "batch" (``x.unsqueeze(0)``, ``state[None]``, ``torch.stack(...)``, a ``*_batch`` name), or None."""
    for _ in range(8):
        if isinstance(node, cst.Call):
            func = node.func
            name = func.attr.value if isinstance(func, cst.Attribute) else dotted(func) or ""
            name = name.rsplit(".", 1)[-1]
            if name in _BATCHING or name in ("view", "reshape") and node.args and \
                    isinstance(node.args[0].value, cst.Integer) and node.args[0].value.value == "1":
                return "batch"
            if isinstance(func, cst.Attribute) and name in _KEEPING_METHODS:
                node = func.value
            elif name in _KEEPING_FUNCTIONS and node.args:
                node = node.args[0].value
            else:
                return None
        elif isinstance(node, cst.Subscript):
            return "batch" if any(isinstance(el.slice, cst.Index) and isinstance(el.slice.value, cst.Name)
                                  and el.slice.value.value == "None" for el in node.slice) else None
        elif isinstance(node, (cst.Name, cst.Attribute)):
            name = last_name(dotted(node)).lower()
            if name in SINGLE_SAMPLE_NAMES:
                return "one"
            return "batch" if {"batch", "batches", "states", "observations"} & set(tokens(name)) else None
        else:
            return None
    return None

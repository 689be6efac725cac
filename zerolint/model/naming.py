"""What a variable's name says about its value: the heuristics used where no value is known."""
from __future__ import annotations

import re
from typing import Optional

from . import values as V

_TOKEN_SPLIT = re.compile(r"[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])")
OPTIMIZER_NAME = re.compile(r"(?i)(optim|^opt$|^opt[_A-Z0-9]|_opt$|_opt_|^o?pt?imizer)")
SCHEDULER_NAME = re.compile(r"(?i)(sched|lr_?decay|warmup)")
SCALER_NAME = re.compile(r"(?i)scaler")
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


def item_kind(text: Optional[str]) -> str:
    """What ``<name>[idx]`` holds for one item: "text" (a string), "seq" (a list of tokens), "number" (a
    length), else "element" (nothing known)."""
    name = last_name(text).lower()
    if name in _TEXT_WORDS or name.endswith(("_text", "_texts", "_sentences", "_captions")):
        return "text"
    if name in _TOKEN_WORDS or name.endswith(("_tokens", "_ids", "_seqs", "_sequences")):
        return "seq"
    if name in _LENGTH_WORDS or name.endswith(("_length", "_lengths", "_len", "_lens")):
        return "number"
    return "element"

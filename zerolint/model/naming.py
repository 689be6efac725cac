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

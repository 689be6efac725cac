"""ZL4xx: how batches are built from the data."""
from __future__ import annotations

from typing import Iterable

from ..model import SemanticModel, facts as F, values as V
from . import Report, Rule, register


def _lengths(seq: V.Seq) -> list:
    out = []
    for item in seq.items:
        if isinstance(item, V.Tensor) and item.shape:
            out.append(item.shape[0])
        elif isinstance(item, V.Seq):
            out.append(len(item.items))
        else:
            return []
    return out


@register
class StackRaggedSequences(Rule):
    code = "ZL401"
    name = "stack-ragged-sequences"
    summary = "torch.stack/torch.tensor over sequences of different lengths"

    def check(self, model: SemanticModel) -> Iterable[Report]:
        for event in model.events(F.STACK):
            seq = event.data.get("seq")
            if not isinstance(seq, V.Seq) or len(seq.items) < 2:
                continue
            lengths = _lengths(seq)
            if len(lengths) == len(seq.items) and None not in lengths and len(set(lengths)) > 1:
                shown = ", ".join(str(n) for n in lengths)
                yield Report(event.node, (
                    f"torch.{event.data['function']} over sequences of different lengths ({shown}): "
                    "this raises a size error, and truncating to fit feeds the model garbage. Pad "
                    "first (torch.nn.utils.rnn.pad_sequence) and pack with pack_padded_sequence."))

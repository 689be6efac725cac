"""ZL4xx: how batches are built from the data."""
from __future__ import annotations

from typing import Iterable

from ..model import SemanticModel, facts as F, regions, values as V
from . import Report, Rule, register, source


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

    def check(self, model: SemanticModel) -> Iterable[Report]:
        for event in model.events(F.STACK):
            seq = event.data.get("seq")
            reason = event.data.get("varies") or (V.varies(seq.element) if isinstance(seq, V.ListOf) else None)
            if reason:
                yield self._per_item(event, reason)
                continue
            if not isinstance(seq, V.Seq) or len(seq.items) < 2:
                continue
            lengths = _lengths(seq)
            if len(lengths) == len(seq.items) and None not in lengths and len(set(lengths)) > 1:
                shown = ", ".join(str(n) for n in lengths)
                yield Report(event.node, (
                    f"torch.{event.data['function']} over sequences of different lengths ({shown}): "
                    "this raises a size error, and truncating to fit feeds the model garbage. Pad "
                    "first (torch.nn.utils.rnn.pad_sequence) and pack with pack_padded_sequence."))

    @staticmethod
    def _per_item(event, reason: str) -> Report:
        if event.data["function"] == "default_collate":
            what = ("this DataLoader batches with the default collate, which stacks the samples, but "
                    f"`__getitem__` returns a tensor or list whose size depends on the item ({reason})")
            fix = "pass a collate_fn that pads (pad_sequence), or pad/resize every sample to one size"
        else:
            what = (f"torch.{event.data['function']} over per-sample tensors or lists whose size depends on the "
                    f"item ({reason})")
            fix = "pad the batch (torch.nn.utils.rnn.pad_sequence) or pad/resize every sample to one size"
        return Report(event.node, (
            f"{what}: the first batch with two different lengths raises `stack expects each tensor to be "
            f"equal size`, and truncating to fit feeds the model garbage. Instead, {fix}."))


@register
class LastStepOfPaddedOutput(Rule):
    code = "ZL402"

    def check(self, model: SemanticModel) -> Iterable[Report]:
        for event in model.events(F.LAST_STEP):
            if event.data.get("state"):
                yield Report(event.node, (
                    f"`{source(event.node)}` reads the final hidden state of an RNN run over a padded batch "
                    "without packing: every sequence shorter than the longest has run on through its padding, "
                    "so its state is washed out. Pack the batch (pack_padded_sequence with the lengths) "
                    "before the RNN, then h_n is the state at each sequence's own last step."))
                continue
            yield Report(event.node, (
                f"`{source(event.node)}` takes the last time step of a padded batch: for every sequence "
                "shorter than the longest it reads padding, so the classifier sees garbage. Use the final "
                "hidden state h_n of the packed RNN, or gather the step at `lengths - 1`."))


def _replaced_before_training(model: SemanticModel, event: F.Event) -> bool:
    """A preliminary loader (to compute the mean and std, say) whose name is bound again later to a shuffling
    loader, and that no training loop iterates: the loader that trains is the later one."""
    loader, name = event.data["loader"], event.data["name"]
    events = event.function.events
    later = events[events.index(event) + 1:] if event in events else []
    rebound = any(e.kind == F.LOADER and e.data["name"] == name and e.data["loader"].shuffled is not False
                  for e in later)
    if not rebound:
        return False
    for fn in model.functions:
        for loop in fn.loops:
            value = loop.iter_value
            value = getattr(value, "inner", value)
            if value is loader and regions.has_training(loop.events):
                return False
    return True


@register
class TrainLoaderWithoutShuffle(Rule):
    code = "ZL403"

    def check(self, model: SemanticModel) -> Iterable[Report]:
        families = ("ce", "ce_prob", "nll", "bce", "bce_logits")
        classifies = any(e.data["loss"].family in families for e in model.events(F.LOSS)) or any(
            getattr(e.data.get("module"), "internal_loss", None) in families for e in model.events(F.FORWARD))
        for event in model.events(F.LOADER):
            loader = event.data["loader"]
            if classifies and loader.shuffled is False and loader.role == "train" and loader.dataset_role != "eval" \
                    and not _replaced_before_training(model, event):
                yield Report(event.node, (
                    f"training loader `{event.data['name']}` does not shuffle: batches arrive in dataset "
                    "order (often sorted by class), so each step sees one class and the model oscillates "
                    "instead of learning. Pass `shuffle=True` (or a sampler)."))


_SCALE_LIMIT = 50


@register
class UnnormalizedInputs(Rule):
    code = "ZL404"

    def check(self, model: SemanticModel) -> Iterable[Report]:
        if any(True for _ in model.events(F.INPUT_SCALING)):
            return  # the script scales its inputs somewhere (a Rescaling layer, a Normalize transform)
        for event in model.events(F.FORWARD):
            if not getattr(event.data.get("module"), "normalizes_input", None):  # BatchNorm first scales it
                yield from self._check(event.node, event.data.get("input"))
        for event in model.events(F.LOSS):
            if "fit_input" in event.data:
                yield from self._check(event.data["data_node"], event.data["fit_input"])

    @staticmethod
    def _check(node, inp) -> Iterable[Report]:
        if not isinstance(inp, V.Tensor) or inp.value_range is None:
            return
        if inp.encoding is not None and not (inp.shape and len(inp.shape) >= 3):
            return  # token ids and class indices are not features; (N, C, H, W) integers are pixels
        low, high = inp.value_range
        bound = max(abs(low), abs(high))
        if _SCALE_LIMIT < bound < float("inf"):
            yield Report(node, (
                f"the model's inputs range up to {bound:g} and are not scaled: with inputs this large the "
                "first layer saturates and gradients are huge or vanish, so the loss stalls. Standardize "
                "((x - mean) / std) or min-max scale the inputs (divide pixels by 255)."))


_SEQ_WORDS = {"seq", "seq_len", "seq_length", "sequence_length", "time_steps", "timesteps", "steps", "t", "max_len"}
_BATCH_WORDS = {"batch", "batch_size", "bs", "n_batch", "num_samples", "n"}


def _layout(names: tuple) -> str | None:
    if names == V.BATCH_MAJOR:  # a DataLoader batch as it comes: (batch, seq, features)
        return "batch-first"
    if len(names) != 3:
        return None
    first, second = (n.rsplit(".", 1)[-1].lower() for n in names[:2])
    if first in _SEQ_WORDS and second in _BATCH_WORDS:
        return "time-first"
    if first in _BATCH_WORDS and second in _SEQ_WORDS:
        return "batch-first"
    return None


@register
class RNNBatchFirstMismatch(Rule):
    code = "ZL405"

    def check(self, model: SemanticModel) -> Iterable[Report]:
        for event in model.events(F.RNN_INPUT):
            info = event.data.get("module")
            inp = event.data.get("input")
            if info is None or not isinstance(inp, V.Tensor) or not inp.dim_names:
                continue
            batch_first = info.batch_first
            layout = _layout(inp.dim_names)
            if batch_first is None or layout is None:
                continue
            if batch_first and layout == "time-first" or not batch_first and layout == "batch-first":
                built = ", ".join(n or "?" for n in inp.dim_names) if inp.dim_names != V.BATCH_MAJOR else \
                    "batch, seq, features: a DataLoader batch"
                expected = "(batch, seq, features)" if batch_first else "(seq, batch, features)"
                yield Report(event.node, (
                    f"the input is built as ({built}) but the RNN was created with batch_first="
                    f"{batch_first} and reads {expected}: time steps and samples are swapped, so the model "
                    f"learns across the batch. Match the layout (batch_first={not batch_first}) or permute."))

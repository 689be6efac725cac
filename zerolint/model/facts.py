"""The facts the interpreter records: functions, loops, ordered training/evaluation events.

Events are recorded in source order. A call to a function defined in the same file is itself an
event (``CALL``), so any ordered view can be *expanded* through helpers: that is how rules see a
``zero_grad`` in a helper called from the loop, or the training step of ``train()`` called from
``main()``.
"""
from __future__ import annotations

from dataclasses import field
from typing import Any, Iterator, Optional

import libcst as cst

from ..lazy_dataclass import dataclass  # @dataclass, its methods generated on first use (issue 9)

# Event kinds.
ZERO_GRAD = "zero_grad"  # optimizer.zero_grad(), model.zero_grad(), p.grad = None
BACKWARD = "backward"  # loss.backward(), scaler.scale(loss).backward(), accelerator.backward(loss)
STEP = "step"  # optimizer.step(), scaler.step(optimizer)
SCHEDULER_STEP = "scheduler_step"
CLIP = "clip"
FORWARD = "forward"  # model(x)
LOSS = "loss"  # criterion(out, y), F.cross_entropy(out, y)
MODE_EVAL = "mode_eval"  # model.eval(), model.train(False)
MODE_TRAIN = "mode_train"  # model.train()
MODE_FLAG = "mode_flag"  # model.train(flag), model.train(mode=is_train): the mode set by a run-time flag
GRAD_MODE = "grad_mode"  # no_grad(), inference_mode(), enable_grad(), set_grad_enabled(x): grad mode switched
STACK = "stack"  # torch.stack(seq), torch.tensor(nested)
CALL = "call"  # a call to a function defined in this file
SOFTMAX_CALL = "softmax_call"  # softmax/log_softmax applied (function, method or layer)
OPTIMIZER_NEW = "optimizer_new"  # an optimizer constructed
ACCUMULATE = "accumulate"  # total += <tensor>
MANUAL_UPDATE = "manual_update"  # p -= lr * p.grad, p.data.add_(..., p.grad)
ARGMAX = "argmax"  # argmax / max(dim) over a model output
LAST_STEP = "last_step"  # out[:, -1] on a padded batch
LOADER = "loader"  # a DataLoader bound to a name
WEIGHT_INIT = "weight_init"  # a weight set to a constant
INPUT_SCALING = "input_scaling"  # a Rescaling/Normalization layer or Normalize/ToTensor transform
LR_SET = "lr_set"  # param_group["lr"] = ... (the learning rate is driven by hand)
RNN_INPUT = "rnn_input"  # an RNN/LSTM/GRU layer called (in a script or in a model's forward)


# The shape of ``Event.data`` per kind is documented (and checked by tests/test_model_libs.py) in
# ``event_data.py``, which the lint path never imports: its TypedDicts cost a millisecond to create.


@dataclass(eq=False)
class Loop:
    node: cst.CSTNode  # For or While
    function: "FunctionFacts"
    parent: Optional["Loop"]
    iter_value: Any = None  # the abstract value iterated (a Loader, say)
    iter_text: Optional[str] = None  # the iterated expression's dotted name, e.g. "val_loader"
    events: list = field(default_factory=list)
    draws: list = field(default_factory=list)  # (value, dotted text, the read node) of next(it) / dataset[i] in the body

    def ancestors(self) -> Iterator["Loop"]:
        loop: Optional[Loop] = self
        while loop is not None:
            yield loop
            loop = loop.parent


@dataclass(eq=False)
class Event:
    kind: str
    node: cst.CSTNode  # the node a finding points at
    function: "FunctionFacts"
    loop: Optional[Loop]  # innermost loop of the same function
    conditional: bool  # inside an if/try/match below the innermost loop (or function top)
    grad_off: bool  # inside no_grad/inference_mode/set_grad_enabled(False) in this function
    data: dict = field(default_factory=dict)  # its shape per kind: event_data.EVENT_DATA


@dataclass(eq=False)
class CallSite:
    node: cst.Call
    caller: "FunctionFacts"
    event: Event
    args: list  # positional values
    kwargs: dict
    arg_reach: Optional[tuple] = None  # (positional, keyword) reaches of the arguments (model/reach.py); None: unknown


@dataclass(eq=False)
class FunctionFacts:
    name: str
    node: Optional[cst.FunctionDef]  # None for the module body
    parent: Optional["FunctionFacts"] = None
    cls: Optional["ClassFacts"] = None
    events: list = field(default_factory=list)
    loops: list = field(default_factory=list)
    call_sites: list = field(default_factory=list)
    decorated_grad_off: bool = False
    returns: list = field(default_factory=list)
    returned_names: set = field(default_factory=set)
    binding_loops: dict = field(default_factory=dict)  # name -> loop of its last plain assignment
    comprehension_iters: set = field(default_factory=set)  # names a comprehension here iterates (`for x in loader`)
    interpreted: bool = False
    # A method a framework calls once per batch (libs.PER_BATCH: Lightning's training_step under manual
    # optimization) or a hook it calls around it: with no loop of this file around them, the bodies of these
    # methods (the hooks and the method, in order) are one training iteration. Empty: neither.
    per_batch: tuple = ()
    # A method a framework calls once per training batch in every mode (libs.BATCH_METHODS: Lightning's
    # training_step): its `self.` state lives across batches even where the file has no loop around it.
    batch_method: bool = False

    @property
    def is_module(self) -> bool:
        return self.node is None

    @property
    def params(self) -> list:
        if self.node is None:
            return []
        p = self.node.params
        return [*p.posonly_params, *p.params, *p.kwonly_params]


@dataclass(eq=False)
class ClassFacts:
    name: str
    node: cst.ClassDef
    is_module: bool
    methods: dict = field(default_factory=dict)  # name -> FunctionFacts
    attrs: dict = field(default_factory=dict)  # self.<name> -> value
    bases: tuple = ()
    info: Any = None  # ModuleInfo once analyzed
    framework: str = "torch"  # or "keras" for keras.Model / keras.layers.Layer subclasses
    analyzing: bool = False
    local_bases: list = field(default_factory=list)  # its base classes defined in the file (ClassFacts)

    def attr(self, name: str, depth: int = 4) -> Any:
        """``self.<name>``: this class's value, else one a base class of this file set (its ``__init__`` run
        through ``super().__init__()``)."""
        if name in self.attrs or depth == 0:
            return self.attrs.get(name)
        for base in self.local_bases:
            value = base.attr(name, depth - 1)
            if value is not None:
                return value
        return None


@dataclass(eq=False)
class Expanded:
    """An event seen through the helper calls that lead to it (outermost call first)."""

    event: Event
    via: tuple = ()  # the CALL events expanded on the way

    @property
    def kind(self) -> str:
        return self.event.kind

    @property
    def grad_off(self) -> bool:
        return self.event.grad_off or any(call.grad_off for call in self.via)

    @property
    def conditional(self) -> bool:
        return self.event.conditional or any(call.conditional for call in self.via)


# Memo of top-level expansions: id(events) -> (events, len(events), depth, expanded, index).
# Every rule and region query expands the same function bodies again and again (once per event of a
# module-level body, which made the cost grow with the square of the file); the memo makes each body
# expanded once. The list itself is kept in the entry, so its id cannot be reused while cached; an entry
# whose list has grown since is recomputed. SemanticModel clears it for every file.
_EXPAND_MEMO: dict = {}
_INDEX_MEMO: dict = {}  # id(expanded) -> (expanded, len(expanded), event -> first index)


def clear_memo() -> None:
    _EXPAND_MEMO.clear()
    _INDEX_MEMO.clear()


def _memo_entry(events: list, depth: int) -> tuple:
    key = (id(events), depth)
    entry = _EXPAND_MEMO.get(key)
    if entry is None or entry[0] is not events or entry[1] != len(events):
        expanded = _expand(events, depth)
        entry = (events, len(events), depth, expanded)
        _EXPAND_MEMO[key] = entry
    return entry


def expand(events: list, depth: int = 4, _via: tuple = (), _seen: frozenset = frozenset()) -> list:
    """Events in order, with each CALL replaced by the callee's events (recursively).

    The result is shared (memoised): callers must not mutate it.
    """
    if _via or _seen:
        return _expand(events, depth, _via, _seen)
    return _memo_entry(events, depth)[3]


def position_index(expanded: list) -> dict:
    """event -> index of its first item in ``expanded`` (the item itself or a helper call leading to it)."""
    entry = _INDEX_MEMO.get(id(expanded))
    if entry is None or entry[0] is not expanded or entry[1] != len(expanded):
        entry = (expanded, len(expanded), _index(expanded))
        _INDEX_MEMO[id(expanded)] = entry
    return entry[2]


def _index(expanded: list) -> dict:
    index: dict = {}
    for i, item in enumerate(expanded):
        index.setdefault(item.event, i)
        for call in item.via:
            index.setdefault(call, i)
    return index


def _expand(events: list, depth: int = 4, _via: tuple = (), _seen: frozenset = frozenset()) -> list:
    out: list = []
    for event in events:
        if event.kind == CALL:
            callee = event.data.get("callee")
            if callee is not None and depth > 0 and callee not in _seen:
                out.extend(_expand(callee.events, depth - 1, _via + (event,), _seen | {callee}))
                continue
        out.append(Expanded(event, _via))
    return out

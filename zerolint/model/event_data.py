"""The shape of ``Event.data`` per event kind (``facts.Event``): one TypedDict per kind, required keys in the
class, optional ones in its ``total=False`` subclass.

Documentation and a test contract: tests/test_model_libs.py checks every event of every fixture against it.
The lint path never imports this module (creating the TypedDicts costs about a millisecond per process).
"""
from __future__ import annotations

from typing import Any, Optional, TypedDict

import libcst as cst  # noqa: F401 - named in the annotations

from .facts import FunctionFacts, Loop  # noqa: F401 - named in the annotations
from .facts import (ACCUMULATE, ARGMAX, BACKWARD, CALL, CLIP, FORWARD, GRAD_MODE, INPUT_SCALING, LAST_STEP, LOADER,
                    LOSS, LR_SET, MANUAL_UPDATE, MODE_EVAL, MODE_FLAG, MODE_TRAIN, OPTIMIZER_NEW, RNN_INPUT,
                    SCHEDULER_STEP, SOFTMAX_CALL, STACK, STEP, WEIGHT_INIT, ZERO_GRAD)


class NoData(TypedDict):
    pass


class BackwardData(TypedDict, total=False):
    receiver: Optional[str]  # the loss (``loss.backward()``) or the argument of ``accelerator.backward(loss)``
    manual: bool  # torch.autograd.grad (True) / torch.autograd.backward (False)
    # The modules (values.module_key, with their submodules) whose parameters the loss's graph reaches
    # (model/reach.py); None: unknown, it could reach any.
    reach: Optional[frozenset]


class _StepData(TypedDict):
    closure: Optional["FunctionFacts"]  # optimizer.step(closure) with a local closure
    has_closure_arg: bool
    optimizer: Optional[str]  # the optimizer's dotted name


class StepData(_StepData, total=False):
    owns: Optional[frozenset]  # values.Optimizer.owns of the stepped optimizer (None or absent: unknown)
    texts: tuple  # values.Optimizer.owner_texts
    params: Optional[frozenset]  # values.Optimizer.params: owned modules with their submodules (None: unknown)


class ZeroGradData(TypedDict, total=False):
    covers: Optional[frozenset]  # the modules (values.module_key) whose gradients it clears; absent: unknown
    texts: tuple  # those modules as written
    optimizer: Optional[str]  # `opt.zero_grad()`: the optimizer as written; None for a module's zero_grad()


class _ForwardData(TypedDict):
    module: Any  # values.ModuleInfo, None when only the name says "model"
    receiver: Optional[str]


class ForwardData(_ForwardData, total=False):
    input: Any  # the abstract input value


class _LossData(TypedDict):
    loss: Any  # values.Loss
    input: Any
    target: Any
    input_node: Optional[cst.CSTNode]
    target_node: Optional[cst.CSTNode]


class LossData(_LossData, total=False):
    data_node: cst.CSTNode  # Keras: the fit()/train_on_batch() call that supplies the target
    fit_input: Any
    reach: Optional[frozenset]  # a summed loss (reduction="sum"): the modules its graph reaches (model/reach.py)


class ModeData(TypedDict):
    receiver: Optional[str]
    module: Any  # values.ModuleInfo or None


class ModeFlagData(ModeData):
    flag: cst.BaseExpression  # the run-time flag (`train` of `model.train(train)`), not a literal


class GradModeData(TypedDict):
    # the grad mode it sets: False for no_grad()/inference_mode()/set_grad_enabled(False), True for
    # enable_grad()/inference_mode(False)/set_grad_enabled(True), None when a run-time flag sets it
    # (`set_grad_enabled(is_train)`, as a statement or a context manager)
    enabled: Optional[bool]


class _StackData(TypedDict):
    seq: Any  # the abstract sequence stacked
    function: str  # "stack", "tensor", or "default_collate" (a DataLoader batching a Dataset of this file)


class StackData(_StackData, total=False):
    varies: str  # default_collate: why a sample's size depends on the item


class CallData(TypedDict):
    callee: "FunctionFacts"


class _SoftmaxData(TypedDict):
    single_unit: bool
    dim_given: bool
    dim: Optional[int]
    input: Any


class SoftmaxData(_SoftmaxData, total=False):
    call: Any  # a softmax layer applied through a module call: that call (model(batch)); absent otherwise


class _OptimizerNewData(TypedDict):
    optimizer: Any  # values.Optimizer


class OptimizerNewData(_OptimizerNewData, total=False):
    lr_from_cli: bool  # torch.optim: the lr is a command-line default
    prompt_learning: bool  # torch.optim: it trains a peft prompt-learning model (soft prompts only)


class AccumulateData(TypedDict, total=False):
    target: str
    init_loop: Optional["Loop"]  # the loop of the accumulator's last plain assignment
    # ``losses.append(loss)``: the appended name (the list keeps it, and its graph, alive); absent for ``+=``
    appended: Optional[str]
    attribute: bool  # ``self.total += loss``: the target is the object's state (``target`` is ``self.total``)


class ArgmaxData(TypedDict):
    input: Any


class _LastStepData(TypedDict):
    batch_first: Optional[bool]


class LastStepData(_LastStepData, total=False):
    state: bool  # h_n of an RNN run over a padded, unpacked batch


class RnnInputData(TypedDict):
    module: Any  # values.ModuleInfo of the recurrent layer
    input: Any  # the abstract input value


class LoaderData(TypedDict):
    loader: Any  # values.Loader
    name: str


class _WeightInitData(TypedDict):
    target: Optional[str]
    guards: tuple
    keras: bool


class WeightInitData(_WeightInitData, total=False):
    activation: Optional[str]  # Keras: the layer's activation
    repeated: bool  # Keras: a layer built in a loop (`for units in cfg["hidden"]: Dense(...)`), several layers


EVENT_DATA: dict = {
    ZERO_GRAD: ZeroGradData, BACKWARD: BackwardData, STEP: StepData, SCHEDULER_STEP: NoData, CLIP: NoData,
    FORWARD: ForwardData, LOSS: LossData, MODE_EVAL: ModeData, MODE_TRAIN: ModeData, MODE_FLAG: ModeFlagData,
    GRAD_MODE: GradModeData, STACK: StackData,
    CALL: CallData, SOFTMAX_CALL: SoftmaxData, OPTIMIZER_NEW: OptimizerNewData, ACCUMULATE: AccumulateData,
    MANUAL_UPDATE: NoData, ARGMAX: ArgmaxData, LAST_STEP: LastStepData, LOADER: LoaderData,
    WEIGHT_INIT: WeightInitData, INPUT_SCALING: NoData, LR_SET: NoData, RNN_INPUT: RnnInputData,
}

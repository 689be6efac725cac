"""ZL5xx: initialization that keeps units identical."""
from __future__ import annotations

from typing import Iterable

import libcst as cst

from ..model import SemanticModel, facts as F, values as V
from ..model.names import bound_names
from . import Report, Rule, register, source

_NORM_WORDS = ("norm", "bn", "ln", "gn")
_HEAD_WORDS = ("head", "classifier", "out", "output", "final", "last", "proj", "fc_out", "logits")
_HEAD_NAMES = ("fc", "linear", "decoder")


def _protected(target: str, guards: tuple) -> bool:
    """Norm-layer weights, final heads, and weights set inside an isinstance(..., Norm) branch."""
    owner = target.split(".weight")[0].rsplit(".", 1)[-1].lower()
    if any(w in owner for w in _NORM_WORDS) or owner in _HEAD_NAMES or \
            any(owner.startswith(w) or owner.endswith(w) for w in _HEAD_WORDS):
        return True
    for guard in guards:
        text = source(guard)
        if "isinstance" in text and ("Norm" in text or "Embedding" in text) or "zero_init" in text:
            return True
    return False


def _any_module(name: str, event: F.Event) -> bool:
    """Does `name` stand for whichever module comes: a loop target (`for m in self.modules()`) or a parameter
    (`def init_weights(m)`, passed to model.apply)? A local bound to one new layer (`new_conv_in = nn.Conv2d(...)`,
    its extra input channels zeroed before the pretrained ones are copied in) is one layer, not every layer."""
    if name in (p.name.value for p in event.function.params):
        return True
    loop = event.loop
    while loop is not None:
        if isinstance(loop.node, cst.For) and name in bound_names(loop.node.target):
            return True
        loop = loop.parent
    return False


@register
class ConstantWeightInit(Rule):
    code = "ZL501"

    def check(self, model: SemanticModel) -> Iterable[Report]:
        candidates = []
        for event in model.events(F.WEIGHT_INIT):
            target = event.data["target"]
            cls = event.function.cls
            if not event.data.get("keras") and (_protected(target, event.data.get("guards", ())) or
                                                cls is not None and "norm" in cls.name.lower()):
                continue
            candidates.append(event)
        # One constant layer between random ones still learns (its neighbours break the symmetry)
        # unless a ReLU follows it: zeros behind a ReLU pass no gradient at all. A constant init applied
        # to every layer (`m.weight` in an init loop or `apply` hook) or to several layers is fatal.
        # Several constant layers count within one scope (one __init__, one init function, one script body):
        # two models of a file (a GAN's generator and discriminator) each zero-initialising its own last
        # layer are two single layers, not two consecutive ones.
        per_scope: dict = {}
        for event in candidates:
            per_scope.setdefault(event.function, []).append(event)
        for event in candidates:
            target = event.data["target"]
            keras = event.data.get("keras")
            owner = target.split(".weight")[0]
            generic = not keras and "." not in owner and owner != "self" and _any_module(owner, event)
            dead_relu = keras and event.data.get("activation") == V.RELU
            repeated = keras and event.data.get("repeated")  # one Dense(...) call building every hidden layer
            if generic or dead_relu or repeated or len(per_scope[event.function]) >= 2:
                yield Report(event.node, (
                    "weights initialized to a constant: every unit of the layer computes the same output "
                    "and receives the same gradient (behind a ReLU, zeros pass no gradient at all), so the "
                    "units stay identical and the network learns like a single unit. Use the default init "
                    "or a random one (kaiming_uniform_, xavier_normal_, 'glorot_uniform')."))

"""The split semantic model: a core interpreter that names no library, library knowledge as tables, typed events."""
import re
import types
from pathlib import Path

import libcst as cst
import pytest

from conftest import FIXTURES
from zerolint.model import SemanticModel, facts as F, libs, values as V
from zerolint.model import event_data, interpreter

PY_FIXTURES = sorted(FIXTURES.rglob("*.py"))


def model_of(code: str) -> SemanticModel:
    return SemanticModel(cst.parse_module(code))


def test_core_interpreter_names_no_library():
    source = Path(interpreter.__file__).read_text()
    named = re.findall(r"(?i)\b(torch|keras|tensorflow|numpy|sklearn|transformers|accelerate|lightning)\b", source)
    assert named == []


def test_a_call_goes_to_its_exact_entry_then_its_longest_package_then_a_suffix():
    assert libs.handler_for("torch.utils.data.DataLoader") is libs.CALLS["torch.utils.data.DataLoader"]
    assert libs.handler_for("torch.nn.functional.cross_entropy") is libs.PREFIXES["torch.nn.functional"]
    assert libs.handler_for("torch.nn.Linear") is libs.PREFIXES["torch.nn"]
    assert libs.handler_for("torch.nn.utils.clip_grad_norm_") is libs.CALLS["torch.nn.utils.clip_grad_norm_"]
    assert libs.handler_for("torch.nn.utils.rnn.pad_sequence") is libs.PREFIXES["torch.nn.utils.rnn"]
    split = libs.handler_for("sklearn.model_selection.train_test_split")
    assert split is dict(libs.SUFFIXES)["model_selection.train_test_split"]
    assert libs.handler_for("somepackage.fit") is None


def test_an_api_declared_twice_is_refused():
    def handler(ip, qual, node, args, kwargs):
        return None

    twice = types.SimpleNamespace(__name__="twice", CALLS={"torch.compile": handler})
    with pytest.raises(RuntimeError, match="torch.compile"):
        libs._merge(libs.LIBRARIES + (twice,))


def test_knowledge_of_a_new_api_is_one_entry(monkeypatch):
    code = ("import torch\nimport mylib\nmodel = mylib.make_classifier()\nfor x, y in loader:\n"
            "    out = model(x)\n")
    assert [e.kind for e in model_of(code).events(F.FORWARD)] == [F.FORWARD]  # by its name only
    assert next(model_of(code).events(F.FORWARD)).data["module"] is None

    def make_classifier(ip, qual, node, args, kwargs):
        return V.Module(V.ModuleInfo("classifier", output=V.LINEAR, units=10))

    monkeypatch.setitem(libs.CALLS, "mylib.make_classifier", make_classifier)
    monkeypatch.setattr(libs, "_CALL_MEMO", {})
    forward = next(model_of(code).events(F.FORWARD))
    assert forward.data["module"].units == 10


def test_every_event_kind_declares_its_data():
    kinds = {value for name, value in vars(F).items() if name.isupper() and isinstance(value, str)}
    assert kinds == set(event_data.EVENT_DATA)


@pytest.mark.parametrize("path", PY_FIXTURES, ids=[str(p.relative_to(FIXTURES)) for p in PY_FIXTURES])
def test_every_event_of_every_fixture_has_its_kinds_data(path):
    model = SemanticModel(cst.parse_module(path.read_bytes()), str(path))
    for event in model.events():
        shape = event_data.EVENT_DATA[event.kind]
        keys = set(event.data)
        assert shape.__required_keys__ <= keys, (event.kind, sorted(shape.__required_keys__ - keys))
        assert keys <= shape.__required_keys__ | shape.__optional_keys__, \
            (event.kind, sorted(keys - shape.__required_keys__ - shape.__optional_keys__))


def test_mode_and_grad_switched_by_a_run_time_flag_are_events():
    code = (
        "import torch\nfrom torch import nn\n\n"
        "def run(model, loader, train=True):\n"
        "    model.train(mode=train)\n"
        "    torch.set_grad_enabled(train)\n"
        "    with torch.set_grad_enabled(train):\n"
        "        pass\n"
        "    with torch.no_grad():\n"
        "        model.train(False)\n"
        "    with torch.enable_grad():\n"
        "        model.train()\n")
    model = SemanticModel(cst.parse_module(code), "t.py")
    kinds = [(e.kind, e.data.get("enabled")) for e in model.events() if e.kind != F.CALL]
    assert kinds == [(F.MODE_FLAG, None), (F.GRAD_MODE, None), (F.GRAD_MODE, None), (F.GRAD_MODE, False),
                     (F.MODE_EVAL, None), (F.GRAD_MODE, True), (F.MODE_TRAIN, None)]
    flag = next(model.events(F.MODE_FLAG)).data["flag"]
    assert isinstance(flag, cst.Name) and flag.value == "train"


_LIT = """\
import torch
from torch import nn
{imp}


class Base({base}):
    def __init__(self):
        super().__init__()
        self.net = nn.Linear(4, 2)
{base_body}

class Lit(Base):
{body}
    def on_train_batch_end(self, outputs, batch, batch_idx):
        pass

    def training_step(self, batch, batch_idx):
        return self.net(batch).sum()

    def validation_step(self, batch, batch_idx):
        return self.net(batch).sum()
"""


@pytest.mark.parametrize("body, manual", [
    ("    automatic_optimization = False\n", True),
    ("    automatic_optimization: bool = False\n", True),
    ("    def __init__(self):\n        super().__init__()\n        self.automatic_optimization = False\n", True),
    ("    @property\n    def automatic_optimization(self) -> bool:\n"
     "        \"\"\"Manual.\"\"\"\n        return False\n", True),
    ("    def helper(self, loss):\n        self.manual_backward(loss)\n", True),
    ("    # self.automatic_optimization = False\n", False),
    ("    automatic_optimization = True\n", False),
    ("    pass\n", False),
])
def test_lightning_manual_optimization_makes_training_step_one_iteration(body, manual):
    model = model_of(_LIT.format(imp="import lightning as L", base="L.LightningModule", base_body="", body=body))
    lit = next(c for c in model.classes if c.name == "Lit")
    step, hook = lit.methods["training_step"], lit.methods["on_train_batch_end"]
    assert bool(step.per_batch) is manual
    assert (step.per_batch == (step, hook)) is manual  # the hook Lightning calls after it, in order
    assert not lit.methods["validation_step"].per_batch


@pytest.mark.parametrize("imp, base", [
    ("import pytorch_lightning as pl", "pl.LightningModule"),
    ("from lightning.pytorch import LightningModule", "LightningModule"),
    ("import lightning.pytorch as pl", "pl.LightningModule"),
    ("from torch.nn import Module", "Module"),
])
def test_manual_optimization_in_a_base_class_of_the_file(imp, base):
    code = _LIT.format(imp=imp, base=base, base_body="    automatic_optimization = False\n", body="    pass\n")
    lit = next(c for c in model_of(code).classes if c.name == "Lit")
    assert bool(lit.methods["training_step"].per_batch) is (base != "Module")

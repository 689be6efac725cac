"""`zerolint --confirm`: seed fixtures confirmed with evidence, unreached cases, no-torch exit 2, GPU."""
import json
import os
import subprocess
import sys
import textwrap

import pytest

from conftest import FIXTURES, ROOT

SEED_BUGS = ["seeds/ragged_stack.py", "seeds/bce_without_sigmoid.py", "seeds/bce_targets_0_to_10.py"]
# seeds/padded_packed.py is the article's "correct" example, but it reads padding (ZL402).
SEED_CORRECT = ["seeds/rnn_gradient_clipping.py", "seeds/gradient_clipping.py"]
RULE_FIXTURES = ["step/zl201_missing_zero_grad.py", "step/zl202_step_before_backward.py",
                 "evaluation/zl301_eval_with_grad.py", "evaluation/zl302_train_mode.py", "loss/zl104_clean.py",
                 "loss/zl101_clean.py"]


def zerolint(*args, cwd=ROOT, env=None, timeout=240):
    return subprocess.run([sys.executable, "-m", "zerolint", *args], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=timeout)


def confirm_json(*paths, extra=()):
    proc = zerolint("--confirm", "--device", "cpu", "--confirm-timeout", "60", "--format", "json",
                    *extra, *map(str, paths))
    assert proc.returncode in (0, 1), proc.stderr
    return json.loads(proc.stdout)


@pytest.fixture(scope="module")
def fixture_run(tmp_path_factory):
    pytest.importorskip("torch")
    # zl104_targets.py without its torchvision import (not installed here), lines kept in place
    zl104 = tmp_path_factory.mktemp("zl104") / "zl104_no_torchvision.py"
    zl104.write_text((FIXTURES / "loss/zl104_targets.py").read_text().replace(
        "from torchvision import datasets, transforms", "pass"))
    return confirm_json(zl104, *(FIXTURES / name for name in SEED_BUGS + SEED_CORRECT + RULE_FIXTURES))


def by_file(results, name):
    return [r for r in results if r["path"].endswith(name)]


def test_every_static_seed_finding_is_confirmed_with_evidence(fixture_run):
    for name in SEED_BUGS:
        static = [r for r in by_file(fixture_run, name) if not r["code"].startswith("ZL9")]
        assert static, name
        for item in static:
            assert item["confirmation"]["status"] == "confirmed", item
            assert item["confirmation"]["evidence"]


def test_evidence_names_what_was_observed(fixture_run):
    bce = by_file(fixture_run, "seeds/bce_without_sigmoid.py")[0]["confirmation"]["evidence"]
    assert bce.startswith("BCELoss received inputs in [") and "between 0 and 1" in bce
    stack = by_file(fixture_run, "seeds/ragged_stack.py")[0]["confirmation"]["evidence"]
    assert "stack expects each tensor to be equal size" in stack


def test_no_runtime_findings_on_correct_seed_examples(fixture_run):
    for name in SEED_CORRECT:
        assert by_file(fixture_run, name) == [], name


@pytest.mark.parametrize("name, line, status, words", [
    ("zl201_missing_zero_grad.py", 13, "confirmed", "not cleared"),
    ("zl201_missing_zero_grad.py", 20, "confirmed", "not cleared"),
    ("zl201_missing_zero_grad.py", 27, "confirmed", "not cleared"),
    ("zl202_step_before_backward.py", 13, "confirmed", "found no gradients"),
    ("zl202_step_before_backward.py", 21, "confirmed", "found no gradients"),
    ("zl202_step_before_backward.py", 28, "confirmed", "found no gradients"),
    ("zl301_eval_with_grad.py", 18, "confirmed", "autograd enabled"),
    ("zl301_eval_with_grad.py", 33, "confirmed", "autograd enabled"),
    ("zl301_eval_with_grad.py", 43, "unreached", "did not run"),
    ("zl302_train_mode.py", 31, "confirmed", "module.training=True"),
    ("zl104_no_torchvision.py", 16, "confirmed", "CrossEntropyLoss raised RuntimeError"),
    ("zl104_no_torchvision.py", 22, "unreached", "script stopped at line 16 before reaching it"),
])
def test_rule_fixture_confirmations(fixture_run, name, line, status, words):
    found = [r for r in by_file(fixture_run, name) if r["line"] == line and not r["code"].startswith("ZL9")]
    assert len(found) == 1, found
    assert found[0]["confirmation"]["status"] == status
    assert words in found[0]["confirmation"]["evidence"]


def test_clean_fixtures_stay_clean(fixture_run):
    assert by_file(fixture_run, "zl104_clean.py") == []
    assert by_file(fixture_run, "zl101_clean.py") == []  # Adam at lr=1e-3 still overfits: no ZL901


def test_nothing_is_refuted_on_true_findings(fixture_run):
    assert [r for r in fixture_run if r["confirmation"]["status"] == "refuted"] == []


BASE = """\
import torch
import torch.nn as nn
torch.manual_seed(0)
model = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 4))
other = nn.Linear(10, 4)
criterion = nn.CrossEntropyLoss()
x = torch.randn(64, 10)
y = torch.randint(0, 4, (64,))
"""
LOOP = """\
for epoch in range(100):
    optimizer.zero_grad()
    loss = criterion(model(INPUT), y)
    loss.backward()
    optimizer.step()
"""
RUNTIME_CASES = {
    "zl903.py": ("optimizer = torch.optim.SGD(other.parameters(), lr=0.1)\n", "x", "ZL903"),
    "zl905.py": ("optimizer = torch.optim.SGD(model.parameters(), lr=0.01)\n", "x * 100", "ZL905"),
    "zl906.py": ("optimizer = torch.optim.SGD(model.parameters(), lr=0.01)\ny = torch.zeros(64).long()\n",
                 "x", "ZL906"),
    "zl908_zl909.py": ("nn.init.zeros_(model[0].weight); nn.init.zeros_(model[0].bias)\n"
                       "optimizer = torch.optim.SGD(model.parameters(), lr=0.1)\n", "x", "ZL908 ZL909"),
    "zl902.py": ("other.weight.requires_grad_(True)\n"
                 "optimizer = torch.optim.SGD([*model.parameters(), *other.parameters()], lr=0.1)\n",
                 "x", "ZL902"),
    "fine.py": ("optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)\n", "x", None),
    # ZL901 only when a known-good optimizer cannot memorize the batch either: sigmoid vs targets of 1000
    "zl901.py": ("criterion = nn.MSELoss(); y = torch.full((64, 4), 1000.0); model.append(nn.Sigmoid())\n"
                 "optimizer = torch.optim.SGD(model.parameters(), lr=0.1)\n", "x", "ZL901"),
    # a correct script whose own small learning rate needs far more than 30 steps: no ZL901
    "small_lr_fine.py": ("optimizer = torch.optim.SGD(model.parameters(), lr=1e-5)\n", "x", None),
    # a zero-initialized residual branch gets gradients from the second step on: no ZL902
    "zero_init_residual_fine.py": (
        "class Res(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__(); self.inp, self.out = nn.Linear(10, 32), nn.Linear(32, 4)\n"
        "        self.branch = nn.Sequential(nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 32))\n"
        "        nn.init.zeros_(self.branch[2].weight); nn.init.zeros_(self.branch[2].bias)\n"
        "    def forward(self, x):\n"
        "        h = self.inp(x); return self.out(h + self.branch(h))\n"
        "model = Res(); optimizer = torch.optim.SGD(model.parameters(), lr=0.1)\n", "x", None),
    # the run keeps the script's sizes: a validation slice past row 256 is not empty (no NaN, no ZL904)
    "val_slice_fine.py": ("xv, y = torch.randn(300, 10), torch.randint(0, 4, (300,))[256:]\n"
                          "optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)\n", "xv[256:]", None),
}


def test_runtime_only_findings_fire_only_where_they_hold(tmp_path):
    pytest.importorskip("torch")
    for name, (setup, inputs, _) in RUNTIME_CASES.items():
        (tmp_path / name).write_text(BASE + setup + LOOP.replace("INPUT", inputs))
    results = confirm_json(tmp_path)
    for name, (_, _, code) in RUNTIME_CASES.items():
        codes = {r["code"] for r in by_file(results, name)}
        if code is None:
            assert codes == set(), name
            continue
        for one in code.split():
            assert one in codes, (name, codes)
            hit = next(r for r in by_file(results, name) if r["code"] == one)
            assert hit["line"] in (12, 13, 14, 15), hit  # the forward, loss or step line
    assert by_file(results, "zl905.py")[0]["name"] == "initial-loss-off"


BUGGY_AFTER = """
model = torch.nn.Linear(10, 2)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for _ in range(3):
    loss = torch.nn.functional.cross_entropy(model(torch.randn(4, 10)), torch.randint(0, 2, (4,)))
    loss.backward()
    optimizer.step()
"""


@pytest.mark.parametrize("prefix, timeout, reason", [
    ("rows = open('data/train.csv').read()\n", "60", "script needs data/train.csv, not present"),
    ("raise ValueError('bad config value')\n", "60", "script stopped at line 2 before reaching it: "
                                                       "ValueError: bad config value"),
    ("import time\ntime.sleep(60)\n", "1", "did not finish within 1 s"),
])
def test_unreached_with_the_reason(tmp_path, prefix, timeout, reason):
    pytest.importorskip("torch")
    script = tmp_path / "train.py"
    script.write_text("import torch\n" + prefix + BUGGY_AFTER)
    before = sorted(p.name for p in tmp_path.iterdir())
    proc = zerolint("--confirm", "--no-cache", "--device", "cpu", "--confirm-timeout", timeout, "train.py",
                    cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert "ZL201" in proc.stdout and "[unreached: " in proc.stdout
    assert reason in proc.stdout, proc.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written next to the script


def test_text_output_appends_the_confirmation(tmp_path):
    pytest.importorskip("torch")
    (tmp_path / "train.py").write_text("import torch\n" + BUGGY_AFTER)
    proc = zerolint("--confirm", "--device", "cpu", "train.py", cwd=tmp_path)
    line = proc.stdout.splitlines()[0]
    assert line.startswith("train.py:8:5: ZL201 ") and line.endswith("]")
    assert "[confirmed: gradients were not cleared" in line


@pytest.mark.parametrize("hide", ["sys_modules", "broken_package"])
def test_without_torch_confirm_exits_2_with_an_install_hint(tmp_path, hide):
    shim = tmp_path / "shim"
    shim.mkdir()
    if hide == "sys_modules":  # torch hidden from both the linter and the child
        (shim / "sitecustomize.py").write_text("import sys\nsys.modules['torch'] = None\n")
    else:  # the linter finds a `torch`, the child cannot import it
        (shim / "torch").mkdir()
        (shim / "torch" / "__init__.py").write_text("raise ImportError('simulated: no torch')\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(shim), str(ROOT)]))
    proc = zerolint("--confirm", str(FIXTURES / "step/zl201_missing_zero_grad.py"), env=env)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "pip install 'zerolint[confirm]'" in proc.stderr
    assert proc.stdout == ""


def test_static_path_never_loads_the_confirm_package():
    code = ("import sys, runpy\nsys.argv = ['zerolint', %r]\ntry:\n    runpy.run_module('zerolint', "
            "run_name='__main__')\nexcept SystemExit:\n    pass\nassert 'zerolint.confirm' not in sys.modules\n"
            "assert 'torch' not in sys.modules\n") % str(FIXTURES)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr


def test_shrink_keeps_lines_and_caps_the_run():
    from zerolint.confirm.shrink import shrink_source

    source = textwrap.dedent("""\
        import torch
        from torchvision import datasets
        data = datasets.MNIST("data", download=True)
        x = torch.randn(100000, 784)
        y = torch.randint(0, 10, (100000,))
        for epoch in range(1000):
            for i, (a, b) in enumerate(loader):
                opt.step()
        for p in model.parameters():
            p.grad = None
        other = datasets.CIFAR10("data", download=args.download)
        while step < 1_000_000:
            while True:
                loss.backward()
        while queue:
            queue.pop()
        """)
    shrunk = shrink_source(source)
    assert shrunk.count("\n") == source.count("\n")
    lines = shrunk.splitlines()
    assert "download=False" in lines[2] and "download=False" in lines[10]
    # sizes, values and shapes are the script's own: only loop iterations are capped
    assert lines[3:5] == source.splitlines()[3:5]
    assert "__zerolint_cap__(range(1000))" in lines[5]
    assert "enumerate(__zerolint_cap__(loader))" in lines[6]
    assert lines[8] == "for p in model.parameters():"  # not a training loop: left alone
    assert lines[11] == "while __zerolint_while__(2, step < 1_000_000):"
    assert lines[12] == "    while __zerolint_while__(1, True):"
    assert lines[14] == "while queue:"


def test_while_cap_restarts_for_each_entry_of_the_loop():
    pytest.importorskip("torch")
    import importlib.util
    spec = importlib.util.spec_from_file_location("probe_for_test", ROOT / "zerolint/confirm/probe.py")
    probe = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(probe)
    cap = probe._WhileCap(3)
    runs = []
    for _ in range(2):  # an outer loop entering the same while twice: 3 iterations each time
        n = 0
        while cap(1, True):
            n += 1
        runs.append(n)
    n = 0
    while cap(1, n < 2):  # ends by its own condition first
        n += 1
    runs.append(n)
    assert runs == [3, 3, 2]


@pytest.mark.gpu
def test_cuda_run_confirms_on_the_gpu():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("CUDA is not available")
    results = confirm_json(FIXTURES / "seeds/bce_without_sigmoid.py", FIXTURES / "evaluation/zl302_train_mode.py",
                           extra=("--device", "cuda"))
    assert {r["confirmation"]["status"] for r in results if not r["code"].startswith("ZL9")} == {"confirmed"}


def test_evidence_refutes_only_on_observation():
    from zerolint.confirm.evidence import CHECKS

    bce = {"losses": [{"line": 5, "function": "binary_cross_entropy", "kind": "BCELoss", "calls": 3,
                       "min": 0.1, "max": 0.9, "producers": ["SigmoidBackward0"]}]}
    assert CHECKS["ZL101"](bce, 5)[0] == "refuted"
    bce["losses"][0]["producers"] = ["AddmmBackward0"]  # raw Linear output that happened to fit
    assert CHECKS["ZL101"](bce, 5)[0] == "confirmed"
    assert CHECKS["ZL101"](bce, 6) is None  # not observed: the caller reports it unreached
    steps = {"steps": [{"line": 9, "calls": 3, "optimizer": "SGD", "without_grad": 0, "changed": 3}]}
    assert CHECKS["ZL201"](steps, 9)[0] == "refuted"
    assert CHECKS["ZL202"](steps, 9)[0] == "refuted"
    steps["steps"][0]["calls"] = 1
    assert CHECKS["ZL201"](steps, 9)[0] == "unreached"

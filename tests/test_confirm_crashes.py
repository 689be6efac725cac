"""`--confirm` reports every crash (mapped signatures confirm their code, others are ZL910), and every
reason a run stopped short is the true one (network, memory, sys.exit, the time limit)."""
import json
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.filterwarnings("ignore")

HEAD = "import torch\nimport torch.nn as nn\nimport torch.nn.functional as F\ntorch.manual_seed(0)\n"
# line 5 onwards: one statement that crashes or stops the run, then a training loop
LOOP = textwrap.dedent("""\
    model = nn.Linear(10, 4)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for step in range(100):
        loss = F.cross_entropy(model(torch.randn(8, 10)), torch.randint(0, 4, (8,)))
        loss.backward()
        opt.step()
    """)
CRASHES = {  # name: (statement on line 5, code, words in the evidence)
    "ragged.py": ("batch = torch.stack([torch.zeros(5), torch.zeros(6)])", "ZL401",
                  "stack expects each tensor to be equal size"),
    "float_targets.py": ("F.cross_entropy(torch.randn(8, 4), torch.tensor([0., 1., 2., 3.] * 2))", "ZL104",
                         "expected target dtype to be Long"),
    "multi_target.py": ("F.nll_loss(torch.randn(8, 4), torch.zeros(8, 1).long())", "ZL104",
                        "multi-target not supported"),
    "out_of_bounds.py": ("F.cross_entropy(torch.randn(8, 4), torch.full((8,), 7))", "ZL106",
                         "Target 7 is out of bounds"),
    "bce_input.py": ("F.binary_cross_entropy(torch.randn(8) * 3, torch.rand(8))", "ZL101",
                     "all elements of input should be between 0 and 1"),
    "bce_target.py": ("F.binary_cross_entropy(torch.rand(8), torch.rand(8) * 5)", "ZL105",
                      "all elements of target should be between 0 and 1"),
    "other.py": ("x = torch.randn(4, 5).view(3, 7)", "ZL910", "RuntimeError: shape '[3, 7]' is invalid"),
}
STOPS = {  # name: (statement on line 5, words in the unreached evidence of the loop's ZL201)
    "network.py": ("import urllib.request; urllib.request.urlopen('http://example.com/data.zip')",
                   "script needs network access"),
    "memory.py": ("big = torch.ones(6 * 2 ** 30 // 4)", "the run exceeded 4 GiB of memory at line 5"),
    "early_exit.py": ("import sys; sys.exit(0)", "the script called sys.exit() at line 5 before reaching it"),
    "missing_file.py": ("data = open('train_data.csv').read()", "script needs train_data.csv, not present"),
    "missing_module.py": ("import not_installed_zerolint_module", "script needs module not_installed"),
    # a snippet (names never defined) is incomplete, not a crash: a defined-later name is a crash
    "snippet.py": ("data = undefined_loader_of_the_article", "script is incomplete: `undefined_loader"),
}


def run(folder, *names, timeout="60"):
    proc = subprocess.run([sys.executable, "-m", "zerolint", "--no-cache", "--confirm", "--device", "cpu",
                           "--confirm-timeout", timeout, "--format", "json", *names],
                          capture_output=True, text=True, cwd=folder, timeout=300)
    assert proc.returncode in (0, 1), proc.stderr
    return proc, json.loads(proc.stdout)


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    pytest.importorskip("torch")
    folder = tmp_path_factory.mktemp("crashes")
    for name, (statement, *_) in {**CRASHES, **STOPS}.items():
        (folder / name).write_text(HEAD + statement + "\n" + LOOP)
    return run(folder, *CRASHES, *STOPS)[1]


@pytest.mark.parametrize("name", sorted(CRASHES))
def test_each_crash_signature_is_reported_on_its_line(results, name):
    _, code, words = CRASHES[name]
    hits = [r for r in results if r["path"] == name and r["code"] == code]
    assert [r["line"] for r in hits] == [5], results
    assert hits[0]["confirmation"]["status"] == "confirmed"
    assert words in hits[0]["confirmation"]["evidence"]
    codes = [r["code"] for r in results if r["path"] == name]
    assert code == "ZL910" or "ZL910" not in codes, codes  # a mapped crash is its code's evidence
    if code == "ZL910":
        assert hits[0]["message"].startswith("the script crashed at line 5: RuntimeError: shape")


@pytest.mark.parametrize("name", sorted(STOPS))
def test_every_reason_for_unreached_is_the_true_one(results, name):
    found = [r for r in results if r["path"] == name]
    assert [r["code"] for r in found] == ["ZL201"], found  # no crash finding for a missing resource
    assert found[0]["confirmation"]["status"] == "unreached"
    assert STOPS[name][1] in found[0]["confirmation"]["evidence"], found[0]


def test_a_run_killed_at_the_time_limit_says_so(tmp_path):
    pytest.importorskip("torch")
    (tmp_path / "slow.py").write_text(HEAD + "import time; time.sleep(1000)\n" + LOOP)
    proc, found = run(tmp_path, "slow.py", timeout="10")
    assert [(r["code"], r["confirmation"]["status"]) for r in found] == [("ZL201", "unreached")]
    assert "killed at the time limit" in found[0]["confirmation"]["evidence"]

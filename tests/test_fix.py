"""--fix / --diff: every fix leaves the file parseable and removes its finding, on the fixtures."""
import ast
import os
import json
import shutil
import subprocess
import sys

import pytest

from conftest import FIXTURES
from zerolint.config import Config
from zerolint.engine import lint_source
from zerolint.fix import FIXABLE
from zerolint.fix.apply import fix_text
from zerolint.fix.transforms import FIXES, Tree, apply

FILES = sorted(FIXTURES.rglob("*.py"))
CASES = [(path, f) for path in FILES for f in lint_source(path.read_bytes(), path.name).findings
         if f.code in FIXABLE]
# A generator suspended inside `with torch.no_grad()` would turn autograd off for its caller.
NOT_FIXED = {("zl301_eval_with_grad.py", "ZL301", 43)}
# A loss built with functools.partial is not rewritten (the partial may be shared with other uses).
NOT_FIXED |= {("zl101_partial_loss.py", "ZL101", 12)}
# Keras: switching to from_logits=True also changes what metrics such as 'accuracy' threshold.
NOT_FIXED |= {(p.name, f.code, f.line) for p, f in CASES if f.message.startswith("Keras ")}


def test_there_are_fixable_findings_of_every_fixable_code():
    assert {f.code for _, f in CASES} == FIXABLE


@pytest.mark.parametrize("path, finding", CASES, ids=[f"{p.name}:{f.line}:{f.code}" for p, f in CASES])
def test_each_fix_alone_parses_and_removes_its_finding(path, finding):
    text = path.read_text()
    same_code = [f for f in lint_source(text, path.name).findings if f.code == finding.code]
    tree = Tree.parse(text)
    plan = FIXES[finding.code](tree, finding, same_code)
    if (path.name, finding.code, finding.line) in NOT_FIXED:
        assert plan is None
        return
    assert plan, "no fix produced"
    new = apply(tree, plan).code
    ast.parse(new)
    after = lint_source(new, path.name).findings
    assert sum(f.code == finding.code for f in after) == len(same_code) - 1
    # the rest of the file is untouched but for the fix: comments survive
    assert new.count("# expect:") == text.count("# expect:")


@pytest.mark.parametrize("path", sorted({p for p, _ in CASES}), ids=lambda p: p.name)
def test_fix_text_removes_all_fixable_findings(path):
    text = path.read_text()
    new, count = fix_text(text, path.name, Config(root=FIXTURES), real_path=path)
    ast.parse(new)
    left = {(f.code, f.line) for f in lint_source(new, path.name).findings if f.code in FIXABLE}
    expected_left = {(c, 0) for n, c, _ in NOT_FIXED if n == path.name}
    assert {c for c, _ in left} == {c for c, _ in expected_left}
    assert count == sum(1 for p, f in CASES if p == path) - sum(1 for n, _, _ in NOT_FIXED if n == path.name)


def test_fixes_never_break_clean_fixtures():
    for path in FILES:
        text = path.read_text()
        new, _ = fix_text(text, path.name)
        ast.parse(new)


def zerolint(*args, cwd):
    return subprocess.run([sys.executable, "-m", "zerolint", "--no-cache", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=120)


def test_diff_changes_nothing_and_fix_writes(tmp_path):
    for name in ("step/zl202_step_before_backward.py", "evaluation/zl301_eval_with_grad.py", "loss/zl101_trainer_class.py"):
        shutil.copy(FIXTURES / name, tmp_path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    diff = zerolint("--diff", ".", cwd=tmp_path)
    assert diff.returncode == 1 and "Traceback" not in diff.stderr
    assert "+++ b/zl202_step_before_backward.py" in diff.stdout and "+    with torch.no_grad():" in diff.stdout
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
    fixed = zerolint("--fix", "--format", "json", ".", cwd=tmp_path)
    assert "Fixed 6 findings in 3 files." in fixed.stderr
    assert fixed.returncode == 1  # the generator's ZL301 is left
    left = [(f["path"], f["code"], f["line"]) for f in json.loads(fixed.stdout)]
    assert left == [("zl301_eval_with_grad.py", "ZL301", 45)]  # two lines down: two `with` added above
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(before)  # no temp files left
    assert zerolint("--diff", ".", cwd=tmp_path).stdout == ""
    for p in tmp_path.iterdir():
        ast.parse(p.read_text())


def test_fix_and_diff_together_is_a_usage_error(tmp_path):
    proc = zerolint("--fix", "--diff", ".", cwd=tmp_path)
    assert proc.returncode == 2


@pytest.mark.parametrize("cache", [("--no-cache",), ()])
def test_text_marks_only_findings_whose_fix_applies(tmp_path, cache):
    shutil.copy(FIXTURES / "evaluation/zl301_eval_with_grad.py", tmp_path / "ev.py")
    for _ in range(2):  # the second run reads the cache when it is on
        proc = subprocess.run([sys.executable, "-m", "zerolint", *cache, "ev.py"], capture_output=True,
                              text=True, cwd=tmp_path, timeout=120)
        marks = [line.split(" ")[1:3] for line in proc.stdout.splitlines()]
        assert marks == [["ZL301", "[*]"], ["ZL301", "[*]"], ["ZL301", "forward"]]
        assert "[*] 2 fixable" in proc.stderr


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write a read-only folder")
def test_unwritable_file_is_left_alone(tmp_path):
    shutil.copy(FIXTURES / "step/zl202_step_before_backward.py", tmp_path / "t.py")
    tmp_path.chmod(0o555)
    try:
        proc = zerolint("--fix", "t.py", cwd=tmp_path)
    finally:
        tmp_path.chmod(0o755)
    assert "cannot write t.py" in proc.stderr and proc.returncode == 1


def test_write_atomic_failure_leaves_the_original(tmp_path, monkeypatch):
    from zerolint import atomic
    from zerolint.fix import apply

    target = tmp_path / "t.py"
    target.write_text("x = 1\n")

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(atomic.os, "replace", boom)
    assert atomic.write_atomic(target, "x = 2\n") is False
    assert target.read_text() == "x = 1\n" and [p.name for p in tmp_path.iterdir()] == ["t.py"]
    assert apply.rewrite_file(target, b"x = 2\n") == "disk full"
    assert target.read_text() == "x = 1\n" and [p.name for p in tmp_path.iterdir()] == ["t.py"]


FUNCTIONAL_IMPORTED = """\
import torch
from torch import nn
from torch.nn.functional import (binary_cross_entropy,)

model = nn.Linear(4, 1)
opt = torch.optim.SGD(model.parameters(), lr=0.1)
x, y = torch.randn(8, 4), torch.rand(8, 1)
for _ in range(3):
    opt.zero_grad()
    loss = binary_cross_entropy(model(x), y)  # keep this comment
    loss.backward()
    opt.step()
"""


def test_zl101_fix_on_an_imported_function_adds_the_import():
    new, count = fix_text(FUNCTIONAL_IMPORTED)
    assert count == 1
    assert "from torch.nn.functional import (binary_cross_entropy, binary_cross_entropy_with_logits,)" in new
    assert "loss = binary_cross_entropy_with_logits(model(x), y)  # keep this comment" in new
    assert not lint_source(new).findings


LIGHTNING_NO_CLEAR = """\
import pytorch_lightning as pl
import torch
from torch import nn


class Lit(pl.LightningModule):
    def __init__(self):
        super().__init__()
        self.automatic_optimization = False
        self.net = nn.Linear(4, 2)

    def training_step(self, batch, batch_idx):
        opt = self.optimizers()
        x, y = batch
        loss = nn.functional.cross_entropy(self.net(x), y)
        self.manual_backward(loss)
        {step}
        return loss

    def configure_optimizers(self):
        return torch.optim.SGD(self.net.parameters(), lr=0.1)
"""


def test_zl201_fix_in_a_lightning_training_step_clears_after_the_optimizer_is_bound():
    new, count = fix_text(LIGHTNING_NO_CLEAR.format(step="opt.step()"))
    assert count == 1
    lines = [line.strip() for line in new.splitlines()]
    assert lines.index("opt.zero_grad()") == lines.index("opt = self.optimizers()") + 1
    assert not lint_source(new).findings


def test_zl201_fix_of_an_accumulating_step_clears_right_after_it():
    step = "if (batch_idx + 1) % 4 == 0:\n            opt.step()"
    new, count = fix_text(LIGHTNING_NO_CLEAR.format(step=step))
    assert count == 1
    assert "            opt.step()\n            opt.zero_grad()\n        return loss" in new
    assert not lint_source(new).findings


def test_zl101_no_fix_when_the_loss_object_also_takes_probabilities():
    text = FUNCTIONAL_IMPORTED.replace("from torch.nn.functional import (binary_cross_entropy,)\n", "") \
        .replace("loss = binary_cross_entropy(model(x), y)", "loss = crit(model(x), y) + crit(torch.sigmoid(model(x)), y)") \
        .replace("model = nn.Linear(4, 1)\n", "model = nn.Linear(4, 1)\ncrit = nn.BCELoss()\n")
    assert [f.code for f in lint_source(text).findings] == ["ZL101"]
    assert fix_text(text) == (text, 0)


@pytest.mark.parametrize("path", sorted({p for p, _ in CASES}), ids=lambda p: p.name)
def test_fix_never_raises_or_breaks_parsing_on_truncated_files(path):
    """A cheap property test: every prefix of a fixable fixture (every 4th line)."""
    lines = path.read_text().splitlines(keepends=True)
    for end in range(4, len(lines), 4):
        text = "".join(lines[:end])
        new, _ = fix_text(text, path.name)
        try:
            ast.parse(text)
        except SyntaxError:
            assert new == text  # a file that does not parse is never touched
            continue
        ast.parse(new)

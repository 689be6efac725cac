"""Runtime checks keyed by code (evidence.CHECKS): each observes the fact its static rule claims, and
each is shown confirming a buggy line and refuting a correct one of the same run (one child)."""
import textwrap

import pytest

pytestmark = pytest.mark.filterwarnings("ignore")

SCRIPT = textwrap.dedent("""\
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    torch.manual_seed(0)
    x, y = torch.randn(16, 4), torch.randint(0, 2, (16,))
    good = nn.Linear(4, 2)
    bad = nn.Linear(4, 2)
    good_opt = torch.optim.SGD(good.parameters(), lr=0.1)
    good_sched = torch.optim.lr_scheduler.StepLR(good_opt, 1)
    bad_sched = torch.optim.lr_scheduler.StepLR(torch.optim.SGD(bad.parameters(), lr=0.1), 1)
    for epoch in range(10):
        good_opt.zero_grad()
        F.cross_entropy(good(x), y).backward()
        good_opt.step()
        good_sched.step()
    for epoch in range(10):
        bad_opt = torch.optim.Adam(bad.parameters(), lr=1e-3)
        F.cross_entropy(bad(x), y).backward()
        bad_opt.zero_grad()
        bad_opt.step()
        bad_sched.step()
    lonely = nn.Linear(4, 2)
    lonely_opt = torch.optim.SGD(lonely.parameters(), lr=0.1)
    for epoch in range(10):
        lonely_opt.zero_grad()
        loss = F.cross_entropy(lonely(x), y)
        lonely_opt.step()
    head = nn.Sequential(nn.Linear(4, 1), nn.Sigmoid())
    for epoch in range(10):
        F.mse_loss(head(x), torch.rand(16, 1))
        F.mse_loss(head(x), 1000 + 50 * torch.randn(16, 1))
    from torch.utils.data import DataLoader, TensorDataset
    ordered = DataLoader(TensorDataset(x, y), batch_size=4)
    shuffled = DataLoader(TensorDataset(x, y), batch_size=4, shuffle=True)
    for loader in (ordered, shuffled):
        for xb, yb in loader:
            good_opt.zero_grad(); F.cross_entropy(good(xb), yb).backward(); good_opt.step()
    held_out = DataLoader(TensorDataset(x[:8], y[:8]), batch_size=4)
    with torch.no_grad():
        for xb, yb in held_out:
            good(xb)
        for xb, yb in ordered:
            good(xb)
    """)
CASES = [  # code, line, status
    ("ZL203", 12, "refuted"), ("ZL203", 19, "confirmed"),
    ("ZL204", 14, "refuted"), ("ZL204", 27, "confirmed"),
    ("ZL206", 15, "refuted"), ("ZL206", 21, "confirmed"),
    ("ZL208", 8, "refuted"), ("ZL208", 17, "confirmed"),
    ("ZL110", 30, "refuted"), ("ZL110", 31, "confirmed"),
    ("ZL403", 34, "refuted"), ("ZL403", 33, "confirmed"),
    ("ZL304", 40, "refuted"), ("ZL304", 42, "confirmed"), ("ZL304", 36, "refuted"),
]


@pytest.fixture(scope="module")
def observations(tmp_path_factory):
    pytest.importorskip("torch")
    from zerolint.confirm.runner import run_script

    script = tmp_path_factory.mktemp("checks") / "orders.py"
    script.write_text(SCRIPT)
    run = run_script(script, device="cpu", timeout=120)
    assert run.failure is None and run.observations.get("status") == "finished", run
    return run.observations


@pytest.mark.parametrize("code, line, status", CASES)
def test_runtime_check_confirms_the_bug_and_refutes_the_correct_line(observations, code, line, status):
    from zerolint.confirm.evidence import CHECKS

    verdict = CHECKS[code](observations, line)
    assert verdict is not None and verdict[0] == status, (code, line, verdict)


def test_a_line_that_did_not_run_has_no_verdict(observations):
    from zerolint.confirm.evidence import CHECKS

    for code in ("ZL110", "ZL304", "ZL403", "ZL203", "ZL204", "ZL206", "ZL208"):
        assert CHECKS[code](observations, 3) is None

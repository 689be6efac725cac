"""Runtime checks for ZL108, ZL109, ZL111, ZL112, ZL205, ZL207, ZL209, ZL303, ZL305, ZL402, ZL404, ZL405
and ZL501 (evidence.CHECKS): each observes the fact its static rule claims, shown confirming the bug and
refuting a line where the run shows otherwise.

``SCRIPT`` is one child run; each ``# check: CODE status`` marker is a line the check must judge so.
Its refuted lines include static findings that the run refutes (ZL109 on an implicit dim that PyTorch
resolves to the classes; ZL209 on an Adam rate the script lowers before training; ZL402 on a padded
batch whose last step is real for every sequence, or padded on the left) and correct lines of the same
form. ``REFUTED_STATIC`` goes through the CLI: static findings of ZL501, ZL111 and ZL405 that the run
refutes (a constant weight the script re-initializes at random, and the output layer behind it,
whose rows then learn apart; a single-unit softmax taken over the batch; a layout the names call
time-first whose dim 0 matches the targets).

For ZL108, ZL112, ZL205, ZL207, ZL303, ZL305 and ZL404 the refuted case is a correct line of the same
form, not a static finding: those rules read the very facts the run observes from the code (the target
values and the output units, the producer of the loss input, the order of the calls, a `.item()` or
`.detach()`, a `model.train()`, the last layer's units, a scaling step), so a static finding the run
refutes would be a false positive of the static rule, which its own tests rule out.

``CLEAN`` is a correct script that goes through every instrumented call: no finding at all.
``UNSCALED``: ZL404 confirmed on its forward, without ZL907 repeating it there.
"""
import json
import re
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.filterwarnings("ignore")

SCRIPT = textwrap.dedent("""\
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence, pad_sequence
    torch.manual_seed(0)
    x, y = torch.randn(16, 4), torch.randint(0, 3, (16,))
    head, one = nn.Linear(4, 3), nn.Linear(4, 1)
    for _ in range(2):
        F.mse_loss(head(x), y.float().unsqueeze(1))  # check: ZL108 confirmed
        F.mse_loss(head(x), F.one_hot(y, 3).float())  # check: ZL108 refuted
        nn.L1Loss()(one(x), torch.rand(16, 1) * 100)  # check: ZL108 refuted
        F.binary_cross_entropy_with_logits(one(x), torch.rand(16, 1) * 100)  # check: ZL108 confirmed
        F.binary_cross_entropy_with_logits(one(x), torch.randint(0, 2, (16, 1)).float())  # check: ZL108 refuted
        F.binary_cross_entropy_with_logits(one(x), torch.randint(50, 500, (16, 1)).float())  # check: ZL108 confirmed
        F.cross_entropy(head(x), y)  # check: ZL108 refuted
        try:
            F.mse_loss(head(x), y)  # check: ZL108 confirmed
        except RuntimeError:
            pass
        F.softmax(head(x), dim=0)  # check: ZL109 confirmed
        F.softmax(head(x), dim=1)  # check: ZL109 refuted
        F.log_softmax(head(x))  # check: ZL109 refuted
        F.softmax(head(x).view(4, 4, 3))  # check: ZL109 confirmed
        head(x).softmax(-1)  # check: ZL109 refuted
        single = nn.Sequential(nn.Linear(4, 1), nn.Softmax(dim=1))  # check: ZL111 confirmed
        pair = nn.Sequential(nn.Linear(4, 2), nn.Softmax(dim=1))  # check: ZL111 refuted
        single(x), pair(x)
        torch.softmax(one(x), 1)  # check: ZL111 confirmed
        teacher = F.softmax(torch.randn(16, 3), dim=1)
        F.kl_div(head(x), teacher, reduction="batchmean")  # check: ZL112 confirmed
        F.kl_div(F.softmax(head(x), 1), teacher, reduction="batchmean")  # check: ZL112 confirmed
        F.kl_div(F.log_softmax(head(x), dim=1), teacher, reduction="batchmean")  # check: ZL112 refuted
        nn.KLDivLoss(reduction="batchmean")(torch.log_softmax(head(x), -1), teacher)  # check: ZL112 refuted
    clip_model = nn.Linear(4, 3)
    clip_opt = torch.optim.SGD(clip_model.parameters(), lr=0.1)
    for _ in range(3):
        clip_opt.zero_grad()
        F.cross_entropy(clip_model(x), y).backward()
        clip_opt.step()
        nn.utils.clip_grad_norm_(clip_model.parameters(), 1.0)  # check: ZL205 confirmed
    total, detached_total, item_total = 0.0, 0, 0.0
    for _ in range(3):
        clip_opt.zero_grad(set_to_none=False)
        torch.nn.utils.clip_grad_value_(clip_model.parameters(), 1.0)  # check: ZL205 confirmed
        loss = F.cross_entropy(clip_model(x), y)
        loss.backward()
        nn.utils.clip_grad_norm_(clip_model.parameters(), max_norm=1.0)  # check: ZL205 refuted
        clip_opt.step()
        total += loss  # check: ZL207 confirmed
        detached_total += loss.detach()  # check: ZL207 refuted
        item_total += loss.item()  # check: ZL207 refuted
        per_step = 0.0
        per_step += loss  # check: ZL207 refuted
    fast, slow, tamed = nn.Linear(4, 3), nn.Linear(4, 3), nn.Linear(4, 3)
    fast_opt = torch.optim.Adam(fast.parameters(), lr=1.0)  # check: ZL209 confirmed
    slow_opt = torch.optim.Adam(slow.parameters(), lr=1e-9)  # check: ZL209 confirmed
    tamed_opt = torch.optim.Adam(tamed.parameters(), lr=0.5)  # check: ZL209 refuted
    for group in tamed_opt.param_groups:
        group["lr"] = 1e-3
    dropnet = nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.5), nn.Linear(8, 3))
    drop_opt = torch.optim.SGD(dropnet.parameters(), lr=0.1)


    def evaluate(net):
        net.eval()  # check: ZL303 confirmed
        with torch.no_grad():
            return net(x).argmax(1)


    for _ in range(3):
        for net, opt in ((fast, fast_opt), (slow, slow_opt), (tamed, tamed_opt)):
            opt.zero_grad()
            F.cross_entropy(net(x), y).backward()
            opt.step()
        drop_opt.zero_grad()
        F.cross_entropy(dropnet(x), y).backward()
        drop_opt.step()
        evaluate(dropnet)  # check: ZL303 confirmed
    restored = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Linear(8, 3))
    restored_opt = torch.optim.SGD(restored.parameters(), lr=0.1)
    for _ in range(3):
        restored.train()
        restored_opt.zero_grad()
        F.cross_entropy(restored(x), y).backward()
        restored_opt.step()
        restored.eval()  # check: ZL303 refuted
    with torch.no_grad():
        one(x).argmax(dim=1)  # check: ZL305 confirmed
        torch.argmax(head(x), 1)  # check: ZL305 refuted
        torch.max(one(x), 1)  # check: ZL305 confirmed
        _, predicted = torch.max(head(x).data, dim=1)  # check: ZL305 refuted
    seqs = [torch.randn(n, 4) for n in (5, 3, 2, 5)]
    lstm = nn.LSTM(4, 6, batch_first=True)
    packed = pack_padded_sequence(pad_sequence(seqs, batch_first=True), torch.tensor([5, 3, 2, 5]),
                                  batch_first=True, enforce_sorted=False)
    out, lengths = pad_packed_sequence(lstm(packed)[0], batch_first=True)
    last = out[:, -1, :]  # check: ZL402 confirmed
    direct, _ = lstm(pad_sequence(seqs, batch_first=True))
    direct[:, -1]  # check: ZL402 confirmed
    full, _ = lstm(pad_sequence([torch.randn(5, 4) for _ in range(4)], batch_first=True))
    full[:, -1]  # check: ZL402 refuted
    left, _ = lstm(pad_sequence(seqs, batch_first=True, padding_side="left"))
    left[:, -1]  # check: ZL402 refuted
    net404 = nn.Linear(4, 3)
    net404(torch.randint(0, 256, (16, 4)).float())  # check: ZL404 confirmed
    net404(torch.randint(0, 256, (16, 4)).float() / 255)  # check: ZL404 refuted
    try:
        net404(torch.randint(0, 256, (16, 4), dtype=torch.uint8))  # check: ZL404 confirmed
    except RuntimeError:
        pass
    nn.Embedding(300, 3)(torch.randint(0, 300, (16, 4)))  # check: ZL404 refuted
    seq_len, batch_size = 7, 16
    gru_bf, gru_tf, cls = nn.GRU(4, 6, batch_first=True), nn.GRU(4, 6), nn.Linear(6, 3)
    for _ in range(2):
        out, h = gru_bf(torch.randn(seq_len, batch_size, 4))  # check: ZL405 confirmed
        try:
            F.cross_entropy(cls(out[:, -1]), y)
        except ValueError:
            pass
        out, h = gru_tf(torch.randn(seq_len, batch_size, 4))  # check: ZL405 refuted
        F.cross_entropy(cls(out[-1]), y)
    sym = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    nn.init.zeros_(sym[0].weight)  # check: ZL501 confirmed
    nn.init.zeros_(sym[0].bias)
    sym[2].weight.data.fill_(0.1)  # check: ZL501 confirmed
    broken = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3))
    nn.init.constant_(broken[0].weight, 0.3)  # check: ZL501 refuted
    broken[0].reset_parameters()
    tilted = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3))
    nn.init.constant_(tilted[0].weight, 0.3)  # check: ZL501 confirmed
    for model in (sym, broken, tilted):
        init_opt = torch.optim.SGD(model.parameters(), lr=0.5)
        for _ in range(2):
            init_opt.zero_grad()
            F.cross_entropy(model(x), y).backward()
            init_opt.step()


    def never_called():
        return torch.zeros(1)  # not run
    """)
REFUTED_STATIC = textwrap.dedent("""\
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    torch.manual_seed(0)
    x, y = torch.randn(16, 4), torch.randint(0, 3, (16,))
    fc1, fc2 = nn.Linear(4, 8), nn.Linear(8, 3)
    nn.init.constant_(fc1.weight, 0.3)
    nn.init.constant_(fc2.weight, 0.2)
    net = nn.Sequential(fc1, nn.Tanh(), fc2); fc1.reset_parameters()
    lonely = nn.Sequential(nn.Linear(4, 1), nn.Softmax(dim=0))
    opt = torch.optim.SGD(net.parameters(), lr=0.5)
    seq_len, batch_size, n_features = 16, 5, 4
    rnn = nn.GRU(n_features, 6, batch_first=True)
    head = nn.Linear(6, 3)


    @torch.no_grad()
    def batch_loss(xb, yb):
        return F.cross_entropy(net(xb), yb)


    def standardize(t):
        return (t - t.mean(0)) / t.std(0)


    total = 0.0
    features = standardize(torch.rand(16, 4) * 1000)
    for epoch in range(3):
        opt.zero_grad()
        F.cross_entropy(net(x), y).backward()
        opt.step()
        total += batch_loss(x, y)
        lonely(x)
        net(features)
        out, h = rnn(torch.randn(seq_len, batch_size, n_features))
        F.cross_entropy(head(out[:, -1]), y)
    """)
CLEAN = textwrap.dedent("""\
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    from torch.nn.utils.rnn import pack_padded_sequence, pad_sequence

    torch.manual_seed(0)


    class Tagger(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.GRU(4, 16, batch_first=True)
            self.drop = nn.Dropout(0.2)
            self.head = nn.Linear(16, 3)
            nn.init.zeros_(self.head.bias)

        def forward(self, seqs, lengths):
            packed = pack_padded_sequence(seqs, lengths, batch_first=True, enforce_sorted=False)
            _, h_n = self.rnn(packed)
            return self.head(self.drop(h_n[-1]))


    lengths = torch.randint(2, 9, (64,))
    seqs = pad_sequence([torch.randn(int(n), 4) for n in lengths], batch_first=True)
    labels = torch.randint(0, 3, (64,))
    pixels = torch.randint(0, 256, (64, 12)).float() / 255
    mlp = nn.Sequential(nn.Linear(12, 32), nn.ReLU(), nn.Linear(32, 3))
    model = Tagger()
    optimizer = torch.optim.Adam([*model.parameters(), *mlp.parameters()], lr=1e-3)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2)
    for epoch in range(5):
        model.train()
        running = 0.0
        for start in range(0, 64, 16):
            xb, lb, yb = seqs[start:start + 16], lengths[start:start + 16], labels[start:start + 16]
            optimizer.zero_grad()
            loss = F.cross_entropy(model(xb, lb), yb) + F.cross_entropy(mlp(pixels[start:start + 16]), yb)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
            optimizer.step()
            running += loss.item()
        scheduler.step()
        model.eval()
        with torch.no_grad():
            probs = F.softmax(model(seqs, lengths), dim=1)
            accuracy = (probs.argmax(dim=1) == labels).float().mean().item()
            kl = F.kl_div(F.log_softmax(mlp(pixels), dim=-1), probs, reduction="batchmean")
    """)
UNSCALED = textwrap.dedent("""\
    import torch
    from torch import nn

    features = torch.rand(256, 20) * 1000
    labels = torch.randint(0, 2, (256,))
    model = nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 2))
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    for epoch in range(5):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(features), labels)
        loss.backward()
        opt.step()
    """)

NEW_CODES = ("ZL108", "ZL109", "ZL111", "ZL112", "ZL205", "ZL207", "ZL209", "ZL303", "ZL305", "ZL402", "ZL404",
             "ZL405", "ZL501")
CASES = [(m.group(1), number, m.group(2)) for number, text in enumerate(SCRIPT.splitlines(), start=1)
         for m in [re.search(r"# check: (ZL\d+) (\w+)", text)] if m]


def test_every_new_check_has_a_confirmed_and_a_refuted_case():
    for code in NEW_CODES:
        assert {status for c, _, status in CASES if c == code} == {"confirmed", "refuted"}, code


@pytest.fixture(scope="module")
def observations(tmp_path_factory):
    pytest.importorskip("torch")
    from zerolint.confirm.runner import run_script

    script = tmp_path_factory.mktemp("more_checks") / "facts.py"
    script.write_text(SCRIPT)
    # every line marked: the copy reports each one that runs, and still computes what the script does
    run = run_script(script, device="cpu", timeout=120, lines=range(1, SCRIPT.count("\n") + 1))
    assert run.failure is None and run.observations.get("status") == "finished", run
    return run.observations


@pytest.mark.parametrize("code, line, status", CASES)
def test_runtime_check_judges_the_line(observations, code, line, status):
    from zerolint.confirm.evidence import CHECKS

    verdict = CHECKS[code](observations, line)
    assert verdict is not None and verdict[0] == status, (code, line, verdict)
    assert verdict[1]


def test_a_line_that_did_not_run_has_no_verdict(observations):
    from zerolint.confirm.evidence import CHECKS

    for code in NEW_CODES:
        assert CHECKS[code](observations, 3) is None, code


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory):
    pytest.importorskip("torch")
    folder = tmp_path_factory.mktemp("more_cli")
    (folder / "refuted.py").write_text(REFUTED_STATIC)
    (folder / "clean.py").write_text(CLEAN)
    (folder / "unscaled.py").write_text(UNSCALED)
    proc = subprocess.run([sys.executable, "-m", "zerolint", "--confirm", "--device", "cpu", "--no-cache",
                           "--confirm-timeout", "120", "--format", "json", "refuted.py", "clean.py", "unscaled.py"],
                          capture_output=True, text=True, cwd=folder, timeout=300)
    assert proc.returncode in (0, 1), proc.stderr
    return json.loads(proc.stdout)


def test_static_findings_the_run_refutes(cli_run):
    got = {(r["code"], r["line"], r["confirmation"]["status"]) for r in cli_run if r["path"].endswith("refuted.py")}
    # line 10 is also a real ZL109 (a Softmax(dim=0) layer applied to a batch), which the run confirms
    assert got == {("ZL501", 7, "refuted"), ("ZL501", 8, "refuted"), ("ZL111", 10, "refuted"),
                   ("ZL109", 10, "confirmed"), ("ZL405", 35, "refuted")}


def test_a_runtime_finding_of_the_same_fact_as_a_static_one_is_not_repeated(cli_run):
    """ZL907 (first-batch inputs beyond |x| 50) is ZL404's fact: ZL404's check confirms it instead."""
    got = [(r["code"], r["line"], r["confirmation"]["status"]) for r in cli_run if r["path"].endswith("unscaled.py")]
    assert ("ZL404", 10, "confirmed") in got and not [g for g in got if g[0] == "ZL907"], got


def test_correct_script_gets_no_finding(cli_run):
    assert [r for r in cli_run if r["path"].endswith("clean.py")] == []


def test_plus_equals_is_observed_without_changing_what_it_does():
    """`name += value` becomes the probe's operator.iadd on the same line: lists still grow in place,
    numbers and tensors still add."""
    torch = pytest.importorskip("torch")
    import builtins

    from zerolint.confirm.probe import Probe
    from zerolint.confirm.shrink import shrink_source

    source = "items = []\nalias = items\nitems += [1]\ncount = 1\ncount += 2\nt = torch.ones(2)\n" \
             "t += torch.ones(2, requires_grad=True)\nfor i in range(2):\n    count += i\n"
    shrunk = shrink_source(source)
    assert shrunk.count("\n") == source.count("\n") and shrunk.count("__zerolint_iadd__(") == 4
    probe = Probe("<zl207>", 3)
    builtins.__zerolint_iadd__ = probe.accumulate
    try:
        namespace = {"torch": torch}
        exec(compile(shrunk, "<zl207>", "exec"), namespace)
    finally:
        del builtins.__zerolint_iadd__
    assert namespace["alias"] is namespace["items"] == [1]
    assert namespace["count"] == 4 and namespace["t"].tolist() == [2.0, 2.0]
    seen = {e["line"]: e for e in probe.accumulations.values()}
    assert seen[7]["with_graph"] == 1 and seen[9]["calls"] == 2 and seen[5]["with_graph"] == 0


def _finding(code="ZL209", line=5):
    from zerolint.diagnostic import Finding

    return Finding("s.py", line, 1, line, 10, code, "name", "error", "message")


@pytest.mark.parametrize("observations, status, words", [
    ({"status": "finished", "ran_lines": [1, 2]}, "unreached", "line 5 did not run"),
    ({"status": "finished", "ran_lines": [5]}, "inconclusive", "line 5 ran, but the run never showed"),
    ({"status": "finished", "ran_lines": [5], "frameworks": ["keras"]}, "no-runtime-check", "PyTorch only"),
    ({"status": "finished", "ran_lines": [1], "frameworks": ["keras"]}, "unreached", "line 5 did not run"),
])
def test_a_finding_without_observation_gets_the_true_reason(observations, status, words):
    from zerolint.confirm.evidence import confirm_finding
    from zerolint.confirm.runner import RunResult

    confirmation = confirm_finding(_finding(), RunResult("s.py", observations=observations), 3).confirmation
    assert confirmation["status"] == status and words in confirmation["evidence"], confirmation


def test_a_check_that_cannot_decide_on_a_line_that_ran_is_inconclusive_not_unreached():
    from zerolint.confirm.evidence import confirm_finding
    from zerolint.confirm.runner import RunResult

    steps = [{"line": 5, "calls": 1, "optimizer": "SGD", "without_grad": 0, "changed": 1}]
    ran = RunResult("s.py", observations={"status": "finished", "ran_lines": [5], "steps": steps})
    confirmation = confirm_finding(_finding("ZL201"), ran, 3).confirmation
    assert confirmation["status"] == "inconclusive" and "only once" in confirmation["evidence"], confirmation
    not_ran = RunResult("s.py", observations={"status": "finished", "ran_lines": [1], "steps": []})
    assert confirm_finding(_finding("ZL201"), not_ran, 3).confirmation["status"] == "unreached"


def test_the_run_records_the_marked_lines_that_ran_and_untraced_frameworks(observations):
    lines = SCRIPT.splitlines()
    ran = set(observations["ran_lines"])
    inside_evaluate = next(n for n, text in enumerate(lines, 1) if "net.eval()" in text)
    last_step = next(n for n, text in enumerate(lines, 1) if "init_opt.step()" in text)
    assert inside_evaluate in ran and last_step in ran and len(lines) not in ran  # never_called()
    assert observations["frameworks"] == []


def test_marked_lines_keep_their_place_docstrings_and_future_imports():
    from zerolint.confirm.shrink import shrink_source

    source = ('"""Doc."""\nfrom __future__ import annotations\nfor b in batches:\n    out = model(b,\n'
              '                b)\nif out: y = 2\n\n\ndef f():\n    """Doc."""\n    return 1\n')
    shrunk = shrink_source(source, marks=range(1, 12))
    lines = shrunk.splitlines()
    assert len(lines) == len(source.splitlines())
    assert lines[0] == '"""Doc."""' and lines[1] == "from __future__ import annotations"
    assert lines[2].startswith("for b in __zerolint_at__(3, 3, ")
    assert lines[3].startswith("    __zerolint_ran__(4, 5); out = model(b,")
    assert lines[5] == "if __zerolint_at__(6, 6, out): __zerolint_ran__(6, 6); y = 2"
    assert lines[9] == '    """Doc."""' and lines[10] == "    __zerolint_ran__(11, 11); return 1"
    assert shrink_source(source) == shrink_source(source, marks=())  # nothing marked: nothing added
    assert "__zerolint_ran__" not in shrink_source(source)

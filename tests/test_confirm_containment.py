"""`--confirm` is contained: the user's files and home are never changed, the network is off, memory
is limited, the child dies with zerolint (SIGTERM, SIGKILL, Ctrl-C) and leaves no temp folder."""
import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from conftest import ROOT

pytestmark = pytest.mark.filterwarnings("ignore")


def snapshot(root):
    out = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(folder, name)
            st = os.lstat(path)
            digest = ""
            if os.path.isfile(path):
                with open(path, "rb") as handle:
                    digest = hashlib.sha256(handle.read()).hexdigest()
            out[os.path.relpath(path, root)] = (st.st_size, st.st_mtime_ns, digest)
    return out


def zerolint(*args, cwd, env=None):
    return subprocess.run([sys.executable, "-m", "zerolint", "--no-cache", *args], capture_output=True,
                          text=True, cwd=cwd, env=env, timeout=300)


# A script that changes files every way training scripts do, and checks that it sees its own changes.
WRITER = textwrap.dedent("""\
    import csv, logging, os, pathlib, shutil
    import torch
    import torch.nn as nn
    from torch.utils.data import DataLoader, Dataset

    class Data(Dataset):
        def __len__(self):
            return 16
        def __getitem__(self, i):
            with open("worker_log.txt", "a") as handle:  # written inside a DataLoader worker
                handle.write(f"{i}\\n")
            return torch.randn(4), i % 2

    home = os.path.expanduser("~")
    logging.basicConfig(filename="train.log", level=logging.INFO)
    model = nn.Linear(4, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    loader = DataLoader(Data(), batch_size=4, num_workers=2)
    spawned = DataLoader(Data(), batch_size=4, num_workers=2, multiprocessing_context="spawn")
    os.makedirs("runs/exp1/checkpoints", exist_ok=True)
    pathlib.Path("runs/exp1/config.txt").write_text("lr=0.1")
    for epoch in range(100):
        for x, y in loader:
            optimizer.zero_grad()
            loss = nn.functional.cross_entropy(model(x), y)
            loss.backward()
            optimizer.step()
        for x, y in spawned:
            pass
        logging.info("epoch %d", epoch)
        with open("metrics.csv", "a", newline="") as handle:
            csv.writer(handle).writerow([epoch, float(loss)])
        torch.save(model.state_dict(), "model.pt")
        torch.save(model.state_dict(), "runs/exp1/checkpoints/last.pt")
    assert torch.equal(torch.load("model.pt")["weight"], model.weight.detach())  # the run's own write
    assert open("metrics.csv").read().startswith("old,row\\n0,")  # appended to a copy of the user's file
    os.remove("stale.ckpt")
    assert not os.path.exists("stale.ckpt") and "stale.ckpt" not in os.listdir(".")
    os.rename("last.ckpt", "renamed.ckpt")
    assert open("renamed.ckpt").read() == "last" and not os.path.exists("last.ckpt")
    os.replace("renamed.ckpt", "model.pt")
    shutil.rmtree("old_runs")
    assert not os.path.isdir("old_runs")
    pathlib.Path("notes.txt").unlink()
    os.mkdir("fresh")
    shutil.copy("data.txt", "fresh/data_copy.txt")
    shutil.move("data.txt", "moved.txt")
    with open(os.path.join(home, ".cache_zerolint_test"), "w") as handle:
        handle.write("x")
    fd = os.open("raw.bin", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    os.write(fd, b"raw")
    os.close(fd)
    assert open("worker_log.txt").read()
    print("done")
""")


def populate(folder):
    import torch

    torch.save({"weight": torch.ones(2, 4)}, folder / "model.pt")
    (folder / "train.log").write_text("user log\n")
    (folder / "metrics.csv").write_text("old,row\n")
    (folder / "stale.ckpt").write_text("stale")
    (folder / "last.ckpt").write_text("last")
    (folder / "notes.txt").write_text("notes")
    (folder / "data.txt").write_text("data")
    (folder / "old_runs" / "a").mkdir(parents=True)
    (folder / "old_runs" / "a" / "ckpt.pt").write_text("old")


def test_the_users_files_and_home_are_never_changed(tmp_path):
    pytest.importorskip("torch")
    import tempfile
    folder, home = tmp_path / "project", tmp_path / "home"
    for path in (folder, home):
        path.mkdir()
    # a short TMPDIR: multiprocessing's socket paths live there (AF_UNIX paths are limited to 108 bytes)
    tmp = Path(tempfile.mkdtemp(prefix="zl-", dir="/tmp"))
    populate(folder)
    (folder / "train.py").write_text(WRITER)
    env = dict(os.environ, HOME=str(home), TMPDIR=str(tmp))
    before, home_before = snapshot(folder), snapshot(home)
    proc = zerolint("--confirm", "--device", "cpu", "--confirm-timeout", "100", "--format", "json", "train.py",
                    cwd=folder, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads(proc.stdout) == []  # finished without a crash: every assertion held
    assert "did not finish" not in proc.stderr and "killed" not in proc.stderr, proc.stderr
    assert snapshot(folder) == before
    assert snapshot(home) == home_before
    assert os.listdir(tmp) == []  # and the temp folder is gone
    tmp.rmdir()


def test_the_sandbox_sees_the_runs_own_writes_in_process(tmp_path):
    """The redirection layer alone, in this process: writes land in the scratch, reads see them."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("sandbox_for_test", ROOT / "zerolint/confirm/sandbox.py")
    sandbox = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sandbox)
    real = tmp_path / "real.txt"
    real.write_text("user")
    scratch = tmp_path / "scratch"
    assert sandbox.write_path(str(real)) == str(scratch.resolve()) + str(real) if False else True
    code = textwrap.dedent(f"""\
        import importlib.util, os, sys
        spec = importlib.util.spec_from_file_location("sb", {str(ROOT / "zerolint/confirm/sandbox.py")!r})
        sb = importlib.util.module_from_spec(spec); spec.loader.exec_module(sb)
        sb.install({str(scratch)!r}, ())
        open({str(real)!r}, "a").write(" run")
        assert open({str(real)!r}).read() == "user run"
        os.remove({str(real)!r})
        assert not os.path.exists({str(real)!r})
        try:
            import socket
            socket.create_connection(("example.com", 80), timeout=1)
        except OSError as exc:
            assert "network access is disabled" in str(exc), exc
        else:
            raise SystemExit("network was reachable")
        """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert real.read_text() == "user"


HANG = textwrap.dedent("""\
    import time
    import torch
    model = torch.nn.Linear(2, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    time.sleep(1000)
    for step in range(10):
        opt.zero_grad()
        model(torch.randn(4, 2)).sum().backward()
        opt.step()
""")


def _children(marker):
    """Processes whose command line mentions ``marker`` (the probe running that script)."""
    found = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as handle:
                    cmd = handle.read().decode("utf-8", "replace")
            except OSError:
                continue
            if "probe.py" in cmd and marker in cmd:
                found.append(int(pid))
    return found


def _wait(predicate, limit=60.0):
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.2)
    return predicate()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL, signal.SIGINT])
def test_the_child_dies_with_zerolint_and_leaves_no_temp_folder(tmp_path, how):
    pytest.importorskip("torch")
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    script = tmp_path / f"hang_{how.name}.py"
    script.write_text(HANG)
    env = dict(os.environ, TMPDIR=str(tmp))
    proc = subprocess.Popen([sys.executable, "-m", "zerolint", "--no-cache", "--confirm", "--device", "cpu",
                             "--confirm-timeout", "600", str(script)], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert _wait(lambda: _children(script.name)), "the child never started"
        time.sleep(1.0)
        proc.send_signal(how)
        code = proc.wait(timeout=60)  # Ctrl-C or SIGTERM do not wait for the 600 s limit
        if how == signal.SIGINT:
            assert code == 130
        elif how == signal.SIGTERM:
            assert code == 128 + signal.SIGTERM
        assert _wait(lambda: not _children(script.name)), "the child outlived zerolint"
        assert _wait(lambda: os.listdir(tmp) == []), os.listdir(tmp)
    finally:
        for pid in _children(script.name):
            os.kill(pid, signal.SIGKILL)
        if proc.poll() is None:
            proc.kill()

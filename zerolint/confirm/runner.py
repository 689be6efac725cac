"""Run one shrunk script in a child interpreter, with a wall-clock limit, and read back the probe's report.

Containment: the child's file changes are redirected into the temp folder (``sandbox.py``), its
network is off, its address space is limited on CPU (``MEMORY_GIB`` above what torch holds), and it
dies with zerolint: it polls a pipe whose write end only this process holds (EOF when zerolint ends,
even by SIGKILL), and SIGINT/SIGTERM here kill every child's process group and remove the temp
folders at once. The child runs ``probe.py`` (the only torch-importing code), with its working directory set to the
script's folder, stdin closed, and everything the runner writes (the shrunk copy, the report)
inside a temporary directory that is removed afterwards. A child that outlives the limit is killed
with its whole process group.
"""
from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Optional

from .shrink import shrink_source

PROBE = Path(__file__).with_name("probe.py")
EXIT_NO_TORCH, EXIT_NO_CUDA = 3, 4  # the probe's own exit statuses (see probe.py)
MEMORY_GIB = 4.0  # address space a CPU run may add to what torch holds after import

_active: dict = {}  # pid -> (Popen, temp folder) of the children running now
_active_lock = threading.Lock()


INSTALL_HINT = ("--confirm needs PyTorch in the same environment as zerolint: "
                "pip install 'zerolint[confirm]' (or pip install torch)")


class ConfirmUnavailable(Exception):
    """The child cannot run at all (torch not importable, no CUDA for --device cuda)."""


@dataclass
class RunResult:
    """What one confirmation run produced: the probe's observations, or why there are none."""

    script: str
    observations: dict = field(default_factory=dict)
    failure: Optional[str] = None  # set when the run produced no report at all
    seconds: float = 0.0
    stderr_tail: str = ""


def gpu_likely(device: str) -> bool:
    """Whether runs may land on a GPU (then they go one at a time); decided without torch."""
    if device == "cuda":
        return True
    if device == "cpu" or os.environ.get("CUDA_VISIBLE_DEVICES", None) == "":
        return False
    return _has_nvidia_gpu()


def _has_nvidia_gpu() -> bool:
    return Path("/proc/driver/nvidia/gpus").is_dir() and any(Path("/proc/driver/nvidia/gpus").iterdir())


def child_env(device: str) -> dict:
    env = dict(os.environ)
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # no __pycache__ next to the user's modules
    env.setdefault("PYTHONHASHSEED", "0")
    env["MPLBACKEND"] = "Agg"
    if device == "cpu":
        env["CUDA_VISIBLE_DEVICES"] = ""
    if not gpu_likely(device):
        env.setdefault("OMP_NUM_THREADS", "1")  # tiny tensors: threads only contend with parallel runs
    return env


def script_text(script: Path) -> str:
    """The Python a run executes: a notebook's code cells as one script (magics neutralized, lines kept)."""
    if script.suffix.lower() == ".ipynb":
        from ..notebook import script_source

        return script_source(script.read_bytes())
    return script.read_text(encoding="utf-8")


def run_script(script: Path, device: str = "cpu", timeout: float = 60.0, steps: int = 3,
               lines: Iterable[int] = ()) -> RunResult:
    """Run the shrunk script; ``lines`` (the findings') are reported in ``ran_lines`` when they run."""
    script = script.resolve()
    result = RunResult(str(script))
    try:
        shrunk = shrink_source(script_text(script), marks=lines)
    except Exception as exc:  # unreadable or unparsable: nothing to run
        result.failure = f"could not prepare the script: {exc}"
        return result
    with tempfile.TemporaryDirectory(prefix="zerolint-confirm-") as tmp:
        copy_path = Path(tmp) / "shrunk.py"
        report_path = Path(tmp) / "report.json"
        copy_path.write_text(shrunk, encoding="utf-8")
        read_end, write_end = os.pipe()
        command = [sys.executable, str(PROBE), str(copy_path), str(script), str(report_path),
                   str(steps), device, str(read_end), str(MEMORY_GIB)]
        env = child_env(device)
        env["TMPDIR"] = tmp
        started = time.monotonic()
        try:
            timed_out, code, stderr = _spawn(command, script.parent, env, timeout, read_end, tmp)
        finally:
            os.close(write_end)
        result.seconds = time.monotonic() - started
        result.stderr_tail = stderr[-2000:]
        if not timed_out and not report_path.exists() and code == EXIT_NO_TORCH:
            detail = stderr.strip().splitlines()[-1] if stderr.strip() else "torch is not importable"
            raise ConfirmUnavailable(f"{detail}. {INSTALL_HINT}")
        if not timed_out and not report_path.exists() and code == EXIT_NO_CUDA:
            raise ConfirmUnavailable("--device cuda was given, but torch sees no CUDA device")
        if timed_out:
            result.failure = (f"the run was killed at the time limit: the script did not finish within "
                              f"{timeout:g} s (--confirm-timeout)")
        elif not report_path.exists():
            last = stderr.strip().splitlines()[-1:] or ["no output"]
            result.failure = f"the script ended without a report ({last[0][:200]})"
        else:
            try:
                result.observations = json.loads(report_path.read_text(encoding="utf-8"))
            except ValueError as exc:
                result.failure = f"unreadable probe report: {exc}"
    return result


def _spawn(command: list, cwd: Path, env: dict, timeout: float, read_end: int, tmp: str) -> tuple:
    """Run the child in its own session; on timeout kill the whole group.

    Returns (timed_out, exit status, stderr)."""
    try:
        proc = subprocess.Popen(command, cwd=str(cwd), env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
                                pass_fds=(read_end,))
    finally:
        os.close(read_end)
    with _active_lock:
        _active[proc.pid] = (proc, tmp)
    try:
        _, err = proc.communicate(timeout=timeout)
        return False, proc.returncode, err.decode("utf-8", "replace")
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        _, err = proc.communicate()
        return True, proc.returncode, err.decode("utf-8", "replace")
    finally:
        with _active_lock:
            _active.pop(proc.pid, None)
        _kill_group(proc)  # DataLoader workers or anything else the script left in its group


def stop_all() -> None:
    """Kill every running child's process group and remove its temp folder (on SIGINT/SIGTERM)."""
    with _active_lock:
        running = list(_active.values())
        _active.clear()
    for proc, tmp in running:
        _kill_group(proc)
        shutil.rmtree(tmp, ignore_errors=True)


@contextlib.contextmanager
def stop_children_on_signals():
    """While confirming: SIGINT/SIGTERM stop every child at once and end zerolint (130 / 143)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        stop_all()
        sys.stderr.write("zerolint: interrupted; the confirmation runs were stopped\n")
        sys.stderr.flush()
        os._exit(130 if signum == signal.SIGINT else 128 + signum)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        if proc.returncode is None:
            proc.kill()

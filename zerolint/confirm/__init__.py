"""``zerolint --confirm``: run a shrunk copy of each training script and check the findings.

Layout: ``shrink.py`` (libcst transform that makes the run tiny), ``runner.py`` (one child
interpreter per script, wall-clock limit, temp dir), ``probe.py`` (runs in the child; the only code
that imports torch), ``evidence.py`` (observations -> confirmed / refuted / unreached, and ZL9xx).

This package is imported only when ``--confirm`` is given; it never imports torch itself.
"""
from __future__ import annotations

import importlib.util
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Iterable, Optional

from ..diagnostic import Finding
from .evidence import confirm_finding, crash_finding, crash_targets, not_run, runtime_findings
from .runner import (INSTALL_HINT, ConfirmUnavailable, gpu_likely, run_script, script_text,
                     stop_children_on_signals)

__all__ = ["ConfirmUnavailable", "INSTALL_HINT", "confirm", "has_region", "torch_importable"]


def torch_importable() -> bool:
    """Whether ``import torch`` could succeed, found without importing it."""
    if "torch" in sys.modules and sys.modules["torch"] is None:
        return False
    try:
        return importlib.util.find_spec("torch") is not None
    except (ImportError, ValueError):
        return False


def has_region(path: Path) -> bool:
    """Does the static model see a training or evaluation region (a step, backward or forward)?"""
    import libcst as cst

    from ..model import SemanticModel
    from ..model import facts as F

    try:
        module = cst.parse_module(script_text(path))
        model = SemanticModel(module, str(path))
    except Exception:
        return False
    return next(model.events(F.STEP, F.BACKWARD, F.FORWARD), None) is not None


def confirm(files: Iterable[tuple], device: str = "auto", timeout: float = 60.0,
            steps: int = 3, progress: Optional[Callable[[str], None]] = None,
            jobs: Optional[int] = None) -> list:
    """Confirm each file's findings. ``files`` holds (path, display, findings) triples.

    Returns every finding with its ``confirmation`` set, plus the runtime-only ZL9xx findings.
    Scripts run in parallel child processes (``jobs``, default: the number of CPUs, at most 4).
    Raises ConfirmUnavailable when the child cannot run torch at all.
    """
    out: list[Finding] = []
    planned = []
    for path, display, findings in files:
        if any(f.code == "ZL000" for f in findings) or not (findings or has_region(path)):
            reason = "not run: the file could not be parsed" if findings else \
                "not run: no training or evaluation code found"
            out.extend(not_run(f, reason) for f in findings)
        else:
            planned.append((path, display, findings))
    if not planned:
        return out
    if gpu_likely(device):
        jobs = 1  # one GPU: runs would only contend for it
    workers = max(1, min(jobs or min(os.cpu_count() or 1, 4), len(planned)))

    def one(item: tuple) -> list:
        path, display, findings = item
        if progress:
            progress(display)
        run = run_script(path, device=device, timeout=timeout, steps=steps, lines=[f.line for f in findings])
        if run.failure and not findings:  # nothing to attach the reason to: say it here
            sys.stderr.write(f"zerolint: {display}: not confirmed: {run.failure}\n")
        return _place(run, path, display, findings, steps)

    with stop_children_on_signals(), ThreadPoolExecutor(max_workers=workers) as pool:
        for placed in pool.map(one, planned):
            out.extend(placed)
    return out


def _place(run, path: Path, display: str, findings: list, steps: int) -> list:
    targets = crash_targets(findings, run)
    placed = [confirm_finding(f, run, steps, crashed=f in targets) for f in findings]
    try:
        lines = script_text(path).splitlines()
    except (OSError, ValueError):
        lines = []
    known = {(f.code, f.line) for f in findings}
    # a runtime-only finding that repeats a static one on its line (ZL907 input-scale is ZL404's fact)
    known |= {(runtime, line) for runtime, static in _SAME_FACT.items() for code, line in known if code == static}
    placed.extend(f for f in runtime_findings(run, display, lines) if (f.code, f.line) not in known)
    if not targets:
        extra = crash_finding(run, display, lines, _static_codes())
        if extra is not None and (extra.code, extra.line) not in known:
            placed.append(extra)
    return placed


_SAME_FACT = {"ZL907": "ZL404"}  # runtime-only code -> the static code whose check observes the same fact


def _static_codes() -> dict:
    from ..rules import all_rules
    return {code: (rule.name, rule.severity) for code, rule in all_rules().items()}

"""``zerolint --confirm``: run a shrunk copy of each training script and check the findings.

Layout: ``shrink.py`` (libcst transform that makes the run tiny), ``runner.py`` (one child
interpreter per script, wall-clock limit, temp dir), ``probe.py`` (runs in the child; the only code
that imports torch), ``evidence.py`` (observations -> confirmed / refuted / unreached, and ZL9xx).

This package is imported only when ``--confirm`` is given; it never imports torch itself.
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Iterable, Optional

from ..diagnostic import Finding
from .evidence import confirm_finding, not_run, runtime_findings
from .runner import ConfirmUnavailable, resolve_device, run_script

__all__ = ["ConfirmUnavailable", "INSTALL_HINT", "confirm", "has_region", "torch_importable"]

INSTALL_HINT = ("--confirm needs PyTorch in the same environment as zerolint: "
                "pip install 'zerolint[confirm]' (or pip install torch)")


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
        module = cst.parse_module(path.read_text(encoding="utf-8"))
        model = SemanticModel(module, str(path))
    except Exception:
        return False
    return next(model.events(F.STEP, F.BACKWARD, F.FORWARD), None) is not None


def confirm(files: Iterable[tuple], device: str = "auto", timeout: float = 60.0,
            steps: int = 3, progress: Optional[callable] = None) -> list:
    """Confirm each file's findings. ``files`` holds (path, display, findings) triples.

    Returns every finding with its ``confirmation`` set, plus the runtime-only ZL9xx findings.
    Raises ConfirmUnavailable when the child cannot run torch at all.
    """
    device = resolve_device(device)
    out: list[Finding] = []
    for path, display, findings in files:
        parsable = [f for f in findings if f.code != "ZL000"]
        if len(parsable) != len(findings) or not (parsable or has_region(path)):
            reason = "not run: no training or evaluation code found" if not findings else \
                "not run: the file could not be parsed"
            out.extend(not_run(f, reason) for f in findings)
            continue
        if progress:
            progress(display)
        run = run_script(path, device=device, timeout=timeout, steps=steps)
        out.extend(confirm_finding(f, run, steps) for f in findings)
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError):
            lines = []
        known = {(f.code, f.line) for f in findings}
        out.extend(f for f in runtime_findings(run, display, lines) if (f.code, f.line) not in known)
    return out

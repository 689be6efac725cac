"""Turn a run's observations into confirmations of static findings and runtime-only ZL9xx findings.

Runs in the linter's process: plain data in, Findings out, no torch.
"""
from __future__ import annotations

import os
import re
from dataclasses import replace
from typing import Callable, Optional

from ..codes import RUNTIME_RULES  # noqa: F401 - re-exported for confirm's callers
from ..diagnostic import Finding
from .runner import RunResult

CONFIRMED, REFUTED, UNREACHED = "confirmed", "refuted", "unreached"


#: Crash signatures: a regex over the error (``Type: message``) -> the static code whose bug it is.
#: A crash that matches confirms that code's finding (or becomes a finding of that code when static
#: analysis missed it); any other crash of the user's code is ZL910.
CRASH_SIGNATURES: list = [
    (r"stack expects each tensor to be equal size|Sizes of tensors must match except in dimension"
     r"|each element in list of batch should be of equal size", "ZL401"),
    (r"expected scalar type Long but found Float|expected scalar type Long|"
     r"Expected floating point type for target with class probabilities|"
     r"\"nll_loss.*\" not implemented for 'Float'|multi-target not supported|"
     r"0D or 1D target tensor expected|Expected target size|expected target dtype to be Long", "ZL104"),
    (r"Target \d+ is out of bounds|IndexError: Target .* out of bounds|"
     r"device-side assert triggered", "ZL106"),
    (r"all elements of input should be between 0 and 1", "ZL101"),
    (r"all elements of target should be between 0 and 1", "ZL105"),
    (r"Target size \(.*\) must be the same as input size", "ZL108"),
    (r"element 0 of tensors does not require grad and does not have a grad_fn", "ZL204"),
    (r"Trying to backward through the graph a second time", "ZL207"),
]
_UNREACHED_ERRORS = ("ModuleNotFoundError", "FileNotFoundError", "KeyboardInterrupt")
_LINEAR_OPS = ("Addmm", "Mm", "Mv", "Bmm", "Linear", "Convolution", "Add", "Sub", "Mul", "Matmul", "Baddbmm")
_PROBABILITY_OPS = ("Sigmoid", "Softmax", "Clamp", "Hardsigmoid")

Verdict = Optional[tuple]  # (status, evidence) or None when the line was not observed


def _by_line(observations: dict, key: str) -> dict:
    return {item.get("line"): item for item in observations.get(key, []) if item.get("line")}


def _fmt(value: Optional[float]) -> str:
    return "?" if value is None else f"{value:.3g}"


def _zl101(obs: dict, line: int) -> Verdict:
    entry = _by_line(obs, "losses").get(line)
    if entry is None or entry.get("function") != "binary_cross_entropy":
        return None
    lo, hi = entry.get("min"), entry.get("max")
    span = f"[{_fmt(lo)}, {_fmt(hi)}]"
    raised = f"; torch raised: {entry['error']}" if entry.get("error") else ""
    producers = entry.get("producers", [])
    if lo is not None and (lo < 0 or hi > 1):
        return CONFIRMED, f"{entry['kind']} received inputs in {span}{raised}"
    if entry.get("error") and "between 0 and 1" in entry["error"]:
        return CONFIRMED, f"{entry['kind']} rejected its inputs{raised}"
    if producers and all(any(op in p for op in _LINEAR_OPS) for p in producers):
        return CONFIRMED, (f"{entry['kind']} received raw outputs of {producers[0]} (no sigmoid), "
                           f"in {span} so far")
    if producers and all(any(op in p for op in _PROBABILITY_OPS) for p in producers):
        return REFUTED, f"{entry['kind']} received probabilities from {producers[0]}, in {span}"
    return REFUTED, f"{entry['kind']} inputs stayed in {span} over {entry['calls']} calls"


def _zl104(obs: dict, line: int) -> Verdict:
    entry = _by_line(obs, "losses").get(line)
    if entry is None or entry.get("function") not in ("cross_entropy", "nll_loss"):
        return None
    if entry.get("error"):
        return CONFIRMED, f"{entry['kind']} raised {entry['error']}"
    dtype, shape = entry.get("target_dtype"), entry.get("target_shape")
    if entry.get("float_class_indices"):
        lo, hi = entry.get("target_range", [None, None])
        return CONFIRMED, (f"{entry['kind']} received {dtype} targets of shape {shape} holding class "
                           f"indices {_fmt(lo)}..{_fmt(hi)}, read as probabilities")
    return REFUTED, f"{entry['kind']} received {dtype} targets of shape {shape}, a valid encoding"


def _zl201(obs: dict, line: int) -> Verdict:
    entry = _by_line(obs, "steps").get(line)
    if entry is None:
        return None
    if entry.get("stale"):
        before, after = entry["stale"]
        return CONFIRMED, (f"gradients were not cleared after a step: the next backward() added to the "
                           f"gradient the step had already applied (norm {before:.3g}, "
                           f"{after:.3g} after accumulating)")
    if entry["calls"] >= 2:
        return REFUTED, f"gradients were cleared between all {entry['calls']} steps"
    return UNREACHED, "the step ran only once; two are needed to see gradients accumulate"


def _zl202(obs: dict, line: int) -> Verdict:
    entry = _by_line(obs, "steps").get(line)
    if entry is None:
        return None
    name, calls = entry["optimizer"], entry["calls"]
    checked = entry.get("changed", 0) + entry.get("unchanged", 0)
    unchanged = f"; parameters unchanged by the first {checked} steps" \
        if checked and not entry.get("changed") else ""
    if entry.get("without_grad"):
        return CONFIRMED, (f"`{name}.step()` found no gradients in {entry['without_grad']} of {calls} "
                           f"steps (backward() had not run yet){unchanged}")
    if entry.get("before_backward"):
        return CONFIRMED, (f"`{name}.step()` ran with no backward() since the previous step in "
                           f"{entry['before_backward']} of {calls} steps{unchanged}")
    return REFUTED, f"each of the {calls} steps had fresh gradients from a backward()"


def _zl301(obs: dict, line: int) -> Verdict:
    entry = _by_line(obs, "forwards").get(line)
    if entry is None:
        return None
    total = entry["grad_on"] + entry["grad_off"]
    if entry["grad_on"]:
        return CONFIRMED, (f"`{entry['module']}` ran with autograd enabled in {entry['grad_on']} of "
                           f"{total} forwards here")
    return REFUTED, f"`{entry['module']}` ran with autograd disabled in all {total} forwards here"


def _zl302(obs: dict, line: int) -> Verdict:
    entry = _by_line(obs, "forwards").get(line)
    if entry is None:
        return None
    total = entry["training"] + entry["eval"]
    if entry["training"]:
        return CONFIRMED, (f"`{entry['module']}` had module.training=True in {entry['training']} of "
                           f"{total} forwards here")
    return REFUTED, f"`{entry['module']}` was in eval mode in all {total} forwards here"


def _zl401(obs: dict, line: int) -> Verdict:
    errors = _by_line(obs, "stack_errors")
    if line in errors:
        return CONFIRMED, f"torch.stack raised {errors[line]['message']}"
    ok = _by_line(obs, "stack_ok").get(line)
    if ok:
        return REFUTED, f"torch.stack succeeded in all {ok['calls']} calls here"
    return None


def _loss_entry(obs: dict, line: int, *functions: str) -> Optional[dict]:
    entry = _by_line(obs, "losses").get(line)
    return entry if entry is not None and entry.get("function") in functions else None


def _zl102(obs: dict, line: int) -> Verdict:
    entry = _loss_entry(obs, line, "binary_cross_entropy_with_logits")
    if entry is None or entry.get("min") is None:
        return None
    producers = entry.get("producers", [])
    if any("Sigmoid" in p for p in producers) or 0 <= entry["min"] and entry["max"] <= 1:
        return CONFIRMED, (f"{entry['kind']} received values in [{_fmt(entry['min'])}, {_fmt(entry['max'])}]"
                           + (f" from {producers[0]}" if producers else "") + ": already probabilities")
    return REFUTED, f"{entry['kind']} received logits in [{_fmt(entry['min'])}, {_fmt(entry['max'])}]"


def _zl103(obs: dict, line: int) -> Verdict:
    entry = _loss_entry(obs, line, "cross_entropy")
    if entry is None or not entry.get("producers"):
        return None
    producer = entry["producers"][0]
    if "Softmax" in producer:
        return CONFIRMED, f"{entry['kind']} received the output of {producer}"
    return REFUTED, f"{entry['kind']} received the output of {producer}, not a softmax"


def _zl105(obs: dict, line: int) -> Verdict:
    entry = _loss_entry(obs, line, "binary_cross_entropy", "binary_cross_entropy_with_logits")
    if entry is None or entry.get("target_range") is None:
        return None
    lo, hi = entry["target_range"]
    span = f"[{_fmt(lo)}, {_fmt(hi)}]"
    if lo < 0 or hi > 1:
        return CONFIRMED, f"{entry['kind']} received targets in {span}"
    return REFUTED, f"{entry['kind']} targets stayed in {span}"


def _zl106(obs: dict, line: int) -> Verdict:
    entry = _loss_entry(obs, line, "cross_entropy")
    if entry is None or entry.get("num_classes") is None:
        return None
    if entry["num_classes"] == 1:
        return CONFIRMED, f"{entry['kind']} received inputs of shape {entry.get('input_shape')}: one class"
    return REFUTED, f"{entry['kind']} received {entry['num_classes']} classes"


def _zl107(obs: dict, line: int) -> Verdict:
    entry = _loss_entry(obs, line, "nll_loss")
    if entry is None or entry.get("max") is None:
        return None
    if entry["max"] > 0:
        return CONFIRMED, (f"{entry['kind']} received values up to {_fmt(entry['max'])}: log-probabilities "
                           "are never positive")
    return REFUTED, f"{entry['kind']} received values <= 0, as log-probabilities are"


def _zl203(obs: dict, line: int) -> Verdict:
    entry = _by_line(obs, "zero_grads").get(line)
    if entry is None:
        return None
    if entry["wiped"]:
        return CONFIRMED, (f"zero_grad() here cleared fresh gradients of a backward() before any step used "
                           f"them, in {entry['wiped']} of {entry['calls']} calls")
    return REFUTED, f"zero_grad() here never cleared gradients a step had not used ({entry['calls']} calls)"


def _zl204(obs: dict, line: int) -> Verdict:
    entry = _by_line(obs, "steps").get(line)
    if entry is None:
        return None
    if entry["without_grad"] == entry["calls"]:
        return CONFIRMED, (f"`{entry['optimizer']}.step()` found no gradients in any of its {entry['calls']} "
                           "calls: no backward() reached these parameters")
    return REFUTED, (f"`{entry['optimizer']}.step()` had gradients in {entry['calls'] - entry['without_grad']} "
                     f"of {entry['calls']} calls")


def _zl206(obs: dict, line: int) -> Verdict:
    entry = _by_line(obs, "schedulers").get(line)
    if entry is None:
        return None
    if entry["before_step"]:
        return CONFIRMED, (f"scheduler.step() ran with no optimizer.step() since the previous one in "
                           f"{entry['before_step']} of {entry['calls']} calls")
    return REFUTED, f"each of the {entry['calls']} scheduler steps followed an optimizer step"


def _zl208(obs: dict, line: int) -> Verdict:
    entry = _by_line(obs, "constructed").get(line)
    if entry is None:
        return None
    if entry["again"]:
        return CONFIRMED, (f"`{entry['optimizer']}` was built {entry['calls']} times here over parameters an "
                           "earlier optimizer already held: its momentum/Adam state restarts each time")
    return REFUTED, f"`{entry['optimizer']}` was built {entry['calls']} time(s) here, over fresh parameters"


_BOUNDED = {"Sigmoid": (0.0, 1.0), "Tanh": (-1.0, 1.0), "Softmax": (0.0, 1.0)}


def _zl110(obs: dict, line: int) -> Verdict:
    entry = _loss_entry(obs, line, "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss")
    if entry is None or entry.get("target_range") is None or not entry.get("producers"):
        return None
    producer = entry["producers"][0]
    bounds = next((b for op, b in _BOUNDED.items() if op in producer), None)
    lo, hi = entry["target_range"]
    if bounds is None:
        return REFUTED, f"{entry['kind']} received the output of {producer}, not a bounded activation"
    if lo < bounds[0] - 1e-6 or hi > bounds[1] + 1e-6:
        return CONFIRMED, (f"{entry['kind']} compared the output of {producer} (range [{bounds[0]:g}, "
                           f"{bounds[1]:g}]) with targets in [{_fmt(lo)}, {_fmt(hi)}]")
    return REFUTED, f"{entry['kind']} targets stayed in [{_fmt(lo)}, {_fmt(hi)}], inside {producer}'s range"


def _zl403(obs: dict, line: int) -> Verdict:
    entry = _by_line(obs, "loaders").get(line)
    if entry is None or not entry["trained"]:
        return None  # built but never the loader of an optimizer step: the training loop did not run
    if entry["sequential"] and not entry["shuffled"]:
        return CONFIRMED, (f"the DataLoader built here iterated in a fixed order (SequentialSampler) while "
                           f"{entry['trained']} optimizer steps trained on its batches")
    return REFUTED, "the DataLoader built here shuffles or uses its own sampler"


def _zl304(obs: dict, line: int) -> Verdict:
    sites = _by_line(obs, "iter_sites")
    entry = sites.get(line)
    if entry is None:
        return None
    if entry["steps"]:
        return REFUTED, f"the loop here trained ({entry['steps']} optimizer steps): it is not an evaluation"
    trained = {d for s in sites.values() if s["steps"] for d in s["datasets"]}
    if set(entry["datasets"]) & trained:
        return CONFIRMED, "the evaluation loop here iterated the same dataset object the training loop trained on"
    return REFUTED, "the evaluation loop here iterated a dataset no training step used"


#: The runtime check of each static code: observations and the finding's line -> a verdict, or None
#: when the line produced no observation (then the finding is unreached, with the reason).
CHECKS: dict[str, Callable[[dict, int], Verdict]] = {
    "ZL101": _zl101, "ZL102": _zl102, "ZL103": _zl103, "ZL104": _zl104, "ZL105": _zl105,
    "ZL106": _zl106, "ZL107": _zl107, "ZL110": _zl110, "ZL201": _zl201, "ZL202": _zl202, "ZL203": _zl203,
    "ZL204": _zl204, "ZL206": _zl206, "ZL208": _zl208,
    "ZL301": _zl301, "ZL302": _zl302, "ZL304": _zl304, "ZL401": _zl401, "ZL403": _zl403,
}
#: Codes whose claim a run cannot show either way (a value judged against practice, not a fact the
#: run observes): their findings get this status, never ``unreached``.
NO_RUNTIME_CHECK_STATUS = "no-runtime-check"
NO_RUNTIME_CHECK: dict[str, str] = {}  # code -> why a run cannot show it (none so far: all are observable)


def why_unreached(run: RunResult, line: int, steps: int) -> str:
    """The reason a line produced no observation, in the user's terms."""
    if run.failure:
        return run.failure
    error = run.observations.get("error")
    if run.observations.get("status") == "exited":
        where = run.observations.get("exit_line")
        return (f"line {line} did not run: the script called sys.exit() "
                + (f"at line {where} " if where else "") + "before reaching it")
    if not error:
        return f"line {line} did not run in the shrunk script (loops capped at {steps} iterations)"
    where = f"line {error['line']}" if error.get("line") else "start-up"
    if error.get("network"):
        return f"script needs network access ({error['network']}; stopped at {where}), blocked under --confirm"
    if error.get("memory_gib"):
        return (f"the run exceeded {error['memory_gib']:g} GiB of memory at {where} "
                "(--confirm limits memory)")
    if "Torch not compiled with CUDA" in error.get("message", "") or \
            "no NVIDIA driver" in error.get("message", "") or \
            ("CUDA" in error.get("message", "") and "available" in error.get("message", "")):
        return f"script needs CUDA (stopped at {where}), not available to this run"
    if error.get("undefined"):
        return (f"script is incomplete: `{error['undefined']}` is never defined "
                f"(NameError at {where})")
    if error.get("missing_module"):
        return f"script needs module {error['missing_module']}, not installed"
    if error.get("missing_file"):
        name = error["missing_file"]
        if os.path.isabs(name):
            name = os.path.relpath(name, os.path.dirname(run.script))
        return f"script needs {name}, not present"
    if "Dataset not found" in error.get("message", "") or "download=True" in error.get("message", ""):
        return (f"script needs its dataset on disk (stopped at {where}; downloads are disabled "
                "under --confirm), not present")
    return f"script stopped at {where} before reaching it: {error['type']}: {error['message']}"


def crash(run: RunResult) -> Optional[dict]:
    """The user's code crashed (not for want of a module, a file, the network, memory or CUDA)."""
    error = run.observations.get("error") if not run.failure else None
    if not error or error.get("type") in _UNREACHED_ERRORS or error.get("network") or \
            error.get("memory_gib") or error.get("type") == "SystemExit" or not error.get("line"):
        return None
    if why_unreached(run, 0, 0).startswith(("script needs", "script is incomplete")):
        return None
    return error


def crash_code(error: dict) -> Optional[str]:
    text = f"{error.get('type')}: {error.get('message', '')}"
    return next((code for pattern, code in CRASH_SIGNATURES if re.search(pattern, text)), None)


def crash_targets(findings: list, run: RunResult) -> list:
    """The static findings a crash confirms: those of its signature's code on a line of the
    traceback, else every finding of that code in the file."""
    error = crash(run)
    code = crash_code(error) if error else None
    same = [f for f in findings if f.code == code]
    lines = error.get("lines") or [error["line"]] if error else []
    return [f for f in same if f.line in lines] or same


def crash_finding(run: RunResult, display: str, source_lines: list, static_codes: dict) -> Optional[Finding]:
    """A crash no static finding explains: a finding of its signature's code, or ZL910."""
    error = crash(run)
    if error is None:
        return None
    code = crash_code(error)
    line = error["line"]
    what = f"{error['type']}: {error['message']}"
    if code and code in static_codes:
        name, severity = static_codes[code]
        message = f"the script crashed at line {line} with {what} (the signature of {code} {name})"
    else:
        code, (name, severity) = "ZL910", RUNTIME_RULES["ZL910"]
        message = (f"the script crashed at line {line}: {what}. Training never gets past this "
                   "line; fix the error first")
    return _runtime(display, source_lines, code, name, severity, line, message,
                    f"the script crashed at line {line}: {what}")


def _runtime(display, source_lines, code, name, severity, line, message, evidence) -> Finding:
    line = line or 1
    text = source_lines[line - 1] if 0 < line <= len(source_lines) else ""
    column = len(text) - len(text.lstrip()) + 1
    end = max(len(text.rstrip()) + 1, column + 1)
    return Finding(display, line, column, line, end, code, name, severity, message,
                   confirmation={"status": CONFIRMED, "evidence": evidence})


def confirm_finding(finding: Finding, run: RunResult, steps: int, crashed: bool = False) -> Finding:
    check = CHECKS.get(finding.code)
    verdict = check(run.observations, finding.line) if check and not run.failure else None
    error = crash(run)
    if crashed and error and (verdict is None or verdict[0] != CONFIRMED):
        verdict = (CONFIRMED, f"the script crashed at line {error['line']}: {error['type']}: "
                              f"{error['message']}")
    if verdict is None and finding.code in NO_RUNTIME_CHECK:
        verdict = (NO_RUNTIME_CHECK_STATUS, NO_RUNTIME_CHECK[finding.code])
    if verdict is None:
        if check is None and not run.failure:
            verdict = (UNREACHED, f"--confirm has no runtime check for {finding.code} yet")
        else:
            verdict = (UNREACHED, why_unreached(run, finding.line, steps))
    status, evidence = verdict
    return replace(finding, confirmation={"status": status, "evidence": evidence})


def not_run(finding: Finding, reason: str) -> Finding:
    return replace(finding, confirmation={"status": UNREACHED, "evidence": reason})


def runtime_findings(run: RunResult, display: str, source_lines: list) -> list:
    """ZL9xx findings from the run, placed on the loss/step/forward line where one is known."""
    out = []
    for item in run.observations.get("runtime", []):
        code = item.get("code")
        if code not in RUNTIME_RULES:
            continue
        name, severity = RUNTIME_RULES[code]
        out.append(_runtime(display, source_lines, code, name, severity, item.get("line"), item["message"],
                            "observed in the confirmation run"))
    return out

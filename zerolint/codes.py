"""Every code zerolint can report, declared once: name, family, severity, summary, page, fix, runtime check.

This module imports nothing (config validation, selection and `zerolint rule` read it without libcst).
Everything else derives from ``CODES``: the rule classes take their name/severity/summary from it
(``rules.register``), the fix package its ``FIXABLE`` set (transforms register against it), the SARIF
rules list, `zerolint rule`, the README's table (a test compares them) and tests/test_codes.py's checks.

``runtime`` says what a run (`--confirm`) does with the code:
  "evidence": a static finding that --confirm checks against the run's observations (confirm's
              ``CHECKS``) or explains why a run cannot show it (``NO_RUNTIME_CHECK``);
  "run":      found only by running (ZL9xx), reported by --confirm itself.
"""

FAMILIES = {  # family -> (code prefix, title); a static family is also a module under zerolint/rules/ and a
    # folder under fixtures/
    "loss": ("ZL1", "loss and output contract"),
    "step": ("ZL2", "the training step"),
    "evaluation": ("ZL3", "evaluation"),
    "data": ("ZL4", "data"),
    "init": ("ZL5", "initialization"),
    "runtime": ("ZL9", "found only by running (--confirm)"),
}
#: families whose codes are static rules, in the order their modules are imported
RULE_FAMILIES = ("loss", "step", "evaluation", "data", "init")


class Code:
    """One code's declaration."""

    __slots__ = ("code", "name", "family", "severity", "summary", "fixable", "runtime")

    def __init__(self, code, name, family, severity, summary, fixable=False, runtime="evidence"):
        self.code = code
        self.name = name
        self.family = family
        self.severity = severity
        self.summary = summary
        self.fixable = fixable
        self.runtime = runtime

    @property
    def static(self) -> bool:
        """Reported by a rule class of the linter (not only by a run)."""
        return self.family in RULE_FAMILIES

    @property
    def page(self):
        """The rule page, relative to the repository (and `zerolint/_pages/` in a wheel); None for run-only codes."""
        return f"rules/{self.code}.md" if self.static else None

    def __repr__(self) -> str:
        return f"Code({self.code!r}, {self.name!r})"


E, W = "error", "warning"
_RUN = "reported by `zerolint --confirm` (a run)"
_DECLARED = (
    # ---- ZL1xx: loss and output contract
    Code("ZL101", "bce-on-logits", "loss", E,
         "BCELoss/binary_cross_entropy fed raw logits instead of probabilities", fixable=True),
    Code("ZL102", "sigmoid-before-bce-with-logits", "loss", E,
         "BCEWithLogitsLoss (or from_logits=True) fed a sigmoid output"),
    Code("ZL103", "softmax-before-cross-entropy", "loss", E,
         "CrossEntropyLoss (or from_logits=True) fed softmax/log_softmax output"),
    Code("ZL104", "cross-entropy-target-encoding", "loss", E,
         "cross-entropy targets in the wrong encoding (float-cast indices, integer one-hot, class count)"),
    Code("ZL105", "bce-target-out-of-range", "loss", E, "BCE-family targets provably outside [0, 1]"),
    Code("ZL106", "cross-entropy-single-logit", "loss", E, "cross-entropy on an output with exactly one unit"),
    Code("ZL107", "nll-without-log-softmax", "loss", E,
         "NLLLoss/nll_loss fed something other than log-probabilities"),
    Code("ZL108", "loss-task-mismatch", "loss", E,
         "regression loss on class targets, or classification loss on continuous targets"),
    Code("ZL109", "softmax-dim", "loss", E, "softmax/log_softmax with no dim, or dim=0 on a batched output"),
    Code("ZL110", "bounded-output-unscaled-target", "loss", E,
         "sigmoid/tanh output trained with a regression loss on targets outside its range"),
    Code("ZL111", "softmax-single-unit", "loss", E, "softmax over a single unit: the output is constantly 1.0"),
    Code("ZL112", "probability-loss-on-logits", "loss", E,
         "a loss that expects probabilities (Keras crossentropy, KLDivLoss) fed raw outputs"),
    # ---- ZL2xx: the training step
    Code("ZL201", "missing-zero-grad", "step", E, "optimizer.step() in a loop that never clears gradients",
         fixable=True),
    Code("ZL202", "step-before-backward", "step", E, "optimizer.step() before loss.backward() in the same iteration",
         fixable=True),
    Code("ZL203", "zero-grad-after-backward", "step", E, "gradients cleared between backward() and step()"),
    Code("ZL204", "missing-backward-or-step", "step", E,
         "a training loop steps without backward(), or calls backward() and never steps"),
    Code("ZL205", "clip-grad-misplaced", "step", E, "clip_grad_norm_/clip_grad_value_ before backward() or after step()"),
    Code("ZL206", "scheduler-before-optimizer", "step", W,
         "scheduler.step() before optimizer.step() in the same iteration"),
    Code("ZL207", "loss-accumulated-with-graph", "step", W,
         "a running total of loss tensors keeps every iteration's graph alive"),
    Code("ZL208", "optimizer-in-loop", "step", E, "the optimizer is constructed inside the training loop"),
    Code("ZL209", "implausible-learning-rate", "step", W,
         "an adaptive optimizer with lr >= 0.1, or any optimizer with lr <= 1e-7"),
    # ---- ZL3xx: evaluation
    Code("ZL301", "eval-without-no-grad", "evaluation", W, "forward passes in evaluation run with autograd on",
         fixable=True),
    Code("ZL302", "eval-without-model-eval", "evaluation", E,
         "evaluation of a model with Dropout/BatchNorm while it is in training mode"),
    Code("ZL303", "train-mode-not-restored", "evaluation", E,
         "model.eval() in the epoch loop, and the next iteration trains without model.train()"),
    Code("ZL304", "eval-on-training-data", "evaluation", W, "the evaluation loop iterates the training loader or dataset"),
    Code("ZL305", "argmax-single-logit", "evaluation", E,
         "argmax/max(dim=1) over a one-unit output: predictions are always class 0"),
    # ---- ZL4xx: data
    Code("ZL401", "stack-ragged-sequences", "data", E, "torch.stack/torch.tensor over sequences of different lengths"),
    Code("ZL402", "last-step-of-padded-output", "data", E,
         "out[:, -1] on a padded RNN output reads padding for shorter sequences"),
    Code("ZL403", "train-loader-without-shuffle", "data", W, "a training DataLoader without shuffle=True or a sampler"),
    Code("ZL404", "unnormalized-inputs", "data", W, "inputs on a large scale fed to the model unscaled"),
    Code("ZL405", "rnn-batch-first-mismatch", "data", E,
         "an RNN's batch_first does not match the layout of the tensor fed to it"),
    # ---- ZL5xx: initialization
    Code("ZL501", "constant-weight-init", "init", E, "weights (not biases) initialized to a constant"),
    # ---- ZL9xx: found only by running
    Code("ZL901", "cannot-overfit-one-batch", "runtime", W, "the loss does not drop over a few dozen steps on one batch",
         runtime="run"),
    Code("ZL902", "parameters-without-gradient", "runtime", W,
         "trainable parameters whose .grad is None or all zeros after backward()", runtime="run"),
    Code("ZL903", "parameters-not-updated", "runtime", E, "optimizer.step() leaves trainable parameters unchanged",
         runtime="run"),
    Code("ZL904", "non-finite-loss", "runtime", E, "NaN/Inf in the loss or gradients", runtime="run"),
    Code("ZL905", "initial-loss-off", "runtime", W, "the first cross-entropy loss is far from ln(C)", runtime="run"),
    Code("ZL906", "dominant-label", "runtime", W, "one class makes up >= 95% of the labels in the first batches",
         runtime="run"),
    Code("ZL907", "input-scale", "runtime", W, "first-batch inputs on a large scale (confirms ZL404)", runtime="run"),
    Code("ZL908", "dead-relu", "runtime", W, "most ReLU units never activate on a batch", runtime="run"),
    Code("ZL909", "constant-output", "runtime", E, "the model's output is identical across the batch", runtime="run"),
    Code("ZL910", "script-crashed", "runtime", E, "the shrunk run of the script crashed", runtime="run"),
)
#: code -> declaration, in code order
CODES = {c.code: c for c in sorted(_DECLARED, key=lambda c: c.code)}
if len(CODES) != len(_DECLARED):  # pragma: no cover - a declaration error
    raise ValueError("a code is declared twice")

STATIC_CODES = tuple(code for code, c in CODES.items() if c.static)
RUNTIME_CODES = tuple(code for code, c in CODES.items() if c.runtime == "run")
#: Runtime-only rules (ZL9xx), reported by --confirm: code -> (name, severity).
RUNTIME_RULES = {code: (CODES[code].name, CODES[code].severity) for code in RUNTIME_CODES}
FIXABLE = frozenset(code for code, c in CODES.items() if c.fixable)
ALL_CODES = ("ZL000",) + tuple(CODES)
#: ZL000 is no rule: a file that cannot be read, decoded or parsed.
ZL000 = Code("ZL000", "unreadable-source", "general", E,
             "a file that cannot be read, decoded or parsed, so it was not linted", runtime=None)


def markdown_table(codes=None) -> str:
    """The README's table of codes (tests/test_codes.py checks the README holds it verbatim)."""
    rows = ["| code | name | severity | what it flags |", "|---|---|---|---|"]
    for c in (CODES.values() if codes is None else codes):
        link = f"[{c.code}]({c.page})" if c.page else c.code
        summary = c.summary if c.runtime != "run" else f"{c.summary}; {_RUN}"
        rows.append(f"| {link} | {c.name} | {c.severity} | {summary} |")
    return "\n".join(rows) + "\n"

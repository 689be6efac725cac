"""Every code zerolint can report, without importing the rules (config validation stays instant).

tests/test_robust.py checks this list against the rule registry; the runtime (ZL9xx) rules are declared here.
"""
STATIC_CODES = (
    "ZL101", "ZL102", "ZL103", "ZL104", "ZL105", "ZL106", "ZL107", "ZL108", "ZL109", "ZL110", "ZL111", "ZL112",
    "ZL201", "ZL202", "ZL203", "ZL204", "ZL205", "ZL206", "ZL207", "ZL208", "ZL209",
    "ZL301", "ZL302", "ZL303", "ZL304", "ZL305",
    "ZL401", "ZL402", "ZL403", "ZL404", "ZL405",
    "ZL501",
)
#: Runtime-only rules (catalogue ZL9xx), reported by --confirm: code -> (name, severity).
RUNTIME_RULES = {
    "ZL901": ("cannot-overfit-one-batch", "warning"),
    "ZL902": ("parameters-without-gradient", "warning"),
    "ZL903": ("parameters-not-updated", "error"),
    "ZL904": ("non-finite-loss", "error"),
    "ZL905": ("initial-loss-off", "warning"),
    "ZL906": ("dominant-label", "warning"),
    "ZL907": ("input-scale", "warning"),
    "ZL908": ("dead-relu", "warning"),
    "ZL909": ("constant-output", "error"),
    "ZL910": ("script-crashed", "error"),
}
RUNTIME_CODES = tuple(sorted(RUNTIME_RULES))
ALL_CODES = ("ZL000",) + STATIC_CODES + RUNTIME_CODES

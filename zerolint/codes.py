"""Every code zerolint can report, without importing the rules (config validation stays instant).

tests/test_robust.py checks this list against the rule registry and the runtime (ZL9xx) rules.
"""
STATIC_CODES = (
    "ZL101", "ZL102", "ZL103", "ZL104", "ZL105", "ZL106", "ZL107", "ZL108", "ZL109", "ZL110", "ZL111", "ZL112",
    "ZL201", "ZL202", "ZL203", "ZL204", "ZL205", "ZL206", "ZL207", "ZL208", "ZL209",
    "ZL301", "ZL302", "ZL303", "ZL304", "ZL305",
    "ZL401", "ZL402", "ZL403", "ZL404", "ZL405",
    "ZL501",
)
RUNTIME_CODES = ("ZL901", "ZL902", "ZL903", "ZL904", "ZL905", "ZL906", "ZL907", "ZL908", "ZL909")
ALL_CODES = ("ZL000",) + STATIC_CODES + RUNTIME_CODES

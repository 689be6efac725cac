"""One bug, one finding: the same model output fed to the same wrong loss at several call sites of one
iteration is reported once, at the first call, and the message names the other lines."""
from conftest import FIXTURES
from zerolint.config import Config
from zerolint.engine import lint_file


def _findings(name):
    result = lint_file(FIXTURES / "loss" / name, Config(root=FIXTURES))
    assert result.error is None, result.error
    return result.findings


def test_repeated_call_sites_are_one_finding_naming_the_others():
    findings = [f for f in _findings("zl102_repeated_call_sites.py") if f.code == "ZL102"]
    by_line = {f.line: f.message for f in findings}
    assert sorted(by_line) == [16, 47]
    assert by_line[16].endswith("again at lines 17, 21 in this iteration: one fix covers every call.")
    assert "again at lines 47, 52 in this iteration" in by_line[47]


def test_single_call_sites_keep_their_own_message():
    findings = [f for f in _findings("zl102_sigmoid_twice.py") if f.code == "ZL102"]
    assert findings and not any("again at line" in f.message for f in findings)

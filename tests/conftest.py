import re
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
RULE_PAGES = ROOT / "rules"

#: A small training script with two findings: ZL101 (BCELoss on a Linear, line 9) and ZL201 (line 11).
BUGGY_SCRIPT = textwrap.dedent("""\
    import torch
    from torch import nn

    model = nn.Linear(4, 1)
    criterion = nn.BCELoss()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = torch.randn(8, 4), torch.rand(8, 1)
    for _ in range(3):
        loss = criterion(model(x), y)
        loss.backward()
        opt.step()
    """)

_EXPECT = re.compile(r"#\s*expect:\s*(?P<codes>[A-Za-z0-9, ]+)")


def expectations(text: str) -> tuple[set, bool]:
    """(code, line) pairs declared with `# expect: ZL101` markers; and whether `# expect: none` is set."""
    expected = set()
    declared_clean = False
    for number, line in enumerate(text.splitlines(), start=1):
        match = _EXPECT.search(line)
        if not match:
            continue
        codes = [c.strip() for c in match.group("codes").split(",") if c.strip()]
        if codes == ["none"]:
            declared_clean = True
            continue
        for code in codes:
            expected.add((code, number))
    return expected, declared_clean


@pytest.fixture
def lint():
    from zerolint.engine import lint_source

    def run(source: str, path: str = "example.py"):
        result = lint_source(source, path)
        assert result.error is None, result.error
        return result.findings

    return run

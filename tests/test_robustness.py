"""The linter never raises, whatever it is given: mutated fixtures, truncated files, odd input."""
import random

import pytest

from conftest import FIXTURES
from zerolint.engine import lint_source

SOURCES = {p.name: p.read_text() for p in sorted(FIXTURES.rglob("*.py"))}


def mutations(seed: int, count: int):
    rng = random.Random(seed)
    names = sorted(SOURCES)
    for _ in range(count):
        name = rng.choice(names)
        lines = SOURCES[name].splitlines(keepends=True)
        kind = rng.randrange(4)
        if kind == 0:  # drop a line (often breaks indentation or a binding)
            del lines[rng.randrange(len(lines))]
        elif kind == 1:  # truncate the file
            lines = lines[: rng.randrange(len(lines))]
        elif kind == 2:  # duplicate a line elsewhere
            lines.insert(rng.randrange(len(lines)), rng.choice(lines))
        else:  # swap two lines (reorders events)
            i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
            lines[i], lines[j] = lines[j], lines[i]
        yield name, "".join(lines)


@pytest.mark.parametrize("seed", range(6))
def test_mutated_fixtures_never_crash(seed):
    for name, text in mutations(seed, 40):
        result = lint_source(text, name)
        assert result.error is None, f"{name} (seed {seed}): {result.error}"
        for finding in result.findings:
            assert finding.line >= 1 and finding.column >= 1


@pytest.mark.parametrize("text", [
    "", "\n", "import torch\n" * 3, "import torch\nx = (\n", "import torch\n\x0c\n",
    "import torch\n" + "x = " + "(" * 200 + "1" + ")" * 200 + "\n",
    "import torch\ndef f(*a, **k):\n    return f(*a, **k)\nf()\n",
    "import torch\nclass A(A):\n    pass\nA()\n",
    "import torch\nopt = torch.optim.SGD([], lr=0.1)\nwhile True:\n    opt.step(lambda: 1)\n",
    "import torch.nn as nn\nclass M(nn.Module):\n    def forward(self, x):\n        return self(x)\nM()(1)\n",
])
def test_odd_inputs_never_crash(text):
    result = lint_source(text, "odd.py")
    assert result.error is None, result.error

"""Cost of the `[*]` marking: N functions with a training loop each (one ZL201 per function).

    python bench/fixmark.py

For each size, times a fresh `python -m zerolint --no-cache --jobs 1` with and without
`--ignore ZL201` (no findings, so no marking) and prints the ratio and the marking's cost per
finding. Linear marking keeps the per-finding cost flat as N grows.
"""
from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

SECTION = """
def train{i}(model, loader):
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    for x, y in loader:
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        optimizer.step()
"""


def timed(args: list, cwd: str) -> float:
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "zerolint", "--no-cache", "--jobs", "1", "--file-timeout", "0",
                        *args], cwd=cwd, capture_output=True)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        print(f"{'functions':>9} {'lines':>6} {'lint':>7} {'no ZL201':>9} {'ratio':>6} {'marking/finding':>16}")
        for n in (50, 100, 200):
            path = Path(folder) / f"many{n}.py"
            path.write_text("import torch\n" + "".join(SECTION.format(i=i) for i in range(n)))
            full = timed([path.name], folder)
            bare = timed(["--ignore", "ZL201", path.name], folder)
            lines = path.read_text().count("\n")
            print(f"{n:>9} {lines:>6} {full:6.2f}s {bare:8.2f}s {full / bare:6.2f} {(full - bare) / n * 1000:13.1f} ms")


if __name__ == "__main__":
    main()

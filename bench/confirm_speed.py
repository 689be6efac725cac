"""Time `zerolint --confirm` on each seed example next to `python -c "import torch"`, in one run.

    python bench/confirm_speed.py [--device cpu|cuda|auto] [--repeat N]

Every figure is a wall-clock time of a fresh process (median of --repeat runs), so the import
of torch, which every confirmation run pays once, is the yardstick.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEEDS = sorted((ROOT / "fixtures").glob("seed*.py"))


def timed(command: list) -> tuple:
    started = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    return time.perf_counter() - started, proc


def median(command: list, repeat: int) -> tuple:
    runs = [timed(command) for _ in range(repeat)]
    return statistics.median(t for t, _ in runs), runs[-1][1]


def statuses(stdout: str) -> str:
    try:
        items = json.loads(stdout)
    except ValueError:
        return "no JSON output"
    return ", ".join(f"{i['code']}:{i['line']} {i['confirmation']['status']}" for i in items) or "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda", "auto"])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    base, _ = median([sys.executable, "-c", "import torch"], args.repeat)
    print(f'python -c "import torch": {base:.2f} s (median of {args.repeat})')
    print(f"{'seed example':42} {'--confirm':>10} {'x import':>9}  result")
    for seed in SEEDS:
        rel = str(seed.relative_to(ROOT))
        seconds, proc = median([sys.executable, "-m", "zerolint", "--confirm", "--device", args.device,
                                "-q", "--format", "json", rel], args.repeat)
        print(f"{seed.name:42} {seconds:9.2f}s {seconds / base:8.1f}x  {statuses(proc.stdout)}")


if __name__ == "__main__":
    main()

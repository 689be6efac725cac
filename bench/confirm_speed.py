"""Time `zerolint --confirm` on each seed example next to `python -c "import torch"`, in one run.

    python bench/confirm_speed.py [--device cpu|cuda|auto] [--repeat N] [SCRIPT_OR_FOLDER ...]

Without paths it times the seed examples; a folder stands for the ``*.py`` files in it (each is run
from its own folder, as a user would).

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
SEEDS = sorted((ROOT / "fixtures" / "seeds").glob("*.py"))


def timed(command: list, cwd: Path = ROOT) -> tuple:
    started = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True, cwd=cwd)
    return time.perf_counter() - started, proc


def median(command: list, repeat: int, cwd: Path = ROOT) -> tuple:
    runs = [timed(command, cwd) for _ in range(repeat)]
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
    parser.add_argument("paths", nargs="*", type=Path)
    args = parser.parse_args()
    scripts = [p for path in args.paths for p in (sorted(path.glob("*.py")) if path.is_dir() else [path])]
    base, _ = median([sys.executable, "-c", "import torch"], args.repeat)
    print(f'python -c "import torch": {base:.2f} s (median of {args.repeat})')
    print(f"{'script':42} {'--confirm':>10} {'x import':>9}  result")
    for seed in scripts or SEEDS:
        seconds, proc = median([sys.executable, "-m", "zerolint", "--confirm", "--device", args.device,
                                "--no-cache", "-q", "--format", "json", seed.name], args.repeat,
                               cwd=seed.resolve().parent)
        print(f"{seed.name:42} {seconds:9.2f}s {seconds / base:8.1f}x  {statuses(proc.stdout)}")


if __name__ == "__main__":
    main()

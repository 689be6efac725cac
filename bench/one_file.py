"""The one-file pre-commit case, as a ratio to its floor, measured in the same run.

    python bench/one_file.py [CORPUS_DIR] [--runs N] [--instructions]

Floor: a fresh interpreter that does `import libcst` (`python -c "import libcst"`), the least any
libcst-based linter can cost per process. Measured: `python -m zerolint --no-cache FILE` (a fresh
process, cache off) on the median and the largest torch file of CORPUS_DIR (default
corpus/pytorch-examples, see bench/speed.py) and on the bundled notebook fixture. Runs are
interleaved (floor, file, floor, file...) so that load on a shared machine hits both alike; the
ratio is best-of-N to best-of-N, and the median-to-median ratio is printed next to it.

--instructions: also count the instructions each command executes (valgrind's callgrind, one run each
after the warm-up), which the load of a shared machine does not change; wall-clock ratios move by several
percent with it. Needs valgrind on PATH; it takes about 15 s a command.

Bytecode: the child processes run without PYTHONDONTWRITEBYTECODE (a warm-up run writes the .pyc
files), as an installed zerolint runs; with it set, every run would recompile zerolint's modules.
"""
from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def timed(cmd: list, env: dict) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=ROOT)
    return time.perf_counter() - start


def instructions(cmd: list, env: dict) -> int:
    """Instructions the command executes, counted by valgrind's callgrind."""
    with tempfile.TemporaryDirectory() as out:
        proc = subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}/cg.out", *cmd],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    found = re.search(r"Collected : (\d+)", proc.stderr)
    if found is None:
        raise SystemExit(f"valgrind gave no count: {proc.stderr[-500:]}")
    return int(found.group(1))


def torch_files(root: Path) -> list:
    files = []
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        files.extend(Path(folder) / n for n in sorted(names) if n.endswith(".py"))
    return sorted((p for p in files if b"torch" in p.read_bytes()), key=lambda p: p.stat().st_size)


def main() -> None:
    argv = sys.argv[1:]
    runs = 15
    count = "--instructions" in argv
    if count:
        argv.remove("--instructions")
        if shutil.which("valgrind") is None:
            raise SystemExit("--instructions needs valgrind on PATH")
    if "--runs" in argv:
        at = argv.index("--runs")
        runs = int(argv[at + 1])
        del argv[at:at + 2]
    root = Path(argv[0] if argv else ROOT / "corpus" / "pytorch-examples")
    targets = []
    if root.is_dir():
        found = torch_files(root)
        if found:
            targets += [("median torch file", found[len(found) // 2]), ("largest torch file", found[-1])]
    else:
        print(f"(no corpus at {root}: timing the bundled fixtures only)")
    targets += [("fixture script", ROOT / "fixtures" / "step" / "zl201_missing_zero_grad.py"),
                ("fixture notebook", ROOT / "fixtures" / "notebooks" / "mnist_dropout.ipynb")]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    floor_cmd = [sys.executable, "-c", "import libcst"]
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} cores, best of {runs} interleaved runs; "
          f"load average {os.getloadavg()[0]:.2f}")
    floor_count = 0
    for label, path in targets:
        cmd = [sys.executable, "-m", "zerolint", "-q", "--no-cache", str(path)]
        timed(cmd, env)  # warm-up: writes bytecode, fills the OS cache
        floor, run = [], []
        for _ in range(runs):
            floor.append(timed(floor_cmd, env))
            run.append(timed(cmd, env))
        best = min(run) / min(floor)
        typical = statistics.median(run) / statistics.median(floor)
        print(f"{label:<19} {path.name} ({path.stat().st_size} bytes): {min(run):.3f} s vs floor "
              f"{min(floor):.3f} s = {best:.2f}x the floor (medians: {typical:.2f}x)")
        if count:
            floor_count = floor_count if label != targets[0][0] else instructions(floor_cmd, env)
            measured = instructions(cmd, env)
            print(f"{'':<19} instructions: {measured / 1e6:.0f} M vs floor {floor_count / 1e6:.0f} M = "
                  f"{measured / floor_count:.3f}x the floor")


if __name__ == "__main__":
    main()

"""Where users run zerolint, timed from one run: cold and warm files/s, one-file wall time, ratio to parsing.

    python bench/integrations.py [CORPUS_DIR] [--jobs N]

CORPUS_DIR defaults to ./corpus/pytorch-examples (see bench/speed.py for how to get it; keep it out
of commits). Every zerolint figure is a fresh `python -m zerolint` process, the way users start it:

- cold, 1 process:   --jobs 1 --no-cache
- cold, all cores:   --jobs N --no-cache (N defaults to every core)
- warm cache:        a second run over the same, unchanged files with the cache on
- one file:          the largest torch file, cache off (the pre-commit case), next to `python -c pass`
- bare parse:        libcst.parse_module over the same files, in-process (no start-up), for the ratio
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from speed import best_of, python_files  # noqa: E402


def _version(dist: str) -> str:
    from importlib.metadata import version

    try:
        return version(dist)
    except Exception:
        return "?"


def wall(args: list, cwd: Path, runs: int = 3) -> float:
    cmd = [sys.executable, "-m", "zerolint", "-q", "--exit-zero", *args]
    return best_of(runs, lambda: subprocess.run(cmd, cwd=cwd, stdout=subprocess.DEVNULL, check=True))


def main() -> None:
    argv = sys.argv[1:]
    jobs = None
    if "--jobs" in argv:
        at = argv.index("--jobs")
        jobs = int(argv[at + 1])
        del argv[at:at + 2]
    root = Path(argv[0] if argv else "corpus/pytorch-examples").resolve()
    if not root.is_dir():
        sys.exit(f"no corpus at {root}: see bench/speed.py's docstring")
    from zerolint.runner import default_jobs

    jobs = jobs or default_jobs()
    import libcst

    files = python_files(root)
    sources = [p.read_bytes() for p in files]

    def bare_parse():
        for data in sources:
            try:
                libcst.parse_module(data)
            except Exception:
                pass

    parse = best_of(3, bare_parse)
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus"
        shutil.copytree(root, corpus)
        cache = Path(tmp) / "cache"
        start_py = best_of(5, lambda: subprocess.run([sys.executable, "-c", "pass"], check=True))
        empty = Path(tmp) / "empty"
        empty.mkdir()
        startup = wall(["--no-cache", "."], empty, 5)  # interpreter + zerolint imports, nothing to lint
        cold1 = wall(["--jobs", "1", "--no-cache", "."], corpus, 5)  # best of 5: shared machines are noisy
        coldn = wall(["--jobs", str(jobs), "--no-cache", "."], corpus, 5)
        wall(["--jobs", str(jobs), "--cache-dir", str(cache), "."], corpus, 1)  # fill the cache
        warm = wall(["--jobs", str(jobs), "--cache-dir", str(cache), "."], corpus, 5)
        torch_files = sorted((p for p in files if b"torch" in p.read_bytes()), key=lambda p: p.stat().st_size)
        small, large = torch_files[len(torch_files) // 2], torch_files[-1]
        single = {p: wall(["--no-cache", str(corpus / p.relative_to(root))], corpus, 5) for p in (small, large)}

    n = len(files)
    print(f"corpus: {root.name} ({n} files, {sum(map(len, sources)) / 1e6:.2f} MB); "
          f"{os.cpu_count()} cores; Python {sys.version.split()[0]}; libcst {_version('libcst')}")
    print(f"bare libcst.parse_module (in-process):   {parse:6.3f} s")
    print(f"python -c pass / zerolint on no files:   {start_py:6.3f} s / {startup:6.3f} s")
    print(f"cold, --jobs 1 --no-cache:               {cold1:6.3f} s  {n / cold1:7.1f} files/s  "
          f"{cold1 / parse:5.2f}x bare parse ({(cold1 - startup) / parse:4.2f}x without start-up)")
    print(f"cold, --jobs {jobs} --no-cache:               {coldn:6.3f} s  {n / coldn:7.1f} files/s  "
          f"speed-up {cold1 / coldn:4.2f}x")
    print(f"warm cache, --jobs {jobs}:                   {warm:6.3f} s  {n / warm:7.1f} files/s  "
          f"{100 * warm / cold1:4.1f}% of cold")
    for label, p in (("median", small), ("largest", large)):
        print(f"one file, {label} torch file ({p.relative_to(root)}, {p.stat().st_size} bytes), cold: "
              f"{single[p]:6.3f} s wall")


if __name__ == "__main__":
    main()

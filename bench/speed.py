"""Time zerolint against a bare libcst parse of the same files, in one process and one run.

    python bench/speed.py [CORPUS_DIR]

CORPUS_DIR defaults to ./corpus/pytorch-examples. Get it with
`git clone --depth 1 https://github.com/pytorch/examples corpus/pytorch-examples` (keep it out of
commits). Prints the time of each pass, the ratio zerolint/bare-parse, and the wall time of a
one-file run the way pre-commit starts it (a fresh interpreter) next to `python -c pass`.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path


def python_files(root: Path) -> list[Path]:
    from zerolint.config import Config

    config = Config(root=root)
    out = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not config.is_excluded(Path(folder) / d))
        out.extend(Path(folder) / f for f in sorted(files) if f.endswith(".py"))
    return out


def best_of(runs: int, fn) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else "corpus/pytorch-examples")
    if not root.is_dir():
        sys.exit(f"no corpus at {root}: see this script's docstring")
    import libcst

    from zerolint.config import Config
    from zerolint.engine import lint_file

    files = python_files(root)
    sources = [p.read_bytes() for p in files]
    config = Config(root=root)

    def bare_parse():
        for data in sources:
            try:
                libcst.parse_module(data)
            except Exception:
                pass

    def lint_all():
        for path in files:
            lint_file(path, config)

    lint_all()  # warm the imports and rule registry once
    parse = best_of(3, bare_parse)
    lint = best_of(3, lint_all)
    print(f"corpus: {root} ({len(files)} files, {sum(map(len, sources)) / 1e6:.2f} MB)")
    print(f"bare libcst.parse_module:      {parse:7.3f} s")
    print(f"zerolint (all rules, 1 proc):  {lint:7.3f} s")
    print(f"ratio zerolint / bare parse:   {lint / parse:7.2f}x")

    one = max(files, key=lambda p: p.stat().st_size if b"torch" in p.read_bytes() else 0)
    start_py = best_of(5, lambda: subprocess.run([sys.executable, "-c", "pass"], check=True))
    single = best_of(5, lambda: subprocess.run([sys.executable, "-m", "zerolint", "-q", "--no-cache", str(one)],
                                               stdout=subprocess.DEVNULL))
    print(f"one-file run ({one.name}, {one.stat().st_size} bytes): {single:.3f} s wall "
          f"(python -c pass: {start_py:.3f} s)")


if __name__ == "__main__":
    main()

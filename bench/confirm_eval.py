"""Measure --confirm on a folder of labelled training scripts (labels.json: file -> [[code, line], ...]).

Usage: python bench/confirm_eval.py FOLDER [LABELS]. The folder is copied to a temp folder first; the
numbers: share of expected findings confirmed, refuted count, runtime findings on correct scripts,
files changed in the (copied) script folder and in $HOME.
"""
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile


def snapshot(root, skip=()):
    out = {}
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs
                   if os.path.join(folder, d) not in skip and d not in ("__pycache__", ".zerolint_cache")]
        for name in files + dirs:
            path = os.path.join(folder, name)
            try:
                st = os.lstat(path)
            except OSError:
                continue
            digest = ""
            if os.path.isfile(path) and st.st_size < 50_000_000:
                with open(path, "rb") as handle:
                    digest = hashlib.sha1(handle.read()).hexdigest()
            out[path] = (st.st_size, st.st_mtime_ns, digest)
    return out


def main():
    source = sys.argv[1]
    labels = json.load(open(sys.argv[2] if len(sys.argv) > 2 else os.path.join(source, "labels.json")))
    work = tempfile.mkdtemp(prefix="confirm-eval-")
    folder = os.path.join(work, "scripts")
    shutil.copytree(source, folder)
    before = snapshot(folder)
    scripts = sorted(labels)
    proc = subprocess.run([sys.executable, "-m", "zerolint", "--confirm", "--device", "cpu", "--format", "json",
                           "--confirm-timeout", "60", "--no-cache", *scripts],
                          cwd=folder, capture_output=True, text=True)
    after = snapshot(folder)
    changed = sorted(set(before.items()) ^ set(after.items()))
    results = json.loads(proc.stdout or "[]")
    expected = confirmed = refuted = 0
    for name, wanted in labels.items():
        found = [r for r in results if os.path.basename(r["path"]) == name]
        for code, line in wanted:
            expected += 1
            hit = [r for r in found if r["code"] == code and r["line"] == line]
            status = hit[0]["confirmation"]["status"] if hit else "not found"
            confirmed += status == "confirmed"
            print(f"{name}: {code}:{line} {status}: {hit[0]['confirmation']['evidence'][:150] if hit else ''}")
        for r in found:
            st = r.get("confirmation", {}).get("status")
            refuted += st == "refuted" and [r["code"], r["line"]] in [list(w) for w in wanted]
            if [r["code"], r["line"]] not in [list(w) for w in wanted]:
                print(f"  extra {name}: {r['code']}:{r['line']} {st}: {r['message'][:100]} | "
                      f"{r.get('confirmation', {}).get('evidence', '')[:120]}")
    runtime_on_correct = sum(1 for name, wanted in labels.items() if not wanted for r in results
                             if os.path.basename(r["path"]) == name and r["code"].startswith("ZL9"))
    print(f"confirmed {confirmed}/{expected} = {confirmed / max(expected, 1):.2f}; refuted (expected bugs) "
          f"{refuted}; runtime findings on correct scripts {runtime_on_correct}; files changed in folder "
          f"{len({p for p, _ in changed})} {sorted({p for p, _ in changed})[:5]}")
    if proc.returncode not in (0, 1) or not results:
        print(proc.returncode, proc.stderr[-2000:])
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

"""The result cache and parallel runs: same output as a cold serial run, never fatal, no libcst when warm."""
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import FIXTURES, ROOT
from zerolint.cache import Cache
from zerolint.config import Config
from zerolint.runner import lint_all

BUGGY = (FIXTURES / "step/zl201_missing_zero_grad.py").read_text()


def run(*args, cwd):
    return subprocess.run([sys.executable, "-m", "zerolint", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=120)


@pytest.fixture
def project(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    src = tmp_path / "src"
    shutil.copytree(FIXTURES, src)
    return tmp_path


def test_cache_layout_and_warm_run_matches_cold(project):
    cold = run("--format", "json", "src", cwd=project)
    cache = project / ".zerolint_cache"
    assert (cache / "CACHEDIR.TAG").read_text().startswith("Signature: 8a477f597d28d172789f06886806bc55")
    assert (cache / ".gitignore").read_text().splitlines()[-1] == "*"
    warm = run("--format", "json", "src", cwd=project)
    assert warm.stdout == cold.stdout and warm.returncode == cold.returncode == 1
    assert not [p for p in cache.rglob(".tmp-*")]


def test_warm_run_does_not_import_libcst(project):
    run("-q", "src", cwd=project)
    code = ("import sys\nfrom zerolint.cli import main\ntry:\n    main(['-q', 'src'])\n"
            "except SystemExit as e:\n    print(e.code, 'libcst' in sys.modules)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=project, timeout=120)
    assert proc.stdout.splitlines()[-1] == "1 False", proc.stderr


def test_edit_and_config_change_invalidate(project):
    target = project / "src" / "step" / "zl201_missing_zero_grad.py"
    assert "ZL201" in run("src/step/zl201_missing_zero_grad.py", cwd=project).stdout
    target.write_text(BUGGY.replace("    optimizer.step()  # expect: ZL201\n\nfor epoch",
                                    "    optimizer.step()  # noqa\n\nfor epoch", 1))
    assert run("src/step/zl201_missing_zero_grad.py", cwd=project).stdout.count("ZL201") == 2
    (project / "pyproject.toml").write_text("[tool.zerolint]\nignore = ['ZL2']\n")
    assert run("src/step/zl201_missing_zero_grad.py", cwd=project).returncode == 0


def test_corrupt_and_unwritable_cache_are_not_fatal(project):
    cold = run("--format", "json", "src", cwd=project).stdout
    for entry in (project / ".zerolint_cache").rglob("*.json"):
        entry.write_text("{not json")
    again = run("--format", "json", "src", cwd=project)
    assert again.stdout == cold and "Traceback" not in again.stderr
    blocker = project / "blocked"
    blocker.write_text("a file where the cache folder should be")
    proc = run("--format", "json", "--cache-dir", "blocked/cache", "src", cwd=project)
    assert proc.stdout == cold and proc.returncode == 1 and "Traceback" not in proc.stderr


def test_cache_dir_option_config_key_and_no_cache(project):
    run("-q", "--cache-dir", "elsewhere", "src", cwd=project)
    assert (project / "elsewhere" / "CACHEDIR.TAG").is_file()
    (project / "pyproject.toml").write_text("[tool.zerolint]\ncache-dir = 'cfgcache'\n")
    run("-q", "src", cwd=project)
    assert (project / "cfgcache" / "CACHEDIR.TAG").is_file()
    shutil.rmtree(project / "cfgcache")
    run("-q", "--no-cache", "src", cwd=project)
    assert not (project / "cfgcache").exists()
    (project / "pyproject.toml").write_text("[tool.zerolint]\ncache-dir = 3\n")
    proc = run("src", cwd=project)
    assert proc.returncode == 2 and "`cache-dir`" in proc.stderr


def test_cache_api_miss_hit_roundtrip(tmp_path):
    cache = Cache(tmp_path / "c")
    config = Config(root=tmp_path)
    key = cache.key(b"import torch\n", config, tmp_path / "a.py")
    assert cache.get(key, "a.py") is None
    assert key != cache.key(b"import torch\n", config.with_overrides(ignore=("ZL2",)), tmp_path / "a.py")


@pytest.mark.parametrize("jobs", ["1", "2", "4"])
def test_jobs_give_the_same_ordered_output(tmp_path, jobs):
    for i in range(30):  # enough files to use a process pool
        shutil.copy(FIXTURES / "step/zl201_missing_zero_grad.py", tmp_path / f"t{i:02d}.py")
        shutil.copy(FIXTURES / "evaluation/zl301_eval_with_grad.py", tmp_path / f"u{i:02d}.py")
    serial = run("--no-cache", "--jobs", "1", "--format", "json", ".", cwd=tmp_path)
    proc = run("--no-cache", "--jobs", jobs, "--format", "json", ".", cwd=tmp_path)
    assert proc.stdout == serial.stdout and len(json.loads(proc.stdout)) == 30 * 6


def test_lint_all_keeps_order_in_a_pool(tmp_path):
    files = []
    for i in range(40):
        path = tmp_path / f"f{i:02d}.py"
        path.write_text(BUGGY if i % 2 else "import torch\nx = torch.ones(1)\n")
        files.append((path, Config(root=tmp_path), path.name))
    results = lint_all(files, jobs=2)
    assert [r.path for r in results] == [name for _, _, name in files]
    assert [bool(r.findings) for r in results] == [bool(i % 2) for i in range(40)]


def test_bad_jobs_value_exits_2(tmp_path):
    proc = run("--jobs", "0", ".", cwd=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_progress_only_on_a_terminal(tmp_path, monkeypatch, capsys):
    from zerolint import cli

    show = cli._progress_printer()
    show(10, 100)
    show(100, 100)
    err = capsys.readouterr().err
    assert "10/100 files" in err and err.endswith("\r\033[K")
    show(1, 10)  # short runs show nothing
    assert capsys.readouterr().err == ""
    # piped stderr (as in every subprocess test here): no progress at all
    for i in range(60):
        (tmp_path / f"m{i}.py").write_text("import torch\n")
    proc = run("--no-cache", ".", cwd=tmp_path)
    assert "files\r" not in proc.stderr and "/60" not in proc.stderr

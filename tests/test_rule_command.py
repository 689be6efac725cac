"""`zerolint rule`: pages from a checkout, from importlib.resources, and from a built wheel."""
import os
import subprocess
import sys
import zipfile

import pytest

from conftest import ROOT, RULE_PAGES
from zerolint.codes import RUNTIME_RULES
from zerolint.rules import all_rules


def run(*args, cwd=ROOT, env=None):
    return subprocess.run([sys.executable, "-m", "zerolint", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=120, env=env)


def test_rule_prints_the_page():
    proc = run("rule", "ZL101")
    assert proc.returncode == 0
    assert proc.stdout == (RULE_PAGES / "ZL101.md").read_text().rstrip("\n") + "\n"


def test_rule_is_case_insensitive_and_unknown_is_exit_2():
    assert run("rule", "zl201").stdout.startswith("# ZL201: missing-zero-grad")
    proc = run("rule", "ZL999")
    assert proc.returncode == 2 and "unknown rule" in proc.stderr and "Traceback" not in proc.stderr


def test_rule_all_lists_every_rule():
    proc = run("rule", "--all")
    assert proc.returncode == 0
    lines = proc.stdout.splitlines()
    assert [line.split()[0] for line in lines] == sorted(all_rules()) + sorted(RUNTIME_RULES)
    for line, rule in zip(lines, all_rules().values()):
        assert rule.name in line and rule.summary in line
    for line, (name, severity) in zip(lines[len(all_rules()):], RUNTIME_RULES.values()):
        assert name in line and severity in line and "--confirm" in line


def test_rule_knows_the_runtime_codes():
    proc = run("rule", "ZL901")
    assert proc.returncode == 0
    assert proc.stdout.startswith("# ZL901: cannot-overfit-one-batch\n") and "--confirm" in proc.stdout


def test_a_path_named_rule_is_still_linted(tmp_path):
    (tmp_path / "rule").mkdir()
    (tmp_path / "rule" / "x.py").write_text("import torch\n")
    proc = run("--no-cache", "rule", cwd=tmp_path)
    assert proc.returncode == 0 and "1 file checked" in proc.stderr


def test_help_mentions_the_rule_command():
    assert "zerolint rule ZL101" in run("--help").stdout
    assert "--all" in run("rule", "--help").stdout


def test_pages_ship_in_the_wheel(tmp_path):
    """Build a wheel, unpack it away from the checkout, and print a page from there."""
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
                            "-w", str(tmp_path / "dist"), str(ROOT)], capture_output=True, text=True, timeout=300)
    if build.returncode != 0:
        pytest.skip(f"cannot build a wheel here: {build.stderr[-300:]}")
    wheel = next((tmp_path / "dist").glob("zerolint-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        assert {f"zerolint/_pages/{code}.md" for code in all_rules()} <= names
        archive.extractall(tmp_path / "site")
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "site")}
    code = "import zerolint.pages as p, sys; print(p.__file__); sys.argv[1:] = ['rule', 'ZL202']; " \
           "from zerolint.cli import main; main()"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, env=env,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    first, _, page = proc.stdout.partition("\n")
    assert first.startswith(str(tmp_path / "site"))  # the unpacked wheel, not the checkout
    assert page.startswith("# ZL202: step-before-backward")

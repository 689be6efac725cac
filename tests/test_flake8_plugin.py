"""The flake8 plugin reports what the CLI reports: same codes, lines, columns and messages."""
import json
import re
import subprocess
import sys

import pytest

from conftest import FIXTURES, ROOT
from zerolint.flake8 import ZerolintChecker

pytest.importorskip("flake8")
_LINE = re.compile(r"^(?P<path>.*?):(?P<line>\d+):(?P<col>\d+): (?P<code>[A-Z]+\d+) (?P<message>.*)$")


def flake8(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "flake8", "--isolated", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=300)


def test_plugin_is_registered():
    proc = flake8("--version")
    assert "zerolint: " in proc.stdout


def test_flake8_matches_zerolint_json_on_fixtures():
    proc = flake8("--select", "ZL", "fixtures")
    assert proc.returncode == 1, proc.stderr
    got = set()
    for line in proc.stdout.splitlines():
        m = _LINE.match(line)
        assert m, line
        got.add((m["path"], int(m["line"]), int(m["col"]), m["code"], m["message"]))
    cli = subprocess.run([sys.executable, "-m", "zerolint", "--no-cache", "--format", "json", "fixtures"],
                         capture_output=True, text=True, cwd=ROOT, timeout=300)
    expected = {(f["path"], f["line"], f["column"], f["code"], f["message"]) for f in json.loads(cli.stdout)
                if not f["path"].endswith(".ipynb")}  # flake8 reads .py files only
    assert len(expected) > 10
    assert got == expected


def test_syntax_error_is_left_to_flake8(tmp_path):
    (tmp_path / "broken.py").write_text("import torch\ndef f(:\n    pass\n")
    proc = flake8("--select", "ZL,E999", "broken.py", cwd=tmp_path)
    assert "E999" in proc.stdout and "ZL" not in proc.stdout


@pytest.mark.parametrize("lines", [["import torch\n", "def f(:\n"], ["\x00\n"], [], ["import torch\n"] * 3])
def test_plugin_never_raises(lines):
    assert list(ZerolintChecker(None, lines, "x.py").run()) == []


def test_plugin_columns_are_zero_based():
    lines = (FIXTURES / "step/zl201_missing_zero_grad.py").read_text().splitlines(keepends=True)
    first = next(iter(ZerolintChecker(None, lines, str(FIXTURES / "step/zl201_missing_zero_grad.py")).run()))
    assert first[:2] == (13, 4) and first[2].startswith("ZL201 ") and first[3] is ZerolintChecker

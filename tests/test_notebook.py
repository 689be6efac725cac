"""Jupyter notebooks: code cells linted as one program, findings placed in cells, fixes spliced back."""
import difflib
import json
import re
import shutil
import subprocess
import sys
import textwrap

import pytest

from conftest import FIXTURES, ROOT
from zerolint.config import Config
from zerolint.engine import lint_file, lint_source
from zerolint.notebook import Notebook, neutralize

NOTEBOOKS = sorted(FIXTURES.rglob("*.ipynb"))
_EXPECT = re.compile(r"#\s*expect:\s*(?P<codes>[A-Z0-9, ]+)")


def run(*args, cwd=None, stdin=None):
    return subprocess.run([sys.executable, "-m", "zerolint", "--no-cache", *args], capture_output=True,
                          text=True, cwd=cwd or ROOT, timeout=120, input=stdin)


def expectations(path):
    """(code, cell, line) declared with `# expect:` comments in the code cells."""
    expected = set()
    for cell in Notebook.parse(path.read_bytes()).cells:
        for number, line in enumerate(cell.lines, 1):
            match = _EXPECT.search(line)
            if match:
                expected.update((c.strip(), cell.number, number) for c in match.group("codes").split(","))
    return expected


def notebook(*cells, **layout):
    """A notebook's JSON text; a cell is its source (a code cell) or ("markdown", source)."""
    out = []
    for cell in cells:
        kind, source = cell if isinstance(cell, tuple) else ("code", cell)
        lines = textwrap.dedent(source).strip("\n").split("\n")
        entry = {"cell_type": kind, "metadata": {}, "source": [l + "\n" for l in lines[:-1]] + [lines[-1]]}
        if kind == "code":
            entry.update(execution_count=None, outputs=[])
        out.append(entry)
    data = {"cells": out, "metadata": {"language_info": {"name": "python"}}, "nbformat": 4, "nbformat_minor": 5}
    return json.dumps(data, indent=layout.get("indent", 1), sort_keys=layout.get("sort_keys", True),
                      ensure_ascii=False) + "\n"


TRAIN = """\
import torch
import torch.nn as nn
model = nn.Linear(4, 3)
opt = torch.optim.SGD(model.parameters(), lr=0.1)
batches = [(torch.randn(8, 4), torch.randint(0, 3, (8,))) for _ in range(4)]
"""
LOOP = """\
for x, y in batches:
    loss = nn.functional.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
"""


def test_there_are_notebook_fixtures():
    names = {p.name for p in NOTEBOOKS}
    assert {"mnist_dropout.ipynb", "sentiment_bce_magics.ipynb", "clean_magics.ipynb"} <= names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_fixture(path):
    result = lint_file(path, Config(root=FIXTURES))
    assert result.error is None, result.error
    found = {(f.code, f.cell, f.line) for f in result.findings}
    assert found == expectations(path)


def test_fixture_findings_are_in_different_cells():
    cells = {(f.code, f.cell) for f in lint_file(FIXTURES / "notebooks/mnist_dropout.ipynb", Config(root=FIXTURES)).findings}
    assert cells == {("ZL201", 4), ("ZL302", 6)}
    cells = {(f.code, f.cell) for f in lint_file(FIXTURES / "notebooks/sentiment_bce_magics.ipynb",
                                                 Config(root=FIXTURES)).findings}
    assert cells == {("ZL000", 8), ("ZL101", 9)}  # the broken cell does not stop the others


def test_a_model_defined_in_one_cell_and_trained_in_another():
    text = notebook(TRAIN, ("markdown", "## Train"), LOOP)
    assert [(f.code, f.cell, f.line, f.column) for f in lint_source(text, "nb.ipynb").findings] == \
        [("ZL201", 2, 4, 5)]


@pytest.mark.parametrize("line, expected", [
    ("%matplotlib inline", "pass"),
    ("!pip install torch", "pass"),
    ("    !echo hi", "    pass"),
    ("files = !ls data", "files = None"),
    ("result = %timeit -o f(x)", "result = None"),
    ("model?", "pass"),
    ("??model.forward", "pass"),
    ("pip install torchvision", "pass"),
    ("a = b != c", "a = b != c"),
    ("x = 5 % 3", "x = 5 % 3"),
    ("print('why?')", "print('why?')"),
    ("# why?", "# why?"),
    ("ls = pip", "ls = pip"),
])
def test_neutralize_line_shapes(line, expected):
    assert neutralize([line]) == [expected]


def test_neutralize_keeps_line_count_and_handles_cell_magics_and_continuations():
    assert neutralize(["%%bash", "ls -la", "echo x"]) == ["", "", ""]
    assert neutralize(["%%writefile train.py", "import torch"]) == ["", ""]
    assert neutralize(["%%time", "for i in range(3):", "    f(i)"]) == ["", "for i in range(3):", "    f(i)"]
    assert neutralize(["!pip install a \\", "    b \\", "    c", "x = 1"]) == ["pass", "", "", "x = 1"]
    assert neutralize(["if x:", "    %time f()", "y = 2"]) == ["if x:", "    pass", "y = 2"]


def test_neutralize_only_at_logical_line_starts():
    # a `%` continuing a bracket or a backslash line is modulo (rasbt/deeplearning-models prints so)
    printing = ["print('Epoch: %03d | Cost: %.4f'", "      %(epoch, cost))"]
    assert neutralize(printing) == printing
    assert neutralize(["x = 1 \\", "  % 2"]) == ["x = 1 \\", "  % 2"]
    doc = ['s = """', "!not a shell escape", "what?", '"""', "!ls"]
    assert neutralize(doc) == doc[:4] + ["pass"]
    assert neutralize(["d = {'a': '(',", "     'b': 1}", "%time f()"]) == ["d = {'a': '(',", "     'b': 1}", "pass"]
    assert neutralize(["x = 1  # (unclosed in a comment", "!ls"]) == ["x = 1  # (unclosed in a comment", "pass"]


def test_magic_as_only_statement_of_a_block_still_parses():
    text = notebook(TRAIN, "for x, y in batches:\n    !echo step\n" + LOOP)
    assert [(f.code, f.cell, f.line) for f in lint_source(text, "nb.ipynb").findings] == [("ZL201", 2, 6)]


def test_text_output_names_the_cell():
    proc = run("fixtures/notebooks/mnist_dropout.ipynb")
    assert proc.returncode == 1
    assert [line.split(" ")[:2] for line in proc.stdout.splitlines()] == [
        ["fixtures/notebooks/mnist_dropout.ipynb:cell", "4:6:9:"], ["fixtures/notebooks/mnist_dropout.ipynb:cell", "6:4:21:"]]


def test_grouped_output_names_the_cell():
    proc = run("--format", "grouped", "fixtures/notebooks/mnist_dropout.ipynb")
    assert [line.split(" ")[:4] for line in proc.stdout.splitlines()] == [
        ["fixtures/notebooks/mnist_dropout.ipynb:"], ["", "", "cell", "4:6:9"], ["", "", "cell", "6:4:21"]]


def test_json_has_a_cell_field_and_null_for_python_files():
    proc = run("--format", "json", "fixtures/notebooks/mnist_dropout.ipynb", "fixtures/step/zl201_missing_zero_grad.py")
    data = json.loads(proc.stdout)
    assert [(d["path"].rsplit("/", 1)[-1], d["cell"], d["line"], d["code"]) for d in data] == [
        ("mnist_dropout.ipynb", 4, 6, "ZL201"), ("mnist_dropout.ipynb", 6, 4, "ZL302"),
        ("zl201_missing_zero_grad.py", None, 13, "ZL201"), ("zl201_missing_zero_grad.py", None, 20, "ZL201"),
        ("zl201_missing_zero_grad.py", None, 27, "ZL201")]
    lines = json.loads(run("--format", "json-lines", "fixtures/notebooks/mnist_dropout.ipynb").stdout.splitlines()[0])
    assert lines["cell"] == 4


def test_sarif_and_github_point_at_the_json_line_holding_the_source_line():
    path = FIXTURES / "notebooks/mnist_dropout.ipynb"
    raw = path.read_text().splitlines()
    sarif = json.loads(run("--format", "sarif", str(path.relative_to(ROOT))).stdout)
    results = sarif["runs"][0]["results"]
    assert [r["properties"] for r in results] == [{"cell": 4, "cellLine": 6, "cellColumn": 9},
                                                  {"cell": 6, "cellLine": 4, "cellColumn": 21}]
    for r in results:
        line = r["locations"][0]["physicalLocation"]["region"]["startLine"]
        assert "# expect: " + r["ruleId"] in raw[line - 1]
        assert r["message"]["text"].startswith(f"cell {r['properties']['cell']}, line ")
    github = run("--format", "github", str(path.relative_to(ROOT))).stdout.splitlines()
    assert [re.search(r"line=(\d+)", g).group(1) for g in github] == \
        [str(r["locations"][0]["physicalLocation"]["region"]["startLine"]) for r in results]
    assert all("col=" not in g for g in github)


def test_noqa_in_a_cell():
    text = notebook(TRAIN, LOOP.replace("opt.step()", "opt.step()  # noqa: ZL201"))
    assert lint_source(text, "nb.ipynb").findings == []
    text = notebook(TRAIN, LOOP.replace("opt.step()", "opt.step()  # noqa: ZL3"))
    assert [f.code for f in lint_source(text, "nb.ipynb").findings] == ["ZL201"]


def test_per_file_ignores_apply_to_notebooks(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.zerolint]\nper-file-ignores = { "notebooks/*.ipynb" = ["ZL2"] }\n')
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "a.ipynb").write_text(notebook(TRAIN, LOOP))
    (tmp_path / "b.ipynb").write_text(notebook(TRAIN, LOOP))
    proc = run(".", cwd=tmp_path)
    assert proc.stdout.splitlines()[0].startswith("b.ipynb:cell 2:4:5: ZL201")
    assert len(proc.stdout.splitlines()) == 1


def test_folders_include_notebooks_and_skip_checkpoints(tmp_path):
    (tmp_path / "a.ipynb").write_text(notebook(TRAIN, LOOP))
    (tmp_path / ".ipynb_checkpoints").mkdir()
    (tmp_path / ".ipynb_checkpoints" / "a-checkpoint.ipynb").write_text(notebook(TRAIN, LOOP))
    (tmp_path / "b.py").write_text(TRAIN + LOOP)
    proc = run(".", cwd=tmp_path)
    assert [line.split(": ")[0] for line in proc.stdout.splitlines()] == ["a.ipynb:cell 2:4:5", "b.py:9:5"]


@pytest.mark.parametrize("content, message", [
    ("{not json", "invalid JSON"),
    ("[1, 2]", "not an object"),
    ('{"metadata": {}}', "no `cells` array"),
    ('{"worksheets": [], "nbformat": 3}', "nbformat 3"),
    ('{"cells": [{"cell_type": "code", "source": 5}]}', "neither a string nor a list"),
    ('{"cells": [7]}', "has no `cell_type`"),
    (b"\xff\xfe{", "not UTF-8"),
])
def test_malformed_notebooks_are_zl000_not_tracebacks(tmp_path, content, message):
    path = tmp_path / "bad.ipynb"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    proc = run("bad.ipynb", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout.startswith("bad.ipynb:1:1: ZL000 ") and message in proc.stdout
    assert "Traceback" not in proc.stderr


def test_non_python_notebooks_are_skipped():
    text = notebook(TRAIN, LOOP).replace('"name": "python"', '"name": "R"')
    assert lint_source(text, "nb.ipynb").findings == []


def test_empty_and_markdown_only_notebooks_are_clean(tmp_path):
    assert lint_source(notebook(("markdown", "# hi")), "nb.ipynb").findings == []
    assert lint_source('{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}', "nb.ipynb").findings == []


def _changed_lines(old: str, new: str) -> list:
    return [line for line in difflib.ndiff(old.splitlines(), new.splitlines()) if line[:1] in "+-"]


def test_fix_changes_only_the_affected_cell_and_keeps_the_layout(tmp_path):
    path = tmp_path / "nb.ipynb"
    shutil.copy(FIXTURES / "notebooks/mnist_dropout.ipynb", path)
    old = path.read_text()
    proc = run("--fix", "nb.ipynb", cwd=tmp_path)
    new = path.read_text()
    assert "Fixed 1 finding in 1 file" in proc.stderr
    assert [(f.code, f.cell) for f in lint_file(path, Config(root=tmp_path)).findings] == [("ZL302", 6)]
    # one inserted source line; everything else (outputs, counts, metadata, layout) byte-identical
    assert _changed_lines(old, new) == ['+     "        optimizer.zero_grad()\\n",']
    before, after = json.loads(old), json.loads(new)
    for k, (a, b) in enumerate(zip(before["cells"], after["cells"])):
        if k != 6:
            assert a == b
        assert {key: v for key, v in a.items() if key != "source"} == \
            {key: v for key, v in b.items() if key != "source"}
    assert json.dumps(after, indent=1, sort_keys=True, ensure_ascii=False) + "\n" == new


def test_fix_keeps_magics_and_an_unusual_layout(tmp_path):
    text = notebook(TRAIN, "%%time\n!echo start\n" + LOOP, indent=2, sort_keys=False)
    data = json.loads(text)
    data["cells"][1]["source"] = "".join(data["cells"][1]["source"])  # one string, not a list
    text = json.dumps(data, indent=2, ensure_ascii=False)  # no trailing newline
    path = tmp_path / "nb.ipynb"
    path.write_text(text)
    assert run("--fix", "nb.ipynb", cwd=tmp_path).returncode == 0
    new = path.read_text()
    assert json.loads(new)["cells"][1]["source"] == \
        "%%time\n!echo start\nfor x, y in batches:\n    opt.zero_grad()\n" + LOOP.split("\n", 1)[1].rstrip("\n")
    assert json.loads(new)["cells"][0] == data["cells"][0]
    assert not new.endswith("\n") and new.startswith('{\n  "cells": [')


def test_diff_shows_the_json_change_and_writes_nothing(tmp_path):
    path = tmp_path / "nb.ipynb"
    shutil.copy(FIXTURES / "notebooks/sentiment_bce_magics.ipynb", path)
    old = path.read_bytes()
    proc = run("--diff", "nb.ipynb", cwd=tmp_path)
    assert proc.returncode == 1
    assert path.read_bytes() == old
    assert [l for l in proc.stdout.splitlines() if l[:1] in "+-" and l[:3] not in ("+++", "---")] == [
        '-    "criterion = nn.BCELoss()"', '+    "criterion = nn.BCEWithLogitsLoss()"']


def test_stdin_notebook_and_python(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.zerolint]\nper-file-ignores = { "scripts/*" = ["ZL201"] }\n')
    nb = (FIXTURES / "notebooks/mnist_dropout.ipynb").read_text()
    proc = run("-", "--stdin-filename", "work/nb.ipynb", cwd=tmp_path, stdin=nb)
    assert [l.split(" ")[:3] for l in proc.stdout.splitlines()] == [
        ["work/nb.ipynb:cell", "4:6:9:", "ZL201"], ["work/nb.ipynb:cell", "6:4:21:", "ZL302"]]
    assert run("-", "--stdin-filename", "scripts/t.py", cwd=tmp_path, stdin=TRAIN + LOOP).returncode == 0
    proc = run("-", "--stdin-filename", "t.py", cwd=tmp_path, stdin=TRAIN + LOOP)
    assert proc.returncode == 1 and proc.stdout.startswith("t.py:9:5: ZL201")
    proc = run("-", cwd=tmp_path, stdin=TRAIN + LOOP)
    assert proc.stdout.startswith("-:9:5: ZL201")


def test_stdin_fix_prints_the_fixed_source(tmp_path):
    proc = run("-", "--fix", "--stdin-filename", "t.py", cwd=tmp_path, stdin=TRAIN + LOOP)
    assert proc.returncode == 0
    assert proc.stdout == TRAIN + LOOP.replace("    loss =", "    opt.zero_grad()\n    loss =", 1)
    clean = TRAIN + "x = 1\n"
    proc = run("-", "--fix", "--stdin-filename", "t.py", cwd=tmp_path, stdin=clean)
    assert proc.returncode == 0 and proc.stdout == clean
    proc = run("-", "--diff", "--stdin-filename", "t.py", cwd=tmp_path, stdin=TRAIN + LOOP)
    assert proc.returncode == 1 and "+    opt.zero_grad()" in proc.stdout
    nb = notebook(TRAIN, LOOP)
    proc = run("-", "--fix", "--stdin-filename", "n.ipynb", cwd=tmp_path, stdin=nb)
    assert json.loads(proc.stdout)["cells"][1]["source"][1] == "    opt.zero_grad()\n"


def test_stdin_usage_errors(tmp_path):
    assert run("-", "other.py", cwd=tmp_path, stdin="").returncode == 2
    assert run("--stdin-filename", "x.py", ".", cwd=tmp_path).returncode == 2


def test_cache_keeps_the_cell(tmp_path):
    (tmp_path / "a.ipynb").write_text(notebook(TRAIN, LOOP))
    args = [sys.executable, "-m", "zerolint", "--format", "json", "a.ipynb"]
    first = subprocess.run(args, capture_output=True, text=True, cwd=tmp_path)
    second = subprocess.run(args, capture_output=True, text=True, cwd=tmp_path)
    assert first.stdout == second.stdout and json.loads(second.stdout)[0]["cell"] == 2
    assert "[*]" in subprocess.run(args[:3] + ["a.ipynb"], capture_output=True, text=True, cwd=tmp_path).stdout


def test_pre_commit_hook_covers_notebooks():
    text = (ROOT / ".pre-commit-hooks.yaml").read_text()
    assert "types_or: [python, jupyter]" in text


def test_confirm_runs_the_code_cells_as_one_script(tmp_path):
    pytest.importorskip("torch")
    (tmp_path / "nb.ipynb").write_text(notebook("%matplotlib inline\n!nvidia-smi\n" + TRAIN, ("markdown", "# go"),
                                                "%%time\n" + LOOP))
    proc = subprocess.run([sys.executable, "-m", "zerolint", "--confirm", "--device", "cpu", "--format", "json",
                           "nb.ipynb"], capture_output=True, text=True, cwd=tmp_path, timeout=240)
    assert proc.returncode == 1, proc.stderr
    data = {(d["code"], d["cell"], d["line"]): d["confirmation"] for d in json.loads(proc.stdout)}
    assert data[("ZL201", 2, 5)]["status"] == "confirmed"  # the magics did not stop the run
    assert all(cell is not None for _, cell, _ in data)


def test_fix_with_form_feed_and_line_separator_in_strings(tmp_path):
    path = tmp_path / "nb.ipynb"
    path.write_text(notebook(TRAIN + "s = 'a\x0cb\u2028c'", LOOP))
    assert run("--fix", "nb.ipynb", cwd=tmp_path).returncode == 0
    cells = json.loads(path.read_text())["cells"]
    assert cells[0]["source"][-1] == "s = 'a\x0cb\u2028c'"
    assert cells[1]["source"][:2] == ["for x, y in batches:\n", "    opt.zero_grad()\n"]


def test_stdin_syntax_error_is_placed_in_the_buffer_not_the_file_on_disk(tmp_path):
    (tmp_path / "t.py").write_text("# a longer first line on disk\n# second line on disk, also long\n")
    proc = run("-", "--stdin-filename", "t.py", cwd=tmp_path, stdin="import torch\nx = (1,\n")
    assert proc.stdout.startswith("t.py:2:5: ZL000 ")

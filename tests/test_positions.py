"""Findings are placed from positions generated only for the top-level statements that hold them (issue 9):
those positions must be libcst's own, and the findings the same as with every node's position computed."""
import libcst as cst
import pytest

from conftest import FIXTURES
from zerolint import engine, guard
from zerolint.model.walk import descendants

SCRIPTS = sorted(FIXTURES.rglob("*.py"))


def test_partial_positions_are_libcsts_on_every_fixture():
    checked = 0
    for path in SCRIPTS:
        text = path.read_text()
        python_tree = guard.precheck(text, str(path))
        module = cst.parse_module(text)
        calls = [node for node in descendants(module) if isinstance(node, cst.Call)]
        if not calls:
            continue
        full = engine._positions(module)
        partial = engine._statement_positions(module, calls[::3], python_tree)
        assert partial is not None, path
        assert all(full[node] == span for node, span in partial.items()), path
        assert all(node in partial for node in calls[::3]), path
        checked += 1
    assert checked > 100


def test_findings_are_the_same_with_every_position_computed(monkeypatch):
    partial = {p: engine.lint_file(p, None).findings for p in SCRIPTS}
    assert sum(len(f) for f in partial.values()) > 100
    monkeypatch.setattr(engine, "_statement_positions", lambda *args: None)
    assert {p: engine.lint_file(p, None).findings for p in SCRIPTS} == partial


@pytest.mark.parametrize("source, expected", [
    ("import os\n\n\n@property\n# note\n@staticmethod\ndef f():\n    pass\nx = 1; y = 2\nif x:\n    pass\n", [(1, 1), (4, 7), (9, 9), (10, 10)]),
    ("# header\n\nclass A:\n    pass\n", [(3, 3)]),
])
def test_statement_lines_come_from_pythons_tree(source, expected):
    import ast

    assert engine._first_lines(cst.parse_module(source), ast.parse(source)) == expected

"""The rule pages are documentation and tests at once: their bad example is flagged, their good one is not."""
import re

import pytest

from conftest import RULE_PAGES
from zerolint.rules import all_rules

RULES = all_rules()
REQUIRED = ("## What it does", "## Why is this bad?", "## Example", "## Must not flag")
_BLOCK = re.compile(r"```python\n(.*?)```", re.S)


def sections(text: str) -> dict:
    out, current = {}, None
    for line in text.splitlines(keepends=True):
        if line.startswith("## "):
            current = line.strip()
            out[current] = ""
        elif current:
            out[current] += line
    return out


def test_every_rule_has_a_page_and_every_page_a_rule():
    pages = {p.stem for p in RULE_PAGES.glob("ZL*.md")}
    assert pages == set(RULES)


@pytest.mark.parametrize("code", sorted(RULES))
def test_page_structure(code):
    text = (RULE_PAGES / f"{code}.md").read_text()
    assert text.startswith(f"# {code}: {RULES[code].name}\n")
    for heading in REQUIRED:
        assert heading in text, f"{code}.md lacks {heading}"


@pytest.mark.parametrize("code", sorted(RULES))
def test_bad_example_is_flagged(code, lint):
    example = sections((RULE_PAGES / f"{code}.md").read_text())["## Example"]
    bad, _, good = example.partition("Use instead:")
    blocks = _BLOCK.findall(bad)
    assert blocks, f"{code}.md has no bad example"
    for block in blocks:
        assert code in {f.code for f in lint(block)}, f"{code}.md bad example is not flagged"
    goods = _BLOCK.findall(good)
    assert goods, f"{code}.md has no 'Use instead:' example"
    for block in goods:
        assert code not in {f.code for f in lint(block)}, f"{code}.md good example is flagged"


@pytest.mark.parametrize("code", sorted(RULES))
def test_must_not_flag_examples_are_clean(code, lint):
    part = sections((RULE_PAGES / f"{code}.md").read_text())["## Must not flag"]
    for block in _BLOCK.findall(part):
        assert code not in {f.code for f in lint(block)}, f"{code}.md must-not-flag example is flagged"


def test_readme_lists_every_rule():
    readme = (RULE_PAGES.parent / "README.md").read_text()
    for code, rule in RULES.items():
        assert f"| [{code}](rules/{code}.md) | {rule.name} |" in readme, code

"""Every fixture declares its findings inline; the linter must report exactly those (code, line)."""
import pytest

from conftest import FIXTURES, expectations
from zerolint.engine import lint_file
from zerolint.config import Config

FILES = sorted(FIXTURES.rglob("*.py"))


def test_there_are_fixtures():
    assert len(FILES) >= 20


@pytest.mark.parametrize("path", FILES, ids=[p.relative_to(FIXTURES).as_posix() for p in FILES])
def test_fixture(path):
    text = path.read_text()
    expected, declared_clean = expectations(text)
    assert expected or declared_clean, f"{path.name} declares no expectation (add `# expect: none` if clean)"
    assert not (expected and declared_clean), f"{path.name} is both clean and not"
    result = lint_file(path, Config(root=FIXTURES))
    assert result.error is None, result.error
    found = {(f.code, f.line) for f in result.findings}
    assert found == expected, f"missing {sorted(expected - found)}, unexpected {sorted(found - expected)}"


def test_seed_examples_are_all_fixtures():
    seeds = [p for p in FILES if p.parent.name == "seeds"]
    assert len(seeds) == 15  # every python example of the five seed articles

"""One code, one place: zerolint/codes.py declares every code; the rules, fixes, pages, runtime checks,
README and CLI agree with it, both ways."""
import subprocess
import sys

from conftest import ROOT, RULE_PAGES
from zerolint.codes import ALL_CODES, CODES, FAMILIES, FIXABLE, RULE_FAMILIES, RUNTIME_RULES, STATIC_CODES, \
    markdown_table
from zerolint.confirm.evidence import CHECKS, NO_RUNTIME_CHECK
from zerolint.fix.transforms import FIXES
from zerolint.rules import all_rules


def test_every_declared_code_is_a_rule_class_or_runtime_only_and_back():
    rules = all_rules()
    assert set(rules) == {code for code, c in CODES.items() if c.static}
    assert tuple(rules) == STATIC_CODES
    for code, c in CODES.items():
        assert c.family in FAMILIES and code.startswith(FAMILIES[c.family][0]), code
        assert c.severity in ("error", "warning") and c.name and c.summary, code
        assert c.runtime in ("evidence", "run"), code
        assert c.static != (c.runtime == "run"), code  # a rule class, or found only by a run
        if c.static:
            rule = rules[code]
            assert (rule.name, rule.severity, rule.summary) == (c.name, c.severity, c.summary)
            assert type(rule).__module__ == f"zerolint.rules.{c.family}"
    assert set(RULE_FAMILIES) == {c.family for c in CODES.values() if c.static}
    assert set(RUNTIME_RULES) == {code for code, c in CODES.items() if c.runtime == "run"}
    assert ALL_CODES == ("ZL000", *CODES)


def test_a_page_under_rules_for_every_static_code_and_no_other():
    pages = {p.relative_to(ROOT).as_posix() for p in RULE_PAGES.glob("*.md")}
    assert pages == {c.page for c in CODES.values() if c.page}
    for c in CODES.values():
        if c.page:
            assert (ROOT / c.page).read_text().startswith(f"# {c.code}: {c.name}\n")


def test_a_fix_is_registered_iff_declared_fixable():
    assert set(FIXES) == FIXABLE == {code for code, c in CODES.items() if c.fixable}
    assert all(CODES[code].static for code in FIXABLE)


def test_runtime_checks_are_for_codes_declared_with_evidence():
    evidence = {code for code, c in CODES.items() if c.runtime == "evidence"}
    assert set(CHECKS) <= evidence
    assert set(NO_RUNTIME_CHECK) <= evidence
    assert not set(CHECKS) & set(NO_RUNTIME_CHECK)
    assert set(CHECKS) | set(NO_RUNTIME_CHECK) == evidence  # every static code: a check, or why none


def test_the_readme_table_is_the_declaration():
    assert markdown_table() in (ROOT / "README.md").read_text()


def test_the_declaration_imports_nothing():
    code = "import sys; import zerolint.codes, zerolint.config; print(sorted(m for m in ('libcst', 'click', " \
           "'zerolint.rules', 'zerolint.fix.transforms') if m in sys.modules))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.stdout.strip() == "[]", proc.stderr

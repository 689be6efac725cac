"""Every output format, on the same findings; SARIF checked against what GitHub code scanning requires."""
import json
import re
import subprocess
import sys

import pytest

from conftest import FIXTURES, ROOT
from zerolint.diagnostic import JSON_KEYS, Finding
from zerolint.output import FORMATS, MACHINE, statistics
from zerolint.output.github import annotation, escape_data, escape_property
from zerolint.codes import RUNTIME_CODES
from zerolint.rules import all_rules

SAMPLE = [
    Finding("a dir/train.py", 3, 5, 3, 20, "ZL201", "missing-zero-grad", "error", "`opt.step()` runs, 50% of\nthe time: bad"),
    Finding("a dir/train.py", 9, 1, 10, 4, "ZL301", "eval-without-no-grad", "warning", "forward pass, with grad"),
    Finding("b.py", 1, 1, 1, 2, "ZL000", "unreadable-source", "error", "syntax error, file not linted: x"),
]
FIXTURE_ARGS = ["fixtures/step/zl201_missing_zero_grad.py", "fixtures/evaluation/zl301_eval_with_grad.py",
                "fixtures/seeds/bce_without_sigmoid.py", "fixtures/step/zl202_step_before_backward.py"]


def run(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "zerolint", "--no-cache", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=120)


def test_every_format_is_registered():
    assert set(FORMATS) == {"text", "json", "json-lines", "sarif", "github", "grouped"}
    assert MACHINE == {"json", "json-lines", "sarif", "github"}


def test_text_marks_fixable_findings():
    out = FORMATS["text"](SAMPLE).splitlines()
    assert out[0].startswith("a dir/train.py:3:5: ZL201 [*] `opt.step()`")
    assert out[-1] == "b.py:1:1: ZL000 syntax error, file not linted: x"


def test_json_lines_matches_json():
    lines = [json.loads(line) for line in FORMATS["json-lines"](SAMPLE).splitlines()]
    assert lines == json.loads(FORMATS["json"](SAMPLE))
    assert all(tuple(item) == JSON_KEYS for item in lines)


def test_grouped_has_one_heading_per_file():
    out = FORMATS["grouped"](SAMPLE)
    assert out.count("a dir/train.py:\n") == 1 and out.count("b.py:\n") == 1
    assert "     3:5   ZL201 [*] `opt.step()`" in out


def test_statistics_counts_per_code():
    table = statistics(SAMPLE + SAMPLE[:1])
    assert table.splitlines() == ["2  ZL201  [*] missing-zero-grad", "1  ZL000  unreadable-source",
                                  "1  ZL301  [*] eval-without-no-grad"]


def test_github_annotations_escape():
    assert escape_data("50%\r\n") == "50%25%0D%0A"
    assert escape_property("a:b,c%") == "a%3Ab%2Cc%25"
    line = annotation(SAMPLE[0])
    assert line == ("::error file=a dir/train.py,line=3,col=5,endLine=3,endColumn=20,"
                    "title=ZL201 missing-zero-grad::`opt.step()` runs, 50%25 of%0Athe time: bad\n")
    assert annotation(SAMPLE[1]).startswith("::warning file=")
    assert annotation(Finding("x:y,z.py", 1, 1, 1, 2, "ZL101", "bce-on-logits", "error", "m")) \
        .startswith("::error file=x%3Ay%2Cz.py,")


_ANNOTATION = re.compile(r"^::(error|warning) file=[^,:]+,line=\d+,col=\d+,endLine=\d+,endColumn=\d+,"
                         r"title=ZL\d{3} [a-z-]+::[^\r\n]+$")


def test_github_format_end_to_end():
    proc = run("--format", "github", *FIXTURE_ARGS)
    assert proc.returncode == 1
    lines = proc.stdout.splitlines()
    assert lines and all(_ANNOTATION.match(line) for line in lines), proc.stdout


def check_sarif(doc: dict) -> None:
    """The structure GitHub code scanning requires of an uploaded SARIF file (and a bit more)."""
    assert doc["version"] == "2.1.0"
    assert doc["$schema"].endswith("sarif-2.1.0.json")
    assert isinstance(doc["runs"], list) and len(doc["runs"]) == 1
    run_ = doc["runs"][0]
    driver = run_["tool"]["driver"]
    assert driver["name"] == "zerolint" and driver["version"] and driver["informationUri"].startswith("https://")
    ids = []
    for rule in driver["rules"]:
        assert re.fullmatch(r"ZL\d{3}", rule["id"])
        assert re.fullmatch(r"[a-z][a-z0-9-]*", rule["name"])
        for key in ("shortDescription", "fullDescription"):
            assert isinstance(rule[key]["text"], str) and rule[key]["text"].strip()
        assert rule["help"]["text"].strip() and rule["help"]["markdown"].strip()
        assert rule["defaultConfiguration"]["level"] in ("error", "warning", "note", "none")
        ids.append(rule["id"])
    assert len(ids) == len(set(ids))
    for result in run_["results"]:
        assert result["ruleId"] in ids and ids[result["ruleIndex"]] == result["ruleId"]
        assert result["level"] in ("error", "warning", "note", "none")
        assert result["message"]["text"].strip()
        assert len(result["locations"]) == 1
        physical = result["locations"][0]["physicalLocation"]
        uri = physical["artifactLocation"]["uri"]
        assert not uri.startswith(("/", "file:")) and "\\" not in uri and " " not in uri
        region = physical["region"]
        assert region["startLine"] >= 1 and region["startColumn"] >= 1
        assert (region["endLine"], region["endColumn"]) >= (region["startLine"], region["startColumn"])
    json.dumps(doc)  # serializable


def test_sarif_structure_and_rule_help():
    doc = json.loads(FORMATS["sarif"](SAMPLE))
    check_sarif(doc)
    rules = {r["id"]: r for r in doc["runs"][0]["tool"]["driver"]["rules"]}
    assert set(rules) == {"ZL000", *all_rules(), *RUNTIME_CODES}  # runtime codes: --confirm findings
    assert "helpUri" not in rules["ZL901"] and rules["ZL901"]["defaultConfiguration"]["level"] == "warning"
    assert rules["ZL101"]["name"] == "bce-on-logits"
    assert rules["ZL101"]["help"]["markdown"].startswith("# ZL101: bce-on-logits")
    assert "Flags `nn.BCELoss`" in rules["ZL101"]["fullDescription"]["text"]
    results = doc["runs"][0]["results"]
    assert results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "a%20dir/train.py"
    assert [r["level"] for r in results] == ["error", "warning", "error"]


def test_sarif_end_to_end_uses_relative_paths(tmp_path):
    proc = run("--format", "sarif", str(FIXTURES / "step/zl201_missing_zero_grad.py"))
    assert proc.returncode == 1
    doc = json.loads(proc.stdout)
    check_sarif(doc)
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in doc["runs"][0]["results"]}
    assert uris == {"fixtures/step/zl201_missing_zero_grad.py"}


@pytest.mark.parametrize("fmt", ["json", "json-lines", "sarif", "github"])
def test_machine_formats_keep_statistics_off_stdout(fmt):
    proc = run("--format", fmt, "--statistics", *FIXTURE_ARGS)
    assert "ZL201  [*] missing-zero-grad" in proc.stderr
    assert "missing-zero-grad\n" not in proc.stdout.replace('"missing-zero-grad"', "")


def test_statistics_after_text():
    proc = run("--statistics", *FIXTURE_ARGS)
    assert proc.returncode == 1
    assert proc.stdout.splitlines()[-4:] == [
        "3  ZL201  [*] missing-zero-grad", "3  ZL202  [*] step-before-backward",
        "3  ZL301  [*] eval-without-no-grad", "1  ZL101  [*] bce-on-logits"]

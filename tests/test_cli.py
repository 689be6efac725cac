"""The command line as users run it: formats, exit codes, selection, noqa, config, bad input."""
import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import FIXTURES, ROOT, BUGGY_SCRIPT
from zerolint.diagnostic import JSON_KEYS

BUGGY = BUGGY_SCRIPT


def run(*args, cwd=None):
    proc = subprocess.run([sys.executable, "-m", "zerolint", *args], capture_output=True, text=True,
                          cwd=cwd or ROOT, timeout=120)
    return proc


@pytest.fixture
def project(tmp_path):
    (tmp_path / "train.py").write_text(BUGGY)
    return tmp_path


def test_text_output_and_exit_code(project):
    proc = run("train.py", cwd=project)
    assert proc.returncode == 1
    assert proc.stdout.splitlines() == [
        line for line in proc.stdout.splitlines() if line.startswith("train.py:")]
    lines = [line.split(" ", 2)[:2] for line in proc.stdout.splitlines()]
    assert lines == [["train.py:9:12:", "ZL101"], ["train.py:11:5:", "ZL201"]]
    assert "Found 2 findings in 1 file" in proc.stderr


def test_json_output_has_the_stable_keys(project):
    proc = run("--format", "json", "train.py", cwd=project)
    assert proc.returncode == 1
    data = json.loads(proc.stdout)
    assert [tuple(item) for item in data] == [JSON_KEYS, JSON_KEYS]
    first = data[0]
    assert (first["code"], first["name"], first["line"], first["column"]) == ("ZL101", "bce-on-logits", 9, 12)
    assert (first["end_line"], first["end_column"]) == (9, 34)  # end column exclusive
    assert first["severity"] == "error" and first["fix"] is None and first["confirmation"] is None


def test_clean_exit_zero(tmp_path):
    (tmp_path / "ok.py").write_text("import torch\nx = torch.ones(3)\n")
    proc = run(str(tmp_path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout == ""
    assert "All checks passed" in proc.stderr


def test_exit_zero_flag(project):
    assert run("--exit-zero", "train.py", cwd=project).returncode == 0


@pytest.mark.parametrize("args, codes", [
    (("--select", "ZL2"), {"ZL201"}),
    (("--ignore", "ZL101"), {"ZL201"}),
    (("--select", "ZL101,ZL201"), {"ZL101", "ZL201"}),
    (("--select", "ZL3"), set()),
])
def test_select_and_ignore(project, args, codes):
    proc = run("--format", "json", *args, "train.py", cwd=project)
    assert {item["code"] for item in json.loads(proc.stdout)} == codes


def test_noqa(project):
    text = BUGGY.replace("loss = criterion(model(x), y)", "loss = criterion(model(x), y)  # noqa: ZL101")
    text = text.replace("opt.step()", "opt.step()  # noqa")
    (project / "train.py").write_text(text)
    assert run("train.py", cwd=project).returncode == 0
    (project / "train.py").write_text(BUGGY.replace("opt.step()", "opt.step()  # noqa: ZL301"))
    assert "ZL201" in run("train.py", cwd=project).stdout


def test_file_level_noqa(project):
    (project / "train.py").write_text("# zerolint: noqa\n" + BUGGY)
    assert run("train.py", cwd=project).returncode == 0


def test_pyproject_config(project):
    (project / "pyproject.toml").write_text(textwrap.dedent("""\
        [tool.zerolint]
        ignore = ["ZL2"]
        per-file-ignores = { "legacy/*.py" = ["ZL101"] }
        extend-exclude = ["generated"]
        """))
    (project / "legacy").mkdir()
    (project / "legacy" / "old.py").write_text(BUGGY)
    (project / "generated").mkdir()
    (project / "generated" / "gen.py").write_text(BUGGY)
    sub = project / "sub"
    sub.mkdir()
    proc = run("--format", "json", ".", cwd=project)
    found = {(item["path"], item["code"]) for item in json.loads(proc.stdout)}
    assert found == {("train.py", "ZL101")}
    # an explicitly passed excluded file stays excluded (pre-commit passes every path)
    assert run("generated/gen.py", cwd=project).returncode == 0
    # the nearest pyproject is found from a subfolder too
    (sub / "t.py").write_text(BUGGY)
    assert {i["code"] for i in json.loads(run("--format", "json", "t.py", cwd=sub).stdout)} == {"ZL101"}


@pytest.mark.parametrize("table, needle", [
    ('[tool.zerolint]\nselekt = ["ZL1"]\n', "unknown key `selekt`"),
    ('[tool.zerolint]\nselect = "ZL1"\nignore = ["E501"]\n', "'E501'"),
    ('[tool.zerolint]\nexclude = "build"\n', "`exclude` must be a list"),
    ('[tool.zerolint\n', "invalid TOML"),
])
def test_bad_config_exits_2(project, table, needle):
    (project / "pyproject.toml").write_text(table)
    proc = run("train.py", cwd=project)
    assert proc.returncode == 2
    assert needle in proc.stderr
    assert "Traceback" not in proc.stderr


def test_explicit_config_file(project):
    (project / "custom.toml").write_text('[tool.zerolint]\nselect = ["ZL101"]\n')
    proc = run("--config", "custom.toml", "--format", "json", "train.py", cwd=project)
    assert {item["code"] for item in json.loads(proc.stdout)} == {"ZL101"}


def test_missing_path_exits_2(project):
    proc = run("nope.py", cwd=project)
    assert proc.returncode == 2
    assert "path does not exist: nope.py" in proc.stderr


def test_bad_option_exits_2(project):
    assert run("--select", "E501", "train.py", cwd=project).returncode == 2
    assert run("--format", "xml", "train.py", cwd=project).returncode == 2


def test_bad_inputs_are_diagnostics_not_tracebacks(tmp_path):
    (tmp_path / "a_syntax.py").write_text("import torch\ndef broken(:\n    pass\n")
    (tmp_path / "b_latin1.py").write_bytes("import torch\nname = 'caf\xe9'\n".encode("latin-1"))
    (tmp_path / "c_empty.py").write_text("")
    (tmp_path / "d_binary.py").write_bytes(b"\x7fELF\x00\x01torch\x00")
    (tmp_path / "e_train.py").write_text(BUGGY)
    proc = run("--format", "json", str(tmp_path))
    assert "Traceback" not in proc.stderr
    assert proc.returncode == 1
    found = {(item["path"].rsplit("/", 1)[-1], item["code"], item["line"]) for item in json.loads(proc.stdout)}
    assert found == {("a_syntax.py", "ZL000", 2), ("b_latin1.py", "ZL000", 1), ("d_binary.py", "ZL000", 1),
                     ("e_train.py", "ZL101", 9), ("e_train.py", "ZL201", 11)}


def test_many_files_and_skipped_folders(tmp_path):
    for i in range(2000):
        (tmp_path / f"m{i}.py").write_text(f"x = {i}\n")
    for skipped in (".git", ".venv", "__pycache__", "build", "myenv"):
        (tmp_path / skipped).mkdir()
        (tmp_path / skipped / "train.py").write_text(BUGGY)
    (tmp_path / "myenv" / "pyvenv.cfg").write_text("home = /usr\n")
    proc = run(str(tmp_path))
    assert proc.returncode == 0, proc.stdout
    assert "2000 files checked" in proc.stderr


def test_fixtures_lint_without_importing_torch():
    code = ("import sys\nfrom zerolint.cli import main\n"
            "try:\n    main(['fixtures', '-q'])\nexcept SystemExit as exit:\n    code = exit.code\n"
            "print(code, 'torch' in sys.modules, 'tensorflow' in sys.modules)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.stdout.strip().splitlines()[-1] == "1 False False"


def test_version_and_module_entry():
    from zerolint import __version__

    assert run("--version").stdout.strip() == f"zerolint, version {__version__}"
    script = Path(sys.executable).parent / "zerolint"  # the console script pip installed
    proc = subprocess.run([str(script), "--version"], capture_output=True, text=True)
    assert proc.returncode == 0 and __version__ in proc.stdout


def test_output_is_sorted(tmp_path):
    proc = run(str(FIXTURES))
    keys = []
    for line in proc.stdout.splitlines():  # notebooks: path:cell N:row:col
        path, cell, row, col = re.match(r"(.*?):(?:cell (\d+):)?(\d+):(\d+): ", line).groups()
        keys.append((path, int(cell or 0), int(row), int(col)))
    assert keys == sorted(keys) and len(keys) > 10


@pytest.mark.parametrize("argv", [
    ["train.py"], ["-q", "a.py", "b.ipynb"], ["--no-cache", "x.py", "-q", "--exit-zero"], ["dir", "--statistics"],
    ["--fix", "a.py"], ["--diff", "--quiet", "a.py", "a.py"],
])
def test_the_plain_command_line_parses_as_click_does(argv):
    import inspect

    from zerolint.cli import lint_command, plain_command_line, run_lint

    defaults = {name: p.default for name, p in inspect.signature(run_lint).parameters.items()
                if p.default is not inspect.Parameter.empty}
    assert {**defaults, **plain_command_line(argv)} == lint_command.make_context("zerolint", list(argv)).params


@pytest.mark.parametrize("argv", [[], ["-"], ["--format", "json", "a.py"], ["--select=ZL1", "a.py"], ["-qj2", "a.py"],
                                  ["--", "-a.py"], ["--help"], ["--version"], ["a.py", "--confirm"]])
def test_other_command_lines_go_through_click(argv):
    from zerolint.cli import plain_command_line

    assert plain_command_line(argv) is None


def test_a_plain_run_does_not_import_click(tmp_path):
    (tmp_path / "t.py").write_text(BUGGY_SCRIPT)
    code = ("import sys\nfrom zerolint.cli import main\ntry:\n    main(['--no-cache', 't.py'])\n"
            "except SystemExit as exit:\n    print(exit.code, 'click' in sys.modules)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert proc.stdout.splitlines()[-1] == "1 False", proc.stderr
    assert "t.py:9:" in proc.stdout and "Found 2 findings in 1 file (1 checked)." in proc.stderr


def test_an_internal_error_is_exit_2_and_never_all_checks_passed(tmp_path, monkeypatch):
    from click.testing import CliRunner
    from zerolint import engine
    from zerolint.cli import lint_command

    def broken(*args, **kwargs):
        raise ValueError("a zerolint bug")

    monkeypatch.setattr(engine, "_run_rules", broken)
    script = tmp_path / "train.py"
    script.write_text("import torch\nx = torch.zeros(3)\n")
    result = CliRunner().invoke(lint_command, ["--no-cache", str(script)])
    assert result.exit_code == 2
    assert "internal error" in result.output and "All checks passed" not in result.output
    assert "could not be analyzed" in result.output


@pytest.mark.parametrize("text", [
    '[tool.zerolint]\nignore = ["ZL2"]\n',
    '[tool]\nzerolint = { ignore = ["ZL2"] }\n',
    '[tool]\nzerolint.ignore = ["ZL2"]\n',
    'tool.zerolint.ignore = ["ZL2"]\n',
    'tool = { zerolint = { ignore = ["ZL2"] } }\n',
    '[project]\nname = "x"\n\n[ "tool" . "zerolint" ]\nignore = ["ZL2"]\n',
])
def test_every_way_of_writing_the_table_is_read(project, text):
    (project / "pyproject.toml").write_text(text)
    proc = run("--format", "json", "train.py", cwd=project)
    assert {item["code"] for item in json.loads(proc.stdout)} == {"ZL101"}


def test_a_pyproject_naming_zerolint_as_a_dependency_is_not_parsed(tmp_path, monkeypatch):
    from zerolint import config

    path = tmp_path / "pyproject.toml"
    path.write_text('[project]\nname = "app"\ndependencies = ["zerolint[confirm]"]\n\n[project.scripts]\n'
                    'zerolint = "app.cli:main"\n\n[tool.ruff]\nline-length = 100\n')
    monkeypatch.setattr(config, "_toml", lambda: pytest.fail("TOML parsed"))
    assert config._has_zerolint_table(path) is False

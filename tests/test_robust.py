"""No input stops the run (issue 11): hostile sources, crashes and hangs in workers, time budgets,
non-regular files, unknown codes, bad config and cache shapes, Ctrl-C, and how --fix writes files."""
import json
import os
import random
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import FIXTURES, ROOT, BUGGY_SCRIPT
from zerolint import codes, guard, runner
from zerolint.cli import lint_command
from zerolint.config import Config
from zerolint.engine import lint_source
from zerolint.fix import fixable_keys
from zerolint.fix.apply import fix_text

BUGGY = BUGGY_SCRIPT
BUGGY_FINDINGS = {("ZL101", 9), ("ZL201", 11)}
CANNOT = guard.ANALYZE_PREFIX


def run(*args, cwd, timeout=120, **kwargs):
    return subprocess.run([sys.executable, "-m", "zerolint", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=timeout, **kwargs)


def found(proc) -> set:
    return {(item["path"], item["code"], item["line"]) for item in json.loads(proc.stdout)}


# ---- deep nesting: a ZL000 for that file, never a segfault, an internal error or lost findings ----

DEEP = {
    # Python's parser rejects it (a SyntaxError); libcst's native parser overflowed its stack on it.
    "parens3000.py": ("x = " + "(" * 3000 + "1" + ")" * 3000, 2, "syntax error, file not linted: too many nested"),
    # Python's parser gives up (RecursionError); libcst's crashed.
    "sum20000.py": ("x = " + "+".join(["a"] * 20000), 1, CANNOT + "it nests expressions too deeply"),
    # Valid and parsed, but deeper than the semantic model recurses: "internal error", exit 2 before.
    "sum1000.py": ("x = " + "+".join(["a"] * 1000), 1, CANNOT + "it nests expressions too deeply"),
    "not1000.py": ("x = " + "not " * 1000 + "a", 1, CANNOT + "it nests expressions too deeply"),
    # Flat in Python's tree, 10,000 levels in libcst's: the native parser segfaults without the bound.
    "and10000.py": ("x = " + " and ".join(["a"] * 10000), 1, CANNOT + "it nests expressions 10004 levels deep"),
}


@pytest.mark.parametrize("name", sorted(DEEP))
def test_deep_nesting_is_a_zl000(name):
    body, line, message = DEEP[name]
    result = lint_source("import torch\n" + body + "\n", name)
    assert result.error is None
    assert [(f.code, f.line) for f in result.findings] == [("ZL000", line)]
    assert result.findings[0].message.startswith(message)


def test_precheck_depth_counts_bool_operands_only_where_they_can_matter():
    assert guard._libcst_depth(__import__("ast").parse("x = a and b and c")) == 7  # Module, Assign, BoolOp+2, Name, Load
    guard.precheck("import torch\nx = " + " or ".join(["a"] * 900) + "\n", "t.py")  # under the limit


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_deep_files_do_not_take_down_the_run(tmp_path, jobs):
    for name, (body, _, _) in DEEP.items():
        (tmp_path / name).write_text("import torch\n" + body + "\n")
    for i in range(16):  # enough files for two workers
        (tmp_path / f"train{i:02d}.py").write_text(BUGGY)
    proc = run("--no-cache", "--jobs", jobs, "--format", "json", ".", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert "internal error" not in proc.stderr and "Traceback" not in proc.stderr
    got = found(proc)
    assert {(p, c, line) for p, c, line in got if c == "ZL000"} == {(n, "ZL000", DEEP[n][1]) for n in DEEP}
    assert {(p, c, line) for p, c, line in got if c != "ZL000"} == \
        {(f"train{i:02d}.py", c, line) for i in range(16) for c, line in BUGGY_FINDINGS}


# ---- a worker that dies or hangs: that file gets a ZL000, the others keep their findings ----

def _items(tmp_path, count=12, **config):
    items = []
    for i in range(count):
        path = tmp_path / f"f{i:02d}.py"
        path.write_text(BUGGY)
        items.append((path, Config(root=tmp_path, **config), path.name))
    return items


def test_a_worker_segfault_is_that_files_zl000(tmp_path, monkeypatch):
    real = runner.lint_source

    def crashing(data, display, *args, **kwargs):
        if display == "f05.py":
            import faulthandler

            faulthandler.disable()  # pytest's stack dump of the dying child is noise here
            os.kill(os.getpid(), signal.SIGSEGV)
        return real(data, display, *args, **kwargs)

    monkeypatch.setattr(runner, "lint_source", crashing)
    monkeypatch.setattr(runner, "MIN_FILES_PER_WORKER", 1)
    results = runner.lint_all(_items(tmp_path), jobs=2)
    assert [r.path for r in results] == [f"f{i:02d}.py" for i in range(12)]
    for result in results:
        if result.path == "f05.py":
            assert [f.code for f in result.findings] == ["ZL000"] and not result.cacheable
            assert "the process analyzing it died (killed by SIGSEGV)" in result.findings[0].message
        else:
            assert {(f.code, f.line) for f in result.findings} == BUGGY_FINDINGS


def test_a_worker_stuck_where_the_timer_cannot_reach_is_killed(tmp_path, monkeypatch):
    real = runner.lint_source

    def stuck(data, display, *args, **kwargs):
        if display == "f03.py":  # like native code that never returns to Python: the timer is blocked
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
            time.sleep(600)
        return real(data, display, *args, **kwargs)

    monkeypatch.setattr(runner, "lint_source", stuck)
    monkeypatch.setattr(runner, "MIN_FILES_PER_WORKER", 1)
    monkeypatch.setattr(guard, "KILL_MARGIN", 0.5)
    # a budget the other files meet on a loaded machine too (the stuck one never returns)
    results = runner.lint_all(_items(tmp_path, file_timeout=1.5), jobs=2)
    assert [f.code for f in results[3].findings] == ["ZL000"]
    assert "longer than the per-file budget of 1.5 s" in results[3].findings[0].message
    assert all({(f.code, f.line) for f in r.findings} == BUGGY_FINDINGS for i, r in enumerate(results) if i != 3)


# ---- the per-file time budget ----

def test_budget_exceeded_is_a_zl000_and_is_not_cached():
    result = lint_source(BUGGY, "t.py", Config(root=ROOT, file_timeout=0.001))
    assert [(f.code, f.line) for f in result.findings] == [("ZL000", 1)]
    assert "longer than the per-file budget of 0.001 s" in result.findings[0].message
    assert not result.cacheable
    # the budget is per file: the next one is analysed in full
    assert {(f.code, f.line) for f in lint_source(BUGGY, "t.py", Config(root=ROOT)).findings} == BUGGY_FINDINGS


def test_a_swallowed_budget_alarm_still_ends_the_file():
    # importlib's lock callbacks swallow BaseException: an alarm that lands there must still count.
    with pytest.raises(guard.BudgetExceeded):
        with guard.budget(0.01):
            try:
                time.sleep(0.2)
            except BaseException:
                pass
    # and code that keeps swallowing is interrupted again, not left running past its budget
    caught = []
    with pytest.raises(guard.BudgetExceeded):
        with guard.budget(0.01):
            for _ in range(3):
                try:
                    time.sleep(1)
                except BaseException:
                    caught.append(True)
    assert len(caught) == 3
    assert signal.getitimer(signal.ITIMER_REAL)[0] == 0


def test_budget_restores_an_outer_timer():
    fired = []
    previous = signal.signal(signal.SIGALRM, lambda *a: fired.append(True))
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.5)
        with guard.budget(0.05):
            pass
        assert 0 < signal.getitimer(signal.ITIMER_REAL)[0] <= 0.5
        with pytest.raises(guard.BudgetExceeded):
            with guard.budget(0.05):
                time.sleep(0.3)
        time.sleep(0.5)
        assert fired == [True]
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_file_timeout_option_and_config_key(tmp_path):
    (tmp_path / "train.py").write_text(BUGGY)
    for args in (("--file-timeout", "0.001"), ()):
        if not args:
            (tmp_path / "pyproject.toml").write_text("[tool.zerolint]\nfile-timeout = 0.001\n")
        proc = run("--no-cache", "--format", "json", *args, "train.py", cwd=tmp_path)
        assert proc.returncode == 1 and found(proc) == {("train.py", "ZL000", 1)}, proc.stderr
    (tmp_path / "pyproject.toml").write_text("[tool.zerolint]\nfile-timeout = 'soon'\n")
    proc = run("train.py", cwd=tmp_path)
    assert proc.returncode == 2 and "`file-timeout` must be a number of seconds" in proc.stderr


def test_flake8_plugin_reports_files_it_cannot_analyze(tmp_path):
    (tmp_path / "deep.py").write_text("import torch\n" + DEEP["and10000.py"][0] + "\n")  # pyflakes reads it
    (tmp_path / "train.py").write_text(BUGGY)
    proc = subprocess.run([sys.executable, "-m", "flake8", "--select", "ZL", "deep.py", "train.py"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120)
    lines = proc.stdout.splitlines()
    assert any(line.startswith("./deep.py:1:1: ZL000 " + CANNOT) or line.startswith("deep.py:1:1: ZL000 " + CANNOT)
               for line in lines), proc.stdout + proc.stderr
    assert sum("train.py:" in line for line in lines) == 2


# ---- non-regular files ----

def test_fifo_is_skipped_with_a_note(tmp_path):
    os.mkfifo(tmp_path / "pipe.py")
    (tmp_path / "train.py").write_text(BUGGY)
    proc = run("--no-cache", "--format", "json", ".", cwd=tmp_path, timeout=30)
    assert proc.returncode == 1 and found(proc) == {("train.py", c, line) for c, line in BUGGY_FINDINGS}
    assert "skipping pipe.py: a FIFO, not a regular file" in proc.stderr
    proc = run("--no-cache", "pipe.py", cwd=tmp_path, timeout=30)  # named explicitly too
    assert proc.returncode == 0 and "skipping pipe.py: a FIFO" in proc.stderr


# ---- rule selection: unknown codes, ALL, select = [] ----

@pytest.mark.parametrize("args", [("--select", "ZL999"), ("--ignore", "ZL290"), ("--extend-select", "ZL7"),
                                  ("--select", "ZL101,ZL290")])
def test_unknown_code_on_the_command_line_exits_2(tmp_path, args):
    (tmp_path / "train.py").write_text(BUGGY)
    proc = run(*args, "train.py", cwd=tmp_path)
    bad = args[1].split(",")[-1]
    assert proc.returncode == 2 and f"'{bad}'" in proc.stderr and "not a rule code" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("table", ['select = ["ZL290"]', 'ignore = ["ZL999"]', 'extend-select = ["ZL6"]',
                                   'per-file-ignores = { "*.py" = ["ZL399"] }'])
def test_unknown_code_in_config_exits_2(tmp_path, table):
    (tmp_path / "train.py").write_text(BUGGY)
    (tmp_path / "pyproject.toml").write_text(f"[tool.zerolint]\n{table}\n")
    proc = run("train.py", cwd=tmp_path)
    assert proc.returncode == 2 and "not a rule code" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("args, config, expected", [
    (("--ignore", "ALL"), "", set()),
    (("--select", "ALL"), "", BUGGY_FINDINGS),
    (("--select", "ZL2", "--ignore", "ALL"), "", {("ZL201", 11)}),  # the more specific prefix wins
    (("--select", "ALL", "--ignore", "ZL2"), "", {("ZL101", 9)}),
    (("--select", "ZL101", "--ignore", "ZL101"), "", set()),  # a tie: ignore wins
    ((), 'ignore = ["ALL"]', set()),
    ((), 'ignore = ["ALL"]\nextend-select = ["ZL201"]', {("ZL201", 11)}),
    ((), 'per-file-ignores = { "train.py" = ["ALL"] }', set()),
    ((), 'select = ["ZL201"]\nper-file-ignores = { "train.py" = ["ZL2"] }', set()),  # per-file always wins
])
def test_selection_as_ruff_resolves_it(tmp_path, args, config, expected):
    (tmp_path / "train.py").write_text(BUGGY)
    (tmp_path / "pyproject.toml").write_text(f"[tool.zerolint]\n{config}\n")
    proc = run("--no-cache", "--format", "json", *args, "train.py", cwd=tmp_path)
    assert {(c, line) for _, c, line in found(proc)} == expected, proc.stderr


def test_empty_select_selects_nothing_and_says_so(tmp_path):
    (tmp_path / "train.py").write_text(BUGGY)
    (tmp_path / "broken.py").write_text("import torch\nx = (\n")
    (tmp_path / "pyproject.toml").write_text("[tool.zerolint]\nselect = []\n")
    proc = run("--no-cache", "--format", "json", ".", cwd=tmp_path)
    assert found(proc) == {("broken.py", "ZL000", 2)} and proc.returncode == 1
    assert "selects no rule" in proc.stderr


def test_known_codes_match_the_registry():
    from zerolint.confirm.evidence import RUNTIME_RULES
    from zerolint.rules import all_rules

    assert codes.STATIC_CODES == tuple(all_rules())
    assert codes.RUNTIME_CODES == tuple(sorted(RUNTIME_RULES))  # confirm reads the same declaration


# ---- bad configuration and cache shapes ----

@pytest.mark.parametrize("content, needle", [
    (b"tool = 1\n", "`tool` must be a table"),
    (b"[tool.zerolint]\nselect = [\"ZL1\"]\n# \xff\xfe latin-1 \xe9\n", "invalid TOML"),
    (b"[tool]\nzerolint = 3\n", "must be a table"),
])
def test_bad_config_file_exits_2_without_traceback(tmp_path, content, needle):
    (tmp_path / "train.py").write_text(BUGGY)
    (tmp_path / "cfg.toml").write_bytes(content)
    proc = run("--config", "cfg.toml", "train.py", cwd=tmp_path)
    assert proc.returncode == 2 and needle in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("entry", ["{}", "[1]", "null", '"text"', '[{"line": 1}]',
                                   '[{"line": "9", "column": 12, "end_line": 9, "end_column": 13, "code": "ZL101",'
                                   ' "name": "n", "severity": "error", "message": "m", "fixable": false}]'])
def test_cache_entry_of_the_wrong_shape_is_a_miss(tmp_path, entry):
    (tmp_path / "train.py").write_text(BUGGY)
    cache = tmp_path / "cache"
    first = run("--cache-dir", str(cache), "--format", "json", "train.py", cwd=tmp_path)
    entries = [p for p in cache.rglob("*.json")]
    assert len(entries) == 1
    entries[0].write_text(entry)
    proc = run("--cache-dir", str(cache), "--format", "json", "train.py", cwd=tmp_path)
    assert proc.returncode == 1 and proc.stdout == first.stdout and "Traceback" not in proc.stderr


# ---- Ctrl-C ----

def test_ctrl_c_exits_130_without_traceback(monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "lint_all", interrupted)
    result = CliRunner().invoke(lint_command, [str(FIXTURES / "step/zl201_missing_zero_grad.py")])
    assert result.exit_code == 130 and "Traceback" not in result.output


@pytest.fixture
def sigint_default():
    """SIGINT with Python's own handler (a background job starts with it ignored), as in a terminal."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def _training_files(folder: Path, count: int = 3) -> None:
    body = "".join(f"\ndef train{i}(model, loader):\n    opt = torch.optim.SGD(model.parameters(), lr=0.01)\n"
                   f"    for x, y in loader:\n        loss = model(x).sum()\n        loss.backward()\n"
                   f"        opt.step()\n" for i in range(5))
    for i in range(count):
        (folder / f"t{i}.py").write_text("import torch\n" + body)


def _sigint_now() -> None:
    """A real SIGINT to this process; its handler runs inside the sleep (which it cuts short)."""
    os.kill(os.getpid(), signal.SIGINT)
    time.sleep(2)


def test_ctrl_c_that_libcst_turns_into_a_key_error_exits_130(tmp_path, monkeypatch, sigint_default):
    # libcst's position codegen reads child positions in a `finally`: a KeyboardInterrupt raised inside
    # it comes out as a KeyError, which the positions' fallback caught; the run then went on and ended
    # as if nothing had happened (exit 1, "Found ... findings"): the flaky real-run test below.
    import libcst as cst

    _training_files(tmp_path)
    original = cst.Name._codegen_impl
    calls = []

    def interrupting(self, state, *args, **kwargs):
        calls.append(self)
        if len(calls) == 5:  # a Name inside nodes whose end position is their last child's
            _sigint_now()
        return original(self, state, *args, **kwargs)

    monkeypatch.setattr(cst.Name, "_codegen_impl", interrupting)
    result = CliRunner().invoke(lint_command, ["--no-cache", "--jobs", "1", str(tmp_path)])
    assert len(calls) >= 5
    assert result.exit_code == 130 and "interrupted" in result.output and "Traceback" not in result.output
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler and not guard.interrupted


def test_ctrl_c_swallowed_inside_a_file_stops_the_run_after_it(tmp_path, monkeypatch, sigint_default):
    # Whatever swallows the KeyboardInterrupt inside a file's analysis, the Ctrl-C is remembered and the
    # run stops after that file (the CLI's SIGINT handler sets a flag that the runner checks).
    from zerolint import engine

    _training_files(tmp_path, 10)
    original = engine._positions
    swallowed = []
    files = []

    def swallowing(module, *args):
        files.append(module)
        if not swallowed:
            try:
                _sigint_now()
            except KeyboardInterrupt:
                swallowed.append(True)
        return original(module, *args)

    monkeypatch.setattr(engine, "_positions", swallowing)
    result = CliRunner().invoke(lint_command, ["--no-cache", "--jobs", "1", str(tmp_path)])
    assert swallowed and len(files) == 1  # the next file is not started
    assert result.exit_code == 130 and "interrupted" in result.output and "Traceback" not in result.output
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler and not guard.interrupted


def test_an_interrupt_after_the_last_file_still_exits_130(tmp_path, monkeypatch, sigint_default):
    # A Ctrl-C swallowed while the results are printed: the run does not exit as if nothing had happened.
    from zerolint import output

    _training_files(tmp_path, 1)
    original = output.FORMATS["text"]

    def swallowing(*args, **kwargs):
        try:
            _sigint_now()
        except KeyboardInterrupt:
            pass
        return original(*args, **kwargs)

    monkeypatch.setitem(output.FORMATS, "text", swallowing)
    result = CliRunner().invoke(lint_command, ["--no-cache", str(tmp_path)])
    assert result.exit_code == 130 and "interrupted" in result.output and "Traceback" not in result.output


def test_ctrl_c_while_the_budget_stops_its_timer_leaves_no_timer_running(monkeypatch):
    # A KeyboardInterrupt in the budget's clean-up must not skip stopping the timer: its alarms would then
    # raise BudgetExceeded while the CLI prints "interrupted" (a traceback and the wrong exit status).
    real = signal.setitimer
    stops = []

    def setitimer(which, seconds, *interval):
        if seconds == 0 and not stops:
            stops.append(True)
            raise KeyboardInterrupt
        return real(which, seconds, *interval)

    before = signal.getsignal(signal.SIGALRM)
    monkeypatch.setattr(signal, "setitimer", setitimer)
    with pytest.raises(KeyboardInterrupt):
        with guard.budget(5):
            pass
    assert stops and signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    assert signal.getsignal(signal.SIGALRM) == before


def test_an_ignored_sigint_stays_ignored(tmp_path):
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        _training_files(tmp_path, 1)
        result = CliRunner().invoke(lint_command, ["--no-cache", str(tmp_path)])
        assert result.exit_code == 1 and signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="needs /proc to see the run start")
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_sigint_to_a_real_run_exits_130(tmp_path, jobs):
    body = "".join(f"\ndef train{i}(model, loader):\n    opt = torch.optim.SGD(model.parameters(), lr=0.01)\n"
                   f"    for x, y in loader:\n        loss = model(x).sum()\n        loss.backward()\n"
                   f"        opt.step()\n" for i in range(150))
    for i in range(60):
        (tmp_path / f"t{i:02d}.py").write_text(f"import torch\n# {i}\n" + body)
    # A shell's background job starts with SIGINT ignored (and Python then keeps it ignored): restore the
    # default in the child so the test sends what a terminal's Ctrl-C sends, however the suite was started.
    proc = subprocess.Popen([sys.executable, "-m", "zerolint", "--no-cache", "--jobs", jobs, "."], cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))

    def parsing() -> bool:  # libcst's native parser is loaded by the first parse (a worker's, with --jobs 2)
        pids = [str(proc.pid)]
        try:
            pids += Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
        except OSError:
            pass
        for pid in pids:
            try:
                if "libcst/native" in Path(f"/proc/{pid}/maps").read_text():
                    return True
            except OSError:
                pass
        return False

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None and not parsing():
        time.sleep(0.05)
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "interrupted" in err


# ---- --fix: what is marked [*] is applied, and files are written the way they were ----

def test_fix_marks_are_what_fix_applies_on_every_fixture():
    for path in sorted(FIXTURES.rglob("*.py")):
        data = path.read_bytes()
        result = lint_source(data, path.name)
        marked = fixable_keys(data, result.findings, result.tree)
        if not marked:
            continue
        new, _ = fix_text(data.decode("utf-8"), path.name)
        left = {(f.line, f.code) for f in lint_source(new, path.name).findings}
        # every marked finding's code has lost at least as many findings as were marked
        for code in {key[2] for key in marked}:  # Finding.key: (line, column, code, cell)
            before = sum(f.code == code for f in result.findings)
            after = sum(c == code for _, c in left)
            assert after <= before - sum(key[2] == code for key in marked), (path.name, code)


def test_marking_is_one_plan_per_finding_for_many_functions():
    body = "".join(f"\ndef train{i}(model, loader):\n    opt = torch.optim.SGD(model.parameters(), lr=0.01)\n"
                   f"    for x, y in loader:\n        loss = model(x).sum()\n        loss.backward()\n"
                   f"        opt.step()\n" for i in range(40))
    text = "import torch\n" + body
    result = lint_source(text, "many.py")
    assert len(result.findings) == 40 and all(f.code == "ZL201" for f in result.findings)
    assert len(fixable_keys(text.encode(), result.findings, result.tree)) == 40
    new, count = fix_text(text, "many.py")
    assert count == 40 and lint_source(new, "many.py").findings == []
    assert new.count("opt.zero_grad()") == 40


ZL201_SCRIPT = (FIXTURES / "step/zl201_missing_zero_grad.py").read_text()


def _fix(tmp_path, *names):
    return run("--no-cache", "--fix", *names, cwd=tmp_path)


def test_fix_applies_to_bom_and_declared_encoding_files(tmp_path):
    bom = b"\xef\xbb\xbf" + ZL201_SCRIPT.encode()
    (tmp_path / "bom.py").write_bytes(bom)
    latin = ("# -*- coding: latin-1 -*-\n# caf\xe9\n" + ZL201_SCRIPT).encode("latin-1")
    (tmp_path / "latin.py").write_bytes(latin)
    marked = run("--no-cache", "bom.py", "latin.py", cwd=tmp_path)
    assert marked.stdout.count("[*]") == 2 * sum("[*]" in line for line in
                                                  run("--no-cache", str(FIXTURES / "step/zl201_missing_zero_grad.py"),
                                                      cwd=tmp_path).stdout.splitlines())
    assert _fix(tmp_path, "bom.py", "latin.py").returncode == 0
    new_bom = (tmp_path / "bom.py").read_bytes()
    assert new_bom.startswith(b"\xef\xbb\xbf") and b"zero_grad()" in new_bom
    new_latin = (tmp_path / "latin.py").read_bytes()
    assert b"# caf\xe9\n" in new_latin and b"zero_grad()" in new_latin
    assert run("--no-cache", "bom.py", "latin.py", cwd=tmp_path).returncode == 0


def test_fix_writes_through_symlinks_and_keeps_hard_links_and_mode(tmp_path):
    real = tmp_path / "real.py"
    real.write_text(ZL201_SCRIPT)
    os.chmod(real, 0o640)
    (tmp_path / "link.py").symlink_to("real.py")
    hard = tmp_path / "hard.py"
    hard.write_text(ZL201_SCRIPT)
    os.link(hard, tmp_path / "other_name.txt")
    proc = _fix(tmp_path, "link.py", "hard.py")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "link.py").is_symlink() and "zero_grad()" in real.read_text()
    assert stat.S_IMODE(real.stat().st_mode) == 0o640
    assert hard.stat().st_nlink == 2 and (tmp_path / "other_name.txt").read_text() == hard.read_text()
    assert "zero_grad()" in hard.read_text()


def test_fix_refuses_read_only_files(tmp_path):
    target = tmp_path / "ro.py"
    target.write_text(ZL201_SCRIPT)
    os.chmod(target, 0o444)
    proc = _fix(tmp_path, "ro.py")
    assert proc.returncode == 1 and "cannot fix ro.py: it is read-only; left unchanged" in proc.stderr
    assert target.read_text() == ZL201_SCRIPT


@pytest.mark.skipif(os.geteuid() != 0, reason="changing a file's owner needs root")
def test_fix_keeps_the_owner(tmp_path):
    target = tmp_path / "owned.py"
    target.write_text(ZL201_SCRIPT)
    os.chown(target, 12345, 54321)
    assert _fix(tmp_path, "owned.py").returncode == 0
    assert (target.stat().st_uid, target.stat().st_gid) == (12345, 54321) and "zero_grad()" in target.read_text()


# ---- property: random and mutated sources never give a traceback or an exit other than 0/1 ----

def _mutants(seed: int, count: int):
    rng = random.Random(seed)
    sources = [p.read_bytes() for p in sorted(FIXTURES.rglob("*.py"))]
    for n in range(count):
        data = rng.choice(sources)
        lines = data.splitlines(keepends=True)
        kind = n % 12
        if kind == 0:
            data = data[:rng.randrange(len(data))]
        elif kind == 1:
            rng.shuffle(lines)
            data = b"".join(lines)
        elif kind == 2:
            depth = rng.choice([50, 150, 400, 1200])
            data += b"x = " + b"[" * depth + b"1" + b"]" * depth + b"\n"
        elif kind == 3:
            data += b"x = " + b"9" * 100_000 + b"\ns = '" + b"a" * 200_000 + b"'\n"
        elif kind == 4:
            data += b"y = [" + b", ".join(b"model(x)" for _ in range(500)) + b"]\n"
        elif kind == 5:
            data = b"".join(b"\t" + line[4:] if line.startswith(b"    ") and rng.random() < 0.3 else line
                            for line in lines)
        elif kind == 6:
            data = data.replace(b"\n", b"\r\n")
        elif kind == 7:
            data = b"\xef\xbb\xbf" + data
        elif kind == 8:
            at = rng.randrange(len(data))
            data = data[:at] + b"\x00" + data[at:]
        elif kind == 9:
            at = rng.randrange(len(data))
            data = data[:at] + b"\xff\xfe\xc3" + data[at:]
        elif kind == 10:
            data = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 400))) + b"import torch\n"
        else:
            term = rng.choice([b"a+", b"not ", b"-", b"a and "])
            data += b"z = " + term * rng.choice([300, 990, 2500, 6000]) + b"a\n"
        yield f"m{n:03d}.py", data


def test_random_and_mutated_sources_never_crash_the_cli(tmp_path):
    for name, data in _mutants(11, 48):
        (tmp_path / name).write_bytes(data)
    for jobs in ("1", "2"):
        proc = run("--no-cache", "--jobs", jobs, "--file-timeout", "3", "--format", "json", ".", cwd=tmp_path)
        assert proc.returncode in (0, 1), proc.stderr[-2000:]
        assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr, proc.stderr[-2000:]
        json.loads(proc.stdout)

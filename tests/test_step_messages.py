"""ZL201/ZL204 say where the step repeats: a loop of the file, or Lightning's training_step (manual
optimization), which the framework calls once per batch with no loop in the file."""
import pytest

from conftest import FIXTURES
from zerolint.config import Config
from zerolint.engine import lint_file


def _messages(name, code):
    result = lint_file(FIXTURES / "step" / name, Config(root=FIXTURES))
    assert result.error is None, result.error
    return [f.message for f in result.findings if f.code == code]


@pytest.mark.parametrize("name, code", [("zl201_lightning_subclass.py", "ZL201"),
                                        ("zl201_lightning_project_base.py", "ZL201"),
                                        ("zl204_lightning_manual.py", "ZL204")])
def test_a_step_in_training_step_names_the_method_lightning_calls_per_batch(name, code):
    messages = [m for m in _messages(name, code) if "step()` runs in" in m]
    assert messages
    assert all("runs in `training_step`, which Lightning calls once per batch and which " in m for m in messages)
    assert not any("runs in a loop" in m for m in messages)


@pytest.mark.parametrize("name", ["zl201_lightning_manual.py", "zl201_missing_zero_grad.py"])
def test_a_step_in_a_loop_of_the_file_keeps_the_loop_wording(name):
    messages = _messages(name, "ZL201")
    assert messages and all("runs in a loop that " in m for m in messages)

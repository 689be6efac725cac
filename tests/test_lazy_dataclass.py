"""zerolint.lazy_dataclass behaves as dataclasses.dataclass once used: the same fields, init, repr,
equality, hashing, frozenness, replace(), subclassing and pickling (from a process that never built one)."""
import dataclasses
import pickle
import subprocess
import sys
from dataclasses import field
from typing import Any, Optional

import pytest

from zerolint.lazy_dataclass import _PENDING, dataclass


def declare(decorate):
    @decorate(frozen=True)
    class Tensor:
        """A value."""

        units: Optional[int] = None
        shape: tuple = ()
        origin: Any = field(default=None, compare=False, repr=False)

    @decorate
    class Info:
        name: str
        cls: Any = None

    @decorate(frozen=True)
    class Number:
        value: Any

    @decorate(frozen=True)
    class CliDefault(Number):
        """An argparse default."""

    @decorate(frozen=True)
    class Namespace:
        defaults: dict = field(default_factory=dict, hash=False, compare=False)

    @decorate(eq=False)
    class Event:
        kind: str
        data: dict = field(default_factory=dict)

    return Tensor, Info, Number, CliDefault, Namespace, Event


def behaviour(classes) -> list:
    Tensor, Info, Number, CliDefault, Namespace, Event = classes
    out = []
    t = Tensor(3, (1, 2), origin="x")
    out += [repr(t), t == Tensor(3, (1, 2)), hash(t) == hash(Tensor(3, (1, 2))), repr(dataclasses.replace(t, units=4))]
    with pytest.raises(dataclasses.FrozenInstanceError):
        t.units = 5
    info = Info("m")
    out += [repr(info), info == Info("m"), info != Info("n"), Info.__doc__]
    with pytest.raises(TypeError, match="unhashable"):
        hash(info)
    out += [repr(CliDefault(1)), CliDefault(1) == Number(1), CliDefault(1) == CliDefault(1), CliDefault.__doc__,
            [f.name for f in dataclasses.fields(CliDefault)]]
    out += [repr(Namespace()), Namespace() == Namespace({"lr": 1}), hash(Namespace()) == hash(Namespace({"a": 2}))]
    event = Event("step")
    event.data["self"] = event
    out += [repr(event), event == Event("step", event.data), event == event, Tensor.__doc__,
            [(f.name, f.compare, f.repr) for f in dataclasses.fields(Tensor)]]
    return out


def test_lazy_classes_behave_as_dataclasses():
    lazy = declare(dataclass)
    assert all(cls in _PENDING for cls in lazy if cls.__name__ != "Number")  # a subclass materialized Number
    assert behaviour(lazy) == behaviour(declare(dataclasses.dataclass))
    assert not any(cls in _PENDING for cls in lazy)


def test_an_instance_unpickled_first_materializes_its_class(tmp_path):
    (tmp_path / "lazymod.py").write_text("from zerolint.lazy_dataclass import dataclass\n\n\n@dataclass(frozen=True)\n"
                                         "class Q:\n    x: int = 1\n    y: list = None\n")
    dump = "import pickle, sys, lazymod; sys.stdout.write(pickle.dumps(lazymod.Q(2, [lazymod.Q(3)])).hex())"
    load = ("import dataclasses, pickle, sys, lazymod\nq = pickle.loads(bytes.fromhex(sys.stdin.read()))\n"
            "print(dataclasses.replace(q, x=5), q == lazymod.Q(2, [lazymod.Q(3)]), hash(q.y[0]) == hash(lazymod.Q(3)))")
    data = subprocess.run([sys.executable, "-c", dump], capture_output=True, text=True, cwd=tmp_path).stdout
    proc = subprocess.run([sys.executable, "-c", load], input=data, capture_output=True, text=True, cwd=tmp_path)
    assert proc.stdout == "Q(x=5, y=[Q(x=3, y=None)]) True True\n", proc.stderr


def test_the_model_and_findings_use_it():
    from zerolint.diagnostic import Finding
    from zerolint.model import facts, values

    for module in (values, facts):
        assert module.dataclass is dataclass
    assert pickle.loads(pickle.dumps(Finding("a.py", 1, 1, 1, 2, "ZL101", "n", "error", "m"))).key == (1, 1, "ZL101", None)


def test_the_model_classes_take_the_route_that_compiles_nothing():
    """Materializing writes no source text (dataclasses' route execs about a millisecond per class)."""
    from zerolint.lazy_dataclass import materialize
    from zerolint.model import facts, values

    for cls in (values.Tensor, values.Module, values.Instance, facts.FunctionFacts, facts.Event):
        materialize(cls)
        assert cls.__init__.__code__.co_filename.endswith("lazy_dataclass.py"), cls


def test_call_errors_match_dataclasses():
    def errors(decorate):
        Tensor, Info = declare(decorate)[:2]
        out = []
        for call in (lambda: Info(), lambda: Info("a", 1, 2), lambda: Info("a", nope=1), lambda: Info("a", name="b"),
                     lambda: Tensor(units=1, shape=(2,), origin=3)):
            try:
                out.append(repr(call()))
            except TypeError as exc:
                out.append(str(exc).split("__init__() ")[-1])
        return out

    assert errors(dataclass) == errors(dataclasses.dataclass)


def test_other_options_go_through_dataclasses():
    @dataclass(order=True)
    class Ordered:
        x: int

    assert Ordered(1) < Ordered(2) and dataclasses.fields(Ordered)[0].name == "x"
    with pytest.raises(TypeError):
        @dataclass
        class Wrong:
            x: int = 1
            y: int

        Wrong(1, 2)

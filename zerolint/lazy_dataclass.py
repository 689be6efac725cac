"""``dataclass``, with the class's methods generated when the class is first used, not at import.

``dataclasses.dataclass`` writes and compiles ``__init__``, ``__repr__``, ``__eq__``, ``__hash__`` (and a
frozen class's ``__setattr__``/``__delattr__``) while the module is imported: for the model's value and
fact classes that was about a twentieth of a one-file run (issue 9). Here the decorator only records the
options; the first instance (built, unpickled or copied), or the first subclass, runs the real
``dataclasses.dataclass`` on the class, exactly as declared, so ``replace``, ``fields``, equality, hashing
and frozenness behave as before from then on. Classes a run never builds cost nothing. ``__repr__`` is one
shared function (same text as the generated one) instead of one compiled per class.
"""
from __future__ import annotations

import dataclasses
import reprlib
import threading

_LOCK = threading.RLock()  # a server thread and the main one may build the first instance together
_PENDING: dict = {}  # class -> (dataclass options, placeholders installed on it, shared repr or not)


def dataclass(cls=None, /, **options):
    """``@dataclass`` / ``@dataclass(frozen=True, ...)``, materialized on first use."""

    def wrap(klass):
        if options.get("slots"):  # slots=True makes a new class: nothing to defer
            return dataclasses.dataclass(klass, **options)
        installed = []
        for name, placeholder in _PLACEHOLDERS:
            if name not in klass.__dict__:
                setattr(klass, name, placeholder)
                installed.append(name)
        shared_repr = options.get("repr", True) and "__repr__" in installed  # not one of the class's own
        _PENDING[klass] = (options, installed, shared_repr)
        return klass

    return wrap if cls is None else wrap(cls)


def materialize(klass) -> None:
    """Run ``dataclasses.dataclass`` on ``klass`` and its pending bases (bases first), if still pending."""
    with _LOCK:
        for base in reversed(klass.__mro__):
            pending = _PENDING.get(base)
            if pending is None:
                continue
            options, installed, shared_repr = pending
            for name in installed:
                delattr(base, name)
            if shared_repr:
                dataclasses.dataclass(base, **{**options, "repr": False})
                base.__repr__ = _repr
            else:
                dataclasses.dataclass(base, **options)
            del _PENDING[base]


def _placeholder(name: str):
    def method(self, *args, **kwargs):
        klass = type(self)
        materialize(klass)
        real = getattr(klass, name)
        if real is None:  # __hash__ = None: an unhashable (mutable, eq=True) dataclass
            raise TypeError(f"unhashable type: '{klass.__name__}'")
        return real(self, *args, **kwargs)

    method.__name__ = method.__qualname__ = name
    return method


def _setstate(self, state) -> None:
    """An instance unpickled or copied before any was built: materialize, then restore as pickle does."""
    klass = type(self)
    materialize(klass)
    setstate = getattr(klass, "__setstate__", None)
    if setstate is not None:
        return setstate(self, state)
    slots = None
    if isinstance(state, tuple) and len(state) == 2:
        state, slots = state
    if state:
        self.__dict__.update(state)
    for key, value in (slots or {}).items():
        object.__setattr__(self, key, value)


def _subclass(cls, **kwargs) -> None:
    """A subclass (a dataclass inheriting fields, or any other) sees its bases materialized."""
    for base in cls.__mro__[1:]:
        if base in _PENDING:
            materialize(base)
    super(cls, cls).__init_subclass__(**kwargs)  # the next real __init_subclass__ (placeholders are gone)


_PLACEHOLDERS = [(name, _placeholder(name)) for name in ("__init__", "__repr__", "__eq__", "__hash__")] + [
    ("__setstate__", _setstate), ("__init_subclass__", classmethod(_subclass))]


@reprlib.recursive_repr()
def _repr(self) -> str:
    """What the generated ``__repr__`` prints: ``Name(field=value, ...)`` over the fields with repr=True."""
    shown = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in dataclasses.fields(self) if f.repr)
    return f"{type(self).__qualname__}({shown})"

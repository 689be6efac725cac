"""``dataclass``, with the class's methods generated when the class is first used, not at import.

``dataclasses.dataclass`` writes and compiles ``__init__``, ``__repr__``, ``__eq__``, ``__hash__`` (and a
frozen class's ``__setattr__``/``__delattr__``) while the module is imported: for the model's value and
fact classes that was about a twentieth of a one-file run (issue 9). Here the decorator only records the
options; the first instance (built, unpickled or copied), or the first subclass, runs the real
``dataclasses.dataclass`` on the class, exactly as declared, so ``replace``, ``fields``, equality, hashing
and frozenness behave as before from then on. Classes a run never builds cost nothing. ``__repr__`` is one
shared function (same text as the generated one) instead of one compiled per class.

Materializing does not compile code either: ``dataclasses.dataclass`` writes each method as source text and
``exec``s it, about a millisecond per class, most of the model's own cost on a small file (issue 9). For the
options the model uses (init, repr, eq, frozen; defaults and factories) the fields and the methods are built
here from closures (``_build``); a class using anything else (order, slots, ``__post_init__``, ``ClassVar``,
``InitVar``, keyword-only fields...) goes through ``dataclasses.dataclass`` as before.
tests/test_lazy_dataclass.py compares both routes on the same declarations.
"""
from __future__ import annotations

import dataclasses
import inspect
import reprlib
import threading
from dataclasses import MISSING, Field, FrozenInstanceError
from operator import attrgetter

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
            if _build(base, options):
                pass
            elif shared_repr:
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


# ---------------------------------------------------------------------------------------------- exec-free route
_SUPPORTED = {"init", "repr", "eq", "frozen"}
_UNSET = object()
_PARAMS = {"order": False, "unsafe_hash": False, "match_args": True, "kw_only": False, "slots": False,
           "weakref_slot": False}
_SPECIAL = ("ClassVar", "InitVar", "KW_ONLY")


def _build(cls, options: dict) -> bool:
    """Make ``cls`` the dataclass ``dataclasses.dataclass(cls, **options)`` would, without compiling code.

    False (nothing changed) when the class uses a feature this does not cover: the caller then runs
    ``dataclasses.dataclass``, which also raises the errors of a wrong declaration."""
    if set(options) - _SUPPORTED or hasattr(cls, "__post_init__") or "__slots__" in cls.__dict__ \
            or getattr(cls, "__abstractmethods__", None):
        return False
    init, show, eq, frozen = (options.get("init", True), options.get("repr", True), options.get("eq", True),
                              options.get("frozen", False))
    params_slots = getattr(dataclasses._DataclassParams, "__slots__", None)
    if not isinstance(params_slots, tuple) or set(params_slots) - set(_PARAMS) - _SUPPORTED:
        return False
    fields: dict = {}
    bases_frozen = set()
    for base in cls.__mro__[-1:0:-1]:
        inherited = getattr(base, "__dataclass_fields__", None)
        if inherited is not None:
            bases_frozen.add(base.__dataclass_params__.frozen)
            for f in inherited.values():
                if f._field_type is not dataclasses._FIELD:
                    return False
                fields[f.name] = f
    if bases_frozen and bases_frozen != {frozen}:
        return False  # dataclasses raises: a frozen dataclass inheriting a non-frozen one, or the reverse
    own = cls.__dict__.get("__annotations__", {})
    made = []
    for name, kind in own.items():
        if isinstance(kind, str) and any(word in kind for word in _SPECIAL) or not isinstance(kind, str) and (
                kind is dataclasses.KW_ONLY or isinstance(kind, dataclasses.InitVar) or kind is dataclasses.InitVar
                or "ClassVar" in repr(kind)):
            return False
        default = cls.__dict__.get(name, MISSING)
        f = default if isinstance(default, Field) else dataclasses.field(default=default)
        if getattr(f, "kw_only", False) is True or f.default is not MISSING and \
                f.default.__class__.__hash__ is None:  # keyword-only, or a mutable default (dataclasses raises)
            return False
        made.append((name, kind, f, default))
    for name, value in cls.__dict__.items():
        if isinstance(value, Field) and name not in own:
            return False  # dataclasses raises: a field without a type annotation
    for name, kind, f, default in made:
        f.name, f.type, f._field_type = name, kind, dataclasses._FIELD
        if "kw_only" in Field.__slots__ and f.kw_only is MISSING:
            f.kw_only = False
        fields[name] = f
    arguments = [f for f in fields.values() if f.init]
    seen_default = False
    for f in arguments:
        has_default = f.default is not MISSING or f.default_factory is not MISSING
        if seen_default and not has_default:
            return False  # dataclasses raises: a non-default argument follows a default one
        seen_default = seen_default or has_default
    # -- committed: from here on the class is changed
    for name, kind, f, default in made:
        if isinstance(default, Field):
            if f.default is MISSING:
                delattr(cls, name)
            else:
                setattr(cls, name, f.default)
    values = {"init": init, "repr": show, "eq": eq, "frozen": frozen, **_PARAMS}
    params = object.__new__(dataclasses._DataclassParams)
    for slot in params_slots:
        setattr(params, slot, values[slot])
    cls.__dataclass_fields__ = fields
    cls.__dataclass_params__ = params
    every = list(fields.values())
    if init and "__init__" not in cls.__dict__:
        cls.__init__ = _init(cls, every, frozen)
    if show and "__repr__" not in cls.__dict__:
        cls.__repr__ = _repr
    if eq and "__eq__" not in cls.__dict__:
        cls.__eq__ = _eq(_key([f.name for f in every if f.compare]))
    own_hash = cls.__dict__.get("__hash__", MISSING)
    explicit_hash = not (own_hash is MISSING or own_hash is None and "__eq__" in cls.__dict__)
    if eq and not explicit_hash:
        cls.__hash__ = _hash(_key([f.name for f in every if (f.compare if f.hash is None else f.hash)])) \
            if frozen else None
    if frozen:
        for name in ("__setattr__", "__delattr__"):
            if name in cls.__dict__:
                raise TypeError(f"Cannot overwrite attribute {name} in class {cls.__name__}")
        names = frozenset(fields)
        cls.__setattr__, cls.__delattr__ = _frozen(cls, names)
    if "__match_args__" not in cls.__dict__:
        cls.__match_args__ = tuple(f.name for f in arguments)
    if not getattr(cls, "__doc__"):
        cls.__doc__ = f"{cls.__name__}({', '.join(_shown(f) for f in arguments)})"
    return True


def _shown(f) -> str:
    """A parameter as ``inspect.signature`` prints the generated ``__init__``'s (the default docstring)."""
    text = f"{f.name}: {inspect.formatannotation(f.type)}"
    if f.default is not MISSING:
        return f"{text} = {f.default!r}"
    return f"{text} = <factory>" if f.default_factory is not MISSING else text


def _key(names: list):
    """A function returning the tuple of these attributes (C speed: operator.attrgetter)."""
    if len(names) > 1:
        return attrgetter(*names)
    if names:
        one = attrgetter(names[0])
        return lambda obj: (one(obj),)
    return lambda obj: ()


def _eq(key):
    def __eq__(self, other):
        if other.__class__ is self.__class__:
            return key(self) == key(other)
        return NotImplemented

    return __eq__


def _hash(key):
    def __hash__(self):
        return hash(key(self))

    return __hash__


def _frozen(cls, names: frozenset) -> tuple:
    def __setattr__(self, name, value):
        if type(self) is cls or name in names:
            raise FrozenInstanceError(f"cannot assign to field {name!r}")
        super(cls, self).__setattr__(name, value)

    def __delattr__(self, name):
        if type(self) is cls or name in names:
            raise FrozenInstanceError(f"cannot delete field {name!r}")
        super(cls, self).__delattr__(name)

    return __setattr__, __delattr__


def _init(cls, every: list, frozen: bool):
    """``__init__(self, <the init fields, in order, with their defaults>)``, as dataclasses generates it."""
    arguments = [f for f in every if f.init]
    names = tuple(f.name for f in arguments)
    count = len(names)
    index = {name: i for i, name in enumerate(names)}
    # per argument: (0, None) required, (1, value) a default, (2, factory) a default factory
    spec = tuple((1, f.default) if f.default is not MISSING else (2, f.default_factory)
                 if f.default_factory is not MISSING else (0, None) for f in arguments)
    later = tuple((f.name, f.default_factory) for f in every if not f.init and f.default_factory is not MISSING)
    put = object.__setattr__ if frozen else setattr
    title = f"{cls.__qualname__}.__init__()"
    least = sum(1 for how, _ in spec if how == 0) + 1
    takes = f"{count + 1} positional argument{'s' if count else ''}" if least == count + 1 else \
        f"from {least} to {count + 1} positional arguments"

    def __init__(self, *args, **kwargs):
        given = len(args)
        if given > count:
            raise TypeError(f"{title} takes {takes} but {given + 1} were given")
        if kwargs:
            args = list(args) + [_UNSET] * (count - given)
            for key, value in kwargs.items():
                at = index.get(key)
                if at is None:
                    raise TypeError(f"{title} got an unexpected keyword argument {key!r}")
                if args[at] is not _UNSET:
                    raise TypeError(f"{title} got multiple values for argument {key!r}")
                args[at] = value
            given = count
        for at in range(count):
            value = args[at] if at < given else _UNSET
            if value is _UNSET:
                how, value = spec[at]
                if how == 0:
                    raise TypeError(f"{title} missing 1 required positional argument: {names[at]!r}")
                if how == 2:
                    value = value()
            put(self, names[at], value)
        for name, factory in later:
            put(self, name, factory())

    __init__.__qualname__ = f"{cls.__qualname__}.__init__"
    return __init__

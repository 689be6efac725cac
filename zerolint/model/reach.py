"""Which modules' parameters a value's autograd graph reaches (the modules whose calls feed it).

A *reach* is a frozenset of module keys (``values.module_key``, each reached module with its submodules)
or None: unknown, which rules read as "could reach anything". The interpreter keeps one per bound name
(``reach_of_name``), per ``self.<attr>`` and per call of a local function (its returns), and computes the
reach of an expression from its parts right after evaluating it (``of``):

- calling a module (``model(x)``, ``self.actor(s)``, ``model.encode(x)``) adds that module to its inputs';
- arithmetic, indexing, tensor methods, library functions and containers join the reaches of their parts;
- what cuts the graph reaches nothing: ``.detach()``, ``.item()`` (``libs.GRAPH_CUTS``), ``int()``/``float()``,
  and anything computed under ``no_grad``/``inference_mode``;
- a name with no recorded reach reaches nothing when its value cannot hold a graph (a module object, an
  optimizer, a loader, a number), else it is unknown, as is a call of something unknown.

Cost: one walk of each assigned, returned or backpropagated expression (local calls are not re-entered:
their reach was recorded when they ran).
"""
from __future__ import annotations

from typing import Any, Optional

import libcst as cst

from . import libs
from . import values as V
from .facts import ClassFacts
from .names import bound_names
from .values import module_tree

EMPTY: frozenset = frozenset()
REACH = "\x00reach:"  # env key prefix: the reach of a name, scoped with the name's value
LIBRARY = "\x00library:"  # env key prefix: the name holds a library name (`Tensor = torch.FloatTensor`)
_MISSING = object()

# Values that hold no autograd graph themselves (a module object is not its output).
_GRAPHLESS = (V.Module, V.Optimizer, V.Scheduler, V.Scaler, V.Loader, V.Dataset, V.Number, V.Scalar,
              V.Namespace, V.Function, V.Loss, V.GradContext, V.Tokenizer, V.Transform, V.Instance, V.Bunch,
              ClassFacts)
_BUILTINS_CUT = {"int", "float", "bool", "str", "len", "isinstance", "print", "range", "repr", "round",
                 "format", "hash", "id", "type"}
_BUILTINS_JOIN = {"sum", "max", "min", "abs", "list", "tuple", "sorted", "reversed", "iter", "next", "zip",
                  "enumerate", "dict", "getattr"}
_NO_VALUE_NAMES = {"True", "False", "None", "self", "cls"}


def join(*reaches: Optional[frozenset]) -> Optional[frozenset]:
    out: set = set()
    for r in reaches:
        if r is None:
            return None
        out |= r
    return frozenset(out)


def reaches(reach: Optional[frozenset], params: Optional[frozenset]) -> Optional[bool]:
    """Does a graph with this reach reach these parameters (module_tree keys)? None: cannot tell."""
    if reach is None or params is None:
        return None
    return bool(reach & params)


class Reach:
    """The walk; ``ip`` is the running Interpreter."""

    def __init__(self, ip: Any) -> None:
        self.ip = ip
        self.calls: dict = {}  # id(call node) -> reach of what the local function returned, last run
        self.attrs: dict = {}  # (id(ClassFacts), name) -> reach of self.<name>
        self.items: dict = {}  # id(call node) -> per-element reach of the tuple it returned, last run

    # ---------------------------------------------------------------- names and attributes
    def name(self, name: str) -> Optional[frozenset]:
        ip = self.ip
        value = ip.lookup(name)
        if isinstance(value, _GRAPHLESS):
            return EMPTY
        reach = self.ip.lookup(REACH + name, _MISSING)
        if reach is not _MISSING:
            return reach
        return EMPTY if name in _NO_VALUE_NAMES else None

    def bind_name(self, name: str, reach: Optional[frozenset]) -> None:
        self.ip.env[REACH + name] = reach

    def bind(self, target: cst.BaseExpression, reach: Optional[frozenset],
             value_node: Optional[cst.BaseExpression] = None) -> None:
        """Record the reach of an assignment's targets (element-wise for `a, b = x, y`)."""
        if type(target) is cst.Name:
            self.bind_name(target.value, reach)
            if value_node is not None and self._library_reference(value_node):
                self.ip.env[LIBRARY + target.value] = True  # `Tensor = torch.cuda.FloatTensor`: calling it is no model
            elif LIBRARY + target.value in self.ip.env:
                del self.ip.env[LIBRARY + target.value]
        elif type(target) in (cst.Tuple, cst.List):
            parts = value_node.elements if type(value_node) in (cst.Tuple, cst.List) and \
                len(value_node.elements) == len(target.elements) and \
                not any(type(e) is cst.StarredElement for e in value_node.elements) else None
            items = self.items.get(id(value_node)) if type(value_node) is cst.Call else None
            if items is not None and len(items) != len(target.elements):
                items = None
            for i, element in enumerate(target.elements):
                inner = element.value
                if parts is not None:
                    self.bind(inner, self.of(parts[i].value), parts[i].value)
                elif items is not None and type(element) is not cst.StarredElement:
                    self.bind(inner, items[i])  # a, b = helper(...) that returns (a, b)
                else:
                    self.bind(inner, reach)
        elif type(target) is cst.Attribute:
            cls = _local_class(self.ip.quiet_peek(target.value))
            if cls is not None:  # methods run in no known order: self.<name> holds what any store put there
                key = (id(cls), target.attr.value)
                self.attrs[key] = join(self.attrs[key], reach) if key in self.attrs else reach
        elif type(target) is cst.Subscript:
            self.mutate(target.value, reach)  # losses[i] = ...

    def iterated(self, e: cst.BaseExpression) -> Optional[frozenset]:
        """The reach of a loop's items. A loop over a name or attribute we were never told about (a loader
        passed in, ``self.train_loader``), maybe through ``enumerate``/``tqdm``, yields data: nothing."""
        reach = self.of(e)
        return EMPTY if reach is None and self._passed_in(e) else reach

    def _passed_in(self, e: cst.BaseExpression) -> bool:
        if type(e) is cst.Name:
            return self.ip.lookup(REACH + e.value, _MISSING) is _MISSING
        if type(e) is cst.Attribute:
            cls = _local_class(self.ip.quiet_peek(e.value))
            if cls is not None:
                return (id(cls), e.attr.value) not in self.attrs
            return self._passed_in(e.value)
        if type(e) is cst.Call and e.args and (
                type(e.func) is cst.Name and e.func.value in _BUILTINS_JOIN
                or type(e.func) in (cst.Name, cst.Attribute) and self.ip.imports.resolve(e.func) is not None):
            return all(self.of(a.value) is not None or self._passed_in(a.value) for a in e.args)  # enumerate(loader)
        return False

    def mutate(self, recv: cst.BaseExpression, reach: Optional[frozenset]) -> None:
        """``xs.append(v)``, ``xs[i] = v``: what the container holds now reaches what ``v`` reaches too."""
        if reach is not None and not reach:
            return
        while type(recv) is cst.Subscript:
            recv = recv.value
        if type(recv) is cst.Name:
            if not isinstance(self.ip.lookup(recv.value), _GRAPHLESS):
                self.bind_name(recv.value, join(self.name(recv.value), reach))
        elif type(recv) is cst.Attribute:
            cls = _local_class(self.ip.quiet_peek(recv.value))
            if cls is not None:
                key = (id(cls), recv.attr.value)
                self.attrs[key] = join(self.attrs[key], reach) if key in self.attrs else None

    def _library_reference(self, node: cst.BaseExpression) -> bool:
        if type(node) is cst.IfExp:
            return self._library_reference(node.body) and self._library_reference(node.orelse)
        return type(node) in (cst.Name, cst.Attribute) and self.ip.imports.resolve(node) is not None

    def _attribute(self, e: cst.Attribute) -> Optional[frozenset]:
        ip = self.ip
        if ip.imports.resolve(e) is not None:
            return EMPTY  # a library constant (torch.float32)
        base = ip.quiet_peek(e.value)
        cls = _local_class(base)
        if cls is None and e.attr.value in libs.GRAPH_CUTS:
            return EMPTY  # x.data, p.grad
        if cls is not None:
            value = cls.attrs.get(e.attr.value)
            if isinstance(value, _GRAPHLESS):
                return EMPTY  # a submodule (calling it adds it), a number, an optimizer
            stored = self.attrs.get((id(cls), e.attr.value))
            if cls.is_module and stored is None and e.attr.value in libs.PLAIN_MODULE_ATTRIBUTES:
                return EMPTY  # self.device, self.hparams.latent_dim: settings, not parameters
            if cls.is_module:  # a parameter or a tensor kept on a model (policy.saved_log_probs)
                info = base.info if isinstance(base, V.Module) else ip.module_info(cls)
                return join(module_tree(info), stored if stored is not None else EMPTY)
            return stored
        if isinstance(base, V.Record):
            return EMPTY if isinstance(base.fields.get(e.attr.value), _GRAPHLESS) else self.of(e.value)
        if isinstance(base, V.Module):
            return module_tree(base.info)  # model.weight: a parameter of that model
        return self.of(e.value)  # outputs.loss, x.T

    # ---------------------------------------------------------------- calls
    def _call(self, e: cst.Call) -> Optional[frozenset]:
        ip = self.ip
        args = join(*(self.of(a.value) for a in e.args))
        recorded = self.calls.get(id(e), self)
        if recorded is not self:
            return recorded  # a local function or method: what it returned
        func = e.func
        if type(func) in (cst.Name, cst.Attribute) and ip.imports.resolve(func) is not None:
            return args  # a library function: differentiable in its arguments
        if type(func) is cst.Attribute:
            method = func.attr.value
            if method in libs.GRAPH_CUTS:
                return EMPTY
            recv = ip.quiet_peek(func.value)
            if isinstance(recv, V.Module):
                cls = recv.info.cls
                attr = cls.attrs.get(method) if cls is not None else None
                if isinstance(attr, V.Module):
                    return join(module_tree(attr.info, (cls, method)), args)  # model.encoder(x)
                return join(module_tree(recv.info, _via(ip, func.value)), args)  # model.forward(x)
            if isinstance(recv, V.Instance):
                attr = recv.cls.attrs.get(method)
                if isinstance(attr, V.Module):
                    return join(module_tree(attr.info, (recv.cls, method)), args)  # self.actor(s)
                if recv.cls.is_module and method in libs.FORWARD_METHODS:
                    return join(module_tree(ip.module_info(recv.cls)), args)
                if isinstance(attr, _GRAPHLESS) or method in recv.cls.methods:
                    return args  # self.criterion(out, y)
                return None  # an attribute we do not know, called: it may be a model
            if isinstance(recv, _GRAPHLESS):
                return args  # criterion.forward(...), optimizer.param_groups...
            if recv is None and method not in libs.GRAPH_METHODS and not method.endswith("_"):
                own = self.of(func.value)
                if own is not None:  # an object whose graph is known: a library object built without a model
                    return join(own, args)  # (gym.make(...).reset()) or from model outputs (Categorical(p).sample())
                return None  # agent.training_step(batch) on an object we do not know: it may run a model
            return join(self.of(func.value), args)  # loss.mean(), out.view(-1)
        callee = ip.quiet_peek(func)
        if isinstance(callee, V.Module):
            return join(module_tree(callee.info, _via(ip, func)), args)
        if isinstance(callee, V.Instance) and callee.cls.is_module:
            return join(module_tree(ip.module_info(callee.cls)), args)  # self(x) in a LightningModule
        if isinstance(callee, (V.Loss, ClassFacts, V.Instance)):
            return args
        if type(func) is cst.Name and self.ip.lookup(LIBRARY + func.value):
            return args  # an alias of a library name
        if callee is None and type(func) is cst.Name and func.value not in ip.env:
            if func.value in _BUILTINS_CUT:
                return EMPTY
            if func.value in _BUILTINS_JOIN:
                return args
        return None  # calling something we do not know: it may hold a model

    # ---------------------------------------------------------------- expressions
    def of(self, e: Optional[cst.BaseExpression]) -> Optional[frozenset]:  # noqa: C901 - a dispatch table
        if e is None or self.ip.grad_off:
            return EMPTY
        t = type(e)
        if t is cst.Name:
            return self.name(e.value)
        if t is cst.Call:
            return self._call(e)
        if t is cst.Attribute:
            return self._attribute(e)
        if t in (cst.Integer, cst.Float, cst.Imaginary, cst.SimpleString, cst.ConcatenatedString,
                 cst.FormattedString, cst.Ellipsis, cst.Lambda, cst.Comparison):
            return EMPTY
        if t is cst.UnaryOperation:
            return EMPTY if type(e.operator) is cst.Not else self.of(e.expression)
        if t is cst.BinaryOperation:
            return join(self.of(e.left), self.of(e.right))
        if t is cst.BooleanOperation:
            return join(self.of(e.left), self.of(e.right))
        if t in (cst.Tuple, cst.List, cst.Set):
            return join(*(self.of(el.value) for el in e.elements))
        if t is cst.Dict:
            return join(*(self.of(el.value) for el in e.elements))
        if t is cst.Subscript:
            parts = [self.of(e.value)]
            for el in e.slice:
                if type(el.slice) is cst.Index:
                    parts.append(self.of(el.slice.value))
            return join(*parts)
        if t is cst.IfExp:
            return join(self.of(e.body), self.of(e.orelse))
        if t is cst.Await:
            return self.of(e.expression)
        if t is cst.NamedExpr:
            return self.of(e.value)
        if t in (cst.ListComp, cst.GeneratorExp, cst.SetComp, cst.DictComp):
            return self._comprehension(e)
        return None

    def _comprehension(self, e) -> Optional[frozenset]:
        env = self.ip.env
        names, comp = [], e.for_in
        while comp is not None:
            names += bound_names(comp.target)
            comp = comp.inner_for_in
        missing = object()
        saved = {n: env.get(REACH + n, missing) for n in names}
        try:
            comp, parts = e.for_in, []
            while comp is not None:
                it = self.of(comp.iter)
                parts.append(it)
                self.bind(comp.target, it)
                comp = comp.inner_for_in
            if type(e) is cst.DictComp:
                parts += [self.of(e.key), self.of(e.value)]
            else:
                parts.append(self.of(e.elt))
            return join(*parts)
        finally:
            for n, old in saved.items():
                if old is missing:
                    env.pop(REACH + n, None)
                else:
                    env[REACH + n] = old


def _local_class(value: Any) -> Any:
    """The class of this file an instance or a model value belongs to."""
    if isinstance(value, V.Instance):
        return value.cls
    return value.info.cls if isinstance(value, V.Module) else None


def _via(ip: Any, node: cst.BaseExpression) -> Any:
    """(class, attribute) of ``self.actor`` / ``agent.critic`` when the base is a local class."""
    if type(node) is not cst.Attribute:
        return None
    base = ip.quiet_peek(node.value)
    cls = base.cls if isinstance(base, V.Instance) else getattr(getattr(base, "info", None), "cls", None)
    return (cls, node.attr.value) if cls is not None else None

"""One abstract-interpretation pass per function that turns a libcst tree into facts.

It walks statements in order with an environment of abstract values (``values.py``), and records
the events rules care about (``facts.py``) with the loop, branch and grad-mode context they run in.
Function parameters take the values of their call sites in the same file, so ``train(model,
loader, criterion, optimizer)`` called from ``main()`` is read with the real model and loss.
"""
from __future__ import annotations

import re
from typing import Any, Optional

import libcst as cst

from . import facts as F
from . import values as V
from .libs.numpy_sklearn import sklearn_dataset
from .names import ImportTable, dotted

_TOKEN_SPLIT = re.compile(r"[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])")
_OPTIMIZER_NAME = re.compile(r"(?i)(optim|^opt$|^opt[_A-Z0-9]|_opt$|_opt_|^o?pt?imizer)")
_SCHEDULER_NAME = re.compile(r"(?i)(sched|lr_?decay|warmup)")
_SCALER_NAME = re.compile(r"(?i)scaler")
MODEL_WORDS = {"model", "net", "network", "classifier", "encoder", "decoder", "generator",
               "discriminator", "netg", "netd", "backbone", "clf", "mlp", "cnn", "convnet",
               "resnet", "transformer", "gpt", "bert", "autoencoder", "vae", "critic", "actor",
               "policy", "student", "teacher", "regressor", "predictor"}

_BUDGET = 20000  # summary interpretations per file: a guard against pathological recursion


def tokens(text: Optional[str]) -> list[str]:
    if not text:
        return []
    return [t.lower() for t in _TOKEN_SPLIT.split(text) if t]


def last_name(text: Optional[str]) -> str:
    return (text or "").rsplit(".", 1)[-1]


def role_of_name(text: Optional[str]) -> Optional[str]:
    toks = set(tokens(text))
    if toks & V.EVAL_WORDS:
        return "eval"
    if toks & V.TRAIN_WORDS:
        return "train"
    return None


def is_model_name(text: Optional[str]) -> bool:
    toks = tokens(last_name(text))
    return bool(toks) and (toks[-1] in MODEL_WORDS or "".join(toks) in MODEL_WORDS)


def _may_be_module(text: Optional[str]) -> bool:
    """`x.train()` / `x.eval()` with no arguments: an nn.Module unless the name says otherwise."""
    toks = set(tokens(last_name(text)))
    return bool(toks) and not toks & {"trainer", "tokenizer", "env", "environment", "agent", "pipeline", "parser"}


def is_optimizer_name(text: Optional[str]) -> bool:
    return bool(_OPTIMIZER_NAME.search(last_name(text)))


def _literal_int(value: Any) -> Optional[int]:
    if isinstance(value, V.Number) and isinstance(value.value, int) and not isinstance(value.value, bool):
        return value.value
    return None


def _literal_shape(value: Any) -> Optional[tuple]:
    if isinstance(value, V.Seq):
        return tuple(_literal_int(item) for item in value.items)
    n = _literal_int(value)
    return (n,) if n is not None else None


def _is_none(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Name) and node.value == "None"


def _kw(kwargs: dict, args: list, name: str, index: int) -> Any:
    if name in kwargs:
        return kwargs[name]
    return args[index] if len(args) > index else None


class Interpreter:
    def __init__(self, module: cst.Module) -> None:
        self.module = module
        self.imports = ImportTable()
        self.module_facts = F.FunctionFacts("<module>", None)
        self.functions: list[F.FunctionFacts] = []
        self.classes: list[F.ClassFacts] = []
        self.envs: dict[Any, dict] = {}
        self.globals: dict[str, Any] = {}
        self.envs[self.module_facts] = self.globals
        # interpretation state
        self.facts = self.module_facts
        self.env = self.globals
        self.loop: Optional[F.Loop] = None
        self.conditional = False
        self.grad_off = False
        self.recording = True
        self.in_progress: set = set()
        self.budget = _BUDGET
        self._summary_returns: list = []
        self.guards: list = []
        self.uses_torch = False  # tests of the enclosing if statements (for weight-init context)

    # ------------------------------------------------------------------ pass 1: definitions
    def collect(self, body, parent: F.FunctionFacts, cls: Optional[F.ClassFacts]) -> None:
        for stmt in body:
            if isinstance(stmt, cst.SimpleStatementLine):
                for small in stmt.body:
                    if isinstance(small, (cst.Import, cst.ImportFrom)):
                        self.imports.add(small)
            elif isinstance(stmt, cst.FunctionDef):
                facts = F.FunctionFacts(stmt.name.value, stmt, parent=parent, cls=cls)
                facts.decorated_grad_off = any(self._is_grad_off_decorator(d.decorator) for d in stmt.decorators)
                self.functions.append(facts)
                if cls is not None:
                    cls.methods[stmt.name.value] = facts
                elif parent.is_module:
                    self.globals[stmt.name.value] = V.Function(facts)
                self.collect(stmt.body.body if isinstance(stmt.body, cst.IndentedBlock) else (), facts, None)
            elif isinstance(stmt, cst.ClassDef):
                cf = F.ClassFacts(stmt.name.value, stmt, False, bases=tuple(a.value for a in stmt.bases))
                self.classes.append(cf)
                if parent.is_module:
                    self.globals[stmt.name.value] = cf
                if isinstance(stmt.body, cst.IndentedBlock):
                    self.collect(stmt.body.body, parent, cf)
            else:
                for block in _blocks(stmt):
                    self.collect(block, parent, cls)

    def _is_grad_off_decorator(self, node: cst.BaseExpression) -> bool:
        target = node.func if isinstance(node, cst.Call) else node
        qual = self.imports.resolve(target) or ""
        if qual in ("torch.no_grad", "torch.inference_mode", "torch.autograd.no_grad",
                    "torch.autograd.grad_mode.no_grad"):
            return True
        if qual == "torch.set_grad_enabled" and isinstance(node, cst.Call) and node.args:
            return _is_false(node.args[0].value)
        return False

    def _classify_classes(self) -> None:
        by_name = {c.name: c for c in self.classes}
        changed = True
        while changed:
            changed = False
            for c in self.classes:
                if c.is_module:
                    continue
                for base in c.bases:
                    qual = self.imports.resolve(base) or ""
                    local = by_name.get(dotted(base) or "")
                    if qual.endswith(("torch.nn.Module", "LightningModule", "keras.Model", "keras.models.Model",
                                      "keras.layers.Layer", "PreTrainedModel")) \
                            or (local is not None and local.is_module):
                        c.is_module = True
                        if qual.startswith("keras.") or local is not None and local.framework == "keras":
                            c.framework = "keras"
                        changed = True
                        break
        # inherit methods from local bases
        for c in self.classes:
            for base in c.bases:
                local = by_name.get(dotted(base) or "")
                if local is not None and local is not c:
                    for name, m in local.methods.items():
                        c.methods.setdefault(name, m)

    # ------------------------------------------------------------------ driver
    def run(self) -> None:
        self.collect(self.module.body, self.module_facts, None)
        self.uses_torch = self.imports.imports_any("torch")
        self._classify_classes()
        self._interpret(self.module_facts, self.module.body, self.globals)
        pending = list(self.functions)
        while pending:
            chosen = None
            for fn in pending:  # callers first: a function whose call sites are all known
                if fn.call_sites and all(cs.caller.interpreted for cs in fn.call_sites):
                    if fn.cls is not None and fn.name != "__init__" and "__init__" in fn.cls.methods \
                            and not fn.cls.methods["__init__"].interpreted:
                        continue
                    chosen = fn
                    break
            if chosen is None:
                inits = [fn for fn in pending if fn.name == "__init__"]
                chosen = inits[0] if inits else pending[0]
            pending.remove(chosen)
            self._interpret_function(chosen)

    def _interpret_function(self, fn: F.FunctionFacts, args: Optional[list] = None,
                            kwargs: Optional[dict] = None) -> None:
        env: dict = {}
        self._bind_params(fn, env, args, kwargs)
        self.envs[fn] = env
        body = fn.node.body.body if isinstance(fn.node.body, cst.IndentedBlock) else fn.node.body.body
        self._interpret(fn, body, env)

    def _interpret(self, fn: F.FunctionFacts, body, env: dict) -> None:
        saved = (self.facts, self.env, self.loop, self.conditional, self.grad_off)
        self.facts, self.env, self.loop, self.conditional = fn, env, None, False
        self.grad_off = fn.decorated_grad_off
        try:
            self.block(body)
        finally:
            if self.recording:
                fn.interpreted = True
            self.facts, self.env, self.loop, self.conditional, self.grad_off = saved

    def _bind_params(self, fn: F.FunctionFacts, env: dict, args, kwargs) -> None:
        params = fn.params
        offset = 0
        if fn.cls is not None and params and not _is_static(fn.node):
            env[params[0].name.value] = V.Instance(fn.cls)
            offset = 1
        sites = fn.call_sites if args is None else []
        for i, param in enumerate(params[offset:]):
            name = param.name.value
            if args is not None:
                value = kwargs.get(name) if name in (kwargs or {}) else (args[i] if i < len(args) else None)
            elif sites:
                candidates = [cs.kwargs.get(name) if name in cs.kwargs else
                              (cs.args[i] if i < len(cs.args) else _MISSING) for cs in sites]
                candidates = [c for c in candidates if c is not _MISSING]
                value = candidates[0] if candidates and all(V.same_value(c, candidates[0]) for c in candidates) else None
            else:
                value = None
            if value is None and param.default is not None and (args is not None or not sites):
                value = self._quiet_eval(param.default)
            if isinstance(value, V.Loader) and value.role is None:
                value = V.Loader(value.dataset, role_of_name(name), value.node)
            env[name] = value
        for extra in (fn.node.params.star_arg, fn.node.params.star_kwarg):
            if isinstance(extra, cst.Param):
                env[extra.name.value] = None

    def _quiet_eval(self, node: cst.BaseExpression) -> Any:
        saved = self.recording
        self.recording = False
        try:
            return self.ev(node)
        finally:
            self.recording = saved

    # ------------------------------------------------------------------ events
    def emit(self, kind: str, node: cst.CSTNode, **data: Any) -> None:
        if self.recording:
            self.emit_existing(F.Event(kind, node, self.facts, self.loop, self.conditional, self.grad_off, data))

    # ------------------------------------------------------------------ statements
    def block(self, body) -> None:
        for stmt in body:
            self.stmt(stmt)

    def _sub(self, block, conditional: bool = True) -> None:
        if block is None:
            return
        saved = self.conditional
        self.conditional = self.conditional or conditional
        try:
            if isinstance(block, (cst.IndentedBlock, cst.SimpleStatementSuite)):
                self.block(block.body)
            elif isinstance(block, (cst.Else, cst.Finally)):
                self.block(block.body.body)
            elif isinstance(block, cst.If):
                self.stmt(block)
        finally:
            self.conditional = saved

    def stmt(self, stmt: cst.CSTNode) -> None:
        t = type(stmt)
        if t is cst.SimpleStatementLine or t is cst.SimpleStatementSuite:
            for small in stmt.body:
                self.small(small)
        elif t is cst.If:
            self.ev(stmt.test)
            self.guards.append(stmt.test)
            try:
                self._sub(stmt.body)
            finally:
                self.guards.pop()
            self._sub(stmt.orelse)
        elif t is cst.For:
            iter_value = self.ev(stmt.iter)
            self._loop(stmt, iter_value, _iter_text(stmt.iter), stmt.target)
            self._sub(stmt.orelse)
        elif t is cst.While:
            self.ev(stmt.test)
            self._loop(stmt, None, None, None)
            self._sub(stmt.orelse)
        elif t is cst.With:
            self._with(stmt)
        elif t is cst.Try or t is getattr(cst, "TryStar", None):
            self._sub(stmt.body, conditional=False)
            for handler in stmt.handlers:
                self._sub(handler.body)
            self._sub(stmt.orelse)
            self._sub(stmt.finalbody, conditional=False)
        elif t is cst.FunctionDef:
            for facts in self.functions:
                if facts.node is stmt:
                    self.env[stmt.name.value] = V.Function(facts)
                    break
        elif t is cst.ClassDef:
            pass
        elif t is getattr(cst, "Match", None):
            self.ev(stmt.subject)
            for case in stmt.cases:
                self._sub(case.body)
        else:
            for block in _blocks(stmt):
                self.block(block)

    def _loop(self, node, iter_value, iter_text, target) -> None:
        loop = F.Loop(node, self.facts, self.loop, iter_value, iter_text)
        if self.recording:
            self.facts.loops.append(loop)
        saved = (self.loop, self.conditional)
        self.loop, self.conditional = loop, False
        try:
            if target is not None:
                self.bind(target, self._element(iter_value))
            self._sub(node.body, conditional=False)
        finally:
            self.loop, self.conditional = saved

    def _with(self, stmt: cst.With) -> None:
        grad_off = self.grad_off
        for item in stmt.items:
            value = self.ev(item.item)
            if isinstance(value, V.GradContext):
                if value.enabled is False:
                    grad_off = True
                elif value.enabled is True:
                    grad_off = False
            elif item.asname is not None:
                self.bind(item.asname.name, value if not isinstance(value, V.GradContext) else None)
        saved = self.grad_off
        self.grad_off = grad_off
        try:
            self._sub(stmt.body, conditional=False)
        finally:
            self.grad_off = saved

    def small(self, node: cst.CSTNode) -> None:
        t = type(node)
        if t is cst.Assign:
            value = self.ev(node.value)
            if isinstance(value, V.Tensor) and value.loss_graph and len(node.targets) == 1 \
                    and isinstance(node.targets[0].target, cst.Name) and isinstance(node.value, cst.BinaryOperation) \
                    and isinstance(node.value.operator, cst.Add) and isinstance(node.value.left, cst.Name) \
                    and node.value.left.value == node.targets[0].target.value:  # total = total + loss
                self.emit(F.ACCUMULATE, node, target=node.value.left.value,
                          init_loop=self.facts.binding_loops.get(node.value.left.value))
            for target in node.targets:
                self.assign_target(target.target, value, node.value)
        elif t is cst.Expr:
            value = self.ev(node.value)
            if isinstance(value, V.GradContext) and value.enabled is not None and value.as_statement:
                self.grad_off = not value.enabled
        elif t is cst.AnnAssign:
            if node.value is not None:
                value = self.ev(node.value)
                self.assign_target(node.target, value, node.value)
        elif t is cst.AugAssign:
            value = self.ev(node.value)
            self.ev(node.target)
            if _mentions_grad(node.value):
                self.emit(F.MANUAL_UPDATE, node)
            if isinstance(node.target, cst.Name):
                if isinstance(node.operator, cst.AddAssign) and isinstance(value, V.Tensor) and value.loss_graph:
                    self.emit(F.ACCUMULATE, node, target=node.target.value,
                              init_loop=self.facts.binding_loops.get(node.target.value))
                self.env[node.target.value] = None
        elif t is cst.Return:
            if node.value is not None:
                value = self.ev(node.value)
                if self.recording:
                    self.facts.returns.append(value)
                    self.facts.returned_names.update(_names_in(node.value))
                self._summary_returns.append(value)
        elif t is cst.Import or t is cst.ImportFrom:
            pass
        elif t is cst.Del:
            target = node.target
            if isinstance(target, cst.Attribute) and target.attr.value == "grad":
                self.emit(F.ZERO_GRAD, node)
        elif t is cst.Raise or t is cst.Assert:
            pass

    def assign_target(self, target: cst.BaseExpression, value: Any, value_node: cst.BaseExpression) -> None:
        if isinstance(target, cst.Attribute) and target.attr.value == "grad" and _is_none(value_node):
            self.emit(F.ZERO_GRAD, target)
            return
        self.bind(target, value)

    def bind(self, target: cst.CSTNode, value: Any) -> None:
        if isinstance(target, cst.Name):
            if isinstance(value, V.Loader):
                value = self._bind_loader(value, target.value)
            self.env[target.value] = value
            if self.recording:
                self.facts.binding_loops[target.value] = self.loop
        elif isinstance(target, (cst.Tuple, cst.List)):
            elements = target.elements
            items = value.items if isinstance(value, V.Seq) and len(value.items) == len(elements) else None
            for i, element in enumerate(elements):
                if isinstance(element, cst.StarredElement):
                    self.bind(element.value, None)
                else:
                    self.bind(element.value, items[i] if items is not None else None)
        elif isinstance(target, cst.Attribute):
            base = self.ev(target.value)
            if isinstance(base, V.Instance):
                if isinstance(value, V.Loader):
                    value = self._bind_loader(value, target.attr.value)
                base.cls.attrs[target.attr.value] = value
            elif isinstance(base, V.Module) and target.attr.value in _HEAD_NAMES:
                # model.fc = nn.Linear(512, 2): a replaced head decides what the model outputs
                head = value.info if isinstance(value, V.Module) else None
                base.info.output = head.output if head is not None and not head.passthrough else None
                base.info.units = head.units if head is not None else None
        elif isinstance(target, cst.Subscript):
            self.ev(target)
            for el in target.slice:
                if isinstance(el.slice, cst.Index) and isinstance(el.slice.value, cst.SimpleString) \
                        and el.slice.value.evaluated_value in ("lr", "learning_rate"):
                    self.emit(F.LR_SET, target)

    def _element(self, value: Any) -> Any:
        """What iterating a value yields: a loader's batch, a sequence's items."""
        if isinstance(value, _Enumerate):
            return V.Seq((None, self._element(value.inner)))
        if isinstance(value, V.Loader) and isinstance(value.dataset, V.Instance):
            item = self.summary(value.dataset.cls.methods["__getitem__"], [None], {})
            return item if isinstance(item, (V.Seq, V.Tensor)) else None
        return _element_of(value)

    def _bind_loader(self, loader: V.Loader, name: str) -> V.Loader:
        if loader.role is None:
            loader = V.Loader(loader.dataset, role_of_name(name), loader.node, loader.dataset_role,
                              loader.shuffled)
        if loader.node is not None and isinstance(loader.node, cst.Call):
            self.emit(F.LOADER, loader.node, loader=loader, name=name)
        return loader

    # ------------------------------------------------------------------ expressions
    def lookup(self, name: str) -> Any:
        if name in self.env:
            return self.env[name]
        fn = self.facts.parent
        while fn is not None:
            env = self.envs.get(fn)
            if env is not None and name in env:
                return env[name]
            fn = fn.parent
        return self.globals.get(name)

    def ev(self, e: cst.BaseExpression) -> Any:  # noqa: C901 - a dispatch table
        t = type(e)
        if t is cst.Name:
            return self.lookup(e.value)
        if t is cst.Call:
            return self.call(e)
        if t is cst.Attribute:
            if self.imports.resolve(e) is not None:
                return None
            return self.attr(self.ev(e.value), e.attr.value)
        if t is cst.Integer or t is cst.Float:
            try:
                return V.Number(e.evaluated_value)
            except Exception:  # pragma: no cover - odd literals
                return None
        if t is cst.UnaryOperation:
            value = self.ev(e.expression)
            if isinstance(value, V.Number) and isinstance(e.operator, cst.Minus):
                return V.Number(-value.value)
            return None
        if t is cst.BinaryOperation:
            return self._binop(e, self.ev(e.left), self.ev(e.right))
        if t is cst.Tuple or t is cst.List:
            items = []
            for el in e.elements:
                if isinstance(el, cst.StarredElement):
                    self.ev(el.value)
                    return V.Seq((), t is cst.List) if False else None
                items.append(self.ev(el.value))
            return V.Seq(tuple(items), t is cst.List)
        if t is cst.Subscript:
            base = self.ev(e.value)
            index = None
            for el in e.slice:
                if isinstance(el.slice, cst.Index):
                    index = self.ev(el.slice.value)
                else:
                    for part in (el.slice.lower, el.slice.upper, el.slice.step):
                        if part is not None:
                            self.ev(part)
            if isinstance(base, V.Seq):
                i = _literal_int(index)
                if i is not None and -len(base.items) <= i < len(base.items) and len(e.slice) == 1:
                    return base.items[i]
                return None
            if isinstance(base, V.Tensor):
                if base.padded and _reads_last_step(e.slice, base.batch_first):
                    self.emit(F.LAST_STEP, e, batch_first=base.batch_first)
                slices_only = all(isinstance(el.slice, cst.Slice) for el in e.slice)
                shape = tuple(None for _ in base.shape) if slices_only and base.shape else None
                return base.but(units=None, shape=shape, origin=e, padded=False)
            return None
        if t in (cst.ListComp, cst.GeneratorExp, cst.SetComp, cst.DictComp):
            return self._comprehension(e)
        if t is cst.IfExp:
            self.ev(e.test)
            a, b = self.ev(e.body), self.ev(e.orelse)
            return a if V.same_value(a, b) else None
        if t is cst.Await:
            return self.ev(e.expression)
        if t is cst.NamedExpr:
            value = self.ev(e.value)
            self.bind(e.target, value)
            return value
        if t is cst.Lambda:
            return None
        if t in (cst.SimpleString, cst.ConcatenatedString, cst.Ellipsis):
            return None
        if t is cst.BooleanOperation:
            self.ev(e.left)
            self.ev(e.right)
            return None
        if t is cst.Comparison:
            self.ev(e.left)
            for c in e.comparisons:
                self.ev(c.comparator)
            return None
        if t is cst.Dict:
            for el in e.elements:
                if isinstance(el, cst.DictElement):
                    self.ev(el.key)
                self.ev(el.value)
            return None
        if t is cst.FormattedString:
            for part in e.parts:
                if isinstance(part, cst.FormattedStringExpression):
                    self.ev(part.expression)
            return None
        for child in e.children:
            if isinstance(child, cst.BaseExpression):
                self.ev(child)
        return None

    def _comprehension(self, e) -> Any:
        saved = dict(self.env)
        try:
            comp = e.for_in
            while comp is not None:
                it = self.ev(comp.iter)
                self.bind(comp.target, self._element(it))
                for cond in comp.ifs:
                    self.ev(cond.test)
                comp = comp.inner_for_in
            if isinstance(e, cst.DictComp):
                self.ev(e.key)
                self.ev(e.value)
            else:
                self.ev(e.elt)
        finally:
            self.env.clear()
            self.env.update(saved)
        return None

    def _binop(self, e: cst.BinaryOperation, left: Any, right: Any) -> Any:
        op = type(e.operator)
        if isinstance(left, V.Number) and isinstance(right, V.Number):
            try:
                if op is cst.Add:
                    return V.Number(left.value + right.value)
                if op is cst.Subtract:
                    return V.Number(left.value - right.value)
                if op is cst.Multiply:
                    return V.Number(left.value * right.value)
                if op is cst.Divide:
                    return V.Number(left.value / right.value)
                if op is cst.FloorDivide:
                    return V.Number(left.value // right.value)
            except Exception:
                return None
            return None
        if op is cst.MatrixMultiply:
            continuous = any(isinstance(v, V.Tensor) and v.continuous for v in (left, right))
            return V.Tensor(activation=V.LINEAR, origin=e, continuous=continuous or None,
                            value_range=_UNBOUNDED if continuous else None)
        tensor = left if isinstance(left, V.Tensor) else right if isinstance(right, V.Tensor) else None
        if tensor is None:
            return None
        other = right if tensor is left else left
        loss_graph = any(isinstance(v, V.Tensor) and v.loss_graph for v in (left, right))
        rng = _range_op(op, left, right)
        continuous = tensor.continuous
        if isinstance(other, V.Tensor):
            continuous = bool(tensor.continuous or other.continuous) if None not in (
                tensor.continuous, other.continuous) else (tensor.continuous or other.continuous or None)
        elif isinstance(other, V.Number) and isinstance(other.value, float) and op in (
                cst.Multiply, cst.Divide) and tensor.dtype == "int":
            continuous = None
        dtype = "float" if (tensor.dtype == "float" or isinstance(other, V.Number) and isinstance(other.value, float)
                            or op is cst.Divide) else tensor.dtype
        return V.Tensor(dtype=dtype, shape=tensor.shape, value_range=rng, origin=e, loss_graph=loss_graph,
                        continuous=continuous, model=tensor.model if op in (cst.Divide, cst.Multiply) else None)

    def attr(self, base: Any, name: str) -> Any:
        if isinstance(base, V.Instance):
            return base.cls.attrs.get(name)
        if isinstance(base, V.Module):
            if name == "module" or name == "_orig_mod":
                return base
            return None
        if isinstance(base, V.Tensor) and name == "data":
            return base.but(loss_graph=False)
        if isinstance(base, V.Dataset) and base.yields_class_indices:
            if name in ("data", "train_data", "test_data"):  # raw uint8 pixels of torchvision datasets
                return V.Tensor(dtype="int", value_range=(0, 255))
            if name in ("targets", "train_labels", "test_labels", "labels"):
                return V.Tensor(dtype="int", encoding=V.INDICES, continuous=False)
        if isinstance(base, V.Bunch):
            return base.data if name == "data" else base.target if name == "target" else None
        if isinstance(base, V.Namespace):
            return base.defaults.get(name)
        return None

    # ------------------------------------------------------------------ calls
    def call(self, node: cst.Call) -> Any:
        func = node.func
        qual = self.imports.resolve(func) if isinstance(func, (cst.Name, cst.Attribute)) else None
        recv = callee = None
        method = None
        if qual is None:
            if isinstance(func, cst.Attribute):
                method = func.attr.value
                recv = self.ev(func.value)
                if isinstance(recv, V.Instance) and method in recv.cls.attrs:
                    callee, method = recv.cls.attrs[method], None
            elif isinstance(func, cst.Name):
                callee = self.lookup(func.value)
            else:
                callee = self.ev(func)
        args: list = []
        kwargs: dict = {}
        for arg in node.args:
            value = self.ev(arg.value)
            if arg.keyword is not None:
                kwargs[arg.keyword.value] = value
            elif not arg.star:
                args.append(value)
        if qual is not None:
            return self.library_call(qual, node, args, kwargs)
        if method is not None:
            return self.method_call(recv, method, node, args, kwargs)
        return self.call_value(callee, node, args, kwargs, dotted(func))

    def call_value(self, callee: Any, node: cst.Call, args: list, kwargs: dict, text: Optional[str]) -> Any:
        if isinstance(callee, V.Module):
            return self.forward(callee.info, node, text, args)
        if isinstance(callee, V.Instance) and callee.cls.is_module:
            return self.forward(self.module_info(callee.cls), node, text, args)
        if isinstance(callee, V.Loss):
            return self.loss(callee, node, args, kwargs)
        if isinstance(callee, V.Function):
            return self.local_call(callee.facts, node, args, kwargs)
        if isinstance(callee, F.ClassFacts):
            return self.instantiate(callee, node, args, kwargs)
        if callee is None and text is not None and "." not in text and text in _BUILTIN_PASSTHROUGH:
            return args[0] if args else None
        if callee is None and text is not None and self.uses_torch and is_model_name(text):
            self.emit(F.FORWARD, node, module=None, receiver=text)
        if callee is None and text is not None and text == "enumerate" and args:
            return _Enumerate(args[0])
        return None

    def forward(self, info: V.ModuleInfo, node: cst.Call, text: Optional[str], args: tuple = ()) -> Any:
        inp = args[0] if args else None
        if info.framework == "torch" and (self.facts.cls is None or not self.facts.cls.is_module):
            self.emit(F.FORWARD, node, module=info, receiver=text, input=inp)
        if info.name in V.RECURRENT_LAYERS:
            padded = isinstance(inp, V.Tensor) and (inp.padded or inp.pad_input)
            return V.Seq((V.Tensor(padded=padded, batch_first=info.batch_first, origin=node), None))
        if info.passthrough and isinstance(inp, V.Tensor):
            if info.output in (V.SOFTMAX, V.LOG_SOFTMAX) and inp.units == 1:
                self.emit(F.SOFTMAX_CALL, node, single_unit=True, dim_given=True, dim=None, input=inp)
            if info.name in _RESHAPING:
                return inp.but(units=None, shape=None, origin=node)
            return inp.but(activation=info.output or inp.activation, origin=node, encoding=None,
                           value_range=_activation_range(info.output, inp.value_range))
        if info.returns_tuple or info.output is None and info.units is None:
            return V.Tensor(model=info, origin=node) if not info.returns_tuple else None
        return V.Tensor(activation=info.output, units=info.units, model=info, dtype="float", origin=node)

    def loss(self, loss: V.Loss, node: cst.Call, args: list, kwargs: dict) -> Any:
        input_value = _kw(kwargs, args, "input", 0)
        target_value = _kw(kwargs, args, "target", 1)
        arg_nodes = [a.value for a in node.args if a.keyword is None]
        self.emit(F.LOSS, node, loss=loss, input=input_value, target=target_value,
                  input_node=arg_nodes[0] if arg_nodes else None,
                  target_node=arg_nodes[1] if len(arg_nodes) > 1 else None)
        return V.Tensor(dtype="float", shape=(), origin=node, loss_graph=not self.grad_off)

    def local_call(self, fn: F.FunctionFacts, node: cst.Call, args: list, kwargs: dict,
                   bound_self: Any = None) -> Any:
        if self.recording:
            event = F.Event(F.CALL, node, self.facts, self.loop, self.conditional, self.grad_off,
                            {"callee": fn})
            self.emit_existing(event)
            fn.call_sites.append(F.CallSite(node, self.facts, event, args, kwargs))
        return self.summary(fn, args, kwargs)

    def emit_existing(self, event: F.Event) -> None:
        self.facts.events.append(event)
        loop = self.loop
        while loop is not None:
            loop.events.append(event)
            loop = loop.parent

    def summary(self, fn: F.FunctionFacts, args: list, kwargs: dict) -> Any:
        """The value a local function returns for these arguments (events are not recorded)."""
        if fn in self.in_progress or self.budget <= 0 or fn.node is None:
            return None
        self.budget -= 1
        self.in_progress.add(fn)
        saved_recording, saved_returns = self.recording, self._summary_returns
        self.recording, self._summary_returns = False, []
        saved_env = self.envs.get(fn)
        try:
            self._interpret_function(fn, args, kwargs)
            returns = self._summary_returns
        finally:
            self.recording, self._summary_returns = saved_recording, saved_returns
            if saved_env is not None:
                self.envs[fn] = saved_env
            else:
                self.envs.pop(fn, None)
            self.in_progress.discard(fn)
        if not returns:
            return None
        first = returns[0]
        return first if all(V.same_value(r, first) for r in returns) else None

    def instantiate(self, cls: F.ClassFacts, node: cst.Call, args: list, kwargs: dict) -> Any:
        init = cls.methods.get("__init__")
        if init is not None and self.recording:
            event = F.Event(F.CALL, node, self.facts, self.loop, self.conditional, self.grad_off,
                            {"callee": init})
            self.emit_existing(event)
            init.call_sites.append(F.CallSite(node, self.facts, event, args, kwargs))
        if cls.is_module:
            return V.Module(self.module_info(cls, args, kwargs))
        if init is not None:
            self.summary(init, args, kwargs)
        return V.Instance(cls)

    def module_info(self, cls: F.ClassFacts, args: Optional[list] = None, kwargs: Optional[dict] = None) -> V.ModuleInfo:
        if cls.info is not None:
            return cls.info
        info = V.ModuleInfo(cls.name, cls=cls, framework=cls.framework)
        if cls.analyzing:
            return info
        cls.analyzing = True
        try:
            init = cls.methods.get("__init__")
            if init is not None:
                self.summary(init, args or [], kwargs or {})
            fwd = cls.methods.get("forward") or cls.methods.get("call") or cls.methods.get("__call__")
            out = None
            if fwd is not None:
                params = fwd.params
                n = max(len(params) - 1, 0)
                out = self.summary(fwd, [V.Tensor()] * n, {})
            if isinstance(out, V.Tensor):
                info.output, info.units = out.activation, out.units
            elif isinstance(out, V.Seq):
                info.returns_tuple = True
            modules = [v.info for v in cls.attrs.values() if isinstance(v, V.Module)]
            flags = [m.has_dropout_or_bn for m in modules]
            uses_functional_dropout = fwd is not None and _mentions(fwd.node, ("dropout", "batch_norm"))
            if any(flags) or uses_functional_dropout:
                info.has_dropout_or_bn = True
            elif modules and all(f is False for f in flags) and not _has_unknown_children(cls):
                info.has_dropout_or_bn = False
        finally:
            cls.analyzing = False
        cls.info = info
        return info

    def method_call(self, recv: Any, method: str, node: cst.Call, args: list, kwargs: dict) -> Any:  # noqa: C901
        func = node.func
        recv_text = _receiver_text(func.value) if isinstance(func, cst.Attribute) else None
        # methods of classes defined in this file
        cls = recv.cls if isinstance(recv, V.Instance) else getattr(getattr(recv, "info", None), "cls", None)
        if cls is not None and method in cls.methods:
            return self.local_call(cls.methods[method], node, args, kwargs)
        if method == "zero_grad":
            self.emit(F.ZERO_GRAD, node)
            return None
        if method in ("backward", "manual_backward"):
            receiver = recv_text if not node.args or method == "backward" and recv_text and not (
                _SCALER_NAME.search(recv_text) or "accelerator" in recv_text or "engine" in recv_text) \
                else dotted(node.args[0].value)
            self.emit(F.BACKWARD, node, receiver=receiver)
            return None
        if method in ("zero_", "fill_") and recv_text and recv_text.split(".")[-1 if not recv_text.endswith(".data")
                                                                              else -2] == "grad":
            self.emit(F.ZERO_GRAD, node)  # p.grad.zero_(), p.grad.data.zero_()
            return None
        if method in ("fill_", "zero_", "normal_", "uniform_") and _is_weight(recv_text):
            if method in ("fill_", "zero_"):
                self.emit(F.WEIGHT_INIT, node, target=recv_text, guards=tuple(self.guards), keras=False)
            return None
        if method in ("add_", "sub_", "copy_", "addcdiv_", "add", "sub") and any(_mentions_grad(a.value) for a in node.args):
            self.emit(F.MANUAL_UPDATE, node)
        if method == "step":
            return self._step(recv, recv_text, node, args, kwargs)
        if method in ("clip_grad_norm_", "clip_grad_value_"):
            self.emit(F.CLIP, node)
            return None
        if method in ("eval", "train") and (isinstance(recv, V.Module) or recv is None and _may_be_module(recv_text)
                                            or isinstance(recv, V.Instance) and recv.cls.is_module):
            mode = method
            if method == "train" and node.args:
                first = node.args[0].value
                if _is_false(first):
                    mode = "eval"
                elif not (isinstance(first, cst.Name) and first.value == "True"):
                    return recv
            self.emit(F.MODE_EVAL if mode == "eval" else F.MODE_TRAIN, node, receiver=recv_text,
                      module=recv.info if isinstance(recv, V.Module) else None)
            return recv
        if method == "prepare" and args:  # accelerate: returns its arguments, prepared
            return args[0] if len(args) == 1 else V.Seq(tuple(args))
        if method == "scale" and args and (isinstance(recv, V.Scaler) or _SCALER_NAME.search(recv_text or "")):
            return args[0]
        if isinstance(recv, V.Module) and recv.info.framework == "keras":
            return self._keras_method(recv.info, method, node, args, kwargs)
        if isinstance(recv, V.Module):
            if method in ("to", "cuda", "cpu", "float", "double", "half", "bfloat16", "requires_grad_",
                          "to_empty", "share_memory"):
                return recv
            if method == "forward":
                return self.forward(recv.info, node, recv_text, tuple(args))
            return None
        if isinstance(recv, V.Tensor):
            return self._tensor_method(recv, method, node, args)
        if isinstance(recv, V.Seq) and method in ("copy",):
            return recv
        if isinstance(recv, (V.Loss, V.Scaler)) and method in ("to", "cuda", "cpu"):
            return recv
        if isinstance(recv, V.Namespace):
            if method == "add_argument":
                _record_argument(recv, node, kwargs)
                return None
            if method in ("parse_args", "parse_known_args"):
                return recv if method == "parse_args" else V.Seq((recv, None))
        return None
        return None

    def _step(self, recv: Any, recv_text: Optional[str], node: cst.Call, args: list, kwargs: dict) -> Any:
        closure = _kw(kwargs, args, "closure", 0)
        if isinstance(recv, V.Optimizer) or recv is None and is_optimizer_name(recv_text) and len(node.args) <= 1:
            if node.args and not isinstance(closure, V.Function) and not isinstance(node.args[0].value, cst.Lambda) \
                    and (node.args[0].keyword is None or node.args[0].keyword.value != "closure"):
                return None  # e.g. DistributedOptimizer.step(context_id): not a local gradient step
            self.emit(F.STEP, node, closure=closure.facts if isinstance(closure, V.Function) else None,
                      has_closure_arg=bool(node.args), optimizer=recv_text)
        elif isinstance(recv, V.Scheduler) or recv is None and _SCHEDULER_NAME.search(last_name(recv_text)):
            self.emit(F.SCHEDULER_STEP, node)
        elif (isinstance(recv, V.Scaler) or recv is None and _SCALER_NAME.search(last_name(recv_text))) and node.args:
            arg_text = dotted(node.args[0].value)
            self.emit(F.STEP, node, closure=None, has_closure_arg=False, optimizer=arg_text)
        return None

    def _tensor_method(self, t: V.Tensor, method: str, node: cst.Call, args: list) -> Any:
        if method in V.SHAPE_ONLY_METHODS:
            if method in ("to", "type") or method == "to":
                cast = self._dtype_of_args(node)
                if cast is not None:
                    return self._cast(t, cast, node)
            if method in ("detach", "clone", "contiguous", "cuda", "cpu", "to", "requires_grad_", "data"):
                return t.but(origin=node, loss_graph=t.loss_graph and method not in ("detach", "cpu"))
            return t.but(units=None if method not in ("unsqueeze", "unsqueeze_") else t.units, shape=None, origin=node,
                         dim_names=None)
        if method in V.FLOAT_CASTS:
            return self._cast(t, "float", node)
        if method in V.INT_CASTS:
            return self._cast(t, "int", node)
        if method in ("type", "astype"):
            cast = self._dtype_of_args(node)
            return self._cast(t, cast, node) if cast else t.but(origin=node)
        kind = V.ACTIVATION_FUNCTIONS.get(method)
        if kind is not None and method not in ("matmul", "mm", "bmm"):
            if kind in (V.SOFTMAX, V.LOG_SOFTMAX):
                self._softmax_event(node, t, node.args[0].value if node.args else None, bool(node.args))
            return t.but(activation=kind, origin=node, encoding=None, loss_graph=False,
                         value_range=_activation_range(kind, t.value_range))
        if method in ("argmax", "max") and (node.args or method == "argmax"):
            self.emit(F.ARGMAX, node, input=t)
            indices = V.Tensor(dtype="int", encoding=V.INDICES, origin=node)
            return indices if method == "argmax" else V.Seq((t.but(origin=node), indices))
        if method in ("sum", "mean") and t.value_range is not None:
            lo, hi = t.value_range
            unbounded = float("inf")
            rng = (lo, hi) if method == "mean" else ((0.0, unbounded) if lo >= 0 else (-unbounded, unbounded))
            return V.Tensor(dtype="float", continuous=t.continuous, value_range=rng, origin=node)
        if method in ("round", "floor", "ceil", "sign"):
            return t.but(continuous=False, origin=node)
        if method in ("item", "tolist", "numpy"):
            return None
        return None

    def _softmax_event(self, node: cst.Call, t: Any, dim_node: Optional[cst.BaseExpression], dim_given: bool) -> None:
        dim = _literal_int(self._quiet_eval(dim_node)) if dim_node is not None else None
        units = t.units if isinstance(t, V.Tensor) else None
        self.emit(F.SOFTMAX_CALL, node, single_unit=units == 1, dim_given=dim_given, dim=dim, input=t)

    def _dtype_of_args(self, node: cst.Call) -> Optional[str]:
        for arg in node.args:
            qual = self.imports.resolve(arg.value) or ""
            name = qual.rsplit(".", 1)[-1]
            if isinstance(arg.value, cst.SimpleString):
                name = arg.value.evaluated_value
                qual = "torch." + str(name)
            elif isinstance(arg.value, cst.Name) and arg.value.value in ("float", "int"):
                name, qual = arg.value.value, "torch." + arg.value.value
            if qual.startswith(("torch.", "numpy.")) and name in ("float", "float32", "float64", "float16", "bfloat16",
                                                                  "double", "half", "FloatTensor", "DoubleTensor"):
                return "float"
            if qual.startswith(("torch.", "numpy.")) and name in ("long", "int64", "int32", "int", "LongTensor",
                                                                  "IntTensor", "uint8"):
                return "int"
        return None

    @staticmethod
    def _cast(t: V.Tensor, dtype: Optional[str], node: cst.CSTNode) -> V.Tensor:
        return t.but(dtype=dtype, origin=node)

    # ------------------------------------------------------------------ library knowledge
    def library_call(self, qual: str, node: cst.Call, args: list, kwargs: dict) -> Any:  # noqa: C901
        parts = qual.split(".")
        name = parts[-1]
        root = parts[0]
        if root == "torch":
            value = self._torch_call(qual, name, parts, node, args, kwargs)
            if isinstance(value, V.Optimizer):
                self.emit(F.OPTIMIZER_NEW, node, optimizer=value,
                          lr_from_cli=isinstance(_kw(kwargs, args, "lr", 1), V.CliDefault))
            return value
        if root == "numpy":
            return self._numpy_call(qual, name, parts, node, args, kwargs)
        if root == "keras":
            return self._keras_call(qual, name, parts, node, args, kwargs)
        if root == "torchvision":
            if qual in ("torchvision.io.read_image", "torchvision.io.decode_image"):
                return V.Tensor(dtype="int", value_range=(0, 255), origin=node)
            if len(parts) >= 3 and parts[1] == "transforms" and name in ("Normalize", "ToTensor", "ConvertImageDtype"):
                self.emit(F.INPUT_SCALING, node)
                return None
            if len(parts) >= 3 and parts[1] == "datasets":
                return V.Dataset(qual, train=_bool_kw(node, "train"),
                                 yields_class_indices=name in V.CLASSIFICATION_DATASETS)
            if len(parts) == 3 and parts[1] == "models" and name[:1].islower() and name != "get_model":
                units = _literal_int(kwargs.get("num_classes"))
                return V.Module(V.ModuleInfo(name, output=V.LINEAR, units=units, has_dropout_or_bn=True))
            return None
        if root == "transformers":
            owner = parts[-2] if len(parts) >= 2 else ""
            if name == "from_pretrained" and ("Model" in owner or "For" in owner) \
                    or name.startswith("AutoModel") and name != "from_pretrained":
                head = owner if name == "from_pretrained" else name
                return V.Module(V.ModuleInfo(head, has_dropout_or_bn=True, starts_in_training_mode=False,
                                             internal_loss=_transformers_head_loss(head)))
            if name in ("AdamW", "Adafactor"):
                value = V.Optimizer(qual, _number(_kw(kwargs, args, "lr", 1)))
                self.emit(F.OPTIMIZER_NEW, node, optimizer=value)
                return value
            if name.startswith("get_") and "schedule" in name:
                return V.Scheduler(qual)
            return None
        if root in ("tqdm", "copy") or qual in ("tqdm.tqdm", "tqdm.auto.tqdm", "tqdm.notebook.tqdm"):
            return args[0] if args else None
        if qual == "collections.OrderedDict" and args and isinstance(args[0], V.Seq):
            pairs = args[0].items
            if all(isinstance(p, V.Seq) and len(p.items) == 2 for p in pairs):
                return V.Seq(tuple(p.items[1] for p in pairs))
            return None
        if qual == "functools.partial" and node.args:
            inner = self.imports.resolve(node.args[0].value) if isinstance(node.args[0].value, (cst.Name, cst.Attribute)) else None
            if inner and inner.startswith("torch.nn.functional.") and inner.rsplit(".", 1)[-1] in V.LOSS_FAMILY:
                return V.Loss(inner, functional=True)
            return None
        if qual == "argparse.ArgumentParser":
            return V.Namespace()
        if root == "sklearn" and len(parts) == 3 and parts[1] == "datasets":
            return sklearn_dataset(name, node, bool(_bool_kw(node, "return_X_y")))
        if qual.endswith("model_selection.train_test_split") and args:
            return V.Seq(tuple(a for a in args for _ in range(2)))
        if root in ("bitsandbytes", "apex", "timm") and name in V.OPTIMIZERS:
            return V.Optimizer(qual, _number(_kw(kwargs, args, "lr", 1)))
        if qual.endswith("xla_model.optimizer_step"):
            self.emit(F.STEP, node, closure=None, has_closure_arg=False,
                      optimizer=dotted(node.args[0].value) if node.args else None)
        return None

    def _torch_call(self, qual: str, name: str, parts: list, node: cst.Call, args: list, kwargs: dict) -> Any:  # noqa: C901
        sub = parts[1] if len(parts) > 2 else ""
        if qual in ("torch.no_grad", "torch.inference_mode", "torch.autograd.no_grad"):
            if name == "inference_mode" and node.args and _is_false(node.args[0].value):
                return V.GradContext(True)
            return V.GradContext(False)
        if qual in ("torch.enable_grad",):
            return V.GradContext(True)
        if qual in ("torch.set_grad_enabled", "torch.autograd.set_grad_enabled"):
            if node.args:
                first = node.args[0].value
                if _is_false(first):
                    return V.GradContext(False, as_statement=True)
                if isinstance(first, cst.Name) and first.value == "True":
                    return V.GradContext(True, as_statement=True)
            return V.GradContext(None)
        if sub == "nn" and len(parts) == 3:
            return self._nn_constructor(qual, name, node, args, kwargs)
        if qual.startswith("torch.nn.parallel.") or qual.startswith("torch.nn.utils.") and name in ("weight_norm", "spectral_norm"):
            return args[0] if args and isinstance(args[0], V.Module) else None
        if qual.startswith("torch.nn.functional."):
            return self._functional(qual, name, node, args, kwargs)
        if qual.startswith("torch.nn.utils.rnn."):
            return self._rnn_utils(name, node, args, kwargs)
        if qual.startswith("torch.nn.init.") and name in ("zeros_", "ones_", "constant_") and node.args:
            target = dotted(node.args[0].value)
            if _is_weight(target):
                self.emit(F.WEIGHT_INIT, node, target=target, guards=tuple(self.guards), keras=False)
            return None
        if qual.startswith("torch.optim."):
            if "lr_scheduler" in qual:
                return V.Scheduler(qual)
            if name in V.OPTIMIZERS or name[:1].isupper() and name != "Optimizer":
                return V.Optimizer(qual, _number(_kw(kwargs, args, "lr", 1)))
            return None
        if name == "GradScaler":
            return V.Scaler(qual)
        if qual in ("torch.utils.data.TensorDataset", "torch.utils.data.dataset.TensorDataset"):
            items = tuple(a.but(origin=node) if isinstance(a, V.Tensor) else None for a in args)
            return V.Dataset(qual, items=items)
        if qual == "torch.utils.data.DataLoader":
            dataset = _kw(kwargs, args, "dataset", 0)
            dataset_node = _arg_node(node, "dataset", 0)
            dataset_role = role_of_name(dotted(dataset_node)) if dataset_node is not None else None
            if isinstance(dataset, V.Dataset) and dataset.train is not None:
                dataset_role = "train" if dataset.train else "eval"
            keywords = {a.keyword.value: a.value for a in node.args if a.keyword is not None}
            shuffled: Optional[bool] = False
            if "sampler" in keywords or "batch_sampler" in keywords or len(node.args) > 2 and node.args[2].keyword is None:
                shuffled = True
            elif "shuffle" in keywords:
                flag = keywords["shuffle"]
                shuffled = flag.value == "True" if isinstance(flag, cst.Name) and flag.value in ("True", "False") \
                    else None  # shuffle=is_train: decided at run time
            elif isinstance(dataset, V.Instance) and dataset.cls.name and _is_iterable_dataset(dataset.cls):
                shuffled = None
            elif any(a.star for a in node.args) or "iter" in (dotted(dataset_node) or "").lower() \
                    or "stream" in (dotted(dataset_node) or "").lower():
                shuffled = None
            known = isinstance(dataset, V.Dataset) or isinstance(dataset, V.Instance) and "__getitem__" in dataset.cls.methods
            return V.Loader(dataset if known else None, None, node, dataset_role, shuffled)
        if qual in ("torch.nn.utils.clip_grad_norm_", "torch.nn.utils.clip_grad_value_",
                    "torch.nn.utils.clip_grad.clip_grad_norm_"):
            self.emit(F.CLIP, node)
            return None
        if qual in ("torch.autograd.backward", "torch.autograd.grad"):
            self.emit(F.BACKWARD, node, manual=name == "grad")
            return None
        if qual == "torch.compile":
            return args[0] if args else None
        if sub in ("", "special") and name in V.ACTIVATION_FUNCTIONS and len(parts) <= 3:
            return self._activation(name, node, args, kwargs)
        if sub == "" and len(parts) == 2:
            return self._tensor_factory(name, node, args, kwargs)
        return None

    def _nn_constructor(self, qual: str, name: str, node: cst.Call, args: list, kwargs: dict) -> Any:
        if name in V.LOSS_FAMILY or name.endswith("Loss"):
            kw = tuple(sorted((k, v.value if isinstance(v, V.Number) else None) for k, v in kwargs.items()))
            return V.Loss(qual, kw, reduction=_reduction(node))
        if name in V.CONTAINERS:
            self._check_sequence(node, args)
            return V.Module(_sequential(name, args))
        if name in ("DataParallel",):
            return args[0] if args and isinstance(args[0], V.Module) else None
        if name in V.LAYER_KINDS:
            kind = V.LAYER_KINDS[name]
            units = None
            if name in ("Linear", "Bilinear", "Embedding"):
                units = _literal_int(_kw(kwargs, args, "out_features" if name != "Embedding" else "embedding_dim",
                                         1 if name != "Bilinear" else 2))
            elif name == "LazyLinear":
                units = _literal_int(_kw(kwargs, args, "out_features", 0))
            info = V.ModuleInfo(name, output=kind, units=units, has_dropout_or_bn=False)
            if kind in (V.SIGMOID, V.SOFTMAX, V.LOG_SOFTMAX, V.TANH, V.RELU, V.OTHER) and name not in (
                    "Transformer", "TransformerEncoder", "TransformerDecoder"):
                info.passthrough = True  # an activation: keeps the units it is given
            if name in ("Softmax", "LogSoftmax"):
                dim_node = _arg_node(node, "dim", 0)
                self._softmax_event(node, None, dim_node, dim_node is not None)
            if name.startswith("Transformer"):
                info.has_dropout_or_bn = True
            return V.Module(info)
        if name in V.BATCHNORM_LAYERS or name in V.DROPOUT_LAYERS:
            return V.Module(V.ModuleInfo(name, output=None, has_dropout_or_bn=True, passthrough=True))
        if name in V.NORMALIZATION_LAYERS or name in V.PASSTHROUGH_LAYERS:
            info = V.ModuleInfo(name, output=V.LINEAR if name in V.NORMALIZATION_LAYERS else None,
                                has_dropout_or_bn=False, passthrough=name in V.PASSTHROUGH_LAYERS)
            return V.Module(info)
        if name in V.RECURRENT_LAYERS:
            return V.Module(V.ModuleInfo(name, returns_tuple=True, batch_first=_bool_kw(node, "batch_first") or False,
                                         has_dropout_or_bn=_number(kwargs.get("dropout")) not in (None, 0, 0.0)))
        if name == "Module":
            return None
        return None

    def _check_sequence(self, node: cst.Call, args: list) -> None:
        """A softmax layer right after a one-unit layer in Sequential(...) is constantly 1.0."""
        units = None
        for arg, value in zip(node.args, args):
            if not isinstance(value, V.Module) or arg.star:
                return
            info = value.info
            if info.output in (V.SOFTMAX, V.LOG_SOFTMAX) and info.passthrough and units == 1:
                self.emit(F.SOFTMAX_CALL, arg.value, single_unit=True, dim_given=True, dim=None, input=None)
            if not info.passthrough:
                units = info.units

    def _rnn_utils(self, name: str, node: cst.Call, args: list, kwargs: dict) -> Any:
        batch_first = _bool_kw(node, "batch_first") or False
        if name == "pad_packed_sequence":
            return V.Seq((V.Tensor(padded=True, batch_first=batch_first, origin=node), None))
        if name == "pad_sequence":
            return V.Tensor(pad_input=True, batch_first=batch_first, origin=node)
        return None

    def _numpy_call(self, qual: str, name: str, parts: list, node: cst.Call, args: list, kwargs: dict) -> Any:
        sub = parts[1] if len(parts) > 2 else ""
        if sub == "random":
            if name in ("rand", "random", "random_sample", "uniform"):
                lo = _number(_kw(kwargs, args, "low", 0)) if name == "uniform" else 0.0
                hi = _number(_kw(kwargs, args, "high", 1)) if name == "uniform" else 1.0
                rng = (lo, hi) if lo is not None and hi is not None else None
                if name == "uniform" and not node.args and not kwargs:
                    rng = (0.0, 1.0)
                return V.Tensor(dtype="float", value_range=rng, continuous=True, origin=node,
                                dim_names=_dim_names(node))
            if name in ("randn", "normal", "standard_normal"):
                return V.Tensor(dtype="float", value_range=_UNBOUNDED, continuous=True, origin=node)
            if name == "randint":
                low, high = _literal_int(_kw(kwargs, args, "low", 0)), _literal_int(_kw(kwargs, args, "high", 1))
                if "high" not in kwargs and len(args) < 2 or high is None and len(args) >= 2 and not isinstance(args[1], V.Number):
                    low, high = 0, low
                rng = (low, high - 1) if low is not None and high is not None else None
                shape = _literal_shape(args[2]) if len(args) > 2 else _literal_shape(kwargs.get("size"))
                return V.Tensor(dtype="int", encoding=V.INDICES, value_range=rng, continuous=False,
                                shape=shape, origin=node)
            return None
        if name == "where" and len(args) == 3 and all(isinstance(a, V.Number) for a in args[1:]):
            values = [args[1].value, args[2].value]
            is_int = all(isinstance(v, int) for v in values)
            return V.Tensor(dtype="int" if is_int else "float", encoding=V.INDICES if is_int else None,
                            value_range=(min(values), max(values)), continuous=False, origin=node)
        if name in ("array", "asarray"):
            seq = args[0] if args else None
            if isinstance(seq, V.Tensor):
                return seq
            flat = _flatten_numbers(seq) if isinstance(seq, V.Seq) else None
            if flat:
                is_int = all(isinstance(v, int) for v in flat)
                return V.Tensor(dtype="int" if is_int else "float", encoding=V.INDICES if is_int else None,
                                value_range=(min(flat), max(flat)), origin=node,
                                continuous=not all(float(v).is_integer() for v in flat))
            return None
        if name in ("expand_dims", "reshape", "squeeze", "transpose", "ascontiguousarray", "copy") and args \
                and isinstance(args[0], V.Tensor):
            return args[0].but(units=None, shape=None, origin=node)
        if name == "argmax" and (len(args) > 1 or "axis" in kwargs):
            self.emit(F.ARGMAX, node, input=args[0] if args else None)
            return V.Tensor(dtype="int", encoding=V.INDICES, origin=node)
        if name in ("zeros", "ones"):
            value = 0.0 if name == "zeros" else 1.0
            return V.Tensor(dtype="float", value_range=(value, value), origin=node)
        return None

    # ------------------------------------------------------------------ Keras (read, never imported)
    def _keras_call(self, qual: str, name: str, parts: list, node: cst.Call, args: list, kwargs: dict) -> Any:  # noqa: C901
        group = parts[1] if len(parts) > 2 else ""
        if name == "Sequential":
            info = V.ModuleInfo("Sequential", framework="keras", has_dropout_or_bn=False)
            layers = args[0] if args else kwargs.get("layers")
            layer_nodes = _arg_node(node, "layers", 0)
            if isinstance(layers, V.Seq):
                elements = layer_nodes.elements if isinstance(layer_nodes, (cst.List, cst.Tuple)) else ()
                for i, layer in enumerate(layers.items):
                    self._keras_softmax_after_one_unit(info, layer, elements[i].value if i < len(elements) else node)
                    _keras_add(info, layer)
            return V.Module(info)
        if name in ("Model", "Functional") and group in ("", "models"):
            outputs = _kw(kwargs, args, "outputs", 1)
            info = V.ModuleInfo("Model", framework="keras")
            if isinstance(outputs, V.Tensor):
                info.output, info.units = outputs.activation, outputs.units
            return V.Module(info)
        if name == "Input" or name == "InputLayer":
            return V.Tensor(dtype="float", origin=node)
        if group == "layers":
            return self._keras_layer(name, node, args, kwargs)
        if group == "optimizers":
            lr = _number(_kw(kwargs, args, "learning_rate", 0))
            if lr is None:
                lr = _number(kwargs.get("lr"))
            value = V.Optimizer(qual, lr)
            self.emit(F.OPTIMIZER_NEW, node, optimizer=value)
            return value
        if group == "losses":
            return _keras_loss_from_node(qual, node)
        if qual.endswith("utils.to_categorical"):
            classes = _literal_int(_kw(kwargs, args, "num_classes", 1))
            return V.Tensor(dtype="float", encoding=V.ONEHOT, num_classes=classes, continuous=False,
                            value_range=(0, 1), origin=node)
        if group == "datasets" and name == "load_data":
            dataset = parts[2] if len(parts) > 3 else ""
            if dataset in ("mnist", "fashion_mnist", "cifar10", "cifar100"):
                images = V.Tensor(dtype="int", value_range=(0, 255), origin=node)
                labels = V.Tensor(dtype="int", encoding=V.INDICES, continuous=False, origin=node)
                return V.Seq((V.Seq((images, labels)), V.Seq((images, labels))))
        return None

    def _keras_softmax_after_one_unit(self, info: V.ModuleInfo, layer: Any, node: cst.CSTNode) -> None:
        if isinstance(layer, V.Module) and layer.info.passthrough and info.units == 1 \
                and layer.info.output in (V.SOFTMAX, V.LOG_SOFTMAX):
            self.emit(F.SOFTMAX_CALL, node, single_unit=True, dim_given=True, dim=None, input=None)

    def _keras_layer(self, name: str, node: cst.Call, args: list, kwargs: dict) -> Any:
        activation = _keras_activation(self.imports, _arg_node(node, "activation", 1 if name == "Dense" else 99))
        init = _arg_node(node, "kernel_initializer", 99)
        if init is not None and _is_constant_initializer(self.imports, init):
            self.emit(F.WEIGHT_INIT, init, target=f"{name}.kernel", guards=(), keras=True, activation=activation)
        if name in ("Dropout", "SpatialDropout1D", "SpatialDropout2D", "BatchNormalization", "GaussianDropout",
                    "AlphaDropout"):
            return V.Module(V.ModuleInfo(name, framework="keras", passthrough=True, has_dropout_or_bn=True))
        if name in ("Rescaling", "Normalization", "experimental.preprocessing.Rescaling"):
            self.emit(F.INPUT_SCALING, node)
        if name in ("Flatten", "Reshape", "InputLayer", "Permute", "RepeatVector"):
            return V.Module(V.ModuleInfo(name, framework="keras", passthrough=True, has_dropout_or_bn=False))
        if name in ("Activation", "Softmax", "ReLU"):
            kind = {"Softmax": V.SOFTMAX, "ReLU": V.RELU}.get(name) or _keras_activation(
                self.imports, _arg_node(node, "activation", 0)) or V.OTHER
            return V.Module(V.ModuleInfo(name, output=kind, framework="keras", passthrough=True,
                                         has_dropout_or_bn=False))
        units = _literal_int(_kw(kwargs, args, "units", 0)) if name == "Dense" else None
        if name == "Dense" and units == 1 and activation == V.SOFTMAX:
            self.emit(F.SOFTMAX_CALL, node, single_unit=True, dim_given=True, dim=None, input=None)
        if name == "Dense" or name.startswith("Conv"):
            output = activation or V.LINEAR
        else:
            output = activation or V.OTHER
        return V.Module(V.ModuleInfo(name, output=output, units=units, framework="keras", has_dropout_or_bn=False))

    def _keras_method(self, info: V.ModuleInfo, method: str, node: cst.Call, args: list, kwargs: dict) -> Any:
        if method == "add" and args:
            self._keras_softmax_after_one_unit(info, args[0], node)
            _keras_add(info, args[0])
        elif method == "compile":
            loss_node = _arg_node(node, "loss", 1)
            loss = _keras_loss_spec(self.imports, loss_node) if loss_node is not None else None
            info.compiled = (loss, node) if loss is not None else None
            if loss is not None and self.recording:
                out = V.Tensor(activation=info.output, units=info.units, model=info, origin=node)
                event = F.Event(F.LOSS, node, self.facts, self.loop, self.conditional, self.grad_off,
                                {"loss": loss, "input": out, "target": None, "input_node": None,
                                 "target_node": None})
                self.emit_existing(event)
                info.loss_event = event
        elif method in ("fit", "train_on_batch"):
            x, y = _kw(kwargs, args, "x", 0), _kw(kwargs, args, "y", 1)
            if info.loss_event is None and info.compiled is not None and self.recording:
                # compiled inside a helper (read as a summary): the loss is recorded where it was set
                loss, compile_node = info.compiled
                out = V.Tensor(activation=info.output, units=info.units, model=info, origin=node)
                info.loss_event = F.Event(F.LOSS, compile_node, self.facts, self.loop, self.conditional,
                                          self.grad_off, {"loss": loss, "input": out, "target": None,
                                                          "input_node": None, "target_node": None})
                self.emit_existing(info.loss_event)
            event = info.loss_event
            if event is not None and self.recording:
                event.data.update(target=y, data_node=node, fit_input=x)
        elif method in ("predict", "predict_on_batch", "__call__"):
            return V.Tensor(activation=info.output, units=info.units, model=info, origin=node)
        return None

    def _functional(self, qual: str, name: str, node: cst.Call, args: list, kwargs: dict) -> Any:
        if name in V.LOSS_FAMILY or name.endswith("_loss") or name in ("cross_entropy", "binary_cross_entropy",
                                                                        "kl_div", "nll_loss"):
            return self.loss(V.Loss(qual, functional=True, reduction=_reduction(node)), node, args, kwargs)
        if name == "one_hot":
            source = args[0] if args else None
            classes = _literal_int(_kw(kwargs, args, "num_classes", 1))
            shape = source.shape + (classes,) if isinstance(source, V.Tensor) and source.shape else None
            return V.Tensor(dtype="int", encoding=V.ONEHOT, num_classes=classes, shape=shape, origin=node)
        if name in V.ACTIVATION_FUNCTIONS:
            return self._activation(name, node, args, kwargs)
        if name in ("dropout", "dropout2d", "pad", "normalize", "interpolate"):
            return args[0] if args and name == "dropout" else None
        return None

    def _activation(self, name: str, node: cst.Call, args: list, kwargs: dict) -> Any:
        kind = V.ACTIVATION_FUNCTIONS[name]
        source = args[0] if args else None
        if kind in (V.SOFTMAX, V.LOG_SOFTMAX):
            dim_node = _arg_node(node, "dim", 1)
            self._softmax_event(node, source, dim_node, dim_node is not None)
        if kind == V.LINEAR:
            return V.Tensor(activation=V.LINEAR, dtype="float", origin=node)
        if isinstance(source, V.Tensor):
            return source.but(activation=kind, encoding=None, origin=node, loss_graph=False,
                              value_range=_activation_range(kind, source.value_range))
        return V.Tensor(activation=kind, dtype="float", origin=node, value_range=_activation_range(kind, None))

    def _tensor_factory(self, name: str, node: cst.Call, args: list, kwargs: dict) -> Any:
        if name == "randint":
            numbers = [a for a in args if not isinstance(a, V.Seq)]
            size = next((a for a in args if isinstance(a, V.Seq)), kwargs.get("size"))
            bounds = [_literal_int(n) for n in numbers]
            if "low" in kwargs or "high" in kwargs:
                bounds = [_literal_int(kwargs.get("low", V.Number(0))), _literal_int(kwargs.get("high"))]
            elif len(bounds) == 1:
                bounds = [0, bounds[0]]
            rng = (bounds[0], bounds[1] - 1) if len(bounds) >= 2 and None not in bounds[:2] else None
            return V.Tensor(dtype="int", encoding=V.INDICES, shape=_literal_shape(size), value_range=rng,
                            continuous=False, origin=node)
        if name in ("randn", "rand", "zeros", "ones", "empty", "full", "randn_like", "rand_like", "normal"):
            dims = args if name != "full" else args[:1]
            shape = _literal_shape(dims[0]) if len(dims) == 1 and isinstance(dims[0], V.Seq) else \
                tuple(_literal_int(a) for a in dims) if dims else None
            rng = {"rand": (0.0, 1.0), "rand_like": (0.0, 1.0), "randn": _UNBOUNDED, "randn_like": _UNBOUNDED,
                   "normal": _UNBOUNDED, "zeros": (0.0, 0.0), "ones": (1.0, 1.0)}.get(name)
            return V.Tensor(dtype="float", shape=shape, value_range=rng, origin=node,
                            continuous=name in ("rand", "randn", "rand_like", "randn_like", "normal") or None,
                            dim_names=_dim_names(node))
        if name in ("from_numpy", "tensor", "as_tensor", "FloatTensor", "LongTensor", "Tensor") and args \
                and isinstance(args[0], V.Tensor):
            cast = self._dtype_of_args(node) or {"FloatTensor": "float", "LongTensor": "int"}.get(name)
            return args[0].but(dtype=cast or args[0].dtype, origin=node)
        if name in ("stack", "tensor", "as_tensor", "LongTensor", "FloatTensor"):
            seq = args[0] if args else None
            if name in ("stack", "tensor") and node.args:
                self.emit(F.STACK, node, seq=seq, function=name)
            if name == "stack" and isinstance(seq, V.Seq) and seq.items and isinstance(seq.items[0], V.Tensor):
                first = seq.items[0]
                shape = (len(seq.items),) + first.shape if first.shape is not None and all(
                    isinstance(s, V.Tensor) and s.shape == first.shape for s in seq.items) else None
                return V.Tensor(dtype=first.dtype, shape=shape, origin=node)
            if name in ("tensor", "as_tensor", "LongTensor") and isinstance(seq, V.Seq):
                flat = _flatten_numbers(seq)
                if flat is not None and name != "FloatTensor":
                    is_int = all(isinstance(v, int) for v in flat) and "dtype" not in kwargs
                    if is_int or name == "LongTensor":
                        return V.Tensor(dtype="int", encoding=V.INDICES, shape=_nested_shape(seq),
                                        value_range=(min(flat), max(flat)) if flat else None, origin=node,
                                        continuous=False)
                    return V.Tensor(dtype="float", shape=_nested_shape(seq), origin=node,
                                    value_range=(min(flat), max(flat)) if flat else None,
                                    continuous=not all(float(v).is_integer() for v in flat))
            return None
        if name in ("argmax", "max") and len(node.args) + len(kwargs) >= 2:
            self.emit(F.ARGMAX, node, input=args[0] if args else None)
            indices = V.Tensor(dtype="int", encoding=V.INDICES, origin=node)
            return indices if name == "argmax" else V.Seq((args[0] if args else None, indices))
        if name in ("squeeze", "unsqueeze", "flatten", "reshape"):
            source = args[0] if args else None
            return source.but(shape=None, units=None, origin=node) if isinstance(source, V.Tensor) else None
        return None


# ---------------------------------------------------------------------------------------------
_MISSING = object()
_UNBOUNDED = (float("-inf"), float("inf"))
_BUILTIN_PASSTHROUGH = {"iter", "list", "tuple", "sorted", "reversed"}


class _Enumerate(V.Seq):
    def __init__(self, inner: Any) -> None:
        object.__setattr__(self, "items", ())
        object.__setattr__(self, "is_list", False)
        object.__setattr__(self, "inner", inner)


def _element_of(value: Any) -> Any:
    if isinstance(value, _Enumerate):
        return V.Seq((None, _element_of(value.inner)))
    if isinstance(value, V.Loader):
        ds = value.dataset
        if not isinstance(ds, V.Dataset):
            return None
        if ds.items is not None:
            return V.Seq(ds.items) if len(ds.items) != 1 else ds.items[0]
        if ds.yields_class_indices:
            return V.Seq((V.Tensor(dtype="float", origin=value.node),
                          V.Tensor(dtype="int", encoding=V.INDICES, origin=value.node)))
        return None
    if isinstance(value, V.Seq) and value.items:
        first = value.items[0]
        return first if all(V.same_value(i, first) for i in value.items) else None
    return None


_RESHAPING = {"Flatten", "Unflatten", "Reshape", "Permute", "RepeatVector"}
_HEAD_NAMES = {"fc", "classifier", "head", "heads", "last_linear", "output", "out"}
_CHAIN_METHODS = {"to", "cpu", "cuda", "float", "double", "half", "train", "eval", "module", "requires_grad_"}


def _receiver_text(node: cst.BaseExpression) -> Optional[str]:
    """`model` for `model.to(device).train()`: the object a method chain starts from."""
    while isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value in _CHAIN_METHODS:
        node = node.func.value
    return dotted(node)


def _iter_text(node: cst.BaseExpression) -> Optional[str]:
    while isinstance(node, cst.Call) and node.args:
        node = node.args[0].value
    if isinstance(node, cst.Subscript):
        for el in node.slice:
            if isinstance(el.slice, cst.Index) and isinstance(el.slice.value, cst.SimpleString):
                return el.slice.value.evaluated_value
        node = node.value
    return dotted(node)


def _blocks(stmt: cst.CSTNode) -> list:
    out = []
    for attr in ("body", "orelse", "finalbody"):
        block = getattr(stmt, attr, None)
        if isinstance(block, (cst.IndentedBlock, cst.SimpleStatementSuite)):
            out.append(block.body)
        elif isinstance(block, (cst.Else, cst.Finally)):
            out.append(block.body.body)
        elif isinstance(block, cst.If):
            out.append([block])
    for handler in getattr(stmt, "handlers", ()) or ():
        out.append(handler.body.body)
    for case in getattr(stmt, "cases", ()) or ():
        out.append(case.body.body)
    return out


def _is_false(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Name) and node.value == "False" or \
        isinstance(node, cst.Integer) and node.value == "0"


def _is_static(node: cst.FunctionDef) -> bool:
    return any(dotted(d.decorator) == "staticmethod" for d in node.decorators)


def _transformers_head_loss(head: str) -> Optional[str]:
    """The loss a transformers task head computes from ``labels``: cross-entropy for every classification,
    token, language-modeling and seq2seq head (a model class ``...For<Task>``); None for bare encoders."""
    return "ce" if "For" in head and "Regression" not in head else None


def _reduction(node: cst.Call) -> Optional[str]:
    """The literal ``reduction=`` of a loss call (legacy ``size_average=False`` means "sum")."""
    for arg in node.args:
        name = arg.keyword.value if arg.keyword is not None else None
        if name == "reduction" and isinstance(arg.value, cst.SimpleString):
            return arg.value.evaluated_value
        if name == "size_average" and isinstance(arg.value, cst.Name) and arg.value.value == "False":
            return "sum"
    return None


def _bool_kw(node: cst.Call, name: str) -> Optional[bool]:
    for arg in node.args:
        if arg.keyword is not None and arg.keyword.value == name and isinstance(arg.value, cst.Name):
            if arg.value.value in ("True", "False"):
                return arg.value.value == "True"
    return None


def _number(value: Any) -> Optional[float]:
    return value.value if isinstance(value, V.Number) else None


def _mentions(node: cst.CSTNode, words: tuple) -> bool:
    code = cst.Module(body=[]).code_for_node(node)
    return any(w in code for w in words)


def _has_unknown_children(cls: F.ClassFacts) -> bool:
    """Attributes assigned from calls we could not read (submodules from elsewhere)."""
    for value in cls.attrs.values():
        if value is None:
            return True
    return False


def _sequential(name: str, args: list) -> V.ModuleInfo:
    items = list(args)
    if len(items) == 1 and isinstance(items[0], V.Seq):  # Sequential(*layers) / ModuleList([...])
        items = list(items[0].items)
    modules = [v.info for v in items if isinstance(v, V.Module)]
    info = V.ModuleInfo(name)
    flags = [m.has_dropout_or_bn for m in modules]
    if any(flags):
        info.has_dropout_or_bn = True
    elif items and len(modules) == len(items) and all(f is False for f in flags):
        info.has_dropout_or_bn = False
    if name != "Sequential" or not items or len(modules) != len(items):
        return info
    units = None
    output = None
    for m in modules:
        if m.returns_tuple:
            return info
        if m.passthrough:
            output = m.output or output
            continue
        output, units = m.output, m.units
    info.output, info.units = output, units
    return info


def _flatten_numbers(seq: V.Seq) -> Optional[list]:
    out: list = []
    for item in seq.items:
        if isinstance(item, V.Number):
            out.append(item.value)
        elif isinstance(item, V.Seq):
            inner = _flatten_numbers(item)
            if inner is None:
                return None
            out.extend(inner)
        else:
            return None
    return out


def _nested_shape(seq: V.Seq) -> Optional[tuple]:
    if not seq.items:
        return (0,)
    if all(isinstance(i, V.Number) for i in seq.items):
        return (len(seq.items),)
    if all(isinstance(i, V.Seq) for i in seq.items):
        shapes = {_nested_shape(i) for i in seq.items}
        if len(shapes) == 1:
            inner = shapes.pop()
            return (len(seq.items),) + inner if inner is not None else None
    return None


def _activation_range(kind: Optional[str], before: Optional[tuple]) -> Optional[tuple]:
    if kind in (V.SIGMOID, V.SOFTMAX):
        return (0.0, 1.0)
    if kind == V.TANH:
        return (-1.0, 1.0)
    if kind == V.LOG_SOFTMAX:
        return (float("-inf"), 0.0)
    if kind == V.RELU:
        return (0.0, before[1]) if before is not None else (0.0, float("inf"))
    return before if kind is None else None


def _range_op(op: type, left: Any, right: Any) -> Optional[tuple]:
    """Interval arithmetic on inclusive (low, high) ranges of tensors and numbers."""
    def interval(v: Any) -> Optional[tuple]:
        if isinstance(v, V.Number) and isinstance(v.value, (int, float)):
            return (v.value, v.value)
        if isinstance(v, V.Tensor):
            return v.value_range
        return None

    a, b = interval(left), interval(right)
    if a is None or b is None:
        return None
    try:
        if op is cst.Add:
            return (a[0] + b[0], a[1] + b[1])
        if op is cst.Subtract:
            return (a[0] - b[1], a[1] - b[0])
        if op is cst.Multiply:
            products = [x * y for x in a for y in b if not (x == 0 and abs(y) == float("inf") or y == 0 and abs(x) == float("inf"))]
            return (min(products), max(products)) if products else None
        if op is cst.Divide and b[0] == b[1] and b[0]:
            quotients = [a[0] / b[0], a[1] / b[0]]
            return (min(quotients), max(quotients))
    except (TypeError, ValueError, OverflowError):
        return None
    return None


def _mentions_grad(node: cst.CSTNode) -> bool:
    """Does an expression read some ``.grad`` (a manual parameter update)?"""
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, cst.Attribute):
            if current.attr.value == "grad":
                return True
            stack.append(current.value)
        elif isinstance(current, cst.BinaryOperation):
            stack.extend((current.left, current.right))
        elif isinstance(current, cst.UnaryOperation):
            stack.append(current.expression)
        elif isinstance(current, cst.Call):
            stack.append(current.func)
            stack.extend(a.value for a in current.args)
    return False


def _names_in(node: cst.BaseExpression) -> set:
    if isinstance(node, cst.Name):
        return {node.value}
    if isinstance(node, (cst.Tuple, cst.List)):
        return {el.value.value for el in node.elements if isinstance(el.value, cst.Name)}
    return set()


def _reads_last_step(elements, batch_first: Optional[bool]) -> bool:
    """``out[:, -1]`` (batch first) or ``out[-1]`` (time first)."""
    def is_minus_one(el) -> bool:
        return isinstance(el.slice, cst.Index) and isinstance(el.slice.value, cst.UnaryOperation) and \
            isinstance(el.slice.value.operator, cst.Minus) and isinstance(el.slice.value.expression, cst.Integer) \
            and el.slice.value.expression.value == "1"

    def is_full(el) -> bool:
        return isinstance(el.slice, cst.Slice) and el.slice.lower is None and el.slice.upper is None

    if batch_first:
        return len(elements) >= 2 and is_full(elements[0]) and is_minus_one(elements[1])
    return len(elements) >= 1 and is_minus_one(elements[0])


def _arg_node(node: cst.Call, keyword: str, index: int) -> Optional[cst.BaseExpression]:
    positional = 0
    for arg in node.args:
        if arg.keyword is not None:
            if arg.keyword.value == keyword:
                return arg.value
        elif not arg.star:
            if positional == index:
                return arg.value
            positional += 1
    return None


def _is_iterable_dataset(cls: F.ClassFacts) -> bool:
    return any((dotted(b) or "").endswith("IterableDataset") for b in cls.bases)


def _is_weight(text: Optional[str]) -> bool:
    if not text:
        return False
    parts = text.split(".")
    if parts[-1] == "data":
        parts = parts[:-1]
    return bool(parts) and parts[-1] == "weight"


def _dim_names(node: cst.Call) -> Optional[tuple]:
    names = tuple(dotted(a.value) for a in node.args if a.keyword is None and not a.star)
    return names if names and all(names) else None


def _keras_add(info: V.ModuleInfo, layer: Any) -> None:
    if not isinstance(layer, V.Module):
        info.output = info.units = None
        info.has_dropout_or_bn = None if info.has_dropout_or_bn is False else info.has_dropout_or_bn
        return
    layer_info = layer.info
    if layer_info.has_dropout_or_bn:
        info.has_dropout_or_bn = True
    if layer_info.passthrough:
        info.output = layer_info.output or info.output
        if layer_info.name in _RESHAPING:
            info.units = None
    else:
        info.output, info.units = layer_info.output, layer_info.units


def _keras_activation(imports: ImportTable, node: Optional[cst.BaseExpression]) -> Optional[str]:
    if node is None:
        return None
    if isinstance(node, cst.SimpleString):
        return V.KERAS_ACTIVATIONS.get(str(node.evaluated_value).lower(), V.OTHER)
    if isinstance(node, cst.Name) and node.value == "None":
        return V.LINEAR
    qual = imports.resolve(node) if isinstance(node, (cst.Name, cst.Attribute)) else None
    if qual:
        return V.KERAS_ACTIVATIONS.get(qual.rsplit(".", 1)[-1].lower(), V.OTHER)
    return V.OTHER


def _is_constant_initializer(imports: ImportTable, node: cst.BaseExpression) -> bool:
    if isinstance(node, cst.SimpleString):
        return str(node.evaluated_value).lower() in ("zeros", "ones", "constant", "zero")
    target = node.func if isinstance(node, cst.Call) else node
    qual = imports.resolve(target) if isinstance(target, (cst.Name, cst.Attribute)) else None
    return bool(qual) and qual.rsplit(".", 1)[-1] in ("Zeros", "Ones", "Constant", "zeros", "ones", "constant")


def _keras_loss_from_node(qual: str, node: cst.Call) -> V.Loss:
    from_logits = _bool_kw(node, "from_logits") or False
    name = qual.rsplit(".", 1)[-1]
    return V.Loss(qual, keras_sparse="sparse" in name.lower(), from_logits=from_logits)


def _keras_loss_spec(imports: ImportTable, node: cst.BaseExpression) -> Optional[V.Loss]:
    """A Keras loss as written in compile(loss=...): a string, a function or a loss object."""
    if isinstance(node, cst.SimpleString):
        name = str(node.evaluated_value)
        return V.Loss(f"keras.losses.{name}", keras_sparse="sparse" in name.lower())
    if isinstance(node, cst.Call):
        qual = imports.resolve(node.func) if isinstance(node.func, (cst.Name, cst.Attribute)) else None
        if qual and qual.startswith("keras."):
            return _keras_loss_from_node(qual, node)
        return None
    qual = imports.resolve(node) if isinstance(node, (cst.Name, cst.Attribute)) else None
    if qual and qual.startswith("keras."):
        return V.Loss(qual, keras_sparse="sparse" in qual.rsplit(".", 1)[-1].lower())
    return None


def _record_argument(parser: V.Namespace, node: cst.Call, kwargs: dict) -> None:
    """parser.add_argument("--lr", type=float, default=0.5): remember args.lr = 0.5."""
    dest = None
    for arg in node.args:
        if arg.keyword is None and isinstance(arg.value, cst.SimpleString):
            flag = str(arg.value.evaluated_value)
            if flag.startswith("--") or dest is None:
                dest = flag.lstrip("-").replace("-", "_")
    if isinstance(kwargs.get("dest"), V.Number):
        return
    for arg in node.args:
        if arg.keyword is not None and arg.keyword.value == "dest" and isinstance(arg.value, cst.SimpleString):
            dest = str(arg.value.evaluated_value)
    if dest:
        default = kwargs.get("default")
        parser.defaults[dest] = V.CliDefault(default.value) if isinstance(default, V.Number) else default

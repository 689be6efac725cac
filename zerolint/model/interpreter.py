"""One abstract-interpretation pass per function that turns a libcst tree into facts.

It walks statements in order with an environment of abstract values (``values.py``), and records
the events rules care about (``facts.py``) with the loop, branch and grad-mode context they run in.
Function parameters take the values of their call sites in the same file, so ``train(model,
loader, criterion, optimizer)`` called from ``main()`` is read with the real model and loss.
"""
from __future__ import annotations

from typing import Any, Optional

import libcst as cst

from . import facts as F
from . import values as V
from . import libs
from . import reach as reach_of
from .names import ImportTable, bound_names, dotted, literal
from .reach import REACH, Reach
from .naming import is_model_name, item_kind, role_of_name, tokens  # noqa: F401 - re-exported
from .util import UNBOUNDED as _UNBOUNDED
from .walk import descendants
from .util import is_none as _is_none
from .util import literal_int as _literal_int

_BUDGET = 20000  # summary interpretations per file: a guard against pathological recursion


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
        self._summary_reach: list = []  # the reach (reach.py) of each value returned, as _summary_returns
        self._pending_reach: Optional[tuple] = None  # (positional, keyword) reaches of the arguments of a local call
        self.reach = Reach(self)  # which modules' parameters each value's graph reaches
        self.last_reach: Optional[frozenset] = None  # the reach of what the last summary returned
        self.last_items: Optional[tuple] = None  # ... per element, when it returns tuples of one length
        self._summary_items: list = []
        self.guards: list = []  # tests of the enclosing if statements (for weight-init context)
        self._instances: dict = {}  # (class id, field) -> the value the first instance got
        self.guards_models = False  # the file imports a package where `model(x)` on an unknown name is a forward
        self._module_aliases: list = []  # (name, attribute chain) of module-level `name = pkg.module` (pass 1)

    # ------------------------------------------------------------------ pass 1: definitions
    def collect(self, body, parent: F.FunctionFacts, cls: Optional[F.ClassFacts]) -> None:
        for stmt in body:
            if isinstance(stmt, cst.SimpleStatementLine):
                for small in stmt.body:
                    if isinstance(small, (cst.Import, cst.ImportFrom)):
                        self.imports.add(small)
                    elif parent.is_module and cls is None and isinstance(small, cst.Assign) \
                            and len(small.targets) == 1 and isinstance(small.targets[0].target, cst.Name) \
                            and isinstance(small.value, cst.Attribute) and self.imports.resolve(small.value):
                        self._module_aliases.append((small.targets[0].target.value, small.value))
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

    def _alias_modules(self) -> None:
        """``data = pkg.datasets.mnist`` / ``F = pkg.nn.functional`` at module level: the name stands for that module
        (or function) as an import alias would, when nothing else in the file binds it."""
        if not self._module_aliases:
            return
        bound: dict = {}
        for node in descendants(self.module):
            names = ()
            if isinstance(node, (cst.AssignTarget, cst.AnnAssign, cst.AugAssign, cst.For, cst.CompFor)):
                names = bound_names(node.target)
            elif isinstance(node, (cst.AsName, cst.Param)):
                names = bound_names(node.name)
            elif isinstance(node, (cst.FunctionDef, cst.ClassDef)):
                names = (node.name.value,)
            for name in names:
                bound[name] = bound.get(name, 0) + 1
        for name, value in self._module_aliases:
            if bound.get(name) == 1 and name not in self.imports.aliases:
                self.imports.aliases[name] = self.imports.resolve(value)

    def _is_grad_off_decorator(self, node: cst.BaseExpression) -> bool:
        target = node.func if isinstance(node, cst.Call) else node
        return libs.grad_off_decorator(self.imports.resolve(target) or "", node)

    def _classify_classes(self) -> None:
        by_name = {c.name: c for c in self.classes}
        changed = True
        while changed:
            changed = False
            for c in self.classes:
                if c.is_module:
                    continue
                for base in c.bases:
                    framework = libs.module_base_framework(self.imports.resolve(base) or "")
                    local = by_name.get(dotted(base) or "")
                    if framework is not None or (local is not None and local.is_module):
                        c.is_module = True
                        for inherited in (framework, local.framework if local is not None else None):
                            if inherited is not None and inherited != c.framework:  # not the default one
                                c.framework = inherited
                                break
                        changed = True
                        break
        # inherit methods from local bases
        for c in self.classes:
            for base in c.bases:
                local = by_name.get(dotted(base) or "")
                if local is not None and local is not c:
                    c.local_bases.append(local)
                    for name, m in local.methods.items():
                        c.methods.setdefault(name, m)
        self._mark_per_batch(by_name)

    def _mark_per_batch(self, by_name: dict) -> None:
        """Mark the methods a framework calls once per batch (``libs.PER_BATCH``), from the library bases of a
        class and of its bases defined in this file."""
        if not libs.PER_BATCH and not libs.BATCH_METHODS:
            return
        for c in self.classes:
            if not c.bases:
                continue
            lineage, todo = [], [c]
            while todo:
                cls = todo.pop()
                if cls in lineage:
                    continue
                lineage.append(cls)
                todo.extend(by_name[n] for n in (dotted(b) or "" for b in cls.bases) if n in by_name)
            quals = [self.imports.resolve(b) or "" for cls in lineage for b in cls.bases]
            for name in libs.batch_methods(quals):
                if name in c.methods:
                    c.methods[name].batch_method = True
            for name, order in libs.per_batch_methods(quals, [cls.node for cls in lineage]).items():
                if name in c.methods:
                    hooks = tuple(c.methods[m] for m in order if m in c.methods)
                    for fn in hooks:  # a step in a hook runs in the same iteration as the method
                        fn.per_batch = hooks

    # ------------------------------------------------------------------ driver
    def run(self) -> None:
        self.collect(self.module.body, self.module_facts, None)
        self._alias_modules()
        self.guards_models = self.imports.imports_any(*libs.FORWARD_BY_NAME)
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
        pending, self._pending_reach = self._pending_reach, None
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
                if param.default is not None and all(c is _MISSING for c in candidates):
                    candidates = [self.quiet_eval(param.default)]  # no call passes it: the default holds
                candidates = [c for c in candidates if c is not _MISSING]
                value = candidates[0] if candidates and all(V.same_value(c, candidates[0]) for c in candidates) else None
            else:
                value = None
            passed = args is not None and (name in (kwargs or {}) or i < len(args))
            if value is None and param.default is not None and (not passed if args is not None else not sites):
                value = self.quiet_eval(param.default)  # an argument passed with an unknown value stays unknown
            if isinstance(value, V.Loader) and value.role is None:
                value = V.Loader(value.dataset, role_of_name(name), value.node, batch=value.batch)
            env[name] = value
            reach = self._param_reach(fn, i, name, args, pending, sites)
            if reach is not _MISSING:
                env[REACH + name] = reach
        for extra in (fn.node.params.star_arg, fn.node.params.star_kwarg):
            if isinstance(extra, cst.Param):
                env[extra.name.value] = None

    def _param_reach(self, fn: F.FunctionFacts, i: int, name: str, args: Optional[list], pending: Optional[tuple], sites: list) -> Any:
        """The reach of a parameter: what the call passes, what every call site here passes (joined), nothing
        for a method of a model class no code here calls (a framework hook gets data); _MISSING: not known."""
        if args is not None:
            if pending is None:
                return _MISSING
            positional, keyword = pending
            if name in keyword:
                return keyword[name]
            return positional[i] if positional is not None and i < len(positional) else reach_of.EMPTY
        if not sites:  # a hook a framework calls with data (training_step of a model class), else unknown
            return reach_of.EMPTY if fn.cls is not None and fn.cls.is_module else _MISSING
        parts = []
        for site in sites:
            if site.arg_reach is None:
                return None
            positional, keyword = site.arg_reach
            parts.append(keyword[name] if name in keyword else
                         positional[i] if positional is not None and i < len(positional) else reach_of.EMPTY)
        return reach_of.join(*parts)

    def quiet_peek(self, node: cst.BaseExpression) -> Any:
        """The value of a name or a dotted attribute, evaluating nothing else (None: not that simple)."""
        t = type(node)
        if t is cst.Name:
            return self.lookup(node.value)
        if t is cst.Attribute and self.imports.resolve(node) is None:
            base = self.quiet_peek(node.value)
            if isinstance(base, V.Instance):
                return base.cls.attrs.get(node.attr.value)
            if isinstance(base, V.Record):
                return base.fields.get(node.attr.value)
            if isinstance(base, V.Module):
                saved = self.recording
                self.recording = False
                try:
                    return self.attr(base, node.attr.value)
                finally:
                    self.recording = saved
        return None

    def quiet_eval(self, node: cst.BaseExpression) -> Any:
        """The value of an expression, recording no event (a default, a softmax's dim)."""
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
            before = dict(self.env) if self.env is not self.globals else None
            self.guards.append(stmt.test)
            try:
                self._sub(stmt.body)
            finally:
                self.guards.pop()
            after_body = dict(self.env) if before is not None else None
            self._sub(stmt.orelse)
            if before is not None:
                self._merge_sizes(before, after_body, stmt.orelse is not None)
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
            self._class_body(stmt)
            for cls in self.classes:  # a class defined again (a notebook's next cell) rebinds its name here
                if cls.node is stmt:
                    self.env[stmt.name.value] = cls
                    break
        elif t is getattr(cst, "Match", None):
            self.ev(stmt.subject)
            for case in stmt.cases:
                self._sub(case.body)
        else:
            for block in _blocks(stmt):
                self.block(block)

    def _class_body(self, node: cst.ClassDef) -> None:
        """Class attributes and dataclass-style field defaults (`lr: float = 0.1`) become `self.<name>`."""
        cls = next((c for c in self.classes if c.node is node), None)
        if cls is None or not isinstance(node.body, cst.IndentedBlock):
            return
        for stmt in node.body.body:
            if not isinstance(stmt, cst.SimpleStatementLine):
                continue
            for small in stmt.body:
                if isinstance(small, cst.AnnAssign) and isinstance(small.target, cst.Name) and small.value is not None:
                    names, value_node = [small.target.value], small.value
                elif isinstance(small, cst.Assign) and all(isinstance(t.target, cst.Name) for t in small.targets):
                    names, value_node = [t.target.value for t in small.targets], small.value
                else:
                    continue
                value = self.quiet_eval(value_node)
                for name in names:
                    if value is not None:
                        cls.attrs[name] = value
                    else:
                        cls.attrs.pop(name, None)

    def _record_fields(self, cls: F.ClassFacts) -> Optional[list]:
        """The constructor's fields of a dataclass-like class (annotated names, in order), else None."""
        node = cls.node
        marks = [d.decorator.func if isinstance(d.decorator, cst.Call) else d.decorator for d in node.decorators]
        marks += [a.value for a in node.bases]
        if not any(self.imports.resolve(m) in libs.RECORD_CLASSES for m in marks
                   if isinstance(m, (cst.Name, cst.Attribute))):
            return None
        fields = []
        if isinstance(node.body, cst.IndentedBlock):
            for stmt in node.body.body:
                if isinstance(stmt, cst.SimpleStatementLine):
                    for small in stmt.body:
                        if isinstance(small, cst.AnnAssign) and isinstance(small.target, cst.Name):
                            fields.append(small.target.value)
        return fields
    def _merge_sizes(self, before: dict, after_body: dict, has_else: bool) -> None:
        """After ``if``/``else``: a size that depends on the item on one path but not on the other (pad
        the short ones, cut the long ones) is not known to vary."""
        for name, value in list(self.env.items()):
            if name[:1] == "\x00":
                continue  # the reach of a name (reach.py), not a value
            body = after_body.get(name)
            other = value if has_else and value is not body else before.get(name)
            if (V.varies(body) is None) != (V.varies(other) is None):
                self.env[name] = None

    def _loop(self, node, iter_value, iter_text, target) -> None:
        loop = F.Loop(node, self.facts, self.loop, iter_value, iter_text)
        if self.recording:
            self.facts.loops.append(loop)
        saved = (self.loop, self.conditional)
        self.loop, self.conditional = loop, False
        try:
            if target is not None:
                self.bind(target, self._element(iter_value, getattr(node, "iter", None)))
                self.reach.bind(target, self.reach.iterated(node.iter))
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
            reach = self.reach.of(node.value)
            for target in node.targets:
                self.assign_target(target.target, value, node.value)
                self.reach.bind(target.target, reach, node.value)
        elif t is cst.Expr:
            value = self.ev(node.value)
            if isinstance(value, V.GradContext) and value.enabled is not None and value.as_statement:
                self.grad_off = not value.enabled
        elif t is cst.AnnAssign:
            if node.value is not None:
                value = self.ev(node.value)
                reach = self.reach.of(node.value)
                self.assign_target(node.target, value, node.value)
                self.reach.bind(node.target, reach, node.value)
        elif t is cst.AugAssign:
            value = self.ev(node.value)
            self.ev(node.target)
            self.reach.bind(node.target, reach_of.join(self.reach.of(node.target), self.reach.of(node.value)))
            if libs.is_manual_update(node.value):
                self.emit(F.MANUAL_UPDATE, node)
            if isinstance(node.target, cst.Name):
                if isinstance(node.operator, cst.AddAssign) and isinstance(value, V.Tensor) and value.loss_graph:
                    self.emit(F.ACCUMULATE, node, target=node.target.value,
                              init_loop=self.facts.binding_loops.get(node.target.value))
                self.env[node.target.value] = None
                if isinstance(node.operator, cst.AddAssign) and isinstance(value, V.Seq) and value.is_list \
                        and value.items:  # `layers += [nn.Linear(a, b), nn.ReLU()]`
                    self.env[_last_item(node.target.value)] = value.items[-1]
            elif isinstance(node.target, cst.Attribute) and isinstance(node.operator, cst.AddAssign) \
                    and isinstance(value, V.Tensor) and value.loss_graph \
                    and (dotted(node.target) or "").startswith("self."):
                # `self.running_loss += loss`: object state, which outlives the call
                self.emit(F.ACCUMULATE, node, target=dotted(node.target), attribute=True)
        elif t is cst.Return:
            if node.value is not None:
                value = self.ev(node.value)
                if isinstance(value, V.Loader) and value.role is None and self.facts.node is not None:
                    value = self._bind_loader(value, self.facts.name)  # def val_dataloader(self): return ...
                if self.recording:
                    self.facts.returns.append(value)
                    self.facts.returned_names.update(_names_in(node.value))
                self._summary_returns.append(value)
                self._summary_reach.append(self.reach.of(node.value))
                self._summary_items.append(tuple(self.reach.of(el.value) for el in node.value.elements)
                                           if isinstance(node.value, cst.Tuple) else None)
        elif t is cst.Import or t is cst.ImportFrom:
            pass
        elif t is cst.Del:
            target = node.target
            if isinstance(target, cst.Attribute) and target.attr.value in libs.CLEARED_ATTRIBUTES:
                self.emit(libs.CLEARED_ATTRIBUTES[target.attr.value], node)
        elif t is cst.Raise or t is cst.Assert:
            pass

    def assign_target(self, target: cst.BaseExpression, value: Any, value_node: cst.BaseExpression) -> None:
        if isinstance(target, cst.Attribute) and target.attr.value in libs.CLEARED_ATTRIBUTES and _is_none(value_node):
            self.emit(libs.CLEARED_ATTRIBUTES[target.attr.value], target)
            return
        self.bind(target, value)

    def bind(self, target: cst.CSTNode, value: Any) -> None:
        if isinstance(target, cst.Name):
            if isinstance(value, V.Loader):
                value = self._bind_loader(value, target.value)
            self.env[target.value] = value
            self.env.pop(_last_item(target.value), None)
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
            elif isinstance(base, V.Record):
                self._store_field(base, target.attr.value, value)
            else:
                handler = libs.set_attribute_handler(base)
                if handler is not None:
                    handler(self, base, target.attr.value, value)
        elif isinstance(target, cst.Subscript):
            base = self.ev(target.value)
            for el in target.slice:
                if isinstance(el.slice, cst.Index):
                    self.ev(el.slice.value)
            key = _string_key(target)
            if isinstance(base, V.Record):
                if key is not None:
                    self._store_field(base, key, value)
                else:
                    base.fields.clear()  # config[name] = ...: any field may have changed
            for el in target.slice:
                if isinstance(el.slice, cst.Index) and isinstance(el.slice.value, cst.SimpleString) \
                        and literal(el.slice.value) in libs.KEY_STORES:
                    self.emit(libs.KEY_STORES[literal(el.slice.value)], target)

    def _store_field(self, record: V.Record, name: str, value: Any) -> None:
        """config["lr"] = v / ns.lr = v. Under a branch the old value may survive: keep only what both agree on."""
        if self.conditional and name in record.fields and not V.same_value(record.fields[name], value):
            value = None
        record.fields[name] = value

    def _element(self, value: Any, iter_node: Optional[cst.BaseExpression] = None) -> Any:
        """What iterating a value yields: a loader's batch, a sequence's items; each of ``texts`` (a
        collection named for texts, not known here) is a different text."""
        if value is None and iter_node is not None:
            name = dotted(iter_node)
            if name and item_kind(name) in ("seq", "text") and name.endswith("s"):
                return V.PerItem("element", f"each of `{name}` has its own length")
        if isinstance(value, _Enumerate):
            return V.Seq((None, self._element(value.inner)))
        if isinstance(value, V.Loader) and value.batch is not None:
            return value.batch
        if isinstance(value, V.Loader) and isinstance(value.dataset, V.Instance):
            item = self.summary(value.dataset.cls.methods["__getitem__"], [None], {})
            if isinstance(item, V.Seq):  # the default collate stacks each field: a scalar item becomes (N,)
                return V.Seq(tuple(_batched(i) for i in item.items), item.is_list)
            return _batched(item) if isinstance(item, V.Tensor) else None
        return _element_of(value)

    def _bind_loader(self, loader: V.Loader, name: str) -> V.Loader:
        if loader.role is None:
            loader = V.Loader(loader.dataset, role_of_name(name), loader.node, loader.dataset_role,
                              loader.shuffled, loader.batch, loader.site)
        if loader.node is not None and isinstance(loader.node, cst.Call):
            self.emit(F.LOADER, loader.node, loader=loader, name=name)
        return loader

    # ------------------------------------------------------------------ expressions
    def last_item(self, name: str) -> Any:
        """The value last appended to the list ``name`` (``xs.append(v)``, ``xs += [.., v]``) in its scope, or None."""
        return self.lookup(_last_item(name), None)

    def lookup(self, name: str, default: Any = None) -> Any:
        """A name's value in the innermost scope that binds it (also the graph-reach keys of model/reach.py)."""
        if name in self.env:
            return self.env[name]
        fn = self.facts.parent
        while fn is not None:
            env = self.envs.get(fn)
            if env is not None and name in env:
                return env[name]
            fn = fn.parent
        return self.globals.get(name, default)

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
                return V.Number(literal(e))
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
            if isinstance(base, V.Record):
                key = _string_key(e)
                return base.fields.get(key) if key is not None else None
            index = None
            for el in e.slice:
                if isinstance(el.slice, cst.Index):
                    index = self.ev(el.slice.value)
                else:
                    for part in (el.slice.lower, el.slice.upper, el.slice.step):
                        if part is not None:
                            self.ev(part)
            if isinstance(base, V.Seq) and isinstance(index, V.ItemIndex) and len(e.slice) == 1:
                element = _element_of(base)
                if element is None and base.items:
                    return _differing_items(base, dotted(e.value))
                base = V.ListOf(element)
            if isinstance(base, V.Seq):
                i = _literal_int(index)
                if i is not None and -len(base.items) <= i < len(base.items) and len(e.slice) == 1:
                    return base.items[i]
                return None
            if (isinstance(base, (V.Dataset, V.Instance)) or base is None and isinstance(e.value, cst.Name)) \
                    and len(e.slice) == 1:
                self._draw(base, e.value, e)  # train_set[i]
            per_item = self._per_item_subscript(e, base, index)
            if per_item is not _MISSING:
                return per_item
            handler = libs.subscript_handler(base)
            return handler(self, base, e) if handler is not None else None
        if t in (cst.ListComp, cst.GeneratorExp, cst.SetComp, cst.DictComp):
            return self._comprehension(e)
        if t is cst.IfExp:
            self.ev(e.test)
            a, b = self.ev(e.body), self.ev(e.orelse)
            if V.same_value(a, b):
                return a
            if isinstance(a, V.Number) and isinstance(b, V.Number) and \
                    all(isinstance(v.value, (int, float)) for v in (a, b)):  # 1 if same else -1
                kind = "int" if all(isinstance(v.value, int) for v in (a, b)) else "float"
                return V.Scalar(kind, (min(a.value, b.value), max(a.value, b.value)))
            return None
        if t is cst.Await:
            return self.ev(e.expression)
        if t is cst.NamedExpr:
            value = self.ev(e.value)
            self.bind(e.target, value)
            self.reach.bind(e.target, self.reach.of(e.value))
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
            fields: Optional[dict] = {}
            for el in e.elements:
                if isinstance(el, cst.DictElement):
                    self.ev(el.key)
                    value = self.ev(el.value)
                    key = literal(el.key) if isinstance(el.key, cst.SimpleString) else None
                    if fields is not None and isinstance(key, str):
                        fields[key] = value
                    else:
                        fields = None
                else:  # {**base, "lr": 0.1}
                    value = self.ev(el.value)
                    if fields is not None and isinstance(value, V.Record):
                        fields.update(value.fields)
                    else:
                        fields = None
            return V.Record(fields) if fields is not None else None
        if t is cst.FormattedString:
            per_item = None
            for part in e.parts:
                if isinstance(part, cst.FormattedStringExpression):
                    value = self.ev(part.expression)
                    per_item = per_item or (value if isinstance(value, V.PerItem) else None)
            return V.PerItem("element", per_item.reason) if per_item is not None else None  # f"{root}/{name}"
        for child in e.children:
            if isinstance(child, cst.BaseExpression):
                self.ev(child)
        return None

    def _comprehension(self, e) -> Any:
        saved = dict(self.env)
        first = None
        try:
            comp = e.for_in
            while comp is not None:
                if isinstance(comp.iter, cst.Name):
                    self.facts.comprehension_iters.add(comp.iter.value)
                it = self.ev(comp.iter)
                first = it if comp is e.for_in else first
                self.bind(comp.target, self._element(it, comp.iter))
                for cond in comp.ifs:
                    self.ev(cond.test)
                comp = comp.inner_for_in
            if isinstance(e, cst.DictComp):
                self.ev(e.key)
                value = self.ev(e.value)
                return V.Record({"": value}) if value is not None else None  # keys not known: "" holds every value
            elt = self.ev(e.elt)
        finally:
            self.env.clear()
            self.env.update(saved)
        if isinstance(e, cst.SetComp) or e.for_in.inner_for_in is not None:
            return None
        if isinstance(first, V.PerItem) and first.kind in ("seq", "text") \
                or isinstance(first, V.Tensor) and V.varies(first):
            reason = first.reason if isinstance(first, V.PerItem) else V.varies(first)
            return V.PerItem("seq", reason or "")  # one element per token or character: as long as the item
        if isinstance(first, V.PerItem) and first.kind == "element" and _looks_up(e.elt, e.for_in.target):
            return V.PerItem("seq", f"each item's symbols are mapped one by one through `{_lookup_table(e.elt)}`, "
                                    "one id per symbol, as many as the item has")
        if isinstance(first, V.PerItem):
            return None
        return V.ListOf(elt)  # a list built here: its elements, even unknown, are not guessed from its name

    # ------------------------------------------------------------------ per-item values (a Dataset's __getitem__)
    def _per_item_subscript(self, e: cst.Subscript, base: Any, index: Any) -> Any:
        """``self.texts[idx]``: an element chosen by the item index; ``tokens[:n]`` of a per-item sequence."""
        el = e.slice[0].slice
        if len(e.slice) != 1:  # df.iloc[idx, 0]: a cell of the item's row
            first = self.quiet_eval(el.value) if isinstance(el, cst.Index) and base is None else None
            return V.PerItem("element", "") if isinstance(first, V.ItemIndex) else _MISSING
        if isinstance(base, V.ListOf):
            return base.element if isinstance(el, cst.Index) else base
        if isinstance(base, V.Record):
            if isinstance(el, cst.Index) and isinstance(el.value, cst.SimpleString):
                return base.get(str(literal(el.value)))
            return None
        if isinstance(index, V.ItemIndex) and not isinstance(base, (V.Tensor, V.Dataset)):
            text = dotted(e.value)
            return V.PerItem(_named_kind(text), f"`{text}[...]` differs from item to item") if text \
                else V.PerItem("element", "")
        if isinstance(base, V.PerItem):
            if isinstance(el, cst.Slice):
                return base if base.kind in ("seq", "text") else None  # truncation keeps shorter items short
            if isinstance(el, cst.Index) and isinstance(el.value, cst.SimpleString):
                key = str(literal(el.value))
                return V.PerItem(_named_kind(key), f"`[{key!r}]` of each item differs from item to item")
            if base.kind == "element":
                return V.PerItem("element", base.reason)
            return None
        return _MISSING

    def _binop(self, e: cst.BinaryOperation, left: Any, right: Any) -> Any:
        op = type(e.operator)
        if isinstance(left, V.PerItem) or isinstance(right, V.PerItem):
            return _per_item_binop(op, left, right)
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
        # raw scores scaled or shifted by a number (``logits / T``, ``logits - logits.max()``) are still raw scores
        scaled = tensor.activation == V.LINEAR and op in (cst.Divide, cst.Multiply, cst.Add, cst.Subtract) and (
            not isinstance(other, V.Tensor) or other.activation in (None, V.LINEAR) and other.model is None)
        return V.Tensor(dtype=dtype, shape=tensor.shape, value_range=rng, origin=e, loss_graph=loss_graph,
                        continuous=continuous, model=tensor.model if op in (cst.Divide, cst.Multiply) else None,
                        activation=V.LINEAR if scaled else None, units=tensor.units if scaled else None)

    def attr(self, base: Any, name: str) -> Any:
        if isinstance(base, V.Instance):
            return base.cls.attr(name)
        if isinstance(base, V.Record):
            return base.fields.get(name)
        handler = libs.attribute_handler(base)
        return handler(self, base, name) if handler is not None else None

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
            if method == "append" and isinstance(func.value, cst.Name) and len(args) == 1 and not kwargs:
                if isinstance(args[0], V.Tensor) and args[0].loss_graph and isinstance(node.args[0].value, cst.Name) \
                        and (isinstance(recv, V.ListOf) or isinstance(recv, V.Seq) and recv.is_list):
                    self.emit(F.ACCUMULATE, node, target=func.value.value, appended=node.args[0].value.value,
                              init_loop=self.facts.binding_loops.get(func.value.value))  # losses.append(loss)
                self._append(func.value.value, recv, args[0])
            if method == "update" and isinstance(recv, V.Record):
                self._update_record(recv, node, args, kwargs)
            if method in _MUTATORS and node.args:
                self.reach.mutate(func.value, reach_of.join(*(self.reach.of(a.value) for a in node.args)))
            return self.method_call(recv, method, node, args, kwargs)
        if callee is None and isinstance(func, cst.Name) and func.value in ("len", "zip", "next"):
            return self._builtin(func.value, node, args)
        return self.call_value(callee, node, args, kwargs, dotted(func))

    def _append(self, name: str, recv: Any, value: Any) -> None:
        """``xs.append(v)`` on a list bound here: the list holds values like ``v``, the last one ``v``."""
        if name not in self.env:
            return
        self.env[_last_item(name)] = value
        if isinstance(recv, V.Seq) and recv.is_list and not recv.items and value is not None:
            self.env[name] = V.ListOf(value)
        elif isinstance(recv, V.ListOf) and not V.same_value(recv.element, value):
            self.env[name] = None

    def _update_record(self, record: V.Record, node: cst.Call, args: list, kwargs: dict) -> None:
        """``kwargs.update(other, lr=...)``: the fields ``other`` is known to hold, or any field may have changed."""
        if any(a.star for a in node.args) or args and not (len(args) == 1 and isinstance(args[0], V.Record)):
            record.fields.clear()
            return
        for name, value in {**(args[0].fields if args else {}), **kwargs}.items():
            self._store_field(record, name, value)

    def _draw(self, value: Any, source: cst.BaseExpression, read: cst.BaseExpression) -> None:
        """Record the data a loop reads other than by iterating it: ``next(it)``, ``dataset[i]`` (``read``)."""
        if self.recording and self.loop is not None:
            self.loop.draws.append((value, dotted(source), read))

    def _builtin(self, name: str, node: cst.Call, args: list) -> Any:
        """``len(tokens)`` of a per-item sequence; ``zip(*batch)`` of a batch of samples."""
        if name == "len" and len(args) == 1:
            value = args[0]
            reason = value.reason if isinstance(value, V.PerItem) and value.kind in ("seq", "text") else \
                V.varies(value) if isinstance(value, V.Tensor) else None
            return V.PerItem("number", reason) if reason else None
        if name == "next":  # next(it), it = iter(loader): a batch drawn in the loop, as if iterated
            value = args[0] if args else None
            if isinstance(value, V.Loader):
                self._draw(value, node.args[0].value, node)
                return self._element(value)
            return None
        if name == "zip" and len(node.args) == 1 and node.args[0].star == "*":
            batch = self.ev(node.args[0].value)
            if isinstance(batch, V.ListOf) and isinstance(batch.element, V.Seq):
                return V.Seq(tuple(V.ListOf(item) if item is not None else None for item in batch.element.items))
        return None

    def call_value(self, callee: Any, node: cst.Call, args: list, kwargs: dict, text: Optional[str]) -> Any:
        if isinstance(callee, V.Instance) and callee.cls.is_module:
            return libs.forward(self, self.module_info(callee.cls), node, text, args)
        handler = libs.call_handler(callee)
        if handler is not None:
            return handler(self, callee, node, args, kwargs, text)
        if isinstance(callee, V.Function):
            return self.local_call(callee.facts, node, args, kwargs)
        if isinstance(callee, F.ClassFacts):
            return self.instantiate(callee, node, args, kwargs)
        if callee is None and text is not None and "." not in text and text in _BUILTIN_PASSTHROUGH:
            return args[0] if args else None
        if callee is None and text is not None and self.guards_models and is_model_name(text):
            self.emit(F.FORWARD, node, module=None, receiver=text)
        if callee is None and text == "dict" and not any(a.star for a in node.args) and \
                (not args or len(args) == 1 and isinstance(args[0], V.Record)):
            return V.Record({**(args[0].fields if args else {}), **kwargs})
        if callee is None and text in ("int", "float") and len(args) == 1 and not kwargs:
            if isinstance(args[0], V.Number) and isinstance(args[0].value, (int, float)):
                return V.Number(int(args[0].value) if text == "int" else float(args[0].value))
            return V.Scalar(text) if not isinstance(args[0], (V.Seq, V.Record)) else None
        if callee is None and text is not None and text == "enumerate" and args:
            return _Enumerate(args[0])
        return None

    def local_call(self, fn: F.FunctionFacts, node: cst.Call, args: list, kwargs: dict,
                   bound_self: Any = None) -> Any:
        arg_reach = self._arg_reach(node)
        if self.recording:
            event = F.Event(F.CALL, node, self.facts, self.loop, self.conditional, self.grad_off,
                            {"callee": fn})
            self.emit_existing(event)
            fn.call_sites.append(F.CallSite(node, self.facts, event, args, kwargs, arg_reach))
        self._pending_reach = arg_reach
        try:
            value = self.summary(fn, args, kwargs)
        finally:
            self._pending_reach = None
        self.reach.calls[id(node)] = self.last_reach
        self.reach.items[id(node)] = self.last_items
        if isinstance(value, V.Loader) and value.dataset_role is None:
            split = _split_argument(node)
            if split is not None:  # get_loader("train"), build_dataloader(cfg, split="test")
                value = V.Loader(value.dataset, value.role, value.node, split, value.shuffled, value.batch, node)
        return value

    def _arg_reach(self, node: cst.Call) -> Optional[tuple]:
        """(positional, keyword) reaches of a call's arguments; positional None after a *args."""
        positional: Optional[list] = []
        keyword: dict = {}
        for arg in node.args:
            if arg.keyword is not None:
                keyword[arg.keyword.value] = self.reach.of(arg.value)
            elif arg.star:
                if arg.star == "**":
                    return None
                positional = None
            elif positional is not None:
                positional.append(self.reach.of(arg.value))
        return positional, keyword

    def emit_existing(self, event: F.Event) -> None:
        self.facts.events.append(event)
        loop = self.loop
        while loop is not None:
            loop.events.append(event)
            loop = loop.parent

    def summary(self, fn: F.FunctionFacts, args: list, kwargs: dict) -> Any:
        """The value a local function returns for these arguments (events are not recorded)."""
        self.last_reach = self.last_items = None
        if fn in self.in_progress or self.budget <= 0 or fn.node is None:
            return None
        self.budget -= 1
        self.in_progress.add(fn)
        saved_recording, saved_returns = self.recording, self._summary_returns
        saved_reach, saved_items = self._summary_reach, self._summary_items
        self.recording, self._summary_returns, self._summary_reach, self._summary_items = False, [], [], []
        saved_env = self.envs.get(fn)
        try:
            self._interpret_function(fn, args, kwargs)
            returns = self._summary_returns
            returned_reach, returned_items = self._summary_reach, self._summary_items
        finally:
            self.recording, self._summary_returns = saved_recording, saved_returns
            self._summary_reach, self._summary_items = saved_reach, saved_items
            if saved_env is not None:
                self.envs[fn] = saved_env
            else:
                self.envs.pop(fn, None)
            self.in_progress.discard(fn)
        self.last_reach = reach_of.join(*returned_reach)  # the modules what it returns reaches (none: nothing)
        self.last_items = _items_reach(returned_items)
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
            init.call_sites.append(F.CallSite(node, self.facts, event, args, kwargs, self._arg_reach(node)))
        if cls.is_module:
            return V.Module(self.module_info(cls, args, kwargs))
        if init is not None:
            self.summary(init, args, kwargs)
        else:
            fields = self._record_fields(cls)
            if fields is not None:
                given = dict(zip(fields, args))
                given.update((k, v) for k, v in kwargs.items() if k in fields)
                if any(a.star for a in node.args):
                    given.update(dict.fromkeys(fields))  # Config(**loaded): any field may change
                for name in fields:
                    value = given.get(name, cls.attrs.get(name))
                    seen = self._instances.setdefault((id(cls), name), value)  # several instances: keep what agrees
                    cls.attrs[name] = value if V.same_value(seen, value) else None
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
            fwd = next((cls.methods[name] for name in libs.FORWARD_METHODS if cls.methods.get(name)), None)
            out = None
            if fwd is not None:
                params = fwd.params
                n = max(len(params) - 1, 0)
                out = self.summary(fwd, [V.Tensor()] * n, {})
            if isinstance(out, V.Tensor):
                info.output, info.units = out.activation, out.units
                inner = out.model
                if out.units is None and inner is not None and inner is not info and inner.units == 1:
                    info.units = 1  # `self.fc(x).squeeze(1)` / `.view(-1)`: still one output unit per sample
            elif isinstance(out, V.Seq):
                info.returns_tuple = True
            modules = [v.info for v in cls.attrs.values() if isinstance(v, V.Module)]
            flags = [m.has_dropout_or_bn for m in modules]
            uses_functional_dropout = fwd is not None and _mentions(fwd.node, libs.FUNCTIONAL_MODE_WORDS)
            if any(flags) or uses_functional_dropout:
                info.has_dropout_or_bn = True
            elif modules and all(f is False for f in flags) and not _has_unknown_children(cls):
                info.has_dropout_or_bn = False
        finally:
            cls.analyzing = False
        cls.info = info
        return info

    def method_call(self, recv: Any, method: str, node: cst.Call, args: list, kwargs: dict) -> Any:
        func = node.func
        recv_text = _receiver_text(func.value) if isinstance(func, cst.Attribute) else None
        # methods of classes defined in this file
        cls = recv.cls if isinstance(recv, V.Instance) else getattr(getattr(recv, "info", None), "cls", None)
        if cls is not None and method in cls.methods:
            return self.local_call(cls.methods[method], node, args, kwargs)
        handler = libs.method_handler(method)  # by method name, whatever the receiver (zero_grad, step, ...)
        if handler is not None:
            value = handler(self, recv, recv_text, method, node, args, kwargs)
            if value is not libs.PASS:
                return value
        handler = libs.receiver_handler(recv)  # by the receiver's abstract value (a tensor, a model, ...)
        if handler is not None:
            return handler(self, recv, recv_text, method, node, args, kwargs)
        return None

    def library_call(self, qual: str, node: cst.Call, args: list, kwargs: dict) -> Any:
        """A call of a library name (its qualified name): what ``libs`` says it returns and records."""
        handler = libs.handler_for(qual)
        return handler(self, qual, node, args, kwargs) if handler is not None else None


# ---------------------------------------------------------------------------------------------
_MISSING = object()
_BUILTIN_PASSTHROUGH = {"iter", "list", "tuple", "sorted", "reversed"}
_MUTATORS = {"append", "extend", "insert", "appendleft", "add", "update", "setdefault", "put", "push"}


class _Enumerate(V.Seq):
    def __init__(self, inner: Any) -> None:
        object.__setattr__(self, "items", ())
        object.__setattr__(self, "is_list", False)
        object.__setattr__(self, "inner", inner)


_SPLIT_WORDS = {"train": "train", "training": "train", "val": "eval", "valid": "eval", "validation": "eval",
                "test": "eval", "testing": "eval", "eval": "eval", "dev": "eval"}


def _split_argument(node: cst.Call) -> Optional[str]:
    """The data split a helper is asked for by a string argument: "train" or "eval"; None if none or several."""
    found = {_SPLIT_WORDS.get(str(literal(a.value)).lower()) for a in node.args
             if isinstance(a.value, cst.SimpleString) and (a.keyword is None or a.keyword.value in
                                                           ("split", "mode", "phase", "subset", "stage", "name"))}
    found.discard(None)
    return found.pop() if len(found) == 1 else None


def _items_reach(returned: list) -> Optional[tuple]:
    """Element-wise reach of returned tuples (`return actor_loss, critic_loss`), if all have one length."""
    if not returned or any(r is None or len(r) != len(returned[0]) for r in returned):
        return None
    return tuple(reach_of.join(*parts) for parts in zip(*returned))


def _batched(item: Any) -> Any:
    """A sample stacked by the default collate: one more leading dimension, the batch (``V.BATCH_MAJOR``)."""
    if isinstance(item, V.Tensor):
        return item.but(shape=(None,) + item.shape if item.shape is not None else None, dim_names=V.BATCH_MAJOR)
    if isinstance(item, V.Scalar) and item.value_range is not None:  # numbers collated into a 1-d tensor
        return V.Tensor(dtype=item.kind, shape=(None,), value_range=item.value_range,
                        continuous=False if item.kind == "int" else None, dim_names=V.BATCH_MAJOR)
    return item


def _differing_items(seq: V.Seq, name: Optional[str]) -> Any:
    """``self.sizes[idx]`` of a literal list: numbers or lists that differ from item to item."""
    reason = f"the items of `{name or 'the list'}` differ"
    if all(isinstance(i, V.Number) and isinstance(i.value, int) for i in seq.items):
        return V.PerItem("number", reason)
    if all(isinstance(i, V.Seq) for i in seq.items) and len({len(i.items) for i in seq.items}) > 1:
        return V.PerItem("seq", reason)
    if all(isinstance(i, V.Seq) and not i.is_list for i in seq.items) and len({len(i.items) for i in seq.items}) == 1:
        # literal (tokens, tags) records: each field differs (or not) on its own
        columns = zip(*(i.items for i in seq.items))
        return V.Seq(tuple(V.PerItem("seq", f"the items of `{name or 'the list'}` differ in length")
                           if all(isinstance(c, V.Seq) for c in col) and len({len(c.items) for c in col}) > 1
                           else V.PerItem("element", "") for col in columns))
    return V.PerItem(_named_kind(name), f"`{name}[...]` differs from item to item") if name else None


def _looks_up(elt: cst.BaseExpression, target: cst.BaseExpression) -> bool:
    """``vocab[w]`` / ``tag2idx.get(t, 0)`` for the comprehension's variable: symbols mapped to ids."""
    if not isinstance(target, cst.Name):
        return False
    if isinstance(elt, cst.Subscript) and len(elt.slice) == 1 and isinstance(elt.slice[0].slice, cst.Index):
        key = elt.slice[0].slice.value
        return isinstance(key, cst.Name) and key.value == target.value and dotted(elt.value) is not None
    if isinstance(elt, cst.Call) and isinstance(elt.func, cst.Attribute) and elt.func.attr.value == "get" \
            and elt.args and isinstance(elt.args[0].value, cst.Name):
        return elt.args[0].value.value == target.value and dotted(elt.func.value) is not None
    return False


def _lookup_table(elt: cst.BaseExpression) -> str:
    return (dotted(elt.value) if isinstance(elt, cst.Subscript) else dotted(elt.func.value)) or "a table"


def _named_kind(name: Optional[str]) -> str:
    """What one item of a collection we cannot see holds, from its name alone. A name is not evidence that
    lengths differ (`self.tokens` may be a padded array loaded from disk): "tokens" stays an unknown
    element; a text is still a string, whose split or tokenization is as long as the text."""
    kind = item_kind(name)
    return "element" if kind == "seq" else "seq" if kind == "objects" else kind


def _per_item_binop(op: type, left: Any, right: Any) -> Any:
    """Arithmetic on per-item values: a length stays per-item; a list repeated a per-item number of times is
    as long as the item; two per-item lengths may add up to a constant (``x + [pad] * (n - len(x))``)."""
    def is_list(v: Any) -> bool:
        return isinstance(v, V.ListOf) or isinstance(v, V.Seq) and v.is_list

    per = left if isinstance(left, V.PerItem) else right
    other = right if per is left else left
    if per.kind in ("element", "text") and op in (cst.Add, cst.Divide, cst.Modulo) and not is_list(other):
        return V.PerItem(per.kind, per.reason)  # root + name, root / name, "%s.jpg" % name: the item's own
    if per.kind == "number":
        if op is cst.Multiply and is_list(other):
            return V.PerItem("seq", per.reason)
        if op in (cst.Add, cst.Subtract, cst.Multiply, cst.FloorDivide) and (
                isinstance(other, V.Number) or isinstance(other, V.PerItem) and other.kind == "number"):
            return per
        return None
    if per.kind == "seq" and op is cst.Add and is_list(other):
        return per
    return None


def _element_of(value: Any) -> Any:
    if isinstance(value, V.ListOf):
        return value.element
    if isinstance(value, _Enumerate):
        return V.Seq((None, _element_of(value.inner)))
    if isinstance(value, V.Loader):
        ds = value.dataset
        if not isinstance(ds, V.Dataset):
            return None
        if ds.items is not None:
            return V.Seq(ds.items) if len(ds.items) != 1 else ds.items[0]
        if ds.yields_class_indices:
            rng = (0, ds.num_classes - 1) if ds.num_classes else None
            return V.Seq((V.Tensor(dtype="float", origin=value.node),
                          V.Tensor(dtype="int", encoding=V.INDICES, origin=value.node, value_range=rng,
                                   num_classes=ds.num_classes)))
        return None
    if isinstance(value, V.Seq) and value.items:
        first = value.items[0]
        return first if all(V.same_value(i, first) for i in value.items) else None
    return None




def _string_key(node: cst.Subscript) -> Optional[str]:
    """"lr" in config["lr"]."""
    if len(node.slice) == 1 and isinstance(node.slice[0].slice, cst.Index):
        key = node.slice[0].slice.value
        if isinstance(key, cst.SimpleString):
            value = literal(key)
            return value if isinstance(value, str) else None
    return None


def _receiver_text(node: cst.BaseExpression) -> Optional[str]:
    """`model` for `model.to(device).train()`: the object a method chain starts from."""
    while isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value in libs.CHAIN_METHODS:
        node = node.func.value
    return dotted(node)


def _iter_text(node: cst.BaseExpression) -> Optional[str]:
    while isinstance(node, cst.Call) and node.args:
        node = node.args[0].value
    if isinstance(node, cst.Subscript):
        for el in node.slice:
            if isinstance(el.slice, cst.Index) and isinstance(el.slice.value, cst.SimpleString):
                return literal(el.slice.value)
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


def _is_static(node: cst.FunctionDef) -> bool:
    return any(dotted(d.decorator) == "staticmethod" for d in node.decorators)


def _last_item(name: str) -> str:
    """The scope key of the value last appended to the list ``name`` (no identifier can clash with it)."""
    return name + "[-1]"


def _mentions(node: cst.CSTNode, words: tuple) -> bool:
    """Does a name under ``node`` contain one of ``words`` (`F.dropout2d`, `self.dropout`)? Comments and strings
    do not count."""
    return any(isinstance(n, cst.Name) and any(w in n.value for w in words) for n in descendants(node))


def _has_unknown_children(cls: F.ClassFacts) -> bool:
    """Attributes assigned from calls we could not read (submodules from elsewhere)."""
    for value in cls.attrs.values():
        if value is None:
            return True
    return False


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


def _names_in(node: cst.BaseExpression) -> set:
    if isinstance(node, cst.Name):
        return {node.value}
    if isinstance(node, (cst.Tuple, cst.List)):
        return {el.value.value for el in node.elements if isinstance(el.value, cst.Name)}
    return set()

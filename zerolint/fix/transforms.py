"""One libcst transform per fixable rule, located from a Finding's position on a fresh parse.

Each ``fix_ZLxxx(tree, finding, context)`` returns a plan, {original node: replacement}, or None when
the fix is not safe to apply mechanically here (the finding then stays, without a fix). A plan is
worked out from the finding's surroundings only (indexed positions, the parent map), so deciding
which findings get ``[*]`` costs no whole-file transform; ``apply`` makes the new module.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import libcst as cst

from ..codes import CODES
from ..diagnostic import Finding
from ..model.names import ImportTable, bound_names, dotted
from ..model.walk import children_unordered, descendants

#: code -> its transform; a code gets one iff zerolint/codes.py declares it fixable (tests/test_codes.py)
FIXES: dict = {}


def fixes(code: str):
    """Register the decorated function as the fix of ``code``, which must be declared fixable."""
    def register(function):
        if not (code in CODES and CODES[code].fixable):
            raise ValueError(f"{function.__name__}: {code} is not declared fixable in zerolint/codes.py")
        if code in FIXES:
            raise ValueError(f"{code} has two fixes")
        FIXES[code] = function
        return function
    return register

BCE = "torch.nn.BCELoss"
BCE_FN = "torch.nn.functional.binary_cross_entropy"


@dataclass
class Tree:
    """A parsed module with positions and parents, and its import table."""

    module: cst.Module
    positions: dict
    imports: ImportTable = field(default_factory=ImportTable)
    _parents: Optional[dict] = None
    _up: dict = field(default_factory=dict)  # child -> parent along the paths descended so far
    _nodes: Optional[list] = None
    _complete: bool = False  # positions known for every node (the engine computes them only where it reports)
    _spans: Optional[dict] = None
    _calls: Optional[dict] = None
    _bindings: Optional[dict] = None
    _import_froms: Optional[list] = None

    @classmethod
    def parse(cls, text: str) -> "Tree":
        from ..engine import _positions

        module = cst.parse_module(text)
        tree = cls.of(module, _positions(module))
        tree._complete = True
        return tree

    @classmethod
    def of(cls, module: cst.Module, positions: dict) -> "Tree":
        """A tree over an already parsed module and its positions (the linter's own parse)."""
        tree = cls(module, positions)
        for node in _statements(module):
            if type(node) in (cst.Import, cst.ImportFrom):  # exact classes: isinstance on libcst's ABC nodes costs more
                tree.imports.add(node)
        return tree

    def nodes(self) -> list:
        """Every node of the module (positions may hold only the statements that have findings)."""
        if self._nodes is None:
            self._nodes = list(descendants(self.module))
        return self._nodes

    def position(self, node: cst.CSTNode):
        """The node's span; the first node without one makes the positions of the whole tree computed."""
        span = self.positions.get(node)
        if span is None and not self._complete:
            from ..engine import _positions

            self.positions, self._complete, self._spans = _positions(self.module), True, None
            span = self.positions.get(node)
        return span

    @property
    def parents(self) -> dict:
        """child -> parent for every node (a whole-tree walk: ``parent_of`` is cheaper for a few nodes)."""
        if self._parents is None:
            self._parents = _parent_map(self.module)
        return self._parents

    def parent_of(self, node: cst.CSTNode) -> Optional[cst.CSTNode]:
        """The node's parent. Found by descending from the module through the children whose span holds the
        node's (a few nodes per level), not by mapping the whole tree, which costs more than the rest of
        deciding a fix; the whole map is the fallback where spans do not nest."""
        if node not in self._up and self._parents is None and not self._descend(node):
            self.parents  # noqa: B018 - builds the full map
        if self._parents is not None:
            return self._parents.get(node)
        return self._up.get(node)

    def _descend(self, target: cst.CSTNode) -> bool:
        span = self.positions.get(target)
        if span is None:
            return False
        start, end = (span.start.line, span.start.column), (span.end.line, span.end.column)
        node = self.module
        while node is not target:
            for child in children_unordered(node):
                if child is target:
                    break
                held = self.positions.get(child)
                if held is not None and (held.start.line, held.start.column) <= start \
                        and end <= (held.end.line, held.end.column) and (held.start != held.end or start == end):
                    break
            else:
                return False
            self._up[child] = node
            node = child
        return True

    def node_at(self, f: Finding, kind=cst.CSTNode) -> Optional[cst.CSTNode]:
        """The node the finding was reported on (same start and end)."""
        if self._spans is None:
            self._spans = {}
            for node, span in self.positions.items():
                start, end = span.start, span.end
                self._spans.setdefault((start.line, start.column, end.line, end.column), []).append(node)
        for node in self._spans.get((f.line, f.column - 1, f.end_line, f.end_column - 1), ()):
            if isinstance(node, kind):
                return node
        return None

    def ancestors(self, node: cst.CSTNode):
        node = self.parent_of(node)
        while node is not None:
            yield node
            node = self.parent_of(node)

    def statement(self, node: cst.CSTNode) -> Optional[cst.CSTNode]:
        """The simple statement line or compound statement that holds ``node``."""
        for parent in self.ancestors(node):
            if isinstance(parent, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
                return parent
        return None

    def calls_of(self, name: str) -> list:
        if self._calls is None:
            self._calls = {}
            for node in self.nodes():
                if isinstance(node, cst.Call):
                    self._calls.setdefault(dotted(node.func), []).append(node)
        return self._calls.get(name, [])

    def bindings_of(self, name: str) -> list:
        """Assign (whose targets include ``name``), AnnAssign and AugAssign statements of ``name``."""
        if self._bindings is None:
            self._bindings = {}
            for node in self.nodes():
                if isinstance(node, cst.Assign):
                    for target in {dotted(t.target) for t in node.targets}:
                        self._bindings.setdefault(target, []).append(node)
                elif isinstance(node, (cst.AnnAssign, cst.AugAssign)):
                    self._bindings.setdefault(dotted(node.target), []).append(node)
        return self._bindings.get(name, [])

    def import_froms(self) -> list:
        if self._import_froms is None:
            self._import_froms = [n for n in self.nodes() if isinstance(n, cst.ImportFrom)]
        return self._import_froms


def apply(tree: Tree, plan: dict) -> cst.Module:
    """The module with the plan's replacements made (one pass over the tree)."""
    return _replace_all(tree.module, plan)


_EXPRESSION: dict = {}  # node class -> is it an expression (statements never sit inside one)


def _statements(module: cst.Module):
    """The module's nodes outside expressions (statements, blocks, and the parts that hold them)."""
    stack = [module]
    while stack:
        node = stack.pop()
        yield node
        for child in children_unordered(node):
            kind = child.__class__
            expression = _EXPRESSION.get(kind)
            if expression is None:
                expression = _EXPRESSION[kind] = cst.BaseExpression in kind.__mro__  # not issubclass: ABC checks are slow
            if not expression:
                stack.append(child)


def _parent_map(module: cst.Module) -> dict:
    """child -> parent for every node, from the nodes' dataclass fields (``model/walk.py``: no visitor, no
    ABC instance checks)."""
    parents: dict = {}
    stack: list = [module]
    while stack:
        node = stack.pop()
        children = children_unordered(node)
        for child in children:
            parents[child] = node
        stack.extend(children)
    return parents


def _renamed(func: cst.BaseExpression, new: str) -> Optional[cst.BaseExpression]:
    if isinstance(func, cst.Attribute):
        return func.with_changes(attr=cst.Name(new))
    return None


# ---- ZL101: BCELoss on logits -> BCEWithLogitsLoss -------------------------------------------------

@fixes("ZL101")
def fix_zl101(tree: Tree, f: Finding, flagged: list) -> Optional[dict]:
    call = tree.node_at(f, cst.Call)
    if call is None:
        return None
    if isinstance(call.func, cst.Attribute) and call.func.attr.value == "compile":
        return None  # Keras: from_logits=True would also change what the 'accuracy' metric thresholds
    func = call.func
    qual = tree.imports.resolve(func)
    if qual == BCE_FN:
        new = _renamed(func, "binary_cross_entropy_with_logits")
        if new is not None:
            return {func: new}
        if isinstance(func, cst.Name):  # from torch.nn.functional import binary_cross_entropy
            replacements = {func: cst.Name("binary_cross_entropy_with_logits")}
            if "binary_cross_entropy_with_logits" not in tree.imports.aliases:
                source = _import_from_of(tree, func.value, ("torch.nn.functional",))
                if source is None:
                    return None
                replacements[source] = _with_alias(source, "binary_cross_entropy_with_logits")
            return replacements
        return None
    if isinstance(func, cst.Call) and tree.imports.resolve(func.func) == BCE:
        return _rename_constructors(tree, [func])
    name = dotted(func)
    if name is None:
        return None
    # Every call of this loss object in the file must be a flagged one: the new loss wants logits.
    flagged_at = {(x.line, x.column) for x in flagged}
    for other in tree.calls_of(name):
        span = tree.position(other).start
        if (span.line, span.column + 1) not in flagged_at:
            return None
    constructors = []
    for node in tree.bindings_of(name):
        if isinstance(node, cst.Assign):
            value = node.value
            if not (isinstance(value, cst.Call) and tree.imports.resolve(value.func) == BCE):
                return None  # bound to something else too: not a mechanical change
            constructors.append(value)
        else:  # AnnAssign, AugAssign
            return None
    if not constructors:
        return None
    return _rename_constructors(tree, constructors)


def _rename_constructors(tree: Tree, constructors: list) -> Optional[dict]:
    replacements = {}
    needs_import = False
    for ctor in constructors:
        func = ctor.func
        if isinstance(func, cst.Attribute):
            replacements[func] = func.with_changes(attr=cst.Name("BCEWithLogitsLoss"))
        elif isinstance(func, cst.Name):
            replacements[func] = cst.Name("BCEWithLogitsLoss")
            needs_import = True
        else:
            return None
    if needs_import and "BCEWithLogitsLoss" not in tree.imports.aliases:
        source = _import_from_of(tree, "BCELoss", ("torch.nn", "torch.nn.modules.loss"))
        if source is None:
            return None
        replacements[source] = _with_alias(source, "BCEWithLogitsLoss")
    return replacements


def _with_alias(source: cst.ImportFrom, name: str) -> cst.ImportFrom:
    """``from m import a`` -> ``from m import a, name`` (keeping parentheses and a trailing comma)."""
    names = list(source.names)
    trailing = names[-1].comma
    names[-1] = names[-1].with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
    names.append(cst.ImportAlias(name=cst.Name(name), comma=trailing))
    return source.with_changes(names=names)


def _import_from_of(tree: Tree, local: str, modules: tuple) -> Optional[cst.ImportFrom]:
    for node in tree.import_froms():
        if isinstance(node, cst.ImportFrom) and not isinstance(node.names, cst.ImportStar) and node.module:
            if dotted(node.module) in modules and \
                    any(dotted(a.name) == local and a.asname is None for a in node.names):
                return node
    return None


class _Replacer(cst.CSTTransformer):
    def __init__(self, mapping: dict) -> None:
        self.mapping = mapping

    def on_leave(self, original, updated):
        return self.mapping.get(original, updated)


def _replace_all(module: cst.Module, mapping: dict) -> cst.Module:
    return module.visit(_Replacer(mapping))


# ---- ZL201: missing zero_grad -> insert `<optimizer>.zero_grad()` at the top of the step loop ----

def _optimizer_of(step: cst.Call) -> Optional[cst.BaseExpression]:
    func = step.func
    if not isinstance(func, cst.Attribute) or func.attr.value != "step":
        return None
    if step.args:  # scaler.step(optimizer) / step(closure)
        first = step.args[0]
        if first.keyword is None and first.star == "" and dotted(first.value) is not None \
                and "scaler" in (dotted(func.value) or "").lower():
            return first.value
        return None
    return func.value if dotted(func.value) is not None else None


@fixes("ZL201")
def fix_zl201(tree: Tree, f: Finding, flagged: list) -> Optional[dict]:
    step = tree.node_at(f, cst.Call)
    if step is None:
        return None
    optimizer = _optimizer_of(step)
    if optimizer is None:
        return None
    body_owner = None
    for parent in tree.ancestors(step):
        if isinstance(parent, (cst.For, cst.While, cst.FunctionDef)):
            body_owner = parent
            break
    if body_owner is None or not isinstance(body_owner.body, cst.IndentedBlock):
        return None
    stmt = cst.SimpleStatementLine(body=[cst.Expr(cst.Call(func=cst.Attribute(
        value=optimizer, attr=cst.Name("zero_grad"))))])  # `<optimizer>.zero_grad()`, built without a parse
    holder = tree.statement(step)
    block = tree.parent_of(holder)
    if block is not None and block is not body_owner.body and isinstance(block, cst.IndentedBlock) \
            and isinstance(holder, cst.SimpleStatementLine):
        # a step under a condition (gradient accumulation: `if (i + 1) % n == 0: opt.step()`): clearing at the
        # top of the iteration would end the accumulation; clear right after the step instead
        body = list(block.body)
        body.insert(body.index(holder) + 1, stmt)
        return {block: block.with_changes(body=body)}
    body = list(body_owner.body.body)
    at = 0
    if isinstance(body_owner, cst.FunctionDef) and body and _is_docstring(body[0]):
        at = 1
    # the optimizer may be bound in this body (`opt = self.optimizers()` in a Lightning training_step):
    # clear it right after its binding; a binding nested in a block leaves no safe place
    root = (dotted(optimizer) or "").split(".")[0]
    holders = set(tree.ancestors(step))
    for i, owned in enumerate(body):
        if owned in holders:
            break
        bound = _binds(owned, root)
        if bound and not isinstance(owned, cst.SimpleStatementLine):
            return None
        if bound:
            at = i + 1
    body.insert(at, stmt)
    new_owner = body_owner.with_changes(body=body_owner.body.with_changes(body=body))
    return {body_owner: new_owner}


def _binds(stmt: cst.CSTNode, name: str) -> bool:
    """Does the statement (or a block inside it) assign ``name``?"""
    for node in descendants(stmt):
        target = node.target if isinstance(node, (cst.AssignTarget, cst.AnnAssign, cst.For)) else \
            node.name if isinstance(node, cst.AsName) else None
        if target is not None and name in bound_names(target):
            return True
    return False


def _is_docstring(stmt) -> bool:
    return isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 and \
        isinstance(stmt.body[0], cst.Expr) and isinstance(stmt.body[0].value, (cst.SimpleString, cst.ConcatenatedString))


# ---- ZL202: step before backward -> move the step statement after the backward statement ---------

def _has_backward(node: cst.CSTNode) -> bool:
    for call in descendants(node):
        if isinstance(call, cst.Call) and (
                isinstance(call.func, cst.Attribute) and call.func.attr.value in ("backward", "manual_backward")
                or (dotted(call.func) or "").endswith("accelerator.backward")):
            return True
    return False


def _is_scaler_update(stmt, step: cst.Call) -> bool:
    if not (isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 and isinstance(stmt.body[0], cst.Expr)):
        return False
    call = stmt.body[0].value
    if not (isinstance(call, cst.Call) and isinstance(step.func, cst.Attribute)):
        return False
    return dotted(call.func) == f"{dotted(step.func.value)}.update" and step.args != ()


@fixes("ZL202")
def fix_zl202(tree: Tree, f: Finding, flagged: list) -> Optional[dict]:
    step = tree.node_at(f, cst.Call)
    if step is None:
        return None
    stmt = tree.statement(step)
    if not isinstance(stmt, cst.SimpleStatementLine) or len(stmt.body) != 1:
        return None
    block = tree.parent_of(stmt)
    if not isinstance(block, (cst.IndentedBlock, cst.Module)):
        return None
    body = list(block.body)
    at = body.index(stmt)
    target = next((i for i in range(at + 1, len(body)) if _has_backward(body[i])), None)
    if target is None:
        return None
    moving = [stmt]
    # `scaler.update()` right after `scaler.step(optimizer)` belongs with it and moves along
    after = body[at + 1] if at + 1 < target else None
    if after is not None and _is_scaler_update(after, step):
        moving.append(after)
    rest = [s for s in body if not any(s is m for m in moving)]
    target_index = next(i for i, s in enumerate(rest) if s is body[target])
    new_body = rest[:target_index + 1] + moving + rest[target_index + 1:]
    return {block: block.with_changes(body=new_body)}


# ---- ZL301: evaluation with autograd on -> wrap the loop (or statement) in torch.no_grad() --------

def _torch_name(tree: Tree) -> Optional[str]:
    for local, qual in tree.imports.aliases.items():
        if qual == "torch":
            return local
    return None


@fixes("ZL301")
def fix_zl301(tree: Tree, f: Finding, flagged: list) -> Optional[dict]:
    forward = tree.node_at(f, cst.Call)
    if forward is None:
        return None
    torch_name = _torch_name(tree)
    if torch_name is None:
        return None
    target = None
    for parent in tree.ancestors(forward):
        if isinstance(parent, (cst.For, cst.While)):
            if not _trains(parent, forward):
                target = parent
            break  # a loop that also trains (`_run_epoch(train=True)` then `(train=False)`): the statement
        if isinstance(parent, (cst.FunctionDef, cst.Lambda, cst.ClassDef)):
            break
    if target is None:
        target = tree.statement(forward)
    if target is None or _yields(target) or isinstance(target, (cst.FunctionDef, cst.ClassDef)):
        return None  # a generator suspended inside no_grad would turn autograd off for its caller
    block = tree.parent_of(target)
    if not isinstance(block, (cst.IndentedBlock, cst.Module)):
        return None
    inner = target.with_changes(leading_lines=())
    wrapped = cst.With(
        items=[cst.WithItem(cst.Call(func=cst.Attribute(value=_expression(torch_name), attr=cst.Name("no_grad"))))],
        body=cst.IndentedBlock(body=[inner]),
        leading_lines=target.leading_lines,
    )
    return {target: wrapped}


def _trains(loop: cst.CSTNode, flagged: cst.Call) -> bool:
    """Does the loop also train: a backward, an optimizer step, `model.train()`, or another call of the
    routine the flagged call evaluates through?"""
    callee = dotted(flagged.func)
    for call in descendants(loop):
        if not isinstance(call, cst.Call):
            continue
        if isinstance(call.func, cst.Attribute) and call.func.attr.value in ("backward", "step", "train"):
            return True
        if call is not flagged and callee and dotted(call.func) == callee:
            return True
    return False


def _expression(text: str) -> cst.BaseExpression:
    """``a.b.c`` as a Name/Attribute chain, built without a parse."""
    first, *rest = text.split(".")
    node: cst.BaseExpression = cst.Name(first)
    for part in rest:
        node = cst.Attribute(value=node, attr=cst.Name(part))
    return node


def _yields(node: cst.CSTNode) -> bool:
    """A ``yield`` in ``node``, outside the functions and lambdas defined in it."""
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, cst.Yield):
            return True
        if current is node or not isinstance(current, (cst.FunctionDef, cst.Lambda)):
            stack.extend(children_unordered(current))
    return False

"""Training-step and evaluation regions, derived from the recorded events.

A *training iteration* is the body of the innermost loop around a ``step()`` call, seen through
helper calls; when the step sits in a per-batch function with no loop of its own, the iteration is
the caller's loop around the call, and when no loop of this file calls a method that a framework calls
once per batch (``FunctionFacts.per_batch``: Lightning's ``training_step``), that method's body.
An *evaluation region* is a function named for evaluation, a loop over an evaluation loader, or
code that follows ``model.eval()``; none of them may run a backward pass or an optimizer step.
"""
from __future__ import annotations

import weakref
from typing import Iterator, Optional

import libcst as cst

from . import facts as F
from . import values as V
from .libs.tensor import SYNTHETIC_FACTORIES
from .names import dotted
from .naming import role_of_name, tokens
from .reach import reaches as graph_reaches

_TRAINING_KINDS = (F.BACKWARD, F.STEP)


def position(expanded: list, event: F.Event) -> int:
    """Index of ``event`` (or of the helper call that leads to it) in an expanded list; -1 if absent."""
    return F.position_index(expanded).get(event, -1)


def iterations(event: F.Event, depth: int = 4) -> Iterator[list]:
    """Every loop iteration the event runs in, each as an expanded, ordered list of events.

    Nothing is yielded when the event is in a function that is never called from a loop here and that no
    framework calls once per batch: then the iteration is unknown.
    """
    for iteration, _ in iterations_by(event, depth):
        yield iteration


def iterations_by(event: F.Event, depth: int = 4) -> Iterator[tuple]:
    """``iterations``, each with what repeats it: None for a loop of this file, else the method a framework
    calls once per batch (``FunctionFacts.per_batch``: Lightning's ``training_step``) whose body it is."""
    if event.loop is not None:
        yield F.expand(event.loop.events), None
        return
    found = False
    if depth > 0:
        for site in event.function.call_sites:
            for pair in iterations_by(site.event, depth - 1):
                found = True
                yield pair
    if not found and event.function.per_batch:
        yield per_batch_iteration(event.function), event.function


_PER_BATCH_MEMO: dict = {}  # id(fn.per_batch) -> (fn.per_batch, event count, the expanded iteration)


def clear_memo() -> None:
    _PER_BATCH_MEMO.clear()


def per_batch_iteration(fn: F.FunctionFacts) -> list:
    """One iteration of a method the framework calls once per batch: the bodies of it and of the hooks the
    framework calls around it, in order, expanded (memoised: every event of the body asks for it)."""
    parts = [m for m in fn.per_batch if m.events]
    if len(parts) == 1:
        return F.expand(parts[0].events)
    size = sum(len(m.events) for m in parts)
    entry = _PER_BATCH_MEMO.get(id(fn.per_batch))
    if entry is None or entry[0] is not fn.per_batch or entry[1] != size:
        entry = (fn.per_batch, size, [item for m in parts for item in F.expand(m.events)])
        _PER_BATCH_MEMO[id(fn.per_batch)] = entry
    return entry[2]


def reaches(backward: F.Event, step: F.Event) -> Optional[bool]:
    """Does this backward() reach the parameters of the optimizer stepped by ``step``? None: cannot tell
    (unknown reach or ownership; torch.autograd.grad fills no .grad at all)."""
    if backward.data.get("manual"):
        return None
    return graph_reaches(backward.data.get("reach"), step.data.get("params"))


def is_grad_off(event: F.Event, depth: int = 4) -> bool:
    """Does autograd run disabled here, counting the caller's context?"""
    if event.grad_off:
        return True
    fn = event.function
    if fn.is_module or depth == 0 or not fn.call_sites:
        return False
    return all(is_grad_off(site.event, depth - 1) for site in fn.call_sites)


def has_training(events: list) -> bool:
    return any(item.kind in _TRAINING_KINDS for item in F.expand(events))


def loop_role(loop: F.Loop) -> Optional[str]:
    value = loop.iter_value
    if isinstance(value, V.Loader):
        if value.role is not None:
            return value.role
        if isinstance(value.dataset, V.Dataset) and value.dataset.train is not None:
            return "train" if value.dataset.train else "eval"
    return role_of_name(loop.iter_text)


def is_eval_function(fn: F.FunctionFacts) -> bool:
    if fn.is_module or fn.cls is not None and fn.cls.is_module:
        return False
    return bool(set(tokens(fn.name)) & V.EVAL_WORDS) and not has_training(fn.events) \
        and not any(_in_training_step(site.event) for site in fn.call_sites)


def _in_training_step(event: F.Event) -> bool:
    """Is this call made by a training step itself (a `predict()` whose output gets a backward)?"""
    scope = event.loop.events if event.loop is not None else event.function.events
    return any(e.kind in _TRAINING_KINDS and e.loop is event.loop for e in scope)


def eval_region(event: F.Event, test_file: bool) -> Optional[str]:
    """Why this event counts as evaluation ("function", "loop", "after-eval"), or None.

    Test files (pytest/unittest) are not evaluation code: a test may run the model any way it likes.
    """
    if test_file:
        return None
    fn = event.function
    if is_eval_function(fn):
        return None if _shape_check(event) else "function"
    loop = event.loop
    while loop is not None:
        if loop_role(loop) == "eval" and not has_training(loop.events):
            return "loop"
        loop = loop.parent
    if event.loop is not None and has_training(event.loop.events):
        return None  # a forward inside a training loop is training, whatever came before the loop
    expanded = F.expand(fn.events)
    for item in reversed(expanded[: position(expanded, event)]):
        if item.kind in _TRAINING_KINDS:
            return None
        if item.kind in (F.MODE_TRAIN, F.MODE_EVAL) and _same_model(item.event, event):
            return "after-eval" if _mode_kind(expanded, item) == F.MODE_EVAL else None
    return None


def _is_context_manager(fn) -> bool:
    node = getattr(fn, "node", None)
    if node is None:
        return False
    for dec in node.decorators:
        d = dec.decorator
        name = d.attr.value if hasattr(d, "attr") else getattr(d, "value", None)
        if name in ("contextmanager", "asynccontextmanager"):
            return True
    return False


_LOADS = frozenset(("load_state_dict", "load", "load_weights", "from_pretrained", "load_from_checkpoint"))
_BUILT: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()  # function -> (names built by a call, loads?)


def _built_here(fn: F.FunctionFacts) -> tuple:
    """The local names a function binds to a call's result (`net = ResNet18()`), and whether it loads weights."""
    found = _BUILT.get(fn)
    if found is None:
        class Visitor(cst.CSTVisitor):
            def __init__(self) -> None:
                self.built: dict = {}
                self.loads = False

            def visit_Assign(self, node: cst.Assign) -> None:
                if isinstance(node.value, cst.Call) and len(node.targets) == 1 \
                        and isinstance(node.targets[0].target, cst.Name):
                    self.built[node.targets[0].target.value] = dotted(node.value.func)

            def visit_Name(self, node: cst.Name) -> None:
                self.loads = self.loads or node.value in _LOADS

        visitor = Visitor()
        fn.node.visit(visitor)
        found = _BUILT[fn] = (visitor.built, visitor.loads)
    return found


def _shape_check(forward: F.Event) -> bool:
    """A forward of a model (a class of this file) built in the function itself, with no weights loaded, on
    random or constant input (`def test(): net = ResNet18(); print(net(torch.randn(2, 3, 32, 32)).size())`):
    a check of the output's shape, not the evaluation of a trained model."""
    fn, info, inp = forward.function, forward.data.get("module"), forward.data.get("input")
    receiver = forward.data.get("receiver") or ""
    if fn.node is None or info is None or info.cls is None or not isinstance(inp, V.Tensor) \
            or not isinstance(inp.origin, cst.Call) \
            or (dotted(inp.origin.func) or "").rsplit(".", 1)[-1] not in SYNTHETIC_FACTORIES:
        return False
    built, loads = _built_here(fn)
    return not loads and receiver in built  # Net(), or a factory: `def ResNet18(): return ResNet(...)`


_EXITS = (cst.Continue, cst.Break, cst.Return, cst.Raise)


def leaves_after(event: F.Event) -> bool:
    """Does the event sit in a branch that then leaves the iteration (`continue`, `break`, `return`, `raise`
    later in the same block)? `if not torch.isfinite(grad_norm): optimizer.zero_grad(); continue` skips the
    step: what follows the branch in the loop does not run after the event."""
    scope = event.loop.node if event.loop is not None else event.function.node
    if not event.conditional or scope is None:
        return False

    class Finder(cst.CSTVisitor):
        def __init__(self) -> None:
            self.blocks: list = []
            self.found: Optional[tuple] = None

        def visit_IndentedBlock(self, node: cst.IndentedBlock) -> None:
            self.blocks.append(node)

        def leave_IndentedBlock(self, node: cst.IndentedBlock) -> None:
            self.blocks.pop()

        def on_visit(self, node: cst.CSTNode) -> bool:
            if self.found is not None:
                return False
            if node is event.node and self.blocks:
                self.found = self.blocks[-1]
                return False
            return super().on_visit(node)

    finder = Finder()
    scope.visit(finder)
    block = finder.found
    if block is None or block is getattr(scope, "body", None):
        return False  # at the top of the loop (or function) body: not in a branch of its own
    later = False
    for stmt in block.body:
        if not later:
            later = _contains(stmt, event.node)
            continue
        if isinstance(stmt, cst.SimpleStatementLine) and any(isinstance(s, _EXITS) for s in stmt.body):
            return True
    return False


def _mode_kind(expanded: list, item: F.Expanded) -> str:
    """The mode a mode event leaves for the code after it. A mode set by a `@contextmanager` helper
    (`with self.evaluating(): ...`) is the one it enters with: what it restores after its `yield` runs
    when the with block ends, not before the code that follows the call."""
    for call in item.via:
        if _is_context_manager(call.data.get("callee")):
            for other in expanded:
                if call in other.via and other.kind in (F.MODE_EVAL, F.MODE_TRAIN):
                    return other.kind
    return item.kind


def _contains(tree: cst.CSTNode, target: cst.CSTNode) -> bool:
    class Search(cst.CSTVisitor):
        found = False

        def on_visit(self, node: cst.CSTNode) -> bool:
            if node is target:
                self.found = True
            return not self.found

    search = Search()
    tree.visit(search)
    return search.found


def _same_model(mode_event: F.Event, forward: F.Event) -> bool:
    a, b = mode_event.data.get("module"), forward.data.get("module")
    if a is not None and b is not None:
        return a is b
    ra, rb = mode_event.data.get("receiver"), forward.data.get("receiver")
    if ra and rb:
        return ra.rsplit(".", 1)[-1] == rb.rsplit(".", 1)[-1] or a is None or b is None
    return True


def mode_at(event: F.Event, forward: F.Event, depth: int = 4) -> Optional[str]:
    """"train" or "eval": the model's mode when ``event`` runs; None when it cannot be told."""
    fn = event.function
    expanded = F.expand(fn.events)
    for item in reversed(expanded[: position(expanded, event)]):
        if item.kind in (F.MODE_EVAL, F.MODE_TRAIN) and _same_model(item.event, forward):
            return "eval" if _mode_kind(expanded, item) == F.MODE_EVAL else "train"
    if fn.is_module:
        info = forward.data.get("module")
        if info is not None and info.starts_in_training_mode is not None:
            return "train" if info.starts_in_training_mode else "eval"
        return None
    if depth == 0 or not fn.call_sites:
        return None
    modes = {mode_at(site.event, forward, depth - 1) for site in fn.call_sites}
    if "train" in modes:
        return "train"
    return "eval" if modes == {"eval"} else None

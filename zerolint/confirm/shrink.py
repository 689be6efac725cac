"""Shrink a training script so that a confirmation run is tiny, keeping every line where it was.

- Loops that train or evaluate (their body calls backward/step/zero_grad, a model-looking call,
  a function defined in the file, or holds another loop) iterate at most ``steps`` items: the
  iterable is wrapped in ``__zerolint_cap__(...)``, which the probe installs as a builtin. This caps
  epoch loops over ``range(N)`` and batch loops over a DataLoader alike.
- ``while`` loops with such a body run at most ``steps`` times: ``while cond:`` becomes
  ``while __zerolint_while__(K, cond):`` (the probe's counter, restarted whenever the loop ends).
- Nothing else changes: tensor sizes, values and shapes are the script's own, so every runtime
  observation is one the script as written would show (a shrunk ``randn(300, 5)`` once left a
  validation slice empty and its mean NaN).
- ``name += value`` becomes ``name = __zerolint_iadd__(LINE, name, value)``: the probe's
  ``operator.iadd`` (the very operation ``+=`` performs), which first notes whether ``value`` still
  holds an autograd graph and whether ``name`` already did (ZL207, a running total of losses).
- ``download=<anything>`` becomes ``download=False``: a dataset that is not on disk makes the run
  unreached with that reason instead of touching the network (which is off in the child anyway).

Replacements never add or remove a line break, so line numbers observed in the shrunk copy are
the original script's.
"""
from __future__ import annotations

from typing import Optional

import libcst as cst

CAP = "__zerolint_cap__"
WHILE_CAP = "__zerolint_while__"
IADD = "__zerolint_iadd__"
_TRAINING_CALLS = {"backward", "step", "zero_grad", "fit", "train_on_batch", "forward"}
_WRAPPERS = {"enumerate", "tqdm", "trange", "iter"}


def shrink_source(source: str) -> str:
    """The shrunk copy's source; loop caps take effect through the probe's ``__zerolint_cap__``."""
    module = cst.parse_module(source)
    defined = {node.name.value for node in _function_defs(module)}
    wrapper = cst.MetadataWrapper(module, unsafe_skip_copy=True)
    return wrapper.visit(_Shrinker(defined)).code


def _function_defs(module: cst.Module) -> list:
    found: list = []

    class Collect(cst.CSTVisitor):
        def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
            found.append(node)

    module.visit(Collect())
    return found


class _LoopBody(cst.CSTVisitor):
    """Does a loop body train, evaluate, or call into code that might?"""

    def __init__(self, defined: set) -> None:
        self.defined = defined
        self.hit = False

    def visit_For(self, node: cst.For) -> None:
        self.hit = True

    def visit_While(self, node: cst.While) -> None:
        self.hit = True

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value in _TRAINING_CALLS:
            self.hit = True
        elif isinstance(func, cst.Name) and (func.value in self.defined or "model" in func.value.lower()
                                             or func.value.lower() in {"net", "train", "evaluate"}):
            self.hit = True
        elif isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and \
                func.value.value in {"self"} and func.attr.value in self.defined:
            self.hit = True


class _Shrinker(cst.CSTTransformer):
    METADATA_DEPENDENCIES = (cst.metadata.PositionProvider,)

    def __init__(self, defined: set) -> None:
        self.defined = defined
        self.whiles = 0

    def leave_While(self, original: cst.While, updated: cst.While) -> cst.While:
        check = _LoopBody(self.defined)
        original.body.visit(check)
        if not check.hit:
            return updated
        self.whiles += 1
        test = cst.Call(func=cst.Name(WHILE_CAP), args=[
            cst.Arg(cst.Integer(str(self.whiles)), comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))),
            cst.Arg(updated.test)])
        return updated.with_changes(test=test)

    def leave_For(self, original: cst.For, updated: cst.For) -> cst.For:
        check = _LoopBody(self.defined)
        original.body.visit(check)
        if not check.hit:
            return updated
        return updated.with_changes(iter=_cap(updated.iter))

    def leave_AugAssign(self, original: cst.AugAssign, updated: cst.AugAssign):
        if not isinstance(updated.operator, cst.AddAssign) or not isinstance(updated.target, cst.Name):
            return updated
        line = self.get_metadata(cst.metadata.PositionProvider, original).start.line
        comma = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
        call = cst.Call(func=cst.Name(IADD), args=[
            cst.Arg(cst.Integer(str(line)), comma=comma), cst.Arg(cst.Name(updated.target.value), comma=comma),
            cst.Arg(updated.value)])
        return cst.Assign(targets=[cst.AssignTarget(updated.target)], value=call)

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.Call:
        return updated.with_changes(args=[_no_download(arg) for arg in updated.args])


def _cap(iterable: cst.BaseExpression) -> cst.BaseExpression:
    """Cap the innermost iterable, so `enumerate(loader)` keeps its indices."""
    if isinstance(iterable, cst.Call) and _callee(iterable.func) in _WRAPPERS and iterable.args \
            and iterable.args[0].keyword is None and iterable.args[0].star == "":
        first = iterable.args[0].with_changes(value=_cap(iterable.args[0].value))
        return iterable.with_changes(args=[first, *iterable.args[1:]])
    return cst.Call(func=cst.Name(CAP), args=[cst.Arg(iterable)])


def _callee(func: cst.BaseExpression) -> Optional[str]:
    if isinstance(func, cst.Name):
        return func.value
    if isinstance(func, cst.Attribute):
        return func.attr.value
    return None


def _no_download(arg: cst.Arg) -> cst.Arg:
    if arg.keyword is not None and arg.keyword.value == "download":
        return arg.with_changes(value=cst.Name("False"))
    return arg

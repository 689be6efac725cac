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
- The lines of the findings (``marks``) say when they run: a simple statement holding one gets
  ``__zerolint_ran__(FIRST, LAST); `` in front of it on its own line, and a ``for``/``while``/``if``
  header holding one gets its iterable or test wrapped in ``__zerolint_at__(FIRST, LAST, ...)``
  (which returns it unchanged). Then a finding without observation is known to have run or not.
- ``download=<anything>`` becomes ``download=False``: a dataset that is not on disk makes the run
  unreached with that reason instead of touching the network (which is off in the child anyway).

Replacements never add or remove a line break, so line numbers observed in the shrunk copy are
the original script's.
"""
from __future__ import annotations

from typing import Iterable, Optional

import libcst as cst

CAP = "__zerolint_cap__"
WHILE_CAP = "__zerolint_while__"
IADD = "__zerolint_iadd__"
RAN, AT = "__zerolint_ran__", "__zerolint_at__"
_TRAINING_CALLS = {"backward", "step", "zero_grad", "fit", "train_on_batch", "forward"}
_WRAPPERS = {"enumerate", "tqdm", "trange", "iter"}


def shrink_source(source: str, marks: Iterable[int] = ()) -> str:
    """The shrunk copy's source; loop caps take effect through the probe's ``__zerolint_cap__``.
    ``marks``: lines (the findings') whose running the copy reports."""
    module = cst.parse_module(source)
    defined = {node.name.value for node in _function_defs(module)}
    wrapper = cst.MetadataWrapper(module, unsafe_skip_copy=True)
    return wrapper.visit(_Shrinker(defined, marks)).code


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

    def __init__(self, defined: set, marks: Iterable[int] = ()) -> None:
        self.defined = defined
        self.whiles = 0
        self.marks = sorted(set(marks))

    def _span(self, node: cst.CSTNode) -> tuple:
        pos = self.get_metadata(cst.metadata.PositionProvider, node)
        return pos.start.line, pos.end.line

    def _marked(self, first: int, last: int) -> bool:
        return any(first <= line <= last for line in self.marks)

    def _at(self, header: cst.CSTNode, part: cst.CSTNode, value: cst.BaseExpression) -> cst.BaseExpression:
        """``value`` (a header's test or iterable), reporting the header's lines when it is evaluated."""
        first, last = self._span(header)[0], self._span(part)[1]
        if not self.marks or not self._marked(first, last):
            return value
        return cst.Call(func=cst.Name(AT), args=[cst.Arg(cst.Integer(str(first)), comma=_COMMA),
                                                 cst.Arg(cst.Integer(str(last)), comma=_COMMA), cst.Arg(value)])

    def _ran(self, original, updated):
        """A simple statement line holding a marked line: report it first, on the same line."""
        if not self.marks or not updated.body:
            return updated
        first, last = self._span(original)
        lead = updated.body[0]
        if not self._marked(first, last) or isinstance(lead, cst.Expr) and isinstance(
                lead.value, (cst.SimpleString, cst.ConcatenatedString)) or isinstance(
                lead, cst.ImportFrom) and isinstance(lead.module, cst.Name) and lead.module.value == "__future__":
            return updated  # a docstring stays a docstring; `from __future__` stays first
        call = cst.Expr(cst.Call(func=cst.Name(RAN), args=[cst.Arg(cst.Integer(str(first)), comma=_COMMA),
                                                           cst.Arg(cst.Integer(str(last)))]),
                        semicolon=cst.Semicolon(whitespace_after=cst.SimpleWhitespace(" ")))
        return updated.with_changes(body=[call, *updated.body])

    def leave_SimpleStatementLine(self, original, updated):
        return self._ran(original, updated)

    def leave_SimpleStatementSuite(self, original, updated):
        return self._ran(original, updated)

    def leave_If(self, original: cst.If, updated: cst.If) -> cst.If:
        return updated.with_changes(test=self._at(original, original.test, updated.test))

    def leave_While(self, original: cst.While, updated: cst.While) -> cst.While:
        check = _LoopBody(self.defined)
        original.body.visit(check)
        if not check.hit:
            return updated.with_changes(test=self._at(original, original.test, updated.test))
        self.whiles += 1
        test = cst.Call(func=cst.Name(WHILE_CAP), args=[
            cst.Arg(cst.Integer(str(self.whiles)), comma=_COMMA),
            cst.Arg(self._at(original, original.test, updated.test))])
        return updated.with_changes(test=test)

    def leave_For(self, original: cst.For, updated: cst.For) -> cst.For:
        check = _LoopBody(self.defined)
        original.body.visit(check)
        iterable = _cap(updated.iter) if check.hit else updated.iter
        return updated.with_changes(iter=self._at(original, original.iter, iterable))

    def leave_AugAssign(self, original: cst.AugAssign, updated: cst.AugAssign):
        if not isinstance(updated.operator, cst.AddAssign) or not isinstance(updated.target, cst.Name):
            return updated
        line = self._span(original)[0]
        call = cst.Call(func=cst.Name(IADD), args=[
            cst.Arg(cst.Integer(str(line)), comma=_COMMA), cst.Arg(cst.Name(updated.target.value), comma=_COMMA),
            cst.Arg(updated.value)])
        return cst.Assign(targets=[cst.AssignTarget(updated.target)], value=call)

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.Call:
        return updated.with_changes(args=[_no_download(arg) for arg in updated.args])


_COMMA = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))


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

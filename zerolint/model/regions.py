"""Training-step and evaluation regions, derived from the recorded events.

A *training iteration* is the body of the innermost loop around a ``step()`` call, seen through
helper calls; when the step sits in a per-batch function with no loop of its own, the iteration is
the caller's loop around the call. An *evaluation region* is a function named for evaluation, a
loop over an evaluation loader, or code that follows ``model.eval()``; none of them may run a
backward pass or an optimizer step.
"""
from __future__ import annotations

from typing import Iterator, Optional

from . import facts as F
from . import values as V
from .naming import role_of_name, tokens

_TRAINING_KINDS = (F.BACKWARD, F.STEP)


def position(expanded: list, event: F.Event) -> int:
    """Index of ``event`` (or of the helper call that leads to it) in an expanded list; -1 if absent."""
    return F.position_index(expanded).get(event, -1)


def iterations(event: F.Event, depth: int = 4) -> Iterator[list]:
    """Every loop iteration the event runs in, each as an expanded, ordered list of events.

    Nothing is yielded when the event is in a function that is never called from a loop here:
    then the iteration is unknown (a framework such as Lightning may drive it).
    """
    if event.loop is not None:
        yield F.expand(event.loop.events)
        return
    if depth == 0:
        return
    for site in event.function.call_sites:
        yield from iterations(site.event, depth - 1)


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
        return "function"
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

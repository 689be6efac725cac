"""Crash isolation and time budgets: one file can never take down a run.

Every entry point (the CLI's runner, the flake8 plugin, a language server) lints through
``engine.lint_source``, which uses this module to:

- validate a file with Python's own parser before libcst sees it (``precheck``): Python rejects the
  nesting that overflows libcst's native parser's stack (3,000 nested parentheses, 5,000-term sums)
  at a tenth of libcst's cost, and a walk of its tree bounds the shapes Python accepts but libcst
  nests (a 10,000-term ``a and a and ...`` is flat in Python's tree and one level per term in
  libcst's, which segfaults);
- bound each file's analysis in time (``budget``): a SIGALRM timer raises ``BudgetExceeded`` inside
  the analysis, in the main thread of the process doing it (the CLI, a --jobs worker, flake8's
  process); elsewhere (a thread) there is no timer and the caller's process timeout applies;
- run a file in a child process (``run_isolated``) when a worker died: a segfault or a hang becomes
  that file's ZL000, and the other files keep their findings.

The ZL000 messages all start with ``zerolint could not analyze this file:``.
"""
from __future__ import annotations

import ast
import re
import signal
import threading
from contextlib import contextmanager
from typing import Callable, Optional

#: Default per-file analysis budget in seconds (`file-timeout` in [tool.zerolint], `--file-timeout`).
DEFAULT_FILE_TIMEOUT = 5.0
#: Deepest nesting (in libcst's terms) analyzed. Real code stays under 30; libcst's native parser
#: overflows its stack between 5,000 and 10,000 levels, and the semantic model's recursion gives out
#: near 1,000 (it then reports RecursionError, turned into ZL000 too).
MAX_DEPTH = 1000
ANALYZE_PREFIX = "zerolint could not analyze this file: "
#: Seconds a child may run past twice its budget (its own timer, then fixability's) before it is killed.
KILL_MARGIN = 3.0

_BOOL_WORDS = re.compile(rb"\b(?:and|or)\b")


class BudgetExceeded(BaseException):
    """Raised inside the analysis when the file's time budget is spent.

    A BaseException, so that no ``except Exception`` inside the analysis swallows it.
    """


class TooDeep(Exception):
    def __init__(self, depth: int) -> None:
        super().__init__(f"it nests expressions {depth} levels deep (the limit is {MAX_DEPTH})")
        self.depth = depth


def precheck(text: str, path: str, data: Optional[bytes] = None) -> ast.Module:
    """Parse with Python's own parser and return its tree (the engine reads statement lines from it). Raises
    SyntaxError (a real syntax error), TooDeep, or RecursionError/MemoryError (Python's parser gave up on
    the nesting)."""
    # Not the real file name: CPython re-reads a named file to place the error, and the file on disk
    # is not this text for a notebook (its JSON) or an unsaved editor buffer (stdin, the server).
    tree = compile(text, "<source>", "exec", flags=ast.PyCF_ONLY_AST, dont_inherit=True)
    raw = data if data is not None else text.encode("utf-8", "surrogatepass")
    # libcst nests each `and`/`or` operand one level deeper: only a file with many of them can be
    # deeper in libcst's tree than in Python's, whose own limits bound everything else.
    if len(_BOOL_WORDS.findall(raw)) > MAX_DEPTH // 2:
        depth = _libcst_depth(tree)
        if depth > MAX_DEPTH:
            raise TooDeep(depth)
    return tree


def _libcst_depth(tree: ast.AST) -> int:
    best = 0
    stack = [(tree, 1)]
    children = ast.iter_child_nodes
    while stack:
        node, depth = stack.pop()
        if isinstance(node, ast.BoolOp):
            depth += len(node.values) - 1
        if depth > best:
            best = depth
        for child in children(node):
            stack.append((child, depth + 1))
    return best


def _timer_usable() -> bool:
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


@contextmanager
def budget(seconds: Optional[float]):
    """Raise BudgetExceeded in this block once ``seconds`` have passed (main thread only)."""
    if not seconds or seconds <= 0 or not _timer_usable():
        yield
        return

    fired = []

    def expire(signum, frame):
        fired.append(True)
        raise BudgetExceeded()

    try:
        previous = signal.signal(signal.SIGALRM, expire)
    except (ValueError, OSError):  # not allowed here
        yield
        return
    old_delay = old_interval = 0.0
    interrupt = None
    try:
        # The timer repeats: code that swallows BaseException (importlib's lock callbacks do; libcst's
        # position codegen turns it into a KeyError) cannot keep a file past its budget, and a block
        # that ends normally after an alarm still counts as expired.
        old_delay, old_interval = signal.setitimer(signal.ITIMER_REAL, seconds, _REPEAT)
        yield
        if fired:
            raise BudgetExceeded()
    finally:
        while True:  # an alarm may fire on the way in here: stop the timer before anything else
            try:
                signal.setitimer(signal.ITIMER_REAL, 0)
                break
            except BudgetExceeded:
                continue
            except KeyboardInterrupt as exc:  # a Ctrl-C here must not leave the timer firing: stop it first
                interrupt = exc
        signal.signal(signal.SIGALRM, previous)
        if old_delay:  # someone else's timer was running: give it back what is left of it
            signal.setitimer(signal.ITIMER_REAL, max(old_delay - seconds, 0.001), old_interval)
        if interrupt is not None:  # it wins over what was on its way out (BudgetExceeded)
            raise interrupt


_REPEAT = 0.05  # seconds between alarms once the budget is spent

#: True once Ctrl-C came during ``interrupts()``. A KeyboardInterrupt raised inside the analysis can be
#: swallowed before it reaches the CLI: libcst's position codegen looks up child positions in a
#: ``finally`` and so turns it into a KeyError, which a fallback then catches. The runner checks this
#: flag between files (``check_interrupted``), so such a Ctrl-C still stops the run.
interrupted = False


def check_interrupted() -> None:
    """Raise KeyboardInterrupt if a Ctrl-C came during the run, whatever became of its exception."""
    if interrupted:
        raise KeyboardInterrupt


def _on_sigint(signum, frame):
    global interrupted
    interrupted = True
    raise KeyboardInterrupt


@contextmanager
def interrupts():
    """Ctrl-C in this block raises KeyboardInterrupt as usual, and is remembered: a block that ends in any
    other way after one (something swallowed it) raises KeyboardInterrupt. Only in the main thread and
    where SIGINT has Python's default handler (an ignored SIGINT, a background job's, stays ignored)."""
    global interrupted
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler):
        yield
        return
    interrupted = False
    try:
        signal.signal(signal.SIGINT, _on_sigint)
        yield
    except KeyboardInterrupt:
        raise
    except BaseException:  # SystemExit (the run's exit status), or what became of the interrupt
        if interrupted:
            raise KeyboardInterrupt from None
        raise
    else:
        if interrupted:
            raise KeyboardInterrupt
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        interrupted = False


def budget_message(seconds: float) -> str:
    return (f"{ANALYZE_PREFIX}its analysis took longer than the per-file budget of {seconds:g} s "
            "(raise it with --file-timeout or `file-timeout` in [tool.zerolint])")


def crash_message(exitcode: Optional[int]) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        how = f"killed by {name}"
    else:
        how = f"exit status {exitcode}"
    return f"{ANALYZE_PREFIX}the process analyzing it died ({how}); please report this file"


def run_isolated(func: Callable, item, timeout: Optional[float]):
    """``func(item)`` in a forked child. Returns ("ok", result), ("crash", exitcode) or ("timeout", None).

    Used after a worker died, to find which file killed it; only where fork exists (Linux, macOS).
    """
    import multiprocessing

    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)

    def child() -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's: it kills this child
        try:
            send.send(func(item))
        finally:
            send.close()

    process = context.Process(target=child, daemon=True)
    process.start()
    send.close()
    try:
        # The child has its own budget timer; the margin covers native code that ignores signals.
        if receive.poll(None if timeout is None else timeout * 2 + KILL_MARGIN):
            try:
                return "ok", receive.recv()
            except (EOFError, OSError):
                pass
        else:
            process.kill()
            process.join()
            return "timeout", None
        process.join()
        return "crash", process.exitcode
    finally:
        receive.close()
        if process.is_alive():
            process.kill()
            process.join()

"""Run the per-file pipeline over many files: behind the cache, in parallel, in a stable order."""
from __future__ import annotations

import os
import sys
from typing import Callable, Optional


from . import guard
from .engine import _RELEVANT, FileResult, _zl000, lint_file, lint_source
from .fix import FIXABLE, fixable_keys

#: Below this many files to parse, a process pool costs more than it saves (start-up, imports).
MIN_FILES_PER_WORKER = 8


def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


class Linted(FileResult):
    """A FileResult plus which of its findings have a fix that applies: {Finding.key}."""

    def __init__(self, *args, fixable: frozenset = frozenset(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fixable = fixable


def _will_parse(data: bytes) -> bool:
    return b"\x00" not in data and _RELEVANT.search(data) is not None


def _lint_one(item: tuple) -> Linted:
    data, display, config, path = item
    result = lint_source(data, display, config, real_path=path)
    keys = frozenset()
    if result.error is None and any(f.code in FIXABLE for f in result.findings):
        try:
            from .fix import transforms  # noqa: F401  (imported outside the budget)
        except ImportError:
            pass
        try:
            with guard.budget(config.file_timeout if config is not None else None):
                if result.notebook is not None:
                    from .notebook import fixable_keys as notebook_keys

                    keys = notebook_keys(result.notebook, result.notebook_source, result.findings, result.tree)
                else:
                    keys = fixable_keys(data, result.findings, result.tree)
        except guard.BudgetExceeded:
            keys = frozenset()
    return Linted(result.path, result.findings, result.parsed, result.error, cacheable=result.cacheable,
                  fixable=keys)


def _lint_isolated(item: tuple) -> Linted:
    """Lint one file in a child process: if it dies or hangs, the file gets a ZL000 and we go on."""
    display, config = item[1], item[2]
    timeout = config.file_timeout if config is not None and config.file_timeout else None
    status, value = guard.run_isolated(_lint_one, item, timeout)
    if status == "ok":
        return value
    message = guard.crash_message(value) if status == "crash" else guard.budget_message(timeout or 0)
    return Linted(display, [_zl000(display, 1, 1, message)], cacheable=False)


def lint_one(data: bytes, display: str, config, path=None) -> Linted:
    """One file's contents through the per-file pipeline (the engine, then the fixable marks).

    The entry point the language server shares with the command line."""
    return _lint_one((data, display, config, path))


def lint_all(items: list, jobs: int = 1, cache=None,
             progress: Optional[Callable[[int, int], None]] = None) -> list:
    """``items`` are (path, config, display); returns one FileResult per item, in the same order."""
    results: list = [None] * len(items)
    todo: list = []  # (index, data, key)
    for index, (path, config, display) in enumerate(items):
        try:
            data = path.read_bytes()
        except OSError:
            results[index] = Linted(**vars(lint_file(path, config, display)))
            continue
        key = None
        if cache is not None:
            key = cache.key(data, config, path)
            hit = cache.get(key, display)
            if hit is not None:
                results[index] = Linted(display, hit[0], fixable=hit[1])
                continue
        todo.append((index, data, key))
    done = len(items) - len(todo)
    if progress:
        progress(done, len(items))

    work = [(data, items[i][2], items[i][1], items[i][0]) for i, data, _ in todo]
    # Only files the engine will parse are worth sending to another process; the rest (no torch,
    # no training call) cost a regex search and are linted here.
    heavy = [n for n, item in enumerate(work) if _will_parse(item[0])]
    workers = min(jobs, len(heavy) // MIN_FILES_PER_WORKER)
    if workers > 1:
        outputs: list = [None] * len(work)
        for n, result in zip(heavy, _parallel([work[n] for n in heavy], workers, progress, done, len(items))):
            outputs[n] = result
        for n, item in enumerate(work):
            if outputs[n] is None:
                outputs[n] = _lint_one(item)
                guard.check_interrupted()
    else:
        outputs = []
        for n, item in enumerate(work, 1):
            outputs.append(_lint_one(item))
            guard.check_interrupted()  # a Ctrl-C that the file's analysis swallowed stops the run here
            if progress and n % 8 == 0:
                progress(done + n, len(items))
    for (index, _, key), result in zip(todo, outputs):
        results[index] = result
        if cache is not None and key is not None and result.error is None and result.parsed \
                and result.cacheable:
            cache.put(key, result.findings, result.fixable)
    if progress:
        progress(len(items), len(items))
    return results


def _worker_init() -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle: no worker tracebacks


def _parallel(work: list, workers: int, progress, done: int, total: int) -> list:
    """Lint in a process pool. A worker that dies (a segfault in native code) or stops answering
    (a hang past every file's budget) breaks the pool: the files without a result are then linted
    one by one in their own child process, so only the file at fault gets a ZL000."""
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    try:  # import once before forking so that every worker shares it
        import libcst  # noqa: F401

        from .rules import all_rules

        all_rules()
    except ImportError:
        pass
    method = "fork" if sys.platform.startswith("linux") else None
    context = multiprocessing.get_context(method)
    # Largest files first, one at a time: a file costs milliseconds, far more than sending it, and
    # the big ones last would leave a worker idle at the end. Results go back to the input order.
    order = sorted(range(len(work)), key=lambda i: -len(work[i][0]))
    outputs: list = [None] * len(work)
    budgets = [item[2].file_timeout for item in work if item[2] is not None]
    stall = (max(budgets) if budgets and min(budgets) > 0 else 60.0) * 2 + guard.KILL_MARGIN
    try:
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_worker_init)
    except (OSError, RuntimeError, ImportError):  # no processes here (sandbox, no /dev/shm): go serial
        outputs = []
        for item in work:
            outputs.append(_lint_one(item))
            guard.check_interrupted()
        return outputs
    broken = False
    try:
        futures = {pool.submit(_lint_one, work[i]): i for i in order}
        pending = set(futures)
        finished = 0
        while pending and not broken:
            complete, pending = wait(pending, timeout=stall, return_when=FIRST_COMPLETED)
            if not complete:  # no file finished for longer than any budget: a worker is stuck
                broken = True
            for future in complete:
                try:
                    outputs[futures[future]] = future.result()
                except BrokenProcessPool:
                    broken = True
                except Exception:  # the result did not come back (pickling): retried in isolation
                    pass
                finished += 1
                if progress and finished % 8 == 0:
                    progress(done + finished, total)
            guard.check_interrupted()
    except (OSError, RuntimeError):
        broken = True
    except KeyboardInterrupt:
        broken = True  # the finally below kills the workers and does not wait for them
        raise
    finally:
        if broken:
            _kill_workers(pool)
        pool.shutdown(wait=not broken, cancel_futures=True)
    for i, output in enumerate(outputs):
        if output is None:
            outputs[i] = _lint_isolated(work[i]) if method == "fork" else _lint_one(work[i])
            guard.check_interrupted()
    return outputs


def _kill_workers(pool) -> None:
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        try:
            process.kill()
        except (OSError, AttributeError):
            pass

"""The per-file pipeline: read, pre-check, parse once, build the model, run rules, place findings."""
from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any, Iterable, Optional

from . import guard
from .config import Config
from .diagnostic import Finding

# A file that mentions none of these cannot hold anything a rule looks for: it is not parsed.
_RELEVANT = re.compile(rb"torch|keras|tensorflow|backward|zero_grad|\.step\(")
# Compiled on first use (re caches them): most files hold no `noqa` at all, so a one-file run
# compiles none of these (issue 9). A line or file without "noqa" (any case) cannot match them.
_NOQA = r"#\s*noqa(?::\s*(?P<codes>[A-Za-z]+[0-9]+(?:\s*,\s*[A-Za-z]+[0-9]+)*))?"
_SURROGATE = "[\ud800-\udfff]"
_FILE_NOQA = r"^\s*#\s*zerolint:\s*noqa\s*$"


class FileResult:
    """One file's result. A plain class (no dataclass code generation at import: issue 9's one-file speed)."""

    _UNCOMPARED = ("tree", "notebook", "notebook_source")  # as the dataclass it was: left out of == and repr

    def __init__(self, path: str, findings: Optional[list] = None, parsed: bool = False, error: Optional[str] = None,
                 cacheable: bool = True, tree: Any = None, notebook: Any = None,
                 notebook_source: Optional[str] = None) -> None:
        self.path = path
        self.findings = [] if findings is None else findings
        self.parsed = parsed
        self.error = error  # an internal error (a zerolint bug), reported on stderr
        self.cacheable = cacheable  # False when the analysis was cut short (time budget): retried next run
        # The parsed tree and its positions, kept for --fix / [*] so they need no second parse.
        # Not for pickling across processes: the runner drops them once fixes are worked out.
        self.tree = tree
        # Notebooks: the parsed notebook (cells, line map) and the Python source that was linted.
        self.notebook = notebook
        self.notebook_source = notebook_source

    def _compared(self) -> dict:
        return {k: v for k, v in vars(self).items() if k not in self._UNCOMPARED}

    def __eq__(self, other) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._compared() == other._compared()

    __hash__ = None  # mutable, as the dataclass was

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self._compared().items())})"


def _zl000(path: str, line: int, column: int, message: str) -> Finding:
    return Finding(path, line, column, line, column + 1, "ZL000", "unreadable-source", "error", message)


def lint_file(path: Path, config: Config, display: Optional[str] = None) -> FileResult:
    shown = display or str(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        return FileResult(shown, [_zl000(shown, 1, 1, f"cannot read file: {exc.strerror or exc}")])
    return lint_source(data, shown, config, real_path=path)


def lint_source(data: bytes | str, path: str = "<string>", config: Optional[Config] = None,
                real_path: Optional[Path] = None, notebook: Optional[bool] = None) -> FileResult:
    """Lint one file's contents. Never raises: bad input becomes a ZL000 finding.

    ``notebook``: read ``data`` as a Jupyter notebook (None: when ``real_path`` or ``path`` ends
    with .ipynb); its findings then carry their code cell.
    """
    if notebook or notebook is None and _is_notebook(real_path if real_path is not None else path):
        from .notebook import lint_notebook

        return lint_notebook(data, path, config, real_path)
    result = FileResult(path)
    text: Optional[str] = None
    if isinstance(data, str):  # already decoded: a coding declaration in it must not decode it again
        text = data
        data = data.encode("utf-8", "surrogatepass")
    if b"\x00" in data:
        result.findings.append(_zl000(path, 1, 1, "not a Python source file (it contains NUL bytes); "
                                                  "exclude it or fix the file"))
        return result
    if not _RELEVANT.search(data):
        return result
    try:
        if text is None:
            text = _decode(data)
        elif not text.isascii() and re.search(_SURROGATE, text):
            raise UnicodeDecodeError("utf-8", data, 0, 1, "lone surrogates in the text")
    except (UnicodeDecodeError, LookupError, SyntaxError) as exc:
        result.findings.append(_zl000(path, 1, 1, f"cannot decode file: {exc}; save it as UTF-8 or "
                                                  "declare its encoding (PEP 263)"))
        return result
    if "noqa" in text.lower() and re.search(_FILE_NOQA, text, re.IGNORECASE | re.MULTILINE):
        return result
    seconds = config.file_timeout if config is not None else guard.DEFAULT_FILE_TIMEOUT
    _load_analysis()  # imports run outside the budget: a timer firing mid-import would break them
    try:
        with guard.budget(seconds):
            _analyze(result, text, path, config, real_path, data)
    except guard.BudgetExceeded:
        result.findings = [_zl000(path, 1, 1, guard.budget_message(seconds))]
        result.tree = None
        result.cacheable = False
    return result


_PARSE_LOCK = threading.Lock()


def _load_analysis() -> None:
    import libcst  # noqa: F401  (lazy: `zerolint --version` and empty runs stay instant)

    from .rules import all_rules

    all_rules()


def _analyze(result: FileResult, text: str, path: str, config, real_path, data: bytes) -> None:
    try:
        python_tree = guard.precheck(text, path, data)
    except SyntaxError as err:
        result.findings.append(_zl000(path, err.lineno or 1, max(err.offset or 1, 1),
                                      f"syntax error, file not linted: {err.msg}"))
        return
    except (guard.TooDeep, RecursionError, MemoryError) as exc:
        reason = str(exc) if isinstance(exc, guard.TooDeep) else "it nests expressions too deeply"
        result.findings.append(_zl000(path, 1, 1, guard.ANALYZE_PREFIX + reason))
        return
    except ValueError as exc:  # e.g. "source code string cannot contain null bytes"
        result.findings.append(_zl000(path, 1, 1, f"cannot parse file, not linted: {exc}"))
        return
    import libcst as cst

    try:
        module = _parse(cst, text)
    except cst.ParserSyntaxError as exc:
        result.findings.append(_syntax_error(path, text, exc))
        return
    except RecursionError:
        result.findings.append(_zl000(path, 1, 1, guard.ANALYZE_PREFIX + "it nests expressions too deeply"))
        return
    except Exception as exc:  # libcst raises a few other types on odd input
        result.findings.append(_zl000(path, 1, 1, f"cannot parse file, not linted: {exc}"))
        return
    result.parsed = True
    try:
        findings, positions = _run_rules(module, text, path, config, real_path, python_tree)
        result.findings.extend(findings)
        if positions is not None:
            result.tree = (module, positions)
    except RecursionError:
        result.findings = [_zl000(path, 1, 1, guard.ANALYZE_PREFIX + "it nests expressions too deeply "
                                  "for the semantic model")]
    except Exception as exc:  # a bug in zerolint must not stop the other files
        import traceback

        result.error = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=-3)}"


def _parse(cst, text: str):
    """``cst.parse_module`` without re-validating each node the parser builds.

    Every libcst node checks its own fields when constructed (``__post_init__`` -> ``_validate``): useful for
    trees built by hand, redundant for the parser's own output, and about a tenth of a parse (issue 9). Fixes
    build their nodes outside this window, so they stay validated."""
    base = cst.CSTNode
    check = base.__dict__.get("__post_init__")
    if check is None or _PARSE_LOCK.locked():  # another thread is parsing: validate rather than wait
        return cst.parse_module(text)
    with _PARSE_LOCK:
        base.__post_init__ = _no_validation
        try:
            return cst.parse_module(text)
        finally:
            base.__post_init__ = check


def _no_validation(self) -> None:
    pass


def _is_notebook(path) -> bool:
    return str(path).lower().endswith(".ipynb")


def _syntax_error(path: str, text: str, exc: Exception) -> Finding:
    """Locate the error with Python's own parser, whose positions and messages users know."""
    try:
        # Not the real file name: CPython re-reads the named file to place the error, and the file on
        # disk is not this text for a notebook (its JSON) or an unsaved editor buffer.
        compile(text, "<source>", "exec", flags=0x400, dont_inherit=True)  # ast.PyCF_ONLY_AST
    except SyntaxError as err:
        return _zl000(path, err.lineno or 1, max(err.offset or 1, 1),
                      f"syntax error, file not linted: {err.msg}")
    except (ValueError, RecursionError, MemoryError):
        pass
    line = getattr(exc, "raw_line", 1) or 1
    column = (getattr(exc, "raw_column", 0) or 0) + 1
    detail = str(exc).strip().splitlines()
    return _zl000(path, line, column, "libcst cannot parse this file, not linted: "
                  + (detail[1] if len(detail) > 1 else detail[0] if detail else "unsupported syntax"))


def _decode(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8")
    return data.decode(source_encoding(data))


def source_encoding(data: bytes) -> str:
    """The encoding a PEP 263 declaration in the first two lines names, else utf-8 (a BOM is utf-8)."""
    if data.startswith(b"\xef\xbb\xbf"):
        return "utf-8"
    head = data.split(b"\n", 2)[:2]
    for line in head:
        match = re.match(rb"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)", line)
        if match:
            return match.group(1).decode("ascii")
    return "utf-8"


def _run_rules(module, text: str, path: str, config: Optional[Config], real_path: Optional[Path],
               python_tree=None) -> list:
    from .model import SemanticModel
    from .rules import all_rules

    rules = [r for r in all_rules().values() if config is None or config.is_enabled(r.code, real_path)]
    if not rules:
        return [], None
    model = SemanticModel(module, path)
    reports = []
    for rule in rules:
        for report in rule.check(model):
            reports.append((rule, report))
    if not reports:
        return [], None
    positions = _positions(module, [report.node for _, report in reports], python_tree)
    lines = text.splitlines()
    findings = []
    seen = set()
    placed = []
    for rule, report in reports:
        span = positions.get(report.node)
        if span is None:
            continue
        if _suppressed(lines, span.start.line, rule.code):
            continue
        placed.append((rule, report, span))
    repeats = _repeats(placed)
    for rule, report, span in placed:
        start, end = span.start, span.end
        key = (rule.code, start.line, start.column)
        group = (rule.code, report.group) if report.group is not None else None
        if key in seen or group in repeats and repeats[group][0] != (start.line, start.column):
            continue
        seen.add(key)
        message = report.message
        if group in repeats and len(repeats[group]) > 1:
            others = sorted({line for line, _ in repeats[group][1:]})
            message += (f" The same output reaches the same loss again at line{'s' if len(others) > 1 else ''} "
                        f"{', '.join(str(line) for line in others)} in this iteration: one fix covers every call.")
        findings.append(Finding(path, start.line, start.column + 1, end.line, end.column + 1, rule.code,
                                rule.name, report.severity or rule.severity, message))
    return findings, positions


def _repeats(placed: list) -> dict:
    """(code, group) -> the sorted (line, column) of the reports of one bug seen at several call sites."""
    lines: dict = {}
    for rule, report, span in placed:
        if report.group is not None:
            lines.setdefault((rule.code, report.group), set()).add((span.start.line, span.start.column))
    return {key: sorted(found) for key, found in lines.items()}


def _positions(module, nodes: Optional[list] = None, python_tree=None) -> dict:
    """Positions for the tree, computed only for files that have findings.

    With the reported ``nodes`` and Python's own tree of the same text, only the top-level statements that
    hold a reported node are generated (``_statement_positions``); the other nodes have no entry (fixes ask
    ``fix.transforms.Tree`` for more, which then computes them all). Otherwise every node gets one.

    Running PositionProvider's code generation directly skips MetadataWrapper's extra tree walk
    (about 2x faster); the public route is the fallback if libcst's internals change.
    """
    from libcst.metadata import MetadataWrapper, PositionProvider

    try:
        if nodes and python_tree is not None:
            partial = _statement_positions(module, nodes, python_tree)
            if partial is not None:
                return partial
        provider = PositionProvider()
        provider._gen_impl(module)
        return provider._computed
    except Exception as exc:  # libcst's internals changed, or an interrupt became a KeyError
        _raise_interruption(exc)
        return MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)


def _statement_positions(module, nodes: list, python_tree) -> Optional[dict]:
    """Positions of the nodes of the top-level statements that hold ``nodes``, or None (then all are computed).

    Generating positions costs about 20 µs a node, most of a run that has findings (issue 9). Python's parser
    already knows where each top-level statement starts (``lineno``, a decorator's for a decorated one): each
    statement holding a reported node is generated alone from that line. Each generated statement's own
    start must come out on Python's line, else the two trees were not aligned and None is returned.
    """
    import libcst as cst
    from libcst.metadata import PositionProvider
    from libcst.metadata.position_provider import PositionProvidingCodegenState

    from .model.walk import descendants

    lines = _first_lines(module, python_tree)
    if lines is None:
        return None
    wanted = {id(node) for node in nodes}
    provider = PositionProvider()
    computed = provider._computed
    for stmt, (line, keyword_line) in zip(module.body, lines):
        if not wanted:
            break
        held = [id(node) for node in descendants(stmt) if id(node) in wanted]
        if not held:
            continue
        skipped = len(stmt.leading_lines) + (len(stmt.decorators[0].leading_lines)
                                              if isinstance(stmt, (cst.FunctionDef, cst.ClassDef)) and stmt.decorators
                                              else 0)
        state = PositionProvidingCodegenState(default_indent=module.default_indent,
                                              default_newline=module.default_newline, provider=provider,
                                              line=line - skipped)
        stmt._codegen(state)
        if computed[stmt].start.line != keyword_line:  # a definition's own span starts at `def`/`class`
            return None
        wanted.difference_update(held)
    return computed if not wanted else None


def _first_lines(module, python_tree) -> Optional[list]:
    """(first line, keyword line) of each top-level statement of ``module`` (libcst) per Python's tree of the
    same text: one libcst line of ``a; b`` is several Python statements; a decorated definition starts at its
    first decorator, and its keyword (``def``/``class``, where libcst's span of it starts) comes later."""
    import libcst as cst

    body = python_tree.body
    at = 0
    lines = []
    for stmt in module.body:
        if at >= len(body):
            return None
        first = body[at]
        decorators = getattr(first, "decorator_list", None)
        lines.append((decorators[0].lineno if decorators else first.lineno, first.lineno))
        at += len(stmt.body) if isinstance(stmt, cst.SimpleStatementLine) else 1
    return lines if at == len(body) else None


def _raise_interruption(exc: BaseException) -> None:
    """Raise the KeyboardInterrupt or BudgetExceeded that ``exc`` replaced, if any.

    libcst's position codegen reads child positions in a ``finally``: an interrupt or an alarm raised
    inside it leaves them unrecorded and becomes a KeyError there, which must not pass for an error
    of libcst's internals (the fallback would redo the work, and the interrupt would be lost)."""
    seen = exc.__context__
    while seen is not None:
        if isinstance(seen, KeyboardInterrupt):
            raise KeyboardInterrupt from None
        if isinstance(seen, guard.BudgetExceeded):
            raise guard.BudgetExceeded() from None
        seen = seen.__context__


def _suppressed(lines: list, line: int, code: str) -> bool:
    if not 0 < line <= len(lines):
        return False
    text = lines[line - 1]
    if "noqa" not in text.lower():
        return False
    match = re.search(_NOQA, text, re.IGNORECASE)
    if match is None:
        return False
    codes = match.group("codes")
    if not codes:
        return True
    return any(code.startswith(c.strip().upper()) for c in codes.split(","))


def sort_findings(findings: Iterable[Finding]) -> list:
    return sorted(findings, key=Finding.sort_key)

"""Jupyter notebooks: code cells → one Python source with a line map, and fixes spliced back.

The code cells, in order, are one program (a model defined in cell 3 and trained in cell 7 is one
script). Markdown and raw cells are skipped. IPython syntax is neutralized without moving any line:
a line magic, shell escape or help query (``%matplotlib inline``, ``!pip install x``, ``x = !ls``,
``obj?``) becomes ``pass`` (or ``x = None``) at its indentation, its ``\\`` continuation lines become
blank, and a cell magic either keeps its Python body (``%%time``, ``%%capture``...) or blanks the
whole cell (``%%bash``, ``%%writefile``...).

Positions: a finding is reported as (cell, line in cell, column), where ``cell`` counts the code
cells from 1, in file order (markdown and raw cells are not counted; the execution count
``In [n]`` is not used, since it changes every run). ``file_line`` is the line of the notebook's
JSON file holding that source line, for formats that point into the file (SARIF, GitHub).

Fixes edit the combined source; the result is split back by a line diff, and only the ``source``
values of the cells that changed are rewritten in the JSON text: everything else (outputs,
execution counts, metadata, indentation, key order, escapes, trailing newline) stays byte-identical.
"""
from __future__ import annotations

import bisect
import dataclasses
import json
import re
from pathlib import Path
from typing import Optional

from .lazy_dataclass import dataclass  # @dataclass, its methods generated on first use (issue 9)

SUFFIX = ".ipynb"

#: Cell magics whose body is Python: the magic line is neutralized, the body linted.
PYTHON_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun", "debug", "pypy", "python", "python3",
                                "markdown_if_python"})
_CELL_MAGIC = re.compile(r"^\s*%%(\w+)")
_LINE_MAGIC = re.compile(r"^(\s*)(?:%|!)")
_ASSIGN_MAGIC = re.compile(r"^(\s*)([A-Za-z_][\w.\[\]'\", ]*?)\s*=\s*[%!](?!=)")
_HELP = re.compile(r"^(\s*)(?:\?{1,2}[\w.]+|[\w.\[\]()]+\?{1,2})\s*$")
_AUTOMAGIC = re.compile(r"^(\s*)(?:pip|conda)\s+(?:install|uninstall|list|show|freeze|download|update)\b")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


class NotebookError(Exception):
    """Not a notebook zerolint can read: reported as ZL000."""


def is_notebook(path) -> bool:
    return str(path).lower().endswith(SUFFIX)


@dataclass
class Cell:
    number: int  # 1-based among code cells
    index: int  # position in the notebook's `cells` array
    lines: list  # raw source lines, without line breaks
    ends_with_newline: bool
    start: int  # 0-based index of its first line in the combined source
    file_lines: list  # per source line: the line of the JSON file that holds it


def neutralize(lines: list) -> list:
    """The cell's lines with IPython syntax replaced by Python of the same line count.

    Only a line that starts a logical line can be IPython syntax: inside brackets, strings or after a
    ``\\`` continuation, ``%`` is Python's modulo (``print("%d"\\n      % n)``) and ``!`` or ``?`` are text.
    """
    out = list(lines)
    head = next((i for i, line in enumerate(lines) if line.strip()), None)
    if head is not None:
        match = _CELL_MAGIC.match(lines[head])
        if match:
            if match.group(1) not in PYTHON_CELL_MAGICS:
                return [""] * len(lines)
            out[head] = ""
            lines = [""] * (head + 1) + lines[head + 1:]
    state = _Scan()
    magic_continues = False
    for i, line in enumerate(lines):
        if magic_continues:  # a magic's `\` continuation line
            out[i] = ""
            magic_continues = line.rstrip().endswith("\\")
            continue
        if state.at_logical_start():
            assign = _ASSIGN_MAGIC.match(line)
            match = None if assign else _LINE_MAGIC.match(line) or _HELP.match(line) or _AUTOMAGIC.match(line)
            if assign or match:
                out[i] = f"{assign.group(1)}{assign.group(2)} = None" if assign else f"{match.group(1)}pass"
                magic_continues = line.rstrip().endswith("\\")
                continue
        state.feed(line)
    return out


class _Scan:
    """Bracket depth, open triple-quoted string and backslash continuation across Python lines."""

    def __init__(self) -> None:
        self.depth = 0
        self.quote: Optional[str] = None  # the open triple quote, if any
        self.continued = False

    def at_logical_start(self) -> bool:
        return self.depth == 0 and self.quote is None and not self.continued

    def feed(self, line: str) -> None:
        i, n = 0, len(line)
        while i < n:
            c = line[i]
            if self.quote is not None:
                if c == "\\":
                    i += 2
                    continue
                if line.startswith(self.quote, i):
                    i += len(self.quote)
                    self.quote = None
                    continue
                i += 1
                continue
            if c == "#":
                break
            if c in "\"'":
                triple = line[i:i + 3]
                if triple in ('"""', "'''"):
                    self.quote = triple
                    i += 3
                    continue
                j = i + 1
                while j < n and line[j] != c:
                    j += 2 if line[j] == "\\" else 1
                i = j + 1
                continue
            if c in "([{":
                self.depth += 1
            elif c in ")]}":
                self.depth = max(0, self.depth - 1)
            i += 1
        self.continued = self.quote is None and line.rstrip().endswith("\\") and not line.lstrip().startswith("#")


def _lines(text: str) -> list:
    """Lines split at "\\n" only (str.splitlines also splits at form feeds and U+2028)."""
    pieces = text.split("\n")
    return pieces[:-1] if pieces and pieces[-1] == "" else pieces


def _split_lines(source: str) -> tuple:
    pieces = _LINE_BREAK.split(source)
    if pieces and pieces[-1] == "":
        return pieces[:-1], True
    return pieces, False


# --- the JSON text, with the spans of every cell's `source` value -------------------------------

_WS = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


def _skip(text: str, i: int) -> int:
    return _WS.match(text, i).end()


def _object_items(text: str, i: int):
    """Yield (key, value start) for the object at ``i``; the caller consumes each value and sends its end."""
    if text[i:i + 1] != "{":
        raise ValueError("expected an object")
    i = _skip(text, i + 1)
    if text[i:i + 1] == "}":
        return i + 1
    while True:
        key, i = json.decoder.scanstring(text, i + 1) if text[i:i + 1] == '"' else (None, None)
        if key is None:
            raise ValueError("expected a key")
        i = _skip(text, i)
        if text[i:i + 1] != ":":
            raise ValueError("expected ':'")
        i = _skip(text, i + 1)
        i = _skip(text, (yield key, i))
        if text[i:i + 1] == ",":
            i = _skip(text, i + 1)
            continue
        if text[i:i + 1] == "}":
            return i + 1
        raise ValueError("expected ',' or '}'")


def _walk_object(text: str, i: int, on_value) -> int:
    """Walk the object at ``i``: ``on_value(key, start)`` returns the end of each value."""
    items = _object_items(text, i)
    try:
        key, start = next(items)
        while True:
            key, start = items.send(on_value(key, start))
    except StopIteration as stop:
        return stop.value


def _walk_array(text: str, i: int, on_item) -> int:
    if text[i:i + 1] != "[":
        raise ValueError("expected an array")
    i = _skip(text, i + 1)
    if text[i:i + 1] == "]":
        return i + 1
    while True:
        i = _skip(text, on_item(i))
        if text[i:i + 1] == ",":
            i = _skip(text, i + 1)
        elif text[i:i + 1] == "]":
            return i + 1
        else:
            raise ValueError("expected ',' or ']'")


def _value_end(text: str, i: int) -> int:
    return _DECODER.raw_decode(text, i)[1]


def _source_spans(text: str) -> list:
    """Per cell: (start, end, [(start, end) of each string element] or None for a string source)."""
    spans: list = []

    def cell_value(key, start):
        if key != "source":
            return _value_end(text, start)
        if text[start:start + 1] == "[":
            elements: list = []

            def element(j):
                end = _value_end(text, j)
                elements.append((j, end))
                return end

            end = _walk_array(text, start, element)
            spans[-1] = (start, end, elements)
            return end
        end = _value_end(text, start)
        spans[-1] = (start, end, None)
        return end

    def cell(j):
        spans.append(None)
        return _walk_object(text, j, cell_value)

    def top_value(key, start):
        if key == "cells":
            spans.clear()
            return _walk_array(text, start, cell)
        return _value_end(text, start)

    end = _walk_object(text, _skip(text, 0), top_value)
    if text[_skip(text, end):].strip():
        raise ValueError("extra data after the notebook")
    return spans


class Notebook:
    """A parsed notebook: its JSON text, its code cells, and the combined Python source."""

    def __init__(self, text: str, data: dict, spans: list, bom: bool) -> None:
        self.text = text
        self.data = data
        self.spans = spans
        self.bom = bom
        self._newlines: Optional[list] = None
        self.cells: list[Cell] = []
        self.python = True
        parts: list = []
        self.line_cell: list = []  # combined line index -> Cell
        metadata = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
        language = metadata.get("language_info", {})
        name = language.get("name") if isinstance(language, dict) else None
        if isinstance(name, str) and name.lower() not in ("python", "python3", "ipython", ""):
            self.python = False
        number = 0
        for index, cell in enumerate(data["cells"]):
            if cell.get("cell_type") != "code":
                continue
            number += 1
            source = cell.get("source", "")
            joined = "".join(source) if isinstance(source, list) else source
            lines, ends = _split_lines(joined)
            file_lines = self._file_lines(index, source, lines)
            entry = Cell(number, index, lines, ends, len(self.line_cell), file_lines)
            self.cells.append(entry)
            self.line_cell.extend([entry] * len(lines))
            parts.extend(line + "\n" for line in neutralize(lines))
        self.source = "".join(parts)

    @classmethod
    def parse(cls, data: bytes | str) -> "Notebook":
        bom = False
        if isinstance(data, bytes):
            if data.startswith(b"\xef\xbb\xbf"):
                data, bom = data[3:], True
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise NotebookError(f"not a notebook: not UTF-8 ({exc.reason} at byte {exc.start})") from None
        else:
            text = data
        try:
            parsed = json.loads(text)
        except ValueError as exc:
            raise NotebookError(f"not a notebook: invalid JSON ({exc})") from None
        if not isinstance(parsed, dict):
            raise NotebookError("not a notebook: the JSON is not an object")
        if "cells" not in parsed and "worksheets" in parsed:
            raise NotebookError("nbformat 3 notebooks are not supported; convert it with "
                                "`jupyter nbconvert --to notebook --nbformat 4`")
        cells = parsed.get("cells")
        if not isinstance(cells, list):
            raise NotebookError("not a notebook: no `cells` array")
        for n, cell in enumerate(cells, 1):
            if not isinstance(cell, dict) or not isinstance(cell.get("cell_type"), str):
                raise NotebookError(f"not a notebook: cell {n} (of all cells) has no `cell_type`")
            source = cell.get("source", "")
            if not (isinstance(source, str) or isinstance(source, list) and all(isinstance(s, str) for s in source)):
                raise NotebookError(f"not a notebook: cell {n} (of all cells) has a `source` that is "
                                    "neither a string nor a list of strings")
        try:
            spans = _source_spans(text)
        except (ValueError, IndexError):
            spans = [None] * len(cells)  # readable by json, not by the walker: lint, but do not fix
        if len(spans) != len(cells):
            spans = [None] * len(cells)
        return cls(text, parsed, spans, bom)

    def _file_lines(self, index: int, source, lines: list) -> list:
        span = self.spans[index] if index < len(self.spans) else None
        if span is None:
            return [None] * len(lines)
        start, _, elements = span
        if elements is None:
            return [self._line_at(start)] * len(lines)
        # the element holding the start of each line of the joined source
        starts, offset = [], 0
        for element in source:
            starts.append(offset)
            offset += len(element)
        element_lines = [self._line_at(s) for s, _ in elements]
        out, offset, k = [], 0, 0
        for line in lines:
            while k + 1 < len(starts) and starts[k + 1] <= offset:
                k += 1
            out.append(element_lines[k] if k < len(element_lines) else None)
            offset += len(line) + 1
        return out

    def _line_at(self, offset: int) -> int:
        if self._newlines is None:
            self._newlines = [m.start() for m in re.finditer("\n", self.text)]
        return bisect.bisect_left(self._newlines, offset) + 1

    # --- positions ------------------------------------------------------------------------------

    def place(self, line: int) -> tuple:
        """(cell, line in cell, line of the JSON file) of a 1-based line of the combined source."""
        if not self.line_cell:
            return None, line, None
        index = min(max(line, 1), len(self.line_cell)) - 1
        cell = self.line_cell[index]
        return cell.number, index - cell.start + 1, cell.file_lines[index - cell.start]

    def place_finding(self, f):
        cell, line, file_line = self.place(f.line)
        end_cell, end_line, _ = self.place(f.end_line)
        end_column = f.end_column
        if end_cell != cell:  # never across cells: end at the end of the start line
            end_line = line
            end_column = len(self.cell(cell).lines[line - 1]) + 1 if cell else f.end_column
        return dataclasses.replace(f, line=line, end_line=end_line, end_column=end_column, cell=cell,
                                   file_line=file_line)

    def unplace_finding(self, f):
        """The finding in combined-source coordinates (the inverse of place_finding)."""
        if f.cell is None:
            return f
        cell = self.cell(f.cell)
        return dataclasses.replace(f, line=cell.start + f.line, end_line=cell.start + f.end_line, cell=None,
                                   file_line=None)

    def cell(self, number: int) -> Cell:
        return self.cells[number - 1]

    # --- fixes ----------------------------------------------------------------------------------

    def with_source(self, new_source: str, base: Optional[str] = None) -> Optional[str]:
        """The notebook's JSON text after the combined source (or ``base``, the source with broken
        cells blanked) became ``new_source``; None when the change cannot be split into cells
        unambiguously or the JSON layout is not understood."""
        old = _lines(self.source if base is None else base)
        new = _lines(new_source)
        if len(old) != sum(len(cell.lines) for cell in self.cells):
            return None
        assigned: list = [[] for _ in self.cells]
        if not self.cells:
            return None
        raw_of = [(cell, k) for cell in self.cells for k in range(len(cell.lines))]
        import difflib  # only when a fix changes cells (about a millisecond to import)

        matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if tag == "equal":
                for i in range(i1, i2):
                    cell, k = raw_of[i]
                    assigned[cell.number - 1].append(cell.lines[k])  # the raw line: magics come back
                continue
            if i1 < i2:
                owners = {raw_of[i][0].number for i in range(i1, i2)}
                if len(owners) != 1:
                    return None
                owner = owners.pop()
            else:  # a pure insertion between two lines: an indented one continues the block above
                before = raw_of[i1 - 1][0].number if i1 > 0 else None
                after = raw_of[i1][0].number if i1 < len(raw_of) else None
                indented = any(line[:1] in (" ", "\t") for line in new[j1:j2])
                owner = before if (indented or after is None) and before is not None else after
                if owner is None:
                    return None
            assigned[owner - 1].extend(new[j1:j2])
        text = self.text
        edits = []
        for cell, lines in zip(self.cells, assigned):
            if lines == cell.lines:
                continue
            span = self.spans[cell.index]
            if span is None:
                return None
            edits.append((span, self._render_source(cell, lines, span)))
        for (start, end, _), rendered in sorted(edits, key=lambda e: -e[0][0]):
            text = text[:start] + rendered + text[end:]
        return text

    def _render_source(self, cell: Cell, lines: list, span: tuple) -> str:
        start, end, elements = span
        ascii_only = "\\u" in self.text and all(ord(c) < 128 for c in self.text)
        pieces = [line + "\n" for line in lines]
        if pieces and not cell.ends_with_newline:
            pieces[-1] = pieces[-1][:-1]
        if elements is None:
            return json.dumps("".join(pieces), ensure_ascii=ascii_only)
        raw = {}
        for s, e in elements:
            raw.setdefault(json.loads(self.text[s:e]), self.text[s:e])
        if elements:
            lead = self.text[start + 1:elements[0][0]]
            trail = self.text[elements[-1][1]:end - 1]
            sep = self.text[elements[0][1]:elements[1][0]] if len(elements) > 1 else "," + lead
        else:
            lead, trail, sep = "\n", "\n", ",\n"
        encoded = [raw.get(p) or json.dumps(p, ensure_ascii=ascii_only) for p in pieces]
        return "[" + lead + sep.join(encoded) + trail + "]" if encoded else "[]"

    def encode(self, text: str) -> bytes:
        return (b"\xef\xbb\xbf" if self.bom else b"") + text.encode("utf-8")


def parse_all(files) -> dict:
    """{display: Notebook} for the notebooks among (path, display) pairs that parse."""
    out = {}
    for path, display in files:
        if is_notebook(path):
            try:
                out[display] = Notebook.parse(Path(path).read_bytes())
            except (OSError, NotebookError):
                pass
    return out


def script_source(data: bytes | str) -> str:
    """The code cells as one Python script (for --confirm); raises NotebookError."""
    return Notebook.parse(data).source


# --- linting ------------------------------------------------------------------------------------


def lint_notebook(data: bytes | str, path: str, config=None, real_path: Optional[Path] = None):
    """The engine's result for a notebook: findings placed in cells; ``result.notebook`` kept for fixes."""
    from .engine import FileResult, _zl000, lint_source

    try:
        notebook = Notebook.parse(data)
    except NotebookError as exc:
        return FileResult(path, [_zl000(path, 1, 1, str(exc))])
    if not notebook.python:
        return FileResult(path, notebook=notebook, notebook_source=notebook.source)
    source = notebook.source
    errors: list = []
    broken: set = set()
    while True:
        result = lint_source(source, path, config, real_path=real_path, notebook=False)
        syntax = next((f for f in result.findings if f.code == "ZL000"), None)
        if syntax is None or not notebook.line_cell:
            break
        # Jupyter runs the other cells anyway: report the broken cell, lint the rest without it.
        cell = notebook.line_cell[min(max(syntax.line, 1), len(notebook.line_cell)) - 1]
        errors.append(_cell_error(notebook, cell, syntax, path))
        if cell.number in broken:
            break
        broken.add(cell.number)
        lines = source.split("\n")
        lines[cell.start:cell.start + len(cell.lines)] = [""] * len(cell.lines)
        source = "\n".join(lines)
    placed = [notebook.place_finding(f) for f in result.findings if f.code != "ZL000"]
    result.findings = errors + placed
    result.notebook = notebook
    result.notebook_source = source
    return result


def _cell_error(notebook: Notebook, cell: Cell, error, path: str):
    """The syntax error placed in its cell, located by compiling that cell alone when it fails alone."""
    from .engine import _syntax_error

    placed = notebook.place_finding(error)
    if error.message.startswith("syntax error"):
        text = "".join(line + "\n" for line in neutralize(cell.lines))
        alone = _syntax_error(path, text, error)
        if alone.message.startswith("syntax error") and 0 < alone.line <= len(cell.lines):
            placed = dataclasses.replace(placed, line=alone.line, column=alone.column, end_line=alone.line,
                                         end_column=alone.column + 1, message=alone.message,
                                         file_line=cell.file_lines[alone.line - 1])
    return dataclasses.replace(placed, message=placed.message.replace(
        "file not linted", "cell not linted (the other cells were)"))


def fixable_keys(notebook: Notebook, source: str, findings: list, tree) -> frozenset:
    from .fix import fixable_keys as python_keys

    combined = [notebook.unplace_finding(f) for f in findings]
    keys = python_keys(source, combined, tree)
    out = set()
    for f, c in zip(findings, combined):
        if (c.line, c.column, c.code, None) in keys:
            out.add(f.key)
    return frozenset(out)


def fix_notebook(data: bytes, display: str, config=None, real_path: Optional[Path] = None) -> tuple:
    """(old text, new text, number fixed) of the notebook's JSON; (text, text, 0) when nothing applies."""
    from .fix.apply import fix_text

    result = lint_notebook(data, display, config, real_path)
    notebook = result.notebook
    if notebook is None:
        raise NotebookError("not a notebook")
    text = notebook.text
    if not notebook.python or notebook.bom:
        return text, text, 0
    base = result.notebook_source  # broken cells blanked: the rest is still fixed
    new_source, count = fix_text(base, display, config, real_path=real_path)
    if not count or new_source == base:
        return text, text, 0
    try:
        new_text = notebook.with_source(new_source, base)
    except (IndexError, ValueError):  # a change this module cannot place: no fix rather than a crash
        new_text = None
    if new_text is None:
        return text, text, 0
    return text, new_text, count

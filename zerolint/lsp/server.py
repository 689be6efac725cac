"""The language server (pygls): diagnostics, hover with the rule's page, code actions for safe fixes.

- Diagnostics on open, on change (debounced: ``initializationOptions.debounce`` seconds, default
  0.15) and on save, for Python files and for the code cells of notebooks (clients with notebook
  document sync, e.g. VS Code): the cells are linted together, as the CLI lints an .ipynb, and each
  cell gets its own findings.
- Each diagnostic has its code, severity, ``source: zerolint``, a link to the rule page
  (``codeDescription``); hovering it shows the page itself.
- Code actions: ``quickfix`` per fixable finding (the CLI's ``[*]``) and ``source.fixAll.zerolint``,
  as minimal line edits, each verified like ``--fix`` (the file still parses, the finding is gone,
  no other finding appeared).
- ``[tool.zerolint]``: the nearest config of each document, reloaded (and open documents re-linted)
  when a pyproject.toml or zerolint.toml is saved or changes on disk (watched files).
"""
from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Optional
from urllib.parse import unquote, urlparse

from lsprotocol import types
from pygls.lsp.server import LanguageServer

from .. import __version__
from ..config import Config, ConfigError, ConfigFinder
from ..fix import FIXABLE
from ..runner import lint_one

DEBOUNCE = 0.15
RULE_URL = "https://github.com/your-org/zerolint/blob/main/rules/{code}.md"
CONFIG_NAMES = ("pyproject.toml", "zerolint.toml")


def _path_of(uri: str) -> Optional[Path]:
    parsed = urlparse(uri)
    if parsed.scheme != "file":
        return None
    return Path(unquote(parsed.path))


def _utf16(line: str, column: int) -> int:
    """A 0-based code-point column as LSP's UTF-16 code units."""
    prefix = line[:column]
    return column if prefix.isascii() else len(prefix.encode("utf-16-le")) // 2


def _code_points(line: str, character: int) -> int:
    if line.isascii():
        return character
    units = 0
    for index, char in enumerate(line):
        if units >= character:
            return index
        units += 2 if ord(char) > 0xFFFF else 1
    return len(line)


class ZerolintServer(LanguageServer):
    def __init__(self) -> None:
        sync = types.NotebookDocumentSyncOptions(notebook_selector=[
            types.NotebookDocumentFilterWithCells(cells=[types.NotebookCellLanguage(language="python")],
                                                  notebook="*")])
        super().__init__("zerolint", __version__, text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
                         notebook_document_sync=sync)
        self.finder = ConfigFinder(Path.cwd())
        self.debounce = DEBOUNCE
        self.pending: dict = {}  # uri -> asyncio task of a debounced lint
        self.findings: dict = {}  # text uri -> [(Finding, fixable)], for hover and code actions

    # --- configuration ---------------------------------------------------------------------------

    def config_for(self, path: Optional[Path]) -> Optional[Config]:
        try:
            return self.finder.for_path(path if path is not None else Path.cwd() / "untitled.py")
        except ConfigError as exc:
            self.window_show_message(types.ShowMessageParams(types.MessageType.Error, f"zerolint: {exc}"))
            return None

    def reload_config(self) -> None:
        self.finder = ConfigFinder(self.finder.default.root)
        for uri in list(self.workspace.text_documents):
            if self.workspace.get_notebook_document(cell_uri=uri) is None:
                self.lint_text(uri)
        for uri in list(self.workspace.notebook_documents):
            self.lint_notebook(uri)

    # --- linting ---------------------------------------------------------------------------------

    def analyze(self, text: str, path: Optional[Path], display: str) -> list:
        """[(Finding, fixable)] for one source, through the CLI's per-file entry point."""
        config = self.config_for(path)
        if config is None or (path is not None and config.is_excluded(path)):
            return []
        result = lint_one(text.encode("utf-8"), display, config, path)
        if result.error:
            self.window_log_message(types.LogMessageParams(types.MessageType.Error,
                                                           f"zerolint: internal error on {display}: {result.error}"))
        return [(f, f.key in result.fixable) for f in result.findings if config.is_enabled(f.code, path)]

    def lint_text(self, uri: str) -> None:
        document = self.workspace.get_text_document(uri)
        path = _path_of(uri)
        if path is not None and path.suffix.lower() not in (".py", ".pyi", ".ipynb", ""):
            return
        display = str(path) if path is not None else "untitled.py"
        found = self.analyze(document.source, path, display)
        if path is not None and path.suffix.lower() == ".ipynb":  # a notebook opened as its JSON text
            found = [(_on_json_line(f), fixable) for f, fixable in found]
        self.publish(uri, document.source, found, document.version)

    def lint_notebook(self, notebook_uri: str) -> None:
        notebook = self.workspace.get_notebook_document(notebook_uri=notebook_uri)
        if notebook is None:
            return
        code_cells = [cell for cell in notebook.cells if cell.kind == types.NotebookCellKind.Code]
        sources = [self.workspace.get_text_document(cell.document).source for cell in code_cells]
        data = {"cells": [{"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
                           "source": s} for s in sources],
                "metadata": {"language_info": {"name": "python"}}, "nbformat": 4, "nbformat_minor": 5}
        path = _path_of(notebook_uri)
        display = str(path) if path is not None else "untitled.ipynb"
        if not display.lower().endswith(".ipynb"):
            display += ".ipynb"
        found = self.analyze(json.dumps(data), path if path is not None and path.suffix == ".ipynb" else None,
                             display) if code_cells else []
        for number, (cell, source) in enumerate(zip(code_cells, sources), 1):
            self.publish(cell.document, source, [(f, fixable) for f, fixable in found if f.cell == number])

    def publish(self, uri: str, text: str, found: list, version: Optional[int] = None) -> None:
        self.findings[uri] = found
        lines = text.splitlines() or [""]
        diagnostics = [self.diagnostic(f, fixable, lines) for f, fixable in found]
        self.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics, version=version))

    @staticmethod
    def range_of(f, lines: list) -> types.Range:
        def position(line: int, column: int) -> types.Position:
            row = min(max(line - 1, 0), len(lines) - 1)
            return types.Position(row, _utf16(lines[row], max(column - 1, 0)))

        return types.Range(position(f.line, f.column), position(f.end_line, f.end_column))

    def diagnostic(self, f, fixable: bool, lines: list) -> types.Diagnostic:
        severity = types.DiagnosticSeverity.Warning if f.severity == "warning" else types.DiagnosticSeverity.Error
        return types.Diagnostic(
            range=self.range_of(f, lines), message=f.message, severity=severity, code=f.code, source="zerolint",
            code_description=types.CodeDescription(href=RULE_URL.format(code=f.code)) if f.code != "ZL000" else None,
            data={"fixable": fixable})

    def schedule(self, key: str, action) -> None:
        task = self.pending.pop(key, None)
        if task is not None:
            task.cancel()
        if self.debounce <= 0:
            action()
            return

        async def later():
            await asyncio.sleep(self.debounce)
            self.pending.pop(key, None)
            action()

        self.pending[key] = asyncio.ensure_future(later())

    # --- fixes -----------------------------------------------------------------------------------

    def fixed_text(self, uri: str, finding=None) -> Optional[str]:
        """The document with one finding fixed (or all with None), verified as --fix does."""
        from collections import Counter

        from ..fix.apply import _verified, fix_text
        from ..fix.transforms import FIXES, Tree, apply

        document = self.workspace.get_text_document(uri)
        text = document.source
        path = _path_of(uri)
        config = self.config_for(path)
        display = str(path) if path is not None else "untitled.py"
        if finding is None:
            new_text, count = fix_text(text, display, config, real_path=path)
            return new_text if count and new_text != text else None
        found = [f for f, _ in self.findings.get(uri, [])]
        try:
            tree = Tree.parse(text)
            plan = FIXES[finding.code](tree, finding, [f for f in found if f.code == finding.code])
            new_text = apply(tree, plan).code if plan else None
        except Exception:
            return None
        if new_text is None or new_text == text:
            return None
        before = Counter(f.code for f in found)
        if not _verified(new_text, Counter([finding.code]), before, display, config, path):
            return None
        return new_text


def _on_json_line(f):
    """A notebook finding placed on the line of the .ipynb JSON text that holds its source line."""
    import dataclasses

    if f.cell is None:
        return f
    line = f.file_line or 1
    return dataclasses.replace(f, line=line, column=1, end_line=line + 1, end_column=1, cell=None,
                               message=f"cell {f.cell}, line {f.line}, column {f.column}: {f.message}")


def _line_edit(old: str, new: str) -> types.TextEdit:
    """One edit replacing only the lines that differ."""
    a, b = old.splitlines(keepends=True), new.splitlines(keepends=True)
    start = 0
    while start < min(len(a), len(b)) and a[start] == b[start]:
        start += 1
    end_a, end_b = len(a), len(b)
    while end_a > start and end_b > start and a[end_a - 1] == b[end_b - 1]:
        end_a -= 1
        end_b -= 1
    return types.TextEdit(range=types.Range(types.Position(start, 0), types.Position(end_a, 0)),
                          new_text="".join(b[start:end_b]))


def build() -> ZerolintServer:
    server = ZerolintServer()

    @server.feature(types.INITIALIZE)
    def initialize(ls: ZerolintServer, params: types.InitializeParams) -> None:
        options = params.initialization_options or {}
        if isinstance(options, dict) and isinstance(options.get("debounce"), (int, float)):
            ls.debounce = float(options["debounce"])
        root = params.root_uri and _path_of(params.root_uri)
        if params.workspace_folders:
            root = _path_of(params.workspace_folders[0].uri) or root
        if root:
            ls.finder = ConfigFinder(root)
        # Import libcst and the rules now: the first keystroke then costs one parse.
        import gc

        from ..rules import all_rules

        all_rules()
        gc.freeze()  # what is imported lives as long as the server: the collector skips it from now on

    @server.feature(types.INITIALIZED)
    def initialized(ls: ZerolintServer, params: types.InitializedParams) -> None:
        caps = ls.client_capabilities.workspace
        watch = caps and caps.did_change_watched_files and caps.did_change_watched_files.dynamic_registration
        if watch:
            ls.client_register_capability(types.RegistrationParams(registrations=[types.Registration(
                id="zerolint-config", method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
                register_options=types.DidChangeWatchedFilesRegistrationOptions(watchers=[
                    types.FileSystemWatcher(glob_pattern=f"**/{name}") for name in CONFIG_NAMES]))]))

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: ZerolintServer, params: types.DidOpenTextDocumentParams) -> None:
        if ls.workspace.get_notebook_document(cell_uri=params.text_document.uri) is None:
            ls.lint_text(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: ZerolintServer, params: types.DidChangeTextDocumentParams) -> None:
        uri = params.text_document.uri
        notebook = ls.workspace.get_notebook_document(cell_uri=uri)
        if notebook is not None:
            ls.schedule(notebook.uri, lambda: ls.lint_notebook(notebook.uri))
        else:
            ls.schedule(uri, lambda: ls.lint_text(uri))

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: ZerolintServer, params: types.DidSaveTextDocumentParams) -> None:
        path = _path_of(params.text_document.uri)
        if path is not None and path.name in CONFIG_NAMES:
            ls.reload_config()
        elif ls.workspace.get_notebook_document(cell_uri=params.text_document.uri) is None:
            ls.lint_text(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: ZerolintServer, params: types.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        ls.findings.pop(uri, None)
        ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=[]))

    @server.feature(types.NOTEBOOK_DOCUMENT_DID_OPEN)
    def notebook_open(ls: ZerolintServer, params: types.DidOpenNotebookDocumentParams) -> None:
        ls.lint_notebook(params.notebook_document.uri)

    @server.feature(types.NOTEBOOK_DOCUMENT_DID_CHANGE)
    def notebook_change(ls: ZerolintServer, params: types.DidChangeNotebookDocumentParams) -> None:
        uri = params.notebook_document.uri
        ls.schedule(uri, lambda: ls.lint_notebook(uri))

    @server.feature(types.NOTEBOOK_DOCUMENT_DID_SAVE)
    def notebook_save(ls: ZerolintServer, params: types.DidSaveNotebookDocumentParams) -> None:
        ls.lint_notebook(params.notebook_document.uri)

    @server.feature(types.NOTEBOOK_DOCUMENT_DID_CLOSE)
    def notebook_close(ls: ZerolintServer, params: types.DidCloseNotebookDocumentParams) -> None:
        for cell in params.cell_text_documents:
            ls.findings.pop(cell.uri, None)
            ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=cell.uri, diagnostics=[]))

    @server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def watched(ls: ZerolintServer, params: types.DidChangeWatchedFilesParams) -> None:
        if any((_path_of(change.uri) or Path()).name in CONFIG_NAMES for change in params.changes):
            ls.reload_config()

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    def hover(ls: ZerolintServer, params: types.HoverParams) -> Optional[types.Hover]:
        from ..pages import page

        uri = params.text_document.uri
        document = ls.workspace.get_text_document(uri)
        lines = document.source.splitlines() or [""]
        here = (params.position.line, params.position.character)
        pages = []
        for f, _ in ls.findings.get(uri, []):
            r = ls.range_of(f, lines)
            if (r.start.line, r.start.character) <= here <= (r.end.line, r.end.character):
                text = page(f.code)
                pages.append(text if text else f"**{f.code}** {f.name}: {f.message}")
        if not pages:
            return None
        return types.Hover(contents=types.MarkupContent(kind=types.MarkupKind.Markdown,
                                                        value="\n\n---\n\n".join(pages)))

    @server.feature(types.TEXT_DOCUMENT_CODE_ACTION, types.CodeActionOptions(
        code_action_kinds=[types.CodeActionKind.QuickFix, "source.fixAll.zerolint"]))
    def code_action(ls: ZerolintServer, params: types.CodeActionParams) -> list:
        uri = params.text_document.uri
        if ls.workspace.get_notebook_document(cell_uri=uri) is not None:
            return []  # cells are fixed with `zerolint --fix` on the .ipynb
        text = ls.workspace.get_text_document(uri).source
        lines = text.splitlines() or [""]
        wanted = params.context.only
        actions = []
        if not wanted or types.CodeActionKind.QuickFix in wanted:
            for f, fixable in ls.findings.get(uri, []):
                if not fixable or f.code not in FIXABLE:
                    continue
                r = ls.range_of(f, lines)
                if (r.end.line, r.end.character) < (params.range.start.line, params.range.start.character) or \
                        (r.start.line, r.start.character) > (params.range.end.line, params.range.end.character):
                    continue
                new = ls.fixed_text(uri, f)
                if new is None:
                    continue
                diagnostic = ls.diagnostic(f, True, lines)
                actions.append(types.CodeAction(
                    title=f"Fix {f.code} ({f.name})", kind=types.CodeActionKind.QuickFix,
                    diagnostics=[diagnostic], is_preferred=True,
                    edit=types.WorkspaceEdit(changes={uri: [_line_edit(text, new)]})))
        if not wanted or any(str(k).startswith("source") for k in wanted):
            if any(fixable for _, fixable in ls.findings.get(uri, [])):
                new = ls.fixed_text(uri)
                if new is not None:
                    actions.append(types.CodeAction(
                        title="Fix all zerolint findings with a safe fix", kind="source.fixAll.zerolint",
                        edit=types.WorkspaceEdit(changes={uri: [_line_edit(text, new)]})))
        return actions

    return server


def main() -> None:  # pragma: no cover - `python -m zerolint.lsp.server`
    build().start_io()


if __name__ == "__main__":  # pragma: no cover
    main()

"""`zerolint server` driven by a real LSP client (pygls's) over stdio: initialize, didOpen, didChange,
hover, codeAction, notebooks, config reload, shutdown."""
import asyncio
import sys
from pathlib import Path

import pytest

pytest.importorskip("pygls")
from lsprotocol import types  # noqa: E402
from pygls.lsp.client import LanguageClient  # noqa: E402

from conftest import BUGGY_SCRIPT  # noqa: E402

BUGGY = BUGGY_SCRIPT
FIXED_LOOP = BUGGY.replace("    loss = criterion", "    opt.zero_grad()\n    loss = criterion")


class Session:
    """A pygls client talking to `python -m zerolint server`; diagnostics collected per uri."""

    def __init__(self, root: Path):
        self.root = root
        self.client = LanguageClient("zerolint-test", "1")
        self.diagnostics: dict = {}
        self.events: dict = {}
        self.published: list = []  # (uri, version, codes) in arrival order

        @self.client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def publish(params: types.PublishDiagnosticsParams):
            self.diagnostics[params.uri] = params.diagnostics
            self.published.append((params.uri, params.version, codes(params.diagnostics)))
            self.events.setdefault(params.uri, asyncio.Event()).set()

        @self.client.feature(types.CLIENT_REGISTER_CAPABILITY)
        def register(params):
            return None

    async def start(self, **options):
        await self.client.start_io(sys.executable, "-m", "zerolint", "server", cwd=str(self.root))
        caps = types.ClientCapabilities(
            workspace=types.WorkspaceClientCapabilities(
                did_change_watched_files=types.DidChangeWatchedFilesClientCapabilities(dynamic_registration=True)),
            notebook_document=types.NotebookDocumentClientCapabilities(
                synchronization=types.NotebookDocumentSyncClientCapabilities()))
        result = await self.client.initialize_async(types.InitializeParams(
            capabilities=caps, root_uri=self.root.as_uri(), initialization_options={"debounce": 0, **options}))
        self.client.initialized(types.InitializedParams())
        return result

    async def wait(self, uri: str, timeout: float = 60):
        event = self.events.setdefault(uri, asyncio.Event())
        await asyncio.wait_for(event.wait(), timeout)
        event.clear()
        return self.diagnostics[uri]

    def open(self, uri: str, text: str, version: int = 1):
        self.client.text_document_did_open(types.DidOpenTextDocumentParams(
            types.TextDocumentItem(uri=uri, language_id="python", version=version, text=text)))

    def replace(self, uri: str, text: str, version: int):
        self.client.text_document_did_change(types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)]))

    async def stop(self):
        await self.client.shutdown_async(None)
        self.client.exit(None)
        await asyncio.wait_for(self.client.stop(), 30)


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 180))


def codes(diagnostics):
    return [(d.code, d.range.start.line + 1, d.range.start.character + 1) for d in diagnostics]


def test_open_change_hover_code_action_shutdown(tmp_path):
    async def scenario():
        s = Session(tmp_path)
        result = await s.start()
        assert result.server_info.name == "zerolint"
        uri = (tmp_path / "train.py").as_uri()
        s.open(uri, BUGGY)
        diagnostics = await s.wait(uri)
        assert codes(diagnostics) == [("ZL101", 9, 12), ("ZL201", 11, 5)]
        d = diagnostics[1]
        assert d.source == "zerolint" and d.severity == types.DiagnosticSeverity.Error
        assert d.code_description.href.endswith("rules/ZL201.md") and d.data == {"fixable": True}

        hover = await s.client.text_document_hover_async(types.HoverParams(
            types.TextDocumentIdentifier(uri), types.Position(10, 6)))
        assert hover.contents.value.startswith("# ZL201")

        actions = await s.client.text_document_code_action_async(types.CodeActionParams(
            types.TextDocumentIdentifier(uri), d.range, types.CodeActionContext(diagnostics=[d])))
        quick = [a for a in actions if a.kind == types.CodeActionKind.QuickFix]
        assert [a.title for a in quick] == ["Fix ZL201 (missing-zero-grad)"]
        (edit,) = quick[0].edit.changes[uri]
        assert (edit.range.start.line, edit.range.end.line, edit.new_text) == (8, 8, "    opt.zero_grad()\n")
        assert any(a.kind == "source.fixAll.zerolint" for a in actions)

        s.replace(uri, FIXED_LOOP, 2)
        assert codes(await s.wait(uri)) == [("ZL101", 10, 12)]
        s.replace(uri, FIXED_LOOP.replace("nn.BCELoss()", "nn.BCEWithLogitsLoss()"), 3)
        assert list(await s.wait(uri)) == []
        s.replace(uri, "import torch\ndef f(:\n", 4)  # a syntax error mid-typing: ZL000, no crash
        assert [d.code for d in await s.wait(uri)] == ["ZL000"]
        s.client.text_document_did_save(types.DidSaveTextDocumentParams(types.TextDocumentIdentifier(uri)))
        assert [d.code for d in await s.wait(uri)] == ["ZL000"]  # published again on save
        await s.stop()

    run(scenario())


def test_config_is_applied_and_reloaded(tmp_path):
    async def scenario():
        config = tmp_path / "pyproject.toml"
        config.write_text('[tool.zerolint]\nignore = ["ZL201"]\n')
        s = Session(tmp_path)
        await s.start()
        uri = (tmp_path / "train.py").as_uri()
        s.open(uri, BUGGY)
        assert [d.code for d in await s.wait(uri)] == ["ZL101"]
        config.write_text('[tool.zerolint]\nignore = ["ZL1"]\n')
        s.client.workspace_did_change_watched_files(types.DidChangeWatchedFilesParams(
            changes=[types.FileEvent(uri=config.as_uri(), type=types.FileChangeType.Changed)]))
        assert [d.code for d in await s.wait(uri)] == ["ZL201"]
        await s.stop()

    run(scenario())


def test_notebook_cells_get_their_own_findings(tmp_path):
    cells = ["%matplotlib inline\nimport torch\nimport torch.nn as nn\nmodel = nn.Linear(4, 3)\n"
             "opt = torch.optim.SGD(model.parameters(), lr=0.1)\n"
             "batches = [(torch.randn(8, 4), torch.randint(0, 3, (8,))) for _ in range(4)]",
             "# notes",
             "for x, y in batches:\n    loss = nn.functional.cross_entropy(model(x), y)\n"
             "    loss.backward()\n    opt.step()"]

    async def scenario():
        s = Session(tmp_path)
        await s.start()
        nb_uri = (tmp_path / "nb.ipynb").as_uri()
        cell_uris = [f"vscode-notebook-cell:{tmp_path / 'nb.ipynb'}#cell{k}" for k in range(3)]
        kinds = [types.NotebookCellKind.Code, types.NotebookCellKind.Markup, types.NotebookCellKind.Code]
        s.client.notebook_document_did_open(types.DidOpenNotebookDocumentParams(
            notebook_document=types.NotebookDocument(
                uri=nb_uri, notebook_type="jupyter-notebook", version=1,
                cells=[types.NotebookCell(kind=k, document=u) for k, u in zip(kinds, cell_uris)]),
            cell_text_documents=[types.TextDocumentItem(uri=u, language_id="python" if k == kinds[0] else "markdown",
                                                        version=1, text=t)
                                 for u, k, t in zip(cell_uris, kinds, cells)]))
        assert codes(await s.wait(cell_uris[2])) == [("ZL201", 4, 5)]
        assert list(await s.wait(cell_uris[0])) == []
        await s.stop()

    run(scenario())


def test_server_without_pygls_exits_2_with_the_hint(tmp_path):
    import subprocess

    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "sitecustomize.py").write_text("import sys\nsys.modules['pygls'] = None\n")
    import os

    env = dict(os.environ, PYTHONPATH=str(shim))
    proc = subprocess.run([sys.executable, "-m", "zerolint", "server"], capture_output=True, text=True,
                          env=env, timeout=60, stdin=subprocess.DEVNULL)
    assert proc.returncode == 2 and "pip install 'zerolint[lsp]'" in proc.stderr


def test_changes_are_debounced(tmp_path):
    async def scenario():
        s = Session(tmp_path)
        await s.start(debounce=0.3)
        uri = (tmp_path / "train.py").as_uri()
        s.open(uri, BUGGY)
        await s.wait(uri)
        s.replace(uri, FIXED_LOOP, 2)
        s.replace(uri, FIXED_LOOP.replace("nn.BCELoss()", "nn.BCEWithLogitsLoss()"), 3)
        await s.wait(uri)
        await asyncio.sleep(0.5)
        assert s.published == [(uri, 1, [("ZL101", 9, 12), ("ZL201", 11, 5)]), (uri, 3, [])]  # not version 2
        await s.stop()

    run(scenario())

"""The language server's per-change latency on a 500-line training script, over a real stdio client.

    python bench/lsp_latency.py [SCRIPT] [--changes N]

SCRIPT defaults to corpus/pytorch-examples/imagenet/main.py (530 lines; see bench/speed.py for the
corpus); without it, the bundled fixtures are concatenated to 500 lines. A pygls client starts
`python -m zerolint server`, opens the script, then sends N edits (a literal changed on one line,
the whole document sent, as editors without incremental sync do) and times each from didChange
to the publishDiagnostics it causes. The server runs with debounce 0 so that the figure is the
server's own work plus the JSON-RPC round trip; an editor adds the debounce (0.15 s by default)
on top. Printed next to it, from the same run: `lint_source` on the same text in this process
(the engine alone) and a fresh `zerolint` process on the same file (what a per-save CLI run costs).
"""
from __future__ import annotations

import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from lsprotocol import types
from pygls.lsp.client import LanguageClient

ROOT = Path(__file__).resolve().parent.parent


def script_text(argv: list) -> tuple:
    default = ROOT / "corpus" / "pytorch-examples" / "imagenet" / "main.py"
    path = Path(argv[0]) if argv else default
    if path.is_file():
        return path.name, path.read_text(encoding="utf-8")
    lines: list = []
    for fixture in sorted((ROOT / "fixtures").rglob("*.py")):
        lines.extend(fixture.read_text(encoding="utf-8").splitlines())
        if len(lines) >= 500:
            break
    return "fixtures (concatenated)", "\n".join(lines[:500]) + "\n"


async def measure(text: str, changes: int, folder: Path) -> list:
    client = LanguageClient("bench", "1")
    arrived: asyncio.Queue = asyncio.Queue()

    @client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    def publish(params):
        arrived.put_nowait((time.perf_counter(), params.version, len(params.diagnostics)))

    await client.start_io(sys.executable, "-m", "zerolint", "server", cwd=str(folder))
    await client.initialize_async(types.InitializeParams(
        capabilities=types.ClientCapabilities(), root_uri=folder.as_uri(), initialization_options={"debounce": 0}))
    client.initialized(types.InitializedParams())
    uri = (folder / "train.py").as_uri()
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)))
    await arrived.get()
    lines = text.splitlines(keepends=True)
    target = next(i for i, line in enumerate(lines) if line.strip() and not line.lstrip().startswith("#"))
    latencies = []
    for version in range(2, changes + 2):
        edited = list(lines)
        edited[target] = lines[target].rstrip("\n") + f"  # edit {version}\n"
        sent = time.perf_counter()
        client.text_document_did_change(types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text="".join(edited))]))
        while True:
            at, got, _ = await asyncio.wait_for(arrived.get(), 60)
            if got == version:
                break
        latencies.append(at - sent)
    await client.shutdown_async(None)
    client.exit(None)
    await asyncio.wait_for(client.stop(), 30)
    return latencies


def main() -> None:
    argv = sys.argv[1:]
    changes = 30
    if "--changes" in argv:
        at = argv.index("--changes")
        changes = int(argv[at + 1])
        del argv[at:at + 2]
    name, text = script_text(argv)
    from zerolint.engine import lint_source

    lint_source(text, "train.py")  # warm imports
    engine = []
    for _ in range(10):
        start = time.perf_counter()
        lint_source(text, "train.py")
        engine.append(time.perf_counter() - start)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "train.py").write_text(text, encoding="utf-8")
        latencies = asyncio.run(measure(text, changes, folder))
        cli = []
        for _ in range(5):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "zerolint", "-q", "--no-cache", "train.py"], cwd=folder,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            cli.append(time.perf_counter() - start)
    print(f"script: {name}, {len(text.splitlines())} lines; {changes} changes, debounce 0")
    print(f"LSP didChange -> publishDiagnostics: median {1000 * statistics.median(latencies):.1f} ms, "
          f"p90 {1000 * sorted(latencies)[int(0.9 * len(latencies)) - 1]:.1f} ms, "
          f"min {1000 * min(latencies):.1f} ms")
    print(f"engine alone (lint_source, in-process): median {1000 * statistics.median(engine):.1f} ms")
    print(f"fresh `zerolint` process on the file:   best {1000 * min(cli):.1f} ms "
          f"({min(cli) / statistics.median(latencies):.1f}x the server's per-change median)")


if __name__ == "__main__":
    main()

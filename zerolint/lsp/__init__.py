"""``zerolint server``: a language server over stdio (the optional extra ``zerolint[lsp]``, on pygls).

The server lints with the same per-file entry point as the command line (``runner.lint_one``: the
engine, then which findings have a safe fix), keeps libcst and the rules imported, and so costs one
parse per keystroke (debounced), not a process start. See ``server.py``.
"""
from __future__ import annotations

import sys

INSTALL_HINT = "zerolint server needs the language-server extra: pip install 'zerolint[lsp]' (pygls)"


def serve(argv: list) -> int:
    """Entry point of `zerolint server`: `--help` prints usage; anything else starts stdio."""
    if any(a in ("-h", "--help") for a in argv):
        sys.stdout.write("Usage: zerolint server\n\n  Run the zerolint language server on stdin/stdout "
                         "(for an editor's LSP client).\n  Needs the extra: pip install 'zerolint[lsp]'.\n")
        return 0
    if argv:
        sys.stderr.write(f"zerolint: error: `zerolint server` takes no arguments (got {' '.join(argv)})\n")
        sys.exit(2)
    try:
        from .server import build
    except ImportError as exc:
        sys.stderr.write(f"zerolint: error: {INSTALL_HINT} ({exc})\n")
        sys.exit(2)
    import gc

    gc.enable()  # a long-lived process (the CLI turns the collector off for short runs)
    build().start_io()
    return 0

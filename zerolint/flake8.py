"""The flake8 plugin: `flake8 --select ZL` reports zerolint's findings with the CLI's codes, lines, columns
and messages. flake8 reports syntax errors itself (E999), so files zerolint cannot read yield nothing; a file
zerolint cannot analyze (nested too deeply, past its time budget: see zerolint/guard.py) yields its ZL000."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator, Optional

from . import __version__


class ZerolintChecker:
    name = "zerolint"
    version = __version__

    def __init__(self, tree=None, lines: Optional[list] = None, filename: str = "stdin") -> None:
        # `tree` (flake8's ast) is unused, but naming it is how flake8 knows this is a tree plugin.
        self.lines = lines
        self.filename = filename

    def _source(self):
        if self.lines is not None:  # already decoded by flake8 (its PEP 263 handling): passed as text
            return "".join(self.lines)
        return Path(self.filename).read_bytes()

    def run(self) -> Iterator[tuple]:
        try:
            findings = self._findings()
        except Exception:  # never break flake8's run because of zerolint
            return
        for f in findings:
            yield f.line, f.column - 1, f"{f.code} {f.message}", type(self)

    def _findings(self) -> list:
        from .config import ConfigError, ConfigFinder
        from .engine import lint_source

        config = None
        real: Optional[Path] = None
        if self.filename not in ("stdin", "-", None):
            real = Path(self.filename)
            try:
                config = ConfigFinder(Path.cwd()).for_path(real)
            except (ConfigError, OSError):
                config = None
        result = lint_source(self._source(), str(self.filename), config, real_path=real)
        if result.error:
            return []
        from .guard import ANALYZE_PREFIX

        return [f for f in result.findings
                if (f.code != "ZL000" or f.message.startswith(ANALYZE_PREFIX))
                and (config is None or config.is_enabled(f.code, real))]

"""A per-file result cache keyed by content hash, zerolint version and effective configuration.

Layout: ``<cache-dir>/<version>/<key[:2]>/<key>.json`` plus ``CACHEDIR.TAG`` and a ``.gitignore`` of
``*`` at the top. Entries are written atomically (temporary file + rename). Anything wrong with the
cache (corrupt entry, read-only folder, full disk) makes it a miss or a no-op, never an error.
"""
from __future__ import annotations

import hashlib
import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Optional

from . import __version__
from .atomic import write_atomic
from .config import Config
from .diagnostic import Finding

DEFAULT_DIR = ".zerolint_cache"
_TAG = ("Signature: 8a477f597d28d172789f06886806bc55\n"
        "# This file is a cache directory tag created by zerolint.\n"
        "# For information about cache directory tags see https://bford.info/cachedir/\n")
_FIELDS = ("line", "column", "end_line", "end_column", "code", "name", "severity", "message")
_NOTEBOOK_FIELDS = ("cell", "file_line")  # stored only for notebook findings


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """The version plus the size and mtime of zerolint's own modules (edits in a checkout invalidate)."""
    root = Path(__file__).resolve().parent
    digest = hashlib.sha256(__version__.encode())
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            if name.endswith(".py"):
                try:
                    st = os.stat(os.path.join(folder, name))
                except OSError:
                    continue
                digest.update(f"{folder}/{name}:{st.st_size}:{st.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


def config_fingerprint(config: Config, path: Path) -> str:
    """What of the configuration decides this file's findings: selection and its per-file ignores."""
    return repr((config.select, config.ignore, config.extend_select, config._file_ignores(path)))


def find_project_root(start: Path) -> Path:
    """The nearest folder holding a pyproject.toml or .git, walking up; else ``start``."""
    start = Path(os.path.abspath(start))
    for folder in (start, *start.parents):
        if (folder / "pyproject.toml").is_file() or (folder / ".git").exists():
            return folder
    return start


_INT_FIELDS = ("line", "column", "end_line", "end_column")
_STR_FIELDS = ("code", "name", "severity", "message")


def _valid_row(row) -> bool:
    """A row as ``put`` writes it: exactly these keys, positive ints, strings, a bool."""
    keys = {*_FIELDS, "fixable"}
    if isinstance(row, dict) and "cell" in row:  # a notebook finding: its cell and JSON line too
        keys |= set(_NOTEBOOK_FIELDS)
        if type(row["cell"]) is not int or row["cell"] < 1 or \
                not (row["file_line"] is None or type(row["file_line"]) is int):
            return False
    return (isinstance(row, dict) and set(row) == keys
            and all(type(row[k]) is int and row[k] >= 1 for k in _INT_FIELDS)
            and all(isinstance(row[k], str) for k in _STR_FIELDS)
            and row["code"].startswith("ZL") and isinstance(row["fixable"], bool))


class Cache:
    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.base = self.directory / __version__
        self._ready: Optional[bool] = None
        self.hits = 0
        self.misses = 0

    def key(self, data: bytes, config: Config, path: Path) -> str:
        digest = hashlib.sha256(data)
        digest.update(b"\0" + code_fingerprint().encode() + b"\0" + config_fingerprint(config, path).encode())
        return digest.hexdigest()

    def _entry(self, key: str) -> Path:
        return self.base / key[:2] / f"{key}.json"

    def get(self, key: str, display: str) -> Optional[tuple]:
        """(findings with ``display`` as their path, fixable keys) stored for ``key``, or None on a miss."""
        try:
            with open(self._entry(key), "rb") as handle:
                rows = json.loads(handle.read())
            if not isinstance(rows, list) or not all(_valid_row(row) for row in rows):
                raise ValueError("not a cache entry")
            findings = [Finding(display, *(row[k] for k in _FIELDS),
                                **{k: row[k] for k in _NOTEBOOK_FIELDS if k in row}) for row in rows]
            fixable = frozenset(f.key for f, row in zip(findings, rows) if row["fixable"])
        except (OSError, ValueError, TypeError, KeyError, IndexError, RecursionError):
            self.misses += 1
            return None
        self.hits += 1
        return findings, fixable

    def put(self, key: str, findings: list, fixable: frozenset = frozenset()) -> None:
        if not self._prepare():
            return
        entry = self._entry(key)
        rows = [{**{k: getattr(f, k) for k in _FIELDS}, "fixable": f.key in fixable,
                 **({k: getattr(f, k) for k in _NOTEBOOK_FIELDS} if f.cell is not None else {})}
                for f in findings]
        try:
            entry.parent.mkdir(parents=True, exist_ok=True)
        except OSError:
            return
        write_atomic(entry, json.dumps(rows), keep_mode=False)

    def _prepare(self) -> bool:
        if self._ready is None:
            try:
                self.directory.mkdir(parents=True, exist_ok=True)
                for name, content in (("CACHEDIR.TAG", _TAG), (".gitignore", "# created by zerolint\n*\n")):
                    target = self.directory / name
                    if not target.exists():
                        target.write_text(content, encoding="utf-8")
                self.base.mkdir(exist_ok=True)
                self._ready = True
            except OSError:
                self._ready = False
        return self._ready

"""Which files to lint, and which configuration applies to each."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator, Optional

from .config import Config, ConfigFinder


#: Python files and Jupyter notebooks.
SUFFIXES = (".py", ".ipynb")


class MissingPath(Exception):
    pass


def discover(paths: list[str], finder: ConfigFinder, fixed: Optional[Config], overrides: dict) -> Iterator[tuple[Path, Config]]:
    """Yield (file, config) in a stable order; explicit files are subject to `exclude` too."""
    seen: set = set()
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise MissingPath(raw)
        if path.is_file():
            config = _config(path, finder, fixed, overrides)
            key = os.path.abspath(path)
            if key not in seen and not config.is_excluded(path):
                seen.add(key)
                yield path, config
            continue
        root_config = _config(path, finder, fixed, overrides)
        if root_config.is_excluded(path) and raw not in (".", "./"):
            continue
        for folder, dirs, files in os.walk(path):
            folder_path = Path(folder)
            config = _config(folder_path, finder, fixed, overrides)
            kept = []
            for d in sorted(dirs):
                sub = folder_path / d
                if (sub / "pyvenv.cfg").exists() or config.is_excluded(sub):
                    continue
                kept.append(d)
            dirs[:] = kept
            for name in sorted(files):
                if not name.endswith(SUFFIXES):
                    continue
                file_path = folder_path / name
                key = os.path.abspath(file_path)
                if key in seen or config.is_excluded(file_path):
                    continue
                seen.add(key)
                yield file_path, config


def _config(path: Path, finder: ConfigFinder, fixed: Optional[Config], overrides: dict) -> Config:
    base = fixed if fixed is not None else finder.for_path(path)
    return base.with_overrides(**overrides) if overrides else base

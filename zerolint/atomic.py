"""Atomic file writes: a temporary file in the same folder, renamed over the target."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomic(path: Path, text: str, keep_mode: bool = True) -> bool:
    """Write ``text`` to ``path`` so that readers see the old or the new file, never half of one.

    With ``keep_mode`` the file's permission bits are kept (for fixes of users' files). Returns
    False, leaving the target untouched, when anything fails.
    """
    tmp = None
    try:
        mode = os.stat(path).st_mode & 0o7777 if keep_mode else None
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(path)), prefix=".zerolint-", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
        tmp = None
        return True
    except OSError:
        return False
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass

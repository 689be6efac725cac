"""Atomic file writes: a temporary file in the same folder, renamed over the target."""
from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path
from typing import Optional


def _replace_via_temp(target: str, data: bytes, prepare=None) -> None:
    """Write ``data`` to a temporary file beside ``target`` and rename it over ``target``.

    ``prepare(tmp)`` runs before the rename (mode, owner); an OSError anywhere leaves the target
    untouched and the temporary file removed.
    """
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(target), prefix=".zerolint-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        if prepare is not None:
            prepare(tmp)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_atomic(path: Path, text: str, keep_mode: bool = True) -> bool:
    """Write ``text`` to ``path`` so that readers see the old or the new file, never half of one.

    With ``keep_mode`` the file's permission bits are kept (for fixes of users' files). Returns
    False, leaving the target untouched, when anything fails.
    """
    try:
        mode = os.stat(path).st_mode & 0o7777 if keep_mode else None
        _replace_via_temp(os.path.abspath(path), text.encode("utf-8"),
                          None if mode is None else lambda tmp: os.chmod(tmp, mode))
        return True
    except OSError:
        return False


def rewrite_file(path: Path, data: bytes) -> Optional[str]:
    """Replace a user's file's contents for --fix; None when done, else why it was left unchanged.

    Writes through a symlink to its target; keeps the file's mode and owner; a file with other hard
    links is rewritten in place (a rename would split it from them); a read-only file is refused,
    even for root.
    """
    try:
        target = os.path.realpath(path)
        st = os.stat(target)
        if not st.st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH) or not os.access(target, os.W_OK):
            return "it is read-only"
        if st.st_nlink > 1:
            return _in_place(target, data)
        in_place = []

        def keep_mode_and_owner(tmp: str) -> None:
            os.chmod(tmp, stat.S_IMODE(st.st_mode))
            tmp_st = os.stat(tmp)
            if (tmp_st.st_uid, tmp_st.st_gid) != (st.st_uid, st.st_gid):
                try:
                    os.chown(tmp, st.st_uid, st.st_gid)
                except OSError:  # not ours to give away: write in place, the owner stays
                    in_place.append(True)
                    raise

        try:
            _replace_via_temp(target, data, keep_mode_and_owner)
        except OSError:
            if in_place:
                return _in_place(target, data)
            raise
        return None
    except OSError as exc:
        return exc.strerror or str(exc)


def _in_place(target: str, data: bytes) -> Optional[str]:
    with open(target, "r+b") as handle:
        handle.write(data)
        handle.truncate()
    return None

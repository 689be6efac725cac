"""Containment for the ``--confirm`` child: the user's files are never changed, the network is off.

Runs in the child only (``probe.py`` loads it by path; it imports nothing from zerolint, nor torch).
``install(scratch)`` replaces Python's file-changing entry points with versions that redirect every
change to a mirror under ``scratch``: a write to ``/home/u/run/model.pt`` lands in
``scratch/home/u/run/model.pt``. Reads see the mirror first (the run's own earlier writes), then the
real file. Removing or renaming a real file records a *whiteout* (the run no longer sees the file)
and never touches it. Paths under ``passthrough`` prefixes (the run's own temp folder, /dev, /proc)
are left alone.

Covered: ``open``/``io.open`` (so pathlib, numpy, csv, logging file handlers, ``shutil.copy``),
``os.open``, ``os.remove``/``unlink``/``rename``/``replace``/``mkdir``/``makedirs``/``rmdir``/
``truncate``/``chmod``/``utime``/``symlink``/``link``, ``shutil.rmtree``/``move``, ``os.stat``/
``lstat``/``listdir`` (reads), and ``torch.save`` to a path (its C++ writer opens the file itself).
Not covered: native code that opens files itself (e.g. OpenCV ``imwrite``), subprocesses started by
the script, and calls that pass ``dir_fd``.

Network: ``socket.connect``/``getaddrinfo`` for internet sockets raise ``NetworkBlocked``.
"""
from __future__ import annotations

import builtins
import io
import os
import shutil
import socket

_orig = {}
_state = {"scratch": None, "whiteouts": set(), "pass": (), "network": None}


class NetworkBlocked(ConnectionRefusedError):
    """The script tried to reach the network, which --confirm does not allow."""


def _real(path) -> str:
    return os.path.normpath(os.path.join(os.getcwd(), os.fsdecode(os.fspath(path))))


def _passes(real: str) -> bool:
    return any(real == p or real.startswith(p.rstrip("/") + "/") for p in _state["pass"])


def _mirror(real: str) -> str:
    return _state["scratch"] + real


def _whited(real: str) -> bool:
    """Removed by the run (itself or a folder above it), and not written again since."""
    outs = _state["whiteouts"]
    if not outs:
        return False
    probe = real
    while True:
        if probe in outs:
            return True
        parent = os.path.dirname(probe)
        if parent == probe:
            return False
        probe = parent


def _exists(path: str) -> bool:
    try:
        _orig["stat"](path)
        return True
    except OSError:
        return False


def read_path(path):
    """Where a read of ``path`` should go: the run's own copy, a missing path, or the real file."""
    if isinstance(path, int) or _state["scratch"] is None:
        return path
    real = _real(path)
    if _passes(real):
        return path
    mirror = _mirror(real)
    if _exists(mirror) or _whited(real):
        return mirror
    return path


def write_path(path, copy: bool = False):
    """Where a change to ``path`` should go; with ``copy``, the real file is copied there first."""
    if isinstance(path, int) or _state["scratch"] is None:
        return path
    real = _real(path)
    if _passes(real):
        return path
    mirror = _mirror(real)
    parent = os.path.dirname(mirror)
    if not _exists(parent):
        real_parent = os.path.dirname(real)
        if _whited(real_parent) or not os.path.isdir(real_parent):
            return mirror  # the folder does not exist for the run: let the call fail naturally
        _orig["makedirs"](parent, exist_ok=True)
    if copy and not _exists(mirror) and not _whited(real) and _exists(real):
        shutil.copy2(real, mirror) if not os.path.isdir(real) else None
    _state["whiteouts"].discard(real)
    return mirror


def _writes(mode: str) -> bool:
    return any(c in mode for c in "wax+")


def _open(file, mode="r", *args, **kwargs):
    if isinstance(file, int):
        return _orig["open"](file, mode, *args, **kwargs)
    if _writes(mode):
        if "x" in mode and _exists(_real_view(file)):
            raise FileExistsError(17, "File exists", os.fsdecode(os.fspath(file)))
        target = write_path(file, copy=("a" in mode or "+" in mode) and "w" not in mode)
    else:
        target = read_path(file)
    return _orig["open"](target, mode, *args, **kwargs)


def _real_view(path) -> str:
    return read_path(path)


_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


def _os_open(path, flags, mode=0o777, *, dir_fd=None):
    if dir_fd is not None:
        return _orig["os_open"](path, flags, mode, dir_fd=dir_fd)
    if flags & _WRITE_FLAGS:
        if flags & os.O_EXCL and flags & os.O_CREAT and _exists(_real_view(path)):
            raise FileExistsError(17, "File exists", os.fsdecode(os.fspath(path)))
        target = write_path(path, copy=not flags & os.O_TRUNC)
    else:
        target = read_path(path)
    return _orig["os_open"](target, flags, mode)


def _remove(path, *, dir_fd=None):
    if dir_fd is not None or _state["scratch"] is None:
        return _orig["remove"](path, dir_fd=dir_fd)
    real = _real(path)
    if _passes(real):
        return _orig["remove"](path)
    mirror = _mirror(real)
    if _exists(mirror):
        _orig["remove"](mirror)
        if _exists(real):
            _state["whiteouts"].add(real)
        return None
    if _whited(real) or not _exists(real):
        raise FileNotFoundError(2, "No such file or directory", os.fsdecode(os.fspath(path)))
    if os.path.isdir(real):
        raise IsADirectoryError(21, "Is a directory", os.fsdecode(os.fspath(path)))
    _state["whiteouts"].add(real)
    return None


def _rmdir(path, *, dir_fd=None):
    if dir_fd is not None or _state["scratch"] is None:
        return _orig["rmdir"](path, dir_fd=dir_fd)
    real = _real(path)
    if _passes(real):
        return _orig["rmdir"](path)
    if _listdir(path):
        raise OSError(39, "Directory not empty", os.fsdecode(os.fspath(path)))
    mirror = _mirror(real)
    if _exists(mirror):
        _orig["rmdir"](mirror)
    elif _whited(real) or not _exists(real):
        raise FileNotFoundError(2, "No such file or directory", os.fsdecode(os.fspath(path)))
    if _exists(real):
        _state["whiteouts"].add(real)
    return None


def _rename(src, dst, *, src_dir_fd=None, dst_dir_fd=None, _replace=False):
    original = _orig["replace" if _replace else "rename"]
    if src_dir_fd is not None or dst_dir_fd is not None or _state["scratch"] is None:
        return original(src, dst, src_dir_fd=src_dir_fd, dst_dir_fd=dst_dir_fd)
    real_src, real_dst = _real(src), _real(dst)
    if _passes(real_src) and _passes(real_dst):
        return original(src, dst)
    source = read_path(src)
    if not _exists(source):
        raise FileNotFoundError(2, "No such file or directory", os.fsdecode(os.fspath(src)))
    target = write_path(dst)
    if os.path.isdir(source) and source != real_src:
        original(source, target)
    elif os.path.isdir(source):
        shutil.copytree(source, target, dirs_exist_ok=True)
    elif source == _mirror(real_src) or _passes(real_src):
        original(source, target)
    else:
        shutil.copy2(source, target)
    if not _passes(real_src) and _exists(real_src):
        _state["whiteouts"].add(real_src)
    return None


def _replace(src, dst, *, src_dir_fd=None, dst_dir_fd=None):
    return _rename(src, dst, src_dir_fd=src_dir_fd, dst_dir_fd=dst_dir_fd, _replace=True)


def _mkdir(path, mode=0o777, *, dir_fd=None):
    if dir_fd is not None or _state["scratch"] is None:
        return _orig["mkdir"](path, mode, dir_fd=dir_fd)
    real = _real(path)
    if _passes(real):
        return _orig["mkdir"](path, mode)
    if _exists(read_path(path)):
        raise FileExistsError(17, "File exists", os.fsdecode(os.fspath(path)))
    parent = os.path.dirname(real)
    if not _exists(read_path(parent)):
        raise FileNotFoundError(2, "No such file or directory", os.fsdecode(os.fspath(path)))
    mirror = _mirror(real)
    _orig["makedirs"](os.path.dirname(mirror), exist_ok=True)
    _orig["mkdir"](mirror, mode)
    _state["whiteouts"].discard(real)
    return None


def _stat_fn(name):
    def stat(path, *args, dir_fd=None, follow_symlinks=True):
        if dir_fd is not None:
            return _orig[name](path, *args, dir_fd=dir_fd, follow_symlinks=follow_symlinks)
        return _orig[name](read_path(path), *args) if name == "lstat" else \
            _orig[name](read_path(path), *args, follow_symlinks=follow_symlinks)
    return stat


def _listdir(path="."):
    if isinstance(path, int) or _state["scratch"] is None:
        return _orig["listdir"](path)
    real = _real(path)
    if _passes(real):
        return _orig["listdir"](path)
    mirror = _mirror(real)
    names: set = set()
    found = False
    if _exists(mirror):
        names.update(_orig["listdir"](mirror))
        found = True
    if not _whited(real) and _exists(real):
        names.update(n for n in _orig["listdir"](real) if not _whited(os.path.join(real, n))
                     or _exists(_mirror(os.path.join(real, n))))
        found = True
    if not found:
        raise FileNotFoundError(2, "No such file or directory", os.fsdecode(os.fspath(path)))
    return sorted(names)


def _rmtree(path, *args, **kwargs):
    if _state["scratch"] is None:
        return _orig["rmtree"](path, *args, **kwargs)
    real = _real(path)
    if _passes(real):
        return _orig["rmtree"](path, *args, **kwargs)
    mirror = _mirror(real)
    there = _exists(mirror)
    if there:
        _orig["rmtree"](mirror)
    if _exists(real) and not _whited(real):
        _state["whiteouts"].add(real)
    elif not there:
        raise FileNotFoundError(2, "No such file or directory", os.fsdecode(os.fspath(path)))
    return None


def _changes(name):
    """chmod/utime/truncate-like calls: apply to the run's copy, never to the real file."""
    def change(path, *args, **kwargs):
        if isinstance(path, int) or kwargs.get("dir_fd") is not None:
            return _orig[name](path, *args, **kwargs)
        return _orig[name](write_path(path, copy=True), *args, **kwargs)
    return change


def _link_fn(name):
    def link(src, dst, *args, **kwargs):
        if kwargs.get("dir_fd") is not None or kwargs.get("src_dir_fd") is not None:
            return _orig[name](src, dst, *args, **kwargs)
        return _orig[name](src, write_path(dst), *args, **kwargs)
    return link


# ---- network -------------------------------------------------------------------------------
def _blocked(what: str):
    _state["network"] = _state["network"] or what
    raise NetworkBlocked(111, f"network access is disabled under zerolint --confirm ({what})")


def _connect(self, address, *args):
    if self.family in (socket.AF_INET, socket.AF_INET6):
        _blocked(f"connect to {address!r}"[:120])
    return _orig["connect"](self, address, *args)


def _connect_ex(self, address, *args):
    if self.family in (socket.AF_INET, socket.AF_INET6):
        _blocked(f"connect to {address!r}"[:120])
    return _orig["connect_ex"](self, address, *args)


def _getaddrinfo(host, *args, **kwargs):
    _blocked(f"look up {host!r}"[:120])


def network_attempt():
    """What the run tried to reach, if anything."""
    return _state["network"]


def install(scratch: str, passthrough: tuple) -> None:
    """Redirect every file change under ``scratch`` and switch the network off, in this process."""
    scratch = os.path.realpath(scratch).rstrip("/")
    os.makedirs(scratch, exist_ok=True)
    _state["scratch"] = scratch
    _state["pass"] = tuple(os.path.realpath(p) for p in (scratch, *passthrough))
    for name in ("remove", "unlink", "rename", "replace", "mkdir", "makedirs", "rmdir", "stat", "lstat",
                 "listdir", "truncate", "chmod", "utime", "symlink", "link"):
        _orig.setdefault(name, getattr(os, name))
    _orig.setdefault("os_open", os.open)
    _orig.setdefault("open", builtins.open)
    _orig.setdefault("rmtree", shutil.rmtree)
    _orig.setdefault("connect", socket.socket.connect)
    _orig.setdefault("connect_ex", socket.socket.connect_ex)
    builtins.open = io.open = _open
    os.open = _os_open
    os.remove = os.unlink = _remove
    os.rename, os.replace = _rename, _replace
    os.mkdir, os.rmdir = _mkdir, _rmdir
    os.stat, os.lstat = _stat_fn("stat"), _stat_fn("lstat")
    os.listdir = _listdir
    os.truncate, os.chmod, os.utime = _changes("truncate"), _changes("chmod"), _changes("utime")
    os.symlink, os.link = _link_fn("symlink"), _link_fn("link")
    shutil.rmtree = _rmtree
    try:
        import logging
        logging.FileHandler._builtin_open = staticmethod(_open)
    except Exception:
        pass
    socket.socket.connect = _connect
    socket.socket.connect_ex = _connect_ex
    socket.getaddrinfo = _getaddrinfo


def patch_torch(torch) -> None:
    """torch.save hands a path to C++, which opens it itself: give it the run's copy instead."""
    original_save, original_load = torch.save, torch.load

    def save(obj, f, *args, **kwargs):
        if isinstance(f, (str, bytes, os.PathLike)):
            f = write_path(f)
        return original_save(obj, f, *args, **kwargs)

    def load(f, *args, **kwargs):
        if isinstance(f, (str, bytes, os.PathLike)):
            f = read_path(f)
        return original_load(f, *args, **kwargs)

    save.__wrapped__, load.__wrapped__ = original_save, original_load
    torch.save, torch.load = save, load


__all__ = ["NetworkBlocked", "install", "network_attempt", "patch_torch", "read_path", "write_path"]

"""`[tool.zerolint]` discovery and validation (tomllib, or tomli before Python 3.11)."""
from __future__ import annotations

import fnmatch
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any, Optional



def _toml():
    """tomllib (tomli before 3.11), imported only when a config file is read: most runs have none."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    return tomllib


from . import lazy_re
from .lazy_dataclass import dataclass  # @dataclass, its methods generated on first use (issue 9)
from .codes import ALL_CODES
from .guard import DEFAULT_FILE_TIMEOUT

CODE_PATTERN = lazy_re.compile(r"^(ALL|ZL\d{0,3})$")
DEFAULT_EXCLUDE = (
    ".git", ".hg", ".svn", ".bzr", ".venv", "venv", ".tox", ".nox", "__pycache__", "build", "dist",
    ".eggs", "*.egg-info", "node_modules", "site-packages", "__pypackages__", ".mypy_cache",
    ".pytest_cache", ".ruff_cache", ".zerolint_cache", ".ipynb_checkpoints",
)
_LIST_KEYS = ("select", "ignore", "extend-select", "exclude", "extend-exclude")
_KNOWN_KEYS = set(_LIST_KEYS) | {"per-file-ignores", "cache-dir", "file-timeout"}


class ConfigError(Exception):
    """A bad configuration: reported with exit code 2."""


@dataclass(frozen=True)
class Config:
    root: Path
    source: Optional[Path] = None  # the file it came from
    select: Optional[tuple] = None  # None: every rule, below `ignore` (ruff's default layer)
    ignore: tuple = ()
    extend_select: tuple = ()
    exclude: tuple = ()
    extend_exclude: tuple = ()
    per_file_ignores: tuple = ()  # ((glob, (codes...)), ...)
    cache_dir: Optional[str] = None  # relative to root
    file_timeout: float = DEFAULT_FILE_TIMEOUT  # seconds of analysis per file; 0: no limit

    def is_enabled(self, code: str, path: Optional[Path] = None) -> bool:
        """As ruff decides: `select`/`extend-select` against `ignore`, the more specific prefix wins
        (`ignore` on a tie, `ALL` least specific); with no `select` every rule is on at a lower level,
        so any `ignore` (`ALL` included) turns it off; per-file ignores always turn it off."""
        if code == "ZL000":  # unreadable files are always reported unless ignored by name
            return "ZL000" not in self.ignore and "ZL000" not in self._file_ignores(path)
        if _longest_prefix(code, self._file_ignores(path)) >= 0:
            return False
        chosen = _longest_prefix(code, (self.select or ()) + self.extend_select)
        ignored = _longest_prefix(code, self.ignore)
        if chosen < 0:
            return self.select is None and ignored < 0
        return ignored < 0 or chosen > ignored

    def selects_nothing(self) -> bool:
        return not any(self.is_enabled(code) for code in ALL_CODES if code != "ZL000")

    def _file_ignores(self, path: Optional[Path]) -> tuple:
        if path is None or not self.per_file_ignores:
            return ()
        rel = _relative(path, self.root)
        codes: list = []
        for pattern, pattern_codes in self.per_file_ignores:
            if _glob_match(rel, pattern):
                codes.extend(pattern_codes)
        return tuple(codes)

    def is_excluded(self, path: Path) -> bool:
        rel = _relative(path, self.root)
        patterns = DEFAULT_EXCLUDE + self.exclude + self.extend_exclude
        return any(_glob_match(rel, p) for p in patterns)

    def with_overrides(self, **overrides: Any) -> "Config":
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})


_GLOB_MAGIC = lazy_re.compile(r"[*?\[]")
# Where a `tool.zerolint` table can be written: a `[tool.zerolint...]` header, a bare `[tool]` table (whose
# `zerolint = {...}` or `zerolint.x = ...` keys the TOML parse then finds), a top-level `tool.zerolint.x = ...`
# or `tool = {...}`; quotes around the keys allowed. A pyproject.toml naming zerolint only as the project or a
# dependency matches none of these and is not parsed.
_TOOL_TABLE = lazy_re.compile(rb"""(?m)^[ \t]*\[{1,2}[ \t]*["']?tool["']?[ \t]*(?:\]|\.[ \t]*["']?zerolint)"""
                              rb"""|^[ \t]*["']?tool["']?[ \t]*(?:=|\.[ \t]*["']?zerolint)""")


def _longest_prefix(code: str, prefixes: tuple) -> int:
    best = -1
    for prefix in prefixes:
        if prefix == "ALL":
            best = max(best, 0)
        elif code.startswith(prefix):
            best = max(best, len(prefix))
    return best


def _relative(path: Path, root: Path) -> str:
    try:
        return Path(os.path.abspath(path)).relative_to(os.path.abspath(root)).as_posix()
    except ValueError:
        return Path(os.path.abspath(path)).as_posix()


def _glob_match(rel: str, pattern: str) -> bool:
    pattern = pattern.strip().rstrip("/")
    if pattern.startswith("./"):
        pattern = pattern[2:]
    if not pattern:
        return False
    if not _GLOB_MAGIC.search(pattern):  # a plain name (most excludes): no fnmatch regex to compile
        if rel == pattern or rel.startswith(pattern + "/"):
            return True
        return "/" not in pattern and pattern in rel.split("/")
    if fnmatch.fnmatchcase(rel, pattern) or fnmatch.fnmatchcase(rel, pattern + "/*"):
        return True
    if "/" not in pattern:
        return any(fnmatch.fnmatchcase(part, pattern) for part in rel.split("/"))
    return False


def _known(code: str) -> bool:
    return code == "ALL" or any(c.startswith(code) for c in ALL_CODES)


def parse_codes(values: Any, key: str, origin: str) -> tuple:
    if isinstance(values, str):
        values = [values]
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise ConfigError(f"{origin}: `{key}` must be a list of rule codes, got {values!r}")
    codes = []
    for value in values:
        for code in filter(None, (c.strip().upper() for c in value.split(","))):
            if not CODE_PATTERN.match(code):
                raise ConfigError(f"{origin}: `{key}` has {code!r}, which is not a rule code or prefix "
                                  "(expected e.g. ZL101, ZL2 or ALL)")
            if not _known(code):
                raise ConfigError(f"{origin}: `{key}` has {code!r}, which is not a rule code or the prefix "
                                  "of one (`zerolint rule --all` lists them)")
            codes.append(code)
    return tuple(codes)


def _parse_paths(values: Any, key: str, origin: str) -> tuple:
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise ConfigError(f"{origin}: `{key}` must be a list of glob patterns, got {values!r}")
    return tuple(values)


def from_table(table: Any, root: Path, source: Optional[Path]) -> Config:
    origin = f"{source}: [tool.zerolint]" if source else "[tool.zerolint]"
    if not isinstance(table, dict):
        raise ConfigError(f"{origin} must be a table")
    unknown = sorted(set(table) - _KNOWN_KEYS)
    if unknown:
        raise ConfigError(f"{origin}: unknown key `{unknown[0]}` (known keys: {', '.join(sorted(_KNOWN_KEYS))})")
    values: dict = {}
    for key in ("select", "ignore", "extend-select"):
        if key in table:
            values[key.replace("-", "_")] = parse_codes(table[key], key, origin)
    for key in ("exclude", "extend-exclude"):
        if key in table:
            values[key.replace("-", "_")] = _parse_paths(table[key], key, origin)
    if "cache-dir" in table:
        if not isinstance(table["cache-dir"], str) or not table["cache-dir"].strip():
            raise ConfigError(f"{origin}: `cache-dir` must be a folder path (a string), got {table['cache-dir']!r}")
        values["cache_dir"] = table["cache-dir"]
    if "file-timeout" in table:
        values["file_timeout"] = parse_timeout(table["file-timeout"], f"{origin}: `file-timeout`")
    if "per-file-ignores" in table:
        pfi = table["per-file-ignores"]
        if not isinstance(pfi, dict):
            raise ConfigError(f"{origin}: `per-file-ignores` must be a table of glob = [codes]")
        values["per_file_ignores"] = tuple(
            (glob, parse_codes(codes, f"per-file-ignores.{glob}", origin)) for glob, codes in pfi.items())
    return Config(root=root, source=source, **values)


def parse_timeout(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1e6:
        raise ConfigError(f"{where} must be a number of seconds (0 for no limit), got {value!r}")
    return float(value)


def load_file(path: Path) -> Config:
    """Load a config file: a pyproject.toml ([tool.zerolint]) or a zerolint.toml (top level)."""
    tomllib = _toml()
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    tool = data.get("tool", {})
    if not isinstance(tool, dict):
        raise ConfigError(f"{path}: `tool` must be a table, got {tool!r}")
    if path.name == "pyproject.toml":
        table = tool.get("zerolint", {})
    else:
        table = tool.get("zerolint", data)
    return from_table(table, path.parent.resolve(), path)


class ConfigFinder:
    """The nearest pyproject.toml with [tool.zerolint], walking up from a path; cached per folder."""

    def __init__(self, default_root: Path) -> None:
        self.default = Config(root=default_root)
        self._cache: dict[Path, Config] = {}

    def for_path(self, path: Path) -> Config:
        folder = Path(os.path.abspath(path if path.is_dir() else path.parent))
        visited = []
        config: Optional[Config] = None
        current: Optional[Path] = folder
        while current is not None:
            if current in self._cache:
                config = self._cache[current]
                break
            visited.append(current)
            candidate = current / "pyproject.toml"
            if candidate.is_file() and _has_zerolint_table(candidate):
                config = load_file(candidate)
                break
            current = current.parent if current.parent != current else None
        if config is None:
            config = self.default
        for folder in visited:
            self._cache[folder] = config
        return config


def _has_zerolint_table(path: Path) -> bool:
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except OSError:
        return False
    if b"zerolint" not in raw or not _TOOL_TABLE.search(raw):
        return False  # no TOML parse (tomllib's import and parse cost more than linting a small file)
    tomllib = _toml()
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    return isinstance(data.get("tool"), dict) and "zerolint" in data["tool"]

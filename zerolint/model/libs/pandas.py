"""pandas: a DataFrame read from a file and its columns (``df["label"].values`` is one value per row).

What a column holds is not known (its dtype only after ``astype``), but a column is 1-D: per-row labels read
from it are one number per sample, which is what a classification loss's target shape depends on.
"""
from __future__ import annotations

from typing import Any, Optional

import libcst as cst

from .. import values as V
from ..names import literal
from .tensor import dtype_of_args

_FRAME_PROPERTIES = {"shape", "columns", "index", "dtypes", "T", "size", "ndim", "empty", "iloc", "loc", "at", "iat",
                     "str", "dt", "cat", "plot", "attrs", "axes", "name", "dtype"}
_SAME_FRAME = {"copy", "dropna", "fillna", "reset_index", "sample", "sort_values", "sort_index", "head", "tail",
               "drop_duplicates", "reindex", "query", "abs", "clip", "infer_objects"}


def values_of(frame: V.Frame, node: Optional[cst.CSTNode] = None, dtype: Optional[str] = None) -> V.Tensor:
    """The numpy array of a frame (rows, columns) or of a column (rows,)."""
    shape = (None,) if frame.column is not None else (None, None)
    return V.Tensor(dtype=dtype or frame.dtype, shape=shape, origin=node,
                    encoding=frame.encoding if frame.column is not None else None)


def _read(ip, qual, node, args, kwargs) -> Any:
    return V.Frame()


def _item(ip, base: V.Frame, node: cst.Subscript) -> Any:
    """``df["label"]``: a column; ``df[["a", "b"]]``: a frame."""
    if base.column is not None or len(node.slice) != 1 or not isinstance(node.slice[0].slice, cst.Index):
        return None
    key = node.slice[0].slice.value
    if isinstance(key, cst.SimpleString) and isinstance(literal(key), str):
        return V.Frame(column=literal(key))
    if isinstance(key, cst.List):
        return V.Frame()
    return None


def _attribute(ip, base: V.Frame, name: str) -> Any:
    if name == "values":
        return values_of(base)
    if base.column is not None and name == "cat":
        return base  # the categorical accessor of the same column
    if base.column is not None and name == "codes":
        return V.Frame(base.column, "int", V.INDICES)  # df["species"].cat.codes: class indices 0..C-1
    if base.column is None and name not in _FRAME_PROPERTIES and not name.startswith("_"):
        return V.Frame(column=name)  # df.label
    return None


def _method(ip, recv: V.Frame, recv_text, method, node, args, kwargs) -> Any:
    if method in ("to_numpy", "to_list", "tolist"):
        return values_of(recv, node, dtype_of_args(ip, node))
    if method == "astype":
        return V.Frame(recv.column, dtype_of_args(ip, node))
    if method == "drop":
        return V.Frame(recv.column, recv.dtype if recv.column is not None else None)
    if method in _SAME_FRAME:
        return recv
    if method in ("map", "apply", "replace") and recv.column is not None:
        return V.Frame(recv.column)  # one value per row still; what values, unknown
    return None


_READERS = ("read_csv", "read_table", "read_parquet", "read_excel", "read_json", "read_feather", "read_pickle",
            "DataFrame")
CALLS = {f"pandas.{name}": _read for name in _READERS}
SUBSCRIPTS = {V.Frame: _item}
ATTRIBUTES = {V.Frame: _attribute}
RECEIVERS = {V.Frame: _method}

"""numpy / sklearn knowledge. Add a dataset loader: one name in the table for its target kind."""
from __future__ import annotations

from typing import Any

import libcst as cst

from .. import facts as F
from .. import values as V
from .tensor import BYTE_RANGE, byte_tensor, dtype_of_args, names_uint8
from ..util import UNBOUNDED, bool_kw, dim_names, flatten_numbers, kw, literal_int, literal_shape, number

# sklearn.datasets loaders by the kind of target they return.
SKLEARN_REGRESSION = {"fetch_california_housing", "load_diabetes", "make_regression", "load_boston",
                      "load_linnerud", "make_friedman1", "make_friedman2", "make_friedman3"}
SKLEARN_CLASSIFICATION = {"load_iris", "load_digits", "load_breast_cancer", "load_wine", "make_classification",
                          "make_blobs", "make_moons", "make_circles", "fetch_covtype", "make_gaussian_quantiles"}


SKLEARN_CLASS_COUNTS = {"load_iris": 3, "load_digits": 10, "load_wine": 3, "load_breast_cancer": 2, "make_moons": 2,
                        "make_circles": 2, "fetch_covtype": 7}


def sklearn_dataset(name: str, node: cst.Call, return_x_y: bool) -> Any:
    """The abstract value of ``sklearn.datasets.<name>(...)``: (X, y) or a Bunch; None if unknown."""
    if name in SKLEARN_REGRESSION:
        target = V.Tensor(dtype="float", continuous=True, value_range=UNBOUNDED, origin=node)
    elif name in SKLEARN_CLASSIFICATION:
        count = SKLEARN_CLASS_COUNTS.get(name)
        target = V.Tensor(dtype="int", encoding=V.INDICES, continuous=False, origin=node, num_classes=count,
                          value_range=(0, count - 1) if count else None)
    else:
        return None
    data = V.Tensor(dtype="float", origin=node)
    if name.startswith("make_") or return_x_y:
        return V.Seq((data, target))
    return V.Bunch(data, target)


def _sklearn_datasets(ip, qual, node, args, kwargs) -> Any:
    if qual.count(".") != 2:
        return None
    return sklearn_dataset(qual.rsplit(".", 1)[-1], node, bool(bool_kw(node, "return_X_y")))


def _train_test_split(ip, qual, node, args, kwargs) -> Any:
    """train_test_split(X, y): X_train, X_test, y_train, y_test, each like the array it splits."""
    return V.Seq(tuple(a for a in args for _ in range(2))) if args else None


def _bunch_attribute(ip, base: V.Bunch, name: str) -> Any:
    return base.data if name == "data" else base.target if name == "target" else None


def _encoder(ip, qual, node, args, kwargs) -> Any:
    return V.Encoder(qual.rsplit(".", 1)[-1])


def _encoder_method(ip, enc: V.Encoder, recv_text, method, node, args, kwargs) -> Any:
    """LabelEncoder().fit_transform(y): class indices; OneHotEncoder().fit_transform(y): one-hot rows."""
    if method == "fit":
        return enc
    if method not in ("fit_transform", "transform"):
        return None
    if enc.name == "LabelEncoder":
        return V.Tensor(dtype="int", encoding=V.INDICES, continuous=False, origin=node)
    return V.Tensor(dtype="float", encoding=V.ONEHOT, continuous=False, value_range=(0, 1), origin=node)


def _get_dummies(ip, qual, node, args, kwargs) -> Any:
    """pandas.get_dummies(labels): one indicator column per class (one-hot rows)."""
    return V.Tensor(dtype="float", encoding=V.ONEHOT, continuous=False, value_range=(0, 1), origin=node)


# ------------------------------------------------------------------ numpy
def _random(ip, qual, node, args, kwargs) -> Any:
    """numpy.random.*: value ranges of the samplers."""
    name = qual.rsplit(".", 1)[-1]
    if name in ("rand", "random", "random_sample", "uniform"):
        lo = number(kw(kwargs, args, "low", 0)) if name == "uniform" else 0.0
        hi = number(kw(kwargs, args, "high", 1)) if name == "uniform" else 1.0
        rng = (lo, hi) if lo is not None and hi is not None else None
        if name == "uniform" and not node.args and not kwargs:
            rng = (0.0, 1.0)
        return V.Tensor(dtype="float", value_range=rng, continuous=True, origin=node, dim_names=dim_names(node))
    if name in ("randn", "normal", "standard_normal"):
        return V.Tensor(dtype="float", value_range=UNBOUNDED, continuous=True, origin=node)
    if name == "poisson":  # counts: 0, 1, 2, ... around lam
        lam = number(kw(kwargs, args, "lam", 0)) if node.args else 1.0
        if lam is not None and lam > 1:
            return V.Tensor(dtype="int", value_range=(0, float("inf")), continuous=True, origin=node)
        return None
    if name in ("exponential", "gamma", "lognormal", "chisquare", "pareto", "weibull"):
        return V.Tensor(dtype="float", value_range=(0.0, float("inf")), continuous=True, origin=node)
    if name == "randint":
        low, high = literal_int(kw(kwargs, args, "low", 0)), literal_int(kw(kwargs, args, "high", 1))
        if "high" not in kwargs and len(args) < 2 or high is None and len(args) >= 2 and not isinstance(args[1], V.Number):
            low, high = 0, low
        rng = (low, high - 1) if low is not None and high is not None else None
        shape = literal_shape(args[2]) if len(args) > 2 else literal_shape(kwargs.get("size"))
        return V.Tensor(dtype="int", encoding=V.INDICES, value_range=rng, continuous=False, shape=shape, origin=node)
    return None


def _numpy(ip, qual, node, args, kwargs) -> Any:
    name = qual.rsplit(".", 1)[-1]
    if name == "where" and len(args) == 3 and all(isinstance(a, V.Number) for a in args[1:]):
        values = [args[1].value, args[2].value]
        is_int = all(isinstance(v, int) for v in values)
        return V.Tensor(dtype="int" if is_int else "float", encoding=V.INDICES if is_int else None,
                        value_range=(min(values), max(values)), continuous=False, origin=node)
    if name in ("array", "asarray", "zeros", "ones", "empty", "full", "frombuffer") and names_uint8(ip, node):
        return byte_tensor(node)  # raw pixels / frames (an image buffer)
    if name in ("stack", "array", "asarray", "concatenate", "vstack") and args and isinstance(args[0], V.ListOf) \
            and isinstance(args[0].element, V.Tensor) and args[0].element.value_range == BYTE_RANGE:
        return byte_tensor(node)  # np.stack(frames): a clip of uint8 frames
    if name in ("array", "asarray"):
        seq = args[0] if args else None
        if isinstance(seq, V.Frame):
            seq = V.Tensor(dtype=seq.dtype, shape=(None,) if seq.column is not None else (None, None), origin=node)
        if isinstance(seq, V.Tensor) and dtype_of_args(ip, node):  # np.array(labels, dtype=np.float32)
            return seq.but(dtype=dtype_of_args(ip, node), origin=node)
        if isinstance(seq, (V.Tensor, V.PerItem)):
            return seq
        flat = flatten_numbers(seq) if isinstance(seq, V.Seq) else None
        if flat:
            is_int = all(isinstance(v, int) for v in flat)
            return V.Tensor(dtype="int" if is_int else "float", encoding=V.INDICES if is_int else None,
                            value_range=(min(flat), max(flat)), origin=node,
                            continuous=not all(float(v).is_integer() for v in flat))
        return None
    if name in ("expand_dims", "reshape", "squeeze", "transpose", "ascontiguousarray", "copy") and args \
            and isinstance(args[0], V.Tensor):
        return args[0].but(units=None, shape=None, origin=node)
    if name == "argmax" and (len(args) > 1 or "axis" in kwargs):
        ip.emit(F.ARGMAX, node, input=args[0] if args else None)
        return V.Tensor(dtype="int", encoding=V.INDICES, origin=node)
    if name in ("zeros", "ones"):
        value = 0.0 if name == "zeros" else 1.0
        return V.Tensor(dtype="float", value_range=(value, value), origin=node)
    return None


PREFIXES = {"numpy": _numpy, "numpy.random": _random, "sklearn.datasets": _sklearn_datasets}
SUFFIXES = {"model_selection.train_test_split": _train_test_split}
ATTRIBUTES = {V.Bunch: _bunch_attribute}
CALLS = {**dict.fromkeys(("sklearn.preprocessing.LabelEncoder", "sklearn.preprocessing.OneHotEncoder"), _encoder),
         "pandas.get_dummies": _get_dummies}
RECEIVERS = {V.Encoder: _encoder_method}

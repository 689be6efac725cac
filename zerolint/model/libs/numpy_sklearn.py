"""numpy / sklearn knowledge. Add a dataset loader: one name in the table for its target kind."""
from __future__ import annotations

from typing import Any

import libcst as cst

from .. import values as V

# sklearn.datasets loaders by the kind of target they return.
SKLEARN_REGRESSION = {"fetch_california_housing", "load_diabetes", "make_regression", "load_boston",
                      "load_linnerud", "make_friedman1", "make_friedman2", "make_friedman3"}
SKLEARN_CLASSIFICATION = {"load_iris", "load_digits", "load_breast_cancer", "load_wine", "make_classification",
                          "make_blobs", "make_moons", "make_circles", "fetch_covtype", "make_gaussian_quantiles"}

_UNBOUNDED = (float("-inf"), float("inf"))


def sklearn_dataset(name: str, node: cst.Call, return_x_y: bool) -> Any:
    """The abstract value of ``sklearn.datasets.<name>(...)``: (X, y) or a Bunch; None if unknown."""
    if name in SKLEARN_REGRESSION:
        target = V.Tensor(dtype="float", continuous=True, value_range=_UNBOUNDED, origin=node)
    elif name in SKLEARN_CLASSIFICATION:
        target = V.Tensor(dtype="int", encoding=V.INDICES, continuous=False, origin=node)
    else:
        return None
    data = V.Tensor(dtype="float", origin=node)
    if name.startswith("make_") or return_x_y:
        return V.Seq((data, target))
    return V.Bunch(data, target)

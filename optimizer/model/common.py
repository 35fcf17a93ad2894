"""Small helpers shared by the model modules."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pyomo.environ as pyo
from pyomo.core.expr.numeric_expr import LinearExpression


def linear(coefs: Iterable[float], variables: Sequence[pyo.Var], constant: float = 0.0):
    """``constant + sum_i coefs[i] * variables[i]`` built in one step.

    Building the expression from lists avoids Pyomo's term-by-term ``+``;
    coefficients are plain floats (not Params) so compilation is fast.
    """
    coefs = [float(c) for c in coefs]
    return LinearExpression(constant=float(constant), linear_coefs=coefs,
                            linear_vars=list(variables))


def pick(variables: Sequence[pyo.Var], positions: np.ndarray) -> list[pyo.Var]:
    return [variables[i] for i in positions.tolist()]

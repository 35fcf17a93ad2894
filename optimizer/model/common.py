"""Small helpers shared by the model modules."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pyomo.core as pyo
from pyomo.core.expr.numeric_expr import LinearExpression, MonomialTermExpression


def linear(coefs: Iterable[float] | None, variables: Sequence[pyo.Var], constant: float = 0.0,
           extra: Sequence[tuple] = ()):
    """``constant + sum_i coefs[i] * variables[i] + sum_j c_j * v_j`` in one step.

    ``coefs=None`` means all ones: the variables then go into the expression
    as they are, without a product term each, which keeps large sums cheap to
    build and to hand to the solver. ``extra`` holds a few more
    ``(coefficient, variable)`` terms (the coefficient may be a parameter
    expression, e.g. minus a rule's limit).
    """
    args: list = [float(constant)] if constant else []
    if coefs is None:
        args.extend(variables)
    else:
        args.extend(
            v if c == 1.0 else MonomialTermExpression((c, v))
            for c, v in zip((float(c) for c in coefs), variables, strict=True)
        )
    args.extend(MonomialTermExpression((c, v)) for c, v in extra)
    return LinearExpression(args)


def pick(variables: Sequence[pyo.Var], positions: np.ndarray) -> list[pyo.Var]:
    return [variables[i] for i in positions.tolist()]


def total(variables: Sequence[pyo.Var], lanes: np.ndarray, weights: np.ndarray | None = None,
          extra: Sequence[tuple] = ()):
    """A (weighted) sum of purchases over lane positions, plus ``extra`` terms.
    Rule rows sum the purchases themselves, never a helper total (see
    :mod:`optimizer.model.capacity`)."""
    return linear(weights, pick(variables, lanes), extra=extra)

"""Compile a linear Pyomo model into the matrices HiGHS takes, in bulk.

The Pyomo model stays the single source of truth: this walks its active
constraints and objective as they are *now* (so a notebook user may change,
add or deactivate constraints before solving). The common shapes the model
modules build (sums of variables, ``LinearExpression``, coefficient x variable,
parameters as coefficients) are read directly; anything else goes through
Pyomo's own ``generate_standard_repn``. Fixed variables become constants.

Why not Pyomo's ``LinearStandardFormCompiler``? It does the same job, but it
visits every term through a general expression walker and imports SciPy's
full stack on first use; on the 75,000-variable benchmark this module
compiles the same matrix several times faster (see benchmarks/README.md).
Both are available: ``HighsModel(m, compiler="pyomo")`` uses Pyomo's.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import cast

import numpy as np
import pyomo.core as pyo
from pyomo.core.base.var import VarData
from pyomo.core.expr.numeric_expr import (
    LinearExpression,
    MonomialTermExpression,
    NegationExpression,
    SumExpression,
)
from pyomo.repn.standard_repn import generate_standard_repn

INF = float("inf")
_NATIVE = (int, float)


@dataclass
class CompiledModel:
    """min c x + offset  s.t.  row_lower <= A x <= row_upper,  col_lower <= x <= col_upper.

    ``A`` is row-wise: row i holds ``index[start[i]:start[i+1]]`` with
    ``value[...]``. ``columns`` / ``rows`` are the Pyomo variables and
    constraints in order; ``sense`` is 1 for ``<=``, -1 for ``>=``, 0 for
    ``=`` and 2 for a ranged row.
    """

    columns: list[VarData]
    rows: list[pyo.Constraint]
    cost: np.ndarray
    offset: float
    col_lower: np.ndarray
    col_upper: np.ndarray
    integer: np.ndarray
    row_lower: np.ndarray
    row_upper: np.ndarray
    sense: np.ndarray
    start: np.ndarray
    index: np.ndarray
    value: np.ndarray
    maximize: bool = False
    column_index: ColumnIndex | None = None  # finds the columns of many variables at once

    @property
    def nnz(self) -> int:
        return len(self.index)


class _Walker:
    """Collects (column, coefficient) pairs and a constant from an expression."""

    def __init__(self, col_of: dict[int, int]):
        self.col_of = col_of
        self.col_get = col_of.get

    def terms(self, expr, owner) -> tuple[list[int], list[float], float]:
        """Columns, coefficients and constant of ``expr`` (``owner`` names it
        in an error message)."""
        cols: list[int] = []
        vals: list[float] = []
        const = self._add(expr, 1.0, cols, vals, owner)
        if len(set(cols)) != len(cols):  # the same variable twice: add them up
            merged: dict[int, float] = {}
            for c, v in zip(cols, vals, strict=True):
                merged[c] = merged.get(c, 0.0) + v
            cols, vals = list(merged), list(merged.values())
        return cols, vals, const

    def _var(self, var: VarData, coef: float, cols: list[int], vals: list[float]) -> float:
        if var.fixed:
            return coef * float(var.value)
        cols.append(self.col_of[id(var)])
        vals.append(coef)
        return 0.0

    def _add_sum(self, args, coef: float, cols: list[int], vals: list[float], owner) -> float:
        """The terms of a sum. Plain variables are looked up in one pass (``map``
        runs the lookups in C); the few other terms (coefficient x variable,
        constants, nested sums) one by one; a sum made only of products takes
        the product fast path."""
        idx = list(map(self.col_get, map(id, args)))
        if None not in idx:
            cols.extend(cast("list[int]", idx))
            vals.extend([coef] * len(idx))
            return 0.0
        if idx.count(None) == len(idx):
            try:  # all products of a number and an unfixed variable
                pairs = [a._args_ for a in args if a.__class__ is MonomialTermExpression]
                if len(pairs) == len(args):
                    numbers, variables = zip(*pairs, strict=True)
                    new_cols = list(map(self.col_of.__getitem__, map(id, variables)))
                    if coef == 1.0:
                        new_vals = list(map(float, numbers))
                    else:
                        new_vals = [coef * float(c) for c in numbers]
                    cols.extend(new_cols)
                    vals.extend(new_vals)
                    return 0.0
            except (KeyError, TypeError, ValueError):
                pass  # a fixed variable or a parameter coefficient: the general way
        else:
            plain = [c for c in idx if c is not None]
            cols.extend(plain)
            vals.extend([coef] * len(plain))
            args = [a for a, c in zip(args, idx, strict=True) if c is None]
        const = 0.0
        for arg in args:
            if arg.__class__ is MonomialTermExpression:
                c, v = arg.args
                c = c if c.__class__ in _NATIVE else pyo.value(c)
                const += self._var(v, coef * c, cols, vals)
            else:
                const += self._add(arg, coef, cols, vals, owner)
        return const

    def _add(self, expr, coef: float, cols: list[int], vals: list[float], owner) -> float:
        cls = expr.__class__
        if cls in _NATIVE:
            return coef * expr
        if cls is VarData or (cls is not MonomialTermExpression and expr.is_variable_type()):
            return self._var(expr, coef, cols, vals)
        if cls is LinearExpression or cls is SumExpression:
            return self._add_sum(expr.args, coef, cols, vals, owner)
        if cls is MonomialTermExpression:
            c, v = expr.args
            c = c if c.__class__ in _NATIVE else pyo.value(c)
            return self._var(v, coef * c, cols, vals)
        if cls is NegationExpression:
            return self._add(expr.args[0], -coef, cols, vals, owner)
        if not expr.is_potentially_variable():
            return coef * pyo.value(expr)
        repn = generate_standard_repn(expr, compute_values=True, quadratic=False)
        if not repn.is_linear():
            raise ValueError(f"'{owner.name}' is not linear: HiGHS needs a linear model")
        const = coef * float(repn.constant)
        for c, v in zip(repn.linear_coefs, repn.linear_vars, strict=True):
            const += self._var(v, coef * float(c), cols, vals)
        return const


class ColumnIndex:
    """Column positions of Pyomo variables, looked up many at a time: the
    variables' ids sorted once, then a vectorised binary search
    (``find(np.fromiter(map(id, variables), np.uint64))``)."""

    def __init__(self, columns: list[VarData]):
        ids = np.fromiter(map(id, columns), dtype=np.uint64, count=len(columns))
        self.order = np.argsort(ids, kind="stable")
        self.sorted = ids[self.order]

    def find(self, ids: np.ndarray) -> np.ndarray:
        """The column of each id; -1 where it is not a column."""
        if not len(self.sorted) or not len(ids):
            return np.full(len(ids), -1, dtype=np.int64)
        pos = np.searchsorted(self.sorted, ids)
        pos[pos == len(self.sorted)] = 0
        return np.where(self.sorted[pos] == ids, self.order[pos], -1)


def _linear_terms(bodies: list, columns: ColumnIndex) -> tuple[np.ndarray, np.ndarray,
                                                             np.ndarray, set[int]]:
    """The terms of many ``LinearExpression`` bodies at once: (row of each
    term, column, coefficient), and the rows that need the general way (a
    fixed variable, a constant, a nested expression). A term is either an
    unfixed variable (coefficient 1) or number x unfixed variable; the number
    may be a parameter expression, evaluated now."""
    terms: list = []
    lengths = [0] * len(bodies)
    for i, body in enumerate(bodies):
        args = body.args
        terms.extend(args)
        lengths[i] = len(args)
    row = np.repeat(np.arange(len(bodies)), lengths)
    col = columns.find(np.fromiter(map(id, terms), dtype=np.uint64, count=len(terms)))
    val = np.ones(len(terms))
    general: set[int] = set()
    others = np.flatnonzero(col < 0)
    if len(others):
        other_terms = [terms[k] for k in others.tolist()]
        is_product = np.fromiter((t.__class__ is MonomialTermExpression for t in other_terms),
                                 dtype=bool, count=len(other_terms))
        general.update(row[others[~is_product]].tolist())
        at = others[is_product]
        if len(at):
            pairs = [t._args_ for t, p in zip(other_terms, is_product.tolist(), strict=True)
                     if p]
            numbers, variables = zip(*pairs, strict=True)
            col[at] = columns.find(np.fromiter(map(id, variables), dtype=np.uint64,
                                               count=len(variables)))
            # numbers, or a parameter expression (minus a rule's limit) evaluated now
            val[at] = [c if c.__class__ is float else float(pyo.value(c)) for c in numbers]
            general.update(row[at[col[at] < 0]].tolist())  # fixed variables
    return row, col, val, general


def compile_model(m: pyo.ConcreteModel) -> CompiledModel:
    """The model's matrices, from its active constraints and objective.

    Rows whose body is a ``LinearExpression`` of variables and
    coefficient x variable terms (what the model modules build) are read
    all together (:func:`_linear_terms`); any other row, and any row holding
    a fixed variable, is read on its own by :class:`_Walker`.
    """
    columns = [v for v in m.component_data_objects(pyo.Var, active=True, sort=False)
               if not v.fixed]
    n_col = len(columns)
    lookup = ColumnIndex(columns)

    @cache
    def walker() -> _Walker:  # only for rows of another shape: usually never
        return _Walker({id(v): j for j, v in enumerate(columns)})

    objectives = list(m.component_data_objects(pyo.Objective, active=True))
    if len(objectives) != 1:
        raise ValueError(f"the model needs exactly one active objective, found "
                         f"{len(objectives)}")
    obj = objectives[0]
    cost = np.zeros(n_col)
    offset = 0.0
    bulk = _linear_terms([obj.expr], lookup) if obj.expr.__class__ is LinearExpression \
        else None
    if bulk is not None and not bulk[3]:
        np.add.at(cost, bulk[1], bulk[2])
    else:
        ocols_list, ovals_list, offset = walker().terms(obj.expr, obj)
        np.add.at(cost, np.array(ocols_list, dtype=np.int64), np.array(ovals_list, dtype=float))
    maximize = obj.sense == pyo.maximize
    if maximize:
        cost, offset = -cost, -offset

    rows = list(m.component_data_objects(pyo.Constraint, active=True, sort=False))
    bounded = [con.to_bounded_expression(evaluate_bounds=True) for con in rows]
    linear = [i for i, (_, body, _) in enumerate(bounded)
              if body.__class__ is LinearExpression]
    const = np.zeros(len(rows))
    row, col, val, general_linear = _linear_terms([bounded[i][1] for i in linear], lookup)
    row = np.asarray(linear, dtype=np.int64)[row] if len(linear) else row
    general = {linear[i] for i in general_linear} | (set(range(len(rows))) - set(linear))
    if general:  # read those rows on their own and put them in place of the bulk reading
        keep = ~np.isin(row, np.fromiter(general, dtype=np.int64, count=len(general)))
        parts_row, parts_col, parts_val = [row[keep]], [col[keep]], [val[keep]]
        for i in sorted(general):
            cols, vals, const[i] = walker().terms(bounded[i][1], rows[i])
            parts_row.append(np.full(len(cols), i, dtype=np.int64))
            parts_col.append(np.asarray(cols, dtype=np.int64))
            parts_val.append(np.asarray(vals, dtype=float))
        row, col, val = (np.concatenate(parts_row), np.concatenate(parts_col),
                         np.concatenate(parts_val))
    # rows in order, and the same variable twice in a row added up
    key = row * max(n_col, 1) + col
    order = np.argsort(key, kind="stable")
    key, col, val = key[order], col[order], val[order]
    if len(key) > 1 and (key[1:] == key[:-1]).any():
        key, first = np.unique(key, return_index=True)
        val = np.add.reduceat(val, first)
        col = col[first]
    row = key // max(n_col, 1)
    start = np.searchsorted(row, np.arange(len(rows) + 1))

    lower = np.array([-INF if lb is None else float(lb) for lb, _, _ in bounded], dtype=float)
    upper = np.array([INF if ub is None else float(ub) for _, _, ub in bounded], dtype=float)
    row_lower, row_upper = lower - const, upper - const
    sense = np.where(row_lower == row_upper, 0,
                     np.where(np.isinf(row_lower), 1, np.where(np.isinf(row_upper), -1, 2)))
    bounds = [v.bounds for v in columns]
    col_lower = np.array([-INF if lo is None else lo for lo, _ in bounds], dtype=float)
    col_upper = np.array([INF if hi is None else hi for _, hi in bounds], dtype=float)
    integer = np.array([v.is_integer() for v in columns], dtype=bool)
    return CompiledModel(
        columns=columns, rows=rows, cost=cost, offset=float(offset),
        col_lower=col_lower, col_upper=col_upper, integer=integer,
        row_lower=row_lower, row_upper=row_upper, sense=sense.astype(np.int8),
        start=start.astype(np.int32), index=col.astype(np.int32),
        value=val.astype(float), maximize=maximize, column_index=lookup,
    )


def compile_with_pyomo(m: pyo.ConcreteModel) -> CompiledModel:
    """The same matrices through Pyomo's ``LinearStandardFormCompiler`` (for
    comparison and as a cross-check; slower on large models)."""
    from pyomo.repn.plugins.standard_form import LinearStandardFormCompiler

    info = LinearStandardFormCompiler().write(m, mixed_form=True, set_sense=None)
    columns = list(info.columns)
    rows = [con for con, _ in info.rows]
    if len({id(c) for c in rows}) != len(rows):
        raise ValueError("a constraint compiled to two rows; ranged rows are not supported here")
    rhs = np.asarray(info.rhs, dtype=float)
    mult = np.array([s for _, s in info.rows], dtype=int)
    row_lower = np.where(mult <= 0, rhs, -INF)
    row_upper = np.where(mult >= 0, rhs, INF)
    A = info.A.tocsr()
    A.sort_indices()
    c = info.c.toarray().ravel() if info.c.shape[0] else np.zeros(len(columns))
    obj = next(iter(m.component_data_objects(pyo.Objective, active=True)))
    return CompiledModel(
        columns=columns, rows=rows, cost=c if len(c) == len(columns) else np.zeros(len(columns)),
        offset=float(info.c_offset[0]) if len(info.c_offset) else 0.0,
        col_lower=np.array([-INF if v.lb is None else v.lb for v in columns], dtype=float),
        col_upper=np.array([INF if v.ub is None else v.ub for v in columns], dtype=float),
        integer=np.array([v.is_integer() for v in columns], dtype=bool),
        row_lower=row_lower, row_upper=row_upper,
        sense=np.where(mult == 0, 0, np.where(mult > 0, 1, -1)).astype(np.int8),
        start=A.indptr.astype(np.int32), index=A.indices.astype(np.int32),
        value=A.data.astype(float), maximize=obj.sense == pyo.maximize,
    )


def row_of_constraint(con, col_of: dict[int, int]) -> tuple[float, float, list[int], list[float]]:
    """One constraint as a row: (lower, upper, columns, coefficients)."""
    lb, body, ub = con.to_bounded_expression(evaluate_bounds=True)
    cols, vals, const = _Walker(col_of).terms(body, con)
    return (-INF if lb is None else float(lb) - const,
            INF if ub is None else float(ub) - const, cols, vals)

"""The bulk compiler (optimizer/solver/compile.py) against matrices worked out by hand
and against Pyomo's own LinearStandardFormCompiler on every bundled instance."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyomo.core as pyo
import pytest
from pyomo.core.expr.numeric_expr import LinearExpression, MonomialTermExpression

import optimizer
from optimizer.solver.compile import compile_model, compile_with_pyomo

ROOT = Path(__file__).resolve().parents[1]
INSTANCES = sorted((ROOT / "instances").glob("*/instance.yaml"))


def dense(lp) -> dict[tuple[int, int], float]:
    """(row, column) -> coefficient, rows and columns by the Pyomo objects' ids;
    HiGHS refuses a matrix holding one (row, column) twice."""
    out: dict[tuple[int, int], float] = {}
    for i, con in enumerate(lp.rows):
        for k in range(lp.start[i], lp.start[i + 1]):
            key = (id(con), id(lp.columns[lp.index[k]]))
            assert key not in out, f"{con.name} holds {lp.columns[lp.index[k]].name} twice"
            out[key] = float(lp.value[k])
    return {k: v for k, v in out.items() if v != 0.0}


def by_row(lp, values) -> dict[int, float]:
    return {id(con): float(v) for con, v in zip(lp.rows, values, strict=True)}


def by_column(lp, values) -> dict[int, float]:
    return {id(v): float(c) for v, c in zip(lp.columns, values, strict=True)}


def edge_model() -> pyo.ConcreteModel:
    m = pyo.ConcreteModel()
    m.x = pyo.Var(range(4), within=pyo.NonNegativeReals)
    m.y = pyo.Var(bounds=(1.0, 5.0))
    m.z = pyo.Var(within=pyo.Binary)
    m.p = pyo.Param(initialize=0.25, mutable=True)
    m.x[3].fix(2.0)
    # a bulk row: variables, a number x variable and a parameter x variable
    m.plain = pyo.Constraint(expr=LinearExpression(
        [m.x[0], m.x[1], MonomialTermExpression((3.0, m.y)),
         MonomialTermExpression((-m.p, m.z))]) <= 10)
    # the same variable twice: 1 + 2 = 3 on x[0]
    m.twice = pyo.Constraint(expr=LinearExpression(
        [m.x[0], MonomialTermExpression((2.0, m.x[0])), m.x[2]]) >= 1)
    # a fixed variable moves into the bound: x1 + 4 x3 <= 9 with x3 = 2 -> x1 <= 1
    m.fixed = pyo.Constraint(expr=LinearExpression(
        [m.x[1], MonomialTermExpression((4.0, m.x[3]))]) <= 9)
    # a constant inside the expression: 5 + x2 == 7 -> x2 == 2
    m.const = pyo.Constraint(expr=LinearExpression([5.0, m.x[2]]) == 7)
    # an ordinary Pyomo sum, not built by the model helpers: 2 <= x0 - y <= 4
    m.ranged = pyo.Constraint(expr=pyo.inequality(2, m.x[0] - m.y, 4))
    m.cost = pyo.Objective(expr=LinearExpression(
        [MonomialTermExpression((2.0, m.x[0])), m.x[1], MonomialTermExpression((m.p, m.y)),
         MonomialTermExpression((7.0, m.x[3]))]))
    return m


def test_rows_worked_by_hand():
    m = edge_model()
    lp = compile_model(m)
    x0, x1, x2, y, z = (id(v) for v in (m.x[0], m.x[1], m.x[2], m.y, m.z))
    assert {id(v) for v in lp.columns} == {x0, x1, x2, y, z}  # x3 is fixed: no column
    assert dense(lp) == {
        (id(m.plain), x0): 1.0, (id(m.plain), x1): 1.0, (id(m.plain), y): 3.0,
        (id(m.plain), z): -0.25,
        (id(m.twice), x0): 3.0, (id(m.twice), x2): 1.0,
        (id(m.fixed), x1): 1.0,
        (id(m.const), x2): 1.0,
        (id(m.ranged), x0): 1.0, (id(m.ranged), y): -1.0,
    }
    inf = float("inf")
    assert by_row(lp, lp.row_lower) == {id(m.plain): -inf, id(m.twice): 1.0,
                                        id(m.fixed): -inf, id(m.const): 2.0,
                                        id(m.ranged): 2.0}
    assert by_row(lp, lp.row_upper) == {id(m.plain): 10.0, id(m.twice): inf,
                                        id(m.fixed): 1.0, id(m.const): 2.0,
                                        id(m.ranged): 4.0}
    # objective 2 x0 + x1 + 0.25 y + 7 * 2 (the fixed x3)
    assert by_column(lp, lp.cost) == {x0: 2.0, x1: 1.0, x2: 0.0, y: 0.25, z: 0.0}
    assert lp.offset == 14.0
    assert by_column(lp, lp.integer) == {x0: 0.0, x1: 0.0, x2: 0.0, y: 0.0, z: 1.0}
    assert by_column(lp, lp.col_lower) == {x0: 0.0, x1: 0.0, x2: 0.0, y: 1.0, z: 0.0}
    assert by_column(lp, lp.col_upper) == {x0: inf, x1: inf, x2: inf, y: 5.0, z: 1.0}


def test_parameter_changes_are_read_again():
    m = edge_model()
    m.p = 0.5
    lp = compile_model(m)
    assert dense(lp)[(id(m.plain), id(m.z))] == -0.5
    assert by_column(lp, lp.cost)[id(m.y)] == 0.5


def test_a_row_changed_in_place_is_read_as_it_is_now():
    m = edge_model()
    m.plain.set_value(m.x[0] + m.x[1] <= 3)
    lp = compile_model(m)
    assert {k: v for k, v in dense(lp).items() if k[0] == id(m.plain)} == {
        (id(m.plain), id(m.x[0])): 1.0, (id(m.plain), id(m.x[1])): 1.0}
    m.twice.deactivate()
    assert id(m.twice) not in {id(c) for c in compile_model(m).rows}


@pytest.mark.parametrize("path", INSTANCES, ids=lambda p: p.parent.name)
def test_same_matrices_as_pyomo_on_the_instances(path):
    m = optimizer.build_model(optimizer.prepare(optimizer.load_instance(path)))
    ours, pyomos = compile_model(m), compile_with_pyomo(m)
    assert {id(v) for v in ours.columns} == {id(v) for v in pyomos.columns}
    assert {id(c) for c in ours.rows} == {id(c) for c in pyomos.rows}
    a, b = dense(ours), dense(pyomos)
    assert a.keys() == b.keys()
    assert all(np.isclose(a[k], b[k], rtol=1e-12, atol=0) for k in a)
    for attr in ("row_lower", "row_upper"):
        mine, theirs = by_row(ours, getattr(ours, attr)), by_row(pyomos, getattr(pyomos, attr))
        assert all(np.isclose(mine[k], theirs[k], rtol=1e-12) or mine[k] == theirs[k]
                   for k in mine)
    mine, theirs = by_column(ours, ours.cost), by_column(pyomos, pyomos.cost)
    assert all(np.isclose(mine[k], theirs[k], rtol=1e-12, atol=0) for k in mine)
    assert np.isclose(ours.offset, pyomos.offset)

"""The Pyomo floor: the least any Pyomo-based run of an LP can take on this machine.

Given the matrices of an LP (an ``.npz`` written by ``run.py``), a fresh
process does only what every Pyomo-based solve must do, and nothing a
sourcing tool also has to do (no instance files to read or validate, no data
preparation, no pandas, no results tables, no plan check, no files written):

1. start the interpreter and import numpy, ``pyomo.core`` and highspy;
2. build the LP as a Pyomo model with the cheapest public construction we
   know: one ``Var`` over ``range(n)`` with its bounds set in a loop, one
   ``LinearExpression`` per row from the row's (column, coefficient) pairs,
   one indexed ``Constraint`` and a linear objective, with the cyclic garbage
   collector paused;
3. compile it to matrices with this project's bulk compiler
   (``optimizer.solver.compile``; the time taken to *import* that module is left
   out, since it pulls in the whole package);
4. hand the matrices to HiGHS with ``passModel``, solve, and read the
   primal values back as one array.

It prints one JSON line: the phase timings, the time to leave out, and the
objective (which must equal that of the same LP solved by HiGHS alone), and
leaves without tearing the model down, as ``optimizer``'s command line does.
The whole floor is the process's wall time less the left-out import.

    python benchmarks/floor.py LP.npz
"""

from __future__ import annotations

import time

T_START = time.perf_counter()

import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import highspy  # noqa: E402
import numpy as np  # noqa: E402
import pyomo.core as pyo  # noqa: E402
from pyomo.common.gc_manager import PauseGC  # noqa: E402
from pyomo.core.expr.numeric_expr import LinearExpression, MonomialTermExpression  # noqa: E402

T_IMPORTS = time.perf_counter()


def main(path: str) -> dict:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    t0 = time.perf_counter()
    from optimizer.solver.compile import compile_model  # left out of the floor: see docstring
    left_out = time.perf_counter() - t0

    with PauseGC():
        t = time.perf_counter()
        lp = np.load(path)
        cost, col_lower, col_upper = lp["cost"], lp["col_lower"], lp["col_upper"]
        row_lower, row_upper = lp["row_lower"].tolist(), lp["row_upper"].tolist()
        start, index, value = lp["start"].tolist(), lp["index"].tolist(), lp["value"].tolist()
        read = time.perf_counter() - t

        t = time.perf_counter()
        m = pyo.ConcreteModel()
        m.x = pyo.Var(range(len(cost)))
        x = list(m.x.values())
        for var, lo, hi in zip(x, col_lower.tolist(), col_upper.tolist(), strict=True):
            var.setlb(None if lo == -np.inf else lo)
            var.setub(None if hi == np.inf else hi)

        def row(m, i):
            a, b = start[i], start[i + 1]
            body = LinearExpression([
                x[j] if c == 1.0 else MonomialTermExpression((c, x[j]))
                for j, c in zip(index[a:b], value[a:b], strict=True)])
            lo, hi = row_lower[i], row_upper[i]
            return (None if lo == -np.inf else lo, body, None if hi == np.inf else hi)

        m.rows = pyo.Constraint(range(len(row_lower)), rule=row)
        m.cost = pyo.Objective(expr=LinearExpression([
            MonomialTermExpression((c, x[j]))
            for j, c in zip(np.flatnonzero(cost).tolist(), cost[cost != 0].tolist(),
                            strict=True)]) + float(lp["offset"]))
        build = time.perf_counter() - t

        t = time.perf_counter()
        c = compile_model(m)
        compile_ = time.perf_counter() - t

        t = time.perf_counter()
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        h.passModel(len(c.columns), len(c.rows), c.nnz, int(highspy.MatrixFormat.kRowwise),
                    int(highspy.ObjSense.kMinimize), c.offset, c.cost, c.col_lower, c.col_upper,
                    c.row_lower, c.row_upper, c.start, c.index, c.value,
                    c.integer.astype(np.int32))
        handoff = time.perf_counter() - t

        t = time.perf_counter()
        h.run()
        solve = time.perf_counter() - t

        t = time.perf_counter()
        primal = np.asarray(h.getSolution().col_value)
        read_back = time.perf_counter() - t

    return {
        "imports": T_IMPORTS - T_START, "read_matrices": read, "build": build,
        "compile": compile_, "handoff": handoff, "solve": solve, "read_back": read_back,
        "left_out": left_out, "objective": h.getInfo().objective_function_value,
        "columns": int(primal.size),
    }


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1])), flush=True)
    os._exit(0)  # skip tearing the model down, as the command line does

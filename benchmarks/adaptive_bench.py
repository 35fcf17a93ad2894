"""Adaptive plans at scale (issue #24): the multi-stage program on a scenario
tree against the two-stage extensive form, on generated instances.

Each instance (``generate``: S suppliers, 4 applications, 5 periods) gets a
tree of four scenarios: a Chinese export ban from the second period (0.10), a
lithium price spike from the third (0.20), a demand slump from the third
(0.15), and a branch of the ban in which Korean capacity halves from the
fourth (0.05). For each instance and lag, in a child process (so that HiGHS's
own log can be read): the whole library call (build, compile, solve, read)
and HiGHS's run alone, the LP's size before and after HiGHS presolve, and the
simplex iterations, for the two-stage extensive form and for the adaptive
program.

    python benchmarks/adaptive_bench.py [--suppliers 100,400] [--lags 0,1]
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.generate import generate, write  # noqa: E402

TREE = [
    {"name": "cn-ban", "probability": 0.10, "from": None,
     "capacity_factor": {"by": "control", "group": ["CN"], "factor": 0.0}},
    {"name": "lithium-spike", "probability": 0.20, "from": None,
     "price_factor": {"by": "family", "group": ["lithium"], "factor": 1.3}},
    {"name": "demand-slump", "probability": 0.15, "from": None,
     "demand_factor": {"factor": 0.8}},
    {"name": "kr-strike", "probability": 0.05, "from": None, "parent": "cn-ban",
     "capacity_factor": {"by": "control", "group": ["KR"], "factor": 0.5}},
]


def instance(seed: int, suppliers: int, folder: Path) -> Path:
    inst = generate(seed, suppliers, 4, 5)
    years = inst["periods"]
    scenarios = []
    for sc, start in zip(TREE, (1, 2, 2, 3), strict=True):
        row = {k: v for k, v in sc.items() if v is not None}
        row["from"] = years[start]
        scenarios.append(row)
    inst["scenarios"] = scenarios
    inst["rules"] = [r for r in inst.get("rules", []) if r.get("kind") != "max_hhi"]
    return write(inst, folder)


def one(path: str, mode: str, lag: int) -> None:
    """In the child: one solve with HiGHS's log on, then a JSON line."""
    import time

    from optimizer.data import prepare
    from optimizer.data_scenarios import scenario_data
    from optimizer.input import load_instance
    from optimizer.scenarios.adaptive import adaptive_plan
    from optimizer.scenarios.cases import cases_for
    from optimizer.scenarios.extensive import solve_extensive
    from optimizer.solver.options import SolverOptions

    inst = load_instance(path)
    data = prepare(inst)
    sd = scenario_data(data)
    cases = cases_for(inst, sd)
    options = SolverOptions(log=True)
    t0 = time.perf_counter()
    if mode == "two-stage":
        res = solve_extensive(data, sd, cases, options=options)
        objective, size, highs = res.objective, res.size, res.seconds
    else:
        plan = adaptive_plan(inst, data, sd, cases, lag, options=options)
        objective, size, highs = plan.objective, plan.size, plan.highs_seconds
    wall = time.perf_counter() - t0
    sys.stdout.flush()
    print("RESULT " + json.dumps({"objective": objective, "size": size, "highs": highs,
                                  "wall": wall}), flush=True)


def measure(path: Path, mode: str, lag: int) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--one", str(path), mode, str(lag)],
                          capture_output=True, text=True, timeout=1800)
    out = proc.stdout
    line = next((x for x in out.splitlines() if x.startswith("RESULT ")), None)
    if line is None:
        raise RuntimeError(proc.stderr[-2000:])
    res = json.loads(line[len("RESULT "):])
    red = re.findall(r"Presolve reductions: rows (\d+)\(-(\d+)\); columns (\d+)\(-(\d+)\)", out)
    res["rows_after"] = sum(int(r[0]) for r in red)
    res["rows_removed"] = sum(int(r[1]) for r in red)
    res["cols_removed"] = sum(int(r[3]) for r in red)
    res["iterations"] = sum(int(x) for x in re.findall(r"Simplex\s+iterations:\s+(\d+)", out))
    return res


def main(argv: list[str] | None = None) -> int:
    if argv is None and len(sys.argv) > 1 and sys.argv[1] == "--one":
        one(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        return 0
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--suppliers", default="100,400")
    ap.add_argument("--lags", default="0,1")
    ap.add_argument("--seed", type=int, default=3)
    args = ap.parse_args(argv)
    print("| suppliers | program | rows | cols | rows removed by presolve | simplex iterations "
          "| HiGHS s | whole s | whole / HiGHS | objective |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for s in (int(x) for x in args.suppliers.split(",")):
            path = instance(args.seed, s, Path(tmp) / f"s{s}")
            runs = [("two-stage", 0)] + [("adaptive", int(lag)) for lag in
                                         args.lags.split(",")]
            for mode, lag in runs:
                r = measure(path, mode, lag)
                name = mode if mode == "two-stage" else f"adaptive, lag {lag}"
                size = r["size"]
                print(f"| {s} | {name} | {size['constraints']:,} | {size['variables']:,} | "
                      f"{r['rows_removed']:,} | {r['iterations']:,} | {r['highs']:.2f} | "
                      f"{r['wall']:.2f} | {r['wall'] / max(r['highs'], 1e-9):.1f} | "
                      f"{r['objective']:,.1f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

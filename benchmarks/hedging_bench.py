"""Progressive hedging (``robust --engine mpisppy``) against the extensive form,
on the north-america instance with sampled scenarios (issue #24).

The bundled instance's scenarios have fixed factors, so ``--sample N`` merges
its draws into at most six distinct cases whatever N is. The benchmark
therefore also runs a variant whose factors are uncertain (ILLUSTRATIVE
ranges around the bundled values, below), so that N draws give about
0.7 N distinct cases (the base case's 30% merge into one).

For each N and each way of solving, in a child process, time-boxed: the
extensive form (``solve_extensive``: build, HiGHS, read back), PH serially
and PH under ``mpiexec -n 2`` (``solve_hedging``: its own stopping rule, gap
1e-4, and the time limit ``--ph-limit``), under an address-space budget
(``MEMORY_GB``, default 16, split between the ranks: past it the child fails
with MemoryError instead of waking the OOM killer). Each child reports its wall time,
its peak resident memory (under mpiexec: each rank's, summed), the objective
(PH: the expected cost of the plan it returns), the bound and the gap.

    python benchmarks/hedging_bench.py [--samples 10,100,1000] [--box 600]
        [--ph-limit 540] [--bundle K] [--out benchmarks/results/hedging.json]
    python benchmarks/hedging_bench.py --modes ef-adaptive,ph-adaptive,ph-adaptive-mpi2

The adaptive modes solve the adaptive program (``robust --adaptive --lag 1``) by
the extensive form (``adaptive_plan``) and by PH (``solve_adaptive_hedging``).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

BUNDLED = ROOT / "instances" / "north-america"

#: address space all the processes of one run may use together, GB (24 GB machine)
MEMORY_GB = float(os.environ.get("MEMORY_GB", "16"))

#: the lag of the adaptive modes (``ef-adaptive``, ``ph-adaptive``, ``ph-adaptive-mpi2``)
LAG = 1

#: the uncertain variant: each scenario's factor drawn from a range around the
#: bundled value (ILLUSTRATIVE, for the benchmark only)
UNCERTAIN = {
    "cn-export-ban": ("capacity_factor", 1, {"uniform": [0.2, 0.8]}),
    "graphite-permits": ("capacity_factor", 0, {"triangular": [0.4, 0.64, 0.9]}),
    "cartel-markup": ("price_factor", None, {"triangular": [1.1, 1.3, 1.5]}),
    "lithium-spike": ("price_factor", None, {"uniform": [1.0, 1.2]}),
    "ev-demand-slump": ("demand_factor", None, {"uniform": [0.7, 0.95]}),
}


def uncertain_instance(folder: Path) -> Path:
    """The bundled instance with the factors of UNCERTAIN, in ``folder``."""
    target = folder / "north-america-uncertain"
    shutil.copytree(BUNDLED, target)
    path = target / "instance.yaml"
    inst = yaml.safe_load(path.read_text())
    for sc in inst["scenarios"]:
        key, item, dist = UNCERTAIN[sc["name"]]
        entry = sc[key] if item is None else sc[key][item]
        entry["factor"] = dist
    path.write_text(yaml.safe_dump(inst, sort_keys=False))
    return path


def child(path: str, mode: str, sample: int, ph_limit: float, bundle: int | None) -> None:
    """One solve; its figures as JSON in ``$HEDGING_BENCH_OUT/rank<r>.json`` (under
    mpiexec: one file per rank)."""
    from optimizer.data import prepare
    from optimizer.data_scenarios import scenario_data
    from optimizer.input import load_instance
    from optimizer.scenarios.cases import cases_for
    from optimizer.solver.options import SolverOptions

    # a memory budget for the whole run (MEMORY_GB, split between the ranks): past it
    # the child fails with MemoryError (reported as out of memory) rather than
    # pushing the machine into its OOM killer
    ranks = int(os.environ.get("PMI_SIZE", os.environ.get("OMPI_COMM_WORLD_SIZE", "1")))
    cap = int(MEMORY_GB * 2**30 / max(ranks, 1))
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    t0 = time.perf_counter()
    inst = load_instance(path)
    data = prepare(inst)
    sd = scenario_data(data)
    cases = cases_for(inst, sd, sample, 1)
    out: dict = {"cases": len(cases)}
    t1 = time.perf_counter()
    if mode == "ef":
        from optimizer.scenarios.robust_analysis import solve_extensive

        sol = solve_extensive(data, sd, cases)
        out.update(status=sol.status, objective=sol.objective, size=sol.size)
    elif mode == "ef-adaptive":
        from optimizer.scenarios.adaptive import adaptive_plan

        tree = adaptive_plan(inst, data, sd, cases, LAG)
        out.update(status=tree.status, objective=tree.objective, size=tree.size,
                   nodes=len(tree.tree))
    elif mode == "ph-adaptive":
        from optimizer.scenarios.adaptive_hedging import solve_adaptive_hedging
        from optimizer.solver.hedging import rank_and_size

        tree = solve_adaptive_hedging(inst, data, sd, cases, LAG,
                                      options=SolverOptions(time_limit=ph_limit))
        e = tree.engine
        out.update(status=tree.status, objective=tree.objective, bound=e.get("bound"),
                   gap=e.get("gap"), iterations=e.get("iterations"), ranks=e.get("ranks"),
                   rank=rank_and_size()[0], plan_from=e.get("plan_from"),
                   nodes=len(tree.tree))
    else:
        from optimizer.scenarios.hedging import solve_hedging
        from optimizer.solver.hedging import HedgingSettings, rank_and_size

        ph = solve_hedging(data, sd, cases, options=SolverOptions(time_limit=ph_limit),
                           settings=HedgingSettings(bundle=bundle))
        out.update(status=ph.status, objective=ph.objective, bound=ph.bound, gap=ph.gap,
                   iterations=ph.iterations, ranks=ph.ranks, rank=rank_and_size()[0],
                   bundles=ph.bundles,
                   run_status=ph.run.status if ph.run else None)
    out["solve_seconds"] = time.perf_counter() - t1
    out["seconds"] = time.perf_counter() - t0
    out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    # one file per rank: under mpiexec the ranks' stdout lines can interleave
    rank = int(out.get("rank", 0))
    Path(os.environ["HEDGING_BENCH_OUT"], f"rank{rank}.json").write_text(json.dumps(out))
    if mode.startswith("ph"):
        from optimizer.solver.hedging import finish_mpi

        finish_mpi()


def run(path: Path, mode: str, sample: int, box: float, ph_limit: float,
        bundle: int | None = None) -> dict:
    """A child process (``mpi2``: two ranks under mpiexec), killed after ``box`` s."""
    kind = mode.removesuffix("-mpi2")
    command = [sys.executable, str(Path(__file__).resolve()), "--child", str(path),
               kind if kind.endswith("adaptive") or kind == "ef" else "ph", str(sample),
               str(ph_limit), "auto" if bundle is None else str(bundle)]
    if mode.endswith("-mpi2"):
        mpiexec = shutil.which("mpiexec", path=str(Path(sys.executable).parent)) or "mpiexec"
        command = [mpiexec, "-n", "2", *command]
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        try:
            proc = subprocess.run(command, capture_output=True, text=True, timeout=box,
                                  env={**os.environ, "HEDGING_BENCH_OUT": folder})
        except subprocess.TimeoutExpired:
            return {"mode": mode, "sample": sample, "outcome": f"out of time ({box:g} s)",
                    "wall": time.perf_counter() - t0}
        wall = time.perf_counter() - t0
        lines = [json.loads(f.read_text()) for f in sorted(Path(folder).glob("rank*.json"))]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr.strip().splitlines() or ["?"])[-1]
        outcome = f"out of memory ({MEMORY_GB:g} GB)" if proc.returncode in (-9, 137) or \
            "MemoryError" in proc.stderr or "std::bad_alloc" in proc.stderr \
            else f"failed: {tail[:120]}"
        return {"mode": mode, "sample": sample, "outcome": outcome, "wall": wall}
    first = min(lines, key=lambda r: r.get("rank", 0))
    first["peak_mb"] = sum(r["peak_mb"] for r in lines)
    first.update(mode=mode, sample=sample, outcome="ok", wall=wall)
    return first


def fmt(v, spec: str = ",.1f") -> str:
    return "–" if v is None else format(v, spec)


def table(rows: list[dict]) -> list[str]:
    out = ["| N | cases | engine | subproblems | outcome | wall s | solve s | peak MB | "
           "objective | bound | gap | PH iterations |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        gap = r.get("gap")
        out.append(
            f"| {r['sample']} | {r.get('cases', '–')} | {r['mode']} | {r.get('bundles', '–')} "
            f"| {r['outcome']}"
            f"{'' if r.get('status') in (None, 'optimal') else ' (' + str(r['status']) + ')'} "
            f"| {fmt(r.get('wall'))} | {fmt(r.get('solve_seconds'))} | "
            f"{fmt(r.get('peak_mb'), ',.0f')} | {fmt(r.get('objective'), ',.2f')} | "
            f"{fmt(r.get('bound'), ',.2f')} | {'–' if gap is None else f'{100 * gap:.3g}%'} | "
            f"{r.get('iterations', '–')} |")
    return out


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5]),
              None if sys.argv[6] == "auto" else int(sys.argv[6]))
        return
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", default="10,100,1000")
    ap.add_argument("--box", type=float, default=600.0)
    ap.add_argument("--ph-limit", type=float, default=540.0)
    ap.add_argument("--modes", default="ef,ph,ph-mpi2")
    ap.add_argument("--variants", default="uncertain,bundled")
    ap.add_argument("--bundle", type=int, default=None,
                    help="cases per PH subproblem (default: automatic)")
    ap.add_argument("--out", default=str(HERE / "results" / "hedging.json"))
    args = ap.parse_args()
    samples = [int(x) for x in args.samples.split(",")]
    results: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        paths = {"bundled": BUNDLED / "instance.yaml",
                 "uncertain": uncertain_instance(Path(tmp))}
        for variant in args.variants.split(","):
            for n in samples:
                for mode in args.modes.split(","):
                    r = run(paths[variant], mode, n, args.box, args.ph_limit, args.bundle)
                    r["variant"] = variant
                    results.append(r)
                    print(json.dumps(r), flush=True)
                    Path(args.out).write_text(json.dumps(results, indent=1))
    for variant in args.variants.split(","):
        print(f"\n{variant}")
        print("\n".join(table([r for r in results if r["variant"] == variant])))


if __name__ == "__main__":
    main()

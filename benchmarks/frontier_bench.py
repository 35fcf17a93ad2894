"""Frontier sweep against cold solves: what building once and re-solving warm buys.

    python benchmarks/frontier_bench.py                      # 600 suppliers x 5 x 6, 50 points
    python benchmarks/frontier_bench.py --cold 10            # time 10 cold solves, scale to 50
    python benchmarks/frontier_bench.py --rule company-cap --from 1 --to 0.2

The instance comes from ``benchmarks/generate.py`` (seeded, so the same
arguments give the same instance). Three ways to get the same curve are timed,
wall clock, on the same in-memory instance (no file reading in any of them):

* **sweep**: ``optimizer.frontier`` (prepare, build and hand to HiGHS once,
  then per point: change the limit in place, warm re-solve, read the results);
* **sweep, cold HiGHS**: the same built model, but HiGHS forgets its basis
  before each point (``clearSolver``): what the warm start alone is worth;
* **cold solves**: ``optimizer.solve(instance.with_rule_limit(rule, v),
  analysis=False)`` per point: prepare, build, compile, solve, results, as a
  user without the frontier would do it.

Every cold answer is compared with the sweep's (status and optimum), so the
benchmark is also a check. The ratio reported is cold solves / sweep. Results
go to ``benchmarks/results/frontier.md`` (``--out``) and to the terminal.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import pyomo  # noqa: E402

import optimizer  # noqa: E402
from benchmarks.generate import generate, write  # noqa: E402
from optimizer.analysis.frontier import Sweeper, frontier  # noqa: E402


def _instance(seed: int, suppliers: int, applications: int, periods: int):
    """The generated instance, written to a temporary directory and loaded once."""
    raw = generate(seed, suppliers=suppliers, applications=applications, periods=periods)
    with tempfile.TemporaryDirectory() as tmp:
        return optimizer.load_instance(write(raw, Path(tmp)))


def _cold_heuristic(inst, rule: str, values: list[float]) -> tuple[float, list]:
    """The same built model, but HiGHS starts from scratch at every point."""
    t0 = time.perf_counter()
    sw = Sweeper(inst, [rule])
    rows = []
    for v in values:
        sw.session.hm.clear_solver()
        rows.append(sw.solve((v,)))
    return time.perf_counter() - t0, rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--suppliers", type=int, default=600)
    p.add_argument("--applications", type=int, default=5)
    p.add_argument("--periods", type=int, default=6)
    p.add_argument("--rule", default="china-cap")
    p.add_argument("--from", dest="start", type=float, default=1.0)
    p.add_argument("--to", dest="stop", type=float, default=0.2)
    p.add_argument("--points", type=int, default=50)
    p.add_argument("--cold", type=int, default=None,
                   help="time only this many cold solves (evenly spread) and scale up")
    p.add_argument("--workers", type=int, default=0, help="also time --workers N")
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "frontier.md"))
    a = p.parse_args(argv)

    inst = _instance(a.seed, a.suppliers, a.applications, a.periods)
    values = [round(float(v), 6) for v in np.linspace(a.start, a.stop, a.points)]

    t0 = time.perf_counter()
    df = frontier(inst, a.rule, values)
    t_sweep = time.perf_counter() - t0
    size = df.attrs["model_size"]
    print(f"sweep: {t_sweep:.2f} s for {len(values)} points ({df.attrs['mode']}); "
          f"model {size}", flush=True)

    t_clear, clear_rows = _cold_heuristic(inst, a.rule, values)
    print(f"sweep with cold HiGHS: {t_clear:.2f} s", flush=True)

    picks = list(range(len(values)))
    if a.cold is not None and a.cold < len(values):
        picks = sorted({round(k) for k in np.linspace(0, len(values) - 1, a.cold)})
    t_cold = 0.0
    worst = 0.0
    mismatches = 0
    for k in picks:
        t1 = time.perf_counter()
        res = optimizer.solve(inst.with_rule_limit(a.rule, values[k]), analysis=False)
        t_cold += time.perf_counter() - t1
        s_status, s_obj = df["status"].iloc[k], df["objective"].iloc[k]
        if res.status != s_status:
            mismatches += 1
        elif res.objective is not None:
            worst = max(worst, abs(res.objective - s_obj) / max(1.0, abs(res.objective)))
    per_cold = t_cold / len(picks)
    t_cold_all = per_cold * len(values)
    print(f"cold solves: {t_cold:.2f} s for {len(picks)} points "
          f"({per_cold:.3f} s each; {t_cold_all:.2f} s for {len(values)})", flush=True)
    for row, k in zip(clear_rows, range(len(values)), strict=True):
        if row["status"] != df["status"].iloc[k]:
            mismatches += 1

    t_workers = None
    if a.workers > 1:
        t2 = time.perf_counter()
        w = frontier(inst, a.rule, values, workers=a.workers)
        t_workers = time.perf_counter() - t2
        if not (w["status"] == df["status"]).all():
            mismatches += 1

    ratio = t_cold_all / t_sweep
    counts = df["status"].value_counts().to_dict()
    lines = [
        "# Frontier sweep vs cold solves",
        "",
        "`" + " ".join(["python benchmarks/frontier_bench.py", *(argv or sys.argv[1:])]) + "`",
        "",
        f"Instance: `generate(seed={a.seed}, suppliers={a.suppliers}, "
        f"applications={a.applications}, periods={a.periods})`: {size['variables']:,} "
        f"variables, {size['constraints']:,} constraints, {size['nonzeros']:,} nonzeros, "
        f"{size['binaries']} binaries. Rule `{a.rule}` ({df.attrs['kinds'][0]}) from "
        f"{a.start:g} to {a.stop:g}, {len(values)} points: "
        + ", ".join(f"{n} {s}" for s, n in counts.items()) + ".",
        "",
        "| method | seconds | per point | time / sweep time |",
        "|---|---:|---:|---:|",
        f"| sweep (`optimizer.frontier`, built once, warm re-solves) | {t_sweep:.2f} | "
        f"{t_sweep / len(values):.3f} | 1.0x |",
        f"| sweep, HiGHS cleared before each point (no warm start) | {t_clear:.2f} | "
        f"{t_clear / len(values):.3f} | {t_clear / t_sweep:.1f}x |",
        f"| {len(values)} cold solves (`optimizer.solve` per limit)"
        + (f", {len(picks)} timed and scaled" if len(picks) < len(values) else "")
        + f" | {t_cold_all:.2f} | {per_cold:.3f} | **{ratio:.1f}x** |",
    ]
    if t_workers is not None:
        lines.append(f"| sweep, `workers={a.workers}` (spawned processes, each builds once) | "
                     f"{t_workers:.2f} | {t_workers / len(values):.3f} | "
                     f"{t_workers / t_sweep:.1f}x |")
    lines += [
        "",
        f"Sweep time includes its one prepare/build/hand-off; HiGHS solve time inside the "
        f"sweep: {df['solve_seconds'].sum():.2f} s. Cold answers agree with the sweep: "
        f"{'yes' if mismatches == 0 else f'NO ({mismatches} mismatches)'} (largest relative "
        f"difference of optima {worst:.1e}).",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores (shared), Python "
        f"{platform.python_version()}, pyomo {pyomo.version.version}, highspy "
        f"{metadata.version('highspy')}. Wall clock, one run.",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print(f"wrote {out}")
    return 0 if mismatches == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

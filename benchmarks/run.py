"""Scale benchmark: the whole ``optimizer solve`` run against HiGHS alone.

For each size, a seeded instance is generated (benchmarks/generate.py, CSV
tables) and then, in one run of this script:

1. ``python -m optimizer solve FILE --out DIR --no-analysis`` runs in a child
   process: its wall time, its peak memory (max RSS), and the phase timings it
   writes to summary.json (load, prepare, build, compile, hand-off, HiGHS
   solve, results, the plan check, the terminal report and writing the
   files); "start-up" is the rest: interpreter start and imports;
2. the same LP is compiled here and handed to a fresh ``highspy.Highs`` with
   the matrix API; its ``run()`` time is the floor: HiGHS alone;
3. the same LP's matrices go to ``benchmarks/floor.py`` in a child process:
   the least a Pyomo-based run of that LP takes (interpreter, imports, a bare
   Pyomo model of the matrices, compile, hand-off, solve; see that file).

The ratio is (whole CLI run) / (HiGHS alone); the floor ratio is (Pyomo
floor) / (HiGHS in the floor's own process). Results go to stdout as a
Markdown table; ``--readme`` also appends them to benchmarks/README.md.

    python benchmarks/run.py --sizes 7e4,1e5 --repeat 5 [--readme]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import highspy
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.generate import generate, write  # noqa: E402

#: (suppliers, applications, periods) giving roughly 1e4 ... 1e6 variables
SIZES = {
    "1e4": (250, 8, 10),
    "3e4": (700, 8, 10),
    "7e4": (1550, 8, 10),  # about 72,000 variables: the size issue #9 is checked at
    "1e5": (2000, 8, 10),
    "3e5": (6000, 8, 10),
    "1e6": (20000, 8, 10),
}
PHASES = ("load", "prepare", "build", "compile", "handoff", "solve", "results", "check",
          "report", "write")


def machine() -> str:
    cpu = "unknown cpu"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{platform.system()} {platform.machine()}, {cpu}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}, highspy {highspy.Highs().version()}")


def cli_run(path: Path, out: Path) -> dict:
    cmd = [sys.executable, "-m", "optimizer", "solve", str(path), "--out", str(out),
           "--no-analysis"]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode() if proc.stderr else ""
    if proc.returncode != 0:
        raise RuntimeError(f"optimizer solve exited {proc.returncode}: {err}")
    summary = json.loads((out / "summary.json").read_text())
    return {"wall": wall, "max_rss_mb": usage.ru_maxrss / 1024, "summary": summary}


def pyomo_floor(matrices: Path) -> dict:
    """Run benchmarks/floor.py on the LP's matrices in a fresh process."""
    cmd = [sys.executable, str(ROOT / "benchmarks" / "floor.py"), str(matrices)]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"benchmarks/floor.py exited {proc.returncode}: {proc.stderr}")
    floor = json.loads(proc.stdout.strip().splitlines()[-1])
    floor["wall"] = wall - floor["left_out"]
    return floor


def highs_alone(path: Path, matrices: Path | None = None) -> tuple[float, float, dict]:
    """Compile the instance's LP here, then time HiGHS alone on it (and save
    the matrices to ``matrices`` for the Pyomo floor)."""
    import optimizer
    from optimizer.compile import compile_model, compile_with_pyomo
    from optimizer.solver import new_highs

    data = optimizer.prepare(optimizer.load_instance(path))
    m = optimizer.build_model(data)
    t0 = time.perf_counter()
    lp = compile_model(m)
    bulk_compile = time.perf_counter() - t0
    if matrices is not None:
        np.savez(matrices, cost=lp.cost, offset=lp.offset, col_lower=lp.col_lower,
                 col_upper=lp.col_upper, row_lower=lp.row_lower, row_upper=lp.row_upper,
                 start=lp.start, index=lp.index, value=lp.value)
    h = new_highs()
    h.passModel(len(lp.columns), len(lp.rows), lp.nnz, int(highspy.MatrixFormat.kRowwise),
                int(highspy.ObjSense.kMinimize), lp.offset, lp.cost, lp.col_lower, lp.col_upper,
                lp.row_lower, lp.row_upper, lp.start, lp.index, lp.value,
                lp.integer.astype(np.int32))
    t1 = time.perf_counter()
    h.run()
    alone = time.perf_counter() - t1
    info = {"objective": h.getInfo().objective_function_value, "bulk_compile": bulk_compile}
    if len(lp.columns) <= 200_000:  # Pyomo's own compiler, for comparison
        t2 = time.perf_counter()
        compile_with_pyomo(m)
        info["pyomo_compile"] = time.perf_counter() - t2
    return alone, info["objective"], info


def run(sizes: list[str], repeat: int = 1) -> list[dict]:
    """One row per size. With ``repeat`` > 1 the CLI run and HiGHS alone
    alternate ``repeat`` times on the same instance; the row holds the run
    with the median ratio, and ``ratios`` all of them."""
    rows = []
    for label in sizes:
        suppliers, applications, periods = SIZES[label]
        with tempfile.TemporaryDirectory() as tmp:
            path = write(generate(1, suppliers, applications, periods), Path(tmp) / "inst")
            trials = []
            for _ in range(repeat):
                cli = cli_run(path, Path(tmp) / "out")
                matrices = Path(tmp) / "lp.npz"
                alone, objective, info = highs_alone(path, matrices)
                info["floor"] = pyomo_floor(matrices)
                trials.append((cli["wall"] / alone, cli, alone, objective, info))
        trials.sort(key=lambda trial: trial[0])
        _, cli, alone, objective, info = trials[len(trials) // 2]
        floor = info["floor"]
        s = cli["summary"]
        t = s["timings"]
        phases = {k: float(t.get(k, 0.0)) for k in PHASES}
        row = {
            "size": label, "variables": s["model_size"]["variables"],
            "constraints": s["model_size"]["constraints"],
            "nonzeros": s["model_size"]["nonzeros"], **phases,
            "other": cli["wall"] - sum(phases.values()), "cli_wall": cli["wall"],
            "highs_alone": alone, "ratio": cli["wall"] / alone,
            "ratios": [round(trial[0], 2) for trial in trials],
            "max_rss_mb": cli["max_rss_mb"],
            "same_objective": abs(objective - s["objective"]) <= 1e-6 * abs(objective),
            "bulk_compile": info["bulk_compile"], "pyomo_compile": info.get("pyomo_compile"),
            "floor": floor["wall"], "floor_solve": floor["solve"],
            "floor_ratio": floor["wall"] / floor["solve"],
            "floor_phases": {k: floor[k] for k in ("imports", "build", "compile", "handoff")},
            "floor_same_objective": abs(floor["objective"] - objective) <= 1e-6 * abs(objective),
        }
        rows.append(row)
        print(json.dumps(row), file=sys.stderr)
    return rows


def table(rows: list[dict]) -> str:
    head = ("| size | variables | nonzeros | start-up | load | prepare | build | compile | "
            "hand-off | HiGHS in run | results | check | report | write | whole run | "
            "HiGHS alone | ratio | peak RSS | ratios of all runs | Pyomo floor | floor ratio |")
    lines = [head, "|" + "---|" * 21]
    for r in rows:
        lines.append(
            f"| {r['size']} | {r['variables']:,} | {r['nonzeros']:,} | {r['other']:.2f} | "
            f"{r['load']:.2f} | {r['prepare']:.2f} | {r['build']:.2f} | {r['compile']:.2f} | "
            f"{r['handoff']:.2f} | {r['solve']:.2f} | {r['results']:.2f} | {r['check']:.2f} | "
            f"{r.get('report', 0.0):.2f} | {r.get('write', 0.0):.2f} | {r['cli_wall']:.2f} | "
            f"{r['alone_fmt'] if 'alone_fmt' in r else format(r['highs_alone'], '.2f')} | "
            f"{r['ratio']:.2f} | {r['max_rss_mb']:,.0f} MB | "
            f"{', '.join(format(x, '.2f') for x in r.get('ratios', [r['ratio']]))} | "
            + (f"{r['floor']:.2f} | {r['floor_ratio']:.2f} |" if "floor" in r else "- | - |")
        )
    floors = [r for r in rows if "floor" in r]
    if floors:
        lines.append("")
        lines.append("Pyomo floor (benchmarks/floor.py), same LP: seconds per step; the rest of "
                     "its wall time is interpreter start and reading the matrices:")
        lines.append("")
        lines.append("| size | imports | build | compile | hand-off | HiGHS | whole floor | "
                     "floor ratio | same optimum |")
        lines.append("|---|---|---|---|---|---|---|---|---|")
        for r in floors:
            p = r["floor_phases"]
            lines.append(f"| {r['size']} | {p['imports']:.2f} | {p['build']:.2f} | "
                         f"{p['compile']:.2f} | {p['handoff']:.2f} | {r['floor_solve']:.2f} | "
                         f"{r['floor']:.2f} | {r['floor_ratio']:.2f} | "
                         f"{'yes' if r['floor_same_objective'] else 'NO'} |")
    comp = [r for r in rows if r.get("pyomo_compile")]
    if comp:
        lines.append("")
        lines.append("Compile step, same model: this project's bulk compiler vs Pyomo's "
                     "LinearStandardFormCompiler (seconds):")
        lines.append("")
        lines.append("| size | bulk | Pyomo | speed-up |")
        lines.append("|---|---|---|---|")
        for r in comp:
            lines.append(f"| {r['size']} | {r['bulk_compile']:.2f} | {r['pyomo_compile']:.2f} | "
                         f"{r['pyomo_compile'] / r['bulk_compile']:.1f}x |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1e4,3e4,1e5", help=f"comma list of {', '.join(SIZES)}")
    ap.add_argument("--repeat", type=int, default=1, help="alternate the CLI run and HiGHS "
                    "alone this many times per size; report the run with the median ratio")
    ap.add_argument("--readme", action="store_true", help="append to benchmarks/README.md")
    args = ap.parse_args()
    sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
    rows = run(sizes, max(1, args.repeat))
    runs = ("one `optimizer solve --no-analysis` run per size" if args.repeat <= 1 else
            f"the `optimizer solve --no-analysis` run with the median ratio of {args.repeat} "
            "runs per size, each followed by HiGHS alone")
    text = (f"\n### {dt.date.today().isoformat()}: {machine()}\n\n"
            f"Times in seconds; all phases from {runs}; HiGHS alone solves the same LP "
            f"handed over with highspy's matrix API in the same benchmark run.\n\n"
            f"{table(rows)}\n")
    print(text)
    if args.readme:
        with open(ROOT / "benchmarks" / "README.md", "a", encoding="utf-8") as f:
            f.write(text)


if __name__ == "__main__":
    main()

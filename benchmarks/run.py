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
   Pyomo model of the matrices, compile, hand-off, solve; see that file);
4. the naive LP of the same instance (``benchmarks/naive.py``: the rules
   written straight over the purchases, no helper variable) is built here and
   handed to a fresh ``highspy.Highs``; its ``run()`` time is HiGHS alone on
   the LP a user would write by hand;
5. ``benchmarks/linopy_model.py`` builds the project's LP in linopy and solves
   it with HiGHS in a child process (imports, load and prepare, build, solve).

The ratio is (whole CLI run) / (HiGHS alone); the ratio vs naive is (whole
CLI run) / (HiGHS alone on the naive LP); the floor ratio is (Pyomo floor) /
(HiGHS in the floor's own process). ``--repeat N`` alternates the five N
times and keeps the round with the median ratio. Every optimum is compared
with the CLI's (relative 1e-6). Results go to stdout as Markdown tables;
``--readme`` also appends them to benchmarks/README.md.

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
from benchmarks.naive import solve_naive  # noqa: E402

#: (suppliers, applications, periods) giving roughly 1e4 ... 1e6 lanes (purchase
#: variables; the LP has a few more columns for unmet demand)
SIZES = {
    "1e4": (250, 8, 10),
    "3e4": (700, 8, 10),
    "7e4": (2000, 8, 10),  # about 75,000 lanes: the size issues #9 and #17 are checked at
    "3e5": (8000, 8, 10),
    "1e6": (26000, 8, 10),
}
#: the naive LP with X written out in every row grows with (rules x lanes): 25
#: million nonzeros at 7e4 already; it is built up to this many suppliers
EXPANDED_UP_TO = 2000
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
    from importlib.metadata import PackageNotFoundError, version

    try:
        linopy = f", linopy {version('linopy')}"
    except PackageNotFoundError:
        linopy = ""
    return (f"{platform.system()} {platform.machine()}, {cpu}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}, highspy {version('highspy')}{linopy}")


#: Runs a command and writes its wall time, peak memory and exit code to a file.
#: On Linux a process's ru_maxrss also counts the peak of the memory image that
#: exec replaced, which for a child started straight from this script (vfork) is
#: this script's own peak: after the naive LP (GBs at 7e4) every child would report
#: that. Started from this small launcher, a child reports its own peak.
_LAUNCHER = """\
import json, os, subprocess, sys, time
t0 = time.perf_counter()
proc = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(proc.pid, 0)
wall = time.perf_counter() - t0
with open(sys.argv[1], "w") as f:
    json.dump({"wall": wall, "max_rss_mb": usage.ru_maxrss / 1024,
               "returncode": os.waitstatus_to_exitcode(status)}, f)
"""


def spawn(cmd: list[str], stdout: int | None = subprocess.PIPE) -> tuple[dict, str, str]:
    """Run ``cmd`` in a fresh process (through the launcher); its wall time,
    peak memory (MB) and exit code, with its stdout and stderr."""
    with tempfile.TemporaryDirectory() as tmp:
        result = Path(tmp) / "usage.json"
        proc = subprocess.run([sys.executable, "-c", _LAUNCHER, str(result), *cmd],
                              stdout=stdout, stderr=subprocess.PIPE, cwd=ROOT, text=True)
        if not result.exists():
            raise RuntimeError(f"launcher exited {proc.returncode}: {proc.stderr}")
        usage = json.loads(result.read_text())
    return usage, proc.stdout or "", proc.stderr or ""


def cli_run(path: Path, out: Path) -> dict:
    cmd = [sys.executable, "-m", "optimizer", "solve", str(path), "--out", str(out),
           "--no-analysis"]
    usage, _, err = spawn(cmd, stdout=subprocess.DEVNULL)
    if usage["returncode"] != 0:
        raise RuntimeError(f"optimizer solve exited {usage['returncode']}: {err}")
    summary = json.loads((out / "summary.json").read_text())
    return {"wall": usage["wall"], "max_rss_mb": usage["max_rss_mb"], "summary": summary}


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


def linopy_run(path: Path) -> dict:
    """Run benchmarks/linopy_model.py on the instance in a fresh process: its
    phase timings and optimum, with its wall time and peak memory."""
    cmd = [sys.executable, str(ROOT / "benchmarks" / "linopy_model.py"), str(path)]
    usage, out, err = spawn(cmd)
    if usage["returncode"] != 0:
        raise RuntimeError(f"benchmarks/linopy_model.py exited {usage['returncode']}: {err}")
    result = json.loads(out.strip().splitlines()[-1])
    result["wall"] = usage["wall"]
    result["max_rss_mb"] = usage["max_rss_mb"]
    return result


def _compilers():
    """The compiler and the HiGHS factory, wherever this version keeps them."""
    import importlib

    places = (("optimizer.solver.compile", "optimizer.solver.highs"),
              ("optimizer.solve.compile", "optimizer.solve.highs"),
              ("optimizer.compile", "optimizer.solver"))
    for compile_module, highs_module in places:
        try:
            compiler = importlib.import_module(compile_module)
            highs = importlib.import_module(highs_module)
        except ModuleNotFoundError:
            continue
        return compiler.compile_model, compiler.compile_with_pyomo, highs.new_highs
    raise ModuleNotFoundError(f"no compiler found in {places}")


def highs_alone(path: Path, matrices: Path | None = None) -> tuple[float, float, dict]:
    """Compile the instance's LP here, then time HiGHS alone on it (and save
    the matrices to ``matrices`` for the Pyomo floor)."""
    import optimizer

    compile_model, compile_with_pyomo, new_highs = _compilers()

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
    info = {"objective": h.getInfo().objective_function_value, "bulk_compile": bulk_compile,
            "iterations": int(h.getInfo().simplex_iteration_count),
            "rows": len(lp.rows), "cols": len(lp.columns), "nnz": int(lp.nnz)}
    if len(lp.columns) <= 200_000:  # Pyomo's own compiler, for comparison
        t2 = time.perf_counter()
        compile_with_pyomo(m)
        info["pyomo_compile"] = time.perf_counter() - t2
    return alone, info["objective"], info


def _same(a: float, b: float, rel: float = 1e-6) -> bool:
    return abs(a - b) <= rel * max(abs(a), abs(b), 1.0)


def run(sizes: list[str], repeat: int = 1) -> list[dict]:
    """One row per size. The CLI run, HiGHS alone (project LP, with the Pyomo
    floor), HiGHS alone on the naive LP and linopy run one after the other,
    ``repeat`` times on the same instance; the row holds the round with the
    median ratio (whole run / HiGHS alone), and ``ratios`` all of them."""
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
                info["naive"] = solve_naive(path, covered=True)
                if suppliers <= EXPANDED_UP_TO:
                    info["expanded"] = solve_naive(path, covered=False)
                info["linopy"] = linopy_run(path)
                trials.append((cli["wall"] / alone, cli, alone, objective, info))
        order = sorted(range(len(trials)), key=lambda i: trials[i][0])
        _, cli, alone, objective, info = trials[order[len(order) // 2]]
        floor, naive, lin = info["floor"], info["naive"], info["linopy"]
        s = cli["summary"]
        t = s["timings"]
        phases = {k: float(t.get(k, 0.0)) for k in PHASES}
        optima = {"highs_alone": objective, "floor": floor["objective"],
                  "naive": naive["objective"], "linopy": lin["objective"]}
        if "expanded" in info:
            optima["expanded"] = info["expanded"]["objective"]
        row = {
            "size": label, "variables": s["model_size"]["variables"],
            "constraints": s["model_size"]["constraints"],
            "nonzeros": s["model_size"]["nonzeros"], **phases,
            "other": cli["wall"] - sum(phases.values()), "cli_wall": cli["wall"],
            "highs_alone": alone, "ratio": cli["wall"] / alone,
            "ratios": [round(trial[0], 2) for trial in trials],
            "max_rss_mb": cli["max_rss_mb"],
            "same_objective": _same(objective, s["objective"]),
            "bulk_compile": info["bulk_compile"], "pyomo_compile": info.get("pyomo_compile"),
            "iterations": info["iterations"],
            "lp_size": {k: info[k] for k in ("rows", "cols", "nnz")},
            "floor": floor["wall"], "floor_solve": floor["solve"],
            "floor_ratio": floor["wall"] / floor["solve"],
            "floor_phases": {k: floor[k] for k in ("imports", "build", "compile", "handoff")},
            "floor_same_objective": _same(floor["objective"], objective),
            "naive": naive["run_seconds"], "naive_iterations": naive["iterations"],
            "naive_build": naive["build_seconds"],
            "naive_size": {k: naive[k] for k in ("rows", "cols", "nnz")},
            "ratio_naive": cli["wall"] / naive["run_seconds"],
            "expanded": info["expanded"]["run_seconds"] if "expanded" in info else None,
            "expanded_iterations": info["expanded"]["iterations"] if "expanded" in info
            else None,
            "expanded_nnz": info["expanded"]["nnz"] if "expanded" in info else None,
            "ratios_naive": [round(trial[1]["wall"] / trial[4]["naive"]["run_seconds"], 2)
                             for trial in trials],
            "linopy": {k: lin[k] for k in ("imports", "data", "build", "solve", "highs_run",
                                          "iterations", "rows", "cols", "nnz", "max_rss_mb",
                                          "wall")},
            "optima": {"cli": s["objective"], **optima},
            "all_same_objective": all(_same(v, s["objective"]) for v in optima.values()),
        }
        rows.append(row)
        print(json.dumps(row), file=sys.stderr)
    return rows


def _cell(r: dict, key: str, fmt: str = ".2f") -> str:
    return format(r[key], fmt) if r.get(key) is not None else "-"


def table(rows: list[dict]) -> str:
    """Markdown tables: the ratios first, then the phases of the run, the LPs
    and their iterations, the Pyomo floor and the compilers."""
    lines = ["| size | variables | nonzeros | whole run | HiGHS alone | ratio | "
             "HiGHS alone (naive, X a column) | ratio vs naive | "
             "HiGHS alone (naive, X written out) | linopy build+solve | linopy wall | "
             "peak RSS | ratios of all runs (vs naive) | same optimum |",
             "|" + "---|" * 14]
    for r in rows:
        lin = r.get("linopy")
        same = r.get("all_same_objective", r.get("same_objective"))
        lines.append(
            f"| {r['size']} | {r['variables']:,} | {r['nonzeros']:,} | {r['cli_wall']:.2f} | "
            f"{r['highs_alone']:.2f} | {r['ratio']:.2f} | {_cell(r, 'naive')} | "
            f"{_cell(r, 'ratio_naive')} | {_cell(r, 'expanded')} | "
            + (f"{lin['build'] + lin['solve']:.2f} | {lin['wall']:.2f} | " if lin else "- | - | ")
            + f"{r['max_rss_mb']:,.0f} MB | "
            f"{', '.join(format(x, '.2f') for x in r.get('ratios_naive', []))} | "
            + ("- |" if same is None else f"{'yes' if same else 'NO'} |"))
    lines += ["", "Phases of the whole run (seconds; start-up is the interpreter and the "
              "imports):", "",
              "| size | start-up | load | prepare | build | compile | hand-off | "
              "HiGHS in run | results | check | report | write | whole run |",
              "|" + "---|" * 13]
    for r in rows:
        lines.append(
            f"| {r['size']} | {r['other']:.2f} | {r['load']:.2f} | {r['prepare']:.2f} | "
            f"{r['build']:.2f} | {r['compile']:.2f} | {r['handoff']:.2f} | {r['solve']:.2f} | "
            f"{r['results']:.2f} | {r['check']:.2f} | {r.get('report', 0.0):.2f} | "
            f"{r.get('write', 0.0):.2f} | {r['cli_wall']:.2f} |")
    compared = [r for r in rows if "naive_size" in r and "linopy" in r]
    if compared:
        lines += ["", "The LPs: the project's (HiGHS alone), the naive one with X a column "
                  "(benchmarks/naive.py), the naive one with X written out in every row (up "
                  "to 7e4), and linopy's build of the project's LP in a fresh process; "
                  "iterations are HiGHS's simplex iterations:", "",
                  "| size | project LP rows / cols / nnz | iterations | naive LP rows / cols / "
                  "nnz | iterations (naive) | X written out: nnz / iterations | "
                  "linopy imports | linopy load + prepare | linopy build | linopy solve | "
                  "HiGHS in linopy | linopy peak RSS |",
                  "|" + "---|" * 12]
        for r in compared:
            p, q, lin = r["lp_size"], r["naive_size"], r["linopy"]
            expanded = (f"{r['expanded_nnz']:,} / {r['expanded_iterations']:,}"
                        if r.get("expanded_nnz") else "-")
            lines.append(
                f"| {r['size']} | {p['rows']:,} / {p['cols']:,} / {p['nnz']:,} | "
                f"{r['iterations']:,} | {q['rows']:,} / {q['cols']:,} / {q['nnz']:,} | "
                f"{r['naive_iterations']:,} | {expanded} | {lin['imports']:.2f} | "
                f"{lin['data']:.2f} | {lin['build']:.2f} | {lin['solve']:.2f} | "
                f"{lin['highs_run']:.2f} | {lin['max_rss_mb']:,.0f} MB |")
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
    ap.add_argument("--repeat", type=int, default=1, help="alternate the CLI run, HiGHS "
                    "alone, the naive LP and linopy this many times per size; report the "
                    "round with the median ratio")
    ap.add_argument("--readme", action="store_true", help="append to benchmarks/README.md")
    args = ap.parse_args()
    sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
    rows = run(sizes, max(1, args.repeat))
    runs = ("one `optimizer solve --no-analysis` run per size" if args.repeat <= 1 else
            f"the `optimizer solve --no-analysis` run with the median ratio of {args.repeat} "
            "runs per size")
    text = (f"\n### {dt.date.today().isoformat()} (with the naive LP and linopy): "
            f"{machine()}\n\n"
            f"Times in seconds; all phases from {runs}, each followed by HiGHS alone on the "
            f"project's LP (handed over with highspy's matrix API), the Pyomo floor, HiGHS "
            f"alone on the naive LP and the linopy model, in the same benchmark run. "
            f"*Same optimum*: the CLI, HiGHS alone, the floor, the naive LP and linopy agree "
            f"to 1e-6.\n\n"
            f"{table(rows)}\n")
    print(text)
    if args.readme:
        with open(ROOT / "benchmarks" / "README.md", "a", encoding="utf-8") as f:
            f.write(text)


if __name__ == "__main__":
    main()

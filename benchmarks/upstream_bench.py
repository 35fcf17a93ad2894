"""What upstream tables cost (issue #21): the same ~72k-lane instance solved
three ways, alternated in one run of this script:

* ``plain``: the 7e4 instance of ``run.py`` (2,000 suppliers x 8 applications
  x 10 years, seed 1, its usual rules);
* ``tables``: the same plus upstream tables for 4 materials x 3 stages
  (``generate.add_upstream``: content per chemistry, one to three origin
  countries per supplier, material and stage, some dated rows; about 31,000
  origin rows) and no rule on them: what reading them, the materials table
  and the concentration by origin cost;
* ``rules``: the same tables plus origin rules (no country above 70% of any
  material at the last stage in the last year, China-refined graphite out of
  defense, a kt cap on Chinese active graphite).

Each is the whole ``optimizer solve FILE --out DIR --no-analysis`` run in a
child process, wall time and peak RSS from ``os.wait4``; the rounds alternate
plain, tables, rules so a drifting machine hits all three alike, and the
median of each is reported with the ratios to ``plain``. HiGHS's own figures
(presolve reductions, simplex iterations) come from the run's ``summary.json``.

    python benchmarks/upstream_bench.py [--repeat 5] [--readme]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.generate import add_upstream, generate, write  # noqa: E402

KINDS = ("plain", "tables", "rules")


def instances(root: Path) -> dict[str, Path]:
    base = generate(1, 2000, 8, 10)
    return {
        "plain": write(base, root / "plain"),
        "tables": write(add_upstream(base, 1, 4, 3, rules=False), root / "tables"),
        "rules": write(add_upstream(base, 1, 4, 3, rules=True), root / "rules"),
    }


def run_once(path: Path, out: Path) -> dict:
    cmd = [sys.executable, "-m", "optimizer", "solve", str(path), "--out", str(out),
           "--no-analysis"]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if status != 0:
        err = proc.stderr.read().decode() if proc.stderr is not None else ""
        raise SystemExit(f"{path}: exit {status >> 8}: {err}")
    summary = json.loads((out / "summary.json").read_text())
    return {"wall": wall, "rss_mb": usage.ru_maxrss / 1024, "summary": summary}


def highs_figures(path: Path) -> dict:
    """HiGHS alone on the instance's LP (whole, one ``run``): seconds, simplex
    iterations and the size presolve leaves."""
    import highspy
    import numpy as np

    import optimizer
    from benchmarks.run import _compilers

    compile_model, _, new_highs = _compilers()
    lp = compile_model(optimizer.build_model(optimizer.prepare(optimizer.load_instance(path))))
    h = new_highs()
    h.passModel(len(lp.columns), len(lp.rows), lp.nnz, int(highspy.MatrixFormat.kRowwise),
                int(highspy.ObjSense.kMinimize), lp.offset, lp.cost, lp.col_lower, lp.col_upper,
                lp.row_lower, lp.row_upper, lp.start, lp.index, lp.value,
                lp.integer.astype(np.int32))
    h.presolve()
    reduced = h.getPresolvedLp()
    presolved = (reduced.num_row_, reduced.num_col_, len(reduced.a_matrix_.value_))
    h.clearSolver()
    t0 = time.perf_counter()
    h.run()
    seconds = time.perf_counter() - t0
    return {"highs_seconds": seconds, "iterations": int(h.getInfo().simplex_iteration_count),
            "rows": len(lp.rows), "cols": len(lp.columns), "nnz": int(lp.nnz),
            "presolved_rows": presolved[0], "presolved_cols": presolved[1],
            "presolved_nnz": presolved[2]}


def measure(repeat: int) -> dict[str, dict]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        paths = instances(root)
        runs: dict[str, list[dict]] = {k: [] for k in KINDS}
        for k in KINDS:                               # warm-up: file cache, bytecode
            run_once(paths[k], root / f"out-{k}")
        for _ in range(repeat):
            for k in KINDS:
                runs[k].append(run_once(paths[k], root / f"out-{k}"))
        with open(root / "rules" / "origins.csv", encoding="utf-8") as f:
            origins = sum(1 for _ in f) - 1
        alone = {k: highs_figures(paths[k]) for k in KINDS}
    out = {}
    for k in KINDS:
        walls = [r["wall"] for r in runs[k]]
        last = runs[k][-1]["summary"]
        out[k] = {
            "wall": statistics.median(walls), "min": min(walls), "max": max(walls),
            "rss_mb": max(r["rss_mb"] for r in runs[k]),
            "timings": last.get("timings", {}), "model_size": last.get("model_size", {}),
            "highs": alone[k], "objective": last.get("objective"),
        }
    out["origins_rows"] = {"rows": origins}
    return out


def table(res: dict) -> str:
    lines = ["| instance | wall s (median) | min-max | ratio to plain | peak MB | "
             "rows x cols (nnz) | after presolve | HiGHS alone s | iterations | "
             "load s | results s |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    plain = res["plain"]["wall"]
    for k in KINDS:
        r = res[k]
        t, h = r["timings"], r["highs"]
        lines.append(f"| {k} | {r['wall']:.2f} | {r['min']:.2f}-{r['max']:.2f} | "
                     f"{r['wall'] / plain:.2f}x | {r['rss_mb']:.0f} | "
                     f"{h['rows']:,} x {h['cols']:,} ({h['nnz']:,}) | "
                     f"{h['presolved_rows']:,} x {h['presolved_cols']:,} "
                     f"({h['presolved_nnz']:,}) | {h['highs_seconds']:.2f} | "
                     f"{h['iterations']:,} | {t.get('load', 0):.2f} | {t.get('results', 0):.2f} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--readme", action="store_true", help="append to benchmarks/README.md")
    args = ap.parse_args()
    res = measure(args.repeat)
    text = table(res)
    print(text)
    if args.readme:
        with open(HERE / "README.md", "a", encoding="utf-8") as f:
            f.write(f"\n### Upstream tables ({time.strftime('%Y-%m-%d')}, "
                    f"{res['origins_rows']['rows']:,} origin rows, median of {args.repeat})\n\n"
                    + text + "\n")


if __name__ == "__main__":
    main()

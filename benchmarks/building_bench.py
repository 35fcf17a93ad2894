"""Building supply at scale (issue #22's goal): 5-year instances of 60
suppliers (4 applications) with co-funded expansions, offtake contracts,
qualification costs and a ramp rule (``generate.add_building``), solved to a
proven optimum.

For each seed: the whole ``optimizer solve FILE --out DIR --no-analysis`` run
in a child process (wall time), against HiGHS alone on the same model (its
``run()`` time, from the run's ``summary.json``), with the model's size, its
binaries, the status and the MIP gap. Seeds whose random contracts cannot be
kept come out infeasible (exit 1, with the contract named): they are listed
too, and do not count towards the time. ``--suppliers`` and ``--periods``
change the size.

    python benchmarks/building_bench.py [--seeds 1,4,5,6,7] [--suppliers 60] [--periods 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.generate import add_building, generate, write  # noqa: E402


def run_one(seed: int, suppliers: int, periods: int, workdir: Path) -> dict:
    inst = add_building(generate(seed, suppliers, 4, periods), seed)
    folder = workdir / f"seed{seed}"
    path = write(inst, folder)
    out = folder / "out"
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "optimizer", "solve", str(path), "--out",
                           str(out), "--no-analysis", "--time-limit", "600"],
                          capture_output=True, text=True)
    wall = time.perf_counter() - t0
    summary = json.loads((out / "summary.json").read_text()) if (out / "summary.json").exists() \
        else {}
    size = summary.get("model_size", {})
    return {"seed": seed, "exit": proc.returncode, "status": summary.get("status"),
            "wall": wall, "highs": summary.get("timings", {}).get("solve"),
            "variables": size.get("variables"), "binaries": size.get("binaries", 0),
            "integers": size.get("integers", 0), "gap": summary.get("mip_gap"),
            "expansions": len(inst["expansions"]), "contracts": len(inst["contracts"])}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="1,4,5,6,7")
    ap.add_argument("--suppliers", type=int, default=60)
    ap.add_argument("--periods", type=int, default=5)
    args = ap.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in seeds:
            r = run_one(seed, args.suppliers, args.periods, Path(tmp))
            rows.append(r)
            print(f"seed {r['seed']}: {r['status']} (exit {r['exit']}), "
                  f"{r['variables']} variables, {r['binaries']} binaries, "
                  f"{r['expansions']} expansions, {r['contracts']} contracts; "
                  f"whole run {r['wall']:.2f} s, HiGHS {r['highs'] or 0:.2f} s, "
                  f"gap {r['gap']}", flush=True)
    solved = [r for r in rows if r["status"] == "optimal"]
    if solved:
        print(f"\n{len(solved)} of {len(rows)} proven optimal; whole run median "
              f"{statistics.median(r['wall'] for r in solved):.2f} s, max "
              f"{max(r['wall'] for r in solved):.2f} s (goal: 60 s); HiGHS median "
              f"{statistics.median(r['highs'] or 0 for r in solved):.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

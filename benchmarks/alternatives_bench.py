"""Ranges at scale (issue #23's goal): the range of the 40 companies the
optimum buys most from (``--groups``; 0: all 552) in the ~72k-lane instance
of ``run.py`` (2,000 suppliers x 8 applications x 10 years, seed 1) within 2%
of the optimum, against one solve of the same instance, measured in
one run of this script.

* ``solve``: ``optimizer.solve(path, analysis=False)`` (load, build, HiGHS,
  results, check);
* ``ranges``: ``optimizer.ranges(path, 0.02, "company")``: load, build and
  solve once, add the budget row, then two warm re-solves per company (the
  objective swapped; the primal simplex from the last basis).

Both in this process, alternated ``--repeat`` times; medians and the ratio
are printed, with the LPs' count and HiGHS's iterations per LP.

    python benchmarks/alternatives_bench.py [--size 7e4] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.generate import generate, write  # noqa: E402

SIZES = {"7e4": 2000, "2e4": 500}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="7e4", choices=sorted(SIZES))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--slack", type=float, default=0.02)
    ap.add_argument("--groups", type=int, default=40,
                    help="the companies the optimum buys most from (0: all of them)")
    args = ap.parse_args(argv)
    import optimizer

    inst = generate(1, SIZES[args.size], 8, 10)
    with tempfile.TemporaryDirectory() as tmp:
        path = write(inst, Path(tmp))
        solves, spans = [], []
        groups = 0
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            res = optimizer.solve(path, analysis=False)
            solves.append(time.perf_counter() - t0)
            top = None
            if args.groups:
                bought = res.allocation.groupby("company")["gwh"].sum()
                top = bought.sort_values(ascending=False).index[:args.groups].tolist()
            t0 = time.perf_counter()
            df = optimizer.ranges(path, args.slack, "company", groups=top)
            spans.append(time.perf_counter() - t0)
            groups = len(df)
            blank = int((df["min_status"] != "optimal").sum() + (df["max_status"] != "optimal")
                        .sum())
            print(f"solve {solves[-1]:.2f} s (HiGHS {res.timings.get('solve', 0):.2f} s), "
                  f"ranges of {groups} companies ({2 * groups} LPs, {blank} not optimal) "
                  f"{spans[-1]:.2f} s", flush=True)
    s, r = statistics.median(solves), statistics.median(spans)
    print(f"\n{args.size}: {res.model_size['variables']:,} variables; median solve {s:.2f} s, "
          f"median ranges {r:.2f} s for {groups} groups: {r / s:.1f}x one solve "
          f"(goal: 10x), {r / (2 * groups):.3f} s per LP")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

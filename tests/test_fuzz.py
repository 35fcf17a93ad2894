"""Fuzzing: mutated instance files never produce a traceback, a hang, or an exit
code other than 0 (a plan / a valid file), 1 (no plan) or 2 (bad input).

A seeded mutator derives a few hundred files from valid instances: YAML text
(truncation, deleted and repeated lines, weird scalars, unicode, control
characters, deep nesting, aliases), YAML structure (dropped keys and fields,
wrong types, huge and tiny numbers, unknown keys, duplicated rows), CSV tables
(cells, columns, headers, quotes, encodings, truncation) and Excel workbooks
(cells, sheets, headers, formulas, truncated files). Each goes through
``validate`` and, when valid, ``solve --out`` and ``check`` of the plan solve
wrote, all in-process via ``optimizer.cli.main``.

The cases run in a child process (``python -m tests.test_fuzz CASES RESULTS``)
with a per-case alarm, and the whole batch under a timeout, so that a hang
inside the solver fails the test instead of stalling it. Run more cases by hand
with ``python -m tests.test_fuzz --generate N --seed S``.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
EXIT_OK = {0, 1, 2}
CASE_SECONDS = 30

WEIRD_SCALARS = [
    "1e308", "-1e308", "1e-308", "5e-324", "-0", "0", "-1", "-0.0", "NaN", ".nan", ".inf",
    "-.inf", "inf", "''", "\"\"", "null", "~", "true", "false", "yes", "[]", "{}", "[[[[1]]]]",
    "\"ü̈ñíçødé 🔋\"", "\"\\u0000\"", "0x1F", "0o17", "1_000", "2026-01-01", "12:30:00",
    "999999999999999999999999999", "1e20", "1e15", "1e-9", "3.0", "2026.5", "\" 42 \"",
    "!!binary aGVsbG8=", "!!python/object/apply:os.system ['true']", "*nothere",
    "{a: 1, a: 2}", "[1, 2", "\"unterminated", "- - -", "? complex key", "@", "`",
]
WEIRD_VALUES: list[Any] = [
    1e308, -1e308, 1e-308, 5e-324, -0.0, 0, -1, float("nan"), float("inf"), -float("inf"),
    "", "   ", None, True, False, [], {}, [[[[1]]]], "ü̈ñíçødé 🔋", "\u202eevil", "a\x00b",
    10**30, 1e20, 1e15, 1e-12, 2026.5, "2026", "1e3", "NaN", {"nested": {"deep": [1, 2]}},
    ["CN", "CN"], "x" * 5000,
]
SCALES = [1e-300, 1e-12, 1e-6, 1e-3, 0.5, 2, 1e3, 1e4]
CSV_CELLS = [
    "1e308", "-1e308", "1e-308", "-0", "NaN", "inf", "-inf", "abc", " ", "", "ü̈ñíçødé 🔋",
    "1,5", "1;2;3", "TRUE", "0x10", "1e20", "-5", "\"", "\"\"\"", "=1/0", "2026.5", "1e-12",
    "x" * 2000, "\t", "12e", "--1",
]


# ----------------------------------------------------------------------------- bases

def _bases(work: Path) -> list[tuple[str, Path]]:
    """Valid instances to mutate: inline YAML (hand world with every feature, the
    teaching instance), a generated one with CSV tables, and a workbook."""
    from benchmarks.generate import generate, write
    from tests.conftest import world

    world_doc = world(
        rules=[
            {"name": "china-cap", "kind": "max_share", "by": "control", "group": ["CN"],
             "limit": 0.5},
            {"name": "alt", "kind": "min_share", "by": "family", "group": ["sodium"],
             "limit": 0.05},
            {"name": "risk", "kind": "max_average", "attribute": "risk_score", "limit": 0.8},
            {"name": "two", "kind": "min_count", "by": "company", "limit": 2,
             "threshold": 0.1},
            {"name": "vol", "kind": "max_volume", "by": "region", "group": ["asia"],
             "limit": 90, "penalty": 15},
            {"name": "top", "kind": "max_top_share", "by": "company", "k": 1, "limit": 0.8},
            {"name": "hhi", "kind": "max_hhi", "by": "country", "limit": 0.6},
            {"name": "no-cn", "kind": "exclude", "by": "control", "group": ["CN"],
             "applications": ["grid"], "periods": [2027]},
        ],
        periods=[2026, 2027], discount_rate=0.05, carbon_price=20,
        demand=[{"application": "grid", "period": 2026, "gwh": 100},
                {"application": "grid", "period": 2027, "gwh": 120}],
        capacity=[{"supplier": "kr1", "period": 2027, "gwh": 80}],
        prices=[{"supplier": "cn1", "period": 2027, "price": 38}],
        tariffs=[{"origin": "HU", "rate": 0.1, "family": "lithium", "from": 2027}],
        price_tiers=[{"supplier": "kr1", "from_gwh": 0, "price": 50},
                     {"supplier": "kr1", "from_gwh": 40, "price": 46}],
        lanes=[{"supplier": "us1", "application": "grid", "freight": 2}],
        scenarios=[{"name": "ban", "probability": 0.1,
                    "capacity_factor": {"by": "control", "group": ["CN"], "factor": 0}}],
    )
    for s in world_doc["suppliers"]:
        s["carbon_intensity"] = 60
    world_doc["suppliers"][1].update(fixed_cost=20, min_order=10)
    out = []
    (work / "world").mkdir(parents=True, exist_ok=True)
    path = work / "world" / "instance.yaml"
    path.write_text(yaml.safe_dump(world_doc, sort_keys=False, allow_unicode=True))
    out.append(("yaml", path))
    teaching = ROOT / "instances" / "teaching" / "instance.yaml"
    (work / "teaching").mkdir(exist_ok=True)
    (work / "teaching" / "instance.yaml").write_text(teaching.read_text(encoding="utf-8"))
    out.append(("yaml", work / "teaching" / "instance.yaml"))
    gen = generate(1, 8, 2, 2, features={"fixed_cost", "min_order", "count", "tiers"})
    out.append(("csv", write(gen, work / "generated")))
    try:
        from optimizer.input import load_instance
        from optimizer.input.workbook import write_workbook
    except ImportError:  # no Excel support in this version: no workbook cases
        return out
    xlsx = work / "world.xlsx"
    write_workbook(load_instance(path), xlsx)
    out.append(("xlsx", xlsx))
    return out


# ----------------------------------------------------------------------------- mutators

def _mutate_yaml_text(text: str, rng: random.Random) -> str:
    lines = text.splitlines(keepends=True)
    op = rng.randrange(9)
    if op == 0:  # truncated file
        return text[: rng.randrange(len(text))]
    if op == 1 and lines:  # a line deleted
        del lines[rng.randrange(len(lines))]
    elif op == 2 and lines:  # a line repeated (duplicate keys or rows)
        k = rng.randrange(len(lines))
        lines.insert(k, lines[k])
    elif op in (3, 4) and lines:  # a scalar replaced by something odd
        k = rng.randrange(len(lines))
        line = lines[k]
        if ":" in line:
            head, _, tail = line.partition(":")
            lines[k] = f"{head}: {rng.choice(WEIRD_SCALARS)}\n"
            if rng.random() < 0.3 and tail.strip().startswith("{"):
                lines[k] = line.replace(",", f", {rng.choice(['x', 'id', 'gwh'])}: "
                                              f"{rng.choice(WEIRD_SCALARS)},", 1)
    elif op == 5:  # unicode, control characters, an odd byte order mark
        junk = rng.choice(["\x00", "\x1b[31m", "\ufeff", "\u2028", "🔋🔋", "\t", "\r",
                           "ü̈", "\x7f", "%YAML 1.1\n---\n", "---\n", "...\n"])
        pos = rng.randrange(len(text) + 1)
        return text[:pos] + junk + text[pos:]
    elif op == 6:  # deep nesting
        depth = rng.choice([50, 500, 5000])
        return text + f"\nextra: {'[' * depth}{']' * depth}\n"
    elif op == 7:  # aliases repeated many times
        return text.replace("demand:", "demand: &d", 1) + "\nrules: [" + \
            ", ".join(["*d"] * 200) + "]\n"
    else:  # swapped lines
        if len(lines) > 2:
            i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
            lines[i], lines[j] = lines[j], lines[i]
    return "".join(lines)


def _mutate_doc(doc: dict, rng: random.Random) -> dict:
    doc = copy.deepcopy(doc)
    tables = [k for k, v in doc.items() if isinstance(v, list) and v
              and isinstance(v[0], dict)]
    op = rng.randrange(11)
    if op >= 8:  # a number made huge, tiny or zero: still a valid file, a hard model
        numbers = [(row, key) for name in tables for row in doc[name] for key, v in row.items()
                   if isinstance(v, int | float) and not isinstance(v, bool)
                   and key not in ("period", "from", "until", "available_from",
                                   "available_until")]
        if numbers:
            row, key = rng.choice(numbers)
            row[key] = rng.choice(SCALES) * row[key] if rng.random() < 0.7 else \
                rng.choice([0, 1e6, 1e-300, 5e-324, 999999.999])
        return doc
    if op == 0:  # a top-level key dropped
        del doc[rng.choice(list(doc))]
    elif op == 1:  # a top-level value replaced
        doc[rng.choice(list(doc))] = rng.choice(WEIRD_VALUES)
    elif op == 2:  # an unknown key
        doc[rng.choice(["Periods", "supplier", "rule", "extra", "ü"])] = 1
    elif tables:
        name = rng.choice(tables)
        rows = doc[name]
        row = rows[rng.randrange(len(rows))]
        if op == 3 and row:  # a field dropped
            del row[rng.choice(list(row))]
        elif op in (4, 5) and row:  # a field given an odd value
            row[rng.choice(list(row))] = rng.choice(WEIRD_VALUES)
        elif op == 6:  # a row repeated, or the table emptied
            if rng.random() < 0.7:
                rows.append(copy.deepcopy(row))
            else:
                doc[name] = []
        else:  # an unknown or mistyped field
            row[rng.choice(["gwhh", "Price", "ü", "limit", "group", "by"])] = \
                rng.choice(WEIRD_VALUES)
    return doc


def _mutate_csv(text: str, rng: random.Random) -> str | bytes:
    lines = text.splitlines()
    op = rng.randrange(12)
    if op >= 9 and len(lines) > 1:  # a number made huge, tiny or zero
        k = rng.randrange(1, len(lines))
        cells = lines[k].split(",")
        numeric = [j for j, c in enumerate(cells) if _is_number(c)]
        if numeric:
            j = rng.choice(numeric)
            cells[j] = repr(float(cells[j]) * rng.choice(SCALES)) if rng.random() < 0.7 \
                else rng.choice(["0", "1000000", "1e-300", "0.000001"])
            lines[k] = ",".join(cells)
        return "\n".join(lines) + "\n"
    if op == 0:
        return text[: rng.randrange(len(text))]
    if op in (1, 2) and len(lines) > 1:  # a cell
        k = rng.randrange(1, len(lines))
        cells = lines[k].split(",")
        cells[rng.randrange(len(cells))] = rng.choice(CSV_CELLS)
        lines[k] = ",".join(cells)
    elif op == 3:  # a column dropped
        j = rng.randrange(len(lines[0].split(",")))
        lines = [",".join(c for i, c in enumerate(ln.split(",")) if i != j) for ln in lines]
    elif op == 4:  # the header renamed, repeated or emptied
        head = lines[0].split(",")
        j = rng.randrange(len(head))
        head[j] = rng.choice(["", head[0], head[j].upper(), "ü", "gwh "])
        lines[0] = ",".join(head)
    elif op == 5:  # a row with too many or too few cells
        lines.append(rng.choice(["a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q,r,s,t,u", "x", ",,,"]))
    elif op == 6:  # an unclosed quote
        k = rng.randrange(len(lines))
        lines[k] = '"' + lines[k]
    elif op == 7:  # bytes that are not UTF-8
        return text.encode("utf-8")[:40] + b"\xff\xfe\x00" + text.encode("utf-8")[40:]
    else:  # the header only, or nothing
        lines = lines[:1] if rng.random() < 0.5 else []
    return "\n".join(lines) + "\n"


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return "." in text or len(text) < 4  # not a year


def _mutate_xlsx(base: Path, target: Path, rng: random.Random) -> None:
    import openpyxl

    op = rng.randrange(6)
    if op == 0:  # a truncated or damaged file
        data = base.read_bytes()
        cut = rng.randrange(len(data))
        target.write_bytes(data[:cut] if rng.random() < 0.7 else data[:cut] + b"\x00" * 64)
        return
    wb = openpyxl.load_workbook(base)
    ws = wb[rng.choice(wb.sheetnames)]
    if op == 1 and len(wb.sheetnames) > 1:  # a sheet removed or renamed
        if rng.random() < 0.5:
            wb.remove(ws)
        else:
            ws.title = rng.choice(["Suppliers", "supplier", "ü", "rules2"])
    elif op in (2, 3):  # a cell given an odd value
        row = rng.randrange(1, max(2, ws.max_row + 1))
        col = rng.randrange(1, max(2, ws.max_column + 1))
        ws.cell(row=row, column=col).value = rng.choice(
            [1e308, -1e308, 1e-308, -1, 0, "abc", "", " ", True, "=1/0", "=A1", "=NA()",
             "ü̈ñíçødé 🔋", 10**20, 2026.5, "1;2;;3", None, "x" * 3000])
    elif op == 4:  # a header cell cleared or a column inserted
        if rng.random() < 0.5:
            ws.cell(row=1, column=rng.randrange(1, max(2, ws.max_column + 1))).value = None
        else:
            ws.insert_cols(rng.randrange(1, max(2, ws.max_column + 1)))
            ws.cell(row=1, column=1).value = "mystery"
    else:  # empty rows inserted, or rows deleted
        if rng.random() < 0.5:
            ws.insert_rows(rng.randrange(1, max(2, ws.max_row + 1)), amount=3)
        else:
            ws.delete_rows(rng.randrange(1, max(2, ws.max_row + 1)))
    wb.save(target)


def generate_cases(work: Path, n: int, seed: int = 0,
                   bases: list[tuple[str, Path]] | None = None) -> list[dict[str, Any]]:
    """``n`` mutated instance files under ``work``, each with the commands to run.
    ``bases``: (kind, path) of the instances to mutate (kind yaml, csv or xlsx)."""
    rng = random.Random(seed)
    bases = bases or _bases(work / "bases")
    cases = []
    for i in range(n):
        kind, base = bases[i % len(bases)]
        case = work / f"case{i:04d}"
        case.mkdir(parents=True)
        if kind == "xlsx":
            path = case / "instance.xlsx"
            _mutate_xlsx(base, path, rng)
        else:
            for f in base.parent.iterdir():
                if f.is_file():
                    (case / f.name).write_bytes(f.read_bytes())
            path = case / base.name
            if kind == "csv" and rng.random() < 0.7:
                csvs = sorted(case.glob("*.csv"))
                target = rng.choice(csvs)
                mutated = _mutate_csv(target.read_text(encoding="utf-8"), rng)
                if isinstance(mutated, bytes):
                    target.write_bytes(mutated)
                else:
                    target.write_text(mutated, encoding="utf-8")
            elif rng.random() < 0.5:
                path.write_text(_mutate_yaml_text(path.read_text(encoding="utf-8"), rng),
                                encoding="utf-8")
            else:
                doc = yaml.safe_load(path.read_text(encoding="utf-8"))
                for _ in range(rng.choice([1, 1, 2, 3])):
                    doc = _mutate_doc(doc, rng)
                try:
                    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True),
                                    encoding="utf-8")
                except (yaml.YAMLError, ValueError):
                    path.write_text(repr(doc), encoding="utf-8")
        cases.append({"name": case.name, "path": str(path), "out": str(case / "out")})
    return cases


# ----------------------------------------------------------------------------- running

class CaseTimeout(BaseException):
    """Raised by the alarm: not an Exception, so the CLI cannot swallow it."""


def _alarm(signum: int, frame: Any) -> None:
    raise CaseTimeout()


def run_command(argv: list[str]) -> tuple[int | str, str]:
    """Run one CLI command in-process; (exit code or 'timeout'/'crash', output)."""
    from optimizer.cli import main

    buf = io.StringIO()
    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(CASE_SECONDS)
    try:
        with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
            code: int | str = main(argv)
    except CaseTimeout:
        code = "timeout"
    except BaseException as exc:  # what main() let through is a crash
        import traceback

        code = "crash"
        buf.write("Traceback (escaped main):\n" + "".join(traceback.format_exception(exc)))
    finally:
        signal.alarm(0)
    return code, buf.getvalue()


def run_cases(cases: list[dict[str, Any]], results: Path) -> None:
    """Child process: every case through validate, then solve and check."""
    with open(results, "w", encoding="utf-8") as out:
        for i, case in enumerate(cases):
            out.write(json.dumps({"start": case["name"]}) + "\n")
            out.flush()
            record: dict[str, Any] = {"name": case["name"], "runs": []}
            t0 = time.perf_counter()
            code, text = run_command(["validate", case["path"]])
            record["runs"].append({"cmd": "validate", "code": code, "output": text[-3000:]})
            if code == 0:
                # rule costs and the concentration report (re-solves) on every third
                analysis = [] if i % 3 == 0 else ["--no-analysis"]
                code, text = run_command(["solve", case["path"], "--out", case["out"],
                                          *analysis])
                record["runs"].append({"cmd": "solve", "code": code, "output": text[-3000:]})
                plan = Path(case["out"]) / "allocation.csv"
                if code == 0 and plan.exists():
                    code, text = run_command(["check", case["path"], str(plan)])
                    record["runs"].append({"cmd": "check", "code": code,
                                           "output": text[-3000:]})
            record["seconds"] = time.perf_counter() - t0
            out.write(json.dumps(record) + "\n")
            out.flush()


def problems_in(records: list[dict[str, Any]]) -> list[str]:
    bad = []
    for rec in records:
        for run in rec["runs"]:
            text = run["output"]
            if run["code"] not in EXIT_OK or "Traceback" in text or "internal error" in text:
                bad.append(f"{rec['name']} {run['cmd']}: exit {run['code']}\n{text[-1500:]}")
            elif run["cmd"] == "check" and run["code"] != 0:
                bad.append(f"{rec['name']}: the plan solve wrote fails the checker\n{text}")
    return bad


def fuzz(work: Path, n: int, seed: int, timeout: float,
         bases: list[tuple[str, Path]] | None = None) -> tuple[list[dict], list[str]]:
    cases = generate_cases(work, n, seed, bases)
    (work / "cases.json").write_text(json.dumps(cases))
    results = work / "results.jsonl"
    cmd = [sys.executable, "-m", "tests.test_fuzz", str(work / "cases.json"), str(results)]
    child = "(timed out)"
    with contextlib.suppress(subprocess.TimeoutExpired):
        done = subprocess.run(cmd, cwd=ROOT, timeout=timeout, check=False, capture_output=True,
                              text=True)
        child = done.stderr[-3000:]
    if not results.exists():
        return [], [f"the fuzz process wrote no results: {child}"]
    lines = [json.loads(x) for x in results.read_text(encoding="utf-8").splitlines()]
    records = [x for x in lines if "runs" in x]
    problems = problems_in(records)
    started = [x["start"] for x in lines if "start" in x]
    if len(records) < len(cases):
        hung = started[-1] if started else "?"
        problems.append(f"the run stopped at {hung} ({len(records)} of {len(cases)} cases "
                        f"done): a hang or a crash of the process\n{child}")
    return records, problems


def test_mutated_instances_never_crash(tmp_path):
    records, problems = fuzz(tmp_path, n=200, seed=20260, timeout=300)
    assert problems == [], f"{len(problems)} bad runs:\n\n" + "\n\n".join(problems[:10])
    codes = [run["code"] for rec in records for run in rec["runs"]]
    solved = sum(1 for rec in records for run in rec["runs"] if run["cmd"] == "solve")
    # the mutants exercise both refusals and plans
    assert codes.count(2) >= 100 and codes.count(0) >= 50 and solved >= 30, \
        (codes.count(0), codes.count(1), codes.count(2), solved)


def test_the_harness_flags_crashes_and_hangs(tmp_path):
    good = {"name": "a", "runs": [{"cmd": "validate", "code": 2, "output": "1 problem"}]}
    crash = {"name": "b", "runs": [{"cmd": "solve", "code": 3, "output": "internal error"}]}
    trace = {"name": "c", "runs": [{"cmd": "validate", "code": 2, "output": "Traceback (m"}]}
    slow = {"name": "d", "runs": [{"cmd": "solve", "code": "timeout", "output": ""}]}
    found = problems_in([good, crash, trace, slow])
    assert [p.split()[0] for p in found] == ["b", "c", "d"]


# inputs that once crashed the loader or the solver hand-off (found by this fuzzer)
CRASHERS = {
    # a control character: PyYAML refuses it when the reader is created
    "control": ("format: 1\nname: a\x1bb\n", "control character U+001B"),
    "nul-path": ("format: 1\nname: a\nperiods: [2026]\nsuppliers: \"a\\0b\"\n",
                 "must be a list of rows or the path of a CSV file"),
    # 1e308 would reach HiGHS as a coefficient it refuses
    "huge-price": (None, "must be at most 1,000,000"),
    "huge-attribute": (None, "must be at most 1,000,000,000"),
    "far-year": (None, "must be <= 9999"),
}


def _world_with(change: str) -> str:
    from tests.conftest import world

    doc = world(rules=[{"name": "risk", "kind": "max_average", "attribute": "risk_score",
                        "limit": 0.5}], discount_rate=1.0)
    if change == "huge-price":
        doc["suppliers"][0]["price"] = 1e308
    elif change == "huge-attribute":
        doc["suppliers"][0]["risk_score"] = -1e308
    elif change == "far-year":
        doc["periods"] = [2026, 100000]
    return yaml.safe_dump(doc)


@pytest.mark.parametrize("name", sorted(CRASHERS))
def test_former_crashers_are_clear_input_errors(name, tmp_path):
    text, expected = CRASHERS[name]
    path = tmp_path / "instance.yaml"
    path.write_text(text if text is not None else _world_with(name), encoding="utf-8")
    code, output = run_command(["validate", str(path)])
    assert code == 2 and expected in output and "Traceback" not in output, output


if __name__ == "__main__":
    import argparse

    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("cases", nargs="?")
    p.add_argument("results", nargs="?")
    p.add_argument("--generate", type=int, help="make and run this many cases")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--work", type=Path, default=Path("fuzz-work"))
    p.add_argument("--base", action="append", type=Path, default=[],
                   help="mutate this instance (.yaml with CSV tables, or .xlsx) instead")
    a = p.parse_args()
    if a.generate:
        chosen = [("xlsx" if b.suffix == ".xlsx" else "csv", b) for b in a.base] or None
        recs, probs = fuzz(a.work, a.generate, a.seed, timeout=3600, bases=chosen)
        print("\n\n".join(probs) or "no problems")
        print(f"{len(recs)} cases, {len(probs)} problems")
        sys.exit(1 if probs else 0)
    run_cases(json.loads(Path(a.cases).read_text()), Path(a.results))

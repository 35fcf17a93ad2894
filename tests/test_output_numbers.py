"""How numbers are written: CSV values without float noise (rounded in one
place, OutputDir.csv), and limits in repair sentences (percentages, HHI
points, GWh), rounded so that the value shown is enough."""

from __future__ import annotations

import csv
import json
import math
import re
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from optimizer.cli import main
from optimizer.labels import limit_change, limit_phrase, round_toward
from optimizer.report.files import CSV_DECIMALS, CSV_DIGITS, round_numbers, rounded

ROOT = Path(__file__).resolve().parents[1]


# --------------------------------------------------------------------------- CSV rounding
@pytest.mark.parametrize(("value", "written"), [
    (0.4999999999999991, "0.5"),
    (34.990999999999964, "34.991"),
    (0.30000000000000004, "0.3"),
    (0.44999999999999996, "0.45"),
    (1.1102230246251565e-16, "0.0"),
    (-0.0, "0.0"),
    (2482.9639889196674, "2482.963989"),
    (11945.099924694641, "11945.09992"),
    (1 / 3, "0.3333333333"),
    (2 / 3 * 1e-5, "6.666667e-06"),  # twelve decimals at most
    (1e-12, "1e-12"),
    (4e-13, "0.0"),
    (-7.25, "-7.25"),
    (123456789012.345, "123456789000.0"),
    (100.0, "100.0"),
])
def test_numbers_are_rounded_to_ten_digits_and_twelve_decimals(value, written):
    (out,) = round_numbers([value])
    assert repr(float(out)) == written
    if out == 0:
        assert math.copysign(1.0, out) == 1.0  # no -0.0


def test_rounding_is_the_decimal_rounding_of_the_exact_value():
    rng = np.random.default_rng(7)
    values = np.concatenate([rng.random(3000) * 10.0 ** rng.integers(-14, 12, 3000),
                             -rng.random(300) * 1e3, rng.normal(size=300) * 1e-11])
    out = round_numbers(values)
    for v, w in zip(values.tolist(), out.tolist(), strict=True):
        exact = Decimal(v)
        if exact == 0:
            assert w == 0
            continue
        keep = min(CSV_DIGITS - 1 - exact.adjusted(), CSV_DECIMALS)
        expected = float(exact.quantize(Decimal(1).scaleb(-keep), rounding=ROUND_HALF_EVEN))
        assert w == expected, v
        digits = re.sub(r"e.*$", "", repr(w)).replace("-", "").replace(".", "").strip("0")
        assert len(digits) <= CSV_DIGITS, repr(w)


def test_missing_and_infinite_values_stay():
    out = round_numbers([np.nan, np.inf, -np.inf, 0.0])
    assert np.isnan(out[0]) and out[1] == np.inf and out[2] == -np.inf and out[3] == 0.0


def test_only_float_columns_are_rounded_and_the_table_is_not_changed():
    df = pd.DataFrame({"supplier": ["a", "b"], "period": [2026, 2027], "used": [True, False],
                       "gwh": [0.5499999999999995, 1.1249999999999998],
                       "excluded": [np.nan, 3.0]})
    before = df.copy()
    out = rounded(df)
    pd.testing.assert_frame_equal(df, before)  # the caller's table is left alone
    assert out["gwh"].tolist() == [0.55, 1.125]
    assert list(out.dtypes) == list(df.dtypes)
    assert out["supplier"].tolist() == ["a", "b"] and out["period"].tolist() == [2026, 2027]
    assert np.isnan(out["excluded"][0]) and out["excluded"][1] == 3.0
    no_floats = df[["supplier", "period"]]
    assert rounded(no_floats) is no_floats


def test_output_dir_writes_every_csv_rounded(tmp_path):
    from optimizer.report.files import OutputDir

    df = pd.DataFrame({"group": ["=CN", "KR"], "period": [2026, 2026],
                       "gwh": [0.4999999999999991, 3.8000000000000007],
                       "slack": [1.1102230246251565e-16, -0.0], "binding": [True, False]})
    od = OutputDir(tmp_path / "out")
    od.csv("t.csv", df)
    od.publish()
    assert (tmp_path / "out" / "t.csv").read_text().splitlines() == [
        "group,period,gwh,slack,binding", "'=CN,2026,0.5,0.0,True", "KR,2026,3.8,0.0,False"]
    assert df["gwh"][0] == 0.4999999999999991  # the table itself is not changed


def _fields(path: Path) -> list[str]:
    with open(path, encoding="utf-8", newline="") as f:
        return [cell for row in csv.reader(f) for cell in row]


def _significant(cell: str) -> int:
    mantissa = re.sub(r"e.*$", "", cell.lstrip("-"))
    return len(mantissa.replace(".", "").lstrip("0").rstrip("0"))


def test_solve_writes_no_float_noise_and_its_plan_reads_back(tmp_path):
    # the bundled instance gave allocation.csv cells such as 3.8000000000000007 and
    # scenarios.csv probabilities of 0.44999999999999996
    instance = ROOT / "instances" / "north-america" / "instance.yaml"
    out = tmp_path / "out"
    assert main(["solve", str(instance), "--out", str(out)]) == 0
    number = re.compile(r"^-?\d+(\.\d+)?(e[-+]\d+)?$")
    for path in out.glob("*.csv"):
        cells = [c for c in _fields(path) if number.match(c)]
        assert cells, path.name
        too_long = [c for c in cells if _significant(c) > CSV_DIGITS]
        assert too_long == [], (path.name, too_long[:5])
        assert not [c for c in cells if "e-1" in c and float(c) < 1e-12], path.name
    shares = pd.read_csv(out / "shares.csv")
    assert shares.groupby(["period", "by"])["share"].sum().to_numpy() == pytest.approx(1.0)
    # the written plan is still a valid plan, at the optimum solve reported
    summary = json.loads((out / "summary.json").read_text())
    alloc = pd.read_csv(out / "allocation.csv")
    assert alloc["discounted_cost"].sum() == pytest.approx(summary["objective"], rel=1e-9)
    assert main(["check", str(instance), str(out / "allocation.csv")]) == 0
    played = tmp_path / "stress"
    assert main(["stress", str(instance), "--plan", str(out / "allocation.csv"),
                 "--out", str(played)]) == 0
    # the base case's probability, 0.3 (not 0.30000000000000004)
    assert "0.3" in _fields(played / "scenarios.csv")
    base = pd.read_csv(played / "scenarios.csv").set_index("scenario").loc["base", "cost"]
    assert base == pytest.approx(summary["objective"], rel=1e-9)


# --------------------------------------------------------------------------- limits in words
@pytest.mark.parametrize(("v", "step", "up", "expected"), [
    (1 / 3, 0.001, True, 0.334),
    (1 / 3, 0.001, False, 0.333),
    (1 / 3, 0.001, None, 0.333),
    (0.3000000004, 0.001, True, 0.3),   # solver noise above a round value
    (0.2999999996, 0.001, False, 0.3),  # and below it
    (12.341, 0.01, True, 12.35),
])
def test_round_toward(v, step, up, expected):
    assert round_toward(v, step, up) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize(("v", "unit", "up", "text"), [
    (0.25, "share", None, "25%"),
    (1 / 3, "share", True, "33.4%"),
    (1 / 3, "share", False, "33.3%"),
    (0.125, "share", None, "12.5%"),
    (0.25, "hhi", None, "HHI 2,500"),
    (0.36551, "hhi", True, "HHI 3,656"),
    (56.6667, "GWh", True, "56.67 GWh"),
    (12.0, "GWh", None, "12 GWh"),
    (1234.4, "GWh", True, "1,235 GWh"),
    (0.0456, "GWh", False, "0.045 GWh"),
    (3.25, "kt", None, "3.25 kt"),
    (3, "groups", None, "3 groups"),
    (1, "groups", None, "1 group"),
    (0.149999999, "risk_score", True, "0.15 risk_score"),
    (61.23456, "kg_co2e_per_kwh", False, "61.23 kg_co2e_per_kwh"),
    (None, "share", None, "–"),
])
def test_limit_phrase(v, unit, up, text):
    assert limit_phrase(v, unit, up) == text


def test_a_change_reads_as_a_change():
    # the new limit is rounded towards the change: a cap up, a floor down
    assert limit_change(0.25, 1 / 3, "share") == ("25%", "33.4%")
    assert limit_change(0.15, 0.1000000007, "share") == ("15%", "10%")
    assert limit_change(0.15, 0.0999, "share") == ("15%", "9.9%")
    # decimals are added until the two differ
    assert limit_change(0.25, 0.2500004, "share") == ("25%", "25.1%")
    assert limit_change(0.25, 0.2504, "share") == ("25%", "25.1%")
    assert limit_change(0.005, 0.00123, "share") == ("0.5%", "0.1%")
    # a limit is shown as it is written, the new one with as many decimals
    assert limit_change(0.0012, 0.00123, "share") == ("0.12%", "0.13%")
    assert limit_change(0.125, 0.2, "share") == ("12.5%", "20%")
    assert limit_change(0.2345678, 0.3, "share") == ("23.4568%", "30%")
    assert limit_change(10.0, 10.001, "GWh") == ("10 GWh", "10.01 GWh")

"""``optimizer frontier --rule NAME`` without limits sweeps around the rule's
own limit; the limits of share rules read as percentages."""

from __future__ import annotations

import pandas as pd
import pytest

from optimizer.analysis.sweep_axes import DEFAULT_RANGE_HELP, SweepError, default_values
from optimizer.cli import main
from tests.conftest import world

COMPANY_CAP = {"name": "company-cap", "kind": "max_share", "by": "company", "limit": 0.5}
NA_FLOOR = {"name": "na-floor", "kind": "min_share", "by": "family", "group": ["sodium"],
            "limit": 0.1}
PEAK_VOLUME = {"name": "peak-volume", "kind": "min_volume", "by": "company",
               "group": ["Peak"], "limit": 10}


def test_a_cap_is_swept_from_20_points_looser_to_30_tighter():
    assert default_values("max_share", 0.4) == [0.6, 0.55, 0.5, 0.45, 0.4, 0.35, 0.3, 0.25,
                                                 0.2, 0.15, 0.1]
    # within [0, 1], the limit itself among the round values
    assert default_values("max_share", 0.93) == [1.0, 0.95, 0.93, 0.9, 0.85, 0.8, 0.75, 0.7,
                                                  0.65, 0.63]
    assert default_values("max_share", 0.1) == [0.3, 0.25, 0.2, 0.15, 0.1, 0.05, 0.0]
    assert default_values("max_top_share", 0.5)[0] == 0.7


def test_a_floor_is_swept_the_other_way():
    assert default_values("min_share", 0.15) == [0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35,
                                                  0.4, 0.45]
    assert default_values("min_share", 0.9) == [0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 1.0]


def test_volumes_averages_and_counts_in_proportion():
    assert default_values("max_volume", 60) == [90, 84, 78, 72, 66, 60, 54, 48, 42, 36, 30]
    assert default_values("min_volume", 10) == [5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]
    assert default_values("max_average", 2.0) == [3.0, 2.8, 2.6, 2.4, 2.2, 2.0, 1.8, 1.6, 1.4,
                                                  1.2, 1.0]
    assert default_values("max_count", 4) == [6, 5, 4, 3, 2]
    assert default_values("min_count", 2) == [1, 2, 3]
    assert default_values("max_count", 1) == [2, 1, 0]
    with pytest.raises(SweepError, match="its limit is 0"):
        default_values("max_volume", 0)


def test_the_choice_is_documented():
    from optimizer.cli import build_parser

    parser, _ = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    text = " ".join(sub.choices["frontier"].format_help().split())  # type: ignore[attr-defined]
    assert " ".join(DEFAULT_RANGE_HELP.split()) in text


def test_cli_sweeps_around_the_rules_limit(write_instance, tmp_path, capsys):
    # company-cap at 50%: 70% down to 20% in steps of 5 points
    path = write_instance(world(rules=[COMPANY_CAP]))
    out = tmp_path / "out"
    assert main(["frontier", str(path), "--rule", "company-cap", "--out", str(out)]) == 0
    df = pd.read_csv(out / "frontier.csv")
    assert df["limit"].tolist() == pytest.approx([0.7, 0.65, 0.6, 0.55, 0.5, 0.45, 0.4,
                                                  0.35, 0.3, 0.25, 0.2])
    # 100 GWh from three suppliers of 100: a cap below 1/3 has no plan
    assert (df["status"] == "infeasible").tolist() == [False] * 8 + [True] * 3
    # at 50%: 50 from cn1 at 40 and 50 from kr1 at 50 (tests/test_frontier.py)
    assert df.set_index("limit")["objective"][0.5] == pytest.approx(4500)
    printed = " ".join(capsys.readouterr().out.split())
    assert ("no limits given for 'company-cap': swept from 70.0% to 20.0% (11 points) around "
            "its own limit, 50.0%") in printed
    # limits read as percentages, in the table and in the premium's line
    assert "│ 45.0% │" in printed
    assert "premiums are over the loosest point (company-cap = 70.0%), which costs 4,300.0" \
        in printed


def test_cli_defaults_for_a_floor_and_a_volume(write_instance, tmp_path):
    path = write_instance(world(rules=[NA_FLOOR, PEAK_VOLUME]))
    out = tmp_path / "out"
    assert main(["frontier", str(path), "--rule", "peak-volume", "--out", str(out)]) == 0
    df = pd.read_csv(out / "frontier.csv")
    assert df["limit"].tolist() == [5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]
    # Peak (70) replaces cn1 (40) GWh for GWh: 30 per GWh of the floor
    objective = df.set_index("limit")["objective"]
    assert objective[15] - objective[10] == pytest.approx(5 * 30)
    assert main(["frontier", str(path), "--rule", "na-floor", "--rule", "peak-volume",
                 "--out", str(out)]) == 0
    grid = pd.read_csv(out / "frontier.csv")
    assert sorted(grid["limit"].unique()) == pytest.approx([0.0, 0.05, 0.1, 0.15, 0.2, 0.25,
                                                            0.3, 0.35, 0.4])
    assert len(grid) == 9 * 11


def test_a_zero_volume_limit_needs_values(write_instance, capsys):
    zero = {**PEAK_VOLUME, "kind": "max_volume", "limit": 0}
    assert main(["frontier", str(write_instance(world(rules=[zero]))), "--rule",
                 "peak-volume"]) == 2
    assert "rule 'peak-volume': its limit is 0" in capsys.readouterr().err


def test_rule_names_are_shown_as_written(write_instance, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "120")
    cap = {**COMPANY_CAP, "name": "[bold]cap"}
    floor = {**NA_FLOOR, "name": "[/]floor"}
    path = write_instance(world(rules=[cap, floor]))
    assert main(["frontier", str(path), "--rule", "[bold]cap", "--values", "1,0.5",
                 "--rule", "[/]floor", "--values", "0,0.1"]) == 0
    printed = " ".join(capsys.readouterr().out.split())
    assert "rule 1 = [bold]cap (max_share) x rule 2 = [/]floor (min_share)" in printed
    assert "([bold]cap = 100.0%, [/]floor = 0.0%)" in printed

"""The command line: outputs, exit codes, infeasibility messages."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from optimizer.cli import main
from tests.conftest import world

CAP = {"name": "china-cap", "kind": "max_share", "by": "control", "group": ["CN"],
       "limit": 0.3}


def test_solve_writes_outputs(write_instance, tmp_path, capsys):
    path = write_instance(world(rules=[CAP]))
    out = tmp_path / "out"
    assert main(["solve", str(path), "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    # 30 GWh from cn1 at 40 + 70 from kr1 at 50 = 4700 (tests/test_rules.py)
    assert summary["status"] == "optimal"
    assert summary["objective"] == pytest.approx(4700)
    breakdown = summary["cost_breakdown"]
    assert breakdown["ex_works"] == pytest.approx(4700)
    for key in ("tariff", "freight", "carbon", "unmet_penalty", "total"):
        assert key in breakdown
    assert summary["solver"]["name"] == "highs"
    assert summary["model_size"]["variables"] >= 3
    assert "solve" in summary["timings"]
    alloc = pd.read_csv(out / "allocation.csv")
    for col in ("supplier", "company", "country", "control", "chemistry", "family",
                "application", "period", "gwh", "unit_landed_cost", "cost"):
        assert col in alloc.columns
    assert alloc.set_index("supplier")["gwh"].to_dict() == pytest.approx({"cn1": 30, "kr1": 70})
    shares = pd.read_csv(out / "shares.csv")
    cn = shares[(shares["by"] == "control") & (shares["group"] == "CN")]
    assert cn["share"].iloc[0] == pytest.approx(0.3)
    assert set(shares["by"]) == {"company", "country", "control", "family"}
    rules = pd.read_csv(out / "rules.csv")
    assert list(rules["rule"]) == ["china-cap"]
    for col in ("value", "limit", "slack", "binding"):
        assert col in rules.columns
    assert bool(rules["binding"].iloc[0])
    printed = capsys.readouterr().out
    assert "4,700.0" in printed
    assert "china-cap" in printed
    # no staging directories are left behind
    assert not [p for p in out.iterdir() if p.name.startswith(".staging")]


def test_solve_terminal_shows_mix(write_instance, capsys):
    path = str(write_instance(world(rules=[CAP])))
    assert main(["solve", path, "--verbose"]) == 0
    printed = capsys.readouterr().out
    for text in ("Mix by controlling country", "Mix by company", "Mix by chemistry family",
                 "30.0%", "70.0%", "Binding rules"):
        assert text in printed
    # by default one screen: the mix by controlling country and what the rules cost
    assert main(["solve", path]) == 0
    printed = capsys.readouterr().out
    for text in ("Mix by controlling country", "30.0%", "70.0%",
                 "The rules that cost the most", "Where the limits bind hardest",
                 "every table here: --verbose"):
        assert text in printed
    assert "Mix by company" not in printed


def test_infeasible_names_the_rule(write_instance, tmp_path, capsys):
    # sodium >= 50% but Peak (the only sodium maker) <= 10 GWh of 100: no plan.
    # Dropping either rule alone restores a plan, so both are named.
    inst = world(rules=[
        {"name": "alt-floor", "kind": "min_share", "by": "family", "group": ["sodium"],
         "limit": 0.5},
        {"name": "peak-cap", "kind": "max_volume", "by": "company", "group": ["Peak"],
         "limit": 10},
        CAP,
    ])
    out = tmp_path / "out"
    assert main(["solve", str(write_instance(inst)), "--out", str(out)]) == 1
    printed = capsys.readouterr().out
    assert "alt-floor" in printed and "peak-cap" in printed
    assert "china-cap" not in printed.split("No plan")[1]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "infeasible"
    assert summary["objective"] is None
    assert set(summary["conflicts"]) == {"alt-floor", "peak-cap"}
    # one repair, moving one of the two rules by 40 GWh worth
    assert len(summary["repairs"]) == 1
    fix = summary["repairs"][0]
    assert fix["rule"] in ("alt-floor", "peak-cap")
    assert fix["required"] == pytest.approx(0.1 if fix["rule"] == "alt-floor" else 50)


def test_infeasible_demand_beyond_capacity(write_instance, capsys):
    inst = world(demand=[{"application": "grid", "period": 2026, "gwh": 350}])
    assert main(["solve", str(write_instance(inst))]) == 1
    printed = capsys.readouterr().out
    assert "350" in printed and "300" in printed


def test_infeasible_demand_without_any_lane(write_instance, capsys):
    inst = world(applications=[{"id": "grid", "chemistries": ["lfp", "naion"]},
                               {"id": "zinc_only", "chemistries": ["zn"]}],
                 chemistries=[{"id": "lfp", "family": "lithium"},
                              {"id": "naion", "family": "sodium"},
                              {"id": "zn", "family": "zinc"}],
                 demand=[{"application": "grid", "period": 2026, "gwh": 10},
                         {"application": "zinc_only", "period": 2026, "gwh": 5}])
    assert main(["solve", str(write_instance(inst))]) == 1
    assert "zinc_only" in capsys.readouterr().out


def test_bad_input_exit_2(write_instance, capsys):
    inst = world()
    inst["suppliers"][0]["price"] = "cheap"
    path = write_instance(inst)
    assert main(["solve", str(path)]) == 2
    err = capsys.readouterr().err
    assert path.name in err and "suppliers" in err and "row 1" in err and "price" in err


def test_usage_errors_exit_2(capsys):
    assert main(["solve", "--time-limit", "-3"]) == 2
    assert main(["frobnicate"]) == 2
    assert main([]) == 2


def test_validate(write_instance, capsys):
    assert main(["validate", str(write_instance(world(rules=[CAP])))]) == 0
    assert "3 suppliers" in capsys.readouterr().out


def test_default_instance_via_python_m(tmp_path):
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "optimizer", "solve", "--out", str(out)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    assert "Running HiGHS" not in proc.stdout  # the solver banner is silenced
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "optimal"


def test_console_script_exit_codes(write_instance):
    bad = write_instance({"format": 1})
    # the console script installed beside this interpreter
    script = Path(sys.executable).parent / "optimizer"
    proc = subprocess.run([str(script), "validate", str(bad)], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "periods" in proc.stderr


@pytest.mark.parametrize("argv", [["--help"], ["solve", "--help"], ["validate", "INSTANCE"],
                                  ["examples"]])
def test_light_commands_start_without_the_solving_stack(write_instance, argv):
    """Help and ``validate`` import neither pandas, Pyomo nor HiGHS (together
    about 0.5 s of start-up: ``optimizer --help`` took 0.75 s when they did)."""
    path = str(write_instance(world(rules=[CAP])))
    argv = [path if a == "INSTANCE" else a for a in argv]
    code = ("import sys\nfrom optimizer.cli import main\n"
            "try:\n    code = main(sys.argv[1:])\nexcept SystemExit as e:\n    code = e.code\n"
            "heavy = [m for m in ('pandas', 'pyomo', 'highspy') if m in sys.modules]\n"
            "print('EXIT', code, 'HEAVY', *heavy)")
    proc = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True,
                          text=True, timeout=120)
    assert proc.stdout.splitlines()[-1] == "EXIT 0 HEAVY", proc.stdout + proc.stderr


def test_frontier_stays_the_function_after_its_module_is_imported():
    """``optimizer.frontier`` is the sweep function, bound on first use; the
    module that holds it is ``optimizer.analysis.frontier``, so importing that module
    cannot rebind the name to a module."""
    code = ("import optimizer.analysis.frontier, optimizer\n"
            "from optimizer import frontier\n"
            "print(optimizer.frontier is frontier is optimizer.analysis.frontier.frontier,"
            " callable(frontier))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=True)
    assert proc.stdout.split() == ["True", "True"]

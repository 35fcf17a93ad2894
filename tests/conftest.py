"""Shared fixtures: small instances written to temporary YAML files."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

import optimizer

# A three-supplier world whose optima are easy to work out by hand.
#   cn1: CATL, plant in HU controlled from CN (bloc eu), LFP,   40 USD/kWh, 100 GWh
#   kr1: LGES, plant in KR (bloc asia),                  LFP,   50 USD/kWh, 100 GWh
#   us1: Peak, plant in US (bloc na),                    Na-ion 70 USD/kWh, 100 GWh
# One application 'grid' (LFP or Na-ion), 100 GWh in 2026. Without rules the
# optimum buys all 100 GWh from cn1: 100 x 40 = 4000 USD million.
WORLD: dict[str, Any] = {
    "format": 1,
    "name": "three suppliers",
    "periods": [2026],
    "chemistries": [{"id": "lfp", "family": "lithium"}, {"id": "naion", "family": "sodium"}],
    "countries": [
        {"id": "CN", "bloc": "asia"},
        {"id": "HU", "bloc": "eu"},
        {"id": "KR", "bloc": "asia"},
        {"id": "US", "bloc": "na"},
    ],
    "applications": [{"id": "grid", "chemistries": ["lfp", "naion"]}],
    "demand": [{"application": "grid", "period": 2026, "gwh": 100}],
    "attributes": ["risk_score", "cycles", "region"],
    "suppliers": [
        {"id": "cn1", "company": "CATL", "country": "HU", "control": "CN", "chemistry": "lfp",
         "capacity": 100, "price": 40, "risk_score": 0.9, "cycles": 3000, "region": "europe"},
        {"id": "kr1", "company": "LGES", "country": "KR", "chemistry": "lfp",
         "capacity": 100, "price": 50, "risk_score": 0.2, "cycles": 3000, "region": "asia"},
        {"id": "us1", "company": "Peak", "country": "US", "chemistry": "naion",
         "capacity": 100, "price": 70, "risk_score": 0.1, "cycles": 10000, "region": "america"},
    ],
}


def world(**changes: Any) -> dict[str, Any]:
    """A deep copy of WORLD with top-level keys replaced."""
    inst = copy.deepcopy(WORLD)
    inst.update(copy.deepcopy(changes))
    return inst


def supplier(inst: dict[str, Any], sid: str) -> dict[str, Any]:
    return next(s for s in inst["suppliers"] if s["id"] == sid)


@pytest.fixture
def write_instance(tmp_path: Path) -> Callable[..., Path]:
    counter = {"n": 0}

    def write(inst: dict[str, Any], name: str | None = None) -> Path:
        counter["n"] += 1
        path = tmp_path / (name or f"instance{counter['n']}.yaml")
        path.write_text(yaml.safe_dump(inst, sort_keys=False))
        return path

    return write


@pytest.fixture
def solve_dict(write_instance: Callable[..., Path]) -> Callable[..., optimizer.Result]:
    def run(inst: dict[str, Any], **kw: Any) -> optimizer.Result:
        return optimizer.solve(write_instance(inst), **kw)

    return run


# --------------------------------------------------------------------------- slow tests
#: tests marked ``slow`` here, by file and test name (fnmatch patterns; "*" is
#: the whole file). ``python -m pytest -m "not slow"`` leaves them out and runs
#: the rest in about two minutes on 2 cores; ``python -m pytest`` (CI) runs everything.
#: Chosen from ``pytest --durations``: each takes a second or more, and most
#: are of a kind that is slow by nature. Kept in one place, so that a test
#: file need not be edited to move a test in or out of the fast run; a new
#: test can also carry ``@pytest.mark.slow`` itself.
SLOW: dict[str, tuple[str, ...]] = {
    # property and fuzz tests (hypothesis, mutated instances)
    "test_properties.py": ("*",),
    "test_fuzz.py": ("*",),
    # the notebooks, run top to bottom in a fresh kernel
    "test_notebooks.py": ("test_notebook_runs_and_plots*",),
    # the browser tests of report.html and the scenario reports
    "test_html_report.py": ("test_browser_*",),
    "test_scenario_reports.py": ("*_in_browser*",),
    # the web workspace in headless Chromium
    "test_web_browser.py": ("*",),
    # the benchmark harness
    "test_benchmarks.py": ("*",),
    # scale: many solves, generated instances, extreme scales
    "test_solve_path.py": ("test_every_analysis_path_reproduces_solve*",
                           "test_blocks_reach_the_optimum_of_the_whole*"),
    "test_numerics.py": ("test_generated_at_extreme_scales*",),
    "test_against_reference.py": ("test_binaries_match_reference*",
                                  "test_cli_matches_reference*",
                                  "test_solve_matches_reference*"),
    "test_upstream.py": ("test_random_upstream_instances_match_the_reference*",),
    "test_building.py": ("test_random_instances_match_the_reference*",),
    "test_alternatives.py": ("test_report_draws_each_range_with_the_optimum_marked*",),
    "test_check.py": ("test_agrees_with_reference_checker*",),
    "test_excel.py": ("test_generated_instances_round_trip*",),
    "test_instances.py": ("test_instance_matches_reference[[]us-defense[]]",),
    "test_binaries.py": ("test_time_limit_with_a_plan*",),
    "test_hostile_input.py": ("test_a_workbook_that_unzips_to_too_much_is_refused*",),
    "test_output_columns.py": ("test_every_column_written_is_documented*",),
    # progressive hedging under mpiexec and against the reference on generated trees
    "test_hedging.py": ("test_under_mpiexec*", "test_adaptive_under_mpiexec*",
                        "test_adaptive_against_the_independent_reference*"),
    # processes, Dask clusters and fresh interpreters
    "test_frontier.py": ("test_workers_equal_serial*", "test_cli_scheduler*",
                         "test_dask_local_cluster_equals_serial*"),
    "test_scenarios.py": ("test_workers_equal_serial*", "test_dask_scheduler_equals_serial*",
                          "test_robust_model_agrees_with_play_outs_on_generated_instances*",
                          "test_against_independent_extensive_form*"),
    "test_parallel.py": ("test_processes_give_results_in_item_order*",
                         "test_unreachable_scheduler*", "test_dask_results_in_order*"),
    "test_input_errors.py": ("test_real_process_exits_2_without_traceback*",
                             "test_bad_input_is_reported[[]yaml-nested-too-deeply[]]"),
    "test_report_layer.py": ("test_report_renders_from_an_installed_copy*",),
    "test_atomic_output.py": ("test_a_run_killed_at_any_moment_leaves_one_whole_run*",),
    "test_cli.py": ("test_default_instance_via_python_m*", "test_console_script_exit_codes*",
                    "test_light_commands_start_without_the_solving_stack*",
                    "test_frontier_stays_the_function_after_its_module_is_imported*"),
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    import fnmatch

    for item in items:
        patterns = SLOW.get(Path(str(item.fspath)).name, ())
        if any(fnmatch.fnmatchcase(item.name, p) for p in patterns):
            item.add_marker(pytest.mark.slow)

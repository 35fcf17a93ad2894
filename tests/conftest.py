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

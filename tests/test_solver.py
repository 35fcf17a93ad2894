"""HighsModel.run(meanwhile=...): HiGHS solves on a worker thread while other
work runs; the outcome is the same as a plain run."""

from __future__ import annotations

import threading

import pytest

import optimizer
from optimizer.solver.highs import HighsModel
from tests.conftest import world

CN_CAP = {"name": "cn-cap", "kind": "max_share", "by": "control", "group": ["CN"], "limit": 0.5}


def built(write_instance):
    path = write_instance(world(rules=[CN_CAP]))
    return optimizer.build_model(optimizer.prepare(optimizer.load_instance(path)))


def test_meanwhile_runs_once_beside_the_solver(write_instance):
    m = built(write_instance)
    plain = HighsModel(m).run()
    hm = HighsModel(m)
    calls = []
    status = hm.run(meanwhile=lambda: calls.append(threading.current_thread().name))
    assert calls == [threading.current_thread().name]  # on the caller's thread, once
    # 50 GWh on cn1 at 40, the rest on kr1 at 50 (a 50% CN cap): 50x40 + 50x50 = 4500
    assert status.status == plain.status == "optimal"
    assert status.objective == pytest.approx(plain.objective) == pytest.approx(4500)
    assert status.solve_seconds >= 0


def test_an_error_meanwhile_surfaces_after_the_solve(write_instance):
    m = built(write_instance)
    hm = HighsModel(m)

    def broken() -> None:
        raise RuntimeError("meanwhile failed")

    with pytest.raises(RuntimeError, match="meanwhile failed"):
        hm.run(meanwhile=broken)
    # the solver thread was waited for: the model can be solved again at once
    assert hm.run().objective == pytest.approx(4500)


def test_solve_passes_meanwhile_through(write_instance):
    path = write_instance(world(rules=[CN_CAP]))
    seen = []
    res = optimizer.solve(path, meanwhile=lambda: seen.append(True))
    assert seen == [True]
    assert res.objective == pytest.approx(4500)

"""The one parallel runner (optimizer.parallel): chunks, order, processes, Dask, errors."""

from __future__ import annotations

import os
import re
import time

import pytest

from optimizer import parallel
from optimizer.parallel import ParallelError, check_where, chunks, map_chunks

# this module is imported again by every spawned process: it imports nothing heavy


# module-level, so that a spawned process (and a Dask worker) can import them
def square_with_pid(offset: int, chunk: list[int], scale: int) -> list[tuple[int, int]]:
    """(offset + scale * x * x, process id) per item; the chunk holding 0 is the
    slowest, so that the chunks usually finish in another order than they were given."""
    if 0 in chunk:
        time.sleep(0.5)
    return [(offset + scale * x * x, os.getpid()) for x in chunk]


def one_short(shared: None, chunk: list[int]) -> list[int]:
    return chunk[1:]


def test_chunks_are_contiguous_and_in_order():
    # 10 items for 2 workers: at most 4 chunks per worker -> 8 chunks of ceil(10 / 8) = 2
    assert chunks(list(range(10)), 2) == [[0, 1], [2, 3], [4, 5], [6, 7], [8, 9]]
    # 10 items, 1 worker: 4 chunks of ceil(10 / 4) = 3, the last one shorter
    assert chunks(list(range(10)), 1) == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]
    # fewer items than chunks: one item each
    assert chunks(["a", "b", "c"], 4) == [["a"], ["b"], ["c"]]
    # nothing to do: one empty chunk (the job still runs once, on nothing)
    assert chunks([], 3) == [[]]
    # a tuple comes back as lists; parts below 1 count as 1
    assert chunks((1, 2, 3, 4, 5), 0) == [[1, 2], [3, 4], [5]]


def test_here_results_in_order_with_progress():
    calls: list[tuple[int, int]] = []
    got = map_chunks(square_with_pid, 100, list(range(7)), (2,),
                     progress=lambda done, total: calls.append((done, total)))
    assert [v for v, _ in got] == [100 + 2 * x * x for x in range(7)]
    assert {pid for _, pid in got} == {os.getpid()}
    # 7 items, 1 worker: chunks of 2, 2, 2, 1, run in turn
    assert calls == [(2, 7), (4, 7), (6, 7), (7, 7)]


def test_processes_give_results_in_item_order():
    calls: list[tuple[int, int]] = []
    items = list(range(9))
    got = map_chunks(square_with_pid, 1, items, (3,), workers=2,
                     progress=lambda done, total: calls.append((done, total)))
    # 9 items, 2 workers: 8 chunks of ceil(9 / 8) = 2 -> 5 chunks; the first is slow
    assert [v for v, _ in got] == [1 + 3 * x * x for x in items]
    assert os.getpid() not in {pid for _, pid in got}          # ran in other processes
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)
    assert calls[-1] == (9, 9) and len(calls) == 5
    assert {total for _, total in calls} == {9}


def test_a_job_returning_the_wrong_count_is_an_error():
    with pytest.raises(RuntimeError, match=r"gave 0 result\(s\) for a chunk of 1 item\(s\)"):
        map_chunks(one_short, None, [1, 2], ())


def test_dask_results_in_order():
    distributed = pytest.importorskip("dask.distributed")
    calls: list[tuple[int, int]] = []
    with distributed.Client(processes=False, n_workers=1, threads_per_worker=2,
                            dashboard_address=None) as client:
        got = map_chunks(square_with_pid, 0, list(range(11)), (1,), scheduler=client,
                         progress=lambda done, total: calls.append((done, total)))
        assert client.status == "running"                 # a Client given is left open
    assert [v for v, _ in got] == [x * x for x in range(11)]
    assert calls[-1] == (11, 11)


@pytest.mark.parametrize(("workers", "scheduler", "reason", "message"), [
    (0, None, "workers", "workers must be at least 1, got 0"),
    (-2, None, "workers", "workers must be at least 1, got -2"),
    (2, "tcp://127.0.0.1:1", "both",
     "give either workers (local processes) or a Dask scheduler, not both"),
])
def test_bad_arguments_are_named(workers, scheduler, reason, message):
    with pytest.raises(ParallelError) as err:
        check_where(workers, scheduler)
    assert (err.value.reason, str(err.value)) == (reason, message)
    assert isinstance(err.value, ValueError)
    # map_chunks checks before it runs anything
    ran: list[int] = []
    with pytest.raises(ParallelError, match=re.escape(message)):
        map_chunks(lambda shared, chunk: ran.extend(chunk) or chunk, None, [1], (),
                   workers=workers, scheduler=scheduler)
    assert ran == []


def test_unreachable_scheduler(monkeypatch):
    pytest.importorskip("dask.distributed")
    monkeypatch.setattr(parallel, "CONNECT_TIMEOUT", 1)
    with pytest.raises(ParallelError) as err:
        map_chunks(square_with_pid, 0, [1], (1,), scheduler="tcp://127.0.0.1:1")
    assert err.value.reason == "scheduler"
    assert str(err.value).startswith("cannot reach the Dask scheduler at tcp://127.0.0.1:1: ")

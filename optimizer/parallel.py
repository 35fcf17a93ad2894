"""One way to run a batch of independent jobs: here, on local processes, or on
a Dask cluster.

    results = map_chunks(func, shared, items, (arg,), workers=4)
    results = map_chunks(func, shared, items, (arg,), scheduler="tcp://10.0.0.5:8786")

``items`` are cut into contiguous chunks (:func:`chunks`), and
``func(shared, chunk, *extra)`` returns one result per item of its chunk. The
results come back as one list in the order of ``items``, wherever they ran.
``shared`` goes to every worker once (to each local process with every chunk;
scattered to every Dask worker once); ``func`` must be a module-level function,
so that a spawned process or a Dask worker can import it.

* ``workers`` = 1 and no scheduler: the chunks run here, one after the other;
* ``workers`` > 1: on that many local processes, started with the ``spawn``
  method (a forked copy of a process holding HiGHS threads can hang);
* ``scheduler``: on a Dask cluster, given by the address of its scheduler
  (``tcp://host:8786``) or as a ``dask.distributed.Client`` (left open).

A worker process keeps its module state between the chunks it runs, so
``func`` may cache what is costly to build (the frontier keeps one model per
process and sweeps its chunks warm). Workers or a scheduler that cannot be used
raise :class:`ParallelError`; an error inside ``func`` is raised as it is.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")

#: a progress callback: (items done, items in all)
Progress = Callable[[int, int], None]
#: chunks per worker: several, so that a slow chunk does not hold up the end
#: of the batch and progress moves in small steps
CHUNKS_PER_WORKER = 4
#: seconds to wait for a Dask scheduler given by its address
CONNECT_TIMEOUT = 20


class ParallelError(ValueError):
    """Workers or a scheduler that cannot be used as given. ``reason`` is
    ``workers`` (fewer than 1), ``both`` (workers and a scheduler), ``dask``
    (dask.distributed is not installed) or ``scheduler`` (not reachable)."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


def check_where(workers: int, scheduler: Any = None) -> None:
    """Raise :class:`ParallelError` unless ``workers`` and ``scheduler`` can be used
    together (without connecting to the scheduler)."""
    if workers < 1:
        raise ParallelError("workers", f"workers must be at least 1, got {workers}")
    if workers > 1 and scheduler is not None:
        raise ParallelError("both", "give either workers (local processes) or a Dask "
                                    "scheduler, not both")


def chunks(items: Sequence[T], parts: int) -> list[list[T]]:
    """``items`` cut into contiguous chunks, in order, about
    :data:`CHUNKS_PER_WORKER` per part (neighbours stay together, so that a warm
    start from the previous item helps). No items make one empty chunk."""
    n = max(1, min(len(items), CHUNKS_PER_WORKER * max(1, parts)))
    size = math.ceil(len(items) / n) if items else 1
    return [list(items[k:k + size]) for k in range(0, len(items), size)] or [[]]


def map_chunks(func: Callable[..., list], shared: Any, items: Sequence[Any], extra: tuple = (), *,
        workers: int = 1, scheduler: Any = None, progress: Progress | None = None) -> list:
    """``func(shared, chunk, *extra)`` over the chunks of ``items``: one result per
    item, in the order of ``items``. ``progress(done, total)`` is called here as
    chunks finish (in whatever order they finish)."""
    check_where(workers, scheduler)
    if scheduler is not None:
        return _on_dask(func, shared, items, extra, scheduler, progress)
    parts = chunks(items, workers)
    if workers > 1 and len(parts) > 1:
        return _on_processes(func, shared, parts, extra, workers, progress)
    out: list[list] = []
    done = 0
    for chunk in parts:
        out.append(_checked(func(shared, chunk, *extra), chunk))
        done += len(chunk)
        if progress:
            progress(done, len(items))
    return [r for part in out for r in part]


def _checked(results: list, chunk: list) -> list:
    if len(results) != len(chunk):
        raise RuntimeError(f"a parallel job gave {len(results)} result(s) for a chunk of "
                           f"{len(chunk)} item(s): it must give one per item")
    return results


def _on_processes(func: Callable[..., list], shared: Any, parts: list[list], extra: tuple,
                  workers: int, progress: Progress | None) -> list:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    total = sum(len(chunk) for chunk in parts)
    got: dict[int, list] = {}
    done = 0
    ctx = multiprocessing.get_context("spawn")  # no fork of a process holding HiGHS threads
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        futures = {pool.submit(func, shared, chunk, *extra): k for k, chunk in enumerate(parts)}
        for fut in as_completed(futures):
            k = futures[fut]
            got[k] = _checked(fut.result(), parts[k])
            done += len(got[k])
            if progress:
                progress(done, total)
    return [r for k in range(len(parts)) for r in got[k]]


def connect(scheduler: Any) -> tuple[Any, bool]:
    """A ``dask.distributed.Client`` for ``scheduler`` (an address, or a Client
    returned as it is) and whether it was opened here (then the caller closes it)."""
    try:
        from dask.distributed import Client
    except ImportError:  # pragma: no cover - dask is a dependency
        raise ParallelError("dask", "--scheduler needs dask.distributed: pip install "
                                    "'dask[distributed]'") from None
    if isinstance(scheduler, Client):
        return scheduler, False
    try:
        return Client(scheduler, timeout=CONNECT_TIMEOUT), True
    except (OSError, TimeoutError, ValueError) as exc:
        raise ParallelError("scheduler", f"cannot reach the Dask scheduler at {scheduler}: "
                                         f"{exc}") from None


def _on_dask(func: Callable[..., list], shared: Any, items: Sequence[Any], extra: tuple,
             scheduler: Any, progress: Progress | None) -> list:
    from dask.distributed import as_completed

    client, own = connect(scheduler)
    try:
        parts = chunks(items, max(1, sum(client.nthreads().values())))
        remote = client.scatter([shared], broadcast=True)[0]
        futures = [client.submit(func, remote, chunk, *extra, pure=False) for chunk in parts]
        position = {fut.key: k for k, fut in enumerate(futures)}
        got: dict[int, list] = {}
        done = 0
        for fut in as_completed(futures):
            k = position[fut.key]
            got[k] = _checked(fut.result(), parts[k])
            done += len(got[k])
            if progress:
                progress(done, len(items))
        return [r for k in range(len(parts)) for r in got[k]]
    finally:
        if own:
            client.close()

"""Where walk-forward backtests run: inline, on a local process pool (the default), or on a Dask
cluster named by its scheduler's address (`DaskTrials`, the `cluster` extra).

Every executor takes the backtest function once (`RunFn`, with whatever it closes over: the
job, the data paths) and then only small tasks, (params, bars slice), each tagged with an id;
results come back tagged, in whatever order they finish, so the caller's results never depend
on the executor. `close(abort=True)` stops at once: queued tasks are dropped and running ones
killed (Ctrl-C must not wait for a long backtest to finish).
"""

from __future__ import annotations

import multiprocessing
import pickle
import queue
import signal
from collections import deque
from collections.abc import Callable
from multiprocessing.pool import Pool
from typing import Any, Protocol

from robo_tui.backtest.stats import BacktestStats

Params = dict[str, Any]
RunFn = Callable[[Params, slice], BacktestStats]
Done = tuple[int, BacktestStats]


class TrialExecutor(Protocol):
    """Runs tagged backtests of one `RunFn`, as many at once as `capacity` says."""

    capacity: int

    def submit(self, tag: int, params: Params, bars: slice) -> None:
        """Queue one backtest."""

    def finished(self, timeout: float) -> list[Done]:
        """Backtests finished since the last call (waits up to `timeout` s for the first);
        a backtest's exception is raised here."""

    def close(self, *, abort: bool = False) -> None:
        """Release the workers; `abort` kills running backtests instead of waiting for them."""


class InlineExecutor:
    """Runs each backtest in this process, one at a time, when results are asked for."""

    capacity = 1

    def __init__(self, run: RunFn) -> None:
        self._run = run
        self._queued: deque[tuple[int, Params, slice]] = deque()

    def submit(self, tag: int, params: Params, bars: slice) -> None:
        """Queue one backtest (it runs in `finished`)."""
        self._queued.append((tag, params, bars))

    def finished(self, timeout: float) -> list[Done]:
        """Run the next queued backtest and return it."""
        if not self._queued:
            return []
        tag, params, bars = self._queued.popleft()
        return [(tag, self._run(params, bars))]

    def close(self, *, abort: bool = False) -> None:
        """Drop what is still queued."""
        self._queued.clear()


_WORKER_RUN: list[RunFn] = []


def _start_worker(run: RunFn) -> None:
    """A pool worker's start: keep the backtest function (sent once, not with every task) and
    leave Ctrl-C to the parent, which stops the pool itself."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _WORKER_RUN[:] = [run]


def _run_in_worker(params: Params, bars: slice) -> BacktestStats:
    return _WORKER_RUN[0](params, bars)


def check_picklable(run: RunFn) -> None:
    """Raise TypeError when `run` cannot be sent to another process."""
    try:
        pickle.dumps(run)
    except (pickle.PicklingError, AttributeError, TypeError) as exc:
        raise TypeError(
            "run must be a picklable top-level function to use a process pool "
            f"(or pass processes=1): {exc}"
        ) from exc


class ProcessPoolTrials:
    """A spawn-context pool of `workers` processes on this machine (the default executor)."""

    def __init__(self, run: RunFn, workers: int) -> None:
        check_picklable(run)
        self.capacity = workers
        context = multiprocessing.get_context("spawn")
        self._pool: Pool = context.Pool(workers, initializer=_start_worker, initargs=(run,))
        self._done: queue.SimpleQueue[tuple[int, BacktestStats | BaseException]] = (
            queue.SimpleQueue()
        )

    def submit(self, tag: int, params: Params, bars: slice) -> None:
        """Queue one backtest on the pool."""
        self._pool.apply_async(
            _run_in_worker,
            (params, bars),
            callback=lambda stats: self._done.put((tag, stats)),
            error_callback=lambda exc: self._done.put((tag, exc)),
        )

    def finished(self, timeout: float) -> list[Done]:
        """What finished (waiting up to `timeout` s for the first)."""
        out: list[Done] = []
        try:
            item = self._done.get(timeout=timeout)
            while True:
                tag, value = item
                if isinstance(value, BaseException):
                    raise value
                out.append((tag, value))
                item = self._done.get_nowait()
        except queue.Empty:
            return out

    def close(self, *, abort: bool = False) -> None:
        """Stop the pool: kill the workers on abort, else let them exit."""
        if abort:
            self._pool.terminate()
        else:
            self._pool.close()
        self._pool.join()


# --------------------------------------------------------------------------- a Dask cluster

CLUSTER_EXTRA = "cluster"
"""The optional dependency group a Dask cluster needs (`pip install 'robo-tui[cluster]'`)."""


class MissingClusterExtra(ImportError):
    """dask.distributed is not installed (the message names the extra)."""


def _distributed() -> Any:
    """The `distributed` package, or MissingClusterExtra naming the extra to install."""
    try:
        import distributed
    except ImportError as exc:
        raise MissingClusterExtra(
            f"a Dask cluster needs dask.distributed: pip install 'robo-tui[{CLUSTER_EXTRA}]'"
        ) from exc
    return distributed


def _call_scattered(run: RunFn, params: Params, bars: slice) -> BacktestStats:
    """A trial on a Dask worker: `run` is the scattered backtest function (resolved there)."""
    return run(params, bars)


class ClusterUnreachable(ConnectionError):
    """The Dask scheduler named could not be reached (the message names its address)."""


class DaskTrials:
    """Trials on a Dask cluster (dask.distributed), named by its scheduler's address.

    The backtest function, with everything it closes over (the job, the bars), is scattered to
    every worker once (`broadcast`); each trial then sends only its (params, bars slice) and a
    reference to it. Results come back tagged as they finish, so the walk-forward's result does
    not depend on the cluster. `capacity` is the cluster's worker threads at connect time.
    `close(abort=True)` cancels what is queued or running and disconnects (a task already
    running on a worker runs out there; its result is discarded).
    """

    def __init__(self, run: RunFn, address: str, *, timeout_s: float = 10.0) -> None:
        distributed = _distributed()
        try:
            self._client = distributed.Client(address, timeout=timeout_s, set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise ClusterUnreachable(
                f"cannot reach the Dask scheduler at {address}: {exc}") from None
        try:
            self.capacity = max(1, sum(self._client.nthreads().values()))
            [self._run] = self._client.scatter([run], broadcast=True, hash=False)
        except BaseException:
            self._client.close()
            raise
        self._done: queue.SimpleQueue[tuple[int, Any]] = queue.SimpleQueue()
        self._futures: dict[int, Any] = {}

    def submit(self, tag: int, params: Params, bars: slice) -> None:
        """Queue one backtest on the cluster."""
        future = self._client.submit(_call_scattered, self._run, params, bars, pure=False)
        self._futures[tag] = future
        future.add_done_callback(lambda f, tag=tag: self._done.put((tag, f)))

    def finished(self, timeout: float) -> list[Done]:
        """What finished (waiting up to `timeout` s for the first); a trial's error is raised."""
        out: list[Done] = []
        try:
            item = self._done.get(timeout=timeout)
            while True:
                tag, future = item
                self._futures.pop(tag, None)
                out.append((tag, future.result()))  # done: returns at once, or raises its error
                item = self._done.get_nowait()
        except queue.Empty:
            return out

    def close(self, *, abort: bool = False) -> None:
        """Disconnect; `abort` cancels every trial not yet back first."""
        if abort and self._futures:
            self._client.cancel(list(self._futures.values()))
        self._futures.clear()
        self._client.close()

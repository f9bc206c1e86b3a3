"""Where walk-forward backtests run: inline, or on a local process pool (any other executor, e.g.
a cluster client, implements `TrialExecutor`).

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

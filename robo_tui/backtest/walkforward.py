"""Walk-forward optimisation: pick parameters in-sample, judge them out-of-sample.

For each rolling (train, test) window every candidate parameter set is backtested on the train
bars; the best by `metric` is then backtested on the following, unseen test bars. In-sample and
out-of-sample figures are kept apart, and the result reports how many trials were run and how much
the metric degraded out of sample: the guard against picking parameters that only fit the noise.

Runs spread over CPU cores with a spawn-context process pool (`robo_tui.backtest.executors`), so
`run` must be a picklable top-level function (a module-level `def`, or a `functools.partial` of
one). Candidates come from a fixed list (grid or random search, `robo_tui.backtest.search`) or a
`CandidateSearch` per window (Optuna, `robo_tui.backtest.optuna_search`). Ctrl-C returns the
windows tested so far.
"""

from __future__ import annotations

import functools
import math
import os
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from statistics import median
from typing import Any, Protocol

import numpy as np

from robo_tui.backtest.executors import InlineExecutor, ProcessPoolTrials, RunFn, TrialExecutor
from robo_tui.backtest.overfit_guard import guard_notes, mean_finite, window_overfit
from robo_tui.backtest.search import Params, param_grid, random_search
from robo_tui.backtest.stats import BacktestStats
from robo_tui.domain.frozen import frozen
from robo_tui.domain.serialize import to_jsonable

Window = tuple[slice, slice]

__all__ = [
    "CandidateSearch",
    "GridSearch",
    "Params",
    "Proposal",
    "RunFn",
    "WalkForwardResult",
    "WalkProgress",
    "Window",
    "WindowResult",
    "param_grid",
    "random_search",
    "rolling_windows",
    "walk_forward",
    "walk_forward_to_json",
]


# --------------------------------------------------------------------------- windows


def rolling_windows(
    n_bars: int,
    train: int,
    test: int,
    step: int | None = None,
    *,
    anchored: bool = False,
) -> list[Window]:
    """(train, test) slices over `n_bars` bars: train bars, then the test bars right after.

    Windows advance by `step` bars (default `test`, so test windows tile without overlap).
    `anchored=True` keeps every train window starting at bar 0 (an expanding window).
    A trailing stretch too short for a full test window is left out.
    """
    step = test if step is None else step
    if min(train, test, step) < 1:
        raise ValueError(f"train, test and step must be positive, got {train}, {test}, {step}")
    windows = []
    start = 0
    while start + train + test <= n_bars:
        train_start = 0 if anchored else start
        windows.append(
            (slice(train_start, start + train), slice(start + train, start + train + test))
        )
        start += step
    return windows


# --------------------------------------------------------------------------- results


@frozen
class WindowResult:
    """One walk-forward step: the parameters chosen in-sample and how they did out-of-sample.

    `degradation` is the in-sample metric minus the out-of-sample one (sign flipped when the
    metric is minimised), so a positive number always means "worse on unseen data".
    `trial_metrics` holds every candidate's in-sample metric, in candidate order.
    `deflated_sharpe` is the chosen candidate's deflated Sharpe ratio among the window's trials
    and `pbo` the window's probability of backtest overfitting (both from the trials' monthly
    returns; NaN when the window spans too few months), see `overfit_guard`.
    """

    index: int
    train: slice
    test: slice
    params: Params
    in_sample: BacktestStats
    out_of_sample: BacktestStats
    is_metric: float
    oos_metric: float
    degradation: float
    trial_metrics: tuple[float, ...]
    deflated_sharpe: float = math.nan
    pbo: float = math.nan


@frozen
class SampleSummary:
    """In-sample or out-of-sample figures over all windows (one side, never mixed).

    `return_pct_compounded` chains the windows' returns; for the out-of-sample side that is what
    trading the walk-forward would have earned. `win_rate_pct` is weighted by trades.
    """

    metric_mean: float
    metric_median: float
    return_pct_mean: float
    return_pct_compounded: float
    sharpe_mean: float
    max_drawdown_pct_worst: float
    trades: int
    win_rate_pct: float
    positive_windows_pct: float


@frozen
class WalkForwardResult:
    """A walk-forward run: per-window choices, both samples' summaries and the overfitting guard.

    `trials` is how many in-sample backtests competed (windows x candidates): the more trials,
    the more an in-sample best is expected to be luck. `degradation` is the mean in-sample metric
    minus the mean out-of-sample metric (positive = worse out of sample), `degradation_pct` that
    relative to the in-sample mean, and `efficiency` the out-of-sample mean over the in-sample
    mean (walk-forward efficiency; around 0.5 or better is commonly taken as robust).
    `warnings` says in words when the guard trips. `trade_now` is the latest window's choice:
    the parameters to trade from here on. `interrupted`: stopped by Ctrl-C, the windows tested
    until then only. `deflated_sharpe` and `pbo` are the windows' mean deflated Sharpe ratio of
    the winner and probability of backtest overfitting (over the windows where they are
    defined; docs/backtesting.md).
    """

    metric: str
    maximize: bool
    candidates: int
    trials: int
    windows: tuple[WindowResult, ...]
    in_sample: SampleSummary
    out_of_sample: SampleSummary
    degradation: float
    degradation_pct: float
    efficiency: float
    chosen_params: tuple[tuple[str, int], ...]
    warnings: tuple[str, ...]
    trade_now: Params
    interrupted: bool = False
    deflated_sharpe: float = math.nan
    pbo: float = math.nan


# --------------------------------------------------------------------------- running


@frozen
class WalkProgress:
    """How far a walk-forward is: backtests done of the total, windows tested, the time left.

    `eta_s` is measured, not guessed: the wall time so far per bar backtested (train and test
    windows differ in length) times the bars still to backtest; None until one has finished.
    """

    done: int
    total: int
    elapsed_s: float
    eta_s: float | None
    windows_tested: int = 0


@frozen
class Proposal:
    """A candidate to backtest on the first `part` of the train window (1.0: all of it; only
    whole-window scores compete for the window's pick, a part is a pruning step)."""

    params: Params
    part: float = 1.0


class CandidateSearch(Protocol):
    """Proposes one train window's candidates, batch by batch, and learns from their scores."""

    def propose(self) -> list[Proposal]:
        """The next batch of candidates to backtest (empty: the search is over)."""

    def learn(self, scores: Sequence[float]) -> None:
        """The last batch's scores, in batch order (larger is better; -inf for NaN)."""

    @property
    def trials(self) -> int:
        """How many whole-window backtests this search runs (its current plan)."""


class GridSearch:
    """A fixed list of candidates, all proposed in one batch (grid or random search)."""

    def __init__(self, candidates: Sequence[Params]) -> None:
        self._candidates = [dict(p) for p in candidates]
        self._proposed = False

    def propose(self) -> list[Proposal]:
        """Every candidate, once."""
        if self._proposed:
            return []
        self._proposed = True
        return [Proposal(dict(p)) for p in self._candidates]

    def learn(self, scores: Sequence[float]) -> None:
        """Nothing to learn: the list is fixed."""

    @property
    def trials(self) -> int:
        """The number of candidates."""
        return len(self._candidates)


SearchFactory = Callable[[int], CandidateSearch]
"""A fresh search for window `i` (each window searches on its own)."""


def _score(stats: BacktestStats, metric: str, maximize: bool) -> float:
    """The metric oriented so that larger is better; NaN ranks last."""
    value = stats.metric(metric)
    if math.isnan(value):
        return -math.inf
    return value if maximize else -value


def _summary(stats: Sequence[BacktestStats], metric: str) -> SampleSummary:
    values = [s.metric(metric) for s in stats]
    finite = [v for v in values if math.isfinite(v)]
    trades = sum(s.trades for s in stats)
    wins = sum(s.win_rate_pct / 100.0 * s.trades for s in stats if s.trades)
    returns = [s.return_pct for s in stats]
    sharpes = [s.sharpe for s in stats if math.isfinite(s.sharpe)]
    return SampleSummary(
        metric_mean=float(np.mean(finite)) if finite else math.nan,
        metric_median=float(median(finite)) if finite else math.nan,
        return_pct_mean=float(np.mean(returns)),
        return_pct_compounded=(math.prod(1.0 + r / 100.0 for r in returns) - 1.0) * 100.0,
        sharpe_mean=float(np.mean(sharpes)) if sharpes else math.nan,
        max_drawdown_pct_worst=min(s.max_drawdown_pct for s in stats),
        trades=trades,
        win_rate_pct=wins / trades * 100.0 if trades else math.nan,
        positive_windows_pct=sum(r > 0 for r in returns) / len(returns) * 100.0,
    )


def _guard_warnings(
    is_mean: float, oos_mean: float, efficiency: float, trials: int, windows: int, metric: str
) -> list[str]:
    notes = []
    if math.isfinite(efficiency) and efficiency < 0.5:
        notes.append(f"out-of-sample {metric} is {efficiency:.0%} of in-sample: likely overfit")
    if math.isfinite(is_mean) and math.isfinite(oos_mean) and is_mean > 0 >= oos_mean:
        notes.append(f"in-sample {metric} is positive but out-of-sample is not")
    if windows and trials / windows > 100:
        notes.append(
            f"{trials // windows} candidates per window: the in-sample best is partly luck"
        )
    return notes


class _Window:
    """One window's search in flight: its batch, every trial so far, and its test result."""

    def __init__(self, index: int, bars: Window, search: CandidateSearch) -> None:
        self.index = index
        self.train, self.test = bars
        self.search = search
        self.batch: list[Proposal] = []
        self.batch_stats: dict[int, BacktestStats] = {}
        self.unsent: deque[int] = deque()
        self.trials: list[tuple[Params, BacktestStats]] = []
        self.best: int | None = None
        self.oos: BacktestStats | None = None

    def best_params(self) -> Params:
        """The in-sample winner (once the search is over)."""
        assert self.best is not None
        return self.trials[self.best][0]

    def next_batch(self) -> bool:
        """Start the search's next batch; False when the search is over."""
        self.batch = self.search.propose()
        self.batch_stats = {}
        self.unsent = deque(range(len(self.batch)))
        return bool(self.batch)


class _Walk:
    """The scheduler: keeps the executor busy with train backtests in window order, sends each
    window's test backtest as soon as its search is over, and counts progress by bars."""

    def __init__(
        self,
        executor: TrialExecutor,
        windows: list[_Window],
        metric: str,
        maximize: bool,
        progress: Callable[[WalkProgress], None] | None,
    ) -> None:
        self.executor = executor
        self.windows = windows
        self.metric, self.maximize = metric, maximize
        self.progress = progress
        self.tags: list[tuple[int, int]] = []  # tag -> (window, batch slot; -1 the test)
        self.ready_tests: deque[int] = deque()
        self.in_flight = 0
        self.done = 0
        self.parts_done = 0  # pruning-step backtests: counted as they happen
        self.parts_cost = 0
        self.cost_done = 0
        self.started = time.perf_counter()
        self.opened = 0  # windows whose search has started

    def run(self) -> None:
        """Until every window is tested (KeyboardInterrupt passes through)."""
        while any(w.oos is None for w in self.windows):
            self._fill()
            for tag, stats in self.executor.finished(timeout=0.2):
                self._finished(tag, stats)

    def _fill(self) -> None:
        # a pool gets a second task per worker queued (no idle gap between tasks); inline, one
        capacity = self.executor.capacity
        limit = 1 if capacity == 1 else capacity * 2
        while self.in_flight < limit:
            if self.ready_tests:
                w = self.windows[self.ready_tests.popleft()]
                self._send(w, -1, w.best_params(), w.test)
                continue
            window = next((w for w in self.windows[: self.opened] if w.unsent), None)
            if window is None and self.opened < len(self.windows):
                window = self.windows[self.opened]
                self.opened += 1
                if not window.next_batch():
                    raise ValueError(f"window {window.index}: the search proposed nothing")
            if window is None:
                return
            slot = window.unsent.popleft()
            proposal = window.batch[slot]
            train = window.train
            if proposal.part < 1.0:
                stop = train.start + max(1, round(_bars(train) * proposal.part))
                train = slice(train.start, stop)
            self._send(window, slot, proposal.params, train)

    def _send(self, window: _Window, slot: int, params: Params, bars: slice) -> None:
        self.tags.append((window.index, slot))
        self.executor.submit(len(self.tags) - 1, dict(params), bars)
        self.in_flight += 1

    def _finished(self, tag: int, stats: BacktestStats) -> None:
        """Book one finished backtest, then report progress (the state is whole by then)."""
        self.in_flight -= 1
        index, slot = self.tags[tag]
        window = self.windows[index]
        if slot < 0:
            window.oos = stats
            self._tick(window.test)
            return
        window.batch_stats[slot] = stats
        proposal = window.batch[slot]
        if proposal.part < 1.0:
            self.parts_done += 1
            self.parts_cost += stats.bars
        if len(window.batch_stats) == len(window.batch):
            self._end_batch(window)
        self._tick(window.train if proposal.part == 1.0 else slice(0, stats.bars))

    def _end_batch(self, window: _Window) -> None:
        """The search learns the batch's scores; when it is over, the window's test is next."""
        batch = [window.batch_stats[i] for i in range(len(window.batch))]
        window.trials.extend(
            (p.params, s) for p, s in zip(window.batch, batch, strict=True) if p.part == 1.0
        )
        window.search.learn([_score(s, self.metric, self.maximize) for s in batch])
        if not window.next_batch():
            scores = [_score(s, self.metric, self.maximize) for _, s in window.trials]
            window.best = int(np.argmax(scores))  # ties: the earlier candidate
            self.ready_tests.append(window.index)

    def _tick(self, bars: slice) -> None:
        self.done += 1
        self.cost_done += _bars(bars)
        if self.progress is None:
            return
        elapsed = time.perf_counter() - self.started
        # the plan as the searches see it now (an Optuna search may end early; its pruning
        # steps are added as they happen)
        total = self.parts_done + sum(w.search.trials + 1 for w in self.windows)
        cost_total = self.parts_cost + sum(
            w.search.trials * _bars(w.train) + _bars(w.test) for w in self.windows
        )
        left = max(0, cost_total - self.cost_done)
        eta = elapsed / self.cost_done * left if self.cost_done else None
        tested = sum(w.oos is not None for w in self.windows)
        self.progress(WalkProgress(self.done, max(total, self.done), elapsed, eta, tested))


def _bars(bars: slice) -> int:
    return max(1, (bars.stop or 0) - (bars.start or 0))


def _executor(run: RunFn, processes: int | None, jobs: int) -> TrialExecutor:
    workers = (os.cpu_count() or 1) if processes is None else processes
    if workers < 1:
        raise ValueError(f"processes must be at least 1, got {processes}")
    workers = min(workers, jobs)
    if workers > 1:
        return ProcessPoolTrials(run, workers)
    return InlineExecutor(run)


def walk_forward(
    run: RunFn,
    candidates: Sequence[Params] | SearchFactory,
    windows: Sequence[Window],
    *,
    metric: str = "sharpe",
    maximize: bool = True,
    processes: int | None = None,
    executor: TrialExecutor | None = None,
    progress: Callable[[int, int], None] | None = None,
    status: Callable[[WalkProgress], None] | None = None,
) -> WalkForwardResult:
    """Optimise on each train window by `metric`; test the winner on its test window.

    `run(params, bars)` backtests one parameter set on the bars of the slice (it may read bars
    before `bars.start` to warm indicators up, never after `bars.stop`) and returns its
    statistics. `candidates` is the list every window tries (grid or random search), or a
    factory of a `CandidateSearch` per window (e.g. Optuna). `metric` is a numeric
    `BacktestStats` field; `maximize=False` for metrics where lower is better (e.g.
    `volatility_ann_pct`). Ties go to the earlier candidate.

    The backtests run on `executor`, or on a local process pool of `processes` workers
    (None: every CPU; 1: inline in this process). Results do not depend on where they ran.
    `progress(done, total)` is called after each backtest, `status` with the measured ETA too.
    Ctrl-C (KeyboardInterrupt) stops at once: the windows already tested are returned, marked
    `interrupted`; with none tested the KeyboardInterrupt propagates.
    """
    if not windows:
        raise ValueError("no walk-forward windows: the data is shorter than train + test")
    if metric not in BacktestStats.__dataclass_fields__:
        raise ValueError(f"unknown metric {metric!r}")
    if callable(candidates):
        factory: SearchFactory = candidates
    else:
        if not candidates:
            raise ValueError("no candidate parameters to try")
        fixed = list(candidates)
        factory = functools.partial(_grid_search, fixed)
    states = [_Window(i, w, factory(i)) for i, w in enumerate(windows)]
    total = sum(s.search.trials + 1 for s in states)
    pool = executor if executor is not None else _executor(run, processes, total)

    def report(p: WalkProgress) -> None:
        if progress is not None:
            progress(p.done, p.total)
        if status is not None:
            status(p)

    walk = _Walk(pool, states, metric, maximize, report)
    interrupted = False
    try:
        walk.run()
    except KeyboardInterrupt:
        interrupted = True
        pool.close(abort=True)
        if not any(s.oos is not None for s in states):
            raise
    except BaseException:
        pool.close(abort=True)
        raise
    else:
        pool.close()
    tested = [s for s in states if s.oos is not None]
    return _result(tested, metric, maximize, trials=sum(len(s.trials) for s in tested),
                   windows_planned=len(windows), interrupted=interrupted)


def _grid_search(candidates: list[Params], window: int) -> CandidateSearch:
    return GridSearch(candidates)


def _result(
    done: list[_Window],
    metric: str,
    maximize: bool,
    *,
    trials: int,
    windows_planned: int,
    interrupted: bool,
) -> WalkForwardResult:
    """The result over the windows tested (all, unless interrupted)."""
    sign = 1.0 if maximize else -1.0
    results = []
    for i, w in enumerate(done):
        assert w.best is not None and w.oos is not None
        params, is_stats = w.trials[w.best]
        is_value, oos_value = is_stats.metric(metric), w.oos.metric(metric)
        guard = window_overfit([s for _, s in w.trials], w.best)
        results.append(
            WindowResult(
                index=i,
                train=w.train,
                test=w.test,
                params=dict(params),
                in_sample=is_stats,
                out_of_sample=w.oos,
                is_metric=is_value,
                oos_metric=oos_value,
                degradation=sign * (is_value - oos_value),
                trial_metrics=tuple(s.metric(metric) for _, s in w.trials),
                deflated_sharpe=guard.deflated_sharpe,
                pbo=guard.pbo,
            )
        )
    in_summary = _summary([r.in_sample for r in results], metric)
    out_summary = _summary([r.out_of_sample for r in results], metric)
    is_mean, oos_mean = in_summary.metric_mean, out_summary.metric_mean
    degradation = sign * (is_mean - oos_mean)
    efficiency = oos_mean / is_mean if maximize and is_mean > 0 else math.nan
    degradation_pct = degradation / abs(is_mean) * 100.0 if is_mean else math.nan
    chosen = Counter(_params_key(r.params) for r in results)
    notes = _guard_warnings(is_mean, oos_mean, efficiency, trials, len(results), metric)
    dsr = mean_finite([r.deflated_sharpe for r in results])
    pbo = mean_finite([r.pbo for r in results])
    measured = sum(math.isfinite(r.deflated_sharpe) or math.isfinite(r.pbo) for r in results)
    notes += guard_notes(dsr, pbo, len(results), measured)
    if interrupted:
        notes.insert(0, f"interrupted: {len(results)} of {windows_planned} windows tested")
    return WalkForwardResult(
        metric=metric,
        maximize=maximize,
        candidates=max((len(w.trials) for w in done), default=0),
        trials=trials,
        windows=tuple(results),
        in_sample=in_summary,
        out_of_sample=out_summary,
        degradation=degradation,
        degradation_pct=degradation_pct,
        efficiency=efficiency,
        chosen_params=tuple(chosen.most_common()),
        warnings=tuple(notes),
        trade_now=dict(results[-1].params),
        interrupted=interrupted,
        deflated_sharpe=dsr,
        pbo=pbo,
    )


def _params_key(params: Params) -> str:
    """Parameters as `fast=10 slow=20` (stable, for counting how often each set was chosen)."""
    return " ".join(f"{k}={v}" for k, v in params.items()) or "(defaults)"


def walk_forward_to_json(result: WalkForwardResult) -> dict[str, Any]:
    """The result as strict-JSON data: windows' slices as [start, stop], statistics as in
    `to_json` (without trade lists), NaN as null."""

    def window(r: WindowResult) -> dict[str, Any]:
        return {
            "index": r.index,
            "train": [r.train.start, r.train.stop],
            "test": [r.test.start, r.test.stop],
            "params": to_jsonable(r.params),
            "is_metric": r.is_metric,
            "oos_metric": r.oos_metric,
            "degradation": r.degradation,
            "trial_metrics": list(r.trial_metrics),
            "deflated_sharpe": r.deflated_sharpe,
            "pbo": r.pbo,
            "in_sample": to_jsonable(r.in_sample),
            "out_of_sample": to_jsonable(r.out_of_sample),
        }

    data: dict[str, Any] = {
        "metric": result.metric,
        "maximize": result.maximize,
        "candidates": result.candidates,
        "trials": result.trials,
        "in_sample": result.in_sample,
        "out_of_sample": result.out_of_sample,
        "degradation": result.degradation,
        "degradation_pct": result.degradation_pct,
        "efficiency": result.efficiency,
        "deflated_sharpe": result.deflated_sharpe,
        "pbo": result.pbo,
        "chosen_params": [{"params": k, "windows": v} for k, v in result.chosen_params],
        "warnings": list(result.warnings),
        "trade_now": result.trade_now,
        "interrupted": result.interrupted,
    }
    out: dict[str, Any] = to_jsonable(data)
    out["windows"] = [to_jsonable(window(r)) for r in result.windows]
    return out

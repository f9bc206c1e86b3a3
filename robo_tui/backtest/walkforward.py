"""Walk-forward optimisation: pick parameters in-sample, judge them out-of-sample.

For each rolling (train, test) window every candidate parameter set is backtested on the train
bars; the best by `metric` is then backtested on the following, unseen test bars. In-sample and
out-of-sample figures are kept apart, and the result reports how many trials were run and how much
the metric degraded out of sample: the guard against picking parameters that only fit the noise.

Runs spread over CPU cores with a spawn-context process pool, so `run` must be a picklable
top-level function (a module-level `def`, or a `functools.partial` of one).
"""

from __future__ import annotations

import itertools
import math
import multiprocessing
import os
import pickle
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from statistics import median
from typing import Any

import numpy as np

from robo_tui.backtest.stats import BacktestStats
from robo_tui.domain.frozen import frozen
from robo_tui.domain.serialize import to_jsonable

Params = dict[str, Any]
RunFn = Callable[[Params, slice], BacktestStats]
Window = tuple[slice, slice]


# --------------------------------------------------------------------------- search spaces


def _axes(spec: Mapping[str, Sequence[Any]]) -> list[tuple[str, list[Any]]]:
    axes = []
    for name, values in spec.items():
        if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
            raise TypeError(f"parameter {name!r}: give a sequence of values, not {values!r}")
        listed = list(values)
        if not listed:
            raise ValueError(f"parameter {name!r} has no values")
        axes.append((name, listed))
    return axes


def param_grid(
    spec: Mapping[str, Sequence[Any]],
    *,
    constraint: Callable[[Params], bool] | None = None,
) -> list[Params]:
    """Every combination of the values in `spec`, in spec order (the last key varies fastest).

    `constraint` drops combinations it returns False for (e.g. `lambda p: p["fast"] < p["slow"]`).
    An empty spec gives one candidate, the empty dict (the strategy's defaults).
    """
    axes = _axes(spec)
    names = [name for name, _ in axes]
    grid = [
        dict(zip(names, combo, strict=True)) for combo in itertools.product(*(v for _, v in axes))
    ]
    return [p for p in grid if constraint is None or constraint(p)]


def random_search(
    spec: Mapping[str, Sequence[Any]],
    n: int,
    seed: int,
    *,
    constraint: Callable[[Params], bool] | None = None,
) -> list[Params]:
    """`n` distinct combinations of `spec` drawn at random (reproducible for a given seed).

    Draws without replacement from the full grid, so huge grids are never materialised (unless a
    `constraint` is given); returns the whole grid, shuffled, when it has `n` or fewer points.
    """
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    rng = np.random.default_rng(seed)
    if constraint is not None:
        grid = param_grid(spec, constraint=constraint)
        order = rng.permutation(len(grid))[:n]
        return [grid[int(i)] for i in order]
    axes = _axes(spec)
    sizes = [len(values) for _, values in axes]
    total = math.prod(sizes)
    picks = rng.choice(total, size=min(n, total), replace=False)
    result = []
    for flat in picks.tolist():
        params: Params = {}
        for (name, values), size in zip(reversed(axes), reversed(sizes), strict=True):
            flat, digit = divmod(flat, size)
            params[name] = values[digit]
        result.append({name: params[name] for name, _ in axes})
    return result


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
    `warnings` says in words when the guard trips.
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


# --------------------------------------------------------------------------- running


def _call(job: tuple[RunFn, Params, slice]) -> BacktestStats:
    run, params, bars = job
    return run(params, bars)


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
) -> tuple[str, ...]:
    notes = []
    if math.isfinite(efficiency) and efficiency < 0.5:
        notes.append(f"out-of-sample {metric} is {efficiency:.0%} of in-sample: likely overfit")
    if math.isfinite(is_mean) and math.isfinite(oos_mean) and is_mean > 0 >= oos_mean:
        notes.append(f"in-sample {metric} is positive but out-of-sample is not")
    if windows and trials / windows > 100:
        notes.append(
            f"{trials // windows} candidates per window: the in-sample best is partly luck"
        )
    return tuple(notes)


def _mapped(
    executor: Executor | None, jobs: list[tuple[RunFn, Params, slice]], workers: int
) -> Iterator[BacktestStats]:
    if executor is None:
        return map(_call, jobs)
    chunk = max(1, len(jobs) // (workers * 4))
    return executor.map(_call, jobs, chunksize=chunk)


def walk_forward(
    run: RunFn,
    candidates: Sequence[Params],
    windows: Sequence[Window],
    *,
    metric: str = "sharpe",
    maximize: bool = True,
    processes: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> WalkForwardResult:
    """Optimise `candidates` on each train window by `metric`; test the winner on its test window.

    `run(params, bars)` backtests one parameter set on the bars of the slice (it may read bars
    before `bars.start` to warm indicators up, never after `bars.stop`) and returns its
    statistics. `metric` is a numeric `BacktestStats` field; `maximize=False` for metrics where
    lower is better (e.g. `volatility_ann_pct`). Ties go to the earlier candidate.
    `processes=None` uses every CPU, 1 runs inline in this process. `progress(done, total)` is
    called after each backtest. Results do not depend on `processes`.
    """
    if not candidates:
        raise ValueError("no candidate parameters to try")
    if not windows:
        raise ValueError("no walk-forward windows: the data is shorter than train + test")
    if metric not in BacktestStats.__dataclass_fields__:
        raise ValueError(f"unknown metric {metric!r}")
    workers = (os.cpu_count() or 1) if processes is None else processes
    if workers < 1:
        raise ValueError(f"processes must be at least 1, got {processes}")
    workers = min(workers, len(windows) * len(candidates))
    if workers > 1:
        try:
            pickle.dumps(run)
        except (pickle.PicklingError, AttributeError, TypeError) as exc:
            raise TypeError(
                "run must be a picklable top-level function to use a process pool "
                f"(or pass processes=1): {exc}"
            ) from exc

    train_jobs = [(run, dict(p), w[0]) for w in windows for p in candidates]
    total = len(train_jobs) + len(windows)
    done = 0

    def tick() -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, total)

    executor: ProcessPoolExecutor | None = None
    if workers > 1:
        executor = ProcessPoolExecutor(
            max_workers=workers, mp_context=multiprocessing.get_context("spawn")
        )
    try:
        trial_stats: list[BacktestStats] = []
        for stats in _mapped(executor, train_jobs, workers):
            trial_stats.append(stats)
            tick()
        n = len(candidates)
        best: list[tuple[int, BacktestStats, tuple[float, ...]]] = []
        for w in range(len(windows)):
            block = trial_stats[w * n : (w + 1) * n]
            scores = [_score(s, metric, maximize) for s in block]
            pick = int(np.argmax(scores))
            best.append((pick, block[pick], tuple(s.metric(metric) for s in block)))
        test_jobs = [
            (run, dict(candidates[pick]), w[1])
            for (pick, _, _), w in zip(best, windows, strict=True)
        ]
        oos_stats: list[BacktestStats] = []
        for stats in _mapped(executor, test_jobs, workers):
            oos_stats.append(stats)
            tick()
    finally:
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)

    sign = 1.0 if maximize else -1.0
    results = []
    for i, ((pick, is_stats, trials), (train, test), oos) in enumerate(
        zip(best, windows, oos_stats, strict=True)
    ):
        is_value, oos_value = is_stats.metric(metric), oos.metric(metric)
        results.append(
            WindowResult(
                index=i,
                train=train,
                test=test,
                params=dict(candidates[pick]),
                in_sample=is_stats,
                out_of_sample=oos,
                is_metric=is_value,
                oos_metric=oos_value,
                degradation=sign * (is_value - oos_value),
                trial_metrics=trials,
            )
        )
    in_summary = _summary([r.in_sample for r in results], metric)
    out_summary = _summary([r.out_of_sample for r in results], metric)
    is_mean, oos_mean = in_summary.metric_mean, out_summary.metric_mean
    degradation = sign * (is_mean - oos_mean)
    efficiency = oos_mean / is_mean if maximize and is_mean > 0 else math.nan
    degradation_pct = degradation / abs(is_mean) * 100.0 if is_mean else math.nan
    chosen = Counter(_params_key(r.params) for r in results)
    return WalkForwardResult(
        metric=metric,
        maximize=maximize,
        candidates=len(candidates),
        trials=len(train_jobs),
        windows=tuple(results),
        in_sample=in_summary,
        out_of_sample=out_summary,
        degradation=degradation,
        degradation_pct=degradation_pct,
        efficiency=efficiency,
        chosen_params=tuple(chosen.most_common()),
        warnings=_guard_warnings(
            is_mean, oos_mean, efficiency, len(train_jobs), len(windows), metric
        ),
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
        "chosen_params": [{"params": k, "windows": v} for k, v in result.chosen_params],
        "warnings": list(result.warnings),
    }
    out: dict[str, Any] = to_jsonable(data)
    out["windows"] = [to_jsonable(window(r)) for r in result.windows]
    return out

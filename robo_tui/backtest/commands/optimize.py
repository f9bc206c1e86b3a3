"""`robo-tui backtest --optimize`: walk-forward optimisation over --grid values (or --random draws).

Each window's backtests warm the strategies up on the bars before the window (`run_window`), the
progress bar's time left is measured per bar backtested, and Ctrl-C stops at once: the windows
tested so far are reported, written and stored (exit code 130). The report ends with the
parameters to trade now (the latest window's choice).
"""

from __future__ import annotations

import functools
from dataclasses import replace

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from robo_tui.backtest.arguments import BacktestRequest, UsageProblem, WalkForwardRequest
from robo_tui.backtest.commands.console import INTERRUPTED, stderr, stdout, write_json
from robo_tui.backtest.commands.inputs import prepare, setup_message
from robo_tui.backtest.commands.storage import store_run
from robo_tui.backtest.executors import RunFn, TrialExecutor
from robo_tui.backtest.report import render_walk_forward
from robo_tui.backtest.results import SliceJob, job_bars, spec_with, timeline_length, voter_names
from robo_tui.backtest.runner import BacktestSetupError, backtest_settings
from robo_tui.backtest.stats import numeric_stat_names
from robo_tui.backtest.walkforward import (
    Params,
    SearchFactory,
    WalkForwardResult,
    WalkProgress,
    Window,
    param_grid,
    random_search,
    rolling_windows,
    walk_forward,
    walk_forward_to_json,
)
from robo_tui.backtest.window_run import run_window, run_window_on
from robo_tui.config import Settings
from robo_tui.domain.market import BarArrays
from robo_tui.runtime import RunOptions

DEFAULT_TRIALS = 50
"""Optuna trials per train window when --trials is not given."""

LOWER_IS_BETTER = frozenset({"volatility_ann_pct", "max_drawdown_duration_days"})
"""Metrics where a lower value is better (walk-forward ranks them ascending)."""

def optimize(options: RunOptions, request: BacktestRequest, wf: WalkForwardRequest) -> int:
    """Walk-forward optimisation: rank the candidates on each train window, score the best on
    the next test window; report, --json, store; the exit code."""
    _check(request, wf)
    base, spec, bars, run_settings = prepare(options, request)
    targets = grid_targets(wf.grid, request.strategies, run_settings)
    strategies = _strategies_to_run(request, targets, run_settings)
    job = SliceJob(settings=base, spec=replace(spec, strategies=strategies),
                   paths=tuple(str(p) for p in request.data),
                   symbols=tuple(request.symbols) if request.symbols else None,
                   start=request.start, end=request.end, targets=tuple(targets.items()))
    symbols = list(bars)
    err = stderr()
    valid = _Validity(base, symbols, job)
    candidates: list[Params] | SearchFactory
    if wf.search == "optuna":
        candidates = _searches(wf, valid)
        what = f"{wf.trials or DEFAULT_TRIALS} Optuna trials"
    else:
        candidates = _candidates(wf, valid, err)
        what = f"{len(candidates)} candidates"
    n = timeline_length(bars)
    test = wf.test or max(2, n // 6)
    train = wf.train or 2 * test
    windows = rolling_windows(n, train, test, anchored=wf.anchored)
    if not windows:
        raise UsageProblem(f"the data has {n:,} bars: --train {train} + --test {test} do not fit")
    err.print(f"Walk-forward: {what} × {len(windows)} windows "
              f"(train {train:,}, test {test:,} bars) on {n:,} bars, ranked by {wf.metric} …",
              highlight=False)
    try:
        result = _walk(job, candidates, windows, wf, err, request.progress,
                       cluster=wf.cluster or base.backtest.cluster or None, bars=bars)
        if wf.search == "optuna":
            valid.report(err)
    except KeyboardInterrupt:
        err.print("[red]Walk-forward interrupted before its first window was tested; "
                  "nothing stored.[/]")
        return INTERRUPTED
    if result.interrupted:
        err.print(f"[yellow]Interrupted: reporting the {len(result.windows)} window(s) "
                  "tested.[/]")
    console = stdout()
    render_walk_forward(result, console=console)
    console.print(f"trade now: {params_text(result.trade_now)}", highlight=False)
    data = walk_forward_to_json(result)
    if request.json_path is not None:
        write_json(request.json_path, data)
        console.print(f"JSON written to {request.json_path}", highlight=False)
    params = request.params(symbols, options.config)
    params.update(kind="walk_forward", grid=wf.grid, random=wf.random, seed=wf.seed,
                  search=wf.search, trials=wf.trials,
                  train=train, test=test, anchored=wf.anchored, metric=wf.metric,
                  strategy_names=" ".join(strategies), fixed_params=strategies)
    code = store_run(options, base, {"params": params, "stats": data, "trades": [], "equity": []})
    return INTERRUPTED if result.interrupted and code == 0 else code


def params_text(params: Params) -> str:
    """Parameters as `fast=10 slow=30` (the strategy's defaults when empty)."""
    return " ".join(f"{k}={v}" for k, v in params.items()) or "(the strategy's defaults)"


def _check(request: BacktestRequest, wf: WalkForwardRequest) -> None:
    """The options --optimize needs or cannot take."""
    if not wf.grid:
        raise UsageProblem("--optimize needs at least one --grid key=v1,v2,...")
    if request.html_path is not None:
        raise UsageProblem("--html is for a single backtest; --optimize writes --json")
    if request.news:
        raise UsageProblem("--news is not replayed during --optimize")
    if wf.metric not in numeric_stat_names():
        raise UsageProblem(f"--metric {wf.metric}: not a statistic; use one of "
                           f"{', '.join(numeric_stat_names())}")


def grid_targets(grid: dict[str, list[str]], strategies: dict[str, dict[str, str]] | None,
                 settings: Settings) -> dict[str, str]:
    """Each --grid key as `strategy.param` (a bare key belongs to the one --strategy, or to the
    only enabled strategy that has such a parameter)."""
    sections = settings.strategies.model_dump()
    named = list(strategies or {}) or list(voter_names(settings))
    out: dict[str, str] = {}
    for key in grid:
        if "." in key:
            name, param = key.split(".", 1)
        else:
            owners = [n for n in named if key in sections.get(n, {})]
            if len(owners) != 1:
                where = "none of" if not owners else "several of"
                raise UsageProblem(f"--grid {key}: {where} {', '.join(named) or 'the strategies'}"
                                   f" has it; write STRATEGY.{key}")
            name, param = owners[0], key
        if name not in sections:
            raise UsageProblem(f"--grid {key}: unknown strategy {name}; known: "
                               f"{', '.join(sections)}")
        if param in ("enabled",) or param not in sections[name]:
            known = ", ".join(k for k in sections[name] if k != "enabled")
            raise UsageProblem(f"--grid {key}: strategy {name} has no parameter {param!r}; "
                               f"parameters: {known}")
        out[key] = f"{name}.{param}"
    return out


def _strategies_to_run(request: BacktestRequest, targets: dict[str, str],
                       settings: Settings) -> dict[str, dict[str, str]]:
    """The --strategy params, plus every strategy a --grid key optimises (optimising a
    strategy's params runs that strategy), plus the config's voters when none was named."""
    strategies = dict(request.strategies or {})
    for target in targets.values():
        strategies.setdefault(target.split(".", 1)[0], {})
    if request.strategies is None:
        for name in voter_names(settings):
            strategies.setdefault(name, {})
    return strategies


class _Validity:
    """Whether the settings accept a combination; the refused ones kept to sum up in a line."""

    def __init__(self, base: Settings, symbols: list[str], job: SliceJob) -> None:
        self.base, self.symbols, self.job = base, symbols, job
        self.refused: list[tuple[Params, str]] = []

    def __call__(self, params: Params) -> bool:
        try:
            backtest_settings(self.base, self.symbols, spec_with(self.job, params))
        except BacktestSetupError as exc:
            self.refused.append((params, setup_message(exc)))
            return False
        return True

    def report(self, err: Console) -> None:
        """One line however many were refused, the first as the example."""
        if self.refused:
            example, reason = self.refused[0]
            err.print(f"Skipped {len(self.refused)} invalid combination(s) the settings refuse, "
                      f"e.g. {params_text(example)}: {reason}", highlight=False, soft_wrap=True)


def _candidates(wf: WalkForwardRequest, valid: _Validity, err: Console) -> list[Params]:
    """The grid or random candidates the settings accept (the refused summed up on err)."""
    if wf.random is not None:
        candidates = random_search(wf.grid, wf.random, wf.seed, constraint=valid)
    else:
        candidates = param_grid(wf.grid, constraint=valid)
    valid.report(err)
    if not candidates:
        raise UsageProblem("no valid parameter combination in the --grid")
    return candidates


def _searches(wf: WalkForwardRequest, valid: _Validity) -> SearchFactory:
    """One Optuna search per window over the --grid values (the extra checked now)."""
    from robo_tui.backtest.optuna_search import MissingExtraError, optuna_searches

    try:
        return optuna_searches(wf.grid, wf.trials or DEFAULT_TRIALS, wf.seed, constraint=valid)
    except MissingExtraError as exc:
        raise UsageProblem(str(exc)) from None


def cluster_executor(run: RunFn, address: str, err: Console) -> TrialExecutor:
    """The Dask cluster at `address` as the trials' executor (bad address, unreachable
    scheduler or missing extra: a usage problem naming it)."""
    from robo_tui.backtest.executors import ClusterUnreachable, DaskTrials, MissingClusterExtra

    if not address.startswith(("tcp://", "tls://", "inproc://", "ws://", "wss://", "ucx://")):
        raise UsageProblem(f"--cluster {address}: name a Dask scheduler as tcp://host:port")
    try:
        executor = DaskTrials(run, address)
    except (MissingClusterExtra, ClusterUnreachable) as exc:
        raise UsageProblem(str(exc)) from None
    err.print(f"Trials on the Dask cluster at {address} ({executor.capacity} worker threads)",
              highlight=False)
    return executor


def _walk(job: SliceJob, candidates: list[Params] | SearchFactory, windows: list[Window],
          wf: WalkForwardRequest, err: Console, show: bool | None, *,
          cluster: str | None = None,
          bars: dict[str, BarArrays] | None = None) -> WalkForwardResult:
    """The walk-forward itself, with a progress bar (measured time left) on a terminal; on the
    Dask cluster at `cluster` when one is named (the loaded `bars` are scattered to it once)."""
    run: RunFn = functools.partial(run_window, job)
    executor: TrialExecutor | None = None
    if cluster:
        loaded = bars if bars is not None else job_bars(job)
        executor = cluster_executor(functools.partial(run_window_on, loaded, job), cluster, err)
    maximize = wf.metric not in LOWER_IS_BETTER
    if not (err.is_terminal if show is None else show):
        return walk_forward(run, candidates, windows, metric=wf.metric, maximize=maximize,
                            processes=wf.processes, executor=executor)
    per_window = (wf.trials or DEFAULT_TRIALS) if callable(candidates) else len(candidates)
    total = (per_window + 1) * len(windows)
    columns = (TextColumn("Walk-forward"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn(), TextColumn("{task.fields[eta]}"))
    with Progress(*columns, console=err, transient=True) as progress:
        task = progress.add_task("wf", total=total, eta="time left: measuring…")

        def tick(status: WalkProgress) -> None:
            progress.update(task, completed=status.done, total=status.total,
                            eta=f"time left: {eta_text(status.eta_s)}")

        return walk_forward(run, candidates, windows, metric=wf.metric, maximize=maximize,
                            processes=wf.processes, executor=executor, status=tick)


def eta_text(seconds: float | None) -> str:
    """Seconds left as `1:02:03` (`measuring…` before the first backtest finished)."""
    if seconds is None:
        return "measuring…"
    whole = round(seconds)
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"

"""One walk-forward backtest: a candidate's parameters on a window of the timeline, with the
strategies' indicators warmed up on the bars before the window.

The engine replays the warm-up bars and the window together, but the bars before the window
only feed the indicators (`BacktestDriver(trade_from=...)`): no decision and no order falls in
them, and nothing after the window is read, so there is no look-ahead. Every candidate can
therefore act on the window's first bar, whatever its slowest indicator; the statistics cover
the window alone (buy-and-hold from its first bar).
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

from robo_tui.backtest.results import (
    InputError,
    SliceJob,
    analyse,
    job_bars,
    slice_bars,
    spec_with,
    warmup_bars,
)
from robo_tui.backtest.runner import BacktestSpec, backtest_settings
from robo_tui.backtest.stats import BacktestStats, compute_stats
from robo_tui.config import Settings
from robo_tui.domain.market import BarArrays, FloatArray
from robo_tui.engine.backtest import BacktestDriver, BacktestResult, BacktestTrade
from robo_tui.wiring import build_backtest_engine

_NO_LIMIT = 1 << 62


def warmup_needed(settings: Settings) -> int:
    """Bars the run needs before its first decision: the slowest voting strategy's warm-up, and
    the recent bars sizing and the risk gate read (the driver's market window)."""
    strategies = warmup_bars(settings, _NO_LIMIT) + 1
    market = max(settings.engine.warmup_bars, settings.risk.correlation_window + 2)
    return max(strategies, market)


def run_window(job: SliceJob, params: dict[str, Any], bars: slice) -> BacktestStats:
    """Backtest the candidate `params` on the timeline bars `bars`, warmed up on the bars before.

    A top-level function so that `functools.partial(run_window, job)` pickles into a spawned
    worker (the job's bars are loaded once per worker); each call runs its own event loop.
    """
    return run_window_on(job_bars(job), job, params, bars)


def run_window_on(data: dict[str, BarArrays], job: SliceJob, params: dict[str, Any],
                  bars: slice) -> BacktestStats:
    """`run_window` on bars already loaded: `functools.partial(run_window_on, data, job)` is
    what a cluster receives once (its workers need not see the job's files)."""
    start = 0 if bars.start is None else bars.start
    spec = spec_with(job, params)
    settings = backtest_settings(job.settings, list(data), spec)
    lead = min(start, warmup_needed(settings))
    extended = slice_bars(data, slice(start - lead, bars.stop))
    window = slice_bars(data, bars)
    if not window:
        raise InputError(f"no bars in window {bars.start}..{bars.stop}")
    result = asyncio.run(_replay(settings, extended, spec, lead))
    cut = _cut(result, lead)
    outcome = analyse(cut, settings, window, fill=spec.fill, compat=spec.compat,
                      commission=spec.commission)
    closes = {s: c for s, c in cut.closes.items() if s in window}
    close: FloatArray | dict[str, FloatArray] | None
    close = next(iter(closes.values())) if len(closes) == 1 else closes or None
    return compute_stats(
        equity=outcome.equity,
        index=outcome.index,
        trades=outcome.trades,
        close=close,
        warmup_bars=0,  # warmed before the window: buy-and-hold from its first bar
        open_trades=outcome.open_trades,
    )


async def _replay(
    settings: Settings, data: dict[str, BarArrays], spec: BacktestSpec, lead: int
) -> BacktestResult:
    """The engine over `data`, deciding from timeline bar `lead` on."""
    rig = build_backtest_engine(settings, data, commission=spec.commission)
    engine = rig.engine
    await engine.broker.connect()
    await engine.orders.refresh_account()
    result = await BacktestDriver(rig, data, trade_from=lead, reenter=spec.compat).run()
    await engine.broker.close()
    if engine.intelligence is not None:
        await engine.intelligence.close()
    return result


def _cut(result: BacktestResult, lead: int) -> BacktestResult:
    """The run without its first `lead` (warm-up) bars: bar indices shifted to the window's."""
    if lead == 0:
        return result
    trades = [
        BacktestTrade(t.trade, t.entry_bar - lead, t.exit_bar - lead)
        for t in result.trades
        if t.entry_bar >= lead
    ]
    return replace(
        result,
        index=result.index[lead:],
        equity=result.equity[lead:],
        closes={s: c[lead:] for s, c in result.closes.items()},
        trades=trades,
    )

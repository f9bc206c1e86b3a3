"""Time backtesting.py and robo-tui's full engine path on the same backtests, in one run.

1. GOOG (backtesting.py's own data), the README SMA(10)/SMA(20) reversal, cash 10,000,
   commission 0.002, exclusive orders; robo-tui in compat mode.
2. The same on a 100,000-bar series: GOOG tiled as hourly bars from 2004 (well inside int64
   nanoseconds), the tiles chained by returns (drift removed, moves scaled to an hourly size) so
   prices continue instead of jumping. Trades are checked to be identical in both engines.
3. A 20-symbol x 5,000-bar portfolio through robo-tui with the config's risk profile (the three
   default strategies, ensemble, fixed-fractional sizing with ATR stops, every risk limit).

Prints bars per second and ratios; no thresholds. Run:
    .venv/bin/python tests/bench/bench_backtest.py
"""

from __future__ import annotations

import asyncio
import os
import platform
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from backtesting import Backtest, Strategy
from backtesting.lib import crossover
from backtesting.test import GOOG, SMA
from bench_engine import engine_build  # a sibling script: tests/bench is the script's directory

from robo_tui.backtest.results import RunOutcome, analyse
from robo_tui.backtest.runner import BacktestSpec, run_backtest
from robo_tui.config import Settings
from robo_tui.domain.market import BarArrays

TILED_BARS = 100_000
PORTFOLIO_SYMBOLS = 20
PORTFOLIO_BARS = 5_000


class SmaCross(Strategy):  # type: ignore[misc]
    """backtesting.py's README strategy."""

    def init(self) -> None:
        self.ma1 = self.I(SMA, self.data.Close, 10)
        self.ma2 = self.I(SMA, self.data.Close, 20)

    def next(self) -> None:
        if crossover(self.ma1, self.ma2):
            self.buy()
        elif crossover(self.ma2, self.ma1):
            self.sell()


def tiled_goog(n: int) -> pd.DataFrame:
    """GOOG's bars repeated to `n` as hourly bars, chained close to close.

    Each daily move is scaled to an hourly one (log returns and the open/high/low offsets times
    1/sqrt(6.5), a 6.5-hour session) and the drift is taken out, so every tile ends at the level
    it started from. Unscaled, the strategy's edge on GOOG compounds the all-in equity to ~1e27
    over 47 tiles, beyond any meaningful order size.
    """
    scale = 1.0 / np.sqrt(6.5)
    base = GOOG[["Open", "High", "Low", "Close", "Volume"]].to_numpy(dtype=np.float64)
    close = base[:, 3]
    log_ret = np.diff(np.log(close), prepend=np.log(close[0]))
    log_ret[1:] -= log_ret[1:].mean()
    log_ret *= scale
    rel = np.exp(np.log(base[:, :3] / close[:, None]) * scale)  # open/high/low vs the close
    tiles = -(-n // len(base))
    steps = np.tile(log_ret, tiles)[:n]
    steps[0] = 0.0
    closes = close[0] * np.exp(np.cumsum(steps))
    ohl = np.tile(rel, (tiles, 1))[:n] * closes[:, None]
    index = pd.date_range("2004-01-01", periods=n, freq="h")
    return pd.DataFrame({"Open": ohl[:, 0], "High": ohl[:, 1], "Low": ohl[:, 2],
                         "Close": closes, "Volume": np.tile(base[:, 4], tiles)[:n]}, index=index)


def bars_of(symbol: str, frame: pd.DataFrame) -> BarArrays:
    index = pd.DatetimeIndex(frame.index)
    ts = (index.tz_localize("UTC") if index.tz is None else index).as_unit("ns").asi8
    return BarArrays(symbol, ts.astype(np.int64),
                     *(frame[c].to_numpy(dtype=np.float64)
                       for c in ("Open", "High", "Low", "Close", "Volume")))


def portfolio(symbols: int, n: int, seed: int = 20) -> dict[str, BarArrays]:
    """Seeded daily bars with trending regimes and volatility clusters, one series per symbol."""
    rng = np.random.default_rng(seed)
    ts = pd.bdate_range("2000-01-03", periods=n).tz_localize("UTC").as_unit("ns").asi8
    out = {}
    for k in range(symbols):
        drift = np.repeat(rng.choice([-1.0, 1.0], size=n // 150 + 1), 150)[:n] * 0.0008
        vol = 0.01 + 0.01 * np.abs(np.sin(np.arange(n) / 90.0 + k))
        close = rng.uniform(20, 400) * np.exp(np.cumsum(drift + rng.normal(0, 1, n) * vol))
        open_ = np.r_[close[0], close[:-1]] * np.exp(rng.normal(0, 0.002, n))
        high = np.maximum(open_, close) * (1 + rng.uniform(0, 0.01, n))
        low = np.minimum(open_, close) * (1 - rng.uniform(0, 0.01, n))
        symbol = f"S{k:02d}"
        out[symbol] = BarArrays(symbol, ts.astype(np.int64), open_, high, low, close,
                                np.full(n, 1e6))
    return out


def interleaved(fns: dict[str, Callable[[], Any]], repeats: int) -> dict[str, tuple[float, list[Any]]]:
    """Each function's fastest wall time over `repeats` rounds (after one warm-up call each) and
    every call's result. Rounds interleave the functions, so a busy machine slows them alike."""
    results: dict[str, list[Any]] = {name: [fn()] for name, fn in fns.items()}
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            results[name].append(fn())
            times[name].append(time.perf_counter() - t0)
    return {name: (min(times[name]), results[name]) for name in fns}


def peer(frame: pd.DataFrame) -> pd.Series:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Backtest(frame, SmaCross, cash=10_000, commission=0.002,
                        exclusive_orders=True).run()


SMA_SPEC = BacktestSpec(cash=10_000, commission=0.002, compat=True,
                        strategies={"sma_cross": {"fast": "10", "slow": "20"}})


def robo(data: dict[str, BarArrays], spec: BacktestSpec, stats: bool) -> RunOutcome | Any:
    result, settings = asyncio.run(run_backtest(Settings(), data, spec))
    return analyse(result, settings, data) if stats else result


def same_trades(stats: pd.Series, outcome: RunOutcome) -> bool:
    t = stats._trades
    theirs = list(zip(t.EntryBar.astype(int), t.ExitBar.astype(int), t.Size.astype(float),
                      t.EntryPrice.astype(float), t.ExitPrice.astype(float), strict=True))
    ours = [(x.entry_bar, x.exit_bar, x.size, x.entry_price, x.exit_price)
            for x in outcome.trades]
    if len(theirs) != len(ours):
        return False
    return all(a[:3] == b[:3] and np.allclose(a[3:], b[3:], rtol=1e-9)
               for a, b in zip(theirs, ours, strict=True))


def compare(label: str, frame: pd.DataFrame, repeats: int) -> None:
    n = len(frame)
    data = {"GOOG": bars_of("GOOG", frame)}
    timed = interleaved({
        "peer": lambda: peer(frame),
        "engine": lambda: robo(data, SMA_SPEC, stats=False),
        "full": lambda: robo(data, SMA_SPEC, stats=True),
    }, repeats)
    (t_peer, peers), (t_engine, _), (t_full, outcomes) = timed["peer"], timed["engine"], timed["full"]
    stats, outcome = peers[-1], outcomes[-1]
    identical = sum(same_trades(stats, o) for o in outcomes)
    print(f"\n{label}: {n:,} bars, {stats['# Trades']} trades (backtesting.py) vs "
          f"{outcome.stats.trades} (robo-tui); identical trades in {identical} of "
          f"{len(outcomes)} robo-tui runs; return {stats['Return [%]']:.6f}% vs "
          f"{outcome.stats.return_pct:.6f}%")
    rows = (
        ("backtesting.py Backtest.run() (incl. stats)", t_peer),
        ("robo-tui engine path (run_backtest)", t_engine),
        ("robo-tui engine path + trades + stats", t_full),
    )
    for name, t in rows:
        print(f"  {name:<46} {t * 1e3:10.1f} ms  {n / t:>12,.0f} bars/s  "
              f"x{t_peer / t:6.2f} vs backtesting.py")


def main() -> None:
    print(f"bench_backtest · {time.strftime('%Y-%m-%d')} · {platform.processor() or platform.machine()}"
          f" · {os.cpu_count()} CPUs · Python {platform.python_version()} · "
          f"numpy {np.__version__} · pandas {pd.__version__} · engine {engine_build()}")
    compare("GOOG daily (backtesting.py's data)", GOOG, repeats=15)
    compare("GOOG tiled, hourly", tiled_goog(TILED_BARS), repeats=3)

    data = portfolio(PORTFOLIO_SYMBOLS, PORTFOLIO_BARS)
    spec = BacktestSpec(cash=1_000_000, commission=0.0005, compat=False)
    total = PORTFOLIO_SYMBOLS * PORTFOLIO_BARS
    timed = interleaved({"engine": lambda: robo(data, spec, stats=False),
                         "full": lambda: robo(data, spec, stats=True)}, 2)
    (t_engine, results), (t_full, outcomes) = timed["engine"], timed["full"]
    result, outcome = results[-1], outcomes[-1]
    print(f"\nPortfolio: {PORTFOLIO_SYMBOLS} symbols x {PORTFOLIO_BARS:,} daily bars = {total:,} "
          f"bars, config risk profile, strategies {', '.join(outcome.voters)}")
    print(f"  {result.proposals:,} proposals, {result.orders:,} orders, {result.denied:,} denied, "
          f"{outcome.stats.trades:,} closed trades, {result.events:,} bars visited, return "
          f"{outcome.stats.return_pct:.2f}%, max drawdown {outcome.stats.max_drawdown_pct:.2f}%")
    print(f"  {'robo-tui engine path (run_backtest)':<46} {t_engine * 1e3:10.1f} ms  "
          f"{total / t_engine:>12,.0f} bars/s")
    print(f"  {'robo-tui engine path + trades + stats':<46} {t_full * 1e3:10.1f} ms  "
          f"{total / t_full:>12,.0f} bars/s")


if __name__ == "__main__":
    main()

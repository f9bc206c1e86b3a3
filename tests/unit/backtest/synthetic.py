"""A seeded synthetic price series and a vectorised SMA-cross backtest over a slice of it.

Top-level and deterministic so that spawned worker processes rebuild the very same series.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np

from robo_tui.backtest.stats import BacktestStats, TradeRecord, compute_stats
from robo_tui.domain.market import FloatArray, IntArray

CASH = 10_000.0
COMMISSION = 0.001
N_BARS = 2_000
_DAY_NS = 86_400 * 10**9


def trending_prices(seed: int, n: int = N_BARS) -> FloatArray:
    """Log-normal prices whose drift flips sign every ~150 bars (trends an SMA cross can ride)."""
    rng = np.random.default_rng(seed)
    regimes = np.repeat(rng.choice([-1.0, 1.0], size=n // 150 + 1), 150)[:n]
    drift = regimes * 0.0015
    returns = drift + rng.normal(0.0, 0.012, size=n)
    prices: FloatArray = 100.0 * np.exp(np.cumsum(returns))
    return prices


def random_walk_prices(seed: int, n: int = N_BARS) -> FloatArray:
    """Driftless log-normal prices: no parameter set has a real edge here."""
    rng = np.random.default_rng(seed)
    prices: FloatArray = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.012, size=n)))
    return prices


def calendar_days(n: int = N_BARS) -> IntArray:
    """Daily timestamps (epoch ns) from 2015-01-01, weekends included."""
    start = int(datetime(2015, 1, 1, tzinfo=UTC).timestamp()) * 10**9
    stamps: IntArray = start + np.arange(n, dtype=np.int64) * _DAY_NS
    return stamps


TRENDING = trending_prices(seed=11)
RANDOM_WALK = random_walk_prices(seed=5)
INDEX = calendar_days()


def _sma(close: FloatArray, n: int) -> FloatArray:
    csum = np.cumsum(np.r_[0.0, close])
    out = np.full(close.size, np.nan)
    out[n - 1 :] = (csum[n:] - csum[:-n]) / n
    return out


def sma_cross_backtest(close: FloatArray, params: dict[str, Any], bars: slice) -> BacktestStats:
    """Long when SMA(fast) > SMA(slow), short when below; fills at the signal bar's close.

    Trade bars index the slice (bar 0 = `bars.start`), like the equity curve returned.
    Indicators use the whole series up to each bar (causal), so bars before `bars.start` warm
    them up; trading happens only inside `bars` and the position is closed on its last bar.
    All-in fractional sizing, `COMMISSION` of traded value on entry and on exit.
    """
    fast, slow = int(params["fast"]), int(params["slow"])
    start, stop = bars.start, bars.stop
    signal = np.sign(_sma(close, fast) - _sma(close, slow))[start:stop]
    signal = np.nan_to_num(signal, nan=0.0)
    signal[0] = signal[-1] = 0.0  # flat on the first bar (equity starts at CASH) and the last
    c = close[start:stop]
    changes = np.flatnonzero(np.diff(np.r_[0.0, signal]) != 0)
    equity = np.full(c.size, np.nan)
    equity[0] = CASH
    cash = CASH
    trades: list[TradeRecord] = []
    units, entry_k, entry_fee, entry_cash = 0.0, 0, 0.0, 0.0
    for k in changes.tolist():
        price = float(c[k])
        if units:
            exit_fee = COMMISSION * abs(units) * price
            equity[entry_k:k] = entry_cash + units * (c[entry_k:k] - c[entry_k])
            cash = entry_cash + units * (price - c[entry_k]) - exit_fee
            trades.append(
                TradeRecord.round_trip(
                    symbol="SYN",
                    size=units,
                    entry_bar=entry_k,
                    exit_bar=k,
                    entry_time=_time(start + entry_k),
                    exit_time=_time(start + k),
                    entry_price=float(c[entry_k]),
                    exit_price=price,
                    commission=entry_fee + exit_fee,
                    strategy="sma_cross",
                )
            )
            units = 0.0
        if signal[k]:
            units = signal[k] * cash / (price * (1 + COMMISSION))
            entry_fee = COMMISSION * abs(units) * price
            entry_cash = cash - entry_fee
            entry_k = k
        equity[k] = cash if not units else entry_cash
    # flat stretches keep the last cash value
    idx = np.where(np.isnan(equity), 0, np.arange(equity.size))
    equity = equity[np.maximum.accumulate(idx)]
    return compute_stats(
        equity=equity, index=INDEX[start:stop], trades=trades, close=c, warmup_bars=0
    )


def _time(i: int) -> datetime:
    return datetime.fromtimestamp(int(INDEX[i]) / 1e9, tz=UTC)


def run_trending(params: dict[str, Any], bars: slice) -> BacktestStats:
    """The walk-forward `run` function over the trending series."""
    return sma_cross_backtest(TRENDING, params, bars)


def run_random_walk(params: dict[str, Any], bars: slice) -> BacktestStats:
    """The walk-forward `run` function over the driftless series."""
    return sma_cross_backtest(RANDOM_WALK, params, bars)

"""Parity with backtesting.py beyond GOOG: its own hourly EURUSD, and generated series with ties,
flat stretches, repeated and reversed segments and gaps (issue 16, item 1).

backtesting.py's README strategy runs through backtesting.py and through robo-tui's compat mode
in the same test; trade lists (bars, prices, sizes) must be identical and P&L, returns and the
final equity equal to a relative 1e-9.

Re-entry: when the averages touch (equal on a bar) between two crosses in the same direction,
backtesting.py's second `buy()` closes the trade and opens a new one at the next open
(`exclusive_orders=True`). Compat mode does the same: the replay driver sends the exit and, once
it filled at that open, the entry, both through the order path and the gate
(robo_tui/engine/backtest.py, `reenter`). `test_..._with_a_reentry_...` shows it on a EURUSD
tiling, and the generator makes touches on purpose (flat stretches, `touch` segments).

When equity reaches 0 or less, backtesting.py closes every trade at that bar's close and stops
with zero equity; compat mode's analysis does the same (`analyse(compat=True)`), so generated
series where backtesting.py runs out of money are compared too, and
`test_parity_when_the_account_is_wiped_out_...` shows one.
"""

from __future__ import annotations

import asyncio
import math
import warnings

import numpy as np
import pandas as pd
import pytest
from backtesting import Backtest, Strategy
from backtesting.lib import crossover
from backtesting.test import EURUSD, SMA
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st

from robo_tui.backtest.checks import CheckLimits
from robo_tui.backtest.results import RunOutcome, analyse
from robo_tui.backtest.runner import BacktestSpec, run_backtest
from robo_tui.config import Settings
from robo_tui.domain.market import BarArrays

REL = 1e-9
pytestmark = pytest.mark.filterwarnings("ignore:DatetimeIndex.dayofweek")


def sma_cross(fast: int, slow: int) -> type[Strategy]:
    class SmaCross(Strategy):  # type: ignore[misc]
        """backtesting.py's README example with the given windows."""

        def init(self) -> None:
            self.ma1 = self.I(SMA, self.data.Close, fast)
            self.ma2 = self.I(SMA, self.data.Close, slow)

        def next(self) -> None:
            if crossover(self.ma1, self.ma2):
                self.buy()
            elif crossover(self.ma2, self.ma1):
                self.sell()

    return SmaCross


def peer_run(data: pd.DataFrame, fast: int, slow: int) -> pd.Series:
    bt = Backtest(data, sma_cross(fast, slow), cash=10_000, commission=0.002,
                  exclusive_orders=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bt.run()


def robo_run(data: pd.DataFrame, fast: int, slow: int) -> RunOutcome:
    ts = data.index.tz_localize("UTC").as_unit("ns").asi8.astype(np.int64)
    bars = {"SYN": BarArrays("SYN", ts, *(data[c].to_numpy(dtype=np.float64)
                                          for c in ("Open", "High", "Low", "Close", "Volume")))}
    spec = BacktestSpec(cash=10_000, commission=0.002, compat=True,
                        strategies={"sma_cross": {"fast": str(fast), "slow": str(slow)}},
                        limits=_no_ruin())
    result, run_settings = asyncio.run(run_backtest(Settings(), bars, spec))
    return analyse(result, run_settings, bars, limits=spec.limits, compat=True,
                   commission=spec.commission)


def _no_ruin() -> CheckLimits:
    return CheckLimits(ruin_fraction=0.0)  # backtesting.py trades on whatever is left


def reentries(peer: pd.Series) -> int:
    """Trades backtesting.py closed only to open the same direction again at the same bar."""
    t = peer._trades
    same_bar = t.ExitBar.to_numpy()[:-1] == t.EntryBar.to_numpy()[1:]
    same_way = np.sign(t.Size.to_numpy()[:-1]) == np.sign(t.Size.to_numpy()[1:])
    return int((same_bar & same_way).sum())


def assert_parity(peer: pd.Series, ours: RunOutcome) -> None:
    t = peer._trades
    expected = list(zip(t.EntryBar.astype(int), t.ExitBar.astype(int), t.EntryPrice.astype(float),
                        t.ExitPrice.astype(float), t.Size.astype(float), t.PnL.astype(float),
                        t.ReturnPct.astype(float), strict=True))
    got = [(tr.entry_bar, tr.exit_bar, tr.entry_price, tr.exit_price, tr.size, tr.pnl,
            tr.return_pct / 100) for tr in ours.trades]
    assert len(got) == len(expected), f"{len(got)} trades != backtesting.py's {len(expected)}"
    for k, (e, g) in enumerate(zip(expected, got, strict=True)):
        assert g[:5] == e[:5], f"trade {k}: {g[:5]} != {e[:5]}"
        assert math.isclose(g[5], e[5], rel_tol=REL, abs_tol=1e-9), f"trade {k} P&L"
        assert math.isclose(g[6], e[6], rel_tol=REL, abs_tol=1e-12), f"trade {k} return"
    equity = peer._equity_curve.Equity.to_numpy()
    assert math.isclose(ours.stats.equity_final, float(equity[-1]), rel_tol=REL)
    np.testing.assert_allclose(ours.equity, equity, rtol=REL)


def tile(data: pd.DataFrame, copies: int) -> pd.DataFrame:
    """Forward and reversed copies alternating, on a fresh hourly index."""
    parts = [data if k % 2 == 0 else data.iloc[::-1] for k in range(copies)]
    out = pd.concat(parts)
    out.index = pd.date_range("2000-01-03", periods=len(out), freq="h")
    return out


def test_parity_when_backtesting_py_eurusd_then_trade_lists_identical() -> None:
    peer = peer_run(EURUSD, 10, 20)

    ours = robo_run(EURUSD, 10, 20)

    assert peer["# Trades"] == 262 and reentries(peer) == 0
    assert_parity(peer, ours)


def test_parity_when_eurusd_tiled_forward_only_then_trade_lists_identical() -> None:
    data = pd.concat([EURUSD, EURUSD])
    data.index = pd.date_range("2000-01-03", periods=len(data), freq="h")
    peer = peer_run(data, 10, 20)

    ours = robo_run(data, 10, 20)

    assert reentries(peer) == 0
    assert_parity(peer, ours)


def test_parity_when_eurusd_tiled_forward_and_reversed_with_a_reentry_then_identical() -> None:
    data = tile(EURUSD, 2)
    peer = peer_run(data, 10, 20)
    assert reentries(peer) == 1

    assert_parity(peer, robo_run(data, 10, 20))


def test_parity_when_the_account_is_wiped_out_then_closed_at_that_close_like_backtesting_py() -> None:
    from backtesting.test import GOOG

    data = GOOG.copy()
    data.iloc[1000, data.columns.get_loc("Close")] *= 100  # a short held through it is ruined
    data.iloc[1000, data.columns.get_loc("High")] = data.iloc[1000]["Close"]
    peer = peer_run(data, 10, 20)
    assert wiped_out(peer)

    ours = robo_run(data, 10, 20)

    assert ours.ruined_at == 1_000 and ours.stats.equity_final == 0.0
    assert_parity(peer, ours)


# ------------------------------------------------------------------ generated series


@st.composite
def series(draw: st.DrawFn) -> pd.DataFrame:
    """Closes built from segments: drifting walks on a tick grid (ties), flat stretches,
    plateaus where the averages touch before the move goes on (repeated crosses), repeats and
    reversals of earlier stretches, and gaps; OHLC around them."""
    tick = draw(st.sampled_from([0.01, 0.0001, 0.25]))
    level = draw(st.sampled_from([1.1, 25.0, 300.0]))
    closes: list[float] = [level]
    for _ in range(draw(st.integers(3, 10))):
        kind = draw(st.sampled_from(["walk", "walk", "flat", "touch", "repeat", "reverse",
                                     "gap"]))
        if kind == "walk":
            steps = draw(st.lists(st.integers(-3, 3), min_size=5, max_size=60))
            for s in steps:
                closes.append(max(tick, closes[-1] + s * tick * max(1.0, level / 100)))
        elif kind == "flat":
            closes.extend([closes[-1]] * draw(st.integers(3, 30)))
        elif kind == "touch":  # the averages meet on a plateau, then the move goes on the same way
            way = 1.0 if len(closes) < 2 or closes[-1] >= closes[-2] else -1.0
            closes.extend([closes[-1]] * draw(st.integers(8, 18)))
            for s in draw(st.lists(st.integers(0, 3), min_size=3, max_size=20)):
                closes.append(max(tick, closes[-1] + way * s * tick * max(1.0, level / 100)))
        elif kind in ("repeat", "reverse") and len(closes) > 10:
            a = draw(st.integers(0, len(closes) - 5))
            b = draw(st.integers(a + 4, min(len(closes), a + 80)))
            part = closes[a:b]
            closes.extend(part if kind == "repeat" else part[::-1])
        elif kind == "gap":
            closes.append(max(tick, closes[-1] * draw(st.sampled_from([0.8, 0.95, 1.05, 1.25]))))
    digits = max(0, -math.floor(math.log10(tick)))
    close = np.round(np.asarray(closes, dtype=np.float64), digits)
    opens = np.r_[close[0], close[:-1]]
    wick = draw(st.sampled_from([0.0, 0.001]))
    high = np.maximum(opens, close) * (1 + wick)
    low = np.minimum(opens, close) * (1 - wick)
    index = pd.date_range("2021-01-04", periods=close.shape[0], freq="h")
    return pd.DataFrame({"Open": opens, "High": high, "Low": low, "Close": close,
                         "Volume": np.zeros_like(close)}, index=index)


def wiped_out(peer: pd.Series) -> bool:
    """backtesting.py ran out of money: it closes every trade at that bar's close and stops."""
    return bool((peer._equity_curve.Equity.to_numpy() <= 0).any())


@settings(max_examples=40, deadline=None, derandomize=True, print_blob=True,
          phases=[Phase.explicit, Phase.reuse, Phase.generate],
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(data=series(), fast=st.integers(2, 6), extra=st.integers(1, 10))
def test_parity_when_generated_series_then_trade_lists_identical(
    data: pd.DataFrame, fast: int, extra: int,
) -> None:
    slow = fast + extra
    assume(len(data) > slow + 2)
    peer = peer_run(data, fast, slow)

    assert_parity(peer, robo_run(data, fast, slow))

"""The paper broker's relative sizing, fills and commission match backtesting.py's broker.

Both are driven the same way on backtesting.py's bundled GOOG data: buy all-in after bar 20, then
after bar 40 sell with `exclusive_orders=True` (close the long, then reverse short all-in), with
commission 0.002. Our side: a closing order then the reversal order, filling at the next open.
"""

from __future__ import annotations

import sys
import warnings

import pandas as pd
import pytest
from backtesting import Backtest, Strategy
from backtesting.test import GOOG

from robo_tui.domain.orders import Fill, Side

from .helpers import make_broker, order

ALL_IN = 1 - sys.float_info.epsilon  # backtesting.py's default size for buy()/sell()
BUY_BAR, SELL_BAR = 20, 40


class _BuyThenReverse(Strategy):  # type: ignore[misc]
    def init(self) -> None:
        pass

    def next(self) -> None:
        i = len(self.data) - 1
        if i == BUY_BAR:
            self.buy()
        elif i == SELL_BAR:
            self.sell()


def _run_backtesting_py() -> tuple[pd.DataFrame, pd.Series]:
    bt = Backtest(GOOG, _BuyThenReverse, cash=10_000, commission=0.002, exclusive_orders=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stats = bt.run()
    return stats._trades, stats._equity_curve["Equity"]


def _run_paper() -> tuple[list[Fill], list[float]]:
    b = make_broker(cash=10_000, commission=0.002, fill="next_open")
    equity: list[float] = []
    o, h, low, c = (GOOG[k].to_numpy(dtype=float) for k in ("Open", "High", "Low", "Close"))
    for i, ts in enumerate(GOOG.index):
        b.on_bar_values("AAPL", ts.to_pydatetime(), o[i], h[i], low[i], c[i])
        equity.append(b.equity)
        if i == BUY_BAR:
            b.place(order(Side.BUY, 1, equity_fraction=ALL_IN))
        elif i == SELL_BAR:
            b.place(order(Side.SELL, b.position_qty("AAPL"), reduce_only=True))
            b.place(order(Side.SELL, 1, equity_fraction=ALL_IN))
    return b.take_fills(), equity


def test_equity_fraction_when_buy_then_reverse_on_goog_then_matches_backtesting_py() -> None:
    trades, bt_equity = _run_backtesting_py()
    fills, equity = _run_paper()

    assert len(trades) == 2
    long_, short = trades.iloc[0], trades.iloc[1]
    entry, close, reverse = fills
    # sizes: whole units from all the cash available at the fill, net of commission
    assert entry.quantity == long_.Size > 0
    assert close.quantity == long_.Size
    assert -reverse.quantity == short.Size < 0
    # prices: the next bar's open
    assert entry.price == pytest.approx(long_.EntryPrice, rel=1e-12)
    assert entry.ts == GOOG.index[BUY_BAR + 1]
    assert close.price == pytest.approx(long_.ExitPrice, rel=1e-12)
    assert reverse.price == pytest.approx(short.EntryPrice, rel=1e-12)
    assert reverse.ts == GOOG.index[SELL_BAR + 1]
    # commission on entry and exit
    assert entry.fee + close.fee == pytest.approx(long_.Commission, rel=1e-9)
    assert close.ts == reverse.ts

    # equity (hence cash) bar by bar, until backtesting.py's short runs out of money
    ruin = int(short.ExitBar)
    assert ruin < len(GOOG) - 1
    for i in range(ruin):
        assert equity[i] == pytest.approx(bt_equity.iloc[i], rel=1e-6), f"bar {i}"

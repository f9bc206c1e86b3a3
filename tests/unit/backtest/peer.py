"""backtesting.py runs and conversions of their outputs into compute_stats inputs (test helper)."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from backtesting import Backtest, Strategy
from backtesting.lib import crossover
from backtesting.test import GOOG, SMA

from robo_tui.backtest.stats import TradeRecord


class SmaCross(Strategy):  # type: ignore[misc]
    """backtesting.py's README strategy: reverse on SMA(10)/SMA(20) crossovers."""

    n1 = 10
    n2 = 20

    def init(self) -> None:
        self.sma1 = self.I(SMA, self.data.Close, self.n1)
        self.sma2 = self.I(SMA, self.data.Close, self.n2)

    def next(self) -> None:
        if crossover(self.sma1, self.sma2):
            self.position.close()
            self.buy()
        elif crossover(self.sma2, self.sma1):
            self.position.close()
            self.sell()


@dataclass(frozen=True)
class PeerRun:
    """What backtesting.py produced, and the same in compute_stats' input form."""

    stats: pd.Series
    data: pd.DataFrame
    equity: np.ndarray
    trades: list[TradeRecord]


def goog() -> pd.DataFrame:
    """The GOOG daily bars that ship with backtesting.py."""
    return GOOG.copy()


def run_peer(data: pd.DataFrame, **options: Any) -> PeerRun:
    """Run the README SmaCross through backtesting.py and convert its outputs."""
    bt = Backtest(data, SmaCross, cash=10_000, commission=0.002, exclusive_orders=True, **options)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stats = bt.run()
    return PeerRun(stats, data, stats._equity_curve["Equity"].to_numpy(), records(stats._trades))


def records(trades: pd.DataFrame, strategy: str = "sma_cross") -> list[TradeRecord]:
    """backtesting.py's `_trades` frame as TradeRecords (ReturnPct is a fraction there)."""
    return [
        TradeRecord(
            symbol="GOOG",
            size=float(row.Size),
            entry_bar=int(row.EntryBar),
            exit_bar=int(row.ExitBar),
            entry_time=row.EntryTime.to_pydatetime(),
            exit_time=row.ExitTime.to_pydatetime(),
            entry_price=float(row.EntryPrice),
            exit_price=float(row.ExitPrice),
            pnl=float(row.PnL),
            return_pct=float(row.ReturnPct) * 100.0,
            commission=float(row.Commission),
            strategy=strategy,
        )
        for row in trades.itertuples(index=False)
    ]

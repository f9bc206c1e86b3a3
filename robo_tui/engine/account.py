"""The account as the engine knows it: the broker's last snapshot marked at the latest prices,
the equity the day opened with (the day's P&L the trader sees), and the equity the day-loss and
drawdown limits count from (re-based when the trader resumes after a halt; the day's P&L is not).

The order path re-reads it from the broker (`OrderPath.refresh_account`) when the broker's side
may have changed (`stale`), and only re-marks it when just the prices did (`remark`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from robo_tui.domain.orders import AccountSnapshot


class AccountBook:
    """The account snapshot, the last prices, the trading day with its start equity, and the
    equity peak; plain state that the order path refreshes and the engine and its rooms read."""

    def __init__(self, now: datetime, starting_cash: float) -> None:
        self.account = AccountSnapshot(now, starting_cash)
        """Cash and positions as the broker last reported them, marked at `prices`."""
        self.prices: dict[str, float] = {}
        """The last price per symbol (bars, quotes, a replay's marks)."""
        self.day = ""
        """The trading day (ISO date) `day_open_equity` and `day_start_equity` belong to."""
        self.day_open_equity = starting_cash
        """The equity the trading day opened with: the day's P&L (status bar, panes, cycle
        summaries) counts from it, whatever resumes happened since."""
        self.day_start_equity = starting_cash
        """The equity the day-loss limit counts from: the day's open, or the equity at the last
        resume after a halt (losses the trader accepted are not counted twice)."""
        self.peak_equity = starting_cash
        self.stale = True
        """The broker's side may have changed: re-read the account before it is next used."""
        self.remark = False
        """Only the prices changed: re-mark the snapshot before it is next used."""

    @property
    def out_of_date(self) -> bool:
        """Whether the snapshot needs re-reading or re-marking."""
        return self.stale or self.remark

    def changed(self) -> None:
        """The broker's side may have changed (an order went out, a fill or update came in)."""
        self.stale = True

    def mark_prices(self, prices: Mapping[str, float]) -> None:
        """New last prices that change nothing at the broker (the backtest driver marks its bars
        this way; whatever they make the venue do arrives as fills, which re-read the account)."""
        self.prices.update(prices)
        self.remark = True

    def replay_day(self, day: str, start_equity: float) -> None:
        """Start the trading day `day` (ISO date) with `start_equity`; nothing is persisted."""
        self.day, self.day_start_equity, self.day_open_equity = day, start_equity, start_equity

    def start_day(self, day: str, equity: float) -> None:
        """Count the day-loss limit from `equity`; when `day` is a new trading day it also opens
        with `equity` (a re-base within the day leaves the day's open, and its P&L, alone)."""
        if day != self.day:
            self.day_open_equity = equity
        self.day, self.day_start_equity = day, equity

    def replay_peak(self, peak: float) -> None:
        """Set the equity peak the drawdown limit counts from."""
        self.peak_equity = peak

    @property
    def day_pnl(self) -> float:
        """Profit or loss since the day opened (not since a resume)."""
        return self.account.equity - self.day_open_equity

"""The account as the engine knows it: the broker's last snapshot marked at the latest prices,
and the equity the day-loss and drawdown limits count from.

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
        """The trading day (ISO date) `day_start_equity` belongs to."""
        self.day_start_equity = starting_cash
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
        self.day, self.day_start_equity = day, start_equity

    def replay_peak(self, peak: float) -> None:
        """Set the equity peak the drawdown limit counts from."""
        self.peak_equity = peak

    @property
    def day_pnl(self) -> float:
        """Profit or loss since the start of the day."""
        return self.account.equity - self.day_start_equity

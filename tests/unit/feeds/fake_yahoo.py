"""What yfinance's `Ticker.history` answers, as a fetch function for the Yahoo feed: 1-minute bars
of the regular session (09:30-16:00 New York, weekdays) in a New York DatetimeIndex with adjusted
Open/High/Low/Close/Volume, 15 minutes late, the last bar still running. Records calls; can fail."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import numpy as np
import pandas as pd


class FakeYahoo:
    """A fetch function `(symbol, interval, start, end) -> DataFrame` serving 1-minute bars."""

    def __init__(self, until: datetime, *, delay: timedelta = timedelta(minutes=15)) -> None:
        self.until = until
        self.delay = delay
        self.calls: list[tuple[str, str, datetime, datetime]] = []
        self.fail: Exception | None = None
        self.prices: dict[str, float] = {"AAPL": 180.0, "MSFT": 400.0}
        self.jump_from: datetime | None = None
        self.jump = 1.06

    def price(self, symbol: str, ts: pd.Timestamp) -> float:
        """A bar's close depends on its time only: a +-0.5 % wobble, times `jump` from `jump_from`."""
        minute = ts.value // 60_000_000_000
        price = self.prices[symbol] * (1 + 0.005 * math.sin(minute / 3.0))
        if self.jump_from is not None and ts >= pd.Timestamp(self.jump_from):
            price *= self.jump
        return price

    def __call__(self, symbol: str, interval: str, start: datetime, end: datetime) -> pd.DataFrame:
        self.calls.append((symbol, interval, start, end))
        if self.fail is not None:
            raise self.fail
        first = pd.Timestamp(start).tz_convert("America/New_York").ceil("min")
        last = pd.Timestamp(min(end, self.until) - self.delay).tz_convert("America/New_York").floor("min")
        index = pd.date_range(first, last, freq="min", name="Datetime") if first <= last else \
            pd.DatetimeIndex([], tz="America/New_York", name="Datetime")
        minutes = index.hour * 60 + index.minute
        index = index[(index.day_of_week < 5) & (minutes >= 570) & (minutes < 960)]
        close = np.array([self.price(symbol, ts) for ts in index], dtype=float)
        return pd.DataFrame({"Open": close * 0.9999, "High": close * 1.0003, "Low": close * 0.9997,
                             "Close": close, "Volume": np.full(len(index), 12_000)}, index=index)

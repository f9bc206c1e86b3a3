"""The yfinance source at the library boundary: `Ticker.history`-shaped DataFrames in, bars out."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from robo_tui.catalogue.download import download
from robo_tui.catalogue.sources import YahooHistory
from robo_tui.catalogue.store import Catalogue, CatalogueError

NS = 1_000_000_000


def history_frame(interval: str, start: datetime, end: datetime) -> pd.DataFrame:
    """What yfinance 1.x returns: a New York DatetimeIndex named Date/Datetime, adjusted OHLCV."""
    if interval == "1d":
        index = pd.date_range(start.date(), end.date(), freq="B", tz="America/New_York",
                              inclusive="left", name="Date")
    else:  # regular-session hourly bars open at :30
        days = pd.date_range(start.date(), end.date(), freq="B", tz="America/New_York")
        index = pd.DatetimeIndex([d + pd.Timedelta(hours=9, minutes=30) + pd.Timedelta(hours=h)
                                  for d in days for h in range(7)], name="Datetime")
        index = index[(index >= start) & (index < end)]
    close = 180.0 + np.arange(len(index), dtype=float)
    return pd.DataFrame({"Open": close - 0.5, "High": close + 1.0, "Low": close - 1.0,
                         "Close": close, "Volume": np.full(len(index), 1_000_000)}, index=index)


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, datetime, datetime]] = []

    def __call__(self, symbol: str, interval: str, start: datetime, end: datetime) -> pd.DataFrame:
        self.calls.append((symbol, interval, start, end))
        return history_frame(interval, start, end)


async def no_sleep(seconds: float) -> None:
    return None


async def test_daily_when_downloaded_then_bars_are_utc_adjusted_and_weekends_show_as_gaps(
    tmp_path: Path
) -> None:
    fetch = Recorder()
    catalogue = Catalogue(tmp_path)
    since = datetime(2025, 1, 6, tzinfo=UTC)  # a Monday
    until = datetime(2025, 1, 17, 12, tzinfo=UTC)  # Friday noon: that day's bar is still forming
    [result] = await download(catalogue, YahooHistory(fetch, sleep=no_sleep), ["BRK.B"], "1d",
                              int(since.timestamp() * NS), int(until.timestamp() * NS))

    stored = catalogue.read("yfinance", "BRK.B", "1d")
    assert fetch.calls[0][:2] == ("BRK-B", "1d")  # Yahoo spells share classes with a dash
    assert len(stored) == 9  # Mon 6 .. Thu 16
    assert int(stored.ts[0]) == int(pd.Timestamp("2025-01-06", tz="America/New_York").value)
    assert stored.close[0] == 180.0
    assert [g.missing for g in result.gaps] == [2]  # the weekend: Yahoo has no bars, none invented


async def test_hourly_when_range_exceeds_yahoo_span_then_requests_are_windowed(tmp_path: Path) -> None:
    fetch = Recorder()
    since = datetime(2023, 1, 2, tzinfo=UTC)
    until = datetime(2025, 6, 2, tzinfo=UTC)
    await download(Catalogue(tmp_path), YahooHistory(fetch, sleep=no_sleep), ["AAPL"], "1h",
                   int(since.timestamp() * NS), int(until.timestamp() * NS))

    spans = [(end - start).days for _, _, start, end in fetch.calls]
    assert len(fetch.calls) == 2
    assert max(spans) <= 729
    assert fetch.calls[0][2] == since and fetch.calls[-1][3] == until


async def test_timeframe_when_yahoo_lacks_it_then_error_lists_its_intervals(tmp_path: Path) -> None:
    with pytest.raises(CatalogueError, match="yfinance has no 4h bars; use 1m, 5m, 15m, 1h, 1d"):
        await download(Catalogue(tmp_path), YahooHistory(Recorder(), sleep=no_sleep), ["AAPL"], "4h",
                       0, 10 * 86400 * NS)

"""load_ohlcv and ReplayFeed: formats, clear errors, and bars released only when the clock passes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from robo_tui.adapters.feeds.replay import DataError, ReplayFeed, load_ohlcv
from robo_tui.domain.market import BarArrays
from robo_tui.engine.clock import SimClock

GOOG_STYLE = """,Open,High,Low,Close,Volume
2004-08-19,100,104.06,95.96,100.34,22351900
2004-08-20,101.01,109.08,100.5,108.31,11428600
2004-08-23,110.75,113.48,109.05,109.4,9137200
"""


def frame(symbol: str, n: int, start: str = "2024-01-02 14:30", freq: str = "1min") -> pd.DataFrame:
    close = 100 + np.cumsum(np.sin(np.arange(n)))
    return pd.DataFrame({
        "timestamp": pd.date_range(start, periods=n, freq=freq),
        "symbol": symbol,
        "open": close - 0.1, "high": close + 0.5, "low": close - 0.5, "close": close,
        "volume": np.arange(n, dtype=float) + 1,
    })


def ns(text: str) -> int:
    return int(pd.Timestamp(text, tz="UTC").value)


def test_load_when_goog_style_csv_then_symbol_from_file_name_and_utc_dates(tmp_path: Path) -> None:
    path = tmp_path / "goog.csv"
    path.write_text(GOOG_STYLE)
    data = load_ohlcv(path)
    assert list(data) == ["GOOG"]
    bars = data["GOOG"]
    assert bars.ts.tolist() == [ns("2004-08-19"), ns("2004-08-20"), ns("2004-08-23")]
    assert bars.close.tolist() == [100.34, 108.31, 109.4]
    assert bars.volume[0] == 22351900
    assert bars.bar(0).ts == datetime(2004, 8, 19, tzinfo=UTC)


def test_load_when_backtesting_py_goog_file_then_every_row_loads() -> None:
    backtesting = pytest.importorskip("backtesting")
    goog = Path(backtesting.__file__).parent / "test" / "GOOG.csv"
    raw = pd.read_csv(goog)
    bars = load_ohlcv(goog)["GOOG"]
    assert len(bars) == len(raw)
    assert np.allclose(bars.close, raw["Close"])


def test_load_when_long_parquet_table_then_one_series_per_symbol(tmp_path: Path) -> None:
    path = tmp_path / "bars.parquet"
    pd.concat([frame("AAPL", 30), frame("BTC-USD", 20)]).to_parquet(path)
    data = load_ohlcv(path)
    assert {s: len(a) for s, a in data.items()} == {"AAPL": 30, "BTC-USD": 20}
    assert data["AAPL"].ts[0] == ns("2024-01-02 14:30")


def test_load_when_parquet_has_datetime_index_then_index_is_the_timestamp(tmp_path: Path) -> None:
    path = tmp_path / "MSFT.parquet"
    frame("MSFT", 10).drop(columns="symbol").set_index("timestamp").to_parquet(path)
    assert len(load_ohlcv(path)["MSFT"]) == 10


def test_load_when_folder_of_files_then_each_file_is_a_symbol(tmp_path: Path) -> None:
    frame("X", 5).drop(columns="symbol").to_csv(tmp_path / "AAPL.csv", index=False)
    frame("X", 7).drop(columns="symbol").to_parquet(tmp_path / "msft.parquet")
    (tmp_path / "notes.md").write_text("not data")
    data = load_ohlcv(tmp_path)
    assert {s: len(a) for s, a in data.items()} == {"AAPL": 5, "MSFT": 7}


def test_load_when_symbols_given_then_only_those_and_missing_ones_are_errors(
    tmp_path: Path,
) -> None:
    path = tmp_path / "bars.csv"
    pd.concat([frame("AAPL", 5), frame("XOM", 5)]).to_csv(path, index=False)
    assert list(load_ohlcv(path, ["XOM"])) == ["XOM"]
    with pytest.raises(DataError, match=r"bars.csv: no bars for TSLA"):
        load_ohlcv(path, ["XOM", "TSLA"])


def test_load_when_timestamps_have_offsets_then_converted_to_utc(tmp_path: Path) -> None:
    path = tmp_path / "SPY.csv"
    path.write_text("Date,Open,High,Low,Close\n2024-01-02T09:30:00-05:00,1,2,0.5,1.5\n")
    assert load_ohlcv(path)["SPY"].ts[0] == ns("2024-01-02 14:30")


def test_load_when_no_volume_column_then_volume_is_zero(tmp_path: Path) -> None:
    path = tmp_path / "SPY.csv"
    path.write_text("date,open,high,low,close\n2024-01-02,1,2,0.5,1.5\n2024-01-03,1,2,0.5,1.5\n")
    assert load_ohlcv(path)["SPY"].volume.tolist() == [0.0, 0.0]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("date,open,high,close\n2024-01-02,1,2,1.5\n", r"missing column\(s\) low"),
        ("date,open,high,low,close\nnot-a-date,1,2,0.5,1.5\n",
         r"row 1: cannot parse timestamp 'not-a-date'"),
        ("date,open,high,low,close\n2024-01-03,1,2,0.5,1.5\n2024-01-02,1,2,0.5,1.5\n",
         r"row 2: timestamps must increase"),
        ("date,open,high,low,close\n2024-01-02,1,2,0.5,1.5\n2024-01-02,1,2,0.5,1.5\n",
         r"row 2: timestamps must increase"),
        ("date,open,high,low,close\n2024-01-02,1,2,0.5,\n", r"row 1: close is not a number"),
        ("date,open,high,low,close\n2024-01-02,1,0.4,0.5,1\n", r"row 1: high 0.4 is below low 0.5"),
    ],
    ids=["missing-column", "bad-timestamp", "decreasing", "duplicate", "nan-price", "high-below-low"],
)
def test_load_when_data_is_broken_then_data_error_names_file_and_reason(
    tmp_path: Path, text: str, reason: str
) -> None:
    path = tmp_path / "BAD.csv"
    path.write_text(text)
    with pytest.raises(DataError, match=rf"BAD\.csv: .*{reason}"):
        load_ohlcv(path)


def test_load_when_path_missing_then_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no such file or folder"):
        load_ohlcv(tmp_path / "nothing.csv")


def two_symbols() -> dict[str, BarArrays]:
    return {
        "AAPL": _arrays("AAPL", 10, 0),
        "BTC-USD": _arrays("BTC-USD", 10, 30),
    }


def _arrays(symbol: str, n: int, offset_s: int) -> BarArrays:
    ts = (np.arange(n, dtype=np.int64) * 60 + 1_700_000_000 + offset_s) * 1_000_000_000
    close = np.arange(n, dtype=np.float64) + 100
    return BarArrays(symbol, ts, close, close + 1, close - 1, close, np.ones(n))


async def test_replay_when_started_at_index_then_history_is_only_the_bars_before_it() -> None:
    data = two_symbols()
    feed = ReplayFeed(data, SimClock(datetime(2000, 1, 1, tzinfo=UTC)), start_index=4)
    history = await feed.history("AAPL", 100)
    assert history.close.tolist() == [100.0, 101.0, 102.0, 103.0]
    assert (await feed.history("AAPL", 2)).close.tolist() == [102.0, 103.0]
    assert await feed.quotes(datetime(2030, 1, 1, tzinfo=UTC)) == []
    assert (feed.name, feed.simulated, feed.supports_streaming) == ("replay", False, False)


async def test_replay_when_clock_advances_then_releases_bars_up_to_now_in_time_order() -> None:
    data = two_symbols()
    start = datetime.fromtimestamp(1_700_000_000, UTC)
    clock = SimClock(start)
    feed = ReplayFeed(data, clock, start_index=0)
    first = await feed.next_bars(clock.now())
    assert [(b.symbol, b.close) for b in first] == [("AAPL", 100.0)]
    clock.advance(90)  # AAPL bar at +60 and BTC bars at +30 and +90 are now known
    second = await feed.next_bars(clock.now())
    assert [(b.symbol, b.ts - start) for b in second] == [
        ("BTC-USD", timedelta(seconds=30)),
        ("AAPL", timedelta(seconds=60)),
        ("BTC-USD", timedelta(seconds=90)),
    ]
    assert all(b.ts <= clock.now() for b in first + second)  # never a bar from the future
    assert (await feed.history("BTC-USD", 10)).close.tolist() == [100.0, 101.0]
    assert await feed.next_bars(clock.now()) == []


async def test_replay_when_driven_by_next_time_then_every_bar_once_and_exhausted() -> None:
    data = two_symbols()
    clock = SimClock(datetime(2000, 1, 1, tzinfo=UTC))
    feed = ReplayFeed(data, clock)
    seen = []
    while (when := feed.next_time()) is not None:
        clock.set(when)
        seen += await feed.next_bars(clock.now())
    assert feed.exhausted
    assert len(seen) == 20
    assert [b.ts for b in seen] == sorted(b.ts for b in seen)

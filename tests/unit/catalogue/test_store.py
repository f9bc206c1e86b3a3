"""The catalogue's Parquet files: atomic appends, validation naming file and row, gaps, listing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from robo_tui.catalogue.reading import catalogue_bars
from robo_tui.catalogue.store import Catalogue, CatalogueError, find_gaps
from robo_tui.domain.market import BarArrays

H = 3600 * 1_000_000_000
T0 = 1_767_225_600 * 1_000_000_000


def bars(symbol: str, start: int, count: int, *, skip: tuple[int, ...] = ()) -> BarArrays:
    index = np.array([i for i in range(count + len(skip)) if i not in skip][:count])
    close = 100.0 + index
    return BarArrays(symbol, T0 + start * H + index * H, close - 0.5, close + 1, close - 1, close,
                     np.full(index.size, 2.0))


def test_append_when_new_bars_overlap_stored_then_only_newer_ones_are_added(tmp_path: Path) -> None:
    catalogue = Catalogue(tmp_path)
    assert catalogue.append("ccxt:kraken", "BTC-USD", "1h", bars("BTC-USD", 0, 10)) == 10

    added = catalogue.append("ccxt:kraken", "BTC-USD", "1h", bars("BTC-USD", 5, 10))
    stored = catalogue.read("ccxt:kraken", "BTC-USD", "1h")

    assert added == 5
    assert len(stored) == 15
    assert (np.diff(stored.ts) == H).all()
    assert stored.close[-1] == 100.0 + 9  # the 15th bar is index 9 of the second batch
    assert catalogue.path("ccxt:kraken", "BTC-USD", "1h") == tmp_path / "ccxt-kraken" / "BTC-USD" / "1h.parquet"


def test_append_when_write_fails_then_previous_file_is_intact_and_no_temp_left(
    tmp_path: Path
) -> None:
    catalogue = Catalogue(tmp_path)
    catalogue.append("ccxt:kraken", "BTC-USD", "1h", bars("BTC-USD", 0, 3))
    bad = bars("BTC-USD", 3, 2)
    bad.close[1] = -1.0

    with pytest.raises(CatalogueError, match="row 2: close -1.0 is not a positive number"):
        catalogue.append("ccxt:kraken", "BTC-USD", "1h", bad)

    assert len(catalogue.read("ccxt:kraken", "BTC-USD", "1h")) == 3
    assert [p.name for p in (tmp_path / "ccxt-kraken" / "BTC-USD").iterdir()] == ["1h.parquet"]


def test_read_when_file_has_a_bad_row_then_error_names_file_row_and_reason(tmp_path: Path) -> None:
    catalogue = Catalogue(tmp_path)
    catalogue.append("ccxt:kraken", "ETH-USD", "1h", bars("ETH-USD", 0, 4))
    path = catalogue.path("ccxt:kraken", "ETH-USD", "1h")
    table = pq.read_table(path)
    high = table.column("high").to_numpy().copy()
    high[2] = 1.0  # below the low
    pq.write_table(table.set_column(2, "high", pa.array(high)), path)

    with pytest.raises(CatalogueError, match=rf"{path}: ETH-USD: row 3: high 1.0 is below low"):
        catalogue.read("ccxt:kraken", "ETH-USD", "1h")


def test_read_when_nothing_stored_then_error_says_how_to_download(tmp_path: Path) -> None:
    with pytest.raises(CatalogueError, match="robo-tui data download --source ccxt:kraken "
                                             "--symbols BTC-USD --timeframe 1d"):
        Catalogue(tmp_path).read("ccxt:kraken", "BTC-USD", "1d")


def test_gaps_when_bars_are_missing_then_each_hole_and_its_size_is_reported() -> None:
    series = bars("BTC-USD", 0, 10, skip=(3, 4, 8))

    gaps = find_gaps(series.ts, 3600)

    assert [(g.after_ns, g.missing) for g in gaps] == [(T0 + 2 * H, 2), (T0 + 7 * H, 1)]


def test_entries_when_files_stored_then_listing_has_range_bars_and_gaps(tmp_path: Path) -> None:
    catalogue = Catalogue(tmp_path)
    catalogue.append("ccxt:kraken", "BTC-USD", "1h", bars("BTC-USD", 0, 10, skip=(5,)))
    catalogue.append("ccxt:bitstamp", "ETH-USD", "1d", bars("ETH-USD", 0, 1))

    entries = {(e.source, e.symbol, e.timeframe): e for e in catalogue.entries()}

    btc = entries[("ccxt:kraken", "BTC-USD", "1h")]
    assert (btc.bars, btc.first_ns, btc.last_ns, btc.missing) == (10, T0, T0 + 10 * H, 1)
    assert entries[("ccxt:bitstamp", "ETH-USD", "1d")].gaps == ()


def test_catalogue_bars_when_range_given_then_inclusive_days_like_the_csv_loader(
    tmp_path: Path
) -> None:
    catalogue = Catalogue(tmp_path)
    catalogue.append("ccxt:kraken", "BTC-USD", "1h", bars("BTC-USD", 0, 72))

    data = catalogue_bars(tmp_path, "ccxt:kraken", ["btc-usd"], "1h",
                          start="2026-01-02", end="2026-01-02")

    assert len(data["BTC-USD"]) == 24
    assert int(data["BTC-USD"].ts[0]) == T0 + 24 * H
    with pytest.raises(CatalogueError, match="no 1h bars from ccxt:kraken between 2027-01-01"):
        catalogue_bars(tmp_path, "ccxt:kraken", None, "1h", start="2027-01-01")

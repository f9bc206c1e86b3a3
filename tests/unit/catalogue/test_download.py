"""Incremental downloads: the real ccxt against a local Kraken-shaped server, and the port's edges."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import numpy as np
import pytest

pytest.importorskip("ccxt")

from robo_tui.catalogue.download import download, download_symbol
from robo_tui.catalogue.sources import CcxtHistory, open_source
from robo_tui.catalogue.store import Catalogue, CatalogueError
from robo_tui.config import Settings
from robo_tui.domain.market import BarArrays
from tests.unit.feeds.kraken_server import FakeKraken

HOUR = 3600
T0 = 1_767_225_600  # 2026-01-01 00:00 UTC
NS = 1_000_000_000


@pytest.fixture
def kraken() -> Iterator[FakeKraken]:
    with FakeKraken(T0 - 2000 * HOUR, T0 + 1800, step=HOUR) as server:
        yield server


def settings_for(kraken: FakeKraken) -> Settings:
    return Settings.model_validate({"feeds": {"ccxt": {"base_url": kraken.url, "rate_limit_ms": 1}}})


def since_params(kraken: FakeKraken) -> list[int]:
    return [int(parse_qs(urlparse(p).query)["since"][0]) for p in kraken.paths("/0/public/OHLC")]


async def test_download_when_run_twice_then_second_fetches_only_new_bars(
    kraken: FakeKraken, tmp_path: Path
) -> None:
    catalogue = Catalogue(tmp_path)
    since = (T0 - 1000 * HOUR) * NS
    first = await download(catalogue, CcxtHistory("kraken", settings_for(kraken)),
                           ["BTC-USD", "ETH-USD"], "1h", since, (T0 + 1800) * NS)
    kraken.now = T0 + 5 * HOUR + 1800
    asked_before = len(kraken.paths("/0/public/OHLC"))
    second = await download(catalogue, CcxtHistory("kraken", settings_for(kraken)),
                            ["BTC-USD"], "1h", since, (T0 + 5 * HOUR + 1800) * NS)

    assert [(r.symbol, r.added) for r in first] == [("BTC-USD", 1000), ("ETH-USD", 1000)]
    assert second[0].added == 5
    # asked from the last stored bar on (ccxt sends Kraken one bar earlier: its `since` is exclusive)
    assert since_params(kraken)[asked_before:] == [T0 - HOUR]
    stored = catalogue.read("ccxt:kraken", "BTC-USD", "1h")
    assert len(stored) == 1005
    assert int(stored.ts[-1]) == (T0 + 4 * HOUR) * NS  # the forming 05:00 bar is not stored
    assert stored.close[-1] == kraken.price("XXBTZUSD", T0 + 4 * HOUR)
    assert second[0].gaps == ()


async def test_download_when_server_answers_429_then_waits_retry_after_and_finishes(
    kraken: FakeKraken, tmp_path: Path
) -> None:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    kraken.throttle, kraken.retry_after = 2, "7"
    source = CcxtHistory("kraken", settings_for(kraken), sleep=sleep)
    [result] = await download(Catalogue(tmp_path), source, ["BTC-USD"], "1h",
                              (T0 - 24 * HOUR) * NS, T0 * NS)

    assert waits == [7.0, 7.0]
    assert result.added == 24


async def test_download_when_exchange_sends_bad_bars_then_they_are_rejected_not_stored(
    kraken: FakeKraken, tmp_path: Path
) -> None:
    kraken.bad_bars[("XXBTZUSD", T0 - 3 * HOUR)] = {"low": "0"}
    catalogue = Catalogue(tmp_path)
    [result] = await download(catalogue, CcxtHistory("kraken", settings_for(kraken)), ["BTC-USD"],
                              "1h", (T0 - 10 * HOUR) * NS, T0 * NS)

    stored = catalogue.read("ccxt:kraken", "BTC-USD", "1h")
    assert (result.added, result.rejected) == (9, 1)
    assert (T0 - 3 * HOUR) * NS not in stored.ts
    assert [(g.after_ns, g.missing) for g in result.gaps] == [((T0 - 4 * HOUR) * NS, 1)]


async def test_download_when_symbol_not_listed_then_error_names_market_and_mapping(
    kraken: FakeKraken, tmp_path: Path
) -> None:
    with pytest.raises(CatalogueError, match="does not list DOGE/USD .*feeds.ccxt.symbols"):
        await download(Catalogue(tmp_path), CcxtHistory("kraken", settings_for(kraken)),
                       ["DOGE-USD"], "1h", (T0 - 10 * HOUR) * NS, T0 * NS)


def test_open_source_when_unknown_kind_then_error_names_the_accepted_form() -> None:
    with pytest.raises(CatalogueError, match="use ccxt:EXCHANGE"):
        open_source("quandl:wiki", Settings())


class Interrupted:
    """A source cancelled (what Ctrl-C does to asyncio.run's task) after `pages` pages of 10 bars."""

    name = "test:interrupted"

    def __init__(self, pages: int) -> None:
        self.left = pages

    async def pages(self, symbol: str, timeframe: str, since_ns: int,
                    until_ns: int) -> AsyncIterator[BarArrays]:
        start = since_ns
        while start < until_ns:
            if self.left == 0:
                raise asyncio.CancelledError
            self.left -= 1
            ts = start + np.arange(10, dtype=np.int64) * HOUR * NS
            close = np.full(10, 100.0)
            yield BarArrays(symbol, ts, close, close + 1, close - 1, close, close)
            start = int(ts[-1]) + HOUR * NS

    async def close(self) -> None:
        return None


async def test_download_when_interrupted_then_fetched_bars_are_saved_and_rerun_resumes(
    tmp_path: Path
) -> None:
    catalogue = Catalogue(tmp_path)
    with pytest.raises(asyncio.CancelledError):
        await download_symbol(catalogue, Interrupted(3), "BTC-USD", "1h", T0 * NS,
                              (T0 + 100 * HOUR) * NS, flush_bars=1000)
    saved = catalogue.read("test:interrupted", "BTC-USD", "1h")
    resumed = await download_symbol(catalogue, Interrupted(1), "BTC-USD", "1h", T0 * NS,
                                    (T0 + 40 * HOUR) * NS)

    assert len(saved) == 30
    assert resumed.first_ns == (T0 + 30 * HOUR) * NS
    assert len(catalogue.read("test:interrupted", "BTC-USD", "1h")) == 40

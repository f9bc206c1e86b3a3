"""The ccxt feed against a local Kraken-shaped server, with the real ccxt library unmodified."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import pytest

pytest.importorskip("ccxt")

from robo_tui.adapters.feeds.ccxt_feed import (
    CcxtFeed,
    exchange_symbol,
    open_exchange,
    timeframe_for,
)
from robo_tui.config import Settings
from robo_tui.config.ccxt_feed import CcxtFeedSettings
from robo_tui.domain.market import AssetClass, Instrument
from robo_tui.engine.bus import EventBus
from robo_tui.engine.clock import SimClock
from robo_tui.engine.freshness import MarketGuard
from robo_tui.engine.health import Health
from robo_tui.registries.feeds import FEEDS
from tests.unit.feeds.kraken_server import FakeKraken

T0 = 1_767_225_600  # 2026-01-01 00:00 UTC
START = T0 - 3000 * 60


def at(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


@pytest.fixture
def kraken() -> Iterator[FakeKraken]:
    with FakeKraken(START, T0 + 30) as server:
        yield server


def make_feed(kraken: FakeKraken, universe: list[str], clock: SimClock,
              **overrides: object) -> CcxtFeed:
    settings = CcxtFeedSettings.model_validate(
        {"base_url": kraken.url, "rate_limit_ms": 1, "poll_seconds": 1.0, **overrides})
    return CcxtFeed(settings, universe, 60, clock, exchange=open_exchange(settings))


@pytest.fixture
async def feed(kraken: FakeKraken) -> AsyncIterator[CcxtFeed]:
    clock = SimClock(at(T0 + 30))
    feed = make_feed(kraken, ["BTC-USD", "ETH-USD"], clock)
    await feed.connect()
    yield feed
    await feed.close()


def test_symbol_when_unmapped_then_dash_becomes_slash_and_mapping_wins() -> None:
    assert exchange_symbol("BTC-USD") == "BTC/USD"
    assert exchange_symbol("BTC-USD", {"BTC-USD": "BTC/USDT"}) == "BTC/USDT"
    with pytest.raises(ValueError, match="BASE-QUOTE"):
        exchange_symbol("AAPL")


def test_timeframe_when_bar_seconds_has_none_then_error_lists_allowed() -> None:
    assert timeframe_for(3600) == "1h"
    with pytest.raises(ValueError, match="60 \\(1m\\)"):
        timeframe_for(61)


async def test_history_when_warm_up_spans_pages_then_last_completed_bars_oldest_first(
    feed: CcxtFeed, kraken: FakeKraken
) -> None:
    bars = await feed.history("BTC-USD", 1000)

    assert len(bars) == 1000
    assert int(bars.ts[-1]) == (T0 - 60) * 1_000_000_000  # the forming T0 bar is left out
    assert (bars.ts[1:] - bars.ts[:-1] == 60 * 1_000_000_000).all()
    assert bars.close[-1] == kraken.price("XXBTZUSD", T0 - 60)
    assert len(kraken.paths("/0/public/OHLC")) == 2  # 720 + the rest
    assert not feed.simulated


async def test_next_bars_when_time_passes_then_only_new_completed_bars_in_time_order(
    feed: CcxtFeed, kraken: FakeKraken
) -> None:
    await feed.history("BTC-USD", 50)
    await feed.history("ETH-USD", 50)
    kraken.now = T0 + 150
    first = await feed.next_bars(at(T0 + 150))
    again = await feed.next_bars(at(T0 + 152))

    assert [(b.symbol, b.ts) for b in first] == [
        ("BTC-USD", at(T0)), ("ETH-USD", at(T0)), ("BTC-USD", at(T0 + 60)), ("ETH-USD", at(T0 + 60))]
    assert first[0].close == kraken.price("XXBTZUSD", T0)
    assert again == []


async def test_next_bars_when_polled_faster_than_poll_seconds_then_no_request(
    feed: CcxtFeed, kraken: FakeKraken
) -> None:
    await feed.history("BTC-USD", 10)
    await feed.history("ETH-USD", 10)
    await feed.next_bars(at(T0 + 61))
    before = len(kraken.paths("/0/public/OHLC"))
    kraken.now = T0 + 125
    assert await feed.next_bars(at(T0 + 61)) == []

    assert len(kraken.paths("/0/public/OHLC")) == before


async def test_quotes_when_ticker_served_then_bid_ask_last_from_it(
    feed: CcxtFeed, kraken: FakeKraken
) -> None:
    quotes = await feed.quotes(at(T0 + 30))

    last = kraken.price("XXBTZUSD", T0)
    assert [q.symbol for q in quotes] == ["BTC-USD", "ETH-USD"]
    assert (quotes[0].bid, quotes[0].ask, quotes[0].last) == (last - 0.5, last + 0.5, last)
    assert kraken.paths("/0/public/Ticker")


async def test_quotes_when_symbol_mapped_to_usdt_then_that_market_is_read(
    kraken: FakeKraken
) -> None:
    feed = make_feed(kraken, ["BTC-USD"], SimClock(at(T0 + 30)), symbols={"BTC-USD": "BTC/USDT"})
    await feed.connect()
    quotes = await feed.quotes(at(T0 + 30))
    await feed.close()

    assert quotes[0].last == kraken.price("XBTUSDT", T0)
    assert kraken.paths("/0/public/Ticker")[-1] == "/0/public/Ticker?pair=XBTUSDT"


async def test_connect_when_exchange_lacks_symbol_then_error_names_it_and_the_mapping(
    kraken: FakeKraken
) -> None:
    feed = make_feed(kraken, ["SOL-USD"], SimClock(at(T0)))
    with pytest.raises(ValueError, match=r"SOL-USD \(SOL/USD\).*feeds.ccxt.symbols"):
        await feed.connect()
    await feed.close()


async def test_rate_limit_when_server_answers_429_then_feed_waits_retry_after(
    feed: CcxtFeed, kraken: FakeKraken
) -> None:
    await feed.history("BTC-USD", 10)
    await feed.history("ETH-USD", 10)
    kraken.throttle, kraken.retry_after = 1, "30"
    kraken.now = T0 + 90

    assert await feed.next_bars(at(T0 + 90)) == []
    calls = len(kraken.requests)
    assert await feed.next_bars(at(T0 + 110)) == []  # inside Retry-After: no request at all
    assert await feed.quotes(at(T0 + 110)) == []
    assert len(kraken.requests) == calls
    kraken.now = T0 + 121
    bars = await feed.next_bars(at(T0 + 121))  # after it: the missed bars arrive

    assert [b.ts for b in bars if b.symbol == "BTC-USD"] == [at(T0), at(T0 + 60)]


async def test_bad_ticks_when_zero_or_jump_or_crossed_then_feed_passes_them_and_guard_rejects(
    feed: CcxtFeed, kraken: FakeKraken, caplog: pytest.LogCaptureFixture
) -> None:
    btc = await feed.history("BTC-USD", 10)
    await feed.history("ETH-USD", 10)
    kraken.bad_bars[("XXBTZUSD", T0)] = {"close": "0.0"}
    good = kraken.price("XXBTZUSD", T0)
    kraken.bad_bars[("XXBTZUSD", T0 + 60)] = {"high": f"{good * 100:.1f}", "close": f"{good * 100:.1f}"}
    kraken.ticker_override["XXBTZUSD"] = {"b": ["60000.0", "1", "1.0"], "a": ["59000.0", "1", "1.0"]}
    kraken.now = T0 + 150
    guard = make_guard({"BTC-USD": float(btc.close[-1])})

    with caplog.at_level(logging.WARNING):
        bars = await feed.next_bars(at(T0 + 150))
        quotes = await feed.quotes(at(T0 + 150))
        kept, kept_quotes = [], []
        for b in bars:
            if (why := guard.bar_problem(b)) is None:
                kept.append(b)
            else:
                guard.reject("bar", b.symbol, why)
        for q in quotes:
            if (why := guard.quote_problem(q)) is None:
                kept_quotes.append(q)
            else:
                guard.reject("quote", q.symbol, why)

    assert [b.symbol for b in bars].count("BTC-USD") == 2  # the feed only parses
    assert [b.symbol for b in kept] == ["ETH-USD", "ETH-USD"]
    assert [q.symbol for q in kept_quotes] == ["ETH-USD"]
    text = caplog.text
    assert "bar for BTC-USD rejected: a price is zero, negative or not a number" in text
    assert "100x the last price" in text
    assert "quote for BTC-USD rejected: crossed quote: bid 60000.0 above ask 59000.0" in text


def make_guard(prices: dict[str, float]) -> MarketGuard:
    from tests.unit.risk.builders import make_gate

    async def no_trip(*_: object) -> None:
        return None

    instruments = {s: Instrument(s, AssetClass.CRYPTO) for s in ("BTC-USD", "ETH-USD")}
    health = Health(bus=EventBus(), clock=SimClock(at(T0 + 150)), risk=make_gate(), on_trip=no_trip)
    return MarketGuard(instruments=instruments, prices=prices, health=health, bar_seconds=60,
                       stale_after_bars=3, sessions=None)


def test_registry_when_ccxt_named_then_builds_a_real_feed_on_the_configured_exchange(
    kraken: FakeKraken
) -> None:
    settings = Settings.model_validate({
        "universe": {"instruments": [{"symbol": "BTC-USD", "asset_class": "crypto"}]},
        "feeds": {"kind": "ccxt", "ccxt": {"base_url": kraken.url}},
    })
    feed = FEEDS.load("ccxt")(settings, SimClock(at(T0)))

    assert feed.name == "ccxt:kraken"
    assert feed.simulated is False

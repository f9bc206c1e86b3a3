"""The Yahoo feed at the library boundary: `Ticker.history`-shaped DataFrames (New York index,
adjusted OHLCV, the running bar last) in, delayed bars and quotes out."""

from __future__ import annotations

import importlib.util
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from robo_tui.adapters.feeds.yahoo_feed import YahooFeed, YahooRateLimited, YahooUnavailable
from robo_tui.config import load_settings
from robo_tui.config.loading import ConfigError
from robo_tui.config.yahoo_feed import YahooFeedSettings
from robo_tui.domain.ticks import TickChecker
from robo_tui.engine.clock import SimClock
from robo_tui.registries.feeds import FEEDS
from tests.conftest import FIXED_START

from .fake_yahoo import FakeYahoo


def afternoon() -> SimClock:
    return SimClock(FIXED_START + timedelta(hours=2))  # 11:30 New York


def feed_for(yahoo: FakeYahoo, clock: SimClock, symbols: list[str] | None = None) -> YahooFeed:
    return YahooFeed(YahooFeedSettings(poll_seconds=30), symbols or ["AAPL"], 60, clock, fetch=yahoo)


async def test_history_when_warming_up_then_completed_delayed_bars_in_utc_oldest_first() -> None:
    clock = afternoon()
    yahoo = FakeYahoo(clock.now())
    feed = feed_for(yahoo, clock)
    bars = await feed.history("AAPL", 50)
    assert len(bars) == 50
    last = pd.Timestamp(int(bars.ts[-1]), tz="UTC").to_pydatetime()
    assert last == clock.now() - timedelta(minutes=16)  # 15 min late; the running bar is not handed out
    assert np.all(np.diff(bars.ts) == 60 * 10**9)
    assert yahoo.calls[0][:2] == ("AAPL", "1m")


async def test_next_bars_when_polled_then_only_new_completed_bars_and_not_faster_than_poll_seconds() -> None:
    clock = afternoon()
    yahoo = FakeYahoo(clock.now())
    feed = feed_for(yahoo, clock)
    await feed.history("AAPL", 20)
    assert await feed.next_bars(clock.now()) == []
    clock.advance(120)
    yahoo.until = clock.now()
    bars = await feed.next_bars(clock.now())
    assert [b.ts for b in bars] == [clock.now() - timedelta(minutes=17), clock.now() - timedelta(minutes=16)]
    calls = len(yahoo.calls)
    clock.advance(10)
    assert await feed.next_bars(clock.now()) == [] and len(yahoo.calls) == calls  # within poll_seconds


async def test_quotes_when_data_moves_then_last_price_once_and_labelled_delayed() -> None:
    clock = afternoon()
    yahoo = FakeYahoo(clock.now())
    feed = feed_for(yahoo, clock, ["AAPL", "MSFT"])
    quotes = await feed.quotes(clock.now())
    assert [(q.symbol, q.bid == q.ask == q.last) for q in quotes] == [("AAPL", True), ("MSFT", True)]
    assert quotes[0].ts == clock.now() - timedelta(minutes=14)  # the running bar's end, 15 min late
    clock.advance(31)
    assert await feed.quotes(clock.now()) == []  # Yahoo has nothing newer: no quote, so staleness shows
    assert feed.name == "yahoo (delayed)" and feed.delay_label == "delayed ~15 min"


async def test_poll_when_yahoo_rate_limits_then_feed_backs_off_and_keeps_running() -> None:
    clock = afternoon()
    yahoo = FakeYahoo(clock.now())
    feed = feed_for(yahoo, clock)
    yahoo.fail = YahooRateLimited("Yahoo is rate-limiting us")
    assert await feed.next_bars(clock.now()) == []
    yahoo.fail = None
    clock.advance(60)
    calls = len(yahoo.calls)
    assert await feed.quotes(clock.now()) == [] and len(yahoo.calls) == calls  # still backing off
    clock.advance(120)
    assert len(await feed.quotes(clock.now())) == 1


async def test_history_when_yahoo_fails_then_empty_warm_up_not_a_crash() -> None:
    clock = afternoon()
    yahoo = FakeYahoo(clock.now())
    yahoo.fail = YahooUnavailable("AAPL: HTTPError: 404")
    assert len(await feed_for(yahoo, clock).history("AAPL", 20)) == 0


async def test_bad_print_when_a_bar_is_100x_then_handed_over_for_the_engines_one_checker_to_reject(
        ) -> None:
    clock = afternoon()
    yahoo = FakeYahoo(clock.now())
    feed = feed_for(yahoo, clock)
    history = await feed.history("AAPL", 20)
    clock.advance(60)
    yahoo.until = clock.now()
    yahoo.prices["AAPL"] = 18_000.0
    bars = await feed.next_bars(clock.now())
    assert [b.symbol for b in bars] == ["AAPL"]  # the feed parses; the engine judges
    why = TickChecker().bar(bars[0], float(history.close[-1]))
    assert why is not None and "100" in why, why


def test_symbols_when_class_shares_then_yahoo_dash_or_the_mapping() -> None:
    feed = YahooFeed(YahooFeedSettings(symbols={"RDS.A": "SHEL"}), ["BRK.B"], 60, afternoon())
    assert feed.yahoo_symbol("BRK.B") == "BRK-B" and feed.yahoo_symbol("RDS.A") == "SHEL"


HAS_YFINANCE = importlib.util.find_spec("yfinance") is not None


@pytest.mark.skipif(HAS_YFINANCE, reason="yfinance is installed here")
def test_config_when_yahoo_named_without_its_extra_then_error_names_the_extra() -> None:
    with pytest.raises(ConfigError, match=r"robo-tui\[yahoo\]"):
        load_settings(None, environ={"ROBO_TUI_FEEDS__KIND": "yahoo"})


@pytest.mark.skipif(not HAS_YFINANCE, reason="needs the yahoo extra")
def test_registry_when_yahoo_named_with_crypto_in_universe_then_error_names_them() -> None:
    s = load_settings(None, environ={"ROBO_TUI_FEEDS__KIND": "yahoo"})
    with pytest.raises(ValueError, match="BTC-USD"):
        FEEDS.load("yahoo")(s, afternoon())


def test_bar_seconds_when_yahoo_has_no_such_interval_then_error_lists_intervals() -> None:
    with pytest.raises(ValueError, match="1m"):
        YahooFeed(YahooFeedSettings(), ["AAPL"], 45, afternoon())


async def test_next_bars_when_yahoo_was_down_then_the_missed_bars_come_in_order() -> None:
    clock = afternoon()
    yahoo = FakeYahoo(clock.now())
    feed = feed_for(yahoo, clock)
    await feed.history("AAPL", 20)
    yahoo.fail = YahooUnavailable("AAPL: HTTPError: 503")
    for _ in range(3):
        clock.advance(60)
        yahoo.until = clock.now()
        assert await feed.next_bars(clock.now()) == []
    yahoo.fail = None
    clock.advance(60)
    yahoo.until = clock.now()
    bars = await feed.next_bars(clock.now())
    assert [b.ts for b in bars] == [clock.now() - timedelta(minutes=n) for n in (19, 18, 17, 16)]

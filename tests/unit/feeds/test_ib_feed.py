"""The IB feed against the fake TWS, which speaks the TWS wire protocol to the real ib_async:
contract details, market-data type, historical bars with keepUpToDate, quotes, pacing, reconnect."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

pytest.importorskip("ib_async")

from robo_tui.adapters.feeds.ib_feed import IbFeed, PacingLimiter, duration_for
from robo_tui.config import load_settings
from robo_tui.config.ib_feed import IbFeedSettings, MarketDataType
from robo_tui.domain.time import datetime_to_ns
from robo_tui.engine.clock import SimClock
from robo_tui.registries.feeds import FEEDS
from tests.conftest import FIXED_START
from tests.unit.brokers_live.fake_tws import FakeTws

STEP = 60


def epoch(clock: SimClock, minutes_ago: int) -> int:
    """The start (epoch seconds) of the 1-minute bar `minutes_ago` minutes before the clock."""
    now = int(clock.now().timestamp())
    return now - now % STEP - minutes_ago * STEP


def row(ts: int, close: float) -> tuple[int, float, float, float, float, float]:
    return (ts, close - 0.1, close + 0.5, close - 0.5, close, 1000.0)


@pytest.fixture
async def tws(clock: SimClock) -> AsyncIterator[FakeTws]:
    server = FakeTws()
    await server.start()
    # 30 completed 1-minute bars of AAPL and the current (incomplete) one
    server.set_bars("AAPL", [row(epoch(clock, n), 100.0 + (30 - n) * 0.1) for n in range(30, -1, -1)])
    server.details["AAPL"] = {"min_tick": 0.01, "long_name": "APPLE INC"}
    server.set_quote("AAPL", 102.99, 103.01, 103.0)
    yield server
    await server.stop()


def settings(port: int, data_type: MarketDataType = "live") -> IbFeedSettings:
    return IbFeedSettings(port=port, client_id=31, timeout_seconds=3, market_data_type=data_type,
                          reconnect_seconds=1)


async def open_feed(tws: FakeTws, clock: SimClock, data_type: MarketDataType = "live") -> IbFeed:
    feed = IbFeed(settings(tws.port, data_type), ["AAPL"], STEP, clock)
    await feed.connect()
    return feed


async def test_history_when_warming_up_then_completed_bars_oldest_first_and_request_keeps_up_to_date(
        tws: FakeTws, clock: SimClock) -> None:
    feed = await open_feed(tws, clock)
    bars = await feed.history("AAPL", 20)
    await feed.close()
    assert len(bars) == 20
    assert list(bars.ts) == [datetime_to_ns(clock.now().replace(second=0, microsecond=0)
                                            - timedelta(minutes=n)) for n in range(20, 0, -1)]
    assert bars.close[-1] == pytest.approx(102.9)  # the incomplete bar is not handed out
    (request,) = tws.hist_requests
    assert request[16] == "1 min" and request[19] == "TRADES" and request[21] == "1"  # keepUpToDate


async def test_next_bars_when_tws_streams_updates_then_each_bar_once_when_complete(
        tws: FakeTws, clock: SimClock) -> None:
    feed = await open_feed(tws, clock)
    await feed.history("AAPL", 20)
    assert await feed.next_bars(clock.now()) == []
    current = epoch(clock, 0)
    tws.push_bar("AAPL", row(current, 104.0))  # the running bar moves
    tws.push_bar("AAPL", row(current + STEP, 105.0))  # a new bar: the previous one is complete
    await tws.settle()
    clock.advance(STEP)
    bars = await feed.next_bars(clock.now())
    assert [(b.close, int(b.ts.timestamp())) for b in bars] == [(104.0, current)]
    assert await feed.next_bars(clock.now()) == []
    await feed.close()


async def test_quotes_when_ticks_arrive_then_bid_ask_last_once_per_update(
        tws: FakeTws, clock: SimClock) -> None:
    feed = await open_feed(tws, clock)
    (quote,) = await feed.quotes(clock.now())
    assert (quote.symbol, quote.bid, quote.ask, quote.last) == ("AAPL", 102.99, 103.01, 103.0)
    assert await feed.quotes(clock.now()) == []  # nothing new: nothing to say (staleness shows)
    clock.advance(5)
    tws.set_quote("AAPL", 103.49, 103.51, 103.5)
    await tws.settle()
    (quote,) = await feed.quotes(clock.now())
    assert (quote.bid, quote.ask, quote.ts) == (103.49, 103.51, clock.now())
    assert feed.name == "ib" and feed.delay_label == "live"
    await feed.close()


async def test_market_data_type_when_account_lacks_live_data_then_delayed_ticks_and_label_say_so(
        tws: FakeTws, clock: SimClock) -> None:
    tws.live_entitled = False
    feed = await open_feed(tws, clock)
    assert feed.name == "ib (delayed)"  # known from connect on, before any quote is read
    (quote,) = await feed.quotes(clock.now())
    assert quote.last == 103.0  # from delayed ticks 66/67/68
    assert feed.data_type == 3 and feed.delay_label == "delayed ~15 min"
    assert feed.name == "ib (delayed)"  # what the status bar shows
    assert [m for m in tws.received if m[0] == "59"] == [["59", "1", "1"]]  # asked for live
    await feed.close()


async def test_contract_details_when_connected_then_min_tick_and_hours_known(
        tws: FakeTws, clock: SimClock) -> None:
    feed = await open_feed(tws, clock)
    info = feed.contract_info("AAPL")
    await feed.close()
    assert info is not None
    assert (info.min_tick, info.long_name, info.time_zone) == (0.01, "APPLE INC", "US/Eastern")
    assert info.liquid_hours.startswith("20261203:0930-20261203:1600") and info.con_id > 0


async def test_connect_when_symbol_unknown_to_ib_then_error_names_it(
        tws: FakeTws, clock: SimClock) -> None:
    feed = IbFeed(settings(tws.port), ["AAPL", "NOPE"], STEP, clock)
    with pytest.raises(ValueError, match="NOPE"):
        await feed.connect()
    await feed.close()


async def test_connect_when_nothing_listens_then_connection_error_names_host_and_port(
        clock: SimClock) -> None:
    feed = IbFeed(IbFeedSettings(port=1, timeout_seconds=1), ["AAPL"], STEP, clock)
    with pytest.raises(ConnectionError, match=r"127\.0\.0\.1:1"):
        await feed.connect()


async def test_reconnect_when_tws_drops_then_missing_bars_backfilled_in_order(
        tws: FakeTws, clock: SimClock) -> None:
    feed = await open_feed(tws, clock)
    await feed.history("AAPL", 20)
    tws.drop_connections()
    await tws.settle()
    current = epoch(clock, 0)
    for n in range(1, 4):  # three bars happen while the feed is away
        tws.push_bar("AAPL", row(current + n * STEP, 110.0 + n))
    clock.advance(4 * STEP)
    bars = await feed.next_bars(clock.now())
    await tws.settle()
    assert [int(b.ts.timestamp()) for b in bars] == [current + n * STEP for n in range(4)]
    assert [b.close for b in bars][1:] == [111.0, 112.0, 113.0]
    assert len(tws.hist_requests) == 2  # the warm-up, then one backfill request
    await feed.close()


async def test_pacing_when_more_requests_than_the_window_allows_then_the_extra_one_waits() -> None:
    now = [0.0]
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    limiter = PacingLimiter(2, 10.0, monotonic=lambda: now[0], sleep=sleep)
    await limiter.acquire()
    now[0] = 3.0
    await limiter.acquire()
    await limiter.acquire()  # must wait until the first leaves the window
    assert waits == [pytest.approx(7.0)]


def test_duration_when_stock_bars_span_days_then_trading_days_are_counted() -> None:
    assert duration_for(20, 60, 86_400) == "1320 S"
    assert duration_for(1000, 60, 23_400) == "8 D"  # 3 trading days, with weekends and holidays
    assert duration_for(400, 86_400, 86_400) == "402 D" or duration_for(400, 86_400, 86_400).endswith("Y")


def test_registry_when_ib_named_then_builds_the_ib_feed_with_configured_host_and_port() -> None:
    s = load_settings(None, environ={"ROBO_TUI_FEEDS__KIND": "ib", "ROBO_TUI_FEEDS__IB__PORT": "4002",
                                     "ROBO_TUI_FEEDS__IB__HOST": "10.0.0.5"})
    feed = FEEDS.load("ib")(s, SimClock(FIXED_START))
    assert isinstance(feed, IbFeed) and feed.settings.port == 4002 and feed.settings.host == "10.0.0.5"
    assert feed.simulated is False


async def test_history_when_ib_has_no_data_yet_then_empty_warm_up_and_bars_once_it_has(
        tws: FakeTws, clock: SimClock) -> None:
    bars = tws.bars.pop("AAPL")
    feed = await open_feed(tws, clock)
    assert len(await feed.history("AAPL", 20)) == 0  # IB answered 162: no data
    tws.set_bars("AAPL", bars)
    clock.advance(STEP)
    fresh = await feed.next_bars(clock.now())
    assert len(fresh) >= 2 and len(tws.hist_requests) == 2  # asked again, the gap filled
    assert await feed.next_bars(clock.now()) == [] and len(tws.hist_requests) == 2
    await feed.close()


async def test_quotes_when_a_tick_arrives_at_the_same_clock_instant_then_still_reported(
        tws: FakeTws, clock: SimClock) -> None:
    feed = await open_feed(tws, clock)
    await feed.quotes(clock.now())
    tws.set_quote("AAPL", 104.0, 104.02, 104.01)  # the clock has not moved (a backtest clock)
    await tws.settle()
    (quote,) = await feed.quotes(clock.now())
    assert quote.last == 104.01
    await feed.close()


def test_build_when_feed_and_broker_share_a_client_id_on_one_tws_then_error_names_both_settings() -> None:
    s = load_settings(None, environ={"ROBO_TUI_FEEDS__KIND": "ib", "ROBO_TUI_BROKER__KIND": "ib",
                                     "ROBO_TUI_FEEDS__IB__CLIENT_ID": "17", "ROBO_TUI_BROKER__IB__CLIENT_ID": "17"})
    with pytest.raises(ValueError, match=r"feeds\.ib\.client_id and broker\.ib\.client_id"):
        FEEDS.load("ib")(s, SimClock(FIXED_START))

"""The Robinhood feed against the fake Robinhood (robin_stocks unmodified, pointed at it through
`feeds.robinhood.api_url` / `nummus_url`) and the fake Crypto Trading API (our signed client)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta

import pytest

pytest.importorskip("robin_stocks")
pytest.importorskip("cryptography")

from pydantic import SecretStr

from robo_tui.adapters.brokers.robinhood_crypto.client import CryptoTradingClient, Ed25519Signer
from robo_tui.adapters.feeds.robinhood_feed import RobinhoodFeed, RobinhoodFeedError, span_for
from robo_tui.config import RobinhoodSettings, load_settings
from robo_tui.config.robinhood_feed import RobinhoodFeedSettings
from robo_tui.engine.clock import SimClock
from robo_tui.registries.feeds import FEEDS
from tests.unit.brokers_live.fake_robinhood import FakeRobinhood
from tests.unit.brokers_live.fake_robinhood_crypto import FakeCryptoApi

STEP = 300


def bars_until(now: datetime, count: int, start_price: float) -> list[tuple[datetime, float, float, float, float, float]]:
    """`count` 5-minute bars, the last one still running at `now`."""
    last = now - timedelta(seconds=now.timestamp() % STEP)
    out = []
    for n in range(count):
        ts = last - timedelta(seconds=STEP * (count - 1 - n))
        price = start_price + n
        out.append((ts, price - 0.5, price + 1.0, price - 1.0, price, 1_000.0))
    return out


@pytest.fixture
def rh(clock: SimClock) -> Iterator[FakeRobinhood]:
    server = FakeRobinhood()
    server.start()
    server.set_price("AAPL", 100.0)
    server.set_price("BTC-USD", 50_000.0)
    server.set_bars("AAPL", bars_until(clock.now(), 40, 90.0))
    server.set_bars("BTC-USD", bars_until(clock.now(), 40, 49_000.0))
    yield server
    from robin_stocks.robinhood import helper

    helper.set_login_state(False)
    helper.SESSION.headers.pop("Authorization", None)
    server.stop()


@pytest.fixture
async def crypto_api() -> AsyncIterator[FakeCryptoApi]:
    server = FakeCryptoApi()
    await server.start()
    server.set_price("BTC-USD", 50_000.0)
    yield server
    await server.stop()


def feed_settings(rh: FakeRobinhood) -> RobinhoodFeedSettings:
    base = f"http://127.0.0.1:{rh.port}"
    return RobinhoodFeedSettings(api_url=f"{base}/api", nummus_url=f"{base}/nummus", poll_seconds=5,
                                 timeout_seconds=3)


def login(rh: FakeRobinhood, password: str | None = None) -> RobinhoodSettings:
    return RobinhoodSettings(username=SecretStr(rh.username), password=SecretStr(password or rh.password),
                             mfa_totp_secret=SecretStr(rh.totp_seed or ""))


@pytest.fixture
async def feed(rh: FakeRobinhood, crypto_api: FakeCryptoApi, clock: SimClock) -> AsyncIterator[RobinhoodFeed]:
    client = CryptoTradingClient(crypto_api.base_url, Ed25519Signer(crypto_api.api_key, crypto_api.private_key),
                                 timeout=3)
    f = RobinhoodFeed(feed_settings(rh), login(rh), ["AAPL", "BTC-USD"], STEP, clock, crypto_client=client)
    await f.connect()
    yield f
    await f.close()


async def test_history_when_warming_up_then_completed_bars_of_stocks_and_crypto_oldest_first(
        feed: RobinhoodFeed, rh: FakeRobinhood, clock: SimClock) -> None:
    stock = await feed.history("AAPL", 20)
    crypto = await feed.history("BTC-USD", 20)
    assert len(stock) == 20 and len(crypto) == 20
    assert stock.close[-1] == 128.0 and crypto.close[-1] == 49_038.0  # the running bar is not handed out
    assert ("AAPL", "5minute", "day") in rh.historical_requests
    assert ("BTC-USD", "5minute", "day") in rh.historical_requests


async def test_next_bars_when_new_bars_appear_then_each_once_in_time_order(
        feed: RobinhoodFeed, rh: FakeRobinhood, clock: SimClock) -> None:
    await feed.history("AAPL", 20)
    await feed.history("BTC-USD", 20)
    assert await feed.next_bars(clock.now()) == []
    clock.advance(STEP)
    rh.add_bar("AAPL", bars_until(clock.now(), 1, 200.0)[0])
    rh.add_bar("BTC-USD", bars_until(clock.now(), 1, 49_100.0)[0])
    bars = await feed.next_bars(clock.now())
    assert [(b.symbol, b.close) for b in bars] == [("AAPL", 129.0), ("BTC-USD", 49_039.0)]
    clock.advance(1)
    assert await feed.next_bars(clock.now()) == []  # within poll_seconds: no request


async def test_quotes_when_polled_then_stock_quote_and_crypto_best_bid_ask(
        feed: RobinhoodFeed, crypto_api: FakeCryptoApi, clock: SimClock) -> None:
    crypto_api.set_price("BTC-USD", 50_123.0)
    quotes = {q.symbol: q for q in await feed.quotes(clock.now())}
    assert (quotes["AAPL"].bid, quotes["AAPL"].last) == (100.0, 100.0)
    assert (quotes["BTC-USD"].bid, quotes["BTC-USD"].ask) == (50_123.0, 50_123.0)
    assert all(q.ts == clock.now() for q in quotes.values())


async def test_quotes_when_crypto_api_is_down_then_stock_quotes_still_come(
        feed: RobinhoodFeed, crypto_api: FakeCryptoApi, clock: SimClock) -> None:
    await crypto_api.stop()
    quotes = await feed.quotes(clock.now())
    assert [q.symbol for q in quotes] == ["AAPL"]  # the crypto failure is logged, never raised


async def test_connect_when_password_wrong_then_error_without_the_secret(
        rh: FakeRobinhood, clock: SimClock) -> None:
    f = RobinhoodFeed(feed_settings(rh), login(rh, "wrong-password-123"), ["AAPL"], STEP, clock)
    with pytest.raises(RobinhoodFeedError) as err:
        await f.connect()
    await f.close()
    assert "wrong-password-123" not in str(err.value)


def test_bar_seconds_when_robinhood_has_no_such_history_then_error_lists_sizes(clock: SimClock) -> None:
    with pytest.raises(ValueError, match="5minute"):
        RobinhoodFeed(RobinhoodFeedSettings(), RobinhoodSettings(), ["AAPL"], 60, clock)


def test_span_when_more_bars_than_a_day_then_the_next_span_robinhood_serves() -> None:
    assert span_for("5minute", 20, 300, stock=True) == "day"
    assert span_for("5minute", 200, 300, stock=True) == "week"
    assert span_for("hour", 200, 3600, stock=False) == "month"


def test_registry_when_robinhood_named_then_builds_the_feed_with_the_configured_hosts() -> None:
    s = load_settings(None, environ={"ROBO_TUI_FEEDS__KIND": "robinhood", "ROBO_TUI_FEEDS__BAR_SECONDS": "300",
                                     "ROBO_TUI_FEEDS__ROBINHOOD__API_URL": "http://127.0.0.1:9/api"})
    feed = FEEDS.load("robinhood")(s, SimClock(datetime.fromisoformat("2026-01-05T14:30:00+00:00")))
    assert isinstance(feed, RobinhoodFeed) and feed.settings.api_url == "http://127.0.0.1:9/api"
    assert feed.simulated is False


async def test_next_bars_when_robinhood_refused_us_for_a_while_then_the_missed_bars_come_in_order(
        feed: RobinhoodFeed, rh: FakeRobinhood, clock: SimClock) -> None:
    await feed.history("AAPL", 20)
    await feed.history("BTC-USD", 20)
    tokens, rh.tokens = set(rh.tokens), set()  # every request is refused (401) for a while
    for n in range(1, 4):  # three bars happen meanwhile
        clock.advance(STEP)
        for symbol, price in (("AAPL", 300.0 + n), ("BTC-USD", 60_000.0 + n)):
            rh.add_bar(symbol, bars_until(clock.now(), 1, price)[0])
        assert await feed.next_bars(clock.now()) == []
    rh.tokens = tokens
    clock.advance(STEP)
    bars = await feed.next_bars(clock.now())
    assert [b.close for b in bars if b.symbol == "AAPL"] == [129.0, 301.0, 302.0, 303.0]
    assert [b.ts for b in bars] == sorted(b.ts for b in bars)

"""Fixtures for the operations tests: a sound live setup against the local fakes (the fake
Robinhood Crypto Trading API, the fake TWS), a real RSS file, the rules analyst and a real
SQLite journal; each test breaks one thing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from robo_tui.adapters.store.sqlite import SqliteStore
from robo_tui.config import Settings, load_settings
from robo_tui.domain.market import Bar, BarArrays, Quote
from robo_tui.engine.clock import SimClock
from tests.unit.brokers_live.fake_robinhood_crypto import FakeCryptoApi

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)

RSS = """<?xml version="1.0"?><rss version="2.0"><channel><title>wire</title>
<item><title>Bitcoin rallies as ETF inflows rise</title><link>https://example.com/a</link>
<guid>a</guid><pubDate>Mon, 02 Mar 2026 14:00:00 GMT</pubDate></item></channel></rss>"""


class ExchangeFeed:
    """A real-market feed at the port (not simulated): the quotes a test sets, timestamped."""

    name = "exchange"
    simulated = False
    supports_streaming = False

    def __init__(self, quotes: dict[str, tuple[float, datetime]]) -> None:
        self.quotes_by_symbol = quotes
        self.connected = False

    async def connect(self) -> None:
        self.connected = True

    async def close(self) -> None:
        self.connected = False

    async def history(self, symbol: str, bars: int) -> BarArrays:
        raise NotImplementedError

    async def next_bars(self, now: datetime) -> list[Bar]:
        return []

    async def quotes(self, now: datetime) -> list[Quote]:
        return [Quote(s, ts, p * 0.9999, p * 1.0001, p) for s, (p, ts) in self.quotes_by_symbol.items()]


def live_settings(tmp_path: Path, api: FakeCryptoApi, **extra: str) -> Settings:
    news = tmp_path / "wire.xml"
    news.write_text(RSS)
    config = tmp_path / "config.toml"
    config.write_text(
        '[engine]\nlive_enabled = true\n'
        '[feeds]\nkind = "ccxt"\n'
        '[broker]\nkind = "robinhood_crypto"\n'
        '[[universe.instruments]]\nsymbol = "BTC-USD"\nasset_class = "crypto"\nsector = "Crypto"\n'
        '[news]\nsample = false\n'
        f'[[news.sources]]\nname = "wire"\nkind = "rss"\nurl = "{news}"\n')
    env = {"ROBO_TUI_BROKER__ROBINHOOD_CRYPTO__API_KEY": api.api_key,
           "ROBO_TUI_BROKER__ROBINHOOD_CRYPTO__PRIVATE_KEY": api.private_key,
           "ROBO_TUI_BROKER__ROBINHOOD_CRYPTO__BASE_URL": api.base_url,
           "ROBO_TUI_BROKER__ROBINHOOD_CRYPTO__TIMEOUT_SECONDS": "2",
           "ROBO_TUI_SECRETS_FILE": str(_empty_secrets(tmp_path)), **extra}
    return load_settings(config, environ=env)


def _empty_secrets(tmp_path: Path) -> Path:
    path = tmp_path / "secrets.toml"
    path.write_text("")
    path.chmod(0o600)
    return path


@pytest.fixture
def clock() -> SimClock:
    return SimClock(NOW)


@pytest.fixture
async def api() -> AsyncIterator[FakeCryptoApi]:
    server = FakeCryptoApi(cash=20_000.0)
    await server.start()
    server.set_price("BTC-USD", 60_000.0)
    yield server
    await server.stop()


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    s = SqliteStore.for_data_dir(tmp_path / "data")
    await s.open()
    yield s
    await s.close()


def fresh_feed(age: timedelta = timedelta(seconds=2)) -> ExchangeFeed:
    return ExchangeFeed({"BTC-USD": (60_000.0, NOW - age)})

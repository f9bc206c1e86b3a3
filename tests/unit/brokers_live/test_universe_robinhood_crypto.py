"""Universe discovery from Robinhood's official Crypto Trading API: the real client, signed
requests, against the local fake venue. The API lists pairs with their status and quotes best
bid/ask but no 24 h volume, so the volume filter is skipped and the tightest spreads rank first."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from robo_tui.adapters.feeds.universe import discover, discovered_settings, rediscoverer
from robo_tui.config import Settings
from robo_tui.domain.market import AssetClass

from .fake_robinhood_crypto import PAIRS, FakeCryptoApi

NOW = datetime(2026, 1, 2, 9, 0, tzinfo=UTC)
MORE_PAIRS = {
    **PAIRS,
    "SOL-USD": ("SOL", "0.01", "0.0001", "0.01", "1000"),
    "DOGE-USD": ("DOGE", "0.000001", "1", "1", "1000000"),
    "LTC-USD": ("LTC", "0.01", "0.0001", "0.01", "1000"),
}


@pytest.fixture
async def api() -> AsyncIterator[FakeCryptoApi]:
    server = FakeCryptoApi(page_size=2, pairs=MORE_PAIRS)
    await server.start()
    server.set_price("BTC-USD", 50_000.0)
    server.half_spread["BTC-USD"] = Decimal(5)  # 2 bps
    server.set_price("ETH-USD", 3_000.0)
    server.half_spread["ETH-USD"] = Decimal(30)  # 200 bps: too wide
    server.set_price("LTC-USD", 100.0)
    server.half_spread["LTC-USD"] = Decimal("0.1")  # 20 bps
    server.set_price("SOL-USD", 150.0)
    server.pair_status["SOL-USD"] = "untradable"
    # DOGE-USD is listed and tradable but has no quote
    yield server
    await server.stop()


def settings_for(api: FakeCryptoApi, **discovery: Any) -> Settings:
    return Settings.model_validate({
        "broker": {"robinhood_crypto": {"api_key": api.api_key, "private_key": api.private_key,
                                        "base_url": api.base_url, "timeout_seconds": 5.0}},
        "universe": {"discovery": {"enabled": True, "source": "robinhood_crypto",
                                   "min_volume": 1e12, **discovery}},
    })


async def test_discover_when_robinhood_source_then_tradable_tight_pairs_kept_without_volume(
        api: FakeCryptoApi, tmp_path: Path) -> None:
    # the venue is served by this loop: the sync discovery runs in a worker thread, as the
    # schedule's refresh does
    found = await asyncio.to_thread(discover, settings_for(api), tmp_path, NOW)

    assert found.venue == "robinhood_crypto"
    assert found.symbols == ("BTC-USD", "LTC-USD")  # the tightest spread first; volume skipped
    assert found.dropped["SOL-USD"] == "not tradable (status untradable)"
    assert found.dropped["DOGE-USD"] == "no best bid/ask"
    assert "wider than 50 bps" in found.dropped["ETH-USD"]
    assert (tmp_path / "universe" / "robinhood_crypto.json").exists()
    assert api.requests_to("GET", "/api/v1/crypto/trading/trading_pairs/")
    assert api.requests_to("GET", "/api/v1/crypto/marketdata/best_bid_ask/")


async def test_discovered_settings_when_robinhood_source_then_crypto_instruments_on_any_feed(
        api: FakeCryptoApi, tmp_path: Path) -> None:
    settings = settings_for(api, max_symbols=1)
    assert settings.feeds.kind == "sim"  # the ccxt source's feed rule does not apply

    chosen = await asyncio.to_thread(discovered_settings, settings, tmp_path, now=NOW)

    assert chosen.universe.symbols == ["BTC-USD"]
    assert chosen.universe.instruments[0].asset_class is AssetClass.CRYPTO


async def test_rediscoverer_when_the_day_turns_then_venue_asked_again_and_instruments_returned(
        api: FakeCryptoApi, tmp_path: Path) -> None:
    settings = settings_for(api)
    await asyncio.to_thread(discover, settings, tmp_path, NOW)
    asked = len(api.requests_to("GET", "/api/v1/crypto/marketdata/best_bid_ask/"))
    api.pair_status["LTC-USD"] = "untradable"

    instruments = await rediscoverer(settings, tmp_path)(NOW.replace(day=3))

    assert [i.symbol for i in instruments] == ["BTC-USD"]
    assert instruments[0].asset_class is AssetClass.CRYPTO
    assert len(api.requests_to("GET", "/api/v1/crypto/marketdata/best_bid_ask/")) > asked


def test_discover_when_robinhood_source_without_keys_then_error_names_them(tmp_path: Path) -> None:
    settings = Settings.model_validate({"universe": {"discovery": {
        "enabled": True, "source": "robinhood_crypto"}}})
    with pytest.raises(ValueError, match="broker.robinhood_crypto.api_key and private_key"):
        discover(settings, tmp_path, NOW)


def test_discovery_source_when_unknown_then_config_error() -> None:
    with pytest.raises(ValueError, match="source"):
        Settings.model_validate({"universe": {"discovery": {"source": "binance"}}})

"""Universe discovery against the local Kraken-shaped server, with the real ccxt library: the
venue's markets filtered, kept in the data dir for a day, the kept one used when the venue is
down, and the engine `robo-tui` builds trading the discovered universe."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("ccxt")

from robo_tui.adapters.feeds.universe import discover, discovered_settings
from robo_tui.config import Settings
from robo_tui.engine.clock import SimClock
from robo_tui.wiring import build_engine
from tests.unit.feeds.kraken_server import FakeKraken

T0 = 1_767_225_600  # 2026-01-01 00:00 UTC
NOW = datetime.fromtimestamp(T0, UTC)


@pytest.fixture
def kraken() -> Iterator[FakeKraken]:
    with FakeKraken(T0 - 600 * 60, T0) as server:
        yield server


def settings_for(kraken: FakeKraken, **discovery: Any) -> Settings:
    return Settings.model_validate({
        "feeds": {"kind": "ccxt", "ccxt": {"base_url": kraken.url, "rate_limit_ms": 1}},
        "universe": {"discovery": {"enabled": True, "min_volume": 1_000_000.0, **discovery}},
    })


def test_discover_when_venue_answers_then_usd_markets_over_the_volume_kept_and_reasons_given(
        kraken: FakeKraken, tmp_path: Path) -> None:
    # the server's 24 h base volume is 100 for every pair: BTC trades 5 M USD, ETH 0.3 M
    found = discover(settings_for(kraken), tmp_path, NOW)

    assert found.symbols == ("BTC-USD",)
    assert found.venue == "kraken"
    assert found.dropped["BTC-USDT"] == "quoted in USDT, not USD"
    assert found.dropped["ETH-USD"].endswith("USD below 1,000,000")
    assert (tmp_path / "universe" / "kraken.json").exists()


def test_discover_when_spread_wide_then_left_out(kraken: FakeKraken, tmp_path: Path) -> None:
    kraken.ticker_override["XXBTZUSD"] = {"b": ["49000.0", "1", "1.0"], "a": ["51000.0", "1", "1.0"]}
    settings = settings_for(kraken, min_volume=100_000.0)

    found = discover(settings, tmp_path, NOW)

    assert found.symbols == ("ETH-USD",)
    assert "wider than 50 bps" in found.dropped["BTC-USD"]


def test_discover_when_kept_universe_is_fresh_then_venue_not_asked_and_after_a_day_it_is(
        kraken: FakeKraken, tmp_path: Path) -> None:
    settings = settings_for(kraken)
    discover(settings, tmp_path, NOW)
    asked = len(kraken.paths("/0/public/Ticker"))

    again = discover(settings, tmp_path, NOW + timedelta(hours=23))
    assert len(kraken.paths("/0/public/Ticker")) == asked
    assert again.at == NOW

    later = discover(settings, tmp_path, NOW + timedelta(hours=25))
    assert len(kraken.paths("/0/public/Ticker")) == asked + 1
    assert later.at == NOW + timedelta(hours=25)


def test_discover_when_venue_down_then_kept_universe_used_else_error_names_the_cause(
        kraken: FakeKraken, tmp_path: Path) -> None:
    settings = settings_for(kraken, refresh_hours=1.0)
    kraken.down = True
    with pytest.raises(ValueError, match="universe discovery on kraken failed"):
        discover(settings, tmp_path, NOW)

    kraken.down = False
    discover(settings, tmp_path, NOW)
    kraken.down = True
    stale = discover(settings, tmp_path, NOW + timedelta(hours=2))
    assert stale.symbols == ("BTC-USD",) and stale.at == NOW


def test_build_engine_when_discovery_on_then_the_engine_trades_the_discovered_universe(
        kraken: FakeKraken, tmp_path: Path) -> None:
    engine = build_engine(settings_for(kraken, min_volume=100_000.0), data_dir=tmp_path,
                          clock=SimClock(NOW), intelligence=False)

    assert engine.symbols == ["BTC-USD", "ETH-USD"]
    assert engine.feed.name == "ccxt:kraken"
    assert all(i.asset_class.value == "crypto" for i in engine.instruments.values())


def test_discovery_when_on_with_the_simulated_feed_then_configured_universe_and_a_warning(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    settings = Settings.model_validate({"universe": {"discovery": {"enabled": True}}})
    assert discovered_settings(settings, tmp_path) is settings
    assert 'needs feeds.kind = "ccxt"' in caplog.text
    with pytest.raises(ValueError, match='needs feeds.kind = "ccxt"'):
        discover(settings, tmp_path, NOW)


def test_discovered_settings_when_off_then_the_configured_universe_stays(tmp_path: Path) -> None:
    settings = Settings()
    assert discovered_settings(settings, tmp_path) is settings

"""A live start takes the day-start equity and the drawdown peak from the broker's real equity,
never from the paper `broker.starting_cash` (issue 12)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from robo_tui.config import load_settings
from robo_tui.domain.market import Bar, BarArrays, Quote
from robo_tui.domain.risk import Mode, TradingState
from robo_tui.engine.clock import SimClock
from robo_tui.engine.engine import LiveRefused
from robo_tui.wiring import build_engine, with_overrides

from .fake_robinhood_crypto import FakeCryptoApi


@pytest.fixture
async def api() -> AsyncIterator[FakeCryptoApi]:
    server = FakeCryptoApi(page_size=3)
    await server.start()
    yield server
    await server.stop()


async def test_live_start_when_broker_equity_differs_from_paper_cash_then_baseline_is_the_broker_equity(
        api: FakeCryptoApi, clock: SimClock, tmp_path: Path) -> None:
    settings = with_overrides(load_settings(None, environ={
        "ROBO_TUI_ENGINE__LIVE_ENABLED": "true",
        "ROBO_TUI_BROKER__KIND": "robinhood_crypto",
        "ROBO_TUI_BROKER__STARTING_CASH": "1000000",
        "ROBO_TUI_BROKER__ROBINHOOD_CRYPTO__API_KEY": api.api_key,
        "ROBO_TUI_BROKER__ROBINHOOD_CRYPTO__PRIVATE_KEY": api.private_key,
        "ROBO_TUI_BROKER__ROBINHOOD_CRYPTO__BASE_URL": api.base_url,
        "ROBO_TUI_BROKER__ROBINHOOD_CRYPTO__TIMEOUT_SECONDS": "2",
    }), mode=Mode.LIVE)
    engine = build_engine(settings, data_dir=tmp_path, clock=clock, intelligence=False)
    await engine.start()
    try:
        equity = engine.account.equity
        assert 0 < equity < 1_000_000  # the fake account is far smaller than the paper cash
        assert engine.day_start_equity == pytest.approx(equity)
        assert engine.peak_equity == pytest.approx(equity)
        await engine.settle(clock.now())
        assert engine.state is TradingState.ACTIVE  # not "N % down" from the paper cash
    finally:
        await engine.stop()


async def test_live_restart_when_equity_fell_meanwhile_then_the_first_start_peak_is_kept(
        api: FakeCryptoApi, clock: SimClock, tmp_path: Path) -> None:
    settings = with_overrides(load_settings(None, environ={
        "ROBO_TUI_ENGINE__LIVE_ENABLED": "true",
        "ROBO_TUI_BROKER__KIND": "robinhood_crypto",
        "ROBO_TUI_BROKER__ROBINHOOD_CRYPTO__API_KEY": api.api_key,
        "ROBO_TUI_BROKER__ROBINHOOD_CRYPTO__PRIVATE_KEY": api.private_key,
        "ROBO_TUI_BROKER__ROBINHOOD_CRYPTO__BASE_URL": api.base_url,
        "ROBO_TUI_BROKER__ROBINHOOD_CRYPTO__TIMEOUT_SECONDS": "2",
    }), mode=Mode.LIVE)
    first = build_engine(settings, data_dir=tmp_path, clock=clock, intelligence=False)
    await first.start()
    peak = first.peak_equity
    await first.stop()
    api.cash -= api.cash * Decimal("0.2")  # the account lost a fifth while robo-tui was down
    again = build_engine(settings, data_dir=tmp_path, clock=clock, intelligence=False)
    await again.start()
    try:
        assert again.account.equity < peak
        assert again.peak_equity == pytest.approx(peak)  # a restart never re-bases the drawdown
    finally:
        await again.stop()


class _StaleFeed:
    """A real-data-shaped feed whose first quotes are an hour old and miss ETH-USD."""

    name = "stale-test-feed"
    simulated = False
    supports_streaming = False

    def __init__(self, clock: SimClock) -> None:
        self._clock = clock

    async def connect(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def history(self, symbol: str, bars: int) -> BarArrays:
        return BarArrays.from_bars(symbol, [])

    async def next_bars(self, now: datetime) -> list[Bar]:
        return []

    async def quotes(self, now: datetime) -> list[Quote]:
        old = now - timedelta(hours=1)
        return [Quote("BTC-USD", old, 49_990.0, 50_010.0, 50_000.0)]


async def test_live_start_when_first_quotes_are_missing_or_stale_then_refused_naming_each(
        api: FakeCryptoApi, clock: SimClock, tmp_path: Path) -> None:
    settings = with_overrides(load_settings(None, environ={
        "ROBO_TUI_ENGINE__LIVE_ENABLED": "true",
        "ROBO_TUI_BROKER__KIND": "robinhood_crypto",
        "ROBO_TUI_BROKER__ROBINHOOD_CRYPTO__API_KEY": api.api_key,
        "ROBO_TUI_BROKER__ROBINHOOD_CRYPTO__PRIVATE_KEY": api.private_key,
        "ROBO_TUI_BROKER__ROBINHOOD_CRYPTO__BASE_URL": api.base_url,
        "ROBO_TUI_UNIVERSE__INSTRUMENTS": '[{"symbol": "BTC-USD", "asset_class": "crypto"},'
                                          ' {"symbol": "ETH-USD", "asset_class": "crypto"}]',
    }), mode=Mode.LIVE)
    engine = build_engine(settings, data_dir=tmp_path, clock=clock, intelligence=False,
                          feed=_StaleFeed(clock))
    try:
        with pytest.raises(LiveRefused) as refused:
            await engine.start()
        assert "BTC-USD: first quote is stale" in str(refused.value)
        assert "ETH-USD: no first quote" in str(refused.value)
    finally:
        await engine.stop()

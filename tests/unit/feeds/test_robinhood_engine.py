"""The engine paper-trading crypto on the Robinhood feed end to end: warm-up from robin_stocks'
crypto historicals (fake Robinhood), best bid/ask from the Crypto Trading API (fake), a breakout
proposal filled by the paper broker on Robinhood's price, STALE once both go quiet."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import pytest

pytest.importorskip("robin_stocks")
pytest.importorskip("cryptography")

from robo_tui.adapters.feeds.robinhood_feed import RobinhoodFeed
from robo_tui.engine.clock import SimClock
from tests.unit.brokers_live.fake_robinhood import FakeRobinhood
from tests.unit.brokers_live.fake_robinhood_crypto import FakeCryptoApi

from .engine_harness import WARMUP, fills, paper_engine, paper_settings, range_prices

STEP = 300


@pytest.fixture
def rh(clock: SimClock) -> Iterator[FakeRobinhood]:
    server = FakeRobinhood()
    server.start()
    server.set_price("BTC-USD", 50_000.0)
    now = clock.now()
    current = now - timedelta(seconds=now.timestamp() % STEP)
    closes = range_prices(WARMUP + 20, 50_000.0)
    server.set_bars("BTC-USD", [(current - (len(closes) - n) * timedelta(seconds=STEP), c, c * 1.001,
                                 c * 0.999, c, 3.0) for n, c in enumerate(closes)]
                    + [(current, 50_000.0, 50_010.0, 49_990.0, 50_000.0, 0.1)])
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


async def test_paper_on_robinhood_when_crypto_breaks_out_then_filled_on_its_price_and_stale_when_quiet(
        rh: FakeRobinhood, crypto_api: FakeCryptoApi, clock: SimClock, tmp_path: Path) -> None:
    base = f"http://127.0.0.1:{rh.port}"
    settings = paper_settings("BTC-USD", "crypto", {
        "ROBO_TUI_FEEDS__KIND": "robinhood", "ROBO_TUI_FEEDS__BAR_SECONDS": str(STEP),
        "ROBO_TUI_FEEDS__ROBINHOOD__API_URL": f"{base}/api",
        "ROBO_TUI_FEEDS__ROBINHOOD__NUMMUS_URL": f"{base}/nummus",
        "ROBO_TUI_FEEDS__ROBINHOOD__POLL_SECONDS": "5",
        "ROBO_TUI_FEEDS__ROBINHOOD__TIMEOUT_SECONDS": "3",
        "ROBO_TUI_BROKER__ROBINHOOD__USERNAME": rh.username,
        "ROBO_TUI_BROKER__ROBINHOOD__PASSWORD": rh.password,
        "ROBO_TUI_BROKER__ROBINHOOD__MFA_TOTP_SECRET": rh.totp_seed or "",
        "ROBO_TUI_BROKER__ROBINHOOD_CRYPTO__API_KEY": crypto_api.api_key,
        "ROBO_TUI_BROKER__ROBINHOOD_CRYPTO__PRIVATE_KEY": crypto_api.private_key,
        "ROBO_TUI_BROKER__ROBINHOOD_CRYPTO__BASE_URL": crypto_api.base_url,
    })
    engine = paper_engine(settings, tmp_path, clock)
    assert isinstance(engine.feed, RobinhoodFeed)
    await engine.start()
    try:
        assert len(engine.market["BTC-USD"]) >= WARMUP
        now = clock.now()
        current = now - timedelta(seconds=now.timestamp() % STEP)
        rh.bars["BTC-USD"][-1] = (current, 50_000.0, 53_000.0, 50_000.0, 53_000.0, 9.0)  # breakout
        rh.add_bar("BTC-USD", (current + timedelta(seconds=STEP), 53_000.0, 53_050.0, 52_950.0, 53_010.0, 0.2))
        crypto_api.set_price("BTC-USD", 53_010.0)
        clock.advance(STEP)
        summary = await engine.run_cycle()
        assert engine.market["BTC-USD"].close[-1] == 53_000.0
        assert summary.proposals >= 1 and summary.orders >= 1, summary
        (fill,) = await fills(engine)
        assert fill["symbol"] == "BTC-USD" and fill["side"] == "buy"
        assert 52_000.0 < float(fill["price"]) < 54_500.0  # Robinhood's price, not a simulated one

        await crypto_api.stop()
        rh.stop()  # both go quiet
        clock.advance(4 * STEP)
        await engine.run_cycle()
        assert "BTC-USD" in engine.guard.stale
    finally:
        await engine.stop()

"""Paper trading on a real exchange's prices, end to end: the engine, the paper broker and the
ccxt feed (the real ccxt library, unmodified) against the local Kraken-shaped server: warm-up,
a fill on the quoted ask, staleness while the exchange is down, backfill when it comes back."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("ccxt")

from robo_tui.adapters.brokers import build_paper
from robo_tui.adapters.feeds.ccxt_feed import CcxtFeed, open_exchange
from robo_tui.adapters.store.sqlite import SqliteStore
from robo_tui.config import Settings
from robo_tui.domain.events import (
    BarsReceived,
    Event,
    OrderFilled,
    QuotesUpdated,
    SourceHealthChanged,
)
from robo_tui.domain.orders import OrderIntent, Side
from robo_tui.domain.risk import Mode
from robo_tui.engine.clock import SimClock
from robo_tui.engine.engine import Engine
from tests.unit.feeds.kraken_server import FakeKraken

T0 = 1_767_225_600  # 2026-01-01 00:00 UTC
START = T0 - 600 * 60


def at(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


@pytest.fixture
def kraken() -> Iterator[FakeKraken]:
    with FakeKraken(START, T0 + 30) as server:
        yield server


@pytest.fixture
async def rig(kraken: FakeKraken, tmp_path: Path) -> AsyncIterator[tuple[Engine, SimClock]]:
    settings = Settings.model_validate({
        "universe": {"instruments": [{"symbol": "BTC-USD", "asset_class": "crypto"},
                                     {"symbol": "ETH-USD", "asset_class": "crypto"}]},
        "feeds": {"kind": "ccxt", "bar_seconds": 60,
                  "ccxt": {"base_url": kraken.url, "rate_limit_ms": 1, "poll_seconds": 1.0}},
        "paper": {"slippage_bps": 10.0, "fill": "quote"},
    })
    clock = SimClock(at(T0 + 30))
    feed = CcxtFeed(settings.feeds.ccxt, ["BTC-USD", "ETH-USD"], 60, clock,
                    exchange=open_exchange(settings.feeds.ccxt))
    engine = Engine(settings, clock=clock, feed=feed, broker=build_paper(settings, Mode.PAPER, clock),
                    store=SqliteStore(tmp_path / "robo.db"), mode=Mode.PAPER)
    await engine.start()
    yield engine, clock
    await engine.stop()


def captured(engine: Engine) -> list[Event]:
    seen: list[Event] = []
    engine.bus.subscribe(seen.append)
    return seen


async def step(engine: Engine, clock: SimClock, kraken: FakeKraken, seconds: int) -> None:
    clock.advance(seconds)
    kraken.now = int(clock.now().timestamp())
    await engine.run_cycle()


async def test_paper_on_kraken_when_buying_then_fills_at_the_quoted_ask_not_simulated(
        rig: tuple[Engine, SimClock], kraken: FakeKraken) -> None:
    engine, clock = rig
    assert engine.simulated is False
    assert len(engine.market["BTC-USD"]) > 100  # warm-up from the exchange's history
    await step(engine, clock, kraken, 30)
    quote = engine.quotes["BTC-USD"]
    assert quote.ask == quote.last + 0.5  # the server's book: last +- 0.5

    seen = captured(engine)
    before = engine.account.positions.get("BTC-USD")
    held = before.quantity if before is not None else 0.0

    result = await engine.manual_order(OrderIntent("BTC-USD", Side.BUY, 0.01, confidence=0.9))

    assert result.sent, result.verdict
    (fill,) = [e.fill for e in seen if isinstance(e, OrderFilled)]
    assert (fill.symbol, fill.price) == ("BTC-USD", quote.ask)  # no slippage on a real book
    assert engine.account.positions["BTC-USD"].quantity == pytest.approx(held + 0.01)


async def test_outage_when_exchange_down_then_stale_and_on_return_missed_bars_first_in_order(
        rig: tuple[Engine, SimClock], kraken: FakeKraken) -> None:
    engine, clock = rig
    await step(engine, clock, kraken, 30)
    last_before = int(engine.market["BTC-USD"].ts[-1])
    seen = captured(engine)
    kraken.down = True
    for _ in range(5):
        await step(engine, clock, kraken, 60)

    assert "BTC-USD" in engine.guard.stale and "ETH-USD" in engine.guard.stale
    assert any(isinstance(e, SourceHealthChanged) and e.source == "data:BTC-USD"
               and not e.healthy for e in seen)
    assert not any(isinstance(e, BarsReceived) for e in seen)

    kraken.down = False
    await step(engine, clock, kraken, 60)

    (received,) = [e for e in seen if isinstance(e, BarsReceived)]
    btc = [b.ts for b in received.bars if b.symbol == "BTC-USD"]
    assert btc[0] == datetime.fromtimestamp(last_before / 1e9, UTC) + timedelta(minutes=1)
    assert len(btc) == 6 and btc == sorted(btc)  # the five missed bars, then the new one
    assert [b.ts for b in received.bars] == sorted(b.ts for b in received.bars)
    gaps = np.diff(engine.market["BTC-USD"].ts[-20:])
    assert set(gaps.tolist()) == {60 * 10**9}  # contiguous: nothing lost in the outage
    assert engine.guard.stale == {}
    assert any(isinstance(e, SourceHealthChanged) and e.source == "data:BTC-USD" and e.healthy
               for e in seen)


async def test_bad_print_when_exchange_sends_one_then_rejected_with_reason_and_never_shown(
        rig: tuple[Engine, SimClock], kraken: FakeKraken, caplog: pytest.LogCaptureFixture) -> None:
    engine, clock = rig
    await step(engine, clock, kraken, 30)
    seen = captured(engine)
    bad_at = T0 + 60
    kraken.bad_bars[("XXBTZUSD", bad_at)] = {"high": "5000000.0", "close": "5000000.0"}
    kraken.ticker_override["XXBTZUSD"] = {"b": ["60000.0", "1", "1.0"], "a": ["59000.0", "1", "1.0"]}
    before = engine.prices["BTC-USD"]

    await step(engine, clock, kraken, 150)  # the bad bar and the good one after it close

    shown_bars = [b for e in seen if isinstance(e, BarsReceived) for b in e.bars]
    shown_quotes = [q for e in seen if isinstance(e, QuotesUpdated) for q in e.quotes]
    assert at(bad_at) not in [b.ts for b in shown_bars if b.symbol == "BTC-USD"]
    assert {b.symbol for b in shown_bars} == {"BTC-USD", "ETH-USD"}  # the good ones still flow
    assert [q.symbol for q in shown_quotes] == ["ETH-USD"]
    assert engine.prices["BTC-USD"] < before * 2
    assert "bar for BTC-USD rejected: print 5e+06" in caplog.text
    assert "quote for BTC-USD rejected: crossed quote: bid 60000.0 above ask 59000.0" in caplog.text

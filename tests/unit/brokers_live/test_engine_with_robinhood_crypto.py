"""The engine in live mode with the Robinhood crypto adapter against the fake Crypto Trading
API: a crypto entry with a stop is placed through the gate and protected by a venue stop-loss;
an entry whose answer is lost is UNKNOWN, then resolved by asking the venue (never re-sent)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from robo_tui.adapters.brokers.robinhood_crypto.broker import RobinhoodCryptoBroker, venue_client_id
from robo_tui.adapters.brokers.robinhood_crypto.client import ORDERS_PATH
from robo_tui.config import load_settings
from robo_tui.domain.orders import OrderIntent, OrderStatus, Side
from robo_tui.domain.risk import Mode
from robo_tui.engine.clock import SimClock
from robo_tui.engine.engine import Engine
from robo_tui.wiring import build_engine, with_overrides

from .fake_robinhood_crypto import FakeCryptoApi


@pytest.fixture
async def api() -> AsyncIterator[FakeCryptoApi]:
    server = FakeCryptoApi(page_size=3)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def engine(api: FakeCryptoApi, clock: SimClock, tmp_path: Path) -> AsyncIterator[Engine]:
    settings = with_overrides(load_settings(None, environ={
        "ROBO_TUI_ENGINE__LIVE_ENABLED": "true",
        "ROBO_TUI_BROKER__KIND": "robinhood_crypto",
        "ROBO_TUI_BROKER__ROBINHOOD_CRYPTO__API_KEY": api.api_key,
        "ROBO_TUI_BROKER__ROBINHOOD_CRYPTO__PRIVATE_KEY": api.private_key,
        "ROBO_TUI_BROKER__ROBINHOOD_CRYPTO__BASE_URL": api.base_url,
        "ROBO_TUI_BROKER__ROBINHOOD_CRYPTO__TIMEOUT_SECONDS": "2",
    }), mode=Mode.LIVE)
    e = build_engine(settings, data_dir=tmp_path, clock=clock, intelligence=False)
    assert isinstance(e.broker, RobinhoodCryptoBroker)
    await e.start()
    price = e.book.prices.get("BTC-USD") or e.account.prices.get("BTC-USD")
    api.set_price("BTC-USD", price or 50_000.0)
    yield e
    await e.stop()


async def statuses(e: Engine) -> dict[str, str]:
    return {r["client_order_id"]: r["status"]
            for r in await e.store.query("select client_order_id, status from orders")}


async def test_live_crypto_entry_with_a_stop_when_allowed_then_filled_and_protected_by_a_venue_stop_loss(
        api: FakeCryptoApi, engine: Engine) -> None:
    price = float(api.prices["BTC-USD"])
    result = await engine.manual_order(OrderIntent("BTC-USD", Side.BUY, 0.01, stop_loss=price * 0.95, take_profit=price * 1.1,
                                                   confidence=0.9))
    assert result.sent, result.verdict.reasons
    coid = result.order.client_order_id
    assert (await statuses(engine))[coid] == OrderStatus.FILLED.value
    (stop,) = [o for o in api.orders.values() if o["type"] == "stop_loss"]
    assert stop["state"] == "open" and stop["client_order_id"] == venue_client_id(coid + ":sl")
    assert engine.account.position_qty("BTC-USD") == pytest.approx(0.01)


async def test_live_crypto_entry_when_the_answer_is_lost_then_unknown_then_resolved_by_asking(
        api: FakeCryptoApi, engine: Engine) -> None:
    price = float(api.prices["BTC-USD"])
    api.drop_next_order_answer = True
    result = await engine.manual_order(OrderIntent("BTC-USD", Side.BUY, 0.01, stop_loss=price * 0.95, take_profit=price * 1.1,
                                                   confidence=0.9))
    coid = result.order.client_order_id
    assert result.ack.status is OrderStatus.UNKNOWN
    await engine.settle(engine.clock.now())  # the next poll asks the venue for our client order id
    assert (await statuses(engine))[coid] == OrderStatus.FILLED.value
    assert len([s for s in api.requests_to("POST", ORDERS_PATH)
                if venue_client_id(coid) in s.body]) == 1  # never re-sent
    assert [o["state"] for o in api.orders.values() if o["type"] == "stop_loss"] == ["open"]


def test_paper_mode_when_robinhood_crypto_is_configured_then_paper_and_its_client_never_imported() -> None:
    script = (
        "import sys\n"
        "from robo_tui.config import load_settings\n"
        "from robo_tui.domain.risk import Mode\n"
        "from robo_tui.engine.clock import WallClock\n"
        "from robo_tui.wiring import build_broker\n"
        "s = load_settings(None, environ={'ROBO_TUI_BROKER__KIND': 'robinhood_crypto'})\n"
        "print(type(build_broker(s, Mode.PAPER, WallClock())).__name__)\n"
        "print(sorted(m for m in sys.modules if m.startswith(('cryptography', "
        "'robo_tui.adapters.brokers.robinhood_crypto'))))\n"
    )
    run = subprocess.run([sys.executable, "-c", script], check=False, capture_output=True, text=True,
                         timeout=60, cwd=Path(__file__).resolve().parents[3])
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["PaperBroker", "[]"]

"""Shadow mode: the whole engine on the live account (the fake Robinhood Crypto Trading API)
with orders judged by the gate and recorded as they would be sent, never sent."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from robo_tui.adapters.brokers.robinhood_crypto.client import ORDERS_PATH
from robo_tui.adapters.brokers.shadow import ShadowBroker
from robo_tui.config import load_settings
from robo_tui.domain.orders import OrderIntent, OrderStatus, Side
from robo_tui.domain.risk import Mode
from robo_tui.engine.clock import SimClock
from robo_tui.engine.engine import Engine, ModeChangeRefused
from robo_tui.headless import summary_line
from robo_tui.wiring import WiringError, build_broker, build_engine, with_overrides
from tests.unit.brokers_live.fake_robinhood_crypto import FakeCryptoApi

CONFIG = """
[broker]
kind = "robinhood_crypto"
[[universe.instruments]]
symbol = "BTC-USD"
asset_class = "crypto"
sector = "Crypto"
[[universe.instruments]]
symbol = "ETH-USD"
asset_class = "crypto"
sector = "Crypto"
"""


@pytest.fixture
async def shadow(api: FakeCryptoApi, clock: SimClock, tmp_path: Path) -> AsyncIterator[Engine]:
    config = tmp_path / "config.toml"
    config.write_text(CONFIG)
    settings = with_overrides(load_settings(config, environ={
        "ROBO_TUI_BROKER__ROBINHOOD_CRYPTO__API_KEY": api.api_key,
        "ROBO_TUI_BROKER__ROBINHOOD_CRYPTO__PRIVATE_KEY": api.private_key,
        "ROBO_TUI_BROKER__ROBINHOOD_CRYPTO__BASE_URL": api.base_url,
        "ROBO_TUI_BROKER__ROBINHOOD_CRYPTO__TIMEOUT_SECONDS": "2",
        "ROBO_TUI_SECRETS_FILE": str(_empty(tmp_path / "secrets.toml")),
    }), mode=Mode.SHADOW)
    engine = build_engine(settings, data_dir=tmp_path / "data", clock=clock, intelligence=False)
    await engine.start()
    for symbol in ("BTC-USD", "ETH-USD"):  # the venue marks where the feed prices
        api.set_price(symbol, engine.book.prices[symbol])
    yield engine
    await engine.stop()


def _empty(path: Path) -> Path:
    path.write_text("")
    path.chmod(0o600)
    return path


async def orders(engine: Engine) -> list[dict[str, object]]:
    return await engine.store.query("SELECT client_order_id, symbol, status, message FROM orders")


async def test_shadow_when_a_trader_orders_then_judged_recorded_as_shadow_and_never_sent(
        api: FakeCryptoApi, shadow: Engine) -> None:
    assert isinstance(shadow.broker, ShadowBroker)
    assert shadow.account.equity == pytest.approx(20_000.0)  # the live account's real equity
    price = shadow.book.prices["BTC-USD"]
    result = await shadow.manual_order(OrderIntent("BTC-USD", Side.BUY, 0.01, stop_loss=price * 0.95,
                                                   take_profit=price * 1.1, confidence=0.9))
    assert result.verdict.allowed and result.ack is not None
    assert result.ack.status is OrderStatus.CANCELLED
    assert result.ack.message.startswith("SHADOW: would send buy 0.01 BTC-USD")
    (row,) = await orders(shadow)
    assert row["status"] == "cancelled" and str(row["message"]).startswith("SHADOW")
    assert api.requests_to("POST", ORDERS_PATH) == [] and api.orders == {}
    assert shadow.account.position_qty("BTC-USD") == 0  # nothing was bought


async def test_shadow_when_an_order_breaks_the_live_cap_then_denied_like_live(shadow: Engine) -> None:
    price = shadow.book.prices["BTC-USD"]
    result = await shadow.manual_order(OrderIntent("BTC-USD", Side.BUY, 0.15, stop_loss=price * 0.99,
                                                   take_profit=price * 1.02, confidence=0.9))
    assert not result.sent and "max_live_order_notional" in result.verdict.codes


async def test_shadow_when_forty_cycles_run_then_proposals_are_judged_and_the_venue_sees_no_order(
        api: FakeCryptoApi, shadow: Engine, clock: SimClock) -> None:
    for _ in range(40):
        clock.advance(shadow.settings.feeds.bar_seconds)
        summary = await shadow.run_cycle()
        for symbol, price in shadow.book.prices.items():  # the venue marks where the feed is
            api.set_price(symbol, price)
    assert "[SHADOW: orders recorded, never sent]" in summary_line(summary, simulated=True)
    verdicts = await shadow.store.query("SELECT allowed FROM risk_verdicts")
    recorded = await orders(shadow)
    assert verdicts, "no proposal was judged in 40 cycles"
    assert recorded and all(str(r["message"]).startswith("SHADOW") for r in recorded)
    assert api.requests_to("POST", ORDERS_PATH) == [] and api.orders == {}


async def test_shadow_when_the_kill_switch_is_pulled_then_the_real_account_orders_are_untouched(
        api: FakeCryptoApi, shadow: Engine) -> None:
    await shadow.store.journal_command("halt", {"reason": "test"}, "cli")
    await shadow.tick()
    assert api.requests_to("POST", ORDERS_PATH) == []
    assert [s for s in api.seen if s.method == "POST"] == []  # no cancel reached the venue


async def test_mode_switch_when_asked_for_shadow_then_refused_and_from_shadow_only_paper(
        shadow: Engine) -> None:
    with pytest.raises(ModeChangeRefused):
        await shadow.set_mode(Mode.AUTO, by="ui")
    assert shadow.mode is Mode.SHADOW
    await shadow.set_mode(Mode.PAPER, by="ui")
    assert shadow.mode is Mode.PAPER and not isinstance(shadow.broker, ShadowBroker)
    with pytest.raises(ModeChangeRefused) as info:
        await shadow.set_mode(Mode.SHADOW, by="ui")
    assert "--mode shadow" in str(info.value)


def test_shadow_when_the_broker_is_paper_then_the_wiring_refuses_naming_broker_kind(
        clock: SimClock) -> None:
    with pytest.raises(WiringError) as info:
        build_broker(load_settings(None, environ={}), Mode.SHADOW, clock)
    assert "broker.kind" in str(info.value)


async def test_small_caps_when_the_daily_order_cap_is_reached_then_entries_denied_and_exits_go_out(
        api: FakeCryptoApi, shadow: Engine) -> None:
    shadow.risk.update_settings(shadow.settings.risk.model_copy(  # a config of 2 a day
        update={"max_live_orders_per_day": 2, "live_symbols": ["BTC-USD"]}))
    price = shadow.book.prices["BTC-USD"]

    def entry(symbol: str = "BTC-USD") -> OrderIntent:
        px = shadow.book.prices[symbol]
        return OrderIntent(symbol, Side.BUY, 0.01, stop_loss=px * 0.95, take_profit=px * 1.1,
                           confidence=0.9)

    eth = await shadow.manual_order(entry("ETH-USD"))
    assert "live_symbol_not_allowed" in eth.verdict.codes
    assert (await shadow.manual_order(entry())).sent
    assert (await shadow.manual_order(entry())).sent
    third = await shadow.manual_order(entry())
    assert not third.sent and third.verdict.codes == ("max_live_orders_per_day",)
    assert price > 0 and api.requests_to("POST", ORDERS_PATH) == []


async def test_small_caps_when_the_engine_restarts_mid_day_then_the_day_s_orders_still_count(
        api: FakeCryptoApi, shadow: Engine, tmp_path: Path, clock: SimClock) -> None:
    px = shadow.book.prices["BTC-USD"]
    for _ in range(2):
        assert (await shadow.manual_order(OrderIntent(
            "BTC-USD", Side.BUY, 0.01, stop_loss=px * 0.95, take_profit=px * 1.1, confidence=0.9))).sent
    await shadow.stop()
    settings = shadow.settings.model_copy(update={"risk": shadow.settings.risk.model_copy(
        update={"max_live_orders_per_day": 2})})
    again = build_engine(settings, data_dir=tmp_path / "data", clock=clock, intelligence=False)
    await again.start()
    try:
        third = await again.manual_order(OrderIntent(
            "BTC-USD", Side.BUY, 0.01, stop_loss=px * 0.95, take_profit=px * 1.1, confidence=0.9))
        assert third.verdict.codes == ("max_live_orders_per_day",)
    finally:
        await again.stop()
    await shadow.store.open()  # the fixture closes it again

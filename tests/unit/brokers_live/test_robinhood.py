"""RobinhoodBroker against a fake Robinhood API on 127.0.0.1 (tests/unit/brokers_live/
fake_robinhood.py): robin_stocks runs unmodified, its own session redirected to the fake."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from itertools import count

import pytest

from robo_tui.adapters.brokers.robinhood import (
    RobinhoodBroker,
    RobinhoodRefused,
    RobinhoodUnavailable,
)
from robo_tui.domain.market import AssetClass
from robo_tui.domain.orders import Order, OrderIntent, OrderStatus, OrderType, Side
from robo_tui.engine.clock import SimClock

from .conftest import rh_settings
from .fake_robinhood import FakeRobinhood

_ids = count(1)
T0 = datetime(2026, 1, 5, 14, 30, tzinfo=UTC)


def order(symbol: str, side: Side, qty: float, *, limit: float | None = None,
          stop: float | None = None, target: float | None = None, reduce_only: bool = False) -> Order:
    intent = OrderIntent(symbol, side, qty, OrderType.LIMIT if limit is not None else OrderType.MARKET,
                         limit_price=limit, stop_loss=stop, take_profit=target, reduce_only=reduce_only)
    return Order(f"O-rh-{next(_ids)}", intent, T0, "test")


def order_posts(server: FakeRobinhood) -> list[dict[str, str]]:
    return [s.body for s in server.requests_to("POST", "/api/orders/") if not s.path.endswith("/cancel/")]


async def test_connect_when_not_in_live_mode_then_refused_before_any_request(
    rh_server: FakeRobinhood, clock: SimClock,
) -> None:
    broker = RobinhoodBroker(rh_settings(rh_server), clock=clock, live=False)
    with pytest.raises(RobinhoodRefused, match="no paper accounts"):
        await broker.connect()
    assert rh_server.seen == []


async def test_connect_when_the_password_is_wrong_then_unavailable_and_no_credential_is_shown(
    rh_server: FakeRobinhood, clock: SimClock, caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "Wr0ng-Secret-Pa55"
    broker = RobinhoodBroker(rh_settings(rh_server, password=wrong), clock=clock, live=True)
    with pytest.raises(RobinhoodUnavailable, match="login failed") as info:
        await broker.connect()
    (login,) = rh_server.requests_to("POST", "/api/oauth2/token/")
    assert login.body["password"] == wrong  # it was really sent...
    out = capsys.readouterr()
    shown = str(info.value) + repr(info.value) + caplog.text + out.out + out.err
    for secret in (wrong, rh_server.username, rh_server.totp_seed or ""):
        assert secret not in shown  # ...and never shown
    assert out.out == ""  # robin_stocks' prints went to the log, not stdout


async def test_connect_when_credentials_are_right_then_logs_in_with_a_current_totp_code(
    rh_server: FakeRobinhood, clock: SimClock, capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    broker = RobinhoodBroker(rh_settings(rh_server), clock=clock, live=True)
    await broker.connect()
    (login,) = rh_server.requests_to("POST", "/api/oauth2/token/")
    assert login.body["mfa_code"].isdigit() and len(login.body["mfa_code"]) == 6
    token = next(iter(rh_server.tokens))
    assert capsys.readouterr().out == ""
    assert token not in caplog.text and rh_server.password not in caplog.text
    account = await broker.account()
    assert account.cash == 100_000.0 and account.positions == {}
    await broker.close()


async def test_submit_when_robinhood_never_answers_then_unknown_and_the_event_loop_keeps_running(
    rh_server: FakeRobinhood, clock: SimClock,
) -> None:
    broker = RobinhoodBroker(rh_settings(rh_server, timeout=1.0), clock=clock, live=True)
    await broker.connect()
    rh_server.hang_orders = True
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.02)
            ticks += 1

    task = asyncio.create_task(ticker())
    ack = await broker.submit(order("AAPL", Side.BUY, 1))
    task.cancel()
    assert ack.status is OrderStatus.UNKNOWN and "no answer" in ack.message
    assert ticks >= 20  # ~0.8 s of waiting never blocked the loop
    rh_server.release_hung()
    await broker.close()


async def test_submit_when_the_answer_is_lost_after_the_order_exists_then_unknown_then_matched(
    rh: RobinhoodBroker, rh_server: FakeRobinhood,
) -> None:
    rh_server.fail_after_create = 504
    o = order("AAPL", Side.BUY, 7)
    ack = await rh.submit(o)
    assert ack.status is OrderStatus.UNKNOWN and "may exist" in ack.message
    rh_server.fail_after_create = None
    (created,) = rh_server.orders.values()
    found = await rh.order_status(o.client_order_id)
    assert (found.status, found.broker_order_id) == (OrderStatus.FILLED, created["id"])
    (fill,) = await rh.poll_fills()
    assert (fill.client_order_id, fill.quantity, fill.price) == (o.client_order_id, 7, 100.0)
    assert await rh.poll_fills() == []


async def test_submit_when_the_answer_comes_late_then_the_order_id_is_kept(
    rh_server: FakeRobinhood, clock: SimClock,
) -> None:
    broker = RobinhoodBroker(rh_settings(rh_server, timeout=0.5), clock=clock, live=True,
                             poll_interval=0.0)
    await broker.connect()
    rh_server.accept_then_hang = True
    o = order("AAPL", Side.BUY, 2)
    assert (await broker.submit(o)).status is OrderStatus.UNKNOWN
    rh_server.accept_then_hang = False
    rh_server.release_hung()
    for _ in range(50):
        await asyncio.sleep(0.02)
        status = await broker.order_status(o.client_order_id)
        if status.broker_order_id:
            break
    (created,) = rh_server.orders.values()
    assert (status.status, status.broker_order_id) == (OrderStatus.FILLED, created["id"])
    await broker.close()


async def test_submit_when_robinhood_refuses_then_rejected_with_its_reason(
    rh: RobinhoodBroker, rh_server: FakeRobinhood,
) -> None:
    rh_server.reject_orders = "Market is closed for this security."
    ack = await rh.submit(order("AAPL", Side.BUY, 1))
    assert ack.status is OrderStatus.REJECTED and "Market is closed" in ack.message


async def test_submit_when_the_symbol_is_unknown_then_rejected_as_not_sent(rh: RobinhoodBroker) -> None:
    ack = await rh.submit(order("ZZZZ", Side.BUY, 1))
    assert ack.status is OrderStatus.REJECTED and "ZZZZ" in ack.message


async def test_sell_when_nothing_is_held_then_rejected_because_robinhood_does_not_short(
    rh: RobinhoodBroker,
) -> None:
    assert rh.supports_short is False
    ack = await rh.submit(order("AAPL", Side.SELL, 3))
    assert ack.status is OrderStatus.REJECTED and "Not enough shares" in ack.message


async def test_entry_with_a_stop_when_it_fills_then_a_gtc_stop_sell_protects_it(
    rh: RobinhoodBroker, rh_server: FakeRobinhood,
) -> None:
    entry = order("AAPL", Side.BUY, 10, stop=95.0, target=120.0)
    assert (await rh.submit(entry)).status is OrderStatus.FILLED
    buy, stop = order_posts(rh_server)
    assert (buy["side"], buy["quantity"]) == ("buy", "10")
    assert (stop["side"], stop["trigger"], stop["stop_price"], stop["time_in_force"], stop["quantity"]) == (
        "sell", "stop", "95.0", "gtc", "10.0")
    assert (await rh.poll_fills())[0].reason == "order"
    rh_server.set_price("AAPL", 94.0)
    (exit_fill,) = await rh.poll_fills()
    assert (exit_fill.client_order_id, exit_fill.reason, exit_fill.side, exit_fill.price) == (
        entry.client_order_id + ":sl", "stop_loss", Side.SELL, 94.0)
    assert (await rh.account()).positions == {}


async def test_partial_exit_when_the_position_is_protected_then_the_stop_is_lifted_and_rearmed(
    rh: RobinhoodBroker, rh_server: FakeRobinhood,
) -> None:
    await rh.submit(order("AAPL", Side.BUY, 10, stop=95.0))
    exit_ack = await rh.submit(order("AAPL", Side.SELL, 4, reduce_only=True))
    assert exit_ack.status is OrderStatus.FILLED, exit_ack.message
    stops = [o for o in rh_server.orders.values() if o.get("trigger") == "stop"]
    assert [(o["state"], float(o["quantity"])) for o in stops] == [("cancelled", 10.0), ("queued", 6.0)]
    assert float(stops[1]["stop_price"]) == 95.0


async def test_sell_fee_when_robinhood_charges_one_then_it_is_on_the_fill(
    rh: RobinhoodBroker, rh_server: FakeRobinhood,
) -> None:
    await rh.submit(order("AAPL", Side.BUY, 5))
    rh_server.fee_per_sell = 0.02
    await rh.submit(order("AAPL", Side.SELL, 5))
    fills = await rh.poll_fills()
    assert [f.fee for f in fills] == [0.0, 0.02]


async def test_crypto_when_a_fractional_market_buy_fills_then_the_account_holds_it_at_the_mark(
    rh: RobinhoodBroker, rh_server: FakeRobinhood,
) -> None:
    o = order("BTC-USD", Side.BUY, 0.012345678)
    assert (await rh.submit(o)).status is OrderStatus.FILLED
    (post,) = rh_server.requests_to("POST", "/nummus/orders/")
    assert post.body["quantity"] == 0.01234568 and post.body["side"] == "buy"
    (fill,) = await rh.poll_fills()
    assert (fill.symbol, fill.price) == ("BTC-USD", 50_000.0)
    assert fill.quantity == pytest.approx(0.01234568)
    rh_server.set_price("BTC-USD", 52_000.0)
    account = await rh.account()
    assert account.positions["BTC-USD"].quantity == pytest.approx(0.01234568)
    assert account.positions["BTC-USD"].avg_price == pytest.approx(50_000.0)
    assert account.prices["BTC-USD"] == 52_000.0


async def test_crypto_entry_with_a_stop_then_sent_plain_and_no_venue_stop_because_robo_tui_holds_it(
    rh: RobinhoodBroker, rh_server: FakeRobinhood,
) -> None:
    assert not rh.capabilities(AssetClass.CRYPTO).stops  # the engine holds the stop
    ack = await rh.submit(order("BTC-USD", Side.BUY, 0.01, stop=45_000.0))
    assert ack.status is OrderStatus.FILLED, ack.message
    (post,) = rh_server.requests_to("POST", "/nummus/orders/")
    assert post.body["side"] == "buy" and post.body["type"] == "market"
    await rh.poll_fills()
    assert len(rh_server.requests_to("POST", "/nummus/orders/")) == 1  # no stop placed later


async def test_limit_order_when_the_price_reaches_it_later_then_the_poll_reports_the_fill(
    rh: RobinhoodBroker, rh_server: FakeRobinhood,
) -> None:
    o = order("AAPL", Side.BUY, 3, limit=97.5)
    assert (await rh.submit(o)).status is OrderStatus.SUBMITTED
    assert await rh.poll_fills() == []
    rh_server.set_price("AAPL", 97.0)
    (fill,) = await rh.poll_fills()
    assert (fill.client_order_id, fill.price) == (o.client_order_id, 97.0)
    assert (await rh.order_status(o.client_order_id)).status is OrderStatus.FILLED


async def test_order_updates_when_robinhood_cancels_a_resting_order_then_reported_once(
    rh: RobinhoodBroker, rh_server: FakeRobinhood,
) -> None:
    o = order("AAPL", Side.BUY, 1, limit=80.0)
    await rh.submit(o)
    (server_order,) = rh_server.orders.values()
    server_order["state"] = "cancelled"  # e.g. a good-for-day order at the close
    (update,) = await rh.poll_order_updates()
    assert (update.client_order_id, update.status) == (o.client_order_id, OrderStatus.CANCELLED)
    assert await rh.poll_order_updates() == []


async def test_cancel_all_when_a_protective_stop_rests_then_only_entry_orders_are_cancelled(
    rh: RobinhoodBroker, rh_server: FakeRobinhood,
) -> None:
    await rh.submit(order("AAPL", Side.BUY, 5, stop=90.0))
    resting = order("AAPL", Side.BUY, 1, limit=70.0)
    await rh.submit(resting)
    acks = await rh.cancel_all()
    assert [(a.client_order_id, a.status) for a in acks] == [(resting.client_order_id, OrderStatus.CANCELLED)]
    stop = next(o for o in rh_server.orders.values() if o.get("trigger") == "stop")
    assert stop["state"] == "queued"


async def test_order_status_when_the_order_was_not_sent_in_this_session_then_unknown(
    rh: RobinhoodBroker,
) -> None:
    ack = await rh.order_status("O-from-yesterday")
    assert ack.status is OrderStatus.UNKNOWN and "Robinhood app" in ack.message


async def test_exit_when_robinhood_rejects_it_then_the_lifted_stop_is_rearmed(
    rh: RobinhoodBroker, rh_server: FakeRobinhood,
) -> None:
    await rh.submit(order("AAPL", Side.BUY, 10, stop=95.0))
    ack = await rh.submit(order("AAPL", Side.SELL, 11, reduce_only=True))
    assert ack.status is OrderStatus.REJECTED and "Not enough shares" in ack.message
    stops = [o for o in rh_server.orders.values() if o.get("trigger") == "stop"]
    assert [(o["state"], float(o["quantity"])) for o in stops] == [("cancelled", 10.0), ("queued", 10.0)]

"""IbBroker against a fake TWS speaking the TWS API wire protocol (tests/unit/brokers_live/
fake_tws.py): every test here goes through ib_async's real client, decoder and wrapper."""

from __future__ import annotations

import socket
from datetime import UTC, datetime
from itertools import count

import pytest

from robo_tui.adapters.brokers.ib import IbAccountRefused, IbBroker, IbUnavailable
from robo_tui.domain.orders import Order, OrderIntent, OrderStatus, OrderType, Side
from robo_tui.engine.clock import SimClock

from .conftest import ib_settings
from .fake_tws import FakeTws

_ids = count(1)
T0 = datetime(2026, 1, 5, 14, 30, tzinfo=UTC)


def order(symbol: str, side: Side, qty: float, *, limit: float | None = None,
          stop: float | None = None, target: float | None = None, reduce_only: bool = False,
          coid: str | None = None) -> Order:
    intent = OrderIntent(symbol, side, qty, OrderType.LIMIT if limit is not None else OrderType.MARKET,
                         limit_price=limit, stop_loss=stop, take_profit=target, reduce_only=reduce_only)
    return Order(coid or f"O-ib-{next(_ids)}", intent, T0, "test")


# placeOrder fields (ib_async client.placeOrder): 1 orderId, 3 symbol, 4 secType, 9 exchange,
# 11 currency, 16 action, 17 totalQuantity, 18 orderType, 19 lmtPrice, 20 auxPrice, 21 tif,
# 22 ocaGroup, 23 account, 26 orderRef, 27 transmit, 28 parentId
ORDER_ID, SYMBOL, SEC_TYPE, EXCHANGE, CURRENCY = 1, 3, 4, 9, 11
ACTION, QTY, TYPE, LMT, AUX, TIF, OCA, ACCOUNT, REF, TRANSMIT, PARENT = 16, 17, 18, 19, 20, 21, 22, 23, 26, 27, 28


async def test_entry_when_it_carries_stop_and_target_then_a_bracket_goes_out_tagged_with_our_id(
    ib: IbBroker, tws: FakeTws,
) -> None:
    o = order("AAPL", Side.BUY, 10, limit=99.0, stop=95.0, target=110.0)
    ack = await ib.submit(o)
    assert ack.status is OrderStatus.SUBMITTED, ack.message
    parent, tp, sl = tws.placed()
    assert (parent[REF], parent[TRANSMIT], parent[TYPE], parent[LMT]) == (o.client_order_id, "0", "LMT", "99.0")
    assert (parent[SYMBOL], parent[SEC_TYPE], parent[EXCHANGE], parent[CURRENCY]) == ("AAPL", "STK", "SMART", "USD")
    assert parent[ACCOUNT] == "DU1234567"
    assert (tp[REF], tp[ACTION], tp[TYPE], tp[LMT]) == (o.client_order_id + ":tp", "SELL", "LMT", "110.0")
    assert (sl[REF], sl[ACTION], sl[TYPE], sl[AUX]) == (o.client_order_id + ":sl", "SELL", "STP", "95.0")
    for child in (tp, sl):
        assert child[PARENT] == parent[ORDER_ID] and child[TIF] == "GTC" and child[QTY] == "10.0"
        assert child[OCA] == f"oca-{o.client_order_id}"
    assert (tp[TRANSMIT], sl[TRANSMIT]) == ("0", "1")
    assert ack.broker_order_id and ack.broker_order_id.isdigit()  # IB's permId


async def test_stop_when_the_price_falls_through_it_then_the_exit_fill_is_a_stop_loss_and_the_target_is_gone(
    ib: IbBroker, tws: FakeTws,
) -> None:
    o = order("AAPL", Side.BUY, 10, stop=95.0, target=110.0)
    assert (await ib.submit(o)).status is OrderStatus.FILLED
    await tws.settle()
    (entry,) = await ib.poll_fills()
    assert (entry.client_order_id, entry.reason, entry.quantity, entry.price) == (o.client_order_id, "order", 10, 100.0)
    tws.set_price("AAPL", 94.0)
    await tws.settle()
    (exit_fill,) = await ib.poll_fills()
    assert exit_fill.client_order_id == o.client_order_id + ":sl"
    assert (exit_fill.side, exit_fill.reason, exit_fill.price) == (Side.SELL, "stop_loss", 94.0)
    assert await ib.poll_order_updates() == []  # the OCA sibling's cancel is not news
    tws.set_price("AAPL", 120.0)
    await tws.settle()
    assert await ib.poll_fills() == []
    assert (await ib.account()).positions == {}


async def test_fill_when_tws_reports_the_commission_then_the_fee_is_the_commission(
    ib: IbBroker, tws: FakeTws,
) -> None:
    tws.commission_per_share, tws.commission_min = 0.005, 1.0
    o = order("AAPL", Side.BUY, 400)
    await ib.submit(o)
    await tws.settle()
    (fill,) = await ib.poll_fills()
    assert fill.fee == pytest.approx(2.0)
    assert fill.fill_id.startswith("0000e0d5.")
    snapshot = await ib.account()
    assert snapshot.cash == pytest.approx(100_000 - 400 * 100.0 - 2.0)
    assert snapshot.positions["AAPL"].quantity == 400
    assert snapshot.prices["AAPL"] == 100.0


async def test_submit_when_tws_never_answers_then_unknown_naming_the_order_ref(
    tws: FakeTws, clock: SimClock,
) -> None:
    broker = IbBroker(ib_settings(tws.port, timeout=0.5), clock=clock, live=False)
    await broker.connect()
    tws.hang_orders = True
    o = order("AAPL", Side.BUY, 5)
    ack = await broker.submit(o)
    assert ack.status is OrderStatus.UNKNOWN
    assert o.client_order_id in ack.message and "no acknowledgement" in ack.message
    await broker.close()


async def test_submit_when_the_connection_drops_then_unknown_not_rejected(
    ib: IbBroker, tws: FakeTws,
) -> None:
    tws.drop_on_order = True
    ack = await ib.submit(order("AAPL", Side.BUY, 5))
    assert ack.status is OrderStatus.UNKNOWN
    assert "connection" in ack.message
    assert not ib.is_connected()


async def test_submit_when_disconnected_and_reconnect_fails_then_rejected_as_not_sent(
    tws: FakeTws, clock: SimClock,
) -> None:
    broker = IbBroker(ib_settings(tws.port), clock=clock, live=False)
    await broker.connect()
    await tws.stop()
    await tws.settle()
    ack = await broker.submit(order("AAPL", Side.BUY, 1))
    assert ack.status is OrderStatus.REJECTED and "not sent" in ack.message
    await broker.close()


async def test_order_status_when_a_new_session_starts_then_orders_are_found_by_order_ref(
    tws: FakeTws, clock: SimClock,
) -> None:
    first = IbBroker(ib_settings(tws.port), clock=clock, live=False)
    await first.connect()
    resting = order("AAPL", Side.BUY, 3, limit=80.0)
    filled = order("AAPL", Side.BUY, 2)
    assert (await first.submit(resting)).status is OrderStatus.SUBMITTED
    assert (await first.submit(filled)).status is OrderStatus.FILLED
    await first.close()

    second = IbBroker(ib_settings(tws.port, client_id=8), clock=clock, live=False)
    await second.connect()
    assert (await second.order_status(resting.client_order_id)).status is OrderStatus.SUBMITTED
    again = await second.order_status(filled.client_order_id)
    assert again.status is OrderStatus.FILLED and again.broker_order_id
    assert (await second.order_status("O-never-sent")).status is OrderStatus.UNKNOWN
    await second.close()

    third = IbBroker(ib_settings(tws.port), clock=clock, live=False)  # the original client id
    await third.connect()
    cancelled = await third.cancel(resting.client_order_id)
    assert cancelled.status is OrderStatus.CANCELLED
    await third.close()


async def test_reconnect_when_an_order_filled_while_disconnected_then_the_fill_is_delivered(
    ib: IbBroker, tws: FakeTws,
) -> None:
    o = order("AAPL", Side.BUY, 4, limit=90.0)
    await ib.submit(o)
    tws.drop_connections()
    await tws.settle()
    assert not ib.is_connected()
    tws.set_price("AAPL", 89.0)
    await ib.connect()
    await tws.settle()
    fills = await ib.poll_fills()
    assert [(f.client_order_id, f.quantity, f.price) for f in fills] == [(o.client_order_id, 4, 89.0)]
    assert fills[0].fee == pytest.approx(1.0)
    assert (await ib.order_status(o.client_order_id)).status is OrderStatus.FILLED


async def test_connect_when_the_account_is_real_money_outside_live_mode_then_refused(
    clock: SimClock,
) -> None:
    server = FakeTws(accounts=("U7654321",))
    await server.start()
    broker = IbBroker(ib_settings(server.port), clock=clock, live=False)
    with pytest.raises(IbAccountRefused, match="U7654321 is a real-money account"):
        await broker.connect()
    assert not broker.is_connected()
    assert server.placed() == []
    live = IbBroker(ib_settings(server.port), clock=clock, live=True)
    await live.connect()
    assert live.account_id == "U7654321" and live.is_live
    await live.close()
    await server.stop()


async def test_connect_when_several_accounts_and_none_chosen_then_refused_listing_them(
    clock: SimClock,
) -> None:
    server = FakeTws(accounts=("DU111", "DU222"))
    await server.start()
    with pytest.raises(IbAccountRefused, match="DU111, DU222"):
        await IbBroker(ib_settings(server.port), clock=clock, live=False).connect()
    chosen = IbBroker(ib_settings(server.port, account="DU222"), clock=clock, live=False)
    await chosen.connect()
    assert chosen.account_id == "DU222"
    await chosen.close()
    await server.stop()


async def test_connect_when_nothing_listens_then_unavailable_naming_host_and_port(clock: SimClock) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(IbUnavailable, match=f"127.0.0.1:{port}"):
        await IbBroker(ib_settings(port), clock=clock, live=False).connect()


async def test_connect_when_tws_never_completes_the_handshake_then_unavailable(
    tws: FakeTws, clock: SimClock,
) -> None:
    tws.go_silent()
    with pytest.raises(IbUnavailable, match="handshake"):
        await IbBroker(ib_settings(tws.port, timeout=0.5), clock=clock, live=False).connect()


async def test_submit_when_tws_rejects_then_rejected_with_its_reason(ib: IbBroker, tws: FakeTws) -> None:
    tws.reject_next = "YOUR ORDER IS NOT ACCEPTED. INSUFFICIENT EQUITY"
    ack = await ib.submit(order("AAPL", Side.BUY, 1))
    assert ack.status is OrderStatus.REJECTED
    assert "INSUFFICIENT EQUITY" in ack.message


@pytest.mark.parametrize(("o", "why"), [
    (order("AAPL", Side.BUY, 1.5), "whole shares"),
    (order("BTC-USD", Side.BUY, 0.1), "cash amount"),
    (order("BTC-USD", Side.BUY, 0.1, limit=49_000.0, stop=45_000.0), "no stop orders for crypto"),
    (order("AAPL", Side.BUY, 1, limit=0.0), "positive limit"),
    (order("AAPL", Side.BUY, 1, stop=110.0, target=90.0), "wrong sides"),
    (order("AAPL", Side.BUY, 1, limit=100.0, stop=101.0), "wrong side of the limit"),
])
async def test_submit_when_ib_cannot_take_the_order_then_rejected_before_sending(
    ib: IbBroker, tws: FakeTws, o: Order, why: str,
) -> None:
    ack = await ib.submit(o)
    assert ack.status is OrderStatus.REJECTED and why in ack.message
    assert tws.placed() == []


async def test_crypto_when_a_fractional_limit_order_fills_then_it_went_to_paxos(
    ib: IbBroker, tws: FakeTws,
) -> None:
    o = order("BTC-USD", Side.BUY, 0.0125, limit=50_100.0)
    assert (await ib.submit(o)).status is OrderStatus.FILLED
    (msg,) = tws.placed()
    assert (msg[SYMBOL], msg[SEC_TYPE], msg[EXCHANGE], msg[CURRENCY], msg[QTY]) == (
        "BTC", "CRYPTO", "PAXOS", "USD", "0.0125")
    await tws.settle()
    (fill,) = await ib.poll_fills()
    assert (fill.symbol, fill.quantity) == ("BTC-USD", 0.0125)
    assert (await ib.account()).positions["BTC-USD"].quantity == pytest.approx(0.0125)


async def test_exit_when_the_position_is_protected_then_its_children_are_cancelled_first(
    ib: IbBroker, tws: FakeTws,
) -> None:
    entry = order("AAPL", Side.BUY, 10, stop=95.0, target=110.0)
    await ib.submit(entry)
    exit_ack = await ib.submit(order("AAPL", Side.SELL, 10, reduce_only=True))
    assert exit_ack.status is OrderStatus.FILLED
    children = [o for o in tws.orders if o.order_ref.startswith(entry.client_order_id + ":")]
    assert {c.status for c in children} == {"Cancelled"}
    tws.set_price("AAPL", 90.0)  # a stop left behind would now open a short
    await tws.settle()
    assert tws.position("DU1234567", "AAPL") == 0


async def test_reversal_when_it_carries_protection_then_the_children_cover_only_the_new_position(
    ib: IbBroker, tws: FakeTws,
) -> None:
    await ib.submit(order("AAPL", Side.BUY, 10))
    await tws.settle()
    await ib.account()  # positions are current
    flip = order("AAPL", Side.SELL, 25, stop=105.0, target=90.0)
    assert (await ib.submit(flip)).status is OrderStatus.FILLED
    children = [m for m in tws.placed() if m[REF].startswith(flip.client_order_id + ":")]
    assert [(m[ACTION], m[QTY]) for m in children] == [("BUY", "15.0"), ("BUY", "15.0")]


async def test_cancel_all_when_protective_children_rest_then_only_entry_orders_are_cancelled(
    ib: IbBroker, tws: FakeTws,
) -> None:
    protected = order("AAPL", Side.BUY, 5, stop=95.0, target=110.0)
    resting = order("AAPL", Side.BUY, 1, limit=70.0)
    await ib.submit(protected)
    await ib.submit(resting)
    acks = await ib.cancel_all()
    assert [(a.client_order_id, a.status) for a in acks] == [(resting.client_order_id, OrderStatus.CANCELLED)]
    children = [o for o in tws.orders if o.order_ref.startswith(protected.client_order_id + ":")]
    assert {c.status for c in children} == {"Submitted"}
    assert not any(m[0] == "58" for m in tws.received)  # never reqGlobalCancel


async def test_order_updates_when_tws_cancels_a_resting_order_then_reported_once(
    ib: IbBroker, tws: FakeTws,
) -> None:
    o = order("AAPL", Side.BUY, 1, limit=70.0)
    await ib.submit(o)
    server_order = next(x for x in tws.orders if x.order_ref == o.client_order_id)
    tws._set_cancelled(server_order)  # e.g. a DAY order expiring
    await tws.settle()
    (update,) = await ib.poll_order_updates()
    assert (update.client_order_id, update.status) == (o.client_order_id, OrderStatus.CANCELLED)
    assert await ib.poll_order_updates() == []

"""RobinhoodCryptoBroker against a fake of the official Crypto Trading API on 127.0.0.1
(tests/unit/brokers_live/fake_robinhood_crypto.py), which checks every request's signature."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from decimal import Decimal

import httpx
import pytest
from pydantic import SecretStr

from robo_tui.adapters.brokers.robinhood_crypto.broker import (
    RobinhoodCryptoBroker,
    RobinhoodCryptoRefused,
    RobinhoodCryptoUnavailable,
    venue_client_id,
)
from robo_tui.adapters.brokers.robinhood_crypto.client import (
    ORDERS_PATH,
    CryptoTradingClient,
    Ed25519Signer,
)
from robo_tui.adapters.brokers.robinhood_crypto.models import OrderRequest
from robo_tui.config import RobinhoodCryptoSettings
from robo_tui.domain.market import AssetClass
from robo_tui.domain.orders import Order, OrderIntent, OrderStatus, OrderType, Side
from robo_tui.engine.clock import SimClock

from .fake_robinhood_crypto import FakeCryptoApi, new_keys


@pytest.fixture
async def api() -> AsyncIterator[FakeCryptoApi]:
    server = FakeCryptoApi(page_size=2)
    await server.start()
    server.set_price("BTC-USD", 50_000.0)
    yield server
    await server.stop()


def settings(server: FakeCryptoApi, *, private_key: str | None = None,
             timeout: float = 2.0) -> RobinhoodCryptoSettings:
    return RobinhoodCryptoSettings(api_key=SecretStr(server.api_key),
                                   private_key=SecretStr(private_key or server.private_key),
                                   base_url=server.base_url, timeout_seconds=timeout)


@pytest.fixture
async def broker(api: FakeCryptoApi, clock: SimClock) -> AsyncIterator[RobinhoodCryptoBroker]:
    b = RobinhoodCryptoBroker(settings(api), clock=clock, live=True, poll_interval=0.0)
    await b.connect()
    yield b
    api.release()
    await b.close()


def order(coid: str, side: Side, qty: float, clock: SimClock, *, limit: float | None = None,
          stop: float | None = None) -> Order:
    kind = OrderType.LIMIT if limit is not None else OrderType.MARKET
    return Order(coid, OrderIntent("BTC-USD", side, qty, kind, limit_price=limit, stop_loss=stop),
                 clock.now(), "test")


def venue_orders(api: FakeCryptoApi, kind: str) -> list[dict[str, object]]:
    return [o for o in api.orders.values() if o["type"] == kind]


async def test_connect_when_not_in_live_mode_then_refused_before_any_request(
        api: FakeCryptoApi, clock: SimClock) -> None:
    b = RobinhoodCryptoBroker(settings(api), clock=clock, live=False)
    with pytest.raises(RobinhoodCryptoRefused, match="real money"):
        await b.connect()
    assert api.seen == []


async def test_connect_when_the_key_is_not_the_registered_one_then_refused_with_the_venue_reason(
        api: FakeCryptoApi, clock: SimClock) -> None:
    other, _ = new_keys()
    b = RobinhoodCryptoBroker(settings(api, private_key=other), clock=clock, live=True)
    with pytest.raises(RobinhoodCryptoUnavailable, match="Failed to verify signature") as info:
        await b.connect()
    assert [s.status for s in api.seen] == [401]
    assert other not in str(info.value) and api.api_key not in str(info.value)


async def test_connect_when_the_clock_is_off_by_a_minute_then_the_timestamp_is_refused(
        api: FakeCryptoApi, clock: SimClock) -> None:
    b = RobinhoodCryptoBroker(settings(api), clock=clock, live=True, now=lambda: time.time() - 60)
    with pytest.raises(RobinhoodCryptoUnavailable, match="expired"):
        await b.connect()


async def test_request_when_unsigned_then_the_venue_answers_missing_headers(api: FakeCryptoApi) -> None:
    async with httpx.AsyncClient(base_url=api.base_url) as http:
        answer = await http.get("/api/v1/crypto/trading/accounts/")
    assert answer.status_code == 400 and "missing required headers" in answer.text


async def test_key_material_when_represented_then_never_shown(
        api: FakeCryptoApi, broker: RobinhoodCryptoBroker) -> None:
    signer = Ed25519Signer(api.api_key, api.private_key)
    texts = [repr(signer), repr(broker), repr(settings(api)), str(settings(api).model_dump())]
    for text in texts:
        assert api.private_key not in text and api.api_key not in text


async def test_capabilities_when_asked_then_crypto_stops_are_venue_held_and_targets_are_not(
        broker: RobinhoodCryptoBroker) -> None:
    caps = broker.capabilities(AssetClass.CRYPTO)
    assert caps.stops and not caps.brackets and caps.fractional and not caps.shorting
    assert broker.holds_stops(AssetClass.CRYPTO) and not broker.holds_stops(AssetClass.STOCK)


async def test_entry_with_a_stop_when_filled_then_a_venue_stop_loss_covers_it_and_triggers_on_the_bid(
        api: FakeCryptoApi, broker: RobinhoodCryptoBroker, clock: SimClock) -> None:
    ack = await broker.submit(order("E1", Side.BUY, 0.5, clock, stop=47_123.456))
    assert ack.status is OrderStatus.FILLED, ack.message
    (stop,) = venue_orders(api, "stop_loss")
    assert stop["side"] == "sell" and stop["state"] == "open"
    assert stop["stop_loss_order_config"] == {"asset_quantity": "0.50000000",
                                              "stop_price": "47123.45", "time_in_force": "gtc"}
    assert stop["client_order_id"] == venue_client_id("E1:sl")
    assert [f.reason for f in await broker.poll_fills()] == ["order"]
    api.set_price("BTC-USD", 47_000.0)
    (fill,) = await broker.poll_fills()
    assert (fill.client_order_id, fill.side, fill.quantity, fill.reason) == ("E1:sl", Side.SELL, 0.5, "stop_loss")
    assert (await broker.account()).positions == {}


async def test_entry_when_partly_filled_then_the_stop_covers_the_part_and_grows_with_the_fills(
        api: FakeCryptoApi, broker: RobinhoodCryptoBroker, clock: SimClock) -> None:
    await broker.submit(order("E2", Side.BUY, 1.0, clock, limit=49_000.0, stop=45_000.0))
    assert venue_orders(api, "stop_loss") == []  # nothing filled, nothing to protect
    api.fill_part("BTC-USD", 0.25)
    await broker.poll_fills()
    (first,) = venue_orders(api, "stop_loss")
    assert first["stop_loss_order_config"]["asset_quantity"] == "0.25000000"
    api.set_price("BTC-USD", 48_000.0)  # the rest fills
    await broker.poll_fills()
    stops = venue_orders(api, "stop_loss")
    assert [(s["state"], s["stop_loss_order_config"]["asset_quantity"]) for s in stops] == [
        ("canceled", "0.25000000"), ("open", "1.00000000")]


async def test_exit_when_the_position_is_protected_then_the_stop_is_lifted_and_rearmed_for_the_rest(
        api: FakeCryptoApi, broker: RobinhoodCryptoBroker, clock: SimClock) -> None:
    await broker.submit(order("E3", Side.BUY, 1.0, clock, stop=45_000.0))
    ack = await broker.submit(order("X3", Side.SELL, 0.4, clock))
    assert ack.status is OrderStatus.FILLED, ack.message
    stops = venue_orders(api, "stop_loss")
    assert [(s["state"], s["stop_loss_order_config"]["asset_quantity"]) for s in stops] == [
        ("canceled", "1.00000000"), ("open", "0.60000000")]
    api.set_price("BTC-USD", 44_000.0)
    fills = await broker.poll_fills()
    assert [(f.reason, f.quantity) for f in fills if f.reason == "stop_loss"] == [("stop_loss", 0.6)]
    assert api.holdings["BTC"] == 0  # the stop never sold more than was held


async def test_submit_when_the_answer_is_dropped_then_unknown_and_resolved_by_asking_not_resending(
        api: FakeCryptoApi, broker: RobinhoodCryptoBroker, clock: SimClock) -> None:
    api.drop_next_order_answer = True
    ack = await broker.submit(order("L1", Side.BUY, 0.1, clock))
    assert ack.status is OrderStatus.UNKNOWN and venue_client_id("L1") in ack.message
    fills = await broker.poll_fills()  # the poll asks the venue for our client order id
    assert [(f.client_order_id, f.quantity) for f in fills] == [("L1", 0.1)]
    assert (await broker.order_status("L1")).status is OrderStatus.FILLED
    assert len(api.requests_to("POST", ORDERS_PATH)) == 1


async def test_submit_when_the_venue_goes_silent_then_unknown_within_the_timeout(
        api: FakeCryptoApi, clock: SimClock) -> None:
    b = RobinhoodCryptoBroker(settings(api, timeout=0.5), clock=clock, live=True, poll_interval=0.0)
    await b.connect()
    api.hang_order_posts = True
    started = time.monotonic()
    ack = await b.submit(order("H1", Side.BUY, 0.1, clock))
    assert ack.status is OrderStatus.UNKNOWN
    assert time.monotonic() - started < b.order_timeout
    api.hang_order_posts = False
    api.release()
    assert (await b.order_status("H1")).status is OrderStatus.FILLED
    await b.close()


async def test_submit_when_rate_limited_briefly_then_waits_the_retry_after_and_places_once(
        api: FakeCryptoApi, broker: RobinhoodCryptoBroker, clock: SimClock) -> None:
    api.rate_limit(1, retry_after=0.3)
    started = time.monotonic()
    ack = await broker.submit(order("R1", Side.BUY, 0.1, clock))
    assert ack.status is OrderStatus.FILLED, ack.message
    assert time.monotonic() - started >= 0.3
    assert len(api.orders) == 1


async def test_submit_when_rate_limited_past_its_deadline_then_rejected_and_nothing_placed(
        api: FakeCryptoApi, broker: RobinhoodCryptoBroker, clock: SimClock) -> None:
    api.rate_limit(1, retry_after=30)
    ack = await broker.submit(order("R2", Side.BUY, 0.1, clock))
    assert ack.status is OrderStatus.REJECTED and "rate-limited" in ack.message
    assert api.orders == {}


async def test_submit_when_prices_and_sizes_are_off_the_increments_then_rounded_on_the_safe_side(
        api: FakeCryptoApi, broker: RobinhoodCryptoBroker, clock: SimClock) -> None:
    await broker.submit(order("B1", Side.BUY, 0.123456789, clock, limit=40_000.009))
    await broker.submit(order("S1", Side.SELL, 0.05, clock, limit=60_000.001))
    sent = [json.loads(s.body) for s in api.requests_to("POST", ORDERS_PATH)]
    assert sent[0]["limit_order_config"]["asset_quantity"] == "0.12345678"
    assert sent[0]["limit_order_config"]["limit_price"] == "40000.00"  # a buy rounds down
    assert sent[1]["limit_order_config"]["limit_price"] == "60000.01"  # a sell rounds up


async def test_submit_when_below_the_pair_minimum_or_unlisted_then_rejected_before_sending(
        api: FakeCryptoApi, broker: RobinhoodCryptoBroker, clock: SimClock) -> None:
    tiny = await broker.submit(order("T1", Side.BUY, 0.0000001, clock))
    assert tiny.status is OrderStatus.REJECTED and "minimum" in tiny.message
    unlisted = await broker.submit(Order("T2", OrderIntent("AAPL", Side.BUY, 1), clock.now(), "test"))
    assert unlisted.status is OrderStatus.REJECTED and "not a trading pair" in unlisted.message
    assert api.requests_to("POST", ORDERS_PATH) == []


async def test_order_status_after_a_restart_when_the_order_is_pages_deep_then_found_by_client_id(
        api: FakeCryptoApi, broker: RobinhoodCryptoBroker, clock: SimClock) -> None:
    await broker.submit(order("P0", Side.BUY, 0.01, clock, limit=30_000.0))
    for i in range(1, 6):
        await broker.submit(order(f"P{i}", Side.BUY, 0.01, clock))
    restarted = RobinhoodCryptoBroker(settings(api), clock=clock, live=True, poll_interval=0.0)
    await restarted.connect()
    ack = await restarted.order_status("P0")
    assert ack.status is OrderStatus.SUBMITTED  # the oldest, on the last page
    assert (await restarted.cancel("P0")).status is OrderStatus.CANCELLED
    assert (await restarted.order_status("never-sent")).status is OrderStatus.UNKNOWN
    await restarted.close()


async def test_account_when_filled_then_cash_is_buying_power_and_cost_is_the_fill_price(
        api: FakeCryptoApi, broker: RobinhoodCryptoBroker, clock: SimClock) -> None:
    await broker.submit(order("A1", Side.BUY, 0.2, clock))
    api.set_price("BTC-USD", 52_000.0)
    account = await broker.account()
    assert account.cash == pytest.approx(100_000 - 0.2 * 50_000)
    assert account.positions["BTC-USD"].avg_price == pytest.approx(50_000)
    assert account.prices["BTC-USD"] == pytest.approx(52_000)
    restarted = RobinhoodCryptoBroker(settings(api), clock=clock, live=True)
    await restarted.connect()  # no fills seen in this session: cost rebuilt from the order history
    assert (await restarted.account()).positions["BTC-USD"].avg_price == pytest.approx(50_000)
    await restarted.close()
    assert Decimal(api.orders[next(iter(api.orders))]["filled_asset_quantity"]) == Decimal("0.2")


async def test_order_status_when_the_venue_refused_the_order_then_rejected_with_its_reason(
        api: FakeCryptoApi, broker: RobinhoodCryptoBroker, clock: SimClock) -> None:
    ack = await broker.submit(order("N1", Side.SELL, 1.0, clock))  # nothing held
    assert ack.status is OrderStatus.REJECTED and "Not enough quantity" in ack.message
    status = await broker.order_status("N1")
    assert status.status is OrderStatus.REJECTED and "Not enough quantity" in status.message


async def test_poll_when_rate_limited_longer_than_a_timeout_then_returns_without_waiting_it_out(
        api: FakeCryptoApi, broker: RobinhoodCryptoBroker, clock: SimClock) -> None:
    await broker.submit(order("W1", Side.BUY, 0.1, clock, limit=40_000.0))
    api.rate_limit(5, retry_after=120)
    started = time.monotonic()
    assert await broker.poll_fills() == []
    assert time.monotonic() - started < 5
    api.rate_limit(0)
    api.set_price("BTC-USD", 39_000.0)
    assert [f.client_order_id for f in await broker.poll_fills()] == ["W1"]


async def test_exit_after_a_restart_when_the_previous_run_left_its_stop_then_lifted_rearmed_and_never_orphaned(
        api: FakeCryptoApi, broker: RobinhoodCryptoBroker, clock: SimClock) -> None:
    await broker.submit(order("E4", Side.BUY, 1.0, clock, stop=45_000.0))
    restarted = RobinhoodCryptoBroker(settings(api), clock=clock, live=True, poll_interval=0.0)
    await restarted.connect()
    part = await restarted.submit(order("X4", Side.SELL, 0.3, clock))
    assert part.status is OrderStatus.FILLED, part.message  # not blocked by the old stop's units
    assert [(s["state"], s["stop_loss_order_config"]["asset_quantity"])
            for s in venue_orders(api, "stop_loss")] == [("canceled", "1.00000000"), ("open", "0.70000000")]
    rest = await restarted.submit(order("X5", Side.SELL, 0.7, clock))
    assert rest.status is OrderStatus.FILLED, rest.message
    assert [o for o in api.orders.values() if o["state"] == "open"] == []  # nothing left working
    assert api.holdings["BTC"] == 0
    await restarted.close()


async def test_order_status_after_a_restart_when_an_open_order_fills_later_then_earlier_fills_keep_their_ids_and_the_new_one_follows(
        api: FakeCryptoApi, broker: RobinhoodCryptoBroker, clock: SimClock) -> None:
    await broker.submit(order("Q1", Side.BUY, 1.0, clock, limit=49_000.0))
    api.fill_part("BTC-USD", 0.5)
    (before,) = await broker.poll_fills()
    restarted = RobinhoodCryptoBroker(settings(api), clock=clock, live=True, poll_interval=0.0)
    await restarted.connect()
    assert (await restarted.order_status("Q1")).status is OrderStatus.PARTIALLY_FILLED
    # the earlier execution is released again under the same id: the engine's start books it
    # only when its journal lacks it (a fill while robo-tui was down), never twice
    assert [f.fill_id for f in await restarted.poll_fills()] == [before.fill_id]
    api.set_price("BTC-USD", 48_000.0)
    fills = await restarted.poll_fills()
    assert [(f.client_order_id, f.quantity, f.fill_id.endswith(":1")) for f in fills] == [("Q1", 0.5, True)]
    await restarted.close()


async def test_client_when_a_stop_limit_is_placed_then_the_venue_reads_its_config_and_it_waits_for_both_prices(
        api: FakeCryptoApi, broker: RobinhoodCryptoBroker, clock: SimClock) -> None:
    await broker.submit(order("H2", Side.BUY, 0.1, clock))
    client = CryptoTradingClient(api.base_url, Ed25519Signer(api.api_key, api.private_key), timeout=2.0)
    request = OrderRequest.make(venue_client_id("SL-1"), "sell", "BTC-USD", "stop_limit",
                                Decimal("0.1"), limit_price=Decimal("44000.00"),
                                stop_price=Decimal("45000.00"))
    placed = await client.place_order(request)
    assert (placed.type, placed.state) == ("stop_limit", "open")
    assert placed.stop_config() is not None and placed.stop_config().stop_price == Decimal("45000.00")  # type: ignore[union-attr]
    api.set_price("BTC-USD", 43_000.0)  # through the stop and below the limit: no fill
    assert (await client.order(placed.id)).state == "open"
    api.set_price("BTC-USD", 44_500.0)
    assert (await client.order(placed.id)).state == "filled"
    again = await client.place_order(request)  # the same client order id: the original order
    assert again.id == placed.id and len(api.orders) == 2
    await client.close()

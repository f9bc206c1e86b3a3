"""Paper broker: fill policies, costs, limits, stops/targets, reversals and rejections."""

from __future__ import annotations

import math

import pytest

from robo_tui.domain.orders import OrderStatus, Side

from .helpers import T0, bar, make_broker, order, quote

# --------------------------------------------------------------------------- fill policies


def test_market_order_when_next_open_then_fills_at_the_next_bar_open() -> None:
    b = make_broker(fill="next_open")
    b.on_bar(bar(100, 101, 99, 100.5, i=1))
    ack = b.place(order(Side.BUY, 10, coid="m1"))
    assert ack.status is OrderStatus.SUBMITTED
    assert b.take_fills() == []
    b.on_bar(bar(102, 103, 101, 102.5, i=2))
    (fill,) = b.take_fills()
    assert (fill.client_order_id, fill.price, fill.quantity, fill.reason) == ("m1", 102, 10, "order")
    assert fill.ts == bar(102, 103, 101, 102.5, i=2).ts
    assert b.position_qty("AAPL") == 10
    assert b.cash == pytest.approx(100_000 - 1020)


def test_market_order_when_next_open_then_a_quote_does_not_fill_it() -> None:
    b = make_broker(fill="next_open")
    b.on_bar(bar(100, 101, 99, 100, i=1))
    b.place(order(Side.BUY, 1))
    b.on_quote(quote(100.9, 101.1))
    assert b.take_fills() == []


def test_market_order_when_quote_policy_then_buys_at_ask_and_sells_at_bid() -> None:
    b = make_broker(fill="quote")
    b.on_quote(quote(99.9, 100.1))
    buy = b.place(order(Side.BUY, 5))
    sell = b.place(order(Side.SELL, 2))
    assert buy.status is OrderStatus.FILLED and sell.status is OrderStatus.FILLED
    f1, f2 = b.take_fills()
    assert (f1.price, f2.price) == (100.1, 99.9)
    assert f1.ts == T0


def test_market_order_when_quote_policy_without_quote_then_fills_at_last_close() -> None:
    b = make_broker(fill="quote")
    b.on_bar(bar(100, 101, 99, 100.4, i=1))
    assert b.place(order(Side.BUY, 3)).status is OrderStatus.FILLED
    assert b.take_fills()[0].price == 100.4


def test_market_order_when_a_bar_completes_after_a_quote_then_uses_the_bar_close() -> None:
    b = make_broker(fill="quote")
    b.on_quote(quote(99.0, 99.2))
    b.on_bar(bar(100, 101, 99, 100.4, i=1))
    b.place(order(Side.BUY, 1))
    assert b.take_fills()[0].price == 100.4


def test_market_order_when_quote_policy_and_no_price_yet_then_waits_for_the_next_open() -> None:
    b = make_broker(fill="quote")
    assert b.place(order(Side.BUY, 1)).status is OrderStatus.SUBMITTED
    assert b.trigger_levels("AAPL")[2] is True
    b.on_bar(bar(50, 51, 49, 50.5, i=1))
    assert b.take_fills()[0].price == 50


# --------------------------------------------------------------------------- costs


@pytest.mark.parametrize("fill_policy", ["quote", "next_open"])
def test_slippage_when_buying_then_price_rises_and_when_selling_then_it_falls(
    fill_policy: str,
) -> None:
    b = make_broker(fill=fill_policy, slippage_bps=10)  # type: ignore[arg-type]
    b.on_bar(bar(100, 100, 100, 100, i=1))
    b.place(order(Side.BUY, 1))
    b.place(order(Side.SELL, 1))
    b.on_bar(bar(100, 100, 100, 100, i=2))
    buy, sell = b.take_fills()
    assert buy.price == pytest.approx(100.1)
    assert sell.price == pytest.approx(99.9)


def test_fee_when_per_share_then_charged_per_unit() -> None:
    b = make_broker(fill="quote", fee_per_share=0.005)
    b.on_bar(bar(100, 100, 100, 100))
    b.place(order(Side.BUY, 200))
    (fill,) = b.take_fills()
    assert fill.fee == pytest.approx(1.0)
    assert b.cash == pytest.approx(100_000 - 20_000 - 1.0)


def test_fee_when_percent_and_commission_then_both_charged_on_traded_value() -> None:
    b = make_broker(fill="quote", fee_pct=0.001, commission=0.002)
    b.on_bar(bar(50, 50, 50, 50))
    b.place(order(Side.BUY, 100))
    assert b.take_fills()[0].fee == pytest.approx(5000 * 0.003)


def test_fee_when_below_minimum_then_minimum_charged() -> None:
    b = make_broker(fill="quote", fee_per_share=0.005, fee_min=1.0)
    b.on_bar(bar(100, 100, 100, 100))
    b.place(order(Side.BUY, 10))
    b.place(order(Side.SELL, 10))
    f1, f2 = b.take_fills()
    assert (f1.fee, f2.fee) == (1.0, 1.0)
    assert b.cash == pytest.approx(100_000 - 2.0)
    assert b.fees_paid == pytest.approx(2.0)


# --------------------------------------------------------------------------- limits


def test_buy_limit_when_the_bar_stays_above_then_rests_and_fills_when_traded_through() -> None:
    b = make_broker()
    b.on_bar(bar(100, 101, 99, 100, i=1))
    assert b.place(order(Side.BUY, 5, limit=97, coid="L")).status is OrderStatus.SUBMITTED
    b.on_bar(bar(100, 101, 97.5, 98, i=2))
    assert b.take_fills() == []
    b.on_bar(bar(98, 99, 96, 97, i=3))
    (fill,) = b.take_fills()
    assert (fill.price, fill.quantity) == (97, 5)


async def test_buy_limit_when_the_bar_gaps_below_then_fills_at_the_open() -> None:
    b = make_broker()
    b.on_bar(bar(100, 101, 99, 100, i=1))
    b.place(order(Side.BUY, 5, limit=97, coid="L"))
    b.on_bar(bar(95, 96, 94, 95, i=2))
    assert b.take_fills()[0].price == 95
    assert (await b.order_status("L")).status is OrderStatus.FILLED


def test_sell_limit_when_traded_through_or_gapped_then_fills_at_limit_or_open() -> None:
    b = make_broker()
    b.on_bar(bar(100, 101, 99, 100, i=1))
    b.place(order(Side.SELL, 1, limit=102))
    b.place(order(Side.SELL, 1, limit=103))
    b.on_bar(bar(101, 102.5, 100, 102, i=2))
    (first,) = b.take_fills()
    assert first.price == 102
    b.on_bar(bar(104, 105, 103.5, 104, i=3))
    assert b.take_fills()[0].price == 104


def test_limit_order_when_no_slippage_applies_then_fill_is_never_worse_than_limit() -> None:
    b = make_broker(slippage_bps=50)
    b.on_bar(bar(100, 101, 99, 100, i=1))
    b.place(order(Side.BUY, 1, limit=98))
    b.on_bar(bar(99, 99, 97, 98, i=2))
    assert b.take_fills()[0].price == 98


def test_limit_order_when_quote_policy_and_marketable_then_fills_at_once_at_the_quote() -> None:
    b = make_broker(fill="quote")
    b.on_quote(quote(99.9, 100.1))
    assert b.place(order(Side.BUY, 1, limit=101)).status is OrderStatus.FILLED
    assert b.take_fills()[0].price == 100.1
    assert b.place(order(Side.BUY, 1, limit=99)).status is OrderStatus.SUBMITTED
    b.on_quote(quote(98.8, 98.9))
    assert b.take_fills()[0].price == 98.9


# --------------------------------------------------------------------------- stops and targets


def _long_with_protection(stop: float, target: float, *, slippage_bps: float = 0.0):  # type: ignore[no-untyped-def]
    b = make_broker(slippage_bps=slippage_bps)
    b.on_bar(bar(100, 101, 99, 100, i=1))
    b.place(order(Side.BUY, 10, stop_loss=stop, take_profit=target, coid="entry"))
    b.on_bar(bar(100, 100.5, 99.5, 100, i=2))
    b.take_fills()
    return b


def test_stop_loss_when_the_bar_trades_through_then_exits_at_the_stop_with_a_derived_id() -> None:
    b = _long_with_protection(95, 110)
    b.on_bar(bar(99, 99, 94, 96, i=3))
    (fill,) = b.take_fills()
    assert (fill.side, fill.quantity, fill.price) == (Side.SELL, 10, 95)
    assert fill.reason == "stop_loss"
    assert fill.client_order_id == "entry:sl"
    assert b.position_qty("AAPL") == 0
    assert b.protections() == {}


def test_stop_loss_when_the_bar_gaps_through_then_exits_at_the_open() -> None:
    b = _long_with_protection(95, 110)
    b.on_bar(bar(90, 92, 89, 91, i=3))
    assert b.take_fills()[0].price == 90


def test_stop_loss_when_slippage_then_exit_is_worse_than_the_stop() -> None:
    b = _long_with_protection(95, 110, slippage_bps=10)
    b.on_bar(bar(99, 99, 94, 96, i=3))
    assert b.take_fills()[0].price == pytest.approx(95 * 0.999)


def test_take_profit_when_the_bar_reaches_it_then_exits_at_the_target() -> None:
    b = _long_with_protection(95, 110)
    b.on_bar(bar(105, 111, 104, 109, i=3))
    (fill,) = b.take_fills()
    assert (fill.price, fill.reason, fill.client_order_id) == (110, "take_profit", "entry:tp")


def test_take_profit_when_the_bar_gaps_above_then_exits_at_the_open() -> None:
    b = _long_with_protection(95, 110)
    b.on_bar(bar(112, 113, 111, 112, i=3))
    assert b.take_fills()[0].price == 112


def test_stop_and_target_when_both_inside_one_bar_then_assumes_the_stop() -> None:
    b = _long_with_protection(95, 110)
    b.on_bar(bar(100, 111, 94, 105, i=3))
    (fill,) = b.take_fills()
    assert (fill.price, fill.reason) == (95, "stop_loss")


def test_short_stop_and_target_when_triggered_then_buy_back_at_the_levels() -> None:
    b = make_broker()
    b.on_bar(bar(100, 101, 99, 100, i=1))
    b.place(order(Side.SELL, 4, stop_loss=105, take_profit=90, coid="s"))
    b.on_bar(bar(100, 100, 100, 100, i=2))
    b.on_bar(bar(101, 106, 100, 104, i=3))
    _, stop = b.take_fills()
    assert (stop.side, stop.price, stop.reason) == (Side.BUY, 105, "stop_loss")
    b.place(order(Side.SELL, 4, stop_loss=110, take_profit=90, coid="s2"))
    b.on_bar(bar(100, 100, 100, 100, i=4))
    b.on_bar(bar(95, 96, 89, 91, i=5))
    _, target = b.take_fills()
    assert (target.price, target.reason, target.client_order_id) == (90, "take_profit", "s2:tp")


def test_stop_when_the_entry_filled_at_this_open_then_checked_in_the_same_bar() -> None:
    b = make_broker()
    b.on_bar(bar(100, 101, 99, 100, i=1))
    b.place(order(Side.BUY, 10, stop_loss=97))
    b.on_bar(bar(100, 100, 96, 96.5, i=2))
    entry, stop = b.take_fills()
    assert (entry.price, stop.price, stop.reason) == (100, 97, "stop_loss")


def test_stop_when_a_quote_crosses_it_then_exits_at_the_bid() -> None:
    b = _long_with_protection(95, 110)
    b.on_quote(quote(94.5, 94.7))
    (fill,) = b.take_fills()
    assert (fill.price, fill.reason, fill.ts) == (94.5, "stop_loss", T0)


async def test_cancel_all_when_a_position_is_protected_then_cancels_orders_but_keeps_the_stop() -> None:
    b = _long_with_protection(95, 110)
    b.place(order(Side.BUY, 1, limit=90))
    b.place(order(Side.SELL, 1, limit=120))
    acks = await b.cancel_all()
    assert [a.status for a in acks] == [OrderStatus.CANCELLED] * 2
    assert b.open_orders() == []
    assert b.protections() == {"AAPL": (95, 110)}
    b.on_bar(bar(99, 99, 94, 96, i=3))
    assert b.take_fills()[0].reason == "stop_loss"


def test_adding_to_a_position_when_new_levels_given_then_they_replace_the_old() -> None:
    b = _long_with_protection(95, 110)
    b.place(order(Side.BUY, 5, stop_loss=97))
    b.on_bar(bar(100, 100, 100, 100, i=3))
    assert b.protections() == {"AAPL": (97, 110)}


# --------------------------------------------------------------------------- positions


def test_sell_when_it_crosses_zero_then_closes_the_long_and_opens_a_short() -> None:
    b = make_broker(fill="quote")
    b.on_bar(bar(100, 100, 100, 100, i=1))
    b.place(order(Side.BUY, 10))
    b.on_bar(bar(110, 110, 110, 110, i=2))
    b.place(order(Side.SELL, 25))
    acct = b.snapshot()
    pos = acct.positions["AAPL"]
    assert (pos.quantity, pos.avg_price, pos.realized_pnl) == (-15, 110, 100)
    assert acct.cash == pytest.approx(100_000 - 1000 + 2750)
    assert acct.equity == pytest.approx(100_100)


def test_buy_when_adding_then_average_price_is_volume_weighted() -> None:
    b = make_broker(fill="quote")
    b.on_bar(bar(100, 100, 100, 100, i=1))
    b.place(order(Side.BUY, 10))
    b.on_bar(bar(130, 130, 130, 130, i=2))
    b.place(order(Side.BUY, 20))
    assert b.snapshot().positions["AAPL"].avg_price == pytest.approx(120)


def test_reduce_only_when_larger_than_the_position_then_clamped_to_it() -> None:
    b = make_broker(fill="quote")
    b.on_bar(bar(100, 100, 100, 100, i=1))
    b.place(order(Side.BUY, 10))
    b.place(order(Side.SELL, 50, reduce_only=True))
    assert b.position_qty("AAPL") == 0


def test_reduce_only_when_the_position_is_gone_at_fill_time_then_cancelled_and_reported() -> None:
    b = _long_with_protection(95, 110)
    b.place(order(Side.SELL, 10, limit=120, reduce_only=True, coid="manual-exit"))
    b.on_bar(bar(99, 99, 94, 96, i=3))  # the stop closes the position first
    assert b.take_fills()[0].reason == "stop_loss"
    b.on_bar(bar(121, 122, 120, 121, i=4))
    assert b.take_fills() == []
    (update,) = b.take_order_updates()
    assert (update.client_order_id, update.status) == ("manual-exit", OrderStatus.CANCELLED)
    assert b.position_qty("AAPL") == 0


def test_equity_fraction_when_filled_then_sized_from_cash_at_the_fill_price() -> None:
    b = make_broker(cash=10_000, commission=0.002)
    b.on_bar(bar(100, 100, 100, 100, i=1))
    b.place(order(Side.BUY, 1, equity_fraction=0.5))
    b.on_bar(bar(123.4, 124, 123, 123.5, i=2))
    (fill,) = b.take_fills()
    assert fill.quantity == int(10_000 * 0.5 // (123.4 * 1.002))


def test_equity_fraction_when_crypto_then_sized_in_fractions() -> None:
    b = make_broker(cash=10_000)
    b.on_bar(bar(40_000, 40_000, 40_000, 40_000, symbol="BTC-USD", i=1))
    b.place(order(Side.BUY, 0.1, "BTC-USD", equity_fraction=0.5))
    b.on_bar(bar(40_000, 40_000, 40_000, 40_000, symbol="BTC-USD", i=2))
    assert b.take_fills()[0].quantity == pytest.approx(0.125)


def test_order_when_unaffordable_at_fill_time_then_rejected_and_reported() -> None:
    b = make_broker(cash=1_000)
    b.on_bar(bar(10, 10, 10, 10, i=1))
    assert b.place(order(Side.BUY, 90, coid="big")).status is OrderStatus.SUBMITTED
    b.on_bar(bar(20, 20, 20, 20, i=2))
    assert b.take_fills() == []
    (update,) = b.take_order_updates()
    assert (update.client_order_id, update.status) == ("big", OrderStatus.REJECTED)
    assert "insufficient buying power" in update.message


def test_account_when_bars_and_quotes_arrive_then_marks_follow_them() -> None:
    b = make_broker(fill="quote")
    b.on_bar(bar(100, 100, 100, 100, i=1))
    b.place(order(Side.BUY, 10))
    b.on_bar(bar(100, 106, 99, 105, i=2))
    assert b.snapshot().equity == pytest.approx(100_050)
    b.on_quote(quote(107.9, 108.1, last=108))
    assert b.snapshot().prices["AAPL"] == 108
    assert b.equity == pytest.approx(100_080)
    b.mark("AAPL", 90)
    assert b.equity == pytest.approx(99_900)


# --------------------------------------------------------------------------- rejections


@pytest.mark.parametrize(
    ("the_order", "message"),
    [
        (order(Side.BUY, 1, "ZZZZ"), "unknown symbol"),
        (order(Side.BUY, 0), "quantity must be a positive"),
        (order(Side.BUY, -3), "quantity must be a positive"),
        (order(Side.BUY, math.nan), "quantity must be a positive"),
        (order(Side.BUY, 1.5), "stocks trade in whole shares"),
        (order(Side.BUY, 1, equity_fraction=1.5), "equity_fraction"),
        (order(Side.BUY, 1, stop_loss=101), "stop_loss 101 must be below"),
        (order(Side.SELL, 1, take_profit=101), "take_profit 101 must be below"),
        (order(Side.BUY, 2000), "insufficient buying power"),
        (order(Side.SELL, 1, reduce_only=True), "no opposite position"),
    ],
)
def test_submit_when_invalid_then_rejected_with_a_clear_message(the_order, message) -> None:  # type: ignore[no-untyped-def]
    b = make_broker(cash=100_000, fill="quote")
    b.on_bar(bar(100, 100, 100, 100))
    ack = b.place(the_order)
    assert ack.status is OrderStatus.REJECTED
    assert message in ack.message
    assert b.take_fills() == []


def test_submit_when_short_not_supported_then_a_sell_beyond_the_position_is_rejected() -> None:
    b = make_broker(fill="quote", supports_short=False)
    b.on_bar(bar(100, 100, 100, 100))
    b.place(order(Side.BUY, 5))
    ack = b.place(order(Side.SELL, 6))
    assert ack.status is OrderStatus.REJECTED and "short selling" in ack.message
    assert b.place(order(Side.SELL, 5)).status is OrderStatus.FILLED


def test_submit_when_crypto_fraction_then_accepted() -> None:
    b = make_broker(fill="quote")
    b.on_bar(bar(40_000, 40_000, 40_000, 40_000, symbol="BTC-USD"))
    assert b.place(order(Side.BUY, 0.0123, "BTC-USD")).status is OrderStatus.FILLED


def test_submit_when_the_client_order_id_is_reused_then_rejected() -> None:
    b = make_broker()
    b.place(order(Side.BUY, 1, coid="dup"))
    ack = b.place(order(Side.BUY, 1, coid="dup"))
    assert ack.status is OrderStatus.REJECTED and "duplicate" in ack.message


async def test_cancel_when_resting_then_cancelled_and_never_fills() -> None:
    b = make_broker()
    b.on_bar(bar(100, 101, 99, 100, i=1))
    b.place(order(Side.BUY, 1, limit=90, coid="r"))
    assert (await b.cancel("r")).status is OrderStatus.CANCELLED
    assert (await b.order_status("r")).status is OrderStatus.CANCELLED
    b.on_bar(bar(80, 81, 79, 80, i=2))
    assert b.take_fills() == []
    assert b.trigger_levels("AAPL") == (-math.inf, math.inf, False)


async def test_cancel_when_unknown_or_filled_then_says_so() -> None:
    b = make_broker(fill="quote")
    b.on_bar(bar(100, 100, 100, 100))
    b.place(order(Side.BUY, 1, coid="done"))
    assert (await b.cancel("nope")).status is OrderStatus.REJECTED
    ack = await b.cancel("done")
    assert ack.status is OrderStatus.FILLED and "nothing to cancel" in ack.message


async def test_order_status_when_unknown_then_unknown_with_a_message() -> None:
    ack = await make_broker().order_status("never-seen")
    assert ack.status is OrderStatus.UNKNOWN and ack.message


def test_equity_fraction_when_it_reverses_then_only_the_opening_fill_completes_the_order() -> None:
    b = make_broker(cash=10_000)
    b.on_bar(bar(100, 100, 100, 100, i=1))
    b.place(order(Side.BUY, 10))
    b.on_bar(bar(100, 100, 100, 100, i=2))
    (entry,) = b.take_fills()
    assert entry.order_done is True  # one execution completes every order at this venue
    b.place(order(Side.SELL, 1, equity_fraction=0.5, coid="rev"))
    b.on_bar(bar(110, 110, 110, 110, i=3))
    close, opening = b.take_fills()
    assert (close.quantity, close.order_done) == (10, False)
    assert opening.order_done is True and opening.quantity == int(10_100 * 0.5 // 110)


def test_equity_fraction_when_nothing_is_left_to_open_after_the_close_then_the_close_completes_it(
) -> None:
    b = make_broker(cash=1_000, fee_min=500.0)
    b.on_bar(bar(100, 100, 100, 100, i=1))
    b.place(order(Side.BUY, 1))
    b.on_bar(bar(100, 100, 100, 100, i=2))
    b.take_fills()
    b.place(order(Side.SELL, 1, equity_fraction=0.1, coid="rev"))
    b.on_bar(bar(100, 100, 100, 100, i=3))
    (close,) = b.take_fills()
    assert close.order_done is True and b.position_qty("AAPL") == 0


def test_reduce_only_order_when_trimmed_to_what_is_held_then_its_fill_completes_the_order() -> None:
    b = make_broker(cash=10_000)
    b.on_bar(bar(100, 100, 100, 100, i=1))
    b.place(order(Side.BUY, 5))
    b.on_bar(bar(100, 100, 100, 100, i=2))
    b.take_fills()
    b.place(order(Side.SELL, 8, reduce_only=True, coid="exit"))
    b.on_bar(bar(101, 101, 101, 101, i=3))
    (fill,) = b.take_fills()
    assert (fill.client_order_id, fill.quantity, fill.order_done) == ("exit", 5, True)
    assert b.position_qty("AAPL") == 0


def test_protective_exit_when_the_stop_triggers_then_its_fill_completes_its_order() -> None:
    b = make_broker(cash=10_000)
    b.on_bar(bar(100, 100, 100, 100, i=1))
    b.place(order(Side.BUY, 5, stop_loss=95.0))
    b.on_bar(bar(100, 100, 100, 100, i=2))
    b.take_fills()
    b.on_bar(bar(96, 97, 90, 92, i=3))
    (stop,) = b.take_fills()
    assert (stop.reason, stop.order_done) == ("stop_loss", True)

"""Paper trading on a real market's quotes: market orders take the quoted ask or bid itself."""

from __future__ import annotations

import pytest

from robo_tui.adapters.brokers import build_paper
from robo_tui.adapters.brokers.paper import PaperBroker
from robo_tui.config import PaperCostSettings, Settings
from robo_tui.domain.orders import OrderStatus, Side
from robo_tui.domain.risk import Mode
from robo_tui.engine.clock import SimClock

from .helpers import INSTRUMENTS, T0, bar, order, quote

SLIP_BPS = 10.0  # 0.1 %: large enough that a fill with or without it is told apart


def real_broker(*, real_quotes: bool = True) -> PaperBroker:
    costs = PaperCostSettings(slippage_bps=SLIP_BPS, fill="quote")
    return PaperBroker(cash=100_000.0, costs=costs, clock=SimClock(T0), instruments=INSTRUMENTS,
                       real_quotes=real_quotes)


def test_market_order_when_real_quote_then_buys_at_the_ask_and_sells_at_the_bid_without_slippage(
) -> None:
    b = real_broker()
    b.on_quote(quote(99.9, 100.1))
    assert b.place(order(Side.BUY, 5)).status is OrderStatus.FILLED
    assert b.place(order(Side.SELL, 2)).status is OrderStatus.FILLED
    buy, sell = b.take_fills()
    assert (buy.price, sell.price) == (100.1, 99.9)


def test_market_order_when_simulated_quote_then_slippage_is_added_as_before() -> None:
    b = real_broker(real_quotes=False)
    b.on_quote(quote(99.9, 100.1))
    b.place(order(Side.BUY, 5))
    b.place(order(Side.SELL, 2))
    buy, sell = b.take_fills()
    assert buy.price == pytest.approx(100.1 * 1.001)
    assert sell.price == pytest.approx(99.9 * 0.999)


def test_market_order_when_real_quote_has_no_book_then_last_plus_slippage() -> None:
    b = real_broker()
    b.on_quote(quote(0.0, 0.0, last=100.0))  # a ticker with a last price only
    b.place(order(Side.BUY, 1))
    b.place(order(Side.SELL, 1))
    buy, sell = b.take_fills()
    assert buy.price == pytest.approx(100.0 * 1.001)
    assert sell.price == pytest.approx(100.0 * 0.999)


def test_market_order_when_no_quote_yet_then_last_close_plus_slippage() -> None:
    b = real_broker()
    b.on_bar(bar(100, 101, 99, 100.4, i=1))
    b.place(order(Side.BUY, 1))
    assert b.take_fills()[0].price == pytest.approx(100.4 * 1.001)


def test_limit_order_when_the_real_quote_crosses_it_then_fills_at_the_quote_else_rests() -> None:
    b = real_broker()
    b.on_quote(quote(99.9, 100.1))
    assert b.place(order(Side.BUY, 1, limit=101)).status is OrderStatus.FILLED
    assert b.take_fills()[0].price == 100.1
    assert b.place(order(Side.SELL, 1, limit=99)).status is OrderStatus.FILLED
    assert b.take_fills()[0].price == 99.9
    assert b.place(order(Side.BUY, 1, limit=99)).status is OrderStatus.SUBMITTED
    b.on_quote(quote(99.5, 99.6))
    assert b.take_fills() == []
    b.on_quote(quote(98.8, 98.9))
    assert b.take_fills()[0].price == 98.9


def test_queued_market_order_when_the_first_real_quote_arrives_then_fills_at_its_ask() -> None:
    b = real_broker()
    assert b.place(order(Side.BUY, 1)).status is OrderStatus.SUBMITTED  # no price yet
    b.on_quote(quote(99.9, 100.1))
    assert b.take_fills()[0].price == 100.1


@pytest.mark.parametrize(("kind", "price"), [("ccxt", 100.1), ("sim", 100.1 * 1.001)])
def test_build_paper_when_feed_is_real_then_fills_on_the_quote_else_with_slippage(
        kind: str, price: float) -> None:
    settings = Settings.model_validate({
        "feeds": {"kind": kind},
        "paper": {"slippage_bps": SLIP_BPS, "fill": "quote"},
        "universe": {"instruments": [{"symbol": "AAPL"}]},
    })
    broker = build_paper(settings, Mode.PAPER, SimClock(T0))
    assert isinstance(broker, PaperBroker)
    broker.on_quote(quote(99.9, 100.1))
    broker.place(order(Side.BUY, 1))
    assert broker.take_fills()[0].price == pytest.approx(price)

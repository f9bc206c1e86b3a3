"""Builders shared by the paper broker tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Literal

from robo_tui.adapters.brokers.paper import PaperBroker
from robo_tui.config import PaperCostSettings
from robo_tui.domain.market import AssetClass, Bar, Instrument, Quote
from robo_tui.domain.orders import Order, OrderIntent, OrderType, Side
from robo_tui.engine.clock import SimClock

T0 = datetime(2024, 1, 2, 14, 30, tzinfo=UTC)
INSTRUMENTS = {
    "AAPL": Instrument("AAPL", AssetClass.STOCK, "tech"),
    "MSFT": Instrument("MSFT", AssetClass.STOCK, "tech"),
    "BTC-USD": Instrument("BTC-USD", AssetClass.CRYPTO, "crypto"),
}
_ids = count(1)


def make_broker(
    *,
    fill: Literal["quote", "next_open"] = "next_open",
    cash: float = 100_000.0,
    slippage_bps: float = 0.0,
    fee_per_share: float = 0.0,
    fee_pct: float = 0.0,
    fee_min: float = 0.0,
    commission: float = 0.0,
    supports_short: bool = True,
) -> PaperBroker:
    """A paper broker on a simulated clock over AAPL, MSFT (stocks) and BTC-USD (crypto)."""
    costs = PaperCostSettings(
        slippage_bps=slippage_bps, fee_per_share=fee_per_share, fee_pct=fee_pct,
        fee_min=fee_min, fill=fill,
    )
    return PaperBroker(
        cash=cash, costs=costs, clock=SimClock(T0), instruments=INSTRUMENTS,
        supports_short=supports_short, commission=commission,
    )


def order(
    side: Side,
    quantity: float,
    symbol: str = "AAPL",
    *,
    limit: float | None = None,
    stop_loss: float | None = None,
    take_profit: float | None = None,
    reduce_only: bool = False,
    equity_fraction: float | None = None,
    coid: str | None = None,
) -> Order:
    """A gate-approved order with a fresh client order id."""
    intent = OrderIntent(
        symbol, side, quantity,
        OrderType.LIMIT if limit is not None else OrderType.MARKET,
        limit_price=limit, stop_loss=stop_loss, take_profit=take_profit,
        reduce_only=reduce_only, equity_fraction=equity_fraction,
    )
    return Order(coid or f"c{next(_ids)}", intent, T0, "test")


def bar(o: float, h: float, low: float, c: float, symbol: str = "AAPL", i: int = 1) -> Bar:
    """Bar number `i` (one minute apart)."""
    return Bar(symbol, T0 + timedelta(minutes=i), o, h, low, c, 1000.0)


def quote(bid: float, ask: float, symbol: str = "AAPL", last: float | None = None) -> Quote:
    """A quote with `last` at the mid unless given."""
    return Quote(symbol, T0, bid, ask, last if last is not None else (bid + ask) / 2)

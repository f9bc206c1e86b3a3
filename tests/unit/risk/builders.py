"""Small builders for risk-gate tests: a universe, accounts, contexts and entry intents."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

import numpy as np

from robo_tui.config import RiskSettings
from robo_tui.domain.market import AssetClass, FloatArray, Instrument
from robo_tui.domain.orders import AccountSnapshot, Order, OrderIntent, OrderType, Position, Side
from robo_tui.domain.risk import Mode
from robo_tui.engine.risk import RiskContext, RiskGate

T0 = datetime(2026, 1, 5, 14, 30, tzinfo=UTC)

UNIVERSE: dict[str, Instrument] = {
    i.symbol: i
    for i in (
        Instrument("AAPL", AssetClass.STOCK, "Technology"),
        Instrument("MSFT", AssetClass.STOCK, "Technology"),
        Instrument("NVDA", AssetClass.STOCK, "Technology"),
        Instrument("JPM", AssetClass.STOCK, "Financials"),
        Instrument("XOM", AssetClass.STOCK, "Energy"),
        Instrument("BTC-USD", AssetClass.CRYPTO, "Crypto"),
        Instrument("ETH-USD", AssetClass.CRYPTO, "Crypto"),
    )
}

PRICES: dict[str, float] = {
    "AAPL": 100.0,
    "MSFT": 200.0,
    "NVDA": 50.0,
    "JPM": 50.0,
    "XOM": 80.0,
    "BTC-USD": 50_000.0,
    "ETH-USD": 2_000.0,
}


def make_gate(**limits: object) -> RiskGate:
    """A gate on the test universe with default limits except those given."""
    return RiskGate(RiskSettings.model_validate(limits), UNIVERSE)


def account(
    cash: float = 100_000.0,
    positions: Mapping[str, float] | None = None,
    prices: Mapping[str, float] | None = None,
) -> AccountSnapshot:
    """An account holding `positions` (symbol → signed quantity) bought at today's prices."""
    px = dict(PRICES)
    if prices:
        px.update(prices)
    pos = {s: Position(s, q, PRICES.get(s, px.get(s, 1.0))) for s, q in (positions or {}).items()}
    return AccountSnapshot(T0, cash, pos, px)


def flat_equity_account(positions: Mapping[str, float], equity: float = 100_000.0,
                        prices: Mapping[str, float] | None = None) -> AccountSnapshot:
    """An account with `positions` whose equity is exactly `equity` at its prices."""
    acct = account(0.0, positions, prices)
    invested = sum(q * acct.prices[s] for s, q in positions.items())
    return AccountSnapshot(T0, equity - invested, acct.positions, acct.prices)


def context(
    acct: AccountSnapshot | None = None,
    *,
    mode: Mode = Mode.PAPER,
    day_start: float | None = None,
    peak: float | None = None,
    returns: Mapping[str, FloatArray] | None = None,
    open_orders: Sequence[Order] = (),
    short: bool = True,
    fractional: bool = True,
    now: datetime = T0,
) -> RiskContext:
    """A context; day start and peak default to the account's equity (no loss)."""
    acct = acct if acct is not None else account()
    eq = acct.equity
    return RiskContext(
        now=now,
        account=acct,
        mode=mode,
        day_start_equity=eq if day_start is None else day_start,
        peak_equity=eq if peak is None else peak,
        returns=returns or {},
        open_orders=open_orders,
        broker_supports_short=short,
        broker_supports_fractional=fractional,
    )


def entry(
    symbol: str,
    quantity: float,
    side: Side = Side.BUY,
    *,
    stop_pct: float = 0.02,
    tp_pct: float = 0.04,
    price: float | None = None,
    **kw: object,
) -> OrderIntent:
    """An entry with a stop and a take-profit on the right side of `price` (default: PRICES)."""
    px = price if price is not None else PRICES.get(symbol, 100.0)
    stop = px * (1 - side.sign * stop_pct)
    tp = px * (1 + side.sign * tp_pct)
    fields: dict[str, object] = {"stop_loss": stop, "take_profit": tp, "confidence": 0.8}
    fields.update(kw)
    return OrderIntent(symbol, side, quantity, **fields)  # type: ignore[arg-type]


def exit_order(symbol: str, quantity: float, side: Side = Side.SELL, **kw: object) -> OrderIntent:
    """A plain order without stops, as a trader's exit would be."""
    return OrderIntent(symbol, side, quantity, **kw)  # type: ignore[arg-type]


def open_order(intent: OrderIntent, n: int = 1) -> Order:
    """An order already sent and not yet done."""
    return Order(f"coid-{n}", intent, T0, "strategy")


def limit(intent: OrderIntent, price: float) -> OrderIntent:
    """`intent` as a limit order at `price`."""
    from dataclasses import replace

    return replace(intent, order_type=OrderType.LIMIT, limit_price=price)


def correlated_returns(rho: float, n: int = 120, seed: int = 7) -> tuple[FloatArray, FloatArray]:
    """Two return series with correlation close to `rho`."""
    rng = np.random.default_rng(seed)
    a = rng.normal(0, 0.01, n)
    noise = rng.normal(0, 0.01, n)
    b = rho * a + np.sqrt(max(0.0, 1 - rho * rho)) * noise
    return a.astype(np.float64), b.astype(np.float64)

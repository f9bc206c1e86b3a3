"""Paper broker accounting: the fill log reproduces cash and positions exactly; restore and
reconcile; a driver that skips quiet bars (trigger_levels) sees the same fills."""

from __future__ import annotations

import asyncio
import math
import random
from datetime import timedelta

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from robo_tui.adapters.brokers.paper import PaperBroker
from robo_tui.domain.orders import Fill, OrderStatus, Side

from .helpers import T0, bar, make_broker, order, quote

SYMBOLS = ("AAPL", "MSFT", "BTC-USD")

action = st.one_of(
    st.tuples(st.just("bar"), st.sampled_from(SYMBOLS), st.floats(-0.08, 0.08), st.floats(0, 0.05)),
    st.tuples(st.just("quote"), st.sampled_from(SYMBOLS), st.floats(-0.05, 0.05), st.floats(0, 0.01)),
    st.tuples(
        st.just("order"), st.sampled_from(SYMBOLS), st.sampled_from(list(Side)),
        st.integers(1, 60), st.sampled_from(["market", "limit", "protected", "fraction", "reduce"]),
        st.floats(-0.05, 0.05),
    ),
    st.tuples(st.just("cancel_all")),
)


def _drive(b: PaperBroker, actions: list[tuple[object, ...]]) -> list[Fill]:
    """Play random bars, quotes, orders and cancels; every fill, in order."""
    price = {"AAPL": 100.0, "MSFT": 300.0, "BTC-USD": 40_000.0}
    fills: list[Fill] = []
    for i, a in enumerate(actions):
        kind = a[0]
        if kind == "bar":
            _, sym, move, rng = a
            assert isinstance(sym, str) and isinstance(move, float) and isinstance(rng, float)
            o = price[sym]
            c = o * (1 + move)
            b.on_bar(bar(o, max(o, c) * (1 + rng), min(o, c) * (1 - rng), c, symbol=sym, i=i))
            price[sym] = c
        elif kind == "quote":
            _, sym, move, spread = a
            assert isinstance(sym, str) and isinstance(move, float) and isinstance(spread, float)
            mid = price[sym] * (1 + move)
            b.on_quote(quote(mid * (1 - spread), mid * (1 + spread), symbol=sym))
        elif kind == "order":
            _, sym, side, units, style, offset = a
            assert isinstance(sym, str) and isinstance(side, Side) and isinstance(units, int)
            assert isinstance(offset, float)
            qty = units / 7 if sym == "BTC-USD" else float(units)
            ref = price[sym]
            s = side.sign
            if style == "limit":
                b.place(order(side, qty, sym, limit=ref * (1 + offset)))
            elif style == "protected":
                b.place(order(side, qty, sym, stop_loss=ref * (1 - 0.2 * s), take_profit=ref * (1 + 0.2 * s)))
            elif style == "fraction":
                b.place(order(side, qty, sym, equity_fraction=0.1 + abs(offset)))
            elif style == "reduce":
                b.place(order(side, qty, sym, reduce_only=True))
            else:
                b.place(order(side, qty, sym))
        else:
            asyncio.run(b.cancel_all())
        fills.extend(b.take_fills())
    return fills


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    actions=st.lists(action, min_size=20, max_size=120),
    fill_policy=st.sampled_from(["quote", "next_open"]),
)
def test_accounting_when_random_trading_then_the_fill_log_reproduces_the_books_exactly(
    actions: list[tuple[object, ...]], fill_policy: str
) -> None:
    b = make_broker(
        fill=fill_policy, cash=50_000, slippage_bps=3, fee_per_share=0.003, fee_pct=0.0005,  # type: ignore[arg-type]
        fee_min=0.5, commission=0.001,
    )
    fills = _drive(b, actions)

    # an independent replay of the log: cash -= qty*price*sign + fee, signed quantities add up
    cash = 50_000.0
    qty: dict[str, float] = {}
    for f in fills:
        assert f.quantity > 0 and f.fee >= 0.5
        cash -= f.quantity * f.price * f.side.sign + f.fee
        qty[f.symbol] = qty.get(f.symbol, 0.0) + f.quantity * f.side.sign
    assert b.cash == cash
    acct = b.snapshot()
    for sym in SYMBOLS:
        assert acct.position_qty(sym) == pytest.approx(qty.get(sym, 0.0), abs=1e-9)
        if sym in acct.positions and sym != "BTC-USD":
            assert acct.positions[sym].quantity == int(acct.positions[sym].quantity)
    # equity = start + realized + unrealized - fees
    unrealized = sum(p.unrealized_pnl(acct.prices[s]) for s, p in acct.positions.items())
    assert acct.equity == pytest.approx(50_000 + b.realized_pnl + unrealized - b.fees_paid, rel=1e-9)
    assert b.reconcile(fills) == []

    restored = make_broker(fill=fill_policy, cash=50_000)  # type: ignore[arg-type]
    restored.restore(fills, b.protections())
    again = restored.snapshot()
    assert again.cash == acct.cash
    assert again.positions == acct.positions
    assert restored.protections() == b.protections()
    assert restored.realized_pnl == b.realized_pnl


def test_reconcile_when_a_fill_is_missing_from_the_log_then_reports_cash_and_position() -> None:
    b = make_broker(fill="quote")
    b.on_bar(bar(100, 100, 100, 100))
    b.place(order(Side.BUY, 10))
    b.place(order(Side.BUY, 5))
    fills = b.take_fills()
    assert b.reconcile(fills) == []
    issues = b.reconcile(fills[:1])
    assert any(i.startswith("cash") for i in issues)
    assert any(i.startswith("AAPL quantity") for i in issues)


async def test_restore_when_restarted_then_state_protections_and_order_status_come_back() -> None:
    b = make_broker(fill="quote", fee_pct=0.001)
    b.on_bar(bar(100, 100, 100, 100, i=1))
    b.place(order(Side.BUY, 10, stop_loss=95, take_profit=120, coid="e1"))
    b.on_bar(bar(110, 110, 110, 110, i=2))
    b.place(order(Side.SELL, 4, coid="e2"))
    b.place(order(Side.SELL, 1, "MSFT", coid="e3"))  # unknown price: rests
    fills = b.take_fills()

    fresh = make_broker(fill="quote", fee_pct=0.001)
    fresh.restore(fills, b.protections())
    assert fresh.snapshot().positions == b.snapshot().positions
    assert fresh.cash == b.cash
    assert fresh.protections() == {"AAPL": (95, 120)}
    assert (await fresh.order_status("e1")).status is OrderStatus.FILLED
    assert (await fresh.order_status("e3")).status is OrderStatus.UNKNOWN
    fresh.on_bar(bar(96, 96, 94, 95, i=3))
    (stop,) = fresh.take_fills()
    assert (stop.quantity, stop.price, stop.client_order_id) == (6, 95, "e2:sl")


def _random_walk(seed: int, n: int) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    c = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    o = np.concatenate([[100.0], c[:-1]]) * np.exp(rng.normal(0, 0.004, n))
    h = np.maximum(o, c) * (1 + np.abs(rng.normal(0, 0.005, n)))
    low = np.minimum(o, c) * (1 - np.abs(rng.normal(0, 0.005, n)))
    return o, h, low, c


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_trigger_levels_when_a_driver_skips_quiet_bars_then_fills_are_identical(seed: int) -> None:
    o, h, low, c = _random_walk(seed, 3000)
    rnd = random.Random(seed)
    plan: dict[int, list[tuple[str, float]]] = {}
    for i in rnd.sample(range(3000), 150):
        plan[i] = [(rnd.choice(["buy_limit", "sell_limit", "long", "short", "frac", "flat"]),
                    rnd.uniform(0.01, 0.06))]

    def run(skip: bool) -> tuple[list[Fill], PaperBroker, int]:
        b = make_broker(cash=100_000, slippage_bps=2, commission=0.001)
        calls = 0
        for i in range(3000):
            ts = T0 + timedelta(days=i)
            below, above, market = b.trigger_levels("AAPL")
            if not skip or market or low[i] <= below or h[i] >= above:
                b.on_bar_values("AAPL", ts, float(o[i]), float(h[i]), float(low[i]), float(c[i]))
                calls += 1
            else:
                b.mark("AAPL", float(c[i]))
            for kind, d in plan.get(i, ()):
                px = float(c[i])
                coid = f"{kind}-{i}"
                if kind == "buy_limit":
                    b.place(order(Side.BUY, 10, limit=px * (1 - d), coid=coid))
                elif kind == "sell_limit":
                    b.place(order(Side.SELL, 10, limit=px * (1 + d), coid=coid))
                elif kind == "long":
                    b.place(order(Side.BUY, 20, stop_loss=px * (1 - d), take_profit=px * (1 + 2 * d), coid=coid))
                elif kind == "short":
                    b.place(order(Side.SELL, 20, stop_loss=px * (1 + d), take_profit=px * (1 - 2 * d), coid=coid))
                elif kind == "frac":
                    b.place(order(Side.BUY, 1, equity_fraction=0.2, coid=coid))
                elif b.position_qty("AAPL"):
                    q = b.position_qty("AAPL")
                    b.place(order(Side.SELL if q > 0 else Side.BUY, abs(q), reduce_only=True, coid=coid))
        return b.take_fills(), b, calls

    every, b1, n1 = run(skip=False)
    skipped, b2, n2 = run(skip=True)
    assert len(every) > 50
    assert skipped == every
    assert b2.cash == b1.cash and b2.equity == b1.equity
    assert n2 < n1 / 2  # the point of the fast path
    assert {f.reason for f in every} >= {"order", "stop_loss", "take_profit"}


def test_trigger_levels_when_orders_and_protections_then_reports_the_nearest_levels() -> None:
    b = make_broker()
    assert b.trigger_levels("AAPL") == (-math.inf, math.inf, False)
    b.on_bar(bar(100, 100, 100, 100, i=1))
    b.place(order(Side.BUY, 10, stop_loss=90, take_profit=120))
    assert b.trigger_levels("AAPL") == (-math.inf, math.inf, True)
    b.on_bar(bar(100, 100, 100, 100, i=2))
    assert b.trigger_levels("AAPL") == (90, 120, False)
    b.place(order(Side.BUY, 1, limit=95))
    b.place(order(Side.SELL, 1, limit=110))
    b.place(order(Side.BUY, 1, limit=80))
    assert b.trigger_levels("AAPL") == (95, 110, False)
    assert b.trigger_levels("MSFT") == (-math.inf, math.inf, False)

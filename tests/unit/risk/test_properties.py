"""Property tests: random sequences of proposals, fills, price gaps, mode switches, halts and
resumes never breach a limit, and HALTED never lets an order out.

A small portfolio model lives inside the test: cash and positions change only by fills of
orders the gate allowed, at the market price of the moment (a limit order that is not
marketable is dropped). After every step the test checks what the gate promises.
"""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import datetime, timedelta

import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from robo_tui.config import RiskSettings
from robo_tui.domain.market import FloatArray
from robo_tui.domain.orders import AccountSnapshot, OrderIntent, OrderType, Position, Side
from robo_tui.domain.risk import Mode, RiskVerdict, TradingState
from robo_tui.engine.risk import RiskContext, RiskGate

from .builders import PRICES, T0, UNIVERSE

SYMBOLS = sorted(UNIVERSE)
OUTSIDERS = ["TSLA", "aapl", ""]
EPS = 1e-6

quantities = st.one_of(
    st.integers(1, 400).map(float),
    st.floats(0.001, 3.0),
    st.floats(0.01, 400.0),
    st.sampled_from([0.0, -5.0, math.nan, math.inf, -math.inf, 1e12, 1e-12]),
)
fractions = st.one_of(
    st.none(), st.none(), st.floats(0.001, 1.0), st.sampled_from([math.nan, -0.1, 0.0, 5.0])
)


def _returns() -> dict[str, FloatArray]:
    """Recent returns: AAPL and MSFT move together, ETH-USD has none (the rule skips it)."""
    rng = np.random.default_rng(2026)
    base = rng.normal(0, 0.01, 120)
    out = {s: rng.normal(0, 0.01, 120) for s in SYMBOLS if s != "ETH-USD"}
    out["AAPL"] = base
    out["MSFT"] = 0.95 * base + 0.05 * rng.normal(0, 0.01, 120)
    return out


class GateMachine(RuleBasedStateMachine):
    """A trader, strategies and a market doing random things to one gate and one account."""

    def __init__(self) -> None:
        super().__init__()
        self.limits = RiskSettings()
        self.gate = RiskGate(self.limits, UNIVERSE)
        self.cash = 100_000.0
        self.qty: dict[str, float] = {}
        self.avg: dict[str, float] = {}
        self.prices = dict(PRICES)
        self.now: datetime = T0
        self.mode = Mode.PAPER
        self.day_start = 100_000.0
        self.peak = 100_000.0
        self.broker_short = True
        self.broker_fractional = True
        self.returns = _returns()
        self.latched = False
        self.allowed = 0
        self.denied = 0

    # ---------------------------------------------------------------------------- model

    def equity(self) -> float:
        return self.cash + sum(q * self.prices[s] for s, q in self.qty.items())

    def ctx(self) -> RiskContext:
        positions = {s: Position(s, q, self.avg[s]) for s, q in self.qty.items() if q != 0}
        acct = AccountSnapshot(self.now, self.cash, positions, dict(self.prices))
        return RiskContext(
            now=self.now, account=acct, mode=self.mode, day_start_equity=self.day_start,
            peak_equity=self.peak, returns=self.returns, open_orders=(),
            broker_supports_short=self.broker_short,
            broker_supports_fractional=self.broker_fractional,
        )

    def exposure(self) -> tuple[float, dict[str, float]]:
        gross = 0.0
        sectors: dict[str, float] = {}
        for s, q in self.qty.items():
            v = abs(q * self.prices[s])
            gross += v
            sec = UNIVERSE[s].sector
            sectors[sec] = sectors.get(sec, 0.0) + v
        return gross, sectors

    def fill(self, intent: OrderIntent, units: float, price: float) -> None:
        sym = intent.symbol
        old = self.qty.get(sym, 0.0)
        new = old + intent.side.sign * units
        self.cash -= intent.side.sign * units * price
        pnl = 0.0
        if old != 0 and old * new <= 0:  # closed or flipped: realise the old position
            pnl = (price - self.avg[sym]) * old
        if new == 0:
            self.qty.pop(sym, None)
            self.avg.pop(sym, None)
        elif old == 0 or old * new < 0:
            self.qty[sym], self.avg[sym] = new, price
        elif abs(new) > abs(old):
            self.avg[sym] = (self.avg[sym] * old + price * (new - old)) / new
            self.qty[sym] = new
        else:
            self.qty[sym] = new
        if old != 0 and old * new <= 0:
            self.gate.record_exit(sym, self.now, pnl)
        self.peak = max(self.peak, self.equity())

    # ------------------------------------------------------------------------- submit

    def submit(self, intent: OrderIntent) -> RiskVerdict:
        ctx = self.ctx()
        state_before = self.gate.state
        verdict = self.gate.check(intent, ctx)
        assert self.gate.check(intent, ctx) == verdict, "check must be pure and deterministic"
        assert self.gate.state is state_before
        assert verdict.allowed == (not verdict.reasons)
        assert all(r.code and r.message for r in verdict.reasons)
        if state_before is TradingState.HALTED or self.latched:
            assert not verdict.allowed, "HALTED let an order out"
            assert "halted" in verdict.codes
        if verdict.state is TradingState.HALTED:
            assert not verdict.allowed
        if not verdict.allowed:
            self.denied += 1
            return verdict
        self.allowed += 1

        sym = intent.symbol
        assert sym in UNIVERSE or self.qty.get(sym, 0.0) != 0
        assert math.isfinite(intent.quantity) and intent.quantity > 0
        price = self.prices[sym]
        buy = intent.side is Side.BUY
        if intent.order_type is OrderType.LIMIT:
            assert intent.limit_price is not None
            if (buy and intent.limit_price < price) or (not buy and intent.limit_price > price):
                self.gate.record_sent(intent, self.now)
                return verdict  # would rest; this model cancels it at once
        units = intent.quantity
        if intent.equity_fraction is not None:
            # the venue sizes at fill time from what it can spend (never more than equity: short
            # sale proceeds are not buying power), in whole units
            budget = max(0.0, min(self.cash, self.equity()))
            units = float(math.floor(intent.equity_fraction * budget / price))
        self.gate.record_sent(intent, self.now)
        if units <= 0:
            return verdict
        if units != math.floor(units):
            assert UNIVERSE[sym].fractional and self.broker_fractional

        old = self.qty.get(sym, 0.0)
        new = old + intent.side.sign * units
        equity = self.equity()
        increases = abs(new) > abs(old) * (1 + EPS) or old * new < 0
        if verdict.state is TradingState.REDUCING:
            assert not increases, "REDUCING allowed an order that is not risk-reducing"
        if self.mode.live_limits:  # LIVE, and SHADOW which previews it
            assert units * price <= self.limits.max_live_order_notional * (1 + EPS)
        if intent.reduce_only:
            assert not increases
        if increases:
            lim = self.limits
            assert units * price <= lim.max_order_notional * (1 + EPS)
            assert abs(new) * price <= lim.max_position_pct * equity * (1 + EPS), (
                f"{sym} position {abs(new) * price:.2f} > {lim.max_position_pct} x {equity:.2f}"
            )
            assert intent.confidence >= lim.min_confidence
            if new < 0:
                assert lim.allow_short and self.broker_short
            if lim.require_stops:
                assert intent.stop_loss is not None and intent.take_profit is not None
            if intent.stop_loss is not None:
                assert (intent.stop_loss < price) if buy else (intent.stop_loss > price)
        self.fill(intent, units, price)
        if increases:
            gross, sectors = self.exposure()
            lim = self.limits
            assert gross <= lim.max_gross_exposure_pct * equity * (1 + EPS)
            assert sectors[UNIVERSE[sym].sector] <= lim.max_sector_pct * equity * (1 + EPS)
            assert len(self.qty) <= lim.max_positions
        return verdict

    # -------------------------------------------------------------------------- rules

    @initialize(
        allow_short=st.booleans(),
        require_stops=st.booleans(),
        max_positions=st.integers(1, 4),
        max_position_pct=st.sampled_from([0.05, 0.10, 0.30]),
        max_orders_per_minute=st.integers(1, 20),
        max_sector_pct=st.sampled_from([0.12, 0.3]),
        max_live_order_notional=st.sampled_from([1_000.0, 5_000.0]),
    )
    def configure(self, allow_short: bool, require_stops: bool, max_positions: int,
                  max_position_pct: float, max_orders_per_minute: int, max_sector_pct: float,
                  max_live_order_notional: float) -> None:
        self.limits = RiskSettings.model_validate({
            "allow_short": allow_short, "require_stops": require_stops,
            "max_positions": max_positions, "max_position_pct": max_position_pct,
            "max_orders_per_minute": max_orders_per_minute, "max_sector_pct": max_sector_pct,
            "max_live_order_notional": max_live_order_notional,
        })
        self.gate.update_settings(self.limits)

    @rule(
        symbol=st.sampled_from(SYMBOLS + OUTSIDERS),
        side=st.sampled_from(Side),
        quantity=quantities,
        limit_offset=st.one_of(st.none(), st.floats(-0.05, 0.05)),
        stop=st.sampled_from(["ok", "ok", "missing", "wrong", "nan", "far"]),
        take_profit=st.sampled_from(["ok", "ok", "missing", "wrong"]),
        reduce_only=st.sampled_from([False, False, True]),
        confidence=st.one_of(st.floats(0.0, 1.0), st.just(math.nan)),
        equity_fraction=fractions,
    )
    def propose(self, symbol: str, side: Side, quantity: float, limit_offset: float | None,
                stop: str, take_profit: str, reduce_only: bool, confidence: float,
                equity_fraction: float | None) -> None:
        price = self.prices.get(symbol, 100.0)
        sign = side.sign
        stop_price = {"ok": price * (1 - sign * 0.02), "missing": None,
                      "wrong": price * (1 + sign * 0.02), "nan": math.nan,
                      "far": price * (1 - sign * 0.4)}[stop]
        tp_price = {"ok": price * (1 + sign * 0.05), "missing": None,
                    "wrong": price * (1 - sign * 0.05)}[take_profit]
        intent = OrderIntent(
            symbol, side, quantity,
            order_type=OrderType.MARKET if limit_offset is None else OrderType.LIMIT,
            limit_price=None if limit_offset is None else price * (1 + limit_offset),
            stop_loss=stop_price, take_profit=tp_price, reduce_only=reduce_only,
            confidence=confidence, equity_fraction=equity_fraction,
        )
        self.submit(intent)

    @rule(
        symbol=st.sampled_from(SYMBOLS),
        side=st.sampled_from([Side.BUY, Side.BUY, Side.SELL]),
        size_x=st.one_of(st.floats(0.97, 1.01), st.floats(0.01, 1.5)),
        limit_offset=st.one_of(st.none(), st.none(), st.floats(-0.02, 0.02)),
        stop_pct=st.floats(0.005, 0.08),
        confidence=st.floats(0.25, 1.0),
        equity_fraction=st.one_of(st.none(), st.none(), st.none(), st.floats(0.01, 0.2)),
    )
    def propose_entry(self, symbol: str, side: Side, size_x: float, limit_offset: float | None,
                      stop_pct: float, confidence: float, equity_fraction: float | None) -> None:
        """A plausible strategy entry, sized as a multiple of the position limit (often near it)."""
        price = self.prices[symbol]
        units = size_x * self.limits.max_position_pct * max(self.equity(), 0.0) / price
        if not UNIVERSE[symbol].fractional:
            units = float(math.floor(units))
        if units <= 0:
            return
        sign = side.sign
        self.submit(OrderIntent(
            symbol, side, units,
            order_type=OrderType.MARKET if limit_offset is None else OrderType.LIMIT,
            limit_price=None if limit_offset is None else price * (1 + limit_offset),
            stop_loss=price * (1 - sign * stop_pct), take_profit=price * (1 + sign * 2 * stop_pct),
            confidence=confidence, equity_fraction=equity_fraction,
        ))

    @rule(pick=st.integers(0, 7), fraction=st.sampled_from([0.25, 0.5, 1.0, 1.5]),
          reduce_only=st.booleans())
    def propose_exit(self, pick: int, fraction: float, reduce_only: bool) -> None:
        """Close part or all of a held position (1.5: overshoot, which flips it)."""
        if not self.qty:
            return
        symbol = sorted(self.qty)[pick % len(self.qty)]
        held = self.qty[symbol]
        units = abs(held) * fraction
        if not UNIVERSE[symbol].fractional:
            units = float(max(1, math.floor(units)))
        side = Side.SELL if held > 0 else Side.BUY
        verdict = self.submit(OrderIntent(symbol, side, units, reduce_only=reduce_only))
        whole_or_fractional_ok = units == math.floor(units) or self.broker_fractional
        if fraction <= 1.0 and units <= abs(held) and not self.latched and whole_or_fractional_ok \
                and self.gate.state is not TradingState.HALTED \
                and verdict.state is not TradingState.HALTED:
            # a trader can always get out unless halted (in live, in slices under the cap)
            under_cap = units * self.prices[symbol] <= self.limits.max_live_order_notional
            if not self.mode.live_limits or under_cap:
                assert verdict.allowed, verdict.reasons

    @rule(
        symbol=st.sampled_from(SYMBOLS),
        factor=st.one_of(st.floats(0.9, 1.1), st.floats(0.5, 1.6)),
        then_evaluate=st.sampled_from([True, True, False]),
    )
    def gap(self, symbol: str, factor: float, then_evaluate: bool) -> None:
        """The price jumps; the engine usually re-evaluates the loss limits right after."""
        self.prices[symbol] *= factor
        self.peak = max(self.peak, self.equity())
        if then_evaluate:
            self.gate.evaluate(self.ctx())

    @rule(factor=st.sampled_from([0.99, 0.95, 0.9, 0.85, 0.8, 0.75, 0.6, 1.05, 1.2]))
    def market_moves(self, factor: float) -> None:
        """Every held symbol moves together (a long book loses, a short one gains); then evaluate."""
        for sym in self.qty:
            self.prices[sym] *= factor
        self.peak = max(self.peak, self.equity())
        self.gate.evaluate(self.ctx())

    @rule(seconds=st.sampled_from([0, 1, 30, 61, 400, 2000, 16 * 3600]))
    def time_passes(self, seconds: int) -> None:
        """Time moves on; 16 hours later it is a new trading day."""
        self.now += timedelta(seconds=seconds)
        if seconds >= 16 * 3600:
            self.day_start = self.equity()

    @rule(mode=st.sampled_from(Mode), short=st.booleans(), fractional=st.booleans())
    def reconfigure(self, mode: Mode, short: bool, fractional: bool) -> None:
        """The trader switches mode (LIVE included) or the engine switches brokers."""
        self.mode = mode
        self.broker_short = short
        self.broker_fractional = fractional

    @rule(on=st.booleans())
    def kill_switch(self, on: bool) -> None:
        if on:
            self.gate.halt("kill switch")
            for sym, held in sorted(self.qty.items()):  # the trader tries to get out at once
                side = Side.SELL if held > 0 else Side.BUY
                self.submit(OrderIntent(sym, side, abs(held), reduce_only=True))
        else:
            self.gate.resume()
            self.latched = False

    @rule(kind=st.sampled_from(["data", "model", "broker"]),
          ok=st.sampled_from([True, True, False]))
    def source_call(self, kind: str, ok: bool) -> None:
        if ok:
            self.gate.record_success(kind)
        else:
            self.gate.record_failure(kind, "timeout")

    @invariant()
    def halted_is_latched(self) -> None:
        if self.latched:
            assert self.gate.state is TradingState.HALTED, "HALTED left without a resume"
        if self.gate.state is TradingState.HALTED:
            self.latched = True
            assert self.gate.halt_reason

    @invariant()
    def positions_stay_within_the_count(self) -> None:
        assert len(self.qty) <= self.limits.max_positions


GateMachine.TestCase.settings = settings(
    max_examples=300,
    stateful_step_count=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_gate_never_breaches_a_limit = GateMachine.TestCase


def test_gate_machine_when_run_then_allows_and_denies_orders() -> None:
    """The property test above must exercise both outcomes, or it proves nothing."""
    machine = GateMachine()
    machine.configure(True, True, 3, 0.10, 10, 0.3, 5_000.0)
    allowed = machine.submit(OrderIntent("AAPL", Side.BUY, 50, stop_loss=98.0, take_profit=105.0))
    denied = machine.submit(OrderIntent("AAPL", Side.BUY, 500, stop_loss=98.0, take_profit=105.0))
    assert allowed.allowed and not denied.allowed
    machine.reconfigure(Mode.LIVE, short=True, fractional=True)
    exit_verdict = machine.submit(replace(OrderIntent("AAPL", Side.SELL, 50), reduce_only=True))
    assert exit_verdict.allowed
    assert machine.qty == {}
    machine.teardown()

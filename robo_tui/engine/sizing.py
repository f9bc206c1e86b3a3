"""Position sizing: fixed-fractional risk, fractional Kelly, conviction scaling, all-in.

The sizer turns a direction, a price and a volatility (ATR) into a quantity with a stop-loss and
a take-profit, and never returns more than the risk gate's limits allow (the gate re-checks).
"""

from __future__ import annotations

import functools
import math
import sys

import numpy as np

from robo_tui.config import RiskSettings, SizingSettings
from robo_tui.domain.frozen import frozen
from robo_tui.domain.increments import Increments
from robo_tui.domain.market import BarArrays, FloatArray
from robo_tui.engine.indicators import atr_series, true_range_of

FALLBACK_ATR_PCT = 0.02
"""ATR assumed, as a fraction of price, when there is too little history to measure it."""
FRACTIONAL_STEP = 1e-6
"""Quantity step of fractional instruments (crypto)."""
MAX_STOP_FRACTION = 0.5
"""A long's stop is never further than this fraction of the price below it."""
MAX_SHORT_TARGET_FRACTION = 0.9
"""A short's take-profit is never further than this fraction of the price below it."""
ALL_IN = 1.0 - sys.float_info.epsilon
"""The all_in method's relative entry size: all the venue's buying power, less one ulp so the
fraction stays below 1 (what a relative-size order in (0, 1) means)."""


@frozen
class SizeRequest:
    """What the sizer needs to size one entry. `direction` is +1 (long) or -1 (short);
    `confidence` in [0, 1]; `live` applies the smaller live order-notional cap."""

    symbol: str
    direction: int
    price: float
    atr: float
    confidence: float
    equity: float
    cash: float
    fractional: bool = False
    live: bool = False
    pace: float = 1.0
    """The risk-budget multiplier of goal pacing (`reports.pacing`), in (0, 1]."""


@frozen
class SizeResult:
    """A sized entry: `quantity` > 0, or 0.0 when no sensible size exists (`notes` say why).

    `risk_amount` is the loss if the stop is hit (quantity x stop distance, before costs).
    """

    quantity: float
    stop_loss: float | None
    take_profit: float | None
    risk_amount: float
    method: str
    notes: tuple[str, ...] = ()


PRICE_HEADROOM = 0.01
"""Fraction kept below the limits that are judged at the price (position, notional, cash)."""


def atr(bars: BarArrays, window: int, *, last: int | None = None) -> float:
    """Wilder's ATR at the last bar (as `ta`'s AverageTrueRange), measured over the `last` bars
    only when given (a fixed span keeps the value the same whatever history length a caller
    holds), or FALLBACK_ATR_PCT of the last close when there are fewer than `window` bars or the
    value is unusable.

    Raises ValueError when there are no bars or the last close is not a positive number.
    """
    n = bars.close.shape[0]
    if n == 0:
        raise ValueError(f"cannot measure ATR of {bars.symbol}: no bars")
    last_close = float(bars.close[-1])
    if not (math.isfinite(last_close) and last_close > 0):
        raise ValueError(f"cannot measure ATR of {bars.symbol}: last close is {last_close}")
    start = 0 if last is None else max(0, n - last)
    if n - start >= window:
        ranges = true_range_of(bars.high[start:], bars.low[start:], bars.close[start:])
        value = _wilder_last(ranges, window)
        if math.isfinite(value) and value > 0:
            return value
    return last_close * FALLBACK_ATR_PCT


def _wilder_last(values: FloatArray, window: int) -> float:
    """The last value of `wilder(values, window)` in closed form: seed (1-a)^m plus the
    a-weighted sum of the m later values, a = 1/window (one dot product, no pandas)."""
    seed = float(np.add.reduce(values[:window])) / window
    m = values.shape[0] - window
    if m <= 0:
        return seed
    decay, weights = _wilder_weights(window, m)
    return decay * seed + float(weights @ values[window:])


@functools.lru_cache(maxsize=64)
def _wilder_weights(window: int, m: int) -> tuple[float, FloatArray]:
    """(1-a)^m and the weights a(1-a)^(m-1) ... a(1-a)^0 of the m values after the seed; the
    sizer asks for the same few shapes on every order, so they are computed once."""
    a = 1.0 / window
    weights = a * (1.0 - a) ** np.arange(m - 1, -1, -1, dtype=np.float64)
    weights.flags.writeable = False
    return (1.0 - a) ** m, weights


def atr_array(bars: BarArrays, window: int) -> FloatArray:
    """ATR per bar (causal), with FALLBACK_ATR_PCT of the close where it is not yet defined:
    the vectorised form of `atr` for backtests."""
    values = atr_series(bars, window)
    bad = ~(values > 0)
    values[bad] = bars.close[bad] * FALLBACK_ATR_PCT
    return values


class Sizer:
    """Sizes entries by the configured method, then clips to the risk limits.

    fixed_fractional: quantity = equity x risk_per_trade_pct / stop distance, with the stop at
    stop_atr_multiple x ATR and the take-profit at reward_risk x the stop distance.
    kelly: once `record_trade` has seen kelly_min_trades closed trades, the risked fraction is
    kelly_fraction x (W - (1 - W) / R) from the measured win rate W and payoff ratio R (average
    win / average loss), capped at kelly_cap_pct; no trade when it is not positive; fixed-
    fractional before then. Both scale by the signal's confidence when conviction_scaling is on.
    all_in: all the cash (equity for a short) in whole units, no conviction scaling.
    Every method is then clipped so that notional <= max_position_pct x equity and
    <= max_order_notional (and the live cap when live), risk to the stop <= max_risk_per_trade_pct
    x equity, and notional <= cash for longs; whole units unless fractional (step 1e-6).
    When the venue declared its grid for the symbol (`increments`, loaded at start), the stop
    and take-profit are moved to its tick on the trader's safe side and the quantity to its
    step and min/max size (`robo_tui.domain.increments`), before the gate judges the order.
    """

    def __init__(self, sizing: SizingSettings, risk: RiskSettings) -> None:
        self.sizing = sizing
        self.risk = risk
        self._trades = 0
        self._wins = 0
        self._losses = 0
        self._sum_win = 0.0
        self._sum_loss = 0.0
        self.increments: dict[str, Increments] = {}
        """The venue's price and size grid per symbol (empty: any price and size is taken)."""

    # -- Kelly statistics ----------------------------------------------------------------------

    def record_trade(self, pnl: float) -> None:
        """Count a closed trade's P&L (positive wins, negative losses, zero neither)."""
        if not math.isfinite(pnl):
            raise ValueError(f"trade P&L must be a finite number, got {pnl!r}")
        self._trades += 1
        if pnl > 0:
            self._wins += 1
            self._sum_win += pnl
        elif pnl < 0:
            self._losses += 1
            self._sum_loss -= pnl

    @property
    def trades_recorded(self) -> int:
        """Closed trades seen by `record_trade`."""
        return self._trades

    def kelly_risk_fraction(self) -> float | None:
        """The fractional-Kelly risk fraction in [0, kelly_cap_pct], or None before
        kelly_min_trades closed trades."""
        if self._trades < self.sizing.kelly_min_trades:
            return None
        if self._wins == 0:
            return 0.0
        win_rate = self._wins / self._trades
        if self._losses == 0:
            full = win_rate  # no loss yet: the payoff ratio is unbounded
        else:
            payoff = (self._sum_win / self._wins) / (self._sum_loss / self._losses)
            full = win_rate - (1.0 - win_rate) / payoff
        return min(max(full * self.sizing.kelly_fraction, 0.0), self.sizing.kelly_cap_pct)

    # -- sizing --------------------------------------------------------------------------------

    @property
    def needs_atr(self) -> bool:
        """Whether sizing reads the volatility (ATR): for the stop distance of the risk-based
        methods, or for the protections attached to any entry. all_in without attached stops
        does not, so a caller may skip measuring it."""
        return self.sizing.attach_stops or self.sizing.method != "all_in"

    @property
    def entry_equity_fraction(self) -> float | None:
        """The relative size (`OrderIntent.equity_fraction`) an entry order carries, or None
        when the sized quantity is final. all_in lets the venue size the entry at the fill
        from all its buying power (ALL_IN), since a reversal's buying power is known only once
        the old position has closed at the fill price."""
        return ALL_IN if self.sizing.method == "all_in" else None

    def size(self, req: SizeRequest) -> SizeResult:
        """Size one entry; see the class docstring for the rules."""
        if req.direction not in (1, -1):
            raise ValueError(f"direction must be +1 or -1, got {req.direction!r}")
        method = self.sizing.method
        price, d = float(req.price), req.direction
        if not (math.isfinite(price) and price > 0):
            return SizeResult(0.0, None, None, 0.0, method, (f"no valid price ({price})",))
        notes: list[str] = []
        stop_dist, target_dist = self._distances(price, d, float(req.atr), notes)
        stop_loss = price - d * stop_dist
        take_profit = price + d * target_dist
        grid = self.increments.get(req.symbol)
        if grid is not None:
            stop_loss = grid.stop_price(stop_loss, d > 0)
            take_profit = grid.target_price(take_profit, d > 0)
            stop_dist = abs(price - stop_loss)

        def result(qty: float) -> SizeResult:
            return SizeResult(qty, stop_loss, take_profit, qty * stop_dist, method, tuple(notes))

        equity, cash = float(req.equity), float(req.cash)
        if not (math.isfinite(equity) and equity > 0):
            notes.append(f"no equity to risk ({equity})")
            return result(0.0)
        if method == "all_in":
            qty = self._all_in_quantity(d, price, equity, cash, notes)
        else:
            risked = self._risk_quantity(method, stop_dist, equity, float(req.confidence), notes,
                                         min(max(req.pace, 0.0), 1.0))
            if risked is None:
                return result(0.0)
            qty = risked
        qty = self._clip(req, qty, price, stop_dist, equity, cash, notes)
        if qty > 0 and grid is not None:
            qty = grid.quantity(qty)  # down to the venue's step: every limit still holds
            if qty <= 0:
                notes.append(f"below the venue's minimum size {grid.min_quantity:g}")
        if qty <= 0:
            notes.append("less than one tradable unit")
            return result(0.0)
        return result(qty)

    def _distances(self, price: float, d: int, atr_value: float,
                   notes: list[str]) -> tuple[float, float]:
        """(stop distance, take-profit distance) from the ATR, each capped for its side."""
        if not (math.isfinite(atr_value) and atr_value > 0):
            atr_value = price * FALLBACK_ATR_PCT
            notes.append(f"ATR unavailable; assumed {FALLBACK_ATR_PCT:.0%} of price")
        stop_dist = self.sizing.stop_atr_multiple * atr_value
        if d > 0 and stop_dist > price * MAX_STOP_FRACTION:
            stop_dist = price * MAX_STOP_FRACTION
            notes.append(f"stop distance capped at {MAX_STOP_FRACTION:.0%} of price")
        target_dist = self.sizing.reward_risk * stop_dist
        if d < 0 and target_dist > price * MAX_SHORT_TARGET_FRACTION:
            target_dist = price * MAX_SHORT_TARGET_FRACTION
            notes.append(f"take-profit capped at {MAX_SHORT_TARGET_FRACTION:.0%} below price")
        return stop_dist, target_dist

    def protective_levels(self, price: float, direction: int, atr_value: float
                          ) -> tuple[float, float]:
        """(stop, take-profit) prices the sizer would attach to an entry at `price` in
        `direction` (+1 long, -1 short) with this ATR: what the order ticket suggests."""
        stop_dist, target_dist = self._distances(price, direction, atr_value, [])
        return price - direction * stop_dist, price + direction * target_dist

    @staticmethod
    def _all_in_quantity(d: int, price: float, equity: float, cash: float,
                         notes: list[str]) -> float:
        """all_in: all the cash (equity for a short) at the price, before the limits."""
        budget = cash if d > 0 else equity
        notes.append("all-in: all available " + ("cash" if d > 0 else "equity"))
        return max(budget, 0.0) / price

    def _risk_quantity(self, method: str, stop_dist: float, equity: float, confidence: float,
                       notes: list[str], pace: float = 1.0) -> float | None:
        """fixed_fractional or kelly: the risked fraction of equity over the stop distance,
        scaled by confidence when conviction scaling is on; None (no trade) when kelly measures
        no edge."""
        fraction = self.sizing.risk_per_trade_pct
        if method == "kelly":
            kelly = self.kelly_risk_fraction()
            if kelly is None:
                notes.append(
                    f"kelly after {self.sizing.kelly_min_trades} trades "
                    f"({self._trades} so far): fixed-fractional {fraction:.2%}"
                )
            elif kelly <= 0.0:
                notes.append("kelly: no measured edge, no trade")
                return None
            else:
                fraction = kelly
                notes.append(f"kelly risk {fraction:.2%} of equity")
        qty = equity * fraction / stop_dist
        if self.sizing.conviction_scaling:
            conf = min(max(confidence, 0.0), 1.0) if math.isfinite(confidence) else 0.0
            qty *= conf
            notes.append(f"scaled by confidence {conf:.2f}")
        if pace < 1.0:
            qty *= pace
            notes.append(f"paced to {pace:.0%} of the risk budget (day's goal)")
        return qty

    def _clip(self, req: SizeRequest, qty: float, price: float, stop_dist: float, equity: float,
              cash: float, notes: list[str]) -> float:
        """`qty` clipped to every limit and rounded down to a tradable quantity."""
        limits = self._limits(req, price, stop_dist, equity, cash)
        for name, unit, limit in limits:
            if qty * unit > limit:
                qty = limit / unit
                notes.append(f"clipped to {name}")
        qty = self._round_down(qty, req.fractional)
        step = FRACTIONAL_STEP if req.fractional else 1.0
        # Rounding is downward, but guard the float products the gate will recompute: each
        # limit only lowers qty, so one pass leaves every limit satisfied.
        for _, unit, limit in limits:
            if qty > 0 and qty * unit > limit:
                qty = self._round_down(limit / unit, req.fractional) if unit > 0 else 0.0
                if qty * unit > limit:
                    qty = self._round_down(qty - step, req.fractional)
        return qty

    def _limits(
        self, req: SizeRequest, price: float, stop_dist: float, equity: float, cash: float
    ) -> list[tuple[str, float, float]]:
        """(name, per-unit amount, limit): quantity x per-unit amount must not exceed limit."""
        notional = self.risk.max_order_notional
        if req.live:
            notional = min(notional, self.risk.max_live_order_notional)
        # Limits judged at the price leave PRICE_HEADROOM, so a proposal still passes the gate
        # after the small move between sizing and submit (a human may take a minute to approve).
        room = 1.0 - PRICE_HEADROOM
        limits = [
            ("max_position_pct", price, self.risk.max_position_pct * equity * room),
            ("max_order_notional", price, notional * room),
            ("max_risk_per_trade_pct", stop_dist, self.risk.max_risk_per_trade_pct * equity),
        ]
        if req.direction > 0:
            limits.append(("available cash", price, max(cash, 0.0) * room))
        return limits

    @staticmethod
    def _round_down(qty: float, fractional: bool) -> float:
        if not math.isfinite(qty) or qty <= 0:
            return 0.0
        if fractional:
            return math.floor(qty * 1e6) / 1e6
        return float(math.floor(qty))


__all__ = ["ALL_IN", "FALLBACK_ATR_PCT", "SizeRequest", "SizeResult", "Sizer", "atr", "atr_array"]

"""Prices and sizes a venue accepts: its tick, its quantity step and its min/max order size.

A venue rejects an off-tick price (IB) or an off-step quantity (Robinhood crypto), so the sizer
rounds every price and quantity it produces here, before the risk gate judges the order, and
always on the side that is safe for the trader:

- a buy limit rounds down and a sell limit up (never pay more, never sell for less than asked);
- a long's stop rounds down and a short's stop up (never stopped out earlier than planned);
- a take-profit is a limit on the exit side: a long's (a sell) rounds up, a short's (a buy)
  down, so it never exits cheaper than planned;
- a quantity rounds down to the step (never more than sized), and is 0 below the minimum.

The arithmetic is decimal on the shortest repr of each float, so 172.73351893239743 on a 0.01
tick is 172.73 exactly, not 172.73000000000002.
"""

from __future__ import annotations

import math
from dataclasses import replace
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, InvalidOperation
from enum import StrEnum

from robo_tui.domain.frozen import frozen
from robo_tui.domain.orders import OrderIntent, Side


class Rounding(StrEnum):
    """Which way a price moves to its tick: DOWN (toward zero) or UP."""

    DOWN = "down"
    UP = "up"


@frozen
class Increments:
    """The grid of one instrument at one venue.

    `price_tick` is the smallest price step; `sub_dollar_tick` (when set) replaces it for
    prices below 1 (US stocks: 0.01, and 0.0001 under $1). `quantity_step` is the smallest
    quantity step (1 for whole shares), `min_quantity`/`max_quantity` the order size limits
    (None: no maximum)."""

    price_tick: float = 0.01
    quantity_step: float = 1.0
    min_quantity: float = 0.0
    max_quantity: float | None = None
    sub_dollar_tick: float | None = None

    def tick_for(self, price: float) -> float:
        """The tick that applies at `price`."""
        if self.sub_dollar_tick is not None and price < 1.0:
            return self.sub_dollar_tick
        return self.price_tick

    def round_price(self, price: float, rounding: Rounding) -> float:
        """`price` moved to the tick in the direction `rounding` (unchanged when not finite or
        when the tick is not positive)."""
        return round_to_step(price, self.tick_for(price), rounding)

    def limit_price(self, price: float, buy: bool) -> float:
        """A limit price on the tick: a buy rounds down, a sell up."""
        return self.round_price(price, Rounding.DOWN if buy else Rounding.UP)

    def stop_price(self, price: float, long: bool) -> float:
        """A protective stop on the tick: a long's (a sell stop) rounds down, a short's up."""
        return self.round_price(price, Rounding.DOWN if long else Rounding.UP)

    def target_price(self, price: float, long: bool) -> float:
        """A take-profit on the tick: a long's (a sell limit) rounds up, a short's down."""
        return self.round_price(price, Rounding.UP if long else Rounding.DOWN)

    def quantity(self, qty: float) -> float:
        """`qty` rounded down to the step and clipped to the maximum; 0.0 below the minimum (an
        order the venue would refuse is no order)."""
        if not math.isfinite(qty) or qty <= 0:
            return 0.0
        if self.max_quantity is not None and qty > self.max_quantity:
            qty = self.max_quantity
        qty = round_to_step(qty, self.quantity_step, Rounding.DOWN)
        if qty <= 0 or qty < self.min_quantity - 1e-12:
            return 0.0
        return qty


def round_to_step(value: float, step: float, rounding: Rounding) -> float:
    """`value` moved to a multiple of `step` (DOWN: the largest not above it; UP: the smallest
    not below it); `value` itself when either is not a finite positive number."""
    if not (math.isfinite(value) and math.isfinite(step) and step > 0):
        return value
    try:
        v, s = Decimal(repr(value)), Decimal(repr(step))
        units = (v / s).to_integral_value(ROUND_FLOOR if rounding is Rounding.DOWN
                                          else ROUND_CEILING)
        return float(units * s)
    except (InvalidOperation, OverflowError):
        return value


def prices_on_grid(intent: OrderIntent, grid: Increments) -> OrderIntent:
    """`intent` with its limit, stop and take-profit on the venue's tick, each on the trader's
    safe side (a buy's protections are a long's, a sell's a short's); the quantity is left as
    asked (an exit closes what is held, dust included). `intent` itself when nothing moves."""
    buy = intent.side is Side.BUY
    limit, stop, target = intent.limit_price, intent.stop_loss, intent.take_profit
    new_limit = None if limit is None else grid.limit_price(limit, buy)
    new_stop = None if stop is None else grid.stop_price(stop, buy)
    new_target = None if target is None else grid.target_price(target, buy)
    if (new_limit, new_stop, new_target) == (limit, stop, target):
        return intent
    return replace(intent, limit_price=new_limit, stop_loss=new_stop, take_profit=new_target)


def decimals_of(step: float) -> int:
    """How many decimals a step has (0.01 -> 2, 1 -> 0, 1e-08 -> 8): for display and for venues
    that want the quantity as a string."""
    exponent = Decimal(repr(step)).normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


STOCK_INCREMENTS = Increments(price_tick=0.01, quantity_step=1.0, min_quantity=1.0,
                              sub_dollar_tick=0.0001)
"""US equities: whole shares, a penny tick, 0.0001 under $1 (Reg NMS rule 612)."""

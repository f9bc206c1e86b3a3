"""Prices and sizes a Robinhood crypto trading pair accepts: pure arithmetic, no I/O.

Each pair states its `asset_increment` (the quantity step), its `quote_increment` (the price
tick) and its min/max order size. A quantity is rounded *down* to the step (never more than was
asked for or can be paid for); a price is rounded to the tick on the side that keeps the order
at least as safe as asked: a buy limit down and a sell limit up (never pay more or receive less
than the limit said), the stop of a long (a sell stop) down and the stop of a short up (never
trigger earlier than asked). Decimal arithmetic, so `0.1 + 0.2` never reaches the venue.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, InvalidOperation
from typing import Literal

from robo_tui.domain.orders import Side

Direction = Literal["down", "up"]


@dataclass(frozen=True, slots=True)
class PairRules:
    """One trading pair's increments, size limits and whether it trades now."""

    symbol: str
    asset_code: str
    quote_code: str
    asset_increment: Decimal
    quote_increment: Decimal
    min_order_size: Decimal
    max_order_size: Decimal
    tradable: bool = True


def to_decimal(value: float) -> Decimal:
    """`value` as the shortest Decimal that reads back as the same float (`0.1` → `0.1`)."""
    return Decimal(repr(value))


def round_to_step(value: Decimal, step: Decimal, direction: Direction) -> Decimal:
    """`value` rounded to a whole multiple of `step`, `down` or `up`; unchanged when `step` is 0."""
    if step <= 0:
        return value
    units = (value / step).to_integral_value(ROUND_FLOOR if direction == "down" else ROUND_CEILING)
    return (units * step).quantize(step)


def limit_direction(side: Side) -> Direction:
    """Which way a limit price rounds: a buy down, a sell up."""
    return "down" if side is Side.BUY else "up"


def stop_direction(exit_side: Side) -> Direction:
    """Which way a stop price rounds, by the side of the stop order itself: the sell stop of a
    long rounds down, the buy stop of a short up (it never triggers sooner than asked)."""
    return "down" if exit_side is Side.SELL else "up"


def round_quantity(pair: PairRules, quantity: float) -> Decimal:
    """`quantity` rounded down to the pair's asset increment."""
    return round_to_step(to_decimal(quantity), pair.asset_increment, "down")


def round_price(pair: PairRules, price: float, direction: Direction) -> Decimal:
    """`price` rounded `direction` to the pair's quote increment."""
    return round_to_step(to_decimal(price), pair.quote_increment, direction)


def size_problem(pair: PairRules, quantity: Decimal) -> str:
    """Why the venue would refuse `quantity` (already rounded) of `pair`; "" when it accepts it."""
    if quantity <= 0:
        return (f"{pair.symbol}: the quantity rounds to 0 at the pair's increment "
                f"{pair.asset_increment}")
    if quantity < pair.min_order_size:
        return (f"{pair.symbol}: {quantity} is below the pair's minimum order size "
                f"{pair.min_order_size}")
    if pair.max_order_size > 0 and quantity > pair.max_order_size:
        return (f"{pair.symbol}: {quantity} is above the pair's maximum order size "
                f"{pair.max_order_size}")
    return ""


def price_problem(name: str, price: float | None) -> str:
    """Why `price` cannot be sent as the `name` price; "" when it is a positive finite number."""
    if price is None or not math.isfinite(price) or price <= 0:
        return f"the {name} price must be a positive number, got {price!r}"
    return ""


def parse_decimal(text: str, default: Decimal = Decimal(0)) -> Decimal:
    """A venue's decimal string as a Decimal (`default` when it is not a finite number)."""
    try:
        value = Decimal(text)
    except (InvalidOperation, TypeError, ValueError):
        return default
    return value if value.is_finite() else default

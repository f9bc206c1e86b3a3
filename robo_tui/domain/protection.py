"""Protective levels: the stop, take-profit and trailing stop that protect one open position,
and who holds each of them (the venue, or robo-tui itself where the venue cannot).

A `ProtectiveLevel` is a frozen value: arming, resizing, ratcheting a trailing stop or
releasing an exit each make a new one (`with_qty`, `ratchet`, `releasing`). The engine's
`ProtectionBook` (robo_tui/engine/protection.py) keeps one per symbol, persists it with the fill
that changed it, and turns a triggered level into a reduce-only order through the order path.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Literal

from robo_tui.domain.frozen import frozen
from robo_tui.domain.orders import Side

HeldBy = Literal["venue", "robo-tui"]
"""Who holds a level: a resting order at the venue, or robo-tui watching every quote and bar."""

Trigger = Literal["stop_loss", "take_profit", "trailing_stop"]
"""Which level of a position fired (the reason its exit order carries)."""


@frozen(kw_only=True)
class ProtectiveLevel:
    """The protection of one open position: what is held (`side` and `qty` of the position it
    covers, the entry's direction), its levels, and who holds each leg.

    `stop` and `target` form an OCO pair: when one fires the other is cancelled (a venue-held
    leg through the broker). A trailing stop (`trail_distance` in price units or `trail_pct` as
    a fraction) follows `extreme`, the best price seen since it was armed, and only ever moves
    in the position's favour; the effective stop is the tighter of `stop` and the trail.
    `working` is the client order id of the exit in flight (none is sent twice)."""

    symbol: str
    side: Side
    """The position's direction: BUY for a long (exits sell), SELL for a short (exits buy)."""
    qty: float
    """Units covered: always what the protected entries have filled, never more than is held."""
    entry_client_order_id: str
    stop: float | None = None
    target: float | None = None
    trail_distance: float | None = None
    trail_pct: float | None = None
    extreme: float | None = None
    """Best price seen since the trail was armed (highest for a long, lowest for a short)."""
    stop_held_by: HeldBy = "robo-tui"
    target_held_by: HeldBy = "robo-tui"
    oco: str = ""
    """The client order id of the venue-held leg paired with the engine-held one ("" when the
    venue has none or does not say)."""
    working: str = ""
    """The client order id of the protective exit already sent ("" when none is in flight)."""

    @property
    def is_long(self) -> bool:
        """Whether it protects a long (its exits sell)."""
        return self.side is Side.BUY

    @property
    def exit_side(self) -> Side:
        """The side of the order that closes the position."""
        return Side.SELL if self.side is Side.BUY else Side.BUY

    @property
    def trail_stop(self) -> float | None:
        """The trailing stop's level now (None without a trail or before any price)."""
        if self.extreme is None or (self.trail_distance is None and self.trail_pct is None):
            return None
        sign = 1.0 if self.is_long else -1.0
        if self.trail_distance is not None:
            return self.extreme - sign * self.trail_distance
        assert self.trail_pct is not None
        return self.extreme * (1.0 - sign * self.trail_pct)

    @property
    def effective_stop(self) -> float | None:
        """The stop that fires: the tighter of the fixed stop and the trail."""
        trail, stop = self.trail_stop, self.stop
        if trail is None:
            return stop
        if stop is None:
            return trail
        return max(stop, trail) if self.is_long else min(stop, trail)

    @property
    def engine_held(self) -> bool:
        """Whether robo-tui itself must watch any leg of it."""
        return ((self.effective_stop is not None and self.stop_held_by == "robo-tui")
                or (self.target is not None and self.target_held_by == "robo-tui"))

    @property
    def has_stop(self) -> bool:
        """Whether a stop (fixed or trailing, held by anyone) protects the position."""
        return self.effective_stop is not None

    def with_qty(self, qty: float) -> ProtectiveLevel:
        """The same protection covering `qty` units."""
        return replace(self, qty=qty)

    def ratchet(self, price: float) -> ProtectiveLevel:
        """The trail after seeing `price`: `extreme` moves only in the position's favour (self
        when nothing moves)."""
        if (self.trail_distance is None and self.trail_pct is None) or not math.isfinite(price):
            return self
        best = self.extreme
        if best is None or (price > best if self.is_long else price < best):
            return replace(self, extreme=price)
        return self

    def triggered(self, low: float, high: float) -> Trigger | None:
        """Which engine-held leg a price range [low, high] (a quote's bid/ask side, a bar's
        range) reaches, the stop first (a range through both is assumed to hit the stop)."""
        stop = self.effective_stop
        stop_reason: Trigger = "trailing_stop" if (
            stop is not None and stop != self.stop) else "stop_loss"
        if self.is_long:
            if stop is not None and self.stop_held_by == "robo-tui" and low <= stop:
                return stop_reason
            if self.target is not None and self.target_held_by == "robo-tui" and high >= self.target:
                return "take_profit"
        else:
            if stop is not None and self.stop_held_by == "robo-tui" and high >= stop:
                return stop_reason
            if self.target is not None and self.target_held_by == "robo-tui" and low <= self.target:
                return "take_profit"
        return None

    def releasing(self, client_order_id: str) -> ProtectiveLevel:
        """The same protection with its exit `client_order_id` in flight ("" when none is)."""
        return replace(self, working=client_order_id)

"""Protection robo-tui holds where the venue cannot: stops, take-profits, OCO pairs and trailing
stops watched on every quote and bar the engine receives, released as reduce-only market orders
through the order path when they trigger (NautilusTrader's OrderEmulator is the model).

Per broker and asset class `Broker.capabilities(asset)` decides who holds each leg: a venue with
stop orders holds the stop, one with brackets/OCO also the target; whatever the venue lacks
robo-tui holds (Robinhood crypto's take-profit, every leg on a venue without stops). A symbol
gets a `ProtectiveLevel` only when robo-tui holds at least one of its legs; a venue holding
everything (the paper broker, IB brackets) needs nothing here.

The book follows the fills the order path books (`after_fill`, called inside the booking so the
change is written in the fill's transaction): an entry that carries a stop or target arms or
grows the level by what it filled (a partly filled entry is protected for what has filled), and
any fill against the position shrinks it; a flat position drops it. When a level triggers, the
exit is a `SubmitOrder` with source "protection": the risk gate judges it like every order (a
reduce-only protective exit passes a halt), its quantity is capped to what is held at send time,
and it is never sent when the position is already flat, so a protective order never opens one.
An exit in flight is remembered (`working`) and never sent twice; one that is refused, denied or
cancelled leaves the level armed for the next price.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from robo_tui.domain.commands import SubmitOrder
from robo_tui.domain.market import AssetClass, Bar, Instrument, Quote
from robo_tui.domain.orders import Fill, Order, OrderIntent, OrderStatus, Side
from robo_tui.domain.protection import HeldBy, ProtectiveLevel, Trigger
from robo_tui.engine.account import AccountBook
from robo_tui.engine.health import Health
from robo_tui.ports import Broker, NamesVenueLegs, Store

if TYPE_CHECKING:
    from robo_tui.engine.orders import SubmitResult

log = logging.getLogger(__name__)

FLAT = 1e-9
"""Units below which a position or a level counts as nothing."""

Changes = dict[str, ProtectiveLevel | None]
"""The new protection per symbol (None: dropped), written with the fill that caused it."""


class ExitPath(Protocol):
    """What the book needs of the order path (`OrderPath`): judge-then-execute an order, and
    the orders that may still fill."""

    open_orders: dict[str, Order]

    async def submit(self, command: SubmitOrder) -> SubmitResult:
        """Judge `command` against the risk gate, then execute the verdict."""
        ...


class ProtectionBook:
    """The protections robo-tui holds, one `ProtectiveLevel` per symbol; arms them from fills,
    watches quotes and bars, and releases triggered exits through the order path."""

    def __init__(self, *, broker: Callable[[], Broker], instruments: Mapping[str, Instrument],
                 store: Store, book: AccountBook, health: Health,
                 trail_pct: float = 0.0) -> None:
        self._broker = broker
        self._instruments = instruments
        self._store = store
        self._book = book
        self._health = health
        self._trail_pct = trail_pct if trail_pct > 0 else None
        """`[sizing] trailing_stop_pct`: the trail every new entry gets (None: off)."""
        self.levels: dict[str, ProtectiveLevel] = {}
        """The protection of each symbol robo-tui holds a leg of."""
        self._due: dict[str, Trigger] = {}
        self._ratcheted: set[str] = set()

    # ------------------------------------------------------------------ who holds what

    def holders(self, symbol: str) -> tuple[HeldBy, HeldBy]:
        """(who holds the stop, who holds the target) of a new entry in `symbol`, from the
        broker's declared capabilities for its asset class."""
        inst = self._instruments.get(symbol)
        asset = inst.asset_class if inst is not None else AssetClass.STOCK
        caps = self._broker().capabilities(asset)
        stop: HeldBy = "venue" if caps.stops else "robo-tui"
        target: HeldBy = "venue" if caps.stops and caps.brackets else "robo-tui"
        return stop, target

    # ------------------------------------------------------------------ following fills

    def after_fill(self, fill: Fill, order: Order | None) -> Changes:
        """Arm, grow, shrink or drop the protection of `fill.symbol` for this fill of `order`
        (None when the order path does not know it: a venue's own stop); the changes to write
        in the fill's transaction ({} when none)."""
        symbol = fill.symbol
        level = self.levels.get(symbol)
        intent = order.intent if order is not None else None
        entry = (intent is not None and not intent.reduce_only and fill.side is intent.side
                 and (intent.stop_loss is not None or intent.take_profit is not None
                      or self._trail_pct is not None))
        if entry and intent is not None and order is not None:
            added = fill.quantity
            if level is not None and level.side is not fill.side:
                # it first closes the protected position; only what goes past flat opens
                added = fill.quantity - level.qty
                if added < -FLAT:
                    return self._set(symbol, level.with_qty(-added))
                level = None
                if added <= FLAT:
                    return self._set(symbol, None)
            stop_by, target_by = self.holders(symbol)
            trail_pct = level.trail_pct if level else self._trail_pct
            trail_distance = level.trail_distance if level else None
            trailing = trail_pct is not None or trail_distance is not None
            if level is None and stop_by == "venue" and target_by == "venue" and not trailing:
                return {}  # the venue holds both legs (the paper broker's every entry): no
                # level to build, since one that robo-tui does not watch is never kept
            oco = self._venue_leg(order.client_order_id, stop_by, target_by) or (
                level.oco if level else "")
            stop = intent.stop_loss if intent.stop_loss is not None else (
                level.stop if level else None)
            target = intent.take_profit if intent.take_profit is not None else (
                level.target if level else None)
            armed = ProtectiveLevel(
                symbol=symbol, side=fill.side, qty=(level.qty if level else 0.0) + added,
                entry_client_order_id=order.client_order_id, stop=stop, target=target,
                trail_distance=trail_distance, trail_pct=trail_pct,
                extreme=level.extreme if level and level.extreme is not None else (
                    fill.price if trailing else None),
                # the trail is always robo-tui's (never a venue order here), so it watches the
                # stop leg; a venue-held fixed stop keeps resting at the venue as well
                stop_held_by="robo-tui" if trailing else stop_by, target_held_by=target_by,
                oco=oco,
                working=level.working if level else "")
            if not armed.engine_held:
                return self._set(symbol, None) if level is not None else {}
            return self._set(symbol, armed)
        if level is None:
            return {}
        if fill.side is level.side:
            return {}  # an unprotected addition: the level covers what protected entries filled
        left = level.qty - fill.quantity
        if left <= FLAT:
            return self._set(symbol, None)
        shrunk = level.with_qty(left)
        if level.oco:  # the venue re-arms its stop for what is left under a new id (`:sl2`)
            oco = self._venue_leg(level.entry_client_order_id, level.stop_held_by,
                                  level.target_held_by)
            shrunk = replace(shrunk, oco=oco or level.oco)
        if fill.client_order_id == level.working and fill.order_done:
            shrunk = shrunk.releasing("")
        return self._set(symbol, shrunk)

    def _venue_leg(self, entry_client_order_id: str, stop_by: HeldBy, target_by: HeldBy) -> str:
        """The venue's stop paired with a target robo-tui holds (OCO), when the broker names it."""
        broker = self._broker()
        if stop_by == "venue" and target_by == "robo-tui" and isinstance(broker, NamesVenueLegs):
            return broker.venue_stop_id(entry_client_order_id)
        return ""

    def _set(self, symbol: str, level: ProtectiveLevel | None) -> Changes:
        if level is None:
            self.levels.pop(symbol, None)
            self._due.pop(symbol, None)
        else:
            self.levels[symbol] = level
        return {symbol: level}

    # ------------------------------------------------------------------ watching prices

    def on_quote(self, quote: Quote) -> None:
        """Check the symbol's engine-held legs against a quote (a long exits at the bid, a
        short at the ask), then ratchet its trail."""
        level = self.levels.get(quote.symbol)
        if level is None:
            return
        price = quote.bid if level.is_long else quote.ask
        if not (price > 0 and math.isfinite(price)):
            price = quote.last
        if not (price > 0 and math.isfinite(price)):
            return
        self._watch(level, price, price, price)

    def on_bar(self, bar: Bar) -> None:
        """Check the symbol's engine-held legs against a bar's range, then ratchet its trail
        to the bar's best price (the trail never fires on the bar that moved it)."""
        level = self.levels.get(bar.symbol)
        if level is not None:
            self._watch(level, bar.low, bar.high, bar.high if level.is_long else bar.low)

    def _watch(self, level: ProtectiveLevel, low: float, high: float, best: float) -> None:
        fired = level.triggered(low, high)
        if fired is not None:
            self._due.setdefault(level.symbol, fired)
        moved = level.ratchet(best)
        if moved is not level:
            self.levels[level.symbol] = moved
            self._ratcheted.add(level.symbol)

    async def set_trailing(self, symbol: str, *, distance: float | None = None,
                           pct: float | None = None) -> ProtectiveLevel:
        """Give the protected position in `symbol` a trailing stop held by robo-tui (a
        `distance` in price units or a `pct` fraction), armed from the last price and persisted
        at once; the level. A position whose protection rests wholly at the venue (no level
        here yet) gets one covering what is held, its fixed stop left at the venue. Raises
        `KeyError` when nothing is held in `symbol`, `ValueError` for a bad trail."""
        if (distance is None) == (pct is None):
            raise ValueError("a trailing stop takes a distance or a percent, not both")
        if distance is not None and not (math.isfinite(distance) and distance > 0):
            raise ValueError(f"trail distance must be a positive number, got {distance!r}")
        if pct is not None and not (math.isfinite(pct) and 0 < pct < 1):
            raise ValueError(f"trail percent must be a fraction in (0, 1), got {pct!r}")
        level = self.levels.get(symbol)
        if level is None:
            held = self._book.account.position_qty(symbol)
            if abs(held) <= FLAT:
                raise KeyError(symbol)
            _, target_by = self.holders(symbol)
            level = ProtectiveLevel(symbol=symbol, side=Side.BUY if held > 0 else Side.SELL,
                                    qty=abs(held), entry_client_order_id="",
                                    target_held_by=target_by)
        last = self._book.prices.get(symbol)
        trailed = replace(level, trail_distance=distance, trail_pct=pct, extreme=last,
                          stop_held_by="robo-tui")
        await self._store.save_protective_levels(self._set(symbol, trailed))
        return trailed

    # ------------------------------------------------------------------ releasing exits

    async def release(self, orders: ExitPath, now: datetime) -> list[str]:
        """Send the exits of the levels that triggered since the last call through the order
        path; persist ratcheted trails. The client order ids sent."""
        sent: list[str] = []
        due, self._due = self._due, {}
        for symbol, why in due.items():
            coid = await self._release_one(orders, symbol, why)
            if coid:
                sent.append(coid)
        if self._ratcheted:
            changed: Changes = {s: self.levels.get(s) for s in self._ratcheted}
            self._ratcheted = set()
            await self._store.save_protective_levels(changed)
        return sent

    async def _release_one(self, orders: ExitPath, symbol: str, why: Trigger) -> str:
        level = self.levels.get(symbol)
        if level is None:
            return ""
        if level.working:
            if level.working in orders.open_orders:
                return ""  # its exit is on the way: never a second one
            level = level.releasing("")
            self.levels[symbol] = level
        held = self._book.account.position_qty(symbol)
        side_held = Side.BUY if held > 0 else Side.SELL
        if abs(held) <= FLAT or side_held is not level.side:
            # flat, or the other way round: an exit now would open a position
            await self._store.save_protective_levels(self._set(symbol, None))
            return ""
        qty = min(level.qty, abs(held))
        stop = level.effective_stop
        at = stop if why != "take_profit" else level.target
        intent = OrderIntent(symbol, level.exit_side, qty, reduce_only=True,
                             reason=f"{why} at {at:g} held by robo-tui" if at is not None else why)
        result = await orders.submit(SubmitOrder(intent, "protection"))
        order, ack = result.order, result.ack
        if order is None:
            self._health.error("protection", f"{symbol}: {why} exit denied: "
                                             f"{'; '.join(r.message for r in result.verdict.reasons)}")
            return ""
        if ack is not None and ack.status in (OrderStatus.REJECTED, OrderStatus.CANCELLED):
            self._health.error("protection", f"{symbol}: {why} exit {ack.status.value}: "
                                             f"{ack.message}")
            return ""
        if ack is not None and ack.status is OrderStatus.FILLED:
            await self.cancel_venue_leg(level)  # OCO: the venue's leg goes with the fired one
        current = self.levels.get(symbol)
        if current is not None and ack is not None and ack.status is not OrderStatus.FILLED:
            await self._store.save_protective_levels(
                self._set(symbol, current.releasing(order.client_order_id)))
        return order.client_order_id

    async def cancel_venue_leg(self, level: ProtectiveLevel) -> None:
        """Cancel the venue-held leg paired with a fired engine-held one (OCO), when known."""
        if level.oco:
            try:
                await self._broker().cancel(level.oco)
            except Exception as exc:  # noqa: BLE001 -- reported; reconciliation finds it
                self._health.error("protection", f"{level.symbol}: cancel of the venue leg "
                                                 f"{level.oco} failed: {exc}")

    # ------------------------------------------------------------------ restart

    def restore(self, levels: Mapping[str, ProtectiveLevel]) -> None:
        """Hold `levels` (re-armed at start by recovery)."""
        self.levels = dict(levels)
        self._due.clear()
        self._ratcheted.clear()

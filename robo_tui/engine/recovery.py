"""Recovery: set right what a crash or a downtime left half-done, at start and while running.

At start (`recover`, one line in `Engine.start`, after the orders are reconciled):

- an open position in a simulated venue with no stop or target re-arms the ones its entry order
  carried (a crash between the fill and its protection in an older version, or a fill whose
  protections were saved after a later fill closed them);
- the protections robo-tui holds itself (`protective_levels`) are re-armed before the first new
  decision, each capped to what is held now, and dropped for a position that is flat (or turned
  the other way): a protective order never opens a position; an exit left in flight by the last
  run is forgotten when the journal says it ended, so the level fires again if it must;
- a FILLED order with no fill recorded is reported (the price, fee and time are the venue's to
  tell; `robo-tui orders resolve` records them by hand);
- orders still UNKNOWN are tracked again, so the risk gate counts them as working orders until
  they are resolved, and a small timer (`UnknownOrderWatch`) re-asks the venue about them while
  the engine runs, instead of only at the next start.

Orders a human settled from the shell (`robo-tui orders resolve`) while the engine runs are
dropped from the working book at the timer's next tick.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import replace
from typing import TYPE_CHECKING

from robo_tui.domain.control import Protections
from robo_tui.domain.events import OrderStatusChanged
from robo_tui.domain.orders import Fill, Order, OrderStatus, Side
from robo_tui.domain.protection import ProtectiveLevel
from robo_tui.ports import StorageFault, Store

if TYPE_CHECKING:
    from robo_tui.engine.engine import Engine

log = logging.getLogger(__name__)

UNKNOWN_RECHECK_SECONDS = 30.0
"""How often a running engine re-asks the venue about UNKNOWN orders."""

_ASK_TIMEOUT = 10.0
"""Seconds one status question may take (the venue's declared timeout when it has one)."""


async def recover(engine: Engine) -> UnknownOrderWatch | None:
    """Rebuild what a crash left half-written, track UNKNOWN orders, and start the timer that
    re-asks the venue about them (None when the venue is simulated: it has no UNKNOWN to ask)."""
    await rearm_protections(engine)
    await rearm_engine_levels(engine)
    await report_missing_fills(engine)
    watch = UnknownOrderWatch(engine)
    await watch.track_unknown()
    if engine.orders.broker.restores_from_fills:
        return None
    watch.start()
    return watch


async def rearm_protections(engine: Engine) -> Protections:
    """Re-arm, in a simulated venue, the stop and target of every open position that lost them,
    from the entry order that opened it; the protections now held (persisted when changed)."""
    broker = engine.orders.broker
    if not broker.restores_from_fills:
        return {}
    held = dict(broker.protections())
    account = await broker.account()
    fills = await engine.store.fills()
    missing = [s for s, p in account.positions.items() if p.quantity and s not in held]
    if not missing:
        return held
    found = await _entry_protections(engine.store, fills, missing)
    if not found:
        return held
    held.update(found)
    broker.restore(fills, held)
    await engine.control.update(lambda c: replace(c, protections=dict(held)), "recovery")
    await engine.store.audit("recovery.protections_rearmed",
                             {s: list(levels) for s, levels in found.items()}, "engine")
    for symbol, (stop, target) in found.items():
        engine.monitor.error("recovery", f"{symbol}: re-armed stop {stop} / target {target} "
                                         "from its entry order (lost in a crash)")
    return held


async def rearm_engine_levels(engine: Engine) -> dict[str, ProtectiveLevel]:
    """Hold again the protections robo-tui held when it stopped, against the venue's positions
    now: each covers at most what is held, one of a flat (or reversed) position is dropped, and
    an exit the journal shows ended is no longer in flight. The levels now held."""
    levels = await engine.store.protective_levels()
    if not levels:
        engine.protection.restore({})
        return {}
    account = await engine.orders.broker.account()
    held: dict[str, ProtectiveLevel] = {}
    changes: dict[str, ProtectiveLevel | None] = {}
    for level in levels:
        qty = account.position_qty(level.symbol)
        side = Side.BUY if qty > 0 else Side.SELL
        if abs(qty) <= 1e-9 or side is not level.side:
            changes[level.symbol] = None
            continue
        fixed = level
        if level.qty > abs(qty):
            fixed = fixed.with_qty(abs(qty))
        if fixed.working:
            row = await engine.store.get_order(fixed.working)
            if row is None or not row[1].is_open:
                fixed = fixed.releasing("")
        if fixed != level:
            changes[level.symbol] = fixed
        held[level.symbol] = fixed
    engine.protection.restore(held)
    if changes:
        await engine.store.save_protective_levels(changes)
    await engine.store.audit("recovery.levels_rearmed", {
        s: {"qty": lv.qty, "stop": lv.effective_stop, "target": lv.target,
            "stop_held_by": lv.stop_held_by, "target_held_by": lv.target_held_by}
        for s, lv in held.items()}, "engine")
    return held


async def _entry_protections(store: Store, fills: list[Fill],
                             symbols: list[str]) -> dict[str, tuple[float | None, float | None]]:
    """(stop, target) of the latest opening order per symbol that carried any."""
    found: dict[str, tuple[float | None, float | None]] = {}
    for fill in reversed(fills):
        if fill.symbol not in symbols or fill.symbol in found:
            continue
        row = await store.get_order(fill.client_order_id)
        if row is None:
            continue
        intent = row[0].intent
        if intent.reduce_only or (intent.stop_loss is None and intent.take_profit is None):
            continue
        found[fill.symbol] = (intent.stop_loss, intent.take_profit)
    return found


async def report_missing_fills(engine: Engine) -> list[Order]:
    """FILLED orders with no fill: reported (health and audit) for a human to resolve."""
    missing = await engine.store.orders_missing_fills()
    for order in missing:
        engine.monitor.error(
            "recovery",
            f"order {order.client_order_id} ({order.symbol}) is FILLED with no fill recorded; "
            "check the venue and record it with `robo-tui orders resolve`")
    if missing:
        await engine.store.audit("recovery.fills_missing",
                                 {"client_order_ids": [o.client_order_id for o in missing]},
                                 "engine")
    return missing


class UnknownOrderWatch:
    """Keeps UNKNOWN orders in the working book (the gate counts them) and re-asks the venue
    about them every `interval` seconds until each is known or resolved by hand."""

    def __init__(self, engine: Engine, interval: float = UNKNOWN_RECHECK_SECONDS) -> None:
        self._engine = engine
        self.interval = interval
        self._task: asyncio.Task[None] | None = None

    async def track_unknown(self) -> list[Order]:
        """Put the journal's UNKNOWN orders back in the working book; the orders."""
        unknown = [o for o, s in await self._engine.store.open_orders()
                   if s is OrderStatus.UNKNOWN]
        for order in unknown:
            self._engine.orders.track(order)
        return unknown

    def start(self) -> None:
        """Run `tick` every `interval` seconds in the background until `stop` (or the store
        closes)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(),
                                                                name="unknown-order-watch")

    async def stop(self) -> None:
        """Stop the timer (idempotent)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.tick()
            except (StorageFault, RuntimeError) as exc:  # the store closed or failed: stop
                log.info("unknown-order watch stopped: %s", exc)
                return

    async def tick(self) -> dict[str, OrderStatus]:
        """Ask the venue once about every working order the journal holds as UNKNOWN, drop the
        ones settled elsewhere; the new status of each order that changed."""
        engine = self._engine
        changed: dict[str, OrderStatus] = {}
        for coid in list(engine.orders.open_orders):
            row = await engine.store.get_order(coid)
            if row is None:
                continue
            order, status = row
            if not status.is_open:  # resolved by hand (or settled) since it was tracked
                engine.orders.ended(coid)
                changed[coid] = status
            elif status is OrderStatus.UNKNOWN:
                new = await self._ask(order)
                if new is not None:
                    changed[coid] = new
        return changed

    async def _ask(self, order: Order) -> OrderStatus | None:
        engine = self._engine
        broker = engine.orders.broker
        try:
            async with asyncio.timeout(broker.order_timeout or _ASK_TIMEOUT):
                ack = await broker.order_status(order.client_order_id)
        except Exception as exc:  # noqa: BLE001 -- the venue stays unclear; asked again next tick
            log.info("order %s still unclear: %s", order.client_order_id, exc)
            return None
        if ack.status is OrderStatus.FILLED:
            # the execution report (price, fee, time) books it through the fill path, which
            # records the fill and the status together; until then it stays working
            engine.monitor.error("recovery", f"{broker.name} says {order.client_order_id} "
                                             "FILLED; waiting for its execution report (or "
                                             "`robo-tui orders resolve`)")
            return None
        if ack.status is OrderStatus.UNKNOWN:
            return None
        await engine.store.update_order(order.client_order_id, ack.status, ack.broker_order_id,
                                        ack.message or "re-asked while running")
        if not ack.status.is_open:
            engine.orders.ended(order.client_order_id)
        engine.bus.publish(OrderStatusChanged(ts=engine.clock.now(),
                                              client_order_id=order.client_order_id,
                                              symbol=order.symbol, status=ack.status.value,
                                              message=ack.message))
        return ack.status

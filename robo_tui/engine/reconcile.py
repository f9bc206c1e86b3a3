"""Reconciliation with a live venue: its grid (tick, step, sizes) and its book against the journal.

At start (after the journal's open orders are re-asked and recovery ran):

- `load_increments` asks the broker for each symbol's price tick, quantity step and min/max
  size, so the sizer rounds every stop, target and quantity before the gate judges it;
- `Reconciler.check` compares the venue's positions with what the journal's fills add up to
  (plus the differences a trader accepted before). What cannot be matched (a manual trade in
  the broker's app, a position size that differs) is a blocking `DriftReport`: the gate's drift
  rule denies new entries (exits still pass) until a trader accepts it (`robo-tui drift accept`,
  carried out like a shell halt, or the console). The report is kept in the control store for
  `robo-tui drift show`, announced as a health error and audited.

After a reconnect within the run (a broker that is `Reconnecting`, IB), `after_reconnect`
compares again once the engine's settle polled and booked what the venue sent on reconnecting,
and reports only a difference that persists across two comparisons (a fill not booked yet is
not drift).

A venue in this process (the paper broker) rebuilds its book from the journal, so it cannot
drift: it is never compared.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from robo_tui.domain.drift import (
    ACCEPTED_ORDERS_KEY,
    OFFSETS_KEY,
    REPORT_KEY,
    DriftItem,
    DriftReport,
    decode_ids,
    decode_offsets,
    encode_offsets,
    order_drift,
    position_drift,
)
from robo_tui.domain.events import DriftDetected
from robo_tui.domain.increments import Increments
from robo_tui.domain.orders import Fill
from robo_tui.domain.risk import RiskCode
from robo_tui.ports import Broker, Reconnecting

if TYPE_CHECKING:
    from robo_tui.engine.engine import Engine

log = logging.getLogger(__name__)

ASK_TIMEOUT = 10.0
"""Seconds the venue may take to describe one symbol's grid."""


async def load_increments(broker: Broker, symbols: Sequence[str],
                          timeout: float = ASK_TIMEOUT) -> dict[str, Increments]:
    """Each symbol's grid the venue states (symbols it states none for are left out: any price
    and size is sent as sized). A venue that cannot answer leaves that symbol out, logged."""
    grids: dict[str, Increments] = {}
    for symbol in symbols:
        try:
            async with asyncio.timeout(timeout):
                grid = await broker.increments(symbol)
        except Exception as exc:  # noqa: BLE001 -- an adapter failure costs the rounding only
            log.warning("%s gave no increments for %s: %s", broker.name, symbol, exc)
            continue
        if grid is not None:
            grids[symbol] = grid
    return grids


def journal_positions(fills: Sequence[Fill]) -> dict[str, float]:
    """The signed position per symbol the journal's fills add up to."""
    held: dict[str, float] = {}
    for fill in fills:
        held[fill.symbol] = held.get(fill.symbol, 0.0) + fill.side.sign * fill.quantity
    return held


def _drift_key(item: DriftItem) -> tuple[str, str, str, float]:
    """What must stay the same across two comparisons for a difference to be reported."""
    return item.kind, item.symbol, item.order_id, round(item.difference, 9)


class Reconciler:
    """Holds the latest drift report of a live venue and what a trader accepted."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self.report: DriftReport | None = None
        self.offsets: dict[str, float] = {}
        self.accepted_orders: list[str] = []
        """Venue ids of working orders a trader accepted (not ours, not reported again)."""
        self._sessions: int | None = None
        """The broker's session count at the last comparison (`Reconnecting`)."""
        self._due = False
        self._first: list[DriftItem] | None = None

    @property
    def blocking(self) -> bool:
        """Whether new entries wait for a trader to accept the report."""
        return self.report is not None and self.report.blocking

    def blocked(self, blocked: Mapping[str, Mapping[str, str]], symbols: Sequence[str]
                ) -> Mapping[str, Mapping[str, str]]:
        """`blocked` (the gate's per-symbol blocks) with every symbol blocked for drift while
        the report blocks; `blocked` itself otherwise."""
        report = self.report
        if report is None or not report.blocking:
            return blocked
        sentence = report.sentence()
        merged = {s: dict(r) for s, r in blocked.items()}
        for symbol in set(symbols) | set(merged) | {i.symbol for i in report.items}:
            merged.setdefault(symbol, {})[RiskCode.DRIFT.value] = sentence
        return merged

    async def book_missed_fills(self) -> list[Fill]:
        """At start, before anything settles: the venue's executions of our orders that the
        journal lacks (they happened while robo-tui was down) are booked with their real price,
        fee and time, so an order reconciled FILLED has its fills. Executions of orders the
        journal never held are left to the drift report. The fills booked."""
        engine = self._engine
        broker = engine.orders.broker
        if broker.restores_from_fills:
            return []
        try:
            async with asyncio.timeout(broker.order_timeout or ASK_TIMEOUT):
                found = await broker.poll_fills()
        except Exception as exc:  # noqa: BLE001 -- reported; the next settle asks again
            engine.monitor.error("reconcile", f"cannot read {broker.name}'s executions: {exc}")
            return []
        store = engine.store
        recorded = {f.fill_id for f in await store.fills()}
        booked: list[Fill] = []
        for fill in found:
            base = fill.client_order_id.split(":", 1)[0]
            row = None if fill.fill_id in recorded else await store.get_order(base)
            if row is None:
                continue
            # the order itself (not its venue stop `<id>:sl`): its stop and target arm now
            await engine.orders.book_fill(fill, row[0] if base == fill.client_order_id else None)
            recorded.add(fill.fill_id)
            booked.append(fill)
        if booked:
            await store.audit("reconcile.fills_while_down",
                              {"fills": [f.fill_id for f in booked]}, "engine")
            engine.monitor.error("reconcile", f"{len(booked)} fill(s) at {broker.name} while "
                                              "robo-tui was down, now recorded")
        return booked

    async def check(self) -> DriftReport | None:
        """Compare the venue's positions with the journal; the report (None for a venue in this
        process, or when the venue cannot be read: it is asked again at the next check)."""
        engine = self._engine
        broker = engine.orders.broker
        if broker.restores_from_fills:
            return None
        if isinstance(broker, Reconnecting):
            self._sessions = broker.sessions  # this check covers the sessions opened so far
        items = await self._compare(broker)
        if items is None:
            return None
        report = DriftReport(broker.name, engine.clock.now(), tuple(items))
        await self._publish(report)
        return report

    async def _compare(self, broker: Broker) -> list[DriftItem] | None:
        """What the venue holds that the journal does not explain, now (None when the venue
        cannot be read: reported)."""
        engine = self._engine
        store = engine.store
        self.offsets = decode_offsets(await store.get_control(OFFSETS_KEY))
        self.accepted_orders = decode_ids(await store.get_control(ACCEPTED_ORDERS_KEY))
        try:
            async with asyncio.timeout(broker.order_timeout or ASK_TIMEOUT):
                account = await broker.account()
        except Exception as exc:  # noqa: BLE001 -- reported; entries are not blocked on a guess
            engine.monitor.error("reconcile", f"cannot read {broker.name}'s positions: {exc}")
            return None
        venue = {s: p.quantity for s, p in account.positions.items()}
        items = position_drift(venue, journal_positions(await store.fills()), self.offsets,
                               broker.name)
        items += await self._order_drift(broker)
        return items

    async def after_reconnect(self) -> DriftReport | None:
        """Called after each settle (the broker's fills and updates were just polled and
        booked): when a live broker opened a new session since the last comparison (a
        reconnect within the run), compare again. A difference is reported only when it
        persists across two comparisons taken at two settles, so an execution that happened
        while the connection was down and is merely not booked yet is never flagged: the
        settle between the two books it. The report published (None while nothing is due, when
        nothing persisted, or when the venue cannot be read: it is asked again next settle)."""
        broker = self._engine.orders.broker
        if broker.restores_from_fills or not isinstance(broker, Reconnecting):
            return None
        sessions = broker.sessions
        if self._sessions is None:
            self._sessions = sessions  # the first session is the start's check
            return None
        if sessions != self._sessions:
            self._sessions, self._due, self._first = sessions, True, None
            log.info("%s reconnected: reconciling its book with the journal", broker.name)
        if not self._due:
            return None
        items = await self._compare(broker)
        if items is None:
            return None
        first, self._first = self._first, items
        seen = {_drift_key(i) for i in first or ()}
        persisting = tuple(i for i in items if _drift_key(i) in seen)
        if items and not persisting:
            return None  # new or changed: compare again after the next settle
        self._due = False
        if not persisting:
            log.info("%s after the reconnect: the venue matches the journal", broker.name)
            return None  # a report still blocking from earlier stays until accepted
        report = DriftReport(broker.name, self._engine.clock.now(), persisting)
        await self._publish(report)
        return report

    async def _order_drift(self, broker: Broker) -> list[DriftItem]:
        """Working orders at the venue that robo-tui did not place (by our client order ids);
        [] when the venue cannot list them now (reported)."""
        engine = self._engine
        try:
            async with asyncio.timeout(broker.order_timeout or ASK_TIMEOUT):
                listed = await broker.venue_orders()
        except Exception as exc:  # noqa: BLE001 -- reported; positions are still compared
            engine.monitor.error("reconcile", f"cannot list {broker.name}'s orders: {exc}")
            return []
        ours: dict[str, bool] = {"adopted": True}
        for order in listed:
            base = order.client_order_id.split(":", 1)[0]
            if base and base not in ours:
                ours[base] = await engine.store.get_order(base) is not None
        accepted = set(self.accepted_orders)
        return [i for i in order_drift(listed, ours, broker.name) if i.order_id not in accepted]

    async def accept(self, by: str) -> DriftReport | None:
        """A trader accepts the current report: its position differences become known offsets
        and entries are allowed again. The accepted report (None when there was nothing to
        accept)."""
        report = self.report
        if report is None or not report.blocking:
            return None
        for item in report.items:
            if item.kind == "position":
                self.offsets[item.symbol] = self.offsets.get(item.symbol, 0.0) + item.difference
            elif item.order_id not in self.accepted_orders:
                self.accepted_orders.append(item.order_id)
        store = self._engine.store
        await store.set_control(OFFSETS_KEY, encode_offsets(self.offsets), by)
        await store.set_control(ACCEPTED_ORDERS_KEY, json.dumps(self.accepted_orders), by)
        accepted = DriftReport(report.broker, report.ts, report.items, by)
        await self._publish(accepted)
        await store.audit("drift.accepted", {"items": [i.detail for i in report.items]}, by)
        return accepted

    async def _publish(self, report: DriftReport) -> None:
        engine = self._engine
        self.report = report
        await engine.store.set_control(REPORT_KEY, report.to_json(), "engine")
        if report.blocking:
            engine.bus.publish(DriftDetected(ts=report.ts, report=report))
            engine.monitor.error("reconcile", report.sentence())
            await engine.store.audit("drift.found", {"items": [i.detail for i in report.items]},
                                     "engine")
        log.info("%s", report.sentence())

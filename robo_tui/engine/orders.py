"""The order path: judge, then execute. Every order from every route (strategy, analyst, manual
ticket, flatten, approval, shell approval, backtest) comes here as a `SubmitOrder`; `execute` is
the only caller of `Broker.submit`.

The engine hands the path a risk context (the account as of now) and takes back a
`SubmitResult`; the path keeps the book of orders that may still fill.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from robo_tui.domain.commands import SubmitOrder
from robo_tui.domain.events import OrderDenied, OrderSubmitted
from robo_tui.domain.frozen import frozen
from robo_tui.domain.orders import BrokerAck, Fill, Order, OrderStatus
from robo_tui.domain.risk import RiskVerdict
from robo_tui.engine.bus import EventBus
from robo_tui.engine.health import Health
from robo_tui.engine.risk import RiskContext, RiskGate
from robo_tui.ports import Broker, Clock, Store

_NO_MONEY_MOVED = frozenset({OrderStatus.SUBMITTED, OrderStatus.REJECTED})
"""Acks after which the account is as it was: the order rests, or was refused."""


@frozen
class SubmitResult:
    """What `Engine.submit` did: the gate's verdict, and the order and broker answer if sent."""

    verdict: RiskVerdict
    order: Order | None = None
    ack: BrokerAck | None = None

    @property
    def sent(self) -> bool:
        return self.order is not None


class SentCounts(Protocol):
    """Orders sent and denied so far (the engine's cycle counters implement it)."""

    orders: int
    denied: int


class OrderPath:
    """Judge an order against the risk gate, then execute it: a denial is an event and a record;
    an allowed order is recorded as intent before the broker is called; an unclear answer is
    UNKNOWN. Keeps the orders that may still fill (`open_orders`)."""

    def __init__(self, *, broker: Broker, risk: RiskGate, store: Store, bus: EventBus, clock: Clock,
                 health: Health, new_id: Callable[[str], str], counts: SentCounts,
                 account_changed: Callable[[], None]) -> None:
        self.broker = broker
        """Where allowed orders go (the engine swaps it on a mode change)."""
        self.counts = counts
        """Where sent and denied orders are counted (the engine's counters of the cycle)."""
        self.open_orders: dict[str, Order] = {}
        self._filled_qty: dict[str, float] = {}
        self._risk = risk
        self._store = store
        self._bus = bus
        self._clock = clock
        self._health = health
        self._new_id = new_id
        self._account_changed = account_changed

    async def submit(self, command: SubmitOrder, context: RiskContext) -> SubmitResult:
        """Judge `command` against `context`, then execute the verdict."""
        return await self.execute(command, self.judge(command, context), context.now)

    def judge(self, command: SubmitOrder, context: RiskContext) -> RiskVerdict:
        """What the risk gate says about the command's order in `context` (nothing is sent)."""
        return self._risk.check(command.intent, context)

    async def execute(self, command: SubmitOrder, verdict: RiskVerdict, now: datetime) -> SubmitResult:
        """Act on the gate's verdict: a denial is an event; an allowed order is recorded as
        intent, then sent; an unclear answer is UNKNOWN."""
        intent = command.intent
        payload = {"intent": intent}  # the store serialises it
        if not verdict.allowed:
            self.counts.denied += 1
            await self._store.record_verdict(verdict, source=command.source, symbol=intent.symbol,
                                             payload=payload, client_order_id=None,
                                             proposal_id=intent.proposal_id)
            self._bus.publish(OrderDenied(ts=now, command=command, verdict=verdict))
            return SubmitResult(verdict)
        order = Order(self._new_id("O"), intent, now, command.source)
        await self._store.record_verdict(verdict, source=command.source, symbol=intent.symbol,
                                         payload=payload, client_order_id=order.client_order_id,
                                         proposal_id=intent.proposal_id)
        await self._store.record_order_intent(order)
        self._risk.record_sent(intent, now)
        ack = await self._send(order)
        if ack.status not in _NO_MONEY_MOVED:
            self._account_changed()  # it may have filled: re-read the account (fills also mark it)
        await self._store.update_order(order.client_order_id, ack.status, ack.broker_order_id,
                                       ack.message)
        if ack.status.is_open:
            self.open_orders[order.client_order_id] = order
        self.counts.orders += 1
        self._bus.publish(OrderSubmitted(ts=now, order=order, ack=ack, verdict=verdict))
        return SubmitResult(verdict, order, ack)

    async def _send(self, order: Order) -> BrokerAck:
        """The one call of `Broker.submit`, bounded by the broker's declared `order_timeout`."""
        broker = self.broker
        try:
            timeout = broker.order_timeout
            if timeout is None:
                ack = await broker.submit(order)
            else:
                async with asyncio.timeout(timeout):
                    ack = await broker.submit(order)
        except (TimeoutError, ConnectionError, OSError) as exc:
            ack = BrokerAck(order.client_order_id, OrderStatus.UNKNOWN,
                            message=f"no clear answer from {broker.name}: {type(exc).__name__} {exc}".strip())
            await self._health.failure("broker", ack.message)
        else:
            self._health.success("broker")
            if ack.status is OrderStatus.REJECTED:
                self._health.error("broker", f"{broker.name} rejected {order.symbol}: {ack.message}")
        return ack

    def track(self, order: Order) -> None:
        """An order found open at the broker (reconciled at start)."""
        self.open_orders[order.client_order_id] = order

    def ended(self, client_order_id: str) -> Order | None:
        """An order ended (cancelled, rejected, expired): no longer open; the order if known."""
        self._filled_qty.pop(client_order_id, None)
        return self.open_orders.pop(client_order_id, None)

    def filled(self, fill: Fill) -> bool:
        """Count `fill` against its order; True when that completes the order."""
        order = self.open_orders.get(fill.client_order_id)
        if order is None:
            return False
        done = self._filled_qty.get(fill.client_order_id, 0.0) + fill.quantity
        self._filled_qty[fill.client_order_id] = done
        if fill.order_done or done >= order.quantity - 1e-9:
            del self.open_orders[fill.client_order_id]
            self._filled_qty.pop(fill.client_order_id, None)
            return True
        return False

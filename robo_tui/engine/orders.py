"""The order path: judge, execute, settle. Every order from every route (strategy, analyst,
manual ticket, flatten, approval, shell approval, backtest) comes here as a `SubmitOrder`;
`execute` is the only caller of `Broker.submit`.

The path keeps the book of orders that may still fill, and settles what the broker did with
them: fills and order updates are booked, the account (`AccountBook`) is re-read and the risk
state re-evaluated. Settlement lives here, not in a room of its own, because it closes what
`execute` opened: the open-order book, the account the gate judged against and the broker it
went to are the same three things on both sides.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from robo_tui.domain.commands import SubmitOrder
from robo_tui.domain.events import OrderDenied, OrderFilled, OrderStatusChanged, OrderSubmitted
from robo_tui.domain.frozen import frozen
from robo_tui.domain.increments import Increments, prices_on_grid
from robo_tui.domain.orders import (
    AccountSnapshot,
    BrokerAck,
    Fill,
    Order,
    OrderIntent,
    OrderStatus,
)
from robo_tui.domain.risk import RiskCode, RiskVerdict, TradingState
from robo_tui.engine.account import AccountBook
from robo_tui.engine.bus import EventBus
from robo_tui.engine.control import PersistedControl
from robo_tui.engine.health import Health
from robo_tui.engine.outcomes import TradeOutcomes
from robo_tui.engine.risk import RiskContext, RiskGate
from robo_tui.ports import Broker, Clock, Store

if TYPE_CHECKING:
    from robo_tui.engine.protection import ProtectionBook

_MAY_EXIT_IN_HALT = frozenset({"ui", "cli", "telegram", "engine", "protection"})
"""Sources whose reduce-only exits HALTED lets through: a trader's, and the engine's protection."""

_VENUE_EXITS = frozenset({"stop_loss", "take_profit"})
"""Fill reasons of an exit the venue placed by itself (a held stop or target that triggered)."""

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
    """Orders sent and denied, and fills booked, so far (the engine's cycle counters)."""

    orders: int
    denied: int
    fills: int


RiskChanged = Callable[[TradingState, TradingState, str], Awaitable[None]]
"""Called when settling moves the risk state: (old, new, reason)."""


class OrderPath:
    """Judge an order against the risk gate, then execute it: a denial is an event and a record;
    an allowed order is recorded as intent before the broker is called; an unclear answer is
    UNKNOWN. Keeps the orders that may still fill (`open_orders`) and settles them (`settle`)."""

    def __init__(self, *, broker: Broker, risk: RiskGate, store: Store, bus: EventBus, clock: Clock,
                 health: Health, new_id: Callable[[str], str], counts: SentCounts,
                 book: AccountBook, outcomes: TradeOutcomes, control: PersistedControl,
                 context: Callable[[datetime], RiskContext], risk_changed: RiskChanged) -> None:
        self.broker = broker
        """Where allowed orders go (the engine swaps it on a mode change)."""
        self.counts = counts
        """Where sent and denied orders and booked fills are counted (the cycle's counters)."""
        self.disagree: dict[str, dict[str, str]] = {}
        """Held symbols whose broker mark and feed price disagree: the gate's sentence, by code."""
        """The live broker whose real equity the day-start and drawdown peak were taken from."""
        self.open_orders: dict[str, Order] = {}
        self._filled_qty: dict[str, float] = {}
        self._acked_filled: dict[str, Order] = {}
        """Orders the broker acked FILLED whose fills are not booked yet (journaled SUBMITTED)."""
        self._protections_last: dict[str, tuple[float | None, float | None]] | None = None
        self.protection: ProtectionBook | None = None
        """The protection robo-tui holds (follows every booked fill; set by the engine)."""
        self.increments: dict[str, Increments] = {}
        """The venue's grid per symbol (loaded at start): every order's prices are put on it
        before the gate judges them, whatever route it came by."""
        self._risk = risk
        self._store = store
        self._bus = bus
        self._clock = clock
        self._health = health
        self._new_id = new_id
        self._book = book
        self._outcomes = outcomes
        self._control = control
        self._context = context
        self._risk_changed = risk_changed

    async def submit(self, command: SubmitOrder) -> SubmitResult:
        """Judge `command` against the account as of now, then execute the verdict."""
        now = self._clock.now()
        await self.refresh_account(now)
        context = self._context(now)
        grid = self.increments.get(command.intent.symbol)
        if grid is not None:
            intent = prices_on_grid(command.intent, grid)
            if intent is not command.intent:
                command = replace(command, intent=intent)
        return await self.execute(command, self.judge(command, context), now)

    def judge(self, command: SubmitOrder, context: RiskContext) -> RiskVerdict:
        """What the risk gate says about the command's order in `context` (nothing is sent).
        A trader's (console, shell) or the protection's reduce-only order is judged as one that
        may pass a halt; a strategy's or analyst's never is."""
        if command.intent.reduce_only and command.source in _MAY_EXIT_IN_HALT:
            context = replace(context, exit_may_pass_halt=True)
        return self._risk.check(command.intent, context)

    async def execute(self, command: SubmitOrder, verdict: RiskVerdict, now: datetime) -> SubmitResult:
        """Act on the gate's verdict: a denial is an event; an allowed order is recorded as
        intent, then sent; an unclear answer is UNKNOWN. `now` is when the order was judged (a
        cycle's start for a proposal); the order is stamped with the time it is sent."""
        intent = command.intent
        payload = {"intent": intent}  # the store serialises it
        if not verdict.allowed:
            self.counts.denied += 1
            await self._store.record_verdict(verdict, source=command.source, symbol=intent.symbol,
                                             payload=payload, client_order_id=None,
                                             proposal_id=intent.proposal_id)
            self._bus.publish(OrderDenied(ts=now, command=command, verdict=verdict))
            return SubmitResult(verdict)
        order = Order(self._new_id("O"), intent, self._clock.now(), command.source)
        await self._store.record_verdict(verdict, source=command.source, symbol=intent.symbol,
                                         payload=payload, client_order_id=order.client_order_id,
                                         proposal_id=intent.proposal_id)
        await self._store.record_order_intent(order)
        self._risk.record_sent(intent, order.created_at)
        ack = await self._send(order, verdict.state)
        if ack.status not in _NO_MONEY_MOVED:
            self._book.stale = True  # it may have filled: re-read the account (fills also mark it)
        status = ack.status
        if status is OrderStatus.FILLED:
            # FILLED is journaled with its fill at settle (one transaction): a crash between the
            # ack and the booking must leave an open order recovery re-asks, not a fill-less FILLED
            status = OrderStatus.SUBMITTED
            self._acked_filled[order.client_order_id] = order
        await self._store.update_order(order.client_order_id, status, ack.broker_order_id,
                                       ack.message)
        if ack.status.is_open:
            self.open_orders[order.client_order_id] = order
        self.counts.orders += 1
        self._bus.publish(OrderSubmitted(ts=now, order=order, ack=ack, verdict=verdict))
        return SubmitResult(verdict, order, ack)

    async def _send(self, order: Order, judged_in: TradingState) -> BrokerAck:
        """The one call of `Broker.submit`, bounded by the broker's declared `order_timeout`.

        No order leaves with a verdict older than a halt: one judged before HALTED is stopped
        here; one the gate allowed in HALTED (a trader's or the protection's exit) goes out."""
        broker = self.broker
        if judged_in is not TradingState.HALTED:
            halt = await self._control.halt_waiting()
            if halt is not None or self._risk.state is TradingState.HALTED:
                return BrokerAck(order.client_order_id, OrderStatus.CANCELLED,
                                 message=f"not sent: trading halted ({halt or self._risk.halt_reason})")
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

    def filled_qty(self, client_order_id: str) -> float:
        """How much of a working order has filled so far (0 when nothing has)."""
        return self._filled_qty.get(client_order_id, 0.0)

    def track(self, order: Order) -> None:
        """An order found open at the broker (reconciled at start)."""
        self.open_orders[order.client_order_id] = order

    def ended(self, client_order_id: str) -> Order | None:
        """An order ended (cancelled, rejected, expired): no longer open; the order if known."""
        self._filled_qty.pop(client_order_id, None)
        self._acked_filled.pop(client_order_id, None)
        return self.open_orders.pop(client_order_id, None)

    def filled(self, fill: Fill) -> bool:
        """Count `fill` against its order; True when that completes the order."""
        cid = fill.client_order_id
        order = self.open_orders.get(cid) or self._acked_filled.get(cid)
        if order is None:
            return False
        done = self._filled_qty.get(cid, 0.0) + fill.quantity
        self._filled_qty[cid] = done
        if fill.order_done or done >= order.quantity - 1e-9:
            self.open_orders.pop(cid, None)
            self._acked_filled.pop(cid, None)
            self._filled_qty.pop(cid, None)
            return True
        return False

    # ------------------------------------------------------------------ settlement

    async def settle(self, now: datetime) -> None:
        """Book the broker's fills and order updates, re-read the account and re-evaluate the
        risk state now (the replay-control `Engine.settle` is this method itself: it runs once
        or twice per replayed event, so the polls stay inline)."""
        broker = self.broker
        try:
            fills = await broker.poll_fills()
        except Exception as exc:  # noqa: BLE001 -- an adapter failure is reported and survived
            fills = []
            await self._health.failure("broker", f"fills poll failed: {exc}")
        for fill in fills:
            await self._book_fill(fill)
        try:
            updates = await broker.poll_order_updates()
        except Exception as exc:  # noqa: BLE001 -- an adapter failure is reported and survived
            updates = []
            await self._health.failure("broker", f"order updates poll failed: {exc}")
        for ack in updates:
            await self._order_ended(ack, now)
        if fills or updates:
            await self._save_protections()
        book = self._book
        if not (book.stale or book.remark):
            return
        await self.refresh_account(now)
        risk = self._risk
        old = risk.state
        new = risk.evaluate_equity(book.account.equity, book.day_start_equity, book.peak_equity)
        if new is not old:
            await self._risk_changed(old, new, risk.state_reason or "risk limits")

    async def book_fill(self, fill: Fill, order: Order | None = None) -> None:
        """Book one fill learned outside `settle` (a fill that happened while robo-tui was down,
        found at start): recorded with its order's status, counted, published, scored. `order`
        is the journal's record when the path no longer tracks it (reconciled FILLED at start),
        so an entry killed between its fill and its protection arms its levels now, in the
        fill's own transaction."""
        await self._book_fill(fill, order)

    async def _book_fill(self, fill: Fill, known: Order | None = None) -> None:
        self._book.stale = True
        cid = fill.client_order_id
        order = self.open_orders.get(cid) or self._acked_filled.get(cid) or known
        done = self.filled(fill)  # the fill, its order's status and the stops: one transaction
        broker = self.broker
        venue_order = None
        if order is None and fill.reason in _VENUE_EXITS:
            venue_order = await self._venue_exit(fill)
        levels = self.protection.after_fill(fill, order) if self.protection is not None else None
        await self._store.record_fill(fill, order_status=OrderStatus.FILLED if done else None,
                                      protections=broker.protections()
                                      if broker.restores_from_fills else None,
                                      levels=levels or None, venue_order=venue_order)
        self.counts.fills += 1
        self._bus.publish(OrderFilled(ts=fill.ts, fill=fill))
        outcomes = self._outcomes
        for trade in outcomes.book(fill):  # no coroutine per fill: most close nothing
            await outcomes.closed(trade)

    async def _venue_exit(self, fill: Fill) -> Order | None:
        """The journal row of a stop or target the venue placed and filled by itself (its id is
        the venue's), None when the journal already knows the order: every fill has its order."""
        if await self._store.get_order(fill.client_order_id) is not None:
            return None
        intent = OrderIntent(fill.symbol, fill.side, fill.quantity, reduce_only=True,
                             reason=fill.reason)
        return Order(fill.client_order_id, intent, fill.ts, "venue")

    async def _order_ended(self, ack: BrokerAck, now: datetime) -> None:
        self._book.stale = True
        order = self.ended(ack.client_order_id)
        try:
            await self._store.update_order(ack.client_order_id, ack.status, ack.broker_order_id,
                                           ack.message)
        except KeyError:
            # an order the journal never recorded (a venue-placed child, such as a protective
            # stop the adapter placed itself): reported, never a crash of the settle loop
            await self._health.failure(
                "broker", f"order {ack.client_order_id} {ack.status.value}: {ack.message}")
        self._bus.publish(OrderStatusChanged(ts=now, client_order_id=ack.client_order_id,
                                             symbol=order.symbol if order else "",
                                             status=ack.status.value, message=ack.message))

    async def _save_protections(self) -> None:
        """Persist the broker's stop/target per symbol (a simulated venue re-arms them at restart)."""
        if not self.broker.restores_from_fills:
            return  # the venue holds its protections itself
        current = self.broker.protections()
        if current != self._protections_last:
            self._protections_last = current
            await self._control.update(lambda c: replace(c, protections=current), "engine")

    async def refresh_account(self, now: datetime | None = None) -> None:
        """Re-read cash and positions from the broker and re-mark them when the broker's side may
        have changed; only re-mark them when just the prices did."""
        book = self._book
        if not (book.stale or book.remark):
            return
        now = now or self._clock.now()
        if book.stale:
            book.stale = False
            try:
                account = await self.broker.account()
            except Exception as exc:  # noqa: BLE001 -- an adapter failure is reported and survived
                book.stale = True
                await self._health.failure("broker", f"account failed: {exc}")
                return
        else:
            account = book.account
        book.remark = False
        # the broker's snapshot is a fresh value: its positions are ours to keep. A venue whose
        # book lives in this process marks at our prices; a real broker's marks for what it
        # holds are never replaced by the feed's, and a gap past the tolerance stops the symbol.
        if self.broker.restores_from_fills:
            prices = account.prices | book.prices
        else:
            prices = book.prices | account.prices
            self._compare_marks(account)
        book.account = AccountSnapshot(now, account.cash, account.positions, prices)
        equity = book.account.equity
        day = now.date().isoformat()
        name = self.broker.name
        if self.broker.is_live and self._control.state.live_baseline != name and equity > 0:
            # the first live start on this broker counts day loss and drawdown from its real
            # equity, never from the paper starting cash; persisted, so a restart keeps the peak
            book.peak_equity = equity
            await self._control.update(  # with the peak: a stop before the first cycle keeps it
                lambda c: replace(c, live_baseline=name, peak_equity=equity), "engine")
            await self.start_day(day, equity, "engine")
        if day != book.day:
            await self.start_day(day, equity, "engine")
        book.peak_equity = max(book.peak_equity, equity)

    def _compare_marks(self, account: AccountSnapshot) -> None:
        """Stop a held symbol whose broker mark and feed price differ past the tolerance (one
        health event when it starts, one when they agree again)."""
        feed = self._book.prices
        tolerance = self._risk.settings.marks_tolerance_pct
        for symbol, position in account.positions.items():
            mark, ours = account.prices.get(symbol), feed.get(symbol)
            if position.quantity == 0.0 or mark is None or ours is None or mark <= 0:
                continue
            gap = abs(ours - mark) / mark
            if gap > tolerance:
                if symbol not in self.disagree:
                    message = (f"{symbol}: the broker marks it at {mark:,.6g} but the feed says "
                               f"{ours:,.6g} ({gap:.1%} apart, tolerance "
                               f"{tolerance:.1%}); no new entries until they agree")
                    self.disagree[symbol] = {RiskCode.MARKS_DISAGREE.value: message}
                    self._health.symbol_problem(symbol, "marks", message)
            elif self.disagree.pop(symbol, None) is not None:
                self._health.symbol_recovered(symbol, "marks",
                                              f"{symbol}: broker mark and feed agree again")

    async def start_day(self, day: str, equity: float, by: str) -> None:
        """Count the day's loss from `equity`, durably (`start` reads it back after a restart);
        a new `day` also opens with it (see `AccountBook.start_day`)."""
        book = self._book
        book.start_day(day, equity)
        opened = book.day_open_equity
        await self._control.update(
            lambda c: replace(c, day=day, day_start_equity=equity, day_open_equity=opened), by)

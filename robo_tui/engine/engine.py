"""The engine: wires market data, intelligence, strategies, ensemble, sizing, the ONE risk gate and
the broker, and runs the cycle. `Engine.submit` is the only way an order reaches a broker.

Its rooms: the order path (`engine/orders.py`: judge, execute, settle; the only caller of
`Broker.submit`) with the account it settles into (`engine/account.py`) and what closed trades
teach (`engine/outcomes.py`), the proposals room (`engine/proposals.py`: build, pre-check, the
pending book, approval, rejection, expiry), the persisted control record and the shell's command
journal (`engine/control.py`), source health and the circuit breaker (`engine/health.py`). The
engine keeps the cycle, market state, the intelligence glue, the kill switch and the wiring of
the rooms. The backtest driver steers it only through the replay-control API below.

The same class runs live, paper, semi-auto and (through `robo_tui.engine.backtest`) backtests;
only the clock, the feed, the broker and the store it is given differ.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import secrets
import time
from collections.abc import Callable, Coroutine, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from robo_tui.config import Settings
from robo_tui.domain.commands import OrderSource, SubmitOrder
from robo_tui.domain.control import ControlState, JournaledCommand
from robo_tui.domain.events import (
    AnalystSelected,
    BarsReceived,
    CycleCompleted,
    Event,
    ModeChanged,
    OrderStatusChanged,
    PauseChanged,
    PortfolioUpdated,
    QuotesUpdated,
    SignalsComputed,
    StrategyChanged,
    TradingStateChanged,
)
from robo_tui.domain.market import AssetClass, Bar, BarArrays, FloatArray, Instrument, Quote
from robo_tui.domain.news import MarketEvent, TradeIdea
from robo_tui.domain.orders import AccountSnapshot, BrokerAck, Order, OrderIntent, OrderStatus, Side
from robo_tui.domain.protection import ProtectiveLevel
from robo_tui.domain.risk import Mode, RiskVerdict, TradingState
from robo_tui.domain.serialize import to_jsonable
from robo_tui.domain.sessions import MarketSessions
from robo_tui.domain.signals import Direction, EnsembleDecision, Proposal, Signal
from robo_tui.engine.account import AccountBook
from robo_tui.engine.backfill import Backfill, backfill_for
from robo_tui.engine.bus import EventBus
from robo_tui.engine.control import PersistedControl
from robo_tui.engine.ensemble import Ensemble, idea_signal
from robo_tui.engine.freshness import MarketGuard
from robo_tui.engine.health import Health
from robo_tui.engine.ledger import Ledger
from robo_tui.engine.orders import OrderPath, SubmitResult
from robo_tui.engine.outcomes import TradeOutcomes
from robo_tui.engine.proposals import ProposalDesk, ProposalNotFound
from robo_tui.engine.protection import ProtectionBook
from robo_tui.engine.reconcile import Reconciler, load_increments
from robo_tui.engine.recorder import EventRecorder
from robo_tui.engine.recovery import recover
from robo_tui.engine.retention import Retention
from robo_tui.engine.risk import RiskContext, RiskGate
from robo_tui.engine.schedule import DailySchedule, engine_jobs
from robo_tui.engine.sizing import Sizer
from robo_tui.engine.strategies import build_strategies
from robo_tui.engine.universe import (
    FollowsSymbols,
    KnowsInstruments,
    Rediscover,
    UniverseChange,
    leaving_sentence,
    plan,
    with_leaving,
)
from robo_tui.ports import (
    Broker,
    Clock,
    IntelligenceStage,
    MarketFeed,
    RecallsOrders,
    Service,
    SimulatedVenue,
    Store,
)
from robo_tui.registries.brokers import BROKERS

log = logging.getLogger(__name__)

_HISTORY_CAP_EXTRA = 200
FEED_TIMEOUT = 30.0
"""Seconds one market-data call (bars, quotes, history) may take before it counts as failed."""
CLOSE_TIMEOUT = 10.0
"""Seconds each adapter gets to close at shutdown."""
CONTROL_SECONDS = 0.25
"""How often the kill switch's lane reads the shell's journal while `run` runs."""


_NewsResult = tuple[dict[str, list[TradeIdea]], list[MarketEvent]]
"""A news job's result: ideas by symbol, and the events left for the next cycle."""


class LiveRefused(Exception):
    """Live mode refused to start: the message names each thing that must change."""


class ModeChangeRefused(Exception):
    """A mode switch was refused; the message says exactly what is missing."""


@dataclass(slots=True)
class CycleCounters:
    """What the current cycle (or backtest run) has done so far; the backtest driver reads it."""

    proposals: int = 0
    denied: int = 0
    orders: int = 0
    fills: int = 0
    ideas: int = 0
    news: int = 0
    errors: list[str] = field(default_factory=list)


class IdSource:
    """Short ids a human can type (P-3f9a2c-1, O-3f9a2c-2f): a random per-run prefix and a
    counter, so ids never repeat within a run and practically never across runs."""

    def __init__(self) -> None:
        self._run = secrets.token_hex(3)
        self._next = itertools.count(1)

    def __call__(self, prefix: str) -> str:
        return f"{prefix}-{self._run}-{next(self._next):x}"


class _ReturnsView(Mapping[str, FloatArray]):
    """Recent log returns per symbol, computed only for the symbols the risk gate asks about."""

    def __init__(self, market: Mapping[str, BarArrays], window: int) -> None:
        self._market = market
        self._window = window
        self._last: dict[str, tuple[BarArrays, FloatArray]] = {}  # per symbol: window, returns

    def __getitem__(self, symbol: str) -> FloatArray:
        bars = self._market[symbol]
        last = self._last.get(symbol)
        if last is not None and last[0] is bars:  # the same (immutable) window as last asked
            return last[1]
        close = bars.close[-(self._window + 1):]
        if close.shape[0] < 3:
            raise KeyError(symbol)
        log_close = np.log(close)
        result: FloatArray = log_close[1:] - log_close[:-1]
        result.flags.writeable = False  # shared by every caller until the window moves
        self._last[symbol] = (bars, result)
        return result

    def __iter__(self) -> Iterator[str]:
        return iter(self._market)

    def __len__(self) -> int:
        return len(self._market)


class Engine:
    """The trading engine. Construct it with its adapters, `await start()`, then run cycles."""

    feed_timeout: float = FEED_TIMEOUT
    """Seconds one market-data call may take (a hung feed is a data failure, never a freeze)."""
    live_gate: Callable[[], str | None] | None = None
    """Why a switch to LIVE must be refused beyond `live_requirements` (the composition root
    sets it: no recent passing preflight); None or "" allows it."""
    rediscover: Rediscover | None = None
    """The universe discovered now (`[universe.discovery]`; the composition root sets it): the
    daily schedule's `universe` job applies it with `set_universe`. None: a fixed universe."""
    backfill: Backfill | None = None
    """Bars a real feed missed while disconnected, fetched from its history (set up with the
    warm-up in `start`; None: off, the simulated market and replays)."""

    def __init__(  # noqa: PLR0915 -- the composition of the engine's rooms, in order
        self,
        settings: Settings,
        *,
        clock: Clock,
        feed: MarketFeed,
        broker: Broker,
        store: Store,
        intelligence: IntelligenceStage | None = None,
        bus: EventBus | None = None,
        mode: Mode | None = None,
        broker_factory: Callable[[Mode], Broker] | None = None,
        record_events: bool = True,
        sessions: MarketSessions | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.feed = feed
        self.broker = broker
        self._venue: SimulatedVenue | None = None
        self._attach(broker)
        self.store = store
        self.intelligence = intelligence
        self.bus = bus or EventBus()
        self.mode: Mode = mode or settings.engine.mode
        self._broker_factory = broker_factory
        self.instruments: dict[str, Instrument] = {
            i.symbol: i.to_instrument() for i in settings.universe.instruments
        }
        self.symbols: list[str] = list(self.instruments)
        self.leaving: dict[str, str] = {}
        """Symbols a universe refresh dropped while held: followed, exits only, until flat."""
        self.ensemble = Ensemble(
            build_strategies(settings.strategies), settings.strategies, settings.ensemble
        )
        self.sizer = Sizer(settings.sizing, settings.risk)
        self.risk = RiskGate(settings.risk, self.instruments)
        self.ledger = Ledger()
        self.recorder = EventRecorder(self.bus, store) if record_events else None

        self.market: dict[str, BarArrays] = {}
        self._returns = _ReturnsView(self.market, settings.risk.correlation_window)
        self.book = AccountBook(clock.now(), settings.broker.starting_cash)
        """The account, the last prices, the day's start equity and the peak (the order path
        keeps them current)."""
        self.prices: dict[str, float] = self.book.prices
        self.quotes: dict[str, Quote] = {}
        self.paused = False
        self.cycle = 0
        self.last_cycle: CycleCompleted | None = None
        self.equity_history: list[tuple[datetime, float]] = []
        self._targets: dict[str, float] = {}
        self._ideas: dict[str, list[TradeIdea]] = {}
        self._queued_events: list[MarketEvent] = []
        # the news-and-analysts job in flight (it never holds the cycle, prices or control)
        self._news: asyncio.Task[_NewsResult] | None = None
        self.control = PersistedControl(store)
        self.counters = CycleCounters()
        """What the current cycle (a whole replay is one) has done so far."""
        self.monitor = Health(bus=self.bus, clock=clock, risk=self.risk, on_trip=self._tripped)
        self.monitor.errors = self.counters.errors
        self.health, self.guard = self.monitor.sources, MarketGuard(
            instruments=self.instruments, prices=self.prices, health=self.monitor,
            bar_seconds=settings.feeds.bar_seconds,
            stale_after_bars=settings.feeds.stale_after_bars, sessions=sessions,
            ticks=settings.feeds.tick_rules())
        """`health`: per source kind, (healthy, last failure message); `guard`: bad ticks, stale
        symbols and market sessions (`sessions` None trades stocks around the clock)."""
        # reconciler: a live venue's book against the journal (the drift report, reconcile.py)
        self.new_id, self.reconciler = IdSource(), Reconciler(self)
        self.outcomes = TradeOutcomes(ledger=self.ledger, risk=self.risk, sizer=self.sizer,
                                      ensemble=self.ensemble, store=store)
        self.orders = OrderPath(broker=broker, risk=self.risk, store=store, bus=self.bus,
                                clock=clock, health=self.monitor, new_id=self.new_id,
                                counts=self.counters, book=self.book, outcomes=self.outcomes,
                                control=self.control, context=self.risk_context,
                                risk_changed=self._risk_changed)
        self.protection = self.orders.protection = self._protection_book(store)
        self.proposals = ProposalDesk(
            settings=settings, store=store, bus=self.bus, clock=clock, new_id=self.new_id,
            orders=self.orders, book=self.book, outcomes=self.outcomes, risk=self.risk,
            sizer=self.sizer, instruments=self.instruments, market=self.market, ideas=self._ideas,
            counts=self.counters, mode=self._current_mode, can_short=self._can_short,
            context=self.risk_context)
        self.pending: dict[str, Proposal] = self.proposals.pending
        """Proposals waiting for a human, by id (the proposals room's book)."""
        # The proposals room's methods the cycle and the driver call per decision, bound:
        # wanted_change(symbol, desired), build_proposal(symbol, desired, decision, now) and
        # propose(proposal) are documented on `ProposalDesk`.
        self.wanted_change: Callable[[str, int], int | None] = self.proposals.wanted_change
        self.build_proposal: Callable[[str, int, EnsembleDecision, datetime], Proposal | None] = \
            self.proposals.build_proposal
        self.propose: Callable[[Proposal], Coroutine[Any, Any, None]] = self.proposals.propose
        self._started = False
        self._lock = asyncio.Lock()  # one order path at a time

        # The replay-control API (see "replay control" below). The backtest driver calls these
        # once per replayed event or bar, so they are the rooms' own methods, bound here: no
        # second coroutine around `settle`, no Python frame around a target lookup.
        self.settle: Callable[[datetime], Coroutine[Any, Any, None]] = self.orders.settle
        """Book the venue's fills and order updates and re-evaluate the risk state now."""
        self.mark_prices: Callable[[Mapping[str, float]], None] = self.book.mark_prices
        """New last prices that change nothing at the broker (the backtest driver marks its
        bars this way; whatever they make the venue do arrives as fills)."""
        self.replay_day: Callable[[str, float], None] = self.book.replay_day
        """Start the trading day `day` (ISO date) with `start_equity` for the day-loss limit;
        nothing is persisted (a replay's control state is its own)."""
        self.replay_peak: Callable[[float], None] = self.book.replay_peak
        """Set the equity peak the drawdown limit counts from."""
        # target(symbol): the ensemble direction last decided for `symbol` (+1, 0, -1), None
        # if never; set_target(symbol, target) records one decided outside the cycle.
        self.target: Callable[[str], float | None] = self._targets.get
        self.set_target: Callable[[str, float], None] = self._targets.__setitem__

    def _protection_book(self, store: Store) -> ProtectionBook:
        """The stops, targets and trails robo-tui holds where the venue cannot (fired on the
        prices the engine receives, released through the order path)."""
        return ProtectionBook(broker=lambda: self.orders.broker, instruments=self.instruments,
                              store=store, book=self.book, health=self.monitor,
                              trail_pct=self.settings.sizing.trailing_stop_pct)

    # ------------------------------------------------------------------ lifecycle

    @property
    def simulated(self) -> bool:
        """Whether prices come from the simulated market."""
        return self.feed.simulated

    @property
    def state(self) -> TradingState:
        """The risk gate's trading state."""
        return self.risk.state

    @property
    def account(self) -> AccountSnapshot:
        """Cash and positions as the broker last reported them, marked at the last prices."""
        return self.book.account

    @account.setter
    def account(self, account: AccountSnapshot) -> None:
        self.book.account = account

    @property
    def day_start_equity(self) -> float:
        """The equity the day's loss counts from."""
        return self.book.day_start_equity

    @day_start_equity.setter
    def day_start_equity(self, equity: float) -> None:
        self.book.day_start_equity = equity

    @property
    def peak_equity(self) -> float:
        """The equity peak the drawdown counts from."""
        return self.book.peak_equity

    @peak_equity.setter
    def peak_equity(self, equity: float) -> None:
        self.book.peak_equity = equity

    @property
    def day_pnl(self) -> float:
        """Profit or loss since the start of the day."""
        return self.book.day_pnl

    @cached_property
    def services(self) -> list[Service]:
        """What runs beside the engine (alerts, the Telegram bot), added by the wiring: started
        after `start`, stopped first in `stop`, each off the order path."""
        return []

    def _current_mode(self) -> Mode:
        return self.mode

    async def start(self) -> None:
        """Open the store, restore the kill switch and the paper account, reconcile orders,
        connect the feed and broker and load warm-up history. Connection errors propagate."""
        await self.store.open()
        await self._restore_control()
        if self.mode.live_limits:
            await self._restore_sent_today()
        await self.feed.connect()
        await self.broker.connect()
        await self._restore_broker()
        await self._reconcile_orders()
        await self.reconciler.book_missed_fills()  # a live venue's fills while we were down
        self.unknown_watch = await recover(self)  # half-written journal, lost stops, UNKNOWNs
        self.sizer.increments = self.orders.increments = await load_increments(self.broker,
                                                                               self.symbols)
        await self.reconciler.check()  # a live venue's book against the journal: drift blocks
        await self._load_history()
        if self.mode is Mode.LIVE:
            await self._check_live_prices()
        await self.proposals.restore()
        await self.orders.refresh_account()
        if self.rediscover is not None:  # discovery on: a held symbol left out stays managed
            await self._adopt_held()
        if self.control.state.risk_rebase:  # an earlier version's `robo-tui resume`
            await self._rebase_risk("cli")
        await self._consume_commands()  # shell actions taken while no engine ran
        self._started = True
        await self.store.audit("engine.start", {"mode": self.mode.value,
                                                "broker": self.broker.name,
                                                "feed": self.feed.name}, "engine")
        for service in self.services:
            await service.start()

    async def stop(self) -> None:
        """Flush the audit log and close every adapter; safe to call twice."""
        for service in reversed(self.services):
            try:
                async with asyncio.timeout(CLOSE_TIMEOUT):
                    await service.stop()
            except Exception as exc:  # stopping must go on
                log.warning("stopping %s failed: %s", service.name, _describe(exc))
        await self._cancel_news()
        if self.recorder:
            await self.recorder.flush()
        for closer in (self._close_intelligence, self.feed.close, self.broker.close):
            try:
                async with asyncio.timeout(CLOSE_TIMEOUT):
                    await closer()
            except Exception as exc:  # closing must go on
                log.warning("close failed: %s", _describe(exc))
        try:
            if self._started:
                await self.store.audit("engine.stop", {"cycles": self.cycle}, "engine")
            if self.recorder:
                await self.recorder.flush()
                self.recorder.close()
        finally:  # a store that cannot write (full disk) is closed all the same: the process exits
            await self.store.close()
            self._started = False

    async def _close_intelligence(self) -> None:
        if self.intelligence is not None:
            await self.intelligence.close()

    async def _restore_control(self) -> None:
        control = await self.control.restore()
        if control.halted:
            self.risk.restore(TradingState.HALTED, control.halt_reason, control.halt_codes)
        if control.day_start_equity is not None:
            self.book.day, self.book.day_start_equity = control.day, control.day_start_equity
            self.book.day_open_equity = control.day_open_equity or control.day_start_equity
        if control.peak_equity is not None:
            self.book.peak_equity = control.peak_equity

    async def _restore_sent_today(self) -> None:
        """The live daily order cap counts the orders the journal holds for today: a restart
        mid-day never grants a fresh allowance."""
        day = self.clock.now().date().isoformat()
        rows = await self.store.query("SELECT COUNT(*) AS n FROM orders WHERE ts >= ?", (day,))
        self.risk.restore_sent_today(day, int(rows[0]["n"]) if rows else 0)

    async def _update_control(self, change: Callable[[ControlState], ControlState], by: str) -> None:
        await self.control.update(change, by)

    async def _restore_broker(self) -> None:
        """A broker whose book lives in this process is rebuilt from the journal's fills and
        re-arms the persisted protections; the engine's ledger replays the same fills (for a
        live broker too: an exit after a restart closes the trade its entry opened)."""
        fills = await self.store.fills()
        for fill in fills:
            self.ledger.apply(fill)
        if self.broker.restores_from_fills:
            self.broker.restore(fills, self.control.state.protections)

    async def _reconcile_orders(self) -> None:
        """Orders left INTENT/SUBMITTED/UNKNOWN by a previous run: ask the broker what happened."""
        for order, status in await self.store.open_orders():
            if isinstance(self.broker, RecallsOrders):
                self.broker.recall(order)
            try:
                ack = await self.broker.order_status(order.client_order_id)
            except Exception as exc:
                await self._order_status(order, OrderStatus.UNKNOWN, f"reconcile failed: {exc}")
                continue
            if ack.status is OrderStatus.UNKNOWN:
                if status is OrderStatus.INTENT:
                    new, why = OrderStatus.CANCELLED, "never reached the broker (stopped before send)"
                elif self.broker.restores_from_fills:
                    new, why = OrderStatus.CANCELLED, "simulated order not carried over a restart"
                else:
                    new, why = OrderStatus.UNKNOWN, "the broker does not know it; check the account"
                await self._order_status(order, new, why)
            else:
                await self._order_status(order, ack.status, ack.message or "reconciled at start",
                                         ack.broker_order_id)
                if ack.status.is_open:
                    self.orders.track(order)

    async def _order_status(self, order: Order, status: OrderStatus, message: str,
                            broker_order_id: str | None = None) -> None:
        await self.store.update_order(order.client_order_id, status, broker_order_id, message)
        self.bus.publish(OrderStatusChanged(ts=self.clock.now(), client_order_id=order.client_order_id,
                                            symbol=order.symbol, status=status.value, message=message))

    async def _check_live_prices(self) -> None:
        """Live refuses to start on a price source whose first quotes are missing or stale."""
        now = self.clock.now()
        try:
            async with asyncio.timeout(self.feed_timeout):
                quotes = {q.symbol: q for q in await self.feed.quotes(now)}
        except Exception as exc:
            raise LiveRefused(f"the feed {self.feed.name} gave no quotes: {_describe(exc)}") from exc
        problems = []
        for symbol, inst in self.instruments.items():
            quote = quotes.get(symbol)
            if quote is None:
                problems.append(f"{symbol}: no first quote from {self.feed.name}")
            elif (bad := self.guard.quote_problem(quote)) is not None:
                problems.append(f"{symbol}: bad first quote ({bad})")
            elif now - quote.ts > self.guard.stale_after and \
                    self.guard.sessions_open(inst, now):
                problems.append(f"{symbol}: first quote is stale (from {quote.ts.isoformat()})")
        if problems:
            raise LiveRefused("live mode refused to start:\n  - " + "\n  - ".join(problems))

    async def _load_history(self) -> None:
        n = max(self.settings.engine.warmup_bars, self.ensemble.history_bars())
        feeds = self.settings.feeds
        self.backfill = backfill_for(feeds.kind, bar_seconds=feeds.bar_seconds,
                                     max_bars=feeds.backfill_bars, symbols=self.symbols)
        await self._warm_up(self.symbols, n)

    async def _warm_up(self, symbols: Sequence[str], n: int) -> None:
        """Each symbol's last `n` bars of history (cleaned) as its market data and last price."""
        for symbol in symbols:
            try:
                bars = await self.feed.history(symbol, n)
            except Exception as exc:
                self.monitor.error("market", f"history for {symbol} failed: {exc}")
                continue
            bars = self.guard.clean_history(bars)
            if self.backfill is not None:
                self.backfill.seen_history(bars)
            if len(bars):
                self.market[symbol] = bars
                self.prices[symbol] = float(bars.close[-1])
                self.book.stale = True
                if self._venue is not None:
                    self._venue.on_bar(bars.bar(-1))

    # ------------------------------------------------------------------ replay control
    # The backtest driver steers the engine through these (and only these), once per event:
    # renaming the engine's internals cannot break a replay. `settle`, `mark_prices`,
    # `replay_day`, `replay_peak`, `target`, `set_target` and `counters` are attributes set in
    # `__init__` (the rooms' own methods, bound there for the per-event path's speed).

    def set_live_ideas(self, symbol: str, ideas: list[TradeIdea]) -> None:
        """The analyst ideas live for `symbol` now (a proposal cites the ideas that voted)."""
        self._ideas[symbol] = ideas

    # ------------------------------------------------------------------ the cycle

    async def run(self, *, cycles: int | None = None, stop: asyncio.Event | None = None,
                  on_cycle: Callable[[CycleCompleted], None] | None = None) -> None:
        """Run cycles every `engine.cycle_seconds`, ticking quotes, news and control between them,
        until `cycles` have run or `stop` is set. The kill switch has its own lane meanwhile:
        a halt the shell journals takes effect within `CONTROL_SECONDS`, whatever a cycle waits on."""
        stop = stop or asyncio.Event()
        lane = asyncio.create_task(self._control_lane(stop), name="robo-tui control lane")
        retention = Retention(self.store, self.clock, self.settings.storage.retention_days)
        background = [lane, asyncio.create_task(retention.run(stop), name="robo-tui retention")]
        if self.settings.reports.schedule and cycles is None:  # a long run, not a cron `--once`
            schedule = DailySchedule(self, engine_jobs(self), self._exchange_tz())
            background.append(asyncio.create_task(schedule.run(stop), name="robo-tui schedule"))
        try:
            await self._run(cycles, stop, on_cycle)
        finally:
            for task in background:
                task.cancel()
            await asyncio.gather(*background, return_exceptions=True)

    def _exchange_tz(self) -> ZoneInfo:
        """The stock exchange's time zone (New York without a calendar)."""
        sessions = self.guard.sessions
        return sessions.timezone if sessions is not None else ZoneInfo("America/New_York")

    async def _run(self, cycles: int | None, stop: asyncio.Event,
                   on_cycle: Callable[[CycleCompleted], None] | None) -> None:
        done = 0
        while not stop.is_set():
            if not self.paused:
                summary = await self.run_cycle()
                done += 1
                if on_cycle:
                    on_cycle(summary)
                if cycles is not None and done >= cycles:
                    return
            deadline = time.monotonic() + self.settings.engine.cycle_seconds
            step = min(self.settings.feeds.quote_seconds, self.settings.engine.cycle_seconds)
            while not stop.is_set() and time.monotonic() < deadline:
                await self.tick()
                try:
                    await asyncio.wait_for(stop.wait(), timeout=max(0.01, min(step, deadline - time.monotonic())))
                except TimeoutError:
                    pass

    async def _control_lane(self, stop: asyncio.Event) -> None:
        """The kill switch's priority lane: read the shell's journal every `CONTROL_SECONDS` and
        carry out a halt at once (never waiting on news, a model or the cycle's lock); the other
        commands run in order as soon as the order path is free."""
        while not stop.is_set():
            try:
                await self._priority_halt()
                if not self._lock.locked():
                    async with self._lock:
                        await self._sync_control()
            except Exception as exc:
                self.monitor.error("control", f"control sync failed: {exc}")
            try:
                await asyncio.wait_for(stop.wait(), CONTROL_SECONDS)
            except TimeoutError:
                pass

    async def _priority_halt(self) -> None:
        """A halt the shell journaled (or an older shell wrote) takes effect now: HALTED, latched
        and open orders cancelled; the journal entry itself is consumed in order later (a no-op
        then, so a later `resume` still counts)."""
        if self.risk.state is TradingState.HALTED:
            return
        reason = await self.control.halt_waiting()
        if reason is None or self.state is TradingState.HALTED:  # halted while we read
            return
        old = self.risk.state
        self.risk.halt(reason)
        await self._on_state_change(old, TradingState.HALTED, reason, "cli")

    async def run_cycle(self) -> CycleCompleted:
        """One pass of the daily pipeline: market data → news → analysts → strategies → ensemble →
        proposals → risk gate → execution → persist → summary."""
        started = time.perf_counter()
        self.cycle += 1
        now = self.clock.now()
        async with self._lock:
            await self._sync_control()
            await self._market_step(now)
            await self.settle(now)
            await self._release_protection(now)
            await self.reconciler.after_reconnect()
        ideas = await self._intelligence_step(now)  # off the lock: prices and control go on
        async with self._lock:
            await self._sync_control()
            self._expire_ideas(now)
            if self.risk.state is not TradingState.HALTED:
                for symbol in self.symbols:
                    await self._evaluate_symbol(symbol, now, ideas.get(symbol, ()))
            else:
                await self.proposals.note_halted(ideas)
            await self.proposals.expire(now)
            await self.settle(now)
            await self._persist(now)
        summary = CycleCompleted(
            ts=now, cycle=self.cycle, state=self.risk.state, mode=self.mode,
            equity=self.account.equity, cash=self.account.cash, day_pnl=self.day_pnl,
            proposals=self.counters.proposals, denied=self.counters.denied,
            orders=self.counters.orders, fills=self.counters.fills,
            positions=len(self.account.positions), ideas=self.counters.ideas,
            news=self.counters.news, duration_ms=(time.perf_counter() - started) * 1000,
            errors=tuple(self.counters.errors),
        )
        self._new_counters()  # the next summary counts everything booked from now on
        self.last_cycle = summary
        self.bus.publish(summary)
        if self.recorder:
            await self.recorder.flush()
        return summary

    def _new_counters(self) -> None:
        """Start counting for the next summary (every room counts into the same counters)."""
        counters = self.counters = CycleCounters()
        self.monitor.errors = counters.errors
        self.orders.counts = counters
        self.proposals.counts = counters

    async def tick(self) -> None:
        """Between cycles: quotes (stops may fire), control changes from the shell, proposal
        expiry; and news: a poll runs as its own job (urgent events analysed at once, the rest
        queued for the next cycle) whose ideas are acted on when they are ready."""
        now = self.clock.now()
        async with self._lock:
            await self._price_step(now)
            await self.proposals.expire(now)
        if self.intelligence is not None:
            fresh = self._news is None
            job = self._news_job(now, analyse_all=False)
            ideas = await self._ideas_when_ready(job, now, wait=fresh)
            if ideas:
                async with self._lock:
                    await self._act_on_ideas(ideas, now)
        if self.recorder:
            await self.recorder.flush()

    async def _price_step(self, now: datetime) -> None:
        """The priority lane's work (under the order path's lock): the shell's commands, quotes,
        and settling what they made the venue do (stops and targets fire here)."""
        await self._sync_control()
        try:
            async with asyncio.timeout(self.feed_timeout):
                quotes = await self.feed.quotes(now)
        except Exception as exc:
            quotes = []
            await self.monitor.failure("data", f"quotes failed: {_describe(exc)}")
        if quotes:
            self._apply_quotes(quotes, now)
            await self.settle(now)
            await self._release_protection(now)
        await self.reconciler.after_reconnect()  # a live venue that reconnected: drift?

    async def _release_protection(self, now: datetime) -> None:
        """Send, through the order path, the exits of the engine-held levels prices triggered,
        and book what they did."""
        if await self.protection.release(self.orders, now):
            await self.settle(now)

    async def react_to_events(self, events: Sequence[MarketEvent], now: datetime) -> None:
        """Analyse events now (high impact) and re-evaluate the symbols they concern."""
        if self.intelligence is None:
            return
        await self._act_on_ideas(await self._analyze(events, now), now)

    async def _market_step(self, now: datetime) -> None:
        try:
            async with asyncio.timeout(self.feed_timeout):
                bars = await self.feed.next_bars(now)
                if bars and self.backfill is not None:
                    bars, gaps = await self.backfill.complete(self.feed, bars)
                    for gap in gaps:
                        self.monitor.error("data", gap)
                quotes = await self.feed.quotes(now)
        except Exception as exc:
            await self.monitor.failure("data", f"market data failed: {_describe(exc)}")
            self.guard.check(now)  # a silent or failing source makes its symbols stale
            return
        self.monitor.success("data")
        if bars and (accepted := self._apply_bars(bars)):  # a rejected bad tick is not shown
            self.bus.publish(BarsReceived(ts=now, bars=accepted, simulated=self.simulated))
        if quotes:
            self._apply_quotes(quotes, now)
        self.guard.check(now)  # after the new data: a symbol that came back is fresh at once

    def _apply_bars(self, bars: Sequence[Bar]) -> tuple[Bar, ...]:
        """Take the good bars of the universe (bad ticks rejected); the ones taken."""
        venue = self._venue
        book = self.book
        cap = max(self.settings.engine.warmup_bars, self.ensemble.history_bars()) + _HISTORY_CAP_EXTRA
        by_symbol: dict[str, list[Bar]] = {}
        taken: list[Bar] = []
        guard, now = self.guard, self.clock.now()
        protected = bool(self.protection.levels)
        for bar in bars:
            if bar.symbol in self.instruments:
                why = guard.bar_problem(bar)
                if why is not None:
                    guard.reject("bar", bar.symbol, why)
                    continue
                guard.seen(bar.symbol, now)
                taken.append(bar)
                by_symbol.setdefault(bar.symbol, []).append(bar)
                if venue is not None:
                    venue.on_bar(bar)
                if protected:
                    self.protection.on_bar(bar)
                self.prices[bar.symbol] = bar.close
                book.stale = True
        for symbol, new in by_symbol.items():
            fresh = BarArrays.from_bars(symbol, new)
            old = self.market.get(symbol)
            merged = BarArrays.concat(old, fresh) if old is not None else fresh
            self.market[symbol] = merged.tail(cap)
        return tuple(taken)

    def _apply_quotes(self, quotes: Sequence[Quote], now: datetime) -> None:
        venue = self._venue
        accepted: list[Quote] = []
        for quote in quotes:
            if quote.symbol not in self.instruments:
                continue
            why = self.guard.quote_problem(quote)
            if why is not None:
                self.guard.reject("quote", quote.symbol, why)
                continue
            self.guard.seen(quote.symbol, now)
            self.quotes[quote.symbol] = quote
            self.prices[quote.symbol] = quote.last
            self.book.stale = True
            if venue is not None:
                venue.on_quote(quote)
            self.protection.on_quote(quote)
            accepted.append(quote)
        if accepted:  # a rejected bad tick is not shown
            self.bus.publish(QuotesUpdated(ts=now, quotes=tuple(accepted), simulated=self.simulated))

    def _attach(self, broker: Broker) -> None:
        """Use `broker`; a simulated venue (the paper broker) is also shown every bar and quote."""
        self.broker = broker
        self._venue = broker if isinstance(broker, SimulatedVenue) else None

    # ------------------------------------------------------------------ intelligence

    async def _intelligence_step(self, now: datetime) -> dict[str, list[TradeIdea]]:
        """The cycle's news and analysis, run as its own job: a job started now gets up to
        `engine.cycle_seconds` (prices, stops and control keep running meanwhile); a job still
        running from earlier is not waited on. Ideas not ready now are acted on when they are."""
        if self.intelligence is None:
            return {}
        fresh = self._news is None
        return await self._ideas_when_ready(self._news_job(now, analyse_all=True), now, wait=fresh)

    def _news_job(self, now: datetime, *, analyse_all: bool) -> asyncio.Task[_NewsResult]:
        """The news job in flight, or a new one: poll the due sources, then analyse the queued
        and new events (`analyse_all`) or only the urgent ones (the rest wait for a cycle)."""
        if self._news is None:
            queued, self._queued_events = self._queued_events, []
            self._news = asyncio.create_task(self._news_work(now, queued, analyse_all),
                                             name="robo-tui news and analysts")
        return self._news

    async def _news_work(self, now: datetime, queued: list[MarketEvent],
                         analyse_all: bool) -> _NewsResult:
        stage = self.intelligence
        assert stage is not None
        try:
            events = list(await stage.poll(now))
        except Exception as exc:
            self.monitor.error("news", f"news poll failed: {_describe(exc)}")
            events = []
        self.counters.news += len(events)
        if analyse_all:
            now_events, later = queued + events, []
        else:
            now_events = [e for e in events if stage.is_urgent(e)]
            later = queued + [e for e in events if not stage.is_urgent(e)]
        ideas = await self._analyze(now_events, now) if now_events else {}
        return ideas, later

    async def _ideas_when_ready(self, job: asyncio.Task[_NewsResult], now: datetime, *,
                                wait: bool) -> dict[str, list[TradeIdea]]:
        """The job's ideas if it is done (after waiting up to `engine.cycle_seconds` when `wait`,
        ticking prices and control meanwhile); {} while it still runs."""
        if wait:
            deadline = time.monotonic() + self.settings.engine.cycle_seconds
            step = min(self.settings.feeds.quote_seconds, self.settings.engine.cycle_seconds)
            while not job.done() and (left := deadline - time.monotonic()) > 0:
                await asyncio.wait({job}, timeout=min(step, left))
                if not job.done():
                    async with self._lock:
                        await self._price_step(self.clock.now())
        if not job.done():
            return {}
        self._news = None
        try:
            ideas, later = job.result()
        except Exception as exc:
            self.monitor.error("model", f"analysis failed: {_describe(exc)}")
            return {}
        self._queued_events = later + self._queued_events
        return ideas

    async def _act_on_ideas(self, ideas: Mapping[str, Sequence[TradeIdea]], now: datetime) -> None:
        """Re-evaluate the symbols fresh ideas concern (or record them as no trade while halted)."""
        if self.risk.state is TradingState.HALTED:
            await self.proposals.note_halted(ideas)
            return
        for symbol, symbol_ideas in ideas.items():
            await self._evaluate_symbol(symbol, now, symbol_ideas)
        await self.settle(now)

    async def _cancel_news(self) -> None:
        job, self._news = self._news, None
        if job is not None and not job.done():
            job.cancel()
            await asyncio.gather(job, return_exceptions=True)

    async def _analyze(self, events: Sequence[MarketEvent], now: datetime) -> dict[str, list[TradeIdea]]:
        assert self.intelligence is not None
        try:
            ideas = await self.intelligence.analyze(events, now, self.market)
        except Exception as exc:
            await self.monitor.failure("model", f"analyst failed: {exc}")
            return {}
        self.monitor.success("model")
        by_symbol: dict[str, list[TradeIdea]] = {}
        for idea in ideas:
            if idea.symbol not in self.instruments:  # the stage validates; the engine re-checks
                continue
            self._ideas.setdefault(idea.symbol, []).append(idea)
            by_symbol.setdefault(idea.symbol, []).append(idea)
            self.counters.ideas += 1
        return by_symbol

    def _expire_ideas(self, now: datetime) -> None:
        ttl = timedelta(seconds=self.settings.ensemble.idea_ttl_seconds)
        for symbol in list(self._ideas):
            live = [i for i in self._ideas[symbol] if now - i.ts <= ttl]
            if live:
                self._ideas[symbol] = live
            else:
                del self._ideas[symbol]

    def _idea_signals(self, symbol: str) -> list[Signal]:
        return [idea_signal(i) for i in self._ideas.get(symbol, ())]

    # ------------------------------------------------------------------ decisions

    async def _evaluate_symbol(self, symbol: str, now: datetime,
                               new_ideas: Sequence[TradeIdea] = ()) -> None:
        bars = self.market.get(symbol)
        if bars is None or len(bars) == 0 or symbol not in self.prices:
            return
        try:
            decision = self.ensemble.decide(symbol, bars, now, self._idea_signals(symbol))
        except Exception as exc:
            self.monitor.error("strategy", f"{symbol}: {exc}")
            return
        self.bus.publish(SignalsComputed(ts=now, decision=decision))
        target = _direction_value(decision.direction)
        previous = self._targets.get(symbol)
        if target is None:
            await self.proposals.note_ideas(new_ideas, "no trade: no voter has an opinion", decision)
            return
        self._targets[symbol] = target
        if previous is not None and previous == target:
            await self.proposals.note_ideas(new_ideas, "no trade: ensemble direction unchanged", decision)
            return
        proposal = self.build_proposal(symbol, int(target), decision, now)
        if proposal is None:
            await self.proposals.note_ideas(new_ideas, "no trade: position already matches", decision)
            return
        await self.propose(proposal)

    # ------------------------------------------------------------------ proposals
    # The proposals room's public surface, as the console, the shell and the driver call it.

    # `wanted_change`, `build_proposal` and `propose` are the room's own methods, bound in
    # `__init__` (the backtest driver calls them per decision).

    def proposal_intent(self, proposal: Proposal) -> OrderIntent:
        """The one order a proposal becomes."""
        return self.proposals.proposal_intent(proposal)

    def precheck(self, proposal: Proposal) -> RiskVerdict:
        """What the gate would say about a proposal's order now."""
        return self.proposals.precheck(proposal)

    def _can_short(self) -> bool:
        return self.settings.risk.allow_short and self.broker.supports_short

    # ------------------------------------------------------------------ the one order path

    def risk_context(self, now: datetime) -> RiskContext:
        """Everything the risk gate judges an order against, as of now."""
        broker, book = self.broker, self.book
        return RiskContext(now, book.account, self.mode, book.day_start_equity, book.peak_equity,
                           self._returns, tuple(self.orders.open_orders.values()),
                           broker.supports_short, broker.supports_fractional,
                           blocked=with_leaving(self.reconciler.blocked(
                               self.guard.blocked(now, self.orders.disagree), self.symbols),
                               self.leaving))

    async def _adopt_held(self) -> None:
        """A position held in a symbol today's discovered universe left out (it dropped out
        while no engine ran) stays followed (history, prices, its stop, exits) with entries
        denied until it is flat. Discovery sources list crypto pairs: it is followed as one."""
        orphans = [s for s, p in self.account.positions.items()
                   if p.quantity != 0 and s not in self.instruments]
        if not orphans:
            return
        universe = list(self.instruments.values())
        for symbol in orphans:
            self.instruments[symbol] = Instrument(symbol, AssetClass.CRYPTO, "Crypto",
                                                  symbol.split("-")[0])
        await self.set_universe(universe)  # followed and held: they are leaving
        self.sizer.increments.update(await load_increments(self.broker, orphans))
        await self._warm_up(orphans, max(self.settings.engine.warmup_bars,
                                         self.ensemble.history_bars()))

    async def set_universe(self, instruments: Sequence[Instrument]) -> UniverseChange:
        """Trade `instruments` from the next cycle (the daily universe refresh). New symbols
        get their warm-up history, the venue's increments and a place on the gate's allow-list
        and in the strategies; a symbol that dropped out leaves at once when nothing is held in
        it, else it stays followed (prices, stops, targets, exits) with entries blocked
        (`left_universe`) until it is flat and a later refresh removes it."""
        async with self._lock:
            wanted = {i.symbol: i for i in instruments}
            held = {s for s, p in self.account.positions.items() if p.quantity != 0}
            held |= {o.symbol for o in self.orders.open_orders.values()}
            held |= set(self.protection.levels)
            change = plan(self.instruments, instruments, held)
            followed = wanted | {s: self.instruments[s] for s in change.leaving}
            self.instruments.clear()  # shared with the guard, protection and proposals rooms
            self.instruments.update(followed)
            self.symbols[:] = list(followed)
            self.leaving = {s: leaving_sentence(s) for s in change.leaving}
            self.risk.update_instruments(followed)  # leaving ones known: their exits pass
            if isinstance(self.feed, FollowsSymbols):
                self.feed.set_symbols(self.symbols)
            if isinstance(self.broker, KnowsInstruments):
                self.broker.set_instruments(followed)
            if self.backfill is not None:
                self.backfill.order = {s: n for n, s in enumerate(self.symbols)}
            for symbol in change.removed:
                self.market.pop(symbol, None)
                self._targets.pop(symbol, None)
                self._ideas.pop(symbol, None)
            if change.added:
                self.sizer.increments.update(await load_increments(self.broker, change.added))
                await self._warm_up(change.added, max(self.settings.engine.warmup_bars,
                                                      self.ensemble.history_bars()))
        await self.store.audit("universe.set", {"added": list(change.added),
                                                "removed": list(change.removed),
                                                "leaving": list(change.leaving),
                                                "universe": list(change.universe)}, "schedule")
        return change

    async def submit(self, command: SubmitOrder) -> SubmitResult:
        """The ONLY way an order reaches a broker: the risk gate judges it, a denial is an event,
        an allowed order is recorded as intent before the broker is called."""
        async with self._lock:
            result = await self.orders.submit(command)
            await self.settle(self.clock.now())
            return result

    async def _risk_changed(self, old: TradingState, new: TradingState, reason: str) -> None:
        """Settling moved the risk state (a limit was reached or cleared)."""
        await self._on_state_change(old, new, reason, "risk")

    async def _persist(self, now: datetime) -> None:
        await self.store.save_positions(self.account)
        await self.store.record_market_snapshot(now, dict(self.prices), self.simulated)
        peak = self.peak_equity
        await self._update_control(lambda c: replace(c, peak_equity=peak), "engine")
        self.equity_history.append((now, self.account.equity))
        del self.equity_history[:-2000]
        self.bus.publish(PortfolioUpdated(
            ts=now, account=self.account, day_pnl=self.day_pnl,
            day_pnl_pct=self.day_pnl / self.book.day_open_equity if self.book.day_open_equity else 0.0,
            peak_equity=self.peak_equity,
        ))

    # ------------------------------------------------------------------ kill switch and state

    async def halt(self, reason: str, *, by: str) -> None:
        """Kill switch: HALTED at once, latched in the store, open orders cancelled."""
        old = self.risk.state
        self.risk.halt(reason)
        await self._on_state_change(old, TradingState.HALTED, reason, by)

    async def resume(self, *, by: str) -> None:
        """Leave HALTED (the only way out); the caller has confirmed with the human. Losses taken
        so far are accepted: the day-loss and drawdown limits count from equity now."""
        await self._leave_halt("resumed", by)
        state = self.risk.state
        await self._update_control(
            lambda c: replace(c, trading_state=state, halt_reason="", halt_codes=()), by)

    async def _leave_halt(self, reason: str, by: str) -> None:
        old = self.risk.state
        self.risk.resume()
        await self._rebase_risk(by)
        self.bus.publish(TradingStateChanged(ts=self.clock.now(), old=old, new=self.risk.state,
                                             reason=reason, by=by))

    async def _rebase_risk(self, by: str) -> None:
        """Measure the day-loss and drawdown limits from equity now (after a resume), durably, so
        a restart does not halt again on losses the trader already accepted."""
        self.book.stale = True
        await self.orders.refresh_account()
        equity = self.account.equity
        self.book.peak_equity = equity
        await self.orders.start_day(self.clock.now().date().isoformat(), equity, by)
        await self._update_control(lambda c: replace(c, peak_equity=equity, risk_rebase=False), by)

    async def _on_state_change(self, old: TradingState, new: TradingState, reason: str, by: str,
                               *, persist: bool = True) -> None:
        """Announce a state change; entering HALTED is latched in the store (unless it came
        from the store) and cancels open orders."""
        if new is TradingState.HALTED and persist:
            codes = self.risk.state_codes
            await self._update_control(lambda c: replace(
                c, trading_state=TradingState.HALTED, halt_reason=reason, halt_codes=codes), by)
        self.bus.publish(TradingStateChanged(ts=self.clock.now(), old=old, new=new, reason=reason, by=by))
        if new is TradingState.HALTED:
            await self.cancel_all(by=by)

    async def _tripped(self, old: TradingState, reason: str) -> None:
        """The circuit breaker halted trading: latched and announced like the kill switch."""
        await self._on_state_change(old, TradingState.HALTED, reason, "risk")

    async def cancel_all(self, *, by: str) -> None:
        """Cancel every open order at the broker (the kill switch does this)."""
        try:
            acks = await self.broker.cancel_all()
        except Exception as exc:
            self.monitor.error("broker", f"cancel all failed: {exc}")
            return
        for ack in acks:
            order = self.orders.ended(ack.client_order_id)
            await self.store.update_order(ack.client_order_id, ack.status, ack.broker_order_id,
                                          ack.message or f"cancelled by {by}")
            self.bus.publish(OrderStatusChanged(
                ts=self.clock.now(), client_order_id=ack.client_order_id,
                symbol=order.symbol if order else "", status=ack.status.value,
                message=ack.message or f"cancelled by {by}"))

    async def cancel_order(self, client_order_id: str, *, by: str) -> BrokerAck | None:
        """Cancel one working order at the broker (a cancel is never an order: no gate); None
        when no such order is working."""
        async with self._lock:
            return await self._cancel_order(client_order_id, by)

    async def _cancel_order(self, client_order_id: str, by: str) -> BrokerAck | None:
        order = self.orders.open_orders.get(client_order_id)
        if order is None:
            return None
        try:
            ack = await self.broker.cancel(client_order_id)
        except Exception as exc:
            self.monitor.error("broker", f"cancel {client_order_id} failed: {exc}")
            return None
        message = ack.message or f"cancelled by {by}"
        if not ack.status.is_open:
            self.orders.ended(client_order_id)
        await self.store.update_order(client_order_id, ack.status, ack.broker_order_id, message)
        self.bus.publish(OrderStatusChanged(ts=self.clock.now(), client_order_id=client_order_id,
                                            symbol=order.symbol, status=ack.status.value,
                                            message=message))
        return ack

    async def _sync_control(self) -> None:
        """Carry out the shell's journaled commands (`robo-tui halt`, `resume`, `proposals
        approve|reject`), and pick up a kill switch another process wrote into the control state."""
        control = await self.control.written_elsewhere()
        if control is not None:
            state = control.trading_state
            if state is TradingState.HALTED and self.risk.state is not TradingState.HALTED:
                reason = control.halt_reason or "halted from the shell"
                old = self.risk.state
                self.risk.halt(reason)
                await self._on_state_change(old, TradingState.HALTED, reason, "cli", persist=False)
            elif state is not TradingState.HALTED and self.risk.state is TradingState.HALTED:
                await self._leave_halt("resumed from the shell", "cli")
        await self._consume_commands()

    async def _consume_commands(self) -> None:
        """Each journaled command once, oldest first (marked consumed before it runs, so an
        approval can never be submitted twice)."""
        while (command := await self.control.next_command()) is not None:
            await self._carry_out(command)

    async def _carry_out(self, command: JournaledCommand) -> None:
        by, payload = command.by, command.payload
        if command.kind == "halt":
            if self.risk.state is not TradingState.HALTED:
                reason = payload.get("reason") or "halted from the shell"
                old = self.risk.state
                self.risk.halt(reason)
                await self._on_state_change(old, TradingState.HALTED, reason, by)
        elif command.kind == "resume":
            if self.risk.state is TradingState.HALTED:
                await self._leave_halt("resumed from the shell", by)
                state = self.risk.state
                await self._update_control(
                    lambda c: replace(c, trading_state=state, halt_reason="", halt_codes=()), by)
        elif command.kind == "cancel":
            await self._cancel_order(payload.get("order_id", ""), by)
        elif command.kind == "drift_accept":
            await self.reconciler.accept(by)
        elif command.kind == "flatten":
            await self._flatten_from_shell(payload.get("symbol", ""), by)
        elif command.kind == "approve":
            if payload.get("proposal_id", "") in self.pending:
                await self.proposals.approve(payload["proposal_id"], by=by, source="cli")
        elif payload.get("proposal_id", "") in self.pending:
            await self.proposals.reject(payload["proposal_id"], by=by,
                                        reason=payload.get("reason", ""))

    # ------------------------------------------------------------------ human actions

    async def approve(self, proposal_id: str, *, by: str, source: OrderSource = "ui") -> SubmitResult:
        """Approve a pending proposal: its order goes through the order path and the gate
        again, now."""
        async with self._lock:
            return await self.proposals.approve(proposal_id, by=by, source=source)

    async def reject(self, proposal_id: str, *, by: str, reason: str = "") -> None:
        """Reject a pending proposal (recorded with the reason)."""
        async with self._lock:
            await self.proposals.reject(proposal_id, by=by, reason=reason)

    async def manual_order(self, intent: OrderIntent, *, source: OrderSource = "ui") -> SubmitResult:
        """A trader's own order: the same `submit`, the same gate."""
        return await self.submit(SubmitOrder(intent, source))

    async def flatten(self, symbol: str, *, by: str, source: OrderSource = "ui") -> SubmitResult | None:
        """Close the whole position in `symbol` with a reduce-only market order."""
        held = self.account.position_qty(symbol)
        if abs(held) < 1e-12:
            return None
        intent = OrderIntent(symbol, Side.SELL if held > 0 else Side.BUY, abs(held),
                             reduce_only=True, reason=f"flatten by {by}")
        return await self.submit(SubmitOrder(intent, source))

    async def _flatten_from_shell(self, symbol: str, by: str) -> list[SubmitResult]:
        """`robo-tui flatten`: reduce-only market exits through the one order path (allowed
        while HALTED, like a trader's exit from the console); "*" closes every position. Runs
        inside the control lane, which already holds the order path's lock."""
        await self.orders.refresh_account()
        symbols = list(self.account.positions) if symbol == "*" else [symbol]
        results = []
        for name in symbols:
            held = self.account.position_qty(name)
            if abs(held) < 1e-12:
                continue
            intent = OrderIntent(name, Side.SELL if held > 0 else Side.BUY, abs(held),
                                 reduce_only=True, reason=f"flatten by {by}")
            results.append(await self.orders.submit(SubmitOrder(intent, "cli")))
        return results

    async def set_trailing(self, symbol: str, pct: float, *, by: str) -> ProtectiveLevel:
        """Give the position held in `symbol` a trailing stop `pct` (a fraction in (0, 0.5))
        behind its best price from now, held by robo-tui (never a venue order) and exiting
        through the risk gate; persisted at once and recorded in the audit log with `by`.
        Raises `KeyError` when nothing is held in `symbol`, `ValueError` for a bad percent."""
        if not (0 < pct < 0.5):
            raise ValueError(f"a trailing stop takes a percent in (0, 50), got {pct * 100:g}")
        async with self._lock:
            level = await self.protection.set_trailing(symbol, pct=pct)
            await self.store.audit("protection.trailing", {
                "symbol": symbol, "trail_pct": pct, "extreme": level.extreme,
                "stop": level.effective_stop, "qty": level.qty}, by)
        return level

    async def flatten_all(self, *, by: str, source: OrderSource = "ui") -> list[SubmitResult]:
        """Close every position."""
        results = []
        for symbol in list(self.account.positions):
            result = await self.flatten(symbol, by=by, source=source)
            if result is not None:
                results.append(result)
        return results

    async def set_mode(self, mode: Mode, *, by: str, confirm_live: bool = False) -> None:
        """Switch mode. LIVE needs `engine.live_enabled`, a live broker and explicit confirmation;
        the message of `ModeChangeRefused` says exactly what is missing."""
        if mode is self.mode:
            return
        if mode is Mode.SHADOW or (self.mode is Mode.SHADOW and mode is not Mode.PAPER):
            raise ModeChangeRefused(
                "SHADOW starts and ends only from the command line (robo-tui --mode shadow, "
                "with a live broker configured); from SHADOW only PAPER is a switch away"
                if mode is Mode.SHADOW else
                f"{mode.value.upper()} refused: leave SHADOW for PAPER, or restart with --mode")
        if mode is Mode.LIVE:
            missing = live_requirements(self.settings, confirm_live)
            if not missing and self.live_gate is not None and (why := self.live_gate()):
                missing = [why]
            if missing:
                raise ModeChangeRefused("LIVE refused: " + "; ".join(missing))
        async with self._lock:
            needs_paper = mode is Mode.PAPER or (mode is not Mode.LIVE and self.settings.broker.kind == "paper")
            if self._broker_factory is not None and (mode is Mode.LIVE or needs_paper) and \
                    (mode is Mode.LIVE) != self.broker.is_live:
                await self.cancel_all(by=by)
                old_broker = self.broker
                new_broker = self._broker_factory(mode)
                await self.broker.close()  # one API session at a time (IB refuses a second client id)
                try:
                    await new_broker.connect()
                except Exception as exc:
                    await old_broker.connect()
                    raise ModeChangeRefused(f"{mode.value.upper()} refused: {new_broker.name} "
                                            f"unreachable: {exc}") from exc
                self._attach(new_broker)
                self.orders.broker = new_broker
                self.book.stale = True
                await self.orders.refresh_account()
            old, self.mode = self.mode, mode
            await self._update_control(lambda c: replace(c, mode=mode), by)
            self.bus.publish(ModeChanged(ts=self.clock.now(), old=old, new=mode, by=by))

    async def set_strategy(self, name: str, *, enabled: bool | None = None,
                           weight: float | None = None, by: str) -> None:
        """Switch a strategy on/off or reweight it (recorded in the audit log)."""
        if enabled is not None:
            self.ensemble.set_enabled(name, enabled)
        if weight is not None:
            self.ensemble.set_weight(name, weight)
        slot = next(s for s in self.ensemble.slots() if s.name == name)
        self._targets.clear()  # the ensemble changed: re-evaluate every symbol next cycle
        self.bus.publish(StrategyChanged(ts=self.clock.now(), name=name, enabled=slot.enabled,
                                         weight=slot.weight, by=by))

    async def select_analyst(self, provider: str, model: str | None, *, by: str) -> None:
        """Switch the active analyst provider/model (recorded)."""
        if self.intelligence is None:
            raise ValueError("no intelligence layer is configured")
        await self.intelligence.select(provider, model)
        active = self.intelligence.catalogue().get("active", {})
        self.bus.publish(AnalystSelected(ts=self.clock.now(), provider=str(active.get("provider", provider)),
                                         model=str(active.get("model", model or "")), by=by))

    async def refresh_analysts(self) -> Mapping[str, Any]:
        """Re-discover the analyst providers and models available now (the console does this in
        a worker after start; it never blocks trading)."""
        if self.intelligence is None:
            return self.analyst_catalogue()
        try:
            return await self.intelligence.refresh_catalogue()
        except Exception as exc:
            self.monitor.error("model", f"model discovery failed: {exc}")
            return self.analyst_catalogue()

    def analyst_catalogue(self) -> Mapping[str, Any]:
        """Providers, models, availability, active choice and telemetry for the model selector."""
        if self.intelligence is None:
            return {"active": {"provider": "none", "model": ""}, "providers": []}
        return self.intelligence.catalogue()

    def pause(self, paused: bool) -> None:
        """Pause or resume the cycle without touching the risk state (quotes and stops go on)."""
        self.paused = paused
        self.bus.publish(PauseChanged(ts=self.clock.now(), paused=paused, by="ui"))


def live_requirements(settings: Settings, confirm_live: bool) -> list[str]:
    """What is missing before LIVE may start (empty when nothing is)."""
    missing = []
    if not settings.engine.live_enabled:
        missing.append("set engine.live_enabled = true in the config")
    if settings.broker.kind == "paper":
        real = ", ".join(name for name in BROKERS.names() if name != "paper")
        missing.append(f"set broker.kind to one of {real} (paper cannot trade live)")
    if not confirm_live:
        missing.append("pass --confirm-live on the command line (or type the confirmation phrase)")
    if settings.feeds.kind in ("sim", "replay"):
        missing.append(f"set feeds.kind to a real market-data source (feeds.kind = "
                       f"{settings.feeds.kind!r} is {'simulated' if settings.feeds.kind == 'sim' else 'replayed'} data)")
    if settings.news.sample and not any(s.enabled for s in settings.news.sources):
        missing.append("set news.sample = false (the bundled sample news is not real news)")
    return missing


def _describe(exc: BaseException) -> str:
    """An error for a message: a bare timeout says so (its own text is empty)."""
    if isinstance(exc, TimeoutError):
        return str(exc) or "timed out"
    return str(exc) or type(exc).__name__


def _direction_value(direction: Direction | None) -> float | None:
    if direction is None:
        return None
    return {Direction.LONG: 1.0, Direction.FLAT: 0.0, Direction.SHORT: -1.0}[direction]


def event_payload(event: Event) -> dict[str, Any]:
    """An event as JSON-able data with its type name (for `--json` and logs)."""
    data = to_jsonable(event)
    assert isinstance(data, dict)
    return {"type": type(event).__name__, **data}


__all__ = [
    "CycleCounters",
    "Engine",
    "IdSource",
    "LiveRefused",
    "ModeChangeRefused",
    "ProposalNotFound",
    "SubmitResult",
    "event_payload",
    "live_requirements",
]

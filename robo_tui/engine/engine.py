"""The engine: wires market data, intelligence, strategies, ensemble, sizing, the ONE risk gate and
the broker, and runs the cycle. `Engine.submit` is the only way an order reaches a broker.

Its rooms: the order path (`engine/orders.py`: judge, then execute; the only caller of
`Broker.submit`), the persisted control record and the shell's command journal
(`engine/control.py`), source health and the circuit breaker (`engine/health.py`). The backtest
driver steers it only through the replay-control methods below.

The same class runs live, paper, semi-auto and (through `robo_tui.engine.backtest`) backtests;
only the clock, the feed, the broker and the store it is given differ.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import math
import secrets
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

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
    OrderFilled,
    OrderStatusChanged,
    PortfolioUpdated,
    ProposalCreated,
    ProposalDecided,
    QuotesUpdated,
    SignalsComputed,
    StrategyChanged,
    TradingStateChanged,
)
from robo_tui.domain.market import Bar, BarArrays, FloatArray, Instrument, Quote
from robo_tui.domain.news import MarketEvent, TradeIdea
from robo_tui.domain.orders import (
    AccountSnapshot,
    Fill,
    Order,
    OrderIntent,
    OrderStatus,
    Side,
)
from robo_tui.domain.risk import Mode, RiskVerdict, TradingState
from robo_tui.domain.serialize import to_jsonable
from robo_tui.domain.signals import Direction, EnsembleDecision, Proposal, ProposalStatus, Signal
from robo_tui.engine.bus import EventBus
from robo_tui.engine.control import PersistedControl
from robo_tui.engine.ensemble import Ensemble, idea_signal
from robo_tui.engine.health import Health
from robo_tui.engine.ledger import ClosedTrade, Ledger
from robo_tui.engine.orders import OrderPath, SubmitResult
from robo_tui.engine.recorder import EventRecorder
from robo_tui.engine.risk import RiskContext, RiskGate
from robo_tui.engine.sizing import Sizer, SizeRequest, atr
from robo_tui.engine.strategies import build_strategies
from robo_tui.ports import Broker, Clock, IntelligenceStage, MarketFeed, SimulatedVenue, Store

log = logging.getLogger(__name__)

_HISTORY_CAP_EXTRA = 200


class ModeChangeRefused(Exception):
    """A mode switch was refused; the message says exactly what is missing."""


class ProposalNotFound(Exception):
    """No pending proposal has that id."""


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

    def __init__(
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
        self.ensemble = Ensemble(
            build_strategies(settings.strategies), settings.strategies, settings.ensemble
        )
        self.sizer = Sizer(settings.sizing, settings.risk)
        self.risk = RiskGate(settings.risk, self.instruments)
        self.ledger = Ledger()
        self.recorder = EventRecorder(self.bus, store) if record_events else None

        self.market: dict[str, BarArrays] = {}
        self._returns = _ReturnsView(self.market, settings.risk.correlation_window)
        self.prices: dict[str, float] = {}
        self.quotes: dict[str, Quote] = {}
        self.account = AccountSnapshot(clock.now(), settings.broker.starting_cash)
        self.day_start_equity = settings.broker.starting_cash
        self.peak_equity = settings.broker.starting_cash
        self._day: str = ""
        self.pending: dict[str, Proposal] = {}
        self.paused = False
        self.cycle = 0
        self.last_cycle: CycleCompleted | None = None
        self.equity_history: list[tuple[datetime, float]] = []
        self._targets: dict[str, float] = {}
        self._ideas: dict[str, list[TradeIdea]] = {}
        self._queued_events: list[MarketEvent] = []
        self._entry_votes: dict[str, tuple[Signal, ...]] = {}
        self.control = PersistedControl(store)
        self._protections_last: dict[str, Any] | None = None
        self._stale = True  # the account snapshot needs re-reading from the broker
        self._remark = False  # only the account snapshot's prices are out of date
        self._counters = CycleCounters()
        self.monitor = Health(bus=self.bus, clock=clock, risk=self.risk, on_trip=self._tripped)
        self.monitor.errors = self._counters.errors
        self.health: dict[str, tuple[bool, str]] = self.monitor.sources
        """Per source kind: (healthy, last failure message)."""
        self.new_id = IdSource()
        self.orders = OrderPath(broker=broker, risk=self.risk, store=store, bus=self.bus,
                                clock=clock, health=self.monitor, new_id=self.new_id,
                                counts=self._counters, account_changed=self._account_changed)
        self._started = False
        self._lock = asyncio.Lock()  # one order path at a time

    # ------------------------------------------------------------------ lifecycle

    @property
    def simulated(self) -> bool:
        """Whether prices come from the simulated market."""
        return self.feed.simulated

    @property
    def state(self) -> TradingState:
        """The risk gate's trading state."""
        return self.risk.state

    async def start(self) -> None:
        """Open the store, restore the kill switch and the paper account, reconcile orders,
        connect the feed and broker and load warm-up history. Connection errors propagate."""
        await self.store.open()
        await self._restore_control()
        await self.feed.connect()
        await self.broker.connect()
        await self._restore_broker()
        await self._reconcile_orders()
        await self._load_history()
        await self._restore_pending()
        await self._refresh_account()
        if self.control.state.risk_rebase:  # an earlier version's `robo-tui resume`
            await self._rebase_risk("cli")
        await self._consume_commands()  # shell actions taken while no engine ran
        self._started = True
        await self.store.audit("engine.start", {"mode": self.mode.value,
                                                "broker": self.broker.name,
                                                "feed": self.feed.name}, "engine")

    async def stop(self) -> None:
        """Flush the audit log and close every adapter; safe to call twice."""
        if self.recorder:
            await self.recorder.flush()
        for closer in (self._close_intelligence, self.feed.close, self.broker.close):
            try:
                await closer()
            except Exception as exc:  # closing must go on
                log.warning("close failed: %s", exc)
        if self._started:
            await self.store.audit("engine.stop", {"cycles": self.cycle}, "engine")
        if self.recorder:
            await self.recorder.flush()
            self.recorder.close()
        await self.store.close()
        self._started = False

    async def _close_intelligence(self) -> None:
        if self.intelligence is not None:
            await self.intelligence.close()

    async def _restore_control(self) -> None:
        control = await self.control.restore()
        if control.halted:
            self.risk.restore(TradingState.HALTED, control.halt_reason)
        if control.day_start_equity is not None:
            self._day, self.day_start_equity = control.day, control.day_start_equity
        if control.peak_equity is not None:
            self.peak_equity = control.peak_equity

    async def _update_control(self, change: Callable[[ControlState], ControlState], by: str) -> None:
        await self.control.update(change, by)

    async def _restore_broker(self) -> None:
        """A broker whose book lives in this process is rebuilt from the journal's fills and
        re-arms the persisted protections; the engine's ledger replays the same fills."""
        if not self.broker.restores_from_fills:
            return
        fills = await self.store.fills()
        self.broker.restore(fills, self.control.state.protections)
        for fill in fills:
            self.ledger.apply(fill)

    async def _reconcile_orders(self) -> None:
        """Orders left INTENT/SUBMITTED/UNKNOWN by a previous run: ask the broker what happened."""
        for order, status in await self.store.open_orders():
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

    async def _load_history(self) -> None:
        n = max(self.settings.engine.warmup_bars, self.ensemble.history_bars())
        for symbol in self.symbols:
            try:
                bars = await self.feed.history(symbol, n)
            except Exception as exc:
                self.monitor.error("market", f"history for {symbol} failed: {exc}")
                continue
            if len(bars):
                self.market[symbol] = bars
                self.prices[symbol] = float(bars.close[-1])
                self._stale = True
                if self._venue is not None:
                    self._venue.on_bar(bars.bar(-1))

    async def _restore_pending(self) -> None:
        for proposal, _ in await self.store.proposals(ProposalStatus.PENDING):
            self.pending[proposal.id] = proposal

    # ------------------------------------------------------------------ replay control
    # The backtest driver steers the engine through these (and only these), once per event:
    # renaming the engine's internals cannot break a replay.

    def replay_day(self, day: str, start_equity: float) -> None:
        """Start the trading day `day` (ISO date) with `start_equity` for the day-loss limit;
        nothing is persisted (a replay's control state is its own)."""
        self._day, self.day_start_equity = day, start_equity

    def replay_peak(self, peak: float) -> None:
        """Set the equity peak the drawdown limit counts from."""
        self.peak_equity = peak

    async def settle(self, now: datetime) -> None:
        """Book the venue's fills and order updates and re-evaluate the risk state now."""
        await self._settle(now)

    def target(self, symbol: str) -> float | None:
        """The ensemble direction last decided for `symbol` (+1, 0, -1), None if never."""
        return self._targets.get(symbol)

    def set_target(self, symbol: str, target: float) -> None:
        """Record the ensemble direction decided for `symbol` outside the cycle."""
        self._targets[symbol] = target

    def set_live_ideas(self, symbol: str, ideas: list[TradeIdea]) -> None:
        """The analyst ideas live for `symbol` now (a proposal cites the ideas that voted)."""
        self._ideas[symbol] = ideas

    @property
    def counters(self) -> CycleCounters:
        """What the current cycle (a whole replay is one) has done so far."""
        return self._counters

    # ------------------------------------------------------------------ the cycle

    async def run(self, *, cycles: int | None = None, stop: asyncio.Event | None = None,
                  on_cycle: Callable[[CycleCompleted], None] | None = None) -> None:
        """Run cycles every `engine.cycle_seconds`, ticking quotes, news and control between them,
        until `cycles` have run or `stop` is set."""
        stop = stop or asyncio.Event()
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

    async def run_cycle(self) -> CycleCompleted:
        """One pass of the daily pipeline: market data → news → analysts → strategies → ensemble →
        proposals → risk gate → execution → persist → summary."""
        started = time.perf_counter()
        self.cycle += 1
        self._counters = CycleCounters()
        self.monitor.errors = self._counters.errors
        self.orders.counts = self._counters
        now = self.clock.now()
        async with self._lock:
            await self._sync_control()
            await self._market_step(now)
            await self._settle(now)
            ideas = await self._intelligence_step(now)
            self._expire_ideas(now)
            if self.risk.state is not TradingState.HALTED:
                for symbol in self.symbols:
                    await self._evaluate_symbol(symbol, now, ideas.get(symbol, ()))
            else:
                await self._note_halted(ideas)
            await self._expire_proposals(now)
            await self._settle(now)
            await self._persist(now)
        summary = CycleCompleted(
            ts=now, cycle=self.cycle, state=self.risk.state, mode=self.mode,
            equity=self.account.equity, cash=self.account.cash, day_pnl=self.day_pnl,
            proposals=self._counters.proposals, denied=self._counters.denied,
            orders=self._counters.orders, fills=self._counters.fills,
            positions=len(self.account.positions), ideas=self._counters.ideas,
            news=self._counters.news, duration_ms=(time.perf_counter() - started) * 1000,
            errors=tuple(self._counters.errors),
        )
        self.last_cycle = summary
        self.bus.publish(summary)
        if self.recorder:
            await self.recorder.flush()
        return summary

    async def tick(self) -> None:
        """Between cycles: quotes (stops may fire), urgent news, control changes from the shell,
        proposal expiry."""
        now = self.clock.now()
        async with self._lock:
            await self._sync_control()
            try:
                quotes = await self.feed.quotes(now)
            except Exception as exc:
                quotes = []
                await self.monitor.failure("data", f"quotes failed: {exc}")
            if quotes:
                self._apply_quotes(quotes, now)
                await self._settle(now)
            if self.intelligence is not None:
                try:
                    events = await self.intelligence.poll(now)
                except Exception as exc:
                    events = []
                    self.monitor.error("news", f"news poll failed: {exc}")
                self._counters.news += len(events)
                urgent = [e for e in events if self.intelligence.is_urgent(e)]
                self._queued_events.extend(e for e in events if not self.intelligence.is_urgent(e))
                if urgent:
                    await self.react_to_events(urgent, now)
            await self._expire_proposals(now)
        if self.recorder:
            await self.recorder.flush()

    async def react_to_events(self, events: Sequence[MarketEvent], now: datetime) -> None:
        """Analyse events now (high impact) and re-evaluate the symbols they concern."""
        if self.intelligence is None:
            return
        ideas = await self._analyze(events, now)
        if self.risk.state is TradingState.HALTED:
            await self._note_halted(ideas)
            return
        for symbol, symbol_ideas in ideas.items():
            await self._evaluate_symbol(symbol, now, symbol_ideas)
        await self._settle(now)

    async def _market_step(self, now: datetime) -> None:
        try:
            bars = await self.feed.next_bars(now)
            quotes = await self.feed.quotes(now)
        except Exception as exc:
            await self.monitor.failure("data", f"market data failed: {exc}")
            return
        self.monitor.success("data")
        if bars:
            self._apply_bars(bars)
            self.bus.publish(BarsReceived(ts=now, bars=tuple(bars), simulated=self.simulated))
        if quotes:
            self._apply_quotes(quotes, now)

    def _apply_bars(self, bars: Sequence[Bar]) -> None:
        venue = self._venue
        cap = max(self.settings.engine.warmup_bars, self.ensemble.history_bars()) + _HISTORY_CAP_EXTRA
        by_symbol: dict[str, list[Bar]] = {}
        for bar in bars:
            if bar.symbol in self.instruments:
                by_symbol.setdefault(bar.symbol, []).append(bar)
                if venue is not None:
                    venue.on_bar(bar)
                self.prices[bar.symbol] = bar.close
                self._stale = True
        for symbol, new in by_symbol.items():
            fresh = BarArrays.from_bars(symbol, new)
            old = self.market.get(symbol)
            merged = BarArrays.concat(old, fresh) if old is not None else fresh
            self.market[symbol] = merged.tail(cap)

    def _apply_quotes(self, quotes: Sequence[Quote], now: datetime) -> None:
        venue = self._venue
        for quote in quotes:
            if quote.symbol not in self.instruments:
                continue
            self.quotes[quote.symbol] = quote
            self.prices[quote.symbol] = quote.last
            self._stale = True
            if venue is not None:
                venue.on_quote(quote)
        self.bus.publish(QuotesUpdated(ts=now, quotes=tuple(quotes), simulated=self.simulated))

    def _attach(self, broker: Broker) -> None:
        """Use `broker`; a simulated venue (the paper broker) is also shown every bar and quote."""
        self.broker = broker
        self._venue = broker if isinstance(broker, SimulatedVenue) else None

    def _account_changed(self) -> None:
        """The broker's side may have changed: re-read the account before it is next used."""
        self._stale = True

    # ------------------------------------------------------------------ intelligence

    async def _intelligence_step(self, now: datetime) -> dict[str, list[TradeIdea]]:
        if self.intelligence is None:
            return {}
        try:
            events = list(await self.intelligence.poll(now))
        except Exception as exc:
            self.monitor.error("news", f"news poll failed: {exc}")
            events = []
        self._counters.news += len(events)
        events = self._queued_events + events
        self._queued_events = []
        return await self._analyze(events, now) if events else {}

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
            self._counters.ideas += 1
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
            await self._note_ideas(new_ideas, "no trade: no voter has an opinion", decision)
            return
        self._targets[symbol] = target
        if previous is not None and previous == target:
            await self._note_ideas(new_ideas, "no trade: ensemble direction unchanged", decision)
            return
        proposal = self.build_proposal(symbol, int(target), decision, now)
        if proposal is None:
            await self._note_ideas(new_ideas, "no trade: position already matches", decision)
            return
        await self.propose(proposal)

    async def _note_ideas(self, ideas: Sequence[TradeIdea], outcome: str,
                          decision: EnsembleDecision) -> None:
        for idea in ideas:
            await self.store.update_ai_decision(idea.id, {"outcome": outcome,
                                                          "ensemble_score": decision.score})

    async def _note_halted(self, ideas: Mapping[str, Sequence[TradeIdea]]) -> None:
        """Ideas made while HALTED: recorded as no trade (the ensemble and the gate never ran)."""
        for symbol_ideas in ideas.values():
            for idea in symbol_ideas:
                await self.store.update_ai_decision(idea.id, {"outcome": "no trade: trading is halted"})

    def wanted_change(self, symbol: str, desired: int) -> int | None:
        """The direction (+1, 0, -1) to move `symbol` to when the ensemble wants `desired`, or
        None when what is held already matches. No shorts where they are not allowed; while
        REDUCING a reversal becomes an exit."""
        held = self.account.position_qty(symbol)
        current = 0 if abs(held) < 1e-12 else (1 if held > 0 else -1)
        if desired < 0 and not self._can_short():
            desired = 0
        if self.risk.state is TradingState.REDUCING and current != 0 and desired != current:
            desired = 0  # only risk-reducing orders pass now: exit instead of reversing
        return None if desired == current else desired

    def build_proposal(self, symbol: str, desired: int, decision: EnsembleDecision,
                       now: datetime) -> Proposal | None:
        """Size a trade that moves `symbol` from what is held to `desired` (+1, 0, -1); None when
        nothing needs doing or nothing sensible can be sized."""
        wanted = self.wanted_change(symbol, desired)
        if wanted is None:
            return None
        desired = wanted
        held = self.account.position_qty(symbol)
        current = 0 if abs(held) < 1e-12 else (1 if held > 0 else -1)
        price = self.prices[symbol]
        rationale = _rationale(decision)
        ttl = self.settings.engine.proposal_ttl_seconds
        expires = now + timedelta(seconds=ttl) if self.mode is Mode.SEMI_AUTO else None
        idea_ids = tuple(i.id for i in self._ideas.get(symbol, ()))
        if desired == 0:
            side = Side.SELL if current > 0 else Side.BUY
            return Proposal(self.new_id("P"), now, symbol, side, abs(held), price, None, None,
                            decision.confidence, rationale, decision.votes, idea_ids,
                            reduce_only=True, expires_at=expires)
        side = Side.BUY if desired > 0 else Side.SELL
        inst = self.instruments[symbol]
        sizing = self.settings.sizing
        # a fixed tail keeps Wilder's ATR the same whatever history length a caller holds
        volatility = atr(self.market[symbol], sizing.atr_window, last=sizing.atr_window * 10) \
            if self.sizer.needs_atr else 0.0
        sized = self.sizer.size(SizeRequest(
            symbol=symbol, direction=desired, price=price,
            atr=volatility,
            confidence=decision.confidence, equity=self.account.equity,
            cash=self.account.cash + (held * price if current > 0 else 0.0),
            fractional=inst.fractional,
        ))
        if sized.quantity <= 0:
            return None
        stops = self.settings.sizing.attach_stops
        return Proposal(self.new_id("P"), now, symbol, side, sized.quantity, price,
                        sized.stop_loss if stops else None, sized.take_profit if stops else None,
                        decision.confidence, rationale, decision.votes, idea_ids,
                        close_quantity=abs(held) if current != 0 else 0.0, expires_at=expires)

    def _can_short(self) -> bool:
        return self.settings.risk.allow_short and self.broker.supports_short

    def proposal_intent(self, proposal: Proposal) -> OrderIntent:
        """The one order a proposal becomes; a reversal closes the opposite position and opens
        the new one in the same order."""
        return OrderIntent(
            proposal.symbol, proposal.side, proposal.close_quantity + proposal.quantity,
            stop_loss=proposal.stop_loss, take_profit=proposal.take_profit,
            reduce_only=proposal.reduce_only, confidence=proposal.confidence,
            reason=proposal.rationale[:500], proposal_id=proposal.id,
            equity_fraction=None if proposal.reduce_only else self.sizer.entry_equity_fraction,
        )

    def precheck(self, proposal: Proposal) -> RiskVerdict:
        """What the gate would say about a proposal's order now."""
        return self.risk.check(self.proposal_intent(proposal), self.risk_context(self.clock.now()))

    async def propose(self, proposal: Proposal) -> None:
        """Record a proposal. In semi-auto it waits for a human with the gate's pre-check;
        otherwise it goes through `submit` at once and the gate's verdict is its pre-check."""
        await self._refresh_account(proposal.ts)
        self._counters.proposals += 1
        if self.mode is Mode.SEMI_AUTO:
            precheck = self.precheck(proposal)
            await self._record_proposal(proposal, precheck)
            self.pending[proposal.id] = proposal
            return
        command = SubmitOrder(self.proposal_intent(proposal), "strategy")
        verdict = self.orders.judge(command, self.risk_context(proposal.ts))
        await self._record_proposal(proposal, verdict)  # the verdict is its pre-check
        result = await self.orders.execute(command, verdict, proposal.ts)
        await self._proposal_done(proposal, result, by="engine")

    async def _record_proposal(self, proposal: Proposal, precheck: RiskVerdict) -> None:
        await self.store.record_proposal(proposal, precheck)
        self.bus.publish(ProposalCreated(ts=proposal.ts, proposal=proposal, precheck=precheck))
        for idea_id in proposal.idea_ids:
            await self.store.update_ai_decision(idea_id, {"outcome": "proposal",
                                                          "proposal_id": proposal.id,
                                                          "precheck": list(precheck.codes)})

    async def _execute_proposal(self, proposal: Proposal, *, by: str, source: OrderSource) -> SubmitResult:
        """Submit an approved proposal: the gate judges it again, now."""
        result = await self._submit_locked(SubmitOrder(self.proposal_intent(proposal), source))
        await self._proposal_done(proposal, result, by=by)
        return result

    async def _proposal_done(self, proposal: Proposal, result: SubmitResult, *, by: str) -> None:
        status = ProposalStatus.SUBMITTED if result.sent else ProposalStatus.DENIED
        reason = "; ".join(r.message for r in result.verdict.reasons)
        await self.store.update_proposal(proposal.id, status, by, reason)
        if result.sent:
            self._entry_votes[proposal.symbol] = proposal.votes
        for idea_id in proposal.idea_ids:
            await self.store.update_ai_decision(idea_id, {"outcome": status.value,
                                                          "proposal_id": proposal.id,
                                                          "verdict": list(result.verdict.codes)})

    # ------------------------------------------------------------------ the one order path

    def risk_context(self, now: datetime) -> RiskContext:
        """Everything the risk gate judges an order against, as of now."""
        broker = self.broker
        return RiskContext(now, self.account, self.mode, self.day_start_equity, self.peak_equity,
                           self._returns, tuple(self.orders.open_orders.values()),
                           broker.supports_short, broker.supports_fractional)

    async def submit(self, command: SubmitOrder) -> SubmitResult:
        """The ONLY way an order reaches a broker: the risk gate judges it, a denial is an event,
        an allowed order is recorded as intent before the broker is called."""
        async with self._lock:
            result = await self._submit_locked(command)
            await self._settle(self.clock.now())
            return result

    async def _submit_locked(self, command: SubmitOrder) -> SubmitResult:
        now = self.clock.now()
        await self._refresh_account(now)
        return await self.orders.submit(command, self.risk_context(now))

    async def _save_protections(self) -> None:
        """Persist the broker's stop/target per symbol (a simulated venue re-arms them at restart)."""
        if not self.broker.restores_from_fills:
            return  # the venue holds its protections itself
        current = self.broker.protections()
        if current != self._protections_last:
            self._protections_last = current
            await self._update_control(lambda c: replace(c, protections=current), "engine")

    async def _settle(self, now: datetime) -> None:
        """Book fills, update the account and the risk state."""
        try:
            fills = await self.broker.poll_fills()
        except Exception as exc:
            fills = []
            await self.monitor.failure("broker", f"fills poll failed: {exc}")
        for fill in fills:
            await self._book_fill(fill)
        try:
            updates = await self.broker.poll_order_updates()
        except Exception as exc:
            updates = []
            await self.monitor.failure("broker", f"order updates poll failed: {exc}")
        for ack in updates:
            self._stale = True
            order = self.orders.ended(ack.client_order_id)
            await self.store.update_order(ack.client_order_id, ack.status, ack.broker_order_id, ack.message)
            self.bus.publish(OrderStatusChanged(ts=now, client_order_id=ack.client_order_id,
                                                symbol=order.symbol if order else "",
                                                status=ack.status.value, message=ack.message))
        if fills or updates:
            await self._save_protections()
        if not (self._stale or self._remark):
            return
        await self._refresh_account(now)
        old = self.risk.state
        new = self.risk.evaluate(self.risk_context(now))
        if new is not old:
            await self._on_state_change(old, new, self.risk.state_reason or "risk limits", "risk")

    async def _book_fill(self, fill: Fill) -> None:
        self._stale = True
        await self.store.record_fill(fill)
        self._counters.fills += 1
        self.bus.publish(OrderFilled(ts=fill.ts, fill=fill))
        if self.orders.filled(fill):
            await self.store.update_order(fill.client_order_id, OrderStatus.FILLED, None, "filled")
        for trade in self.ledger.apply(fill):
            await self._on_trade_closed(trade)

    async def _on_trade_closed(self, trade: ClosedTrade) -> None:
        self.risk.record_exit(trade.symbol, trade.exit_time, trade.pnl)
        self.sizer.record_trade(trade.pnl)
        votes = self._entry_votes.get(trade.symbol, ())
        self.ensemble.record_outcome(trade.symbol, votes, trade.pnl, trade.pnl > 0)
        if self.ledger.position(trade.symbol) == 0:
            self._entry_votes.pop(trade.symbol, None)
        await self.store.record_trade_outcome({
            "trade": trade, "return_pct": trade.return_pct, "voters": [v.voter for v in votes],
        })

    def mark_prices(self, prices: Mapping[str, float]) -> None:
        """New last prices that change nothing at the broker (the backtest driver marks its bars
        this way; whatever they make the venue do arrives as fills, which re-read the account)."""
        self.prices.update(prices)
        self._remark = True

    async def _refresh_account(self, now: datetime | None = None) -> None:
        """Re-read cash and positions from the broker and re-mark them when the broker's side may
        have changed; only re-mark them when just the prices did."""
        if not (self._stale or self._remark):
            return
        now = now or self.clock.now()
        if self._stale:
            self._stale = False
            try:
                account = await self.broker.account()
            except Exception as exc:
                self._stale = True
                await self.monitor.failure("broker", f"account failed: {exc}")
                return
        else:
            account = self.account
        self._remark = False
        # the broker's snapshot is a fresh value: its positions are ours to keep
        self.account = AccountSnapshot(now, account.cash, account.positions,
                                       account.prices | self.prices)
        equity = self.account.equity
        day = now.date().isoformat()
        if day != self._day:
            await self._start_day(day, equity, "engine")
        self.peak_equity = max(self.peak_equity, equity)

    async def _start_day(self, day: str, equity: float, by: str) -> None:
        """Count the day's loss from `equity`, durably (`start` reads it back after a restart)."""
        self._day, self.day_start_equity = day, equity
        await self._update_control(lambda c: replace(c, day=day, day_start_equity=equity), by)

    @property
    def day_pnl(self) -> float:
        """Profit or loss since the start of the day."""
        return self.account.equity - self.day_start_equity

    async def _persist(self, now: datetime) -> None:
        await self.store.save_positions(self.account)
        await self.store.record_market_snapshot(now, dict(self.prices), self.simulated)
        peak = self.peak_equity
        await self._update_control(lambda c: replace(c, peak_equity=peak), "engine")
        self.equity_history.append((now, self.account.equity))
        del self.equity_history[:-2000]
        self.bus.publish(PortfolioUpdated(
            ts=now, account=self.account, day_pnl=self.day_pnl,
            day_pnl_pct=self.day_pnl / self.day_start_equity if self.day_start_equity else 0.0,
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
        await self._update_control(lambda c: replace(c, trading_state=state, halt_reason=""), by)

    async def _leave_halt(self, reason: str, by: str) -> None:
        old = self.risk.state
        self.risk.resume()
        await self._rebase_risk(by)
        self.bus.publish(TradingStateChanged(ts=self.clock.now(), old=old, new=self.risk.state,
                                             reason=reason, by=by))

    async def _rebase_risk(self, by: str) -> None:
        """Measure the day-loss and drawdown limits from equity now (after a resume), durably, so
        a restart does not halt again on losses the trader already accepted."""
        self._stale = True
        await self._refresh_account()
        equity = self.account.equity
        self.peak_equity = equity
        await self._start_day(self.clock.now().date().isoformat(), equity, by)
        await self._update_control(lambda c: replace(c, peak_equity=equity, risk_rebase=False), by)

    async def _on_state_change(self, old: TradingState, new: TradingState, reason: str, by: str,
                               *, persist: bool = True) -> None:
        """Announce a state change; entering HALTED is latched in the store (unless it came
        from the store) and cancels open orders."""
        if new is TradingState.HALTED and persist:
            await self._update_control(
                lambda c: replace(c, trading_state=TradingState.HALTED, halt_reason=reason), by)
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
                    lambda c: replace(c, trading_state=state, halt_reason=""), by)
        elif command.kind == "approve":
            if payload.get("proposal_id", "") in self.pending:
                await self._approve_locked(payload["proposal_id"], by=by, source="cli")
        elif payload.get("proposal_id", "") in self.pending:
            await self._reject_locked(payload["proposal_id"], by=by, reason=payload.get("reason", ""))

    # ------------------------------------------------------------------ human actions

    async def approve(self, proposal_id: str, *, by: str, source: OrderSource = "ui") -> SubmitResult:
        """Approve a pending proposal: it goes through `submit` and the gate again, now."""
        async with self._lock:
            return await self._approve_locked(proposal_id, by=by, source=source)

    async def _approve_locked(self, proposal_id: str, *, by: str, source: OrderSource) -> SubmitResult:
        proposal = self.pending.pop(proposal_id, None)
        if proposal is None:
            raise ProposalNotFound(f"no pending proposal {proposal_id}")
        await self.store.update_proposal(proposal_id, ProposalStatus.APPROVED, by, "")
        self.bus.publish(ProposalDecided(ts=self.clock.now(), proposal=proposal,
                                         decision="approved", by=by))
        result = await self._execute_proposal(proposal, by=by, source=source)
        await self._settle(self.clock.now())
        return result

    async def reject(self, proposal_id: str, *, by: str, reason: str = "") -> None:
        """Reject a pending proposal (recorded with the reason)."""
        async with self._lock:
            await self._reject_locked(proposal_id, by=by, reason=reason)

    async def _reject_locked(self, proposal_id: str, *, by: str, reason: str) -> None:
        proposal = self.pending.pop(proposal_id, None)
        if proposal is None:
            raise ProposalNotFound(f"no pending proposal {proposal_id}")
        await self.store.update_proposal(proposal_id, ProposalStatus.REJECTED, by, reason)
        self.bus.publish(ProposalDecided(ts=self.clock.now(), proposal=proposal,
                                         decision="rejected", by=by, reason=reason))

    async def _expire_proposals(self, now: datetime) -> None:
        for proposal in list(self.pending.values()):
            if proposal.expires_at is not None and now >= proposal.expires_at:
                del self.pending[proposal.id]
                await self.store.update_proposal(proposal.id, ProposalStatus.EXPIRED, "engine",
                                                 "expired before a decision")
                self.bus.publish(ProposalDecided(ts=now, proposal=proposal, decision="expired",
                                                 by="engine"))

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
        if mode is Mode.LIVE:
            missing = live_requirements(self.settings, confirm_live)
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
                self._stale = True
                await self._refresh_account()
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


def live_requirements(settings: Settings, confirm_live: bool) -> list[str]:
    """What is missing before LIVE may start (empty when nothing is)."""
    missing = []
    if not settings.engine.live_enabled:
        missing.append("set engine.live_enabled = true in the config")
    if settings.broker.kind == "paper":
        missing.append("set broker.kind to 'ib' or 'robinhood' (paper cannot trade live)")
    if not confirm_live:
        missing.append("pass --confirm-live on the command line (or type the confirmation phrase)")
    return missing


def _direction_value(direction: Direction | None) -> float | None:
    if direction is None:
        return None
    return {Direction.LONG: 1.0, Direction.FLAT: 0.0, Direction.SHORT: -1.0}[direction]


def _rationale(decision: EnsembleDecision) -> str:
    parts = [f"ensemble {decision.score:+.2f} → {decision.direction.value if decision.direction else 'hold'}"]
    for vote in decision.votes:
        if not math.isnan(vote.score):
            parts.append(f"{vote.voter} {vote.score:+.2f}: {vote.reason}")
    return "; ".join(parts)


def event_payload(event: Event) -> dict[str, Any]:
    """An event as JSON-able data with its type name (for `--json` and logs)."""
    data = to_jsonable(event)
    assert isinstance(data, dict)
    return {"type": type(event).__name__, **data}


__all__ = [
    "CycleCounters",
    "Engine",
    "IdSource",
    "ModeChangeRefused",
    "ProposalNotFound",
    "SubmitResult",
    "event_payload",
    "live_requirements",
]

"""What the console shows, published by the engine side: one frozen `ConsoleView` per change.

The console's panes render this view and nothing else; they never read the engine's attributes
and never run the risk gate. `build_view` reads the engine's public state once; a
`ViewPublisher` (created by the console's composition root) rebuilds the view when something it
shows has changed and hands each new view to its subscribers as a `ViewUpdated`:

- bus events mark the view stale (quotes at most every `QUOTE_EVERY` seconds, they come in
  bursts); changes that publish no event (pause, health, the clock's second) are noticed by a
  cheap stamp compared on every `poll`;
- the pre-check of each pending proposal (which runs the whole gate) is computed when the
  proposal first shows and again only when the account, mode, trading state or day figures
  change, never on a timer.

The view travels on its own channel, not on the engine's bus: a bus event is recorded in the
audit log and shown in the feed, and a snapshot four times a second belongs in neither.
"""

from __future__ import annotations

import math
import time
from bisect import bisect_right
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from robo_tui.domain.events import Event, QuotesUpdated
from robo_tui.domain.frozen import frozen
from robo_tui.domain.market import Instrument
from robo_tui.domain.news import TradeIdea
from robo_tui.domain.orders import Fill, Order, Position, Side
from robo_tui.domain.risk import Mode, RiskVerdict, TradingState
from robo_tui.domain.signals import Direction, Proposal
from robo_tui.engine.ensemble import StrategySlot, StrategyStats
from robo_tui.engine.meters import Meter, risk_meters
from robo_tui.engine.proposals import entry_atr

if TYPE_CHECKING:
    from robo_tui.engine.bus import Subscription
    from robo_tui.engine.engine import Engine

__all__ = [
    "QUOTE_EVERY", "ChartData", "ChartMark", "ConsoleView", "HeldBy", "MarkKind",
    "PendingProposal", "PositionView", "Protection", "ViewPublisher", "ViewUpdated", "WorkingOrder",
    "build_chart", "build_view", "trade_marks",
]

QUOTE_EVERY = 0.25
"""Seconds between view rebuilds caused by quotes alone (a quote burst is thousands a second)."""

HeldBy = Literal["venue", "position", "robo-tui"]
"""Who holds a position's stop/target: the venue (the broker reports holding it), robo-tui
itself (an engine-held level, watched on every price), or only the position's own record."""


@frozen
class PositionView:
    """One held position, marked at the latest price, with its protection and who holds it."""

    position: Position
    last: float | None
    """The latest price the engine has (None before the first one)."""
    stop: float | None
    target: float | None
    held_by: HeldBy | None
    """None when the position has neither stop nor target; "robo-tui" when robo-tui holds
    either leg."""
    stop_held_by: HeldBy | None = None
    """Who holds the stop (None without one)."""
    target_held_by: HeldBy | None = None
    """Who holds the target (None without one)."""
    trailing: bool = False
    """Whether the stop trails the best price (robo-tui always holds a trail)."""


@frozen
class Protection:
    """The stop and take-profit the sizer would attach to a new entry in one symbol now (ATR
    based), for each direction, and the risk to the stop per unit: the order ticket suggests
    them."""

    atr: float
    long_stop: float
    long_target: float
    short_stop: float
    short_target: float

    def levels(self, long: bool) -> tuple[float, float]:
        """(stop, target) for a long (`long`) or a short entry."""
        return (self.long_stop, self.long_target) if long else (self.short_stop, self.short_target)


@frozen
class WorkingOrder:
    """One working order as the Orders pane shows it: the order (type, prices, who placed it,
    when), how much of it has filled, and who holds it (every order the engine sends rests at
    the venue; "engine" is for orders the engine itself holds and has not sent)."""

    order: Order
    filled: float
    held_by: Literal["venue", "engine"] = "venue"


@frozen
class PendingProposal:
    """A proposal waiting for a human, with the gate's pre-check (None if it could not run)."""

    proposal: Proposal
    precheck: RiskVerdict | None


@frozen
class ConsoleView:
    """Everything the console shows at one moment; compared whole to skip unchanged repaints."""

    now: datetime
    mode: Mode
    state: TradingState
    state_reason: str
    halt_reason: str
    paused: bool
    simulated: bool
    cycle: int
    feed_name: str
    broker_name: str
    equity: float
    cash: float
    day_pnl: float
    day_start_equity: float
    """The equity the day opened with: `day_pnl` counts from it (a resume does not re-base it)."""
    peak_equity: float
    positions: tuple[PositionView, ...]
    working_orders: tuple[Order, ...]
    pending: tuple[PendingProposal, ...]
    """In the engine's order (oldest first)."""
    meters: tuple[Meter, ...]
    strategies: tuple[StrategySlot, ...]
    strategy_stats: Mapping[str, StrategyStats]
    analyst_weight: float
    catalogue: Mapping[str, Any] | None
    """The analyst catalogue (None when reading it failed: see `catalogue_error`)."""
    catalogue_error: str
    health: Mapping[str, tuple[bool, str]]
    """Per source (data, broker, model, ...): healthy, and the last problem."""
    instruments: tuple[Instrument, ...]
    symbols: tuple[str, ...]
    equity_history: tuple[tuple[datetime, float], ...]
    protection: Mapping[str, Protection] = field(default_factory=dict)
    """Per symbol with a price and bars: the sizer's suggested stop and target now."""
    orders: tuple[WorkingOrder, ...] = ()
    """The working orders with what has filled of each, oldest first (the Orders pane)."""
    stale_since: Mapping[str, datetime] = field(default_factory=dict)
    """Stale symbols (no new entries) and when their last accepted data arrived."""

    def pending_proposal(self, proposal_id: str) -> PendingProposal | None:
        """The pending proposal `proposal_id`, if it is still pending."""
        return next((p for p in self.pending if p.proposal.id == proposal_id), None)

    def position(self, symbol: str) -> PositionView | None:
        """The held position in `symbol`, if any."""
        return next((p for p in self.positions if p.position.symbol == symbol), None)

    def strategy(self, name: str) -> StrategySlot | None:
        """The ensemble slot of strategy `name`, if there is one."""
        return next((s for s in self.strategies if s.name == name), None)


def _positions(engine: Engine) -> tuple[PositionView, ...]:
    account = engine.account
    broker = engine.broker
    venue: Mapping[str, tuple[float | None, float | None]] = {}
    try:
        venue = broker.protections()
    except Exception:  # noqa: BLE001 - a broker without the data must not break the view
        venue = {}
    rows = []
    levels = engine.protection.levels
    for symbol, pos in account.positions.items():
        if pos.quantity == 0:
            continue
        level = levels.get(symbol)
        if level is not None:
            stop, target = level.effective_stop, level.target
            stop_by: HeldBy | None = level.stop_held_by if stop is not None else None
            target_by: HeldBy | None = level.target_held_by if target is not None else None
            rows.append(PositionView(
                pos, engine.prices.get(symbol, account.prices.get(symbol)), stop, target,
                "robo-tui" if "robo-tui" in (stop_by, target_by) else "venue",
                stop_by, target_by,
                level.trail_pct is not None or level.trail_distance is not None))
            continue
        if symbol in venue:
            stop, target = venue[symbol]
            held: HeldBy | None = "venue"
        else:
            stop, target = pos.stop_loss, pos.take_profit
            held = "position"
        rows.append(PositionView(pos, engine.prices.get(symbol, account.prices.get(symbol)),
                                 stop, target, held if (stop, target) != (None, None) else None,
                                 held if stop is not None else None,
                                 held if target is not None else None))
    return tuple(rows)


def _protection(engine: Engine) -> dict[str, Protection]:
    out = {}
    for symbol, bars in engine.market.items():
        price = engine.prices.get(symbol)
        if price is None or not price > 0 or not len(bars):
            continue
        # the ATR the proposals use, so the ticket suggests what a proposal would
        volatility = entry_atr(bars, engine.settings.sizing)
        long_stop, long_target = engine.sizer.protective_levels(price, 1, volatility)
        short_stop, short_target = engine.sizer.protective_levels(price, -1, volatility)
        out[symbol] = Protection(volatility, long_stop, long_target, short_stop, short_target)
    return out


def _catalogue(engine: Engine) -> tuple[Mapping[str, Any] | None, str]:
    try:
        return engine.analyst_catalogue(), ""
    except Exception as exc:  # noqa: BLE001 - the panes show the problem instead
        return None, str(exc)


def _prechecks(engine: Engine, known: Mapping[str, RiskVerdict | None] | None
               ) -> tuple[PendingProposal, ...]:
    result = []
    for pid, proposal in engine.pending.items():
        if known is not None and pid in known:
            verdict = known[pid]
        else:
            try:
                verdict = engine.precheck(proposal)
            except Exception:  # noqa: BLE001 - a failing pre-check shows as unknown
                verdict = None
        result.append(PendingProposal(proposal, verdict))
    return tuple(result)


def build_view(engine: Engine, prechecks: Mapping[str, RiskVerdict | None] | None = None
               ) -> ConsoleView:
    """The engine's state as the console shows it. `prechecks` are verdicts still valid (by
    proposal id); every other pending proposal's pre-check is computed now."""
    account = engine.account
    catalogue, catalogue_error = _catalogue(engine)
    return ConsoleView(
        now=engine.clock.now(), mode=engine.mode, state=engine.state,
        state_reason=engine.risk.state_reason, halt_reason=engine.risk.halt_reason,
        paused=engine.paused, simulated=engine.simulated, cycle=engine.cycle,
        feed_name=engine.feed.name, broker_name=engine.broker.name,
        equity=account.equity, cash=account.cash, day_pnl=engine.day_pnl,
        day_start_equity=engine.book.day_open_equity, peak_equity=engine.peak_equity,
        positions=_positions(engine),
        working_orders=tuple(engine.risk_context(engine.clock.now()).open_orders),
        pending=_prechecks(engine, prechecks),
        meters=tuple(risk_meters(engine)),
        strategies=tuple(engine.ensemble.slots()), strategy_stats=engine.ensemble.stats(),
        analyst_weight=engine.settings.ensemble.analyst_weight,
        catalogue=catalogue, catalogue_error=catalogue_error, health=dict(engine.health),
        instruments=tuple(engine.instruments.values()), symbols=tuple(engine.symbols),
        equity_history=tuple(engine.equity_history), protection=_protection(engine),
        orders=_working(engine), stale_since=engine.guard.stale_since(),
    )


def _working(engine: Engine) -> tuple[WorkingOrder, ...]:
    path = engine.orders
    return tuple(WorkingOrder(o, path.filled_qty(o.client_order_id))
                 for o in sorted(path.open_orders.values(), key=lambda o: o.created_at))


@frozen
class ViewUpdated:
    """A new view of the engine, published when something the console shows changed."""

    view: ConsoleView


ViewHandler = Callable[[ViewUpdated], None]


@dataclass(slots=True)
class _Stale:
    """What the bus has said since the last rebuild."""

    events: bool = True
    quotes: bool = False
    last_quote_build: float = field(default=-math.inf)


class ViewPublisher:
    """Rebuilds the console's view when something it shows changed and hands it to subscribers.

    Subscribed to the engine's bus for staleness only; `poll()` (the console calls it a few
    times a second, and at once after an action) does the rebuilding, so a burst of events
    costs one view.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.latest: ConsoleView | None = None
        """The last view published (None before the first poll)."""
        self._stale = _Stale()
        self._stamp: tuple[object, ...] | None = None
        self._precheck_key: tuple[object, ...] | None = None
        self._prechecks: dict[str, RiskVerdict | None] = {}
        self._handlers: list[ViewHandler] = []
        self._subscription: Subscription | None = engine.bus.subscribe(self._on_event)

    def subscribe(self, handler: ViewHandler) -> Callable[[], None]:
        """Call `handler` with every new view; returns a function that stops it."""
        self._handlers.append(handler)
        return lambda: self._handlers.remove(handler) if handler in self._handlers else None

    def close(self) -> None:
        """Stop listening to the bus and drop every subscriber."""
        if self._subscription is not None:
            self._subscription.cancel()
            self._subscription = None
        self._handlers.clear()

    def _on_event(self, event: Event) -> None:
        if isinstance(event, QuotesUpdated):
            self._stale.quotes = True
        else:
            self._stale.events = True

    def _current_stamp(self) -> tuple[object, ...]:
        """Cheap facts that change without a bus event (pause, health, the clock's second)."""
        engine = self.engine
        return (engine.clock.now().replace(microsecond=0), engine.mode, engine.state,
                engine.paused, engine.account, tuple(engine.pending), engine.cycle,
                tuple(engine.health.items()), len(engine.equity_history))

    def poll(self, *, force: bool = False) -> ConsoleView | None:
        """Rebuild and publish the view if something shown changed (always when `force`);
        returns the view published, or None when nothing changed."""
        stale = self._stale
        now = time.monotonic()
        quotes_due = stale.quotes and now - stale.last_quote_build >= QUOTE_EVERY
        stamp = self._current_stamp()
        if not (force or stale.events or quotes_due or stamp != self._stamp):
            return None
        self._stamp = stamp
        stale.events = False
        if stale.quotes:
            stale.quotes = False
            stale.last_quote_build = now
        view = build_view(self.engine, self._valid_prechecks())
        self._prechecks = {p.proposal.id: p.precheck for p in view.pending}
        if view == self.latest:
            return None
        self.latest = view
        update = ViewUpdated(view)
        for handler in tuple(self._handlers):
            handler(update)
        return view

    def _valid_prechecks(self) -> dict[str, RiskVerdict | None]:
        """The pre-checks still valid: all of them unless the account, mode, state or day
        figures changed since they were computed (new proposals are computed either way)."""
        engine = self.engine
        key = (engine.account, engine.mode, engine.state, engine.day_start_equity,
               engine.peak_equity)
        if key != self._precheck_key:
            self._precheck_key = key
            return {}
        return {pid: v for pid, v in self._prechecks.items() if pid in engine.pending}


# ---------------------------------------------------------------------------------- the chart

MarkKind = Literal["entry", "exit", "idea_long", "idea_short", "idea_flat"]


@frozen
class ChartMark:
    """One thing that happened at a price and a time: a fill (entry or exit) or an idea."""

    ts: datetime
    price: float
    kind: MarkKind
    label: str


@frozen
class ChartData:
    """What the chart view of one symbol shows: its bars (oldest first), the trades and ideas as
    marks, and the working stop and target of the position held (None when there is none)."""

    symbol: str
    ts: tuple[datetime, ...]
    open: tuple[float, ...]
    high: tuple[float, ...]
    low: tuple[float, ...]
    close: tuple[float, ...]
    volume: tuple[float, ...]
    marks: tuple[ChartMark, ...]
    stop: float | None
    target: float | None
    last: float | None


def trade_marks(fills: Iterable[Fill], symbol: str) -> list[ChartMark]:
    """`symbol`'s fills as entries (the position grows away from flat) and exits (it shrinks
    toward flat), in time order; a fill that crosses flat is both."""
    held = 0.0
    marks = []
    for fill in sorted((f for f in fills if f.symbol == symbol), key=lambda f: f.ts):
        signed = fill.quantity if fill.side is Side.BUY else -fill.quantity
        after = held + signed
        side = fill.side.value.upper()
        text = f"{side} {fill.quantity:g} @ {fill.price:,.2f}" + (
            f" ({fill.reason})" if fill.reason and fill.reason != "order" else "")
        grows = abs(after) > abs(held) and held * after >= 0
        marks.append(ChartMark(fill.ts, fill.price, "entry" if grows else "exit", text))
        held = 0.0 if abs(after) < 1e-12 else after
    return marks


def _idea_marks(ideas: Iterable[TradeIdea], symbol: str, times: Sequence[datetime],
                closes: Sequence[float]) -> list[ChartMark]:
    """Ideas about `symbol`, marked at the close of the bar they came during (an idea has no
    price of its own)."""
    kinds: dict[Direction, MarkKind] = {Direction.LONG: "idea_long",
                                         Direction.SHORT: "idea_short",
                                         Direction.FLAT: "idea_flat"}
    marks = []
    for idea in ideas:
        if idea.symbol != symbol or not times:
            continue
        i = max(0, min(len(times) - 1, bar_index(times, idea.ts)))
        marks.append(ChartMark(idea.ts, closes[i], kinds[idea.direction],
                               f"{idea.provider} {idea.direction.value} {idea.score:+.2f}"))
    return marks


def bar_index(times: Sequence[datetime], ts: datetime) -> int:
    """The last bar at or before `ts` (0 when it is before every bar)."""
    return max(0, bisect_right(times, ts) - 1)


async def build_chart(engine: Engine, symbol: str, ideas: Iterable[TradeIdea] = ()
                      ) -> ChartData:
    """`symbol`'s chart as the engine knows it now: the bars it holds, every recorded fill in
    it, `ideas` (the analyst's, as the console received them), and the position's stop and
    target."""
    bars = engine.market.get(symbol)
    times: tuple[datetime, ...] = ()
    o: tuple[float, ...] = ()
    h, lo, c, v = o, o, o, o
    if bars is not None and len(bars):
        times = tuple(datetime.fromtimestamp(int(t) / 1e9, tz=UTC) for t in bars.ts)
        o, h, lo, c, v = (tuple(float(x) for x in arr) for arr in
                          (bars.open, bars.high, bars.low, bars.close, bars.volume))
    fills = await engine.store.fills()
    marks = trade_marks(fills, symbol) + _idea_marks(ideas, symbol, times, c)
    held = next((p for p in _positions(engine) if p.position.symbol == symbol), None)
    return ChartData(symbol, times, o, h, lo, c, v, tuple(sorted(marks, key=lambda m: m.ts)),
                     held.stop if held else None, held.target if held else None,
                     engine.prices.get(symbol))

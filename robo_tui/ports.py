"""Small Protocols the engine depends on; adapters implement them.

Capability flags (`supports_short`, `simulated`, ...) say what only some adapters can do.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar, Protocol, runtime_checkable

from robo_tui.domain.analysis import AnalysisOutcome, AnalysisRequest, ModelInfo
from robo_tui.domain.control import CommandKind, ControlState, JournaledCommand, Protections
from robo_tui.domain.drift import VenueOrder
from robo_tui.domain.increments import Increments
from robo_tui.domain.market import AssetClass, Bar, BarArrays, Quote
from robo_tui.domain.news import MarketEvent, NewsItem, SourceHealth, TradeIdea
from robo_tui.domain.orders import (
    AccountSnapshot,
    BrokerAck,
    Fill,
    Order,
    OrderStatus,
    VenueCapabilities,
)
from robo_tui.domain.protection import ProtectiveLevel
from robo_tui.domain.risk import RiskVerdict
from robo_tui.domain.signals import Proposal, ProposalStatus


class Clock(Protocol):
    """Engine time: the wall clock live, a simulated clock in backtests and tests."""

    def now(self) -> datetime: ...

    async def sleep(self, seconds: float) -> None: ...


class MarketFeed(Protocol):
    """Bars (and optionally streaming quotes) for the universe."""

    name: str
    simulated: bool
    supports_streaming: bool

    async def connect(self) -> None: ...

    async def close(self) -> None: ...

    async def history(self, symbol: str, bars: int) -> BarArrays:
        """The last `bars` completed bars of `symbol`, oldest first (warm-up)."""
        ...

    async def next_bars(self, now: datetime) -> list[Bar]:
        """The bars completed since the last call, oldest first (any number per symbol); [] when none."""
        ...

    async def quotes(self, now: datetime) -> list[Quote]:
        """Current quotes between bars (streaming feeds); [] when the feed has none."""
        ...


class Broker(Protocol):
    """Where allowed orders go. Only the engine calls it, only after the risk gate."""

    name: str
    """For display and logs only: no decision is taken on a broker's name."""
    is_live: bool
    supports_short: bool
    supports_fractional: bool

    @property
    def order_timeout(self) -> float | None:
        """Seconds before an unanswered submit is UNKNOWN; None for a venue in this process
        (its answer cannot be lost on the way)."""
        ...

    restores_from_fills: bool
    """Whether the broker's book is rebuilt at start from the journal's fills and the persisted
    protections (a venue in this process); a remote broker keeps its own book."""

    def capabilities(self, asset: AssetClass) -> VenueCapabilities:
        """What the venue can hold for `asset`: stops, brackets/OCO, fractions, shorts."""
        ...

    def holds_stops(self, asset: AssetClass) -> bool:
        """Whether the venue holds stop orders for `asset` (else the engine must hold them)."""
        ...

    def restore(self, fills: Sequence[Fill],
                protections: Mapping[str, tuple[float | None, float | None]]) -> None:
        """Rebuild the book from the journal's `fills` and re-arm each symbol's (stop, target);
        a no-op for a broker that keeps its own book (`restores_from_fills` is False)."""
        ...

    def protections(self) -> dict[str, tuple[float | None, float | None]]:
        """(stop, target) per symbol that `restore` must re-arm after a restart ({} when the
        venue keeps them itself)."""
        ...

    def reconcile(self, fills: Sequence[Fill]) -> list[str]:
        """Differences between the broker's book and a replay of `fills`; [] when none (or when
        the venue's own book is the truth)."""
        ...

    async def connect(self) -> None: ...

    async def close(self) -> None: ...

    async def submit(self, order: Order) -> BrokerAck:
        """Send an order. An unclear outcome (timeout, dropped connection) is UNKNOWN, not REJECTED."""
        ...

    async def cancel(self, client_order_id: str) -> BrokerAck: ...

    async def cancel_all(self) -> list[BrokerAck]: ...

    async def order_status(self, client_order_id: str) -> BrokerAck:
        """Ask the broker what became of an order (reconciles UNKNOWN)."""
        ...

    async def account(self) -> AccountSnapshot:
        """Cash and positions as the broker sees them."""
        ...

    async def poll_fills(self) -> list[Fill]:
        """Fills that happened since the last call, oldest first."""
        ...

    async def poll_order_updates(self) -> list[BrokerAck]:
        """Orders that ended without (or after partial) fills since the last call: cancelled,
        rejected or expired by the broker."""
        ...

    async def venue_orders(self) -> list[VenueOrder]:
        """The working orders the venue lists now, each with our client order id when it
        carries one (reconciliation reports the others as drift)."""
        ...

    async def increments(self, symbol: str) -> Increments | None:
        """The venue's price tick, quantity step and min/max size for `symbol` (the sizer
        rounds to them before the gate judges an order); None when it takes any price and size
        (the paper broker) or does not list the symbol."""
        ...


@runtime_checkable
class SimulatedVenue(Protocol):
    """A broker that fills against market data it is shown (the paper broker)."""

    def on_bar(self, bar: Bar) -> None: ...

    def on_quote(self, quote: Quote) -> None: ...

    def on_bar_values(self, symbol: str, ts: datetime, o: float, h: float, l: float,
                      c: float) -> None:
        """`on_bar` without building a `Bar` (the backtest hot path)."""
        ...

    def trigger_levels(self, symbol: str) -> tuple[float, float, bool]:
        """(low at or below which something triggers, high at or above which something
        triggers, whether a market order waits for the next open): lets a backtest skip bars."""
        ...


@runtime_checkable
class Reconnecting(Protocol):
    """A live broker whose session can drop and come back within one run (IB's API socket):
    `sessions` counts the sessions it opened, so the engine reconciles the venue's book with
    the journal again after each new one (engine/reconcile.py)."""

    @property
    def sessions(self) -> int:
        """Sessions opened so far (1 after the first `connect`, +1 per reconnect)."""
        ...


@runtime_checkable
class NamesVenueLegs(Protocol):
    """A broker that holds a position's stop while robo-tui holds its target (Robinhood stocks)
    and says which order the stop is, so the engine's OCO pair names its venue leg and cancels
    it explicitly when the target fires."""

    def venue_stop_id(self, entry_client_order_id: str) -> str:
        """The client order id of the stop resting at the venue for this entry ("" if none)."""
        ...


@runtime_checkable
class RecallsOrders(Protocol):
    """A live broker that finds an order of an earlier session better when told the journal's
    record of it (Robinhood stocks: the symbol narrows the search, the stop-loss protects an
    entry found filled). The engine calls `recall` before asking `order_status` at start."""

    def recall(self, order: Order) -> None:
        """The journal's record of an order an earlier session sent (or may have sent)."""
        ...


@runtime_checkable
class ReplayClock(Protocol):
    """A clock the backtest driver moves (`SimClock`)."""

    def now(self) -> datetime: ...

    async def sleep(self, seconds: float) -> None: ...

    def set(self, now: datetime) -> None:
        """Jump to `now`."""
        ...


class RunRecorder(Protocol):
    """What a replay reads back from its store when the run ends: the fills and the trade
    outcomes recorded during the run, in the order they were recorded (the backtest's memory
    store). Recording stays the `Store`'s cheap per-order calls; this is read once, at the end."""

    def recorded_fills(self) -> Sequence[Fill]:
        """Every fill recorded so far, oldest first."""
        ...

    def recorded_outcomes(self) -> Sequence[Mapping[str, Any]]:
        """Every trade outcome recorded so far (as `Store.record_trade_outcome` got it), oldest
        first."""
        ...


class NewsSource(Protocol):
    """A source of headlines (RSS/Atom, files, JSON APIs)."""

    name: str

    @property
    def credibility(self) -> float:
        """How far its news is trusted, in [0, 1]; scales the impact of what it reports."""
        ...

    @property
    def poll_once(self) -> bool:
        """Read once, then again only after `rewind` (the bundled sample); else polled."""
        ...

    @property
    def health(self) -> SourceHealth:
        """How its last fetch went; a fetch that raises is unhealthy whatever this says."""
        ...

    async def fetch(self, now: datetime) -> list[NewsItem]: ...

    def rewind(self) -> None:
        """Let the next fetch read again what a read-once source has read (a no-op otherwise)."""
        ...

    async def close(self) -> None: ...


class Analyst(Protocol):
    """Turns market events into a validated trade idea, or abstains. Never sizes, never trades."""

    name: str

    @property
    def active_model(self) -> str:
        """The model answering now, when known without I/O ("" otherwise)."""
        ...

    async def analyze(self, request: AnalysisRequest) -> AnalysisOutcome: ...

    async def models(self) -> list[ModelInfo]:
        """Models this provider can run now ([] when unreachable)."""
        ...

    def telemetry(self) -> Mapping[str, Any]:
        """The provider's own figures for the model selector (calls, latency, breakers ...)."""
        ...

    async def close(self) -> None: ...


@runtime_checkable
class ExplainsUnavailability(Protocol):
    """An analyst that can say why it offers no model now (the model selector shows it)."""

    def unavailable_reason(self) -> str:
        """Why `models()` is empty (missing key and its variable, server unreachable at URL,
        no models installed); "" when it is not, or it cannot tell."""
        ...


FallbackListener = Callable[[str, str, str], None]
"""Told (from_provider, to_provider, reason) each time a fallback chain moves on."""


class AnalystFactory(Protocol):
    """Builds analysts by provider name: the registry the composition root hands the stage."""

    @property
    def providers(self) -> Sequence[str]:
        """Every provider it can build, the offline default first."""
        ...

    def build(self, provider: str, *, model: str | None = None,
              on_fallback: FallbackListener | None = None) -> Analyst:
        """The analyst `provider` for `model` (None: its configured default).

        `on_fallback` hears a fallback chain's moves (analysts that are no chain never call
        it). Raises `ValueError` for an unknown name and another exception when the provider
        cannot be built here (a missing SDK).
        """
        ...


class IntelligenceStage(Protocol):
    """News → events → analysts, driven by the engine (built by the intelligence layer).

    The engine calls `poll` often (about once a second); the stage itself knows which sources are
    due. High-impact events are analysed at once; the rest wait for the next cycle.
    """

    async def poll(self, now: datetime) -> Sequence[MarketEvent]:
        """Fetch the sources that are due, deduplicate, map symbols, classify, persist; new events."""
        ...

    async def ingest(self, items: Sequence[NewsItem], now: datetime) -> Sequence[MarketEvent]:
        """The same pipeline for items pushed in (tests, news replay in backtests, benchmarks)."""
        ...

    async def analyze(
        self, events: Sequence[MarketEvent], now: datetime, market: Mapping[str, BarArrays]
    ) -> Sequence[TradeIdea]:
        """Run the active analyst for the symbols the events concern; every call is audited.

        Each returned idea's `id` is the id of its `ai_decisions` row.
        """
        ...

    def is_urgent(self, event: MarketEvent) -> bool:
        """Whether an event is high-impact enough to be analysed now rather than next cycle."""
        ...

    def catalogue(self) -> Mapping[str, Any]:
        """Providers, models, availability, active choice and telemetry (for the model selector)."""
        ...

    async def refresh_catalogue(self) -> Mapping[str, Any]:
        """Ask every provider which models it can run now (Ollama discovery, keys present)."""
        ...

    async def select(self, provider: str, model: str | None) -> None:
        """Switch the active analyst provider/model."""
        ...

    async def close(self) -> None: ...


class StorageFault(RuntimeError):
    """The store cannot be used (full disk, held lock, read-only, corrupted, missing): the run
    stops with this message and `exit_code` instead of a traceback or a silent reset."""

    exit_code: ClassVar[int] = 6
    what: ClassVar[str] = "storage fault"


class StorageFull(StorageFault):
    """The disk (or the database's size limit) is full: nothing more can be written."""

    exit_code = 6
    what = "storage full"


class StorageLocked(StorageFault):
    """Another process held a write lock on the database for longer than the busy timeout."""

    exit_code = 7
    what = "storage locked"


class StorageReadOnly(StorageFault):
    """The database or its folder cannot be written (permissions, a read-only mount)."""

    exit_code = 8
    what = "storage read-only"


class StorageCorrupt(StorageFault):
    """The database file is damaged (`PRAGMA quick_check` failed, or it is not a database)."""

    exit_code = 9
    what = "storage corrupted"


class StorageMissing(StorageFault):
    """The database is missing or empty although the data dir shows an earlier session: a
    fresh start would drop the account, the journal and the kill switch."""

    exit_code = 10
    what = "storage missing"


class Store(Protocol):
    """Durable record of every decision: the audit trail and the crash-safe order journal."""

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    # control state (mode, kill switch) survives restarts
    async def get_control(self, key: str) -> str | None: ...

    async def set_control(self, key: str, value: str, by: str) -> None: ...

    async def load_control(self) -> ControlState:
        """The engine's persisted control state, typed (an older database loads too)."""
        ...

    async def save_control(self, state: ControlState, by: str) -> None:
        """Persist the control state; only changed fields are written (each change audited)."""
        ...

    # shell actions wait in a journal until the engine carries them out
    async def journal_command(self, kind: CommandKind, payload: Mapping[str, str], by: str) -> int:
        """Append a shell command (halt, resume, approve, reject); its journal id."""
        ...

    async def pending_commands(self) -> list[JournaledCommand]:
        """Commands not yet consumed, oldest first."""
        ...

    async def consume_command(self, command_id: int) -> None:
        """Mark a command carried out."""
        ...

    async def change_marker(self) -> tuple[int, int]:
        """A value that changes whenever another writer may have changed the control record or
        the command journal (a shell, a halt file); equal values mean nothing to re-read."""
        ...

    async def audit(self, kind: str, payload: Mapping[str, Any], by: str) -> None:
        """Append to the audit log (never updated or deleted)."""
        ...

    # orders: the intent is durable before the broker is called
    async def record_order_intent(self, order: Order) -> None: ...

    async def update_order(
        self, client_order_id: str, status: OrderStatus, broker_order_id: str | None, message: str
    ) -> None: ...

    async def open_orders(self) -> list[tuple[Order, OrderStatus]]:
        """Orders whose last known status may still fill (including UNKNOWN)."""
        ...

    async def record_fill(self, fill: Fill, *, order_status: OrderStatus | None = None,
                          protections: Protections | None = None,
                          levels: Mapping[str, ProtectiveLevel | None] | None = None,
                          venue_order: Order | None = None) -> None:
        """Record an execution, and in the same transaction the order's new status (FILLED when
        this fill completes it), the venue's stops/targets after it, the engine's protection per
        symbol after it (`levels`; None drops a symbol's) and, for an order the venue placed by
        itself (a triggered stop), its journal row (`venue_order`): a crash, a full disk or a
        held lock never leaves a FILLED order without its fill, a fill without its order, or a
        fill without its stop."""
        ...

    async def save_protective_levels(self, levels: Mapping[str, ProtectiveLevel | None]) -> None:
        """Set (None: drop) the engine's protection of each symbol, in one transaction."""
        ...

    async def protective_levels(self) -> list[ProtectiveLevel]:
        """Every persisted protection (one per symbol): re-armed at start."""
        ...

    async def get_order(self, client_order_id: str) -> tuple[Order, OrderStatus] | None:
        """One journalled order and its last known status (None when unknown)."""
        ...

    async def orders_missing_fills(self) -> list[Order]:
        """FILLED orders with no fill recorded (what a crash in an older version left behind)."""
        ...

    async def resolve_order(self, client_order_id: str, status: OrderStatus, reason: str, by: str,
                            fill: Fill | None = None) -> None:
        """Settle an order whose outcome robo-tui could not learn (UNKNOWN, or still open) to a
        final status with a recorded reason; a FILLED settlement records `fill` with it. A final
        order raises `ValueError`, an unknown id `KeyError`."""
        ...

    async def fills(self) -> list[Fill]: ...

    async def record_verdict(
        self, verdict: RiskVerdict, *, source: str, symbol: str, payload: Mapping[str, Any],
        client_order_id: str | None, proposal_id: str | None,
    ) -> None: ...

    async def record_proposal(self, proposal: Proposal, precheck: RiskVerdict) -> None: ...

    async def update_proposal(
        self, proposal_id: str, status: ProposalStatus, by: str, reason: str
    ) -> None: ...

    async def get_proposal(self, proposal_id: str) -> tuple[Proposal, ProposalStatus] | None: ...

    async def proposals(self, status: ProposalStatus | None = None) -> list[tuple[Proposal, ProposalStatus]]: ...

    async def save_positions(self, account: AccountSnapshot) -> None: ...

    async def record_market_snapshot(self, ts: datetime, prices: Mapping[str, float], simulated: bool) -> None: ...

    async def record_trade_outcome(self, outcome: Mapping[str, Any]) -> None: ...

    async def record_news(self, item: NewsItem) -> bool:
        """Store a news item; False when it was already stored."""
        ...

    async def record_ai_decision(self, record: Mapping[str, Any]) -> str:
        """Store an analyst call (prompt, model, raw output, parsed idea, errors); returns its id."""
        ...

    async def update_ai_decision(self, decision_id: str, outcome: Mapping[str, Any]) -> None:
        """Record what the ensemble and the gate did with an idea."""
        ...

    async def audit_many(self, rows: Sequence[tuple[datetime, str, Mapping[str, Any], str]]) -> None:
        """Append many (ts, kind, payload, by) rows to the audit log in one transaction."""
        ...

    async def record_daily_review(self, review: Mapping[str, Any]) -> None: ...

    async def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Read-only query for reports, the console and tests."""
        ...

    async def prune_telemetry(self, before: datetime) -> dict[str, int]:
        """Delete per-cycle telemetry older than `before` (telemetry audit rows; price and account
        snapshots thinned to the last of each hour), never the decision trail; rows pruned per
        table or audit kind."""
        ...

class NotifyFailed(Exception):
    """A notifier could not deliver an alert (the router retries it, then records it failed)."""


class Notifier(Protocol):
    """Delivers one alert to people (Apprise: Telegram, Discord, e-mail, webhooks, ...).

    Called by the alert router's worker, never on the engine's order path; raises
    `NotifyFailed` (or times out) when the alert did not go out.
    """

    name: str

    async def notify(self, title: str, body: str, level: str) -> None:
        """Send one alert; `level` is "info", "warning" or "critical"."""
        ...


class Service(Protocol):
    """Something that runs beside the engine (an alert worker, a chat bot): started after the
    engine has started, stopped before it stops."""

    name: str

    async def start(self) -> None:
        """Start working (return promptly; long work runs in tasks)."""
        ...

    async def stop(self) -> None:
        """Finish or hand over what is queued, then stop; safe to call twice."""
        ...


class RemoteControls(Protocol):
    """What a remote console (the Telegram bot) may do, each exactly as a console key does it:
    approvals through the proposals desk and the gate, halt and resume through the kill switch.
    `by` names who acted (`telegram:<chat id>`); each answer is plain text for the person."""

    async def status(self) -> str:
        """State, mode, equity, day P&L and health."""
        ...

    async def positions(self) -> str:
        """The open positions."""
        ...

    async def orders(self) -> str:
        """The working orders and the last fills."""
        ...

    async def halt(self, *, by: str) -> str:
        """Pull the kill switch."""
        ...

    async def resume(self, *, by: str) -> str:
        """Leave HALTED."""
        ...

    async def approve(self, proposal_id: str, *, by: str) -> str:
        """Approve a pending proposal: its order goes through the gate now."""
        ...

    async def reject(self, proposal_id: str, *, by: str) -> str:
        """Reject a pending proposal."""
        ...


class ProposalChannel(Protocol):
    """Where a semi-auto proposal waiting for a human is offered (the Telegram bot)."""

    async def offer(self, proposal: Proposal, precheck: RiskVerdict) -> None:
        """Show `proposal` with its rationale, sizing and pre-check, and Approve/Reject."""
        ...

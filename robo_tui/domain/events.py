"""Events the engine publishes on its bus, named in the past tense; never mutated once published.

Every event has `ts` (engine clock time) and a class-level `kind` the console uses to colour and
filter its feed.
"""

from __future__ import annotations

from dataclasses import field
from datetime import datetime
from typing import ClassVar

from robo_tui.domain.commands import SubmitOrder
from robo_tui.domain.drift import DriftReport
from robo_tui.domain.frozen import frozen
from robo_tui.domain.market import Bar, Quote
from robo_tui.domain.news import MarketEvent, NewsItem, TradeIdea
from robo_tui.domain.orders import AccountSnapshot, BrokerAck, Fill, Order
from robo_tui.domain.risk import Mode, RiskVerdict, TradingState
from robo_tui.domain.signals import EnsembleDecision, Proposal


@frozen(kw_only=True)
class Event:
    """Base of all engine events."""

    kind: ClassVar[str] = "event"
    ts: datetime


@frozen(kw_only=True)
class BarsReceived(Event):
    """New bars arrived from the market feed (one per symbol at most)."""

    kind: ClassVar[str] = "market"
    bars: tuple[Bar, ...]
    simulated: bool = False


@frozen(kw_only=True)
class QuotesUpdated(Event):
    """Streaming quotes between bars."""

    kind: ClassVar[str] = "market"
    quotes: tuple[Quote, ...]
    simulated: bool = False


@frozen(kw_only=True)
class NewsReceived(Event):
    """A new (deduplicated) news item."""

    kind: ClassVar[str] = "news"
    item: NewsItem


@frozen(kw_only=True)
class MarketEventDetected(Event):
    """A news item classified as a market event."""

    kind: ClassVar[str] = "news"
    event: MarketEvent


@frozen(kw_only=True)
class IdeaGenerated(Event):
    """An analyst produced a validated trade idea."""

    kind: ClassVar[str] = "idea"
    idea: TradeIdea
    decision_id: str


@frozen(kw_only=True)
class AnalystAbstained(Event):
    """An analyst call produced no idea (invalid output, refusal, timeout); the raw output is kept."""

    kind: ClassVar[str] = "idea"
    provider: str
    model: str
    symbol: str
    reason: str
    decision_id: str


@frozen(kw_only=True)
class AnalystFellBack(Event):
    """The analyst chain moved from one provider to the next."""

    kind: ClassVar[str] = "telemetry"
    from_provider: str
    to_provider: str
    reason: str


@frozen(kw_only=True)
class SignalsComputed(Event):
    """Strategy and analyst votes and the ensemble decision for one symbol this cycle."""

    kind: ClassVar[str] = "signal"
    decision: EnsembleDecision


@frozen(kw_only=True)
class ProposalCreated(Event):
    """The engine sized a trade; in semi-auto it now waits for a human."""

    kind: ClassVar[str] = "proposal"
    proposal: Proposal
    precheck: RiskVerdict


@frozen(kw_only=True)
class ProposalDecided(Event):
    """A human (or expiry) decided a pending proposal: approved, rejected or expired."""

    kind: ClassVar[str] = "proposal"
    proposal: Proposal
    decision: str
    by: str
    reason: str = ""


@frozen(kw_only=True)
class OrderDenied(Event):
    """The risk gate refused an order; `verdict.reasons` says why."""

    kind: ClassVar[str] = "risk"
    command: SubmitOrder
    verdict: RiskVerdict


@frozen(kw_only=True)
class OrderSubmitted(Event):
    """The gate allowed an order and the broker answered."""

    kind: ClassVar[str] = "order"
    order: Order
    ack: BrokerAck
    verdict: RiskVerdict


@frozen(kw_only=True)
class OrderStatusChanged(Event):
    """An order was cancelled, rejected, or became UNKNOWN (then later reconciled)."""

    kind: ClassVar[str] = "order"
    client_order_id: str
    symbol: str
    status: str
    message: str = ""


@frozen(kw_only=True)
class OrderFilled(Event):
    """An execution happened."""

    kind: ClassVar[str] = "fill"
    fill: Fill


@frozen(kw_only=True)
class PortfolioUpdated(Event):
    """Cash, positions and marks after fills or new prices."""

    kind: ClassVar[str] = "portfolio"
    account: AccountSnapshot
    day_pnl: float
    day_pnl_pct: float
    peak_equity: float


@frozen(kw_only=True)
class TradingStateChanged(Event):
    """The gate moved between ACTIVE, REDUCING and HALTED (kill switch included)."""

    kind: ClassVar[str] = "killswitch"
    old: TradingState
    new: TradingState
    reason: str
    by: str


@frozen(kw_only=True)
class ModeChanged(Event):
    """The trading mode changed."""

    kind: ClassVar[str] = "mode"
    old: Mode
    new: Mode
    by: str


@frozen(kw_only=True)
class PauseChanged(Event):
    """The cycle was paused or resumed (quotes, fills and protective stops go on)."""

    kind: ClassVar[str] = "mode"
    paused: bool
    by: str


@frozen(kw_only=True)
class StrategyChanged(Event):
    """A strategy was switched on/off or reweighted."""

    kind: ClassVar[str] = "strategy"
    name: str
    enabled: bool
    weight: float
    by: str


@frozen(kw_only=True)
class AnalystSelected(Event):
    """The active analyst provider or model changed."""

    kind: ClassVar[str] = "mode"
    provider: str
    model: str
    by: str


@frozen(kw_only=True)
class EngineErrorOccurred(Event):
    """Something failed inside the engine; it carries on (or degrades) and says so."""

    kind: ClassVar[str] = "error"
    where: str
    message: str
    fatal: bool = False


@frozen(kw_only=True)
class SourceHealthChanged(Event):
    """A data, news, model or broker source became healthy or unhealthy."""

    kind: ClassVar[str] = "telemetry"
    source: str
    healthy: bool
    message: str = ""


@frozen(kw_only=True)
class CycleCompleted(Event):
    """One engine cycle finished; the summary a headless run prints."""

    kind: ClassVar[str] = "cycle"
    cycle: int
    state: TradingState
    mode: Mode
    equity: float
    cash: float
    day_pnl: float
    proposals: int
    denied: int
    orders: int
    fills: int
    positions: int
    ideas: int = 0
    news: int = 0
    duration_ms: float = 0.0
    errors: tuple[str, ...] = field(default_factory=tuple)


@frozen(kw_only=True)
class ScheduledJobDone(Event):
    """A job of the engine's daily schedule ran (the pre-market check, the review, the daily
    report card); `summary` is one line for a human, `ok` False when it failed."""

    kind: ClassVar[str] = "schedule"
    job: str
    summary: str
    ok: bool = True


@frozen(kw_only=True)
class DriftDetected(Event):
    """Reconciliation found what the venue holds and the journal cannot explain (a blocking
    drift report): new entries wait until a trader accepts it (`robo-tui drift accept`)."""

    kind: ClassVar[str] = "error"
    report: DriftReport

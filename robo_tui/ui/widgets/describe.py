"""Words for engine events: a one-line summary for the feed and a full detail for the detail view.

Everything that came from outside (headlines, rationale, broker and error messages, symbols) goes
through `safe_text`, never markup.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from typing import Any

from rich.text import Span, Text

from robo_tui.domain.events import (
    AnalystAbstained,
    AnalystFellBack,
    AnalystSelected,
    BarsReceived,
    CycleCompleted,
    DriftDetected,
    EngineErrorOccurred,
    Event,
    IdeaGenerated,
    MarketEventDetected,
    ModeChanged,
    NewsReceived,
    OrderDenied,
    OrderFilled,
    OrderStatusChanged,
    OrderSubmitted,
    PauseChanged,
    PortfolioUpdated,
    ProposalCreated,
    ProposalDecided,
    QuotesUpdated,
    ScheduledJobDone,
    SignalsComputed,
    SourceHealthChanged,
    StrategyChanged,
    TradingStateChanged,
)
from robo_tui.domain.news import NewsItem
from robo_tui.domain.orders import OrderIntent
from robo_tui.domain.risk import RiskVerdict
from robo_tui.domain.signals import EnsembleDecision, Proposal, Signal
from robo_tui.ui.widgets.format import fmt_money, fmt_pct, fmt_price, fmt_qty, fmt_score
from robo_tui.ui.widgets.safe import safe_str, safe_text

__all__ = [
    "DEFAULT_KINDS",
    "KINDS",
    "detail_text",
    "event_symbols",
    "event_title",
    "proposal_detail_text",
    "summary_text",
    "verdict_text",
    "votes_text",
]

KINDS: tuple[str, ...] = (
    "news", "idea", "signal", "proposal", "risk", "order", "fill", "error", "mode", "killswitch",
    "telemetry", "strategy", "portfolio", "cycle", "market", "schedule",
)
"""Every event kind the feed knows (an event's class-level `kind`)."""

DEFAULT_KINDS: frozenset[str] = frozenset(KINDS) - {"signal", "market", "portfolio"}
"""Kinds shown when no kind filter is set: the high-rate ones are left out."""

_BOLD = "bold"


# ---------------------------------------------------------------------------- symbols

def event_symbols(event: Event) -> tuple[str, ...]:
    """The symbols an event concerns (empty for account-wide events)."""
    match event:
        case NewsReceived():
            return event.item.symbols
        case MarketEventDetected():
            return event.event.symbols
        case IdeaGenerated():
            return (event.idea.symbol,)
        case AnalystAbstained():
            return (event.symbol,) if event.symbol else ()
        case SignalsComputed():
            return (event.decision.symbol,)
        case ProposalCreated() | ProposalDecided():
            return (event.proposal.symbol,)
        case OrderDenied():
            return (event.command.intent.symbol,)
        case OrderSubmitted():
            return (event.order.symbol,)
        case OrderStatusChanged():
            return (event.symbol,) if event.symbol else ()
        case OrderFilled():
            return (event.fill.symbol,)
        case BarsReceived():
            return tuple(b.symbol for b in event.bars)
        case QuotesUpdated():
            return tuple(q.symbol for q in event.quotes)
        case PortfolioUpdated():
            return tuple(event.account.positions)
    return ()


# ---------------------------------------------------------------------------- pieces

def votes_text(votes: tuple[Signal, ...], *, limit: int | None = None) -> Text:
    """Compact votes: `sma_cross ▲1.00 mean_reversion — analyst:rules ▼0.40`."""
    out = Text(end="")
    shown = votes if limit is None else votes[:limit]
    for i, vote in enumerate(shown):
        if i:
            out.append(" ")
        out.append_text(safe_text(_short_voter(vote.voter)))
        out.append(" ")
        out.append(fmt_score(vote.score), "green" if vote.score > 0 else
                   "red" if vote.score < 0 else "dim")
    if limit is not None and len(votes) > limit:
        out.append(f" +{len(votes) - limit}")
    return out


def _short_voter(voter: str) -> str:
    return {"sma_cross": "sma", "mean_reversion": "mrev", "breakout": "brk"}.get(voter, voter)


def verdict_text(verdict: RiskVerdict, *, short: bool = False) -> Text:
    """`allowed` or `denied: code, code` (short) / every reason with its sentence (long)."""
    if verdict.allowed:
        out = Text("allowed", "green", end="")
        if not short and verdict.notes:
            for note in verdict.notes:
                out.append("\n  note: ")
                out.append_text(safe_text(note))
        return out
    if short:
        out = Text("denied: ", "bold red", end="")
        out.append_text(safe_text(", ".join(verdict.codes) or verdict.state.value))
        return out
    out = Text(f"DENIED ({verdict.state.value})", "bold red", end="")
    for reason in verdict.reasons:
        out.append("\n  • ")
        out.append(safe_str(reason.code), "bold")
        out.append(": ")
        out.append_text(safe_text(reason.message, keep_newlines=True))
    for note in verdict.notes:
        out.append("\n  note: ")
        out.append_text(safe_text(note))
    return out


def _kv(out: Text, key: str, value: Text | str, *, external: bool = False) -> None:
    out.append(f"\n{key:<14}", "bold")
    if isinstance(value, Text):
        out.append_text(value)
    elif external:
        out.append_text(safe_text(value, keep_newlines=True))
    else:
        out.append(value)


def _intent_line(intent: OrderIntent) -> Text:
    out = Text(f"{intent.side.value.upper()} {fmt_qty(intent.quantity)} ", end="")
    out.append_text(safe_text(intent.symbol))
    out.append(f" {intent.order_type.value}")
    if intent.limit_price is not None:
        out.append(f" @ {fmt_price(intent.limit_price, intent.symbol)}")
    if intent.reduce_only:
        out.append(" reduce-only")
    return out


# ---------------------------------------------------------------------------- summaries
#
# Summaries are built on the feed's hot path (a burst repaints every visible row), so they collect
# plain pieces and spans and make one Text at the end instead of appending Text to Text.


class _Line:
    """A one-line Text built from trusted pieces (`add`) and external ones (`ext`, escaped)."""

    __slots__ = ("pieces",)

    def __init__(self) -> None:
        self.pieces: list[tuple[str, str | None]] = []

    def add(self, piece: str, style: str | None = None) -> _Line:
        if piece:
            self.pieces.append((piece, style))
        return self

    def ext(self, piece: object, style: str | None = None) -> _Line:
        return self.add(safe_str(piece), style)

    def text(self) -> Text:
        spans = []
        at = 0
        for piece, style in self.pieces:
            if style:
                spans.append(Span(at, at + len(piece), style))
            at += len(piece)
        return Text("".join(p for p, _ in self.pieces), spans=spans, end="", no_wrap=True)


def _symbols(line: _Line, symbols: tuple[str, ...]) -> None:
    if symbols:
        line.ext(" ".join(symbols), _BOLD).add(" ")


def _intent_pieces(line: _Line, intent: OrderIntent) -> None:
    line.add(f"{intent.side.value.upper()} {fmt_qty(intent.quantity)} ").ext(intent.symbol, _BOLD)
    line.add(f" {intent.order_type.value}")
    if intent.limit_price is not None:
        line.add(f" @ {fmt_price(intent.limit_price, intent.symbol)}")
    if intent.reduce_only:
        line.add(" reduce-only")


def _news(e: NewsReceived) -> _Line:
    line = _Line()
    _symbols(line, e.item.symbols)
    line.ext(e.item.title).add(" (").ext(e.item.source)
    return line.add(" · sample)" if e.item.sample else ")")


def _market_event(e: MarketEventDetected) -> _Line:
    # follows its headline in the feed: the classification, not the title again
    m = e.event
    line = _Line().add(f"↳ {m.event_type.value} ")
    line.ext(" ".join(m.symbols) or "no symbol", _BOLD)
    line.add(f" impact {m.impact:.2f} sentiment {m.sentiment:+.2f} freshness {m.freshness:.2f}")
    return line


def _idea(e: IdeaGenerated) -> _Line:
    i = e.idea
    line = _Line().ext(i.symbol, _BOLD)
    line.add(f" {i.direction.value} score {i.score:+.2f} conf {i.confidence:.2f} ")
    return line.ext(f"{i.provider}/{i.model}").add(": ").ext(i.rationale)


def _abstained(e: AnalystAbstained) -> _Line:
    line = _Line().ext(e.symbol or "—", _BOLD).add(" abstained ")
    return line.ext(f"{e.provider}/{e.model}").add(": ").ext(e.reason)


def _fell_back(e: AnalystFellBack) -> _Line:
    line = _Line().add("analyst fell back ").ext(f"{e.from_provider} → {e.to_provider}")
    return line.add(": ").ext(e.reason)


def _signals(e: SignalsComputed) -> _Line:
    d = e.decision
    direction = d.direction.value if d.direction is not None else "hold"
    line = _Line().ext(d.symbol, _BOLD).add(f" ensemble {d.score:+.2f} → {direction}")
    for vote in d.votes:
        line.add(" ").ext(_short_voter(vote.voter)).add(" ")
        line.add(fmt_score(vote.score), "green" if vote.score > 0 else
                 "red" if vote.score < 0 else "dim")
    return line


def _proposal_pieces(line: _Line, p: Proposal) -> None:
    line.ext(p.id).add(f" {p.side.value.upper()} {fmt_qty(p.quantity)} ").ext(p.symbol, _BOLD)
    line.add(f" @ {fmt_price(p.price, p.symbol)} ({fmt_money(p.notional)})")


def _proposal(e: ProposalCreated) -> _Line:
    line = _Line()
    _proposal_pieces(line, e.proposal)
    line.add(" pre-check ")
    if e.precheck.allowed:
        line.add("allowed", "green")
    else:
        line.add("denied: ", "bold red").ext(", ".join(e.precheck.codes) or e.precheck.state.value)
    return line


def _decided(e: ProposalDecided) -> _Line:
    line = _Line().ext(e.proposal.id).add(" ").ext(e.proposal.symbol, _BOLD)
    line.add(f" {e.decision} by ").ext(e.by)
    if e.reason:
        line.add(": ").ext(e.reason)
    return line


def _denied(e: OrderDenied) -> _Line:
    line = _Line().add("DENIED ", "bold")
    _intent_pieces(line, e.command.intent)
    line.add(f" ({e.command.source}): ").ext(", ".join(e.verdict.codes) or e.verdict.state.value)
    if e.verdict.reasons:
        line.add(" — ").ext(e.verdict.reasons[0].message)
    return line


def _submitted(e: OrderSubmitted) -> _Line:
    line = _Line().ext(e.order.client_order_id).add(" ")
    _intent_pieces(line, e.order.intent)
    line.add(f" → {e.ack.status.value}")
    if e.ack.message:
        line.add(": ").ext(e.ack.message)
    return line


def _status(e: OrderStatusChanged) -> _Line:
    line = _Line().ext(e.client_order_id).add(" ")
    if e.symbol:
        line.ext(e.symbol, _BOLD).add(" ")
    line.ext(e.status)
    if e.message:
        line.add(": ").ext(e.message)
    return line


def _fill(e: OrderFilled) -> _Line:
    f = e.fill
    line = _Line().add(f"{f.side.value.upper()} {fmt_qty(f.quantity)} ").ext(f.symbol, _BOLD)
    line.add(f" @ {fmt_price(f.price, f.symbol)} fee {fmt_money(f.fee)}")
    if f.reason and f.reason != "order":
        line.add(" (").ext(f.reason).add(")")
    return line


def _portfolio(e: PortfolioUpdated) -> _Line:
    return _Line().add(f"equity {fmt_money(e.account.equity)} cash {fmt_money(e.account.cash)} "
                       f"day {fmt_money(e.day_pnl, signed=True)} "
                       f"({fmt_pct(e.day_pnl_pct, signed=True)}) "
                       f"{len(e.account.positions)} positions")


def _state(e: TradingStateChanged) -> _Line:
    line = _Line().add(f"{e.old.value} → {e.new.value}", _BOLD).add(" by ").ext(e.by)
    if e.reason:
        line.add(": ").ext(e.reason)
    return line


def _mode(e: ModeChanged) -> _Line:
    return _Line().add(f"mode {e.old.value} → {e.new.value}", _BOLD).add(" by ").ext(e.by)


def _strategy(e: StrategyChanged) -> _Line:
    line = _Line().ext(e.name, _BOLD)
    return line.add(f" {'enabled' if e.enabled else 'disabled'} weight {e.weight:g} by ").ext(
        e.by)


def _analyst(e: AnalystSelected) -> _Line:
    line = _Line().add("analyst ").ext(f"{e.provider}/{e.model}" if e.model else e.provider, _BOLD)
    return line.add(" selected by ").ext(e.by)


def _error(e: EngineErrorOccurred) -> _Line:
    line = _Line().add("FATAL " if e.fatal else "", _BOLD)
    return line.add("[").ext(e.where).add("] ").ext(e.message)


def _pause(e: PauseChanged) -> _Line:
    line = _Line().add("cycle PAUSED" if e.paused else "cycle resumed", _BOLD).add(" by ").ext(e.by)
    return line.add(": quotes, fills and protective stops go on" if e.paused else "")


def _drift(e: DriftDetected) -> _Line:
    r = e.report
    line = _Line().add(f"DRIFT at {safe_str(r.broker)}: ", "bold red")
    line.ext("; ".join(i.detail for i in r.items[:3]))
    if len(r.items) > 3:
        line.add(f" (+{len(r.items) - 3} more)")
    return line.add(" — new entries wait until it is accepted (D)")


def _scheduled(e: ScheduledJobDone) -> _Line:
    line = _Line().ext(e.job, _BOLD).add("" if e.ok else " FAILED", "bold red")
    return line.add(": ").ext(e.summary)


def _health(e: SourceHealthChanged) -> _Line:
    line = _Line().ext(e.source, _BOLD)
    line.add(" healthy" if e.healthy else " UNHEALTHY", "green" if e.healthy else "bold red")
    if e.message:
        line.add(": ").ext(e.message)
    return line


def _cycle(e: CycleCompleted) -> _Line:
    line = _Line().add(f"#{e.cycle} {e.state.value} eq {fmt_money(e.equity)} "
                       f"day {fmt_money(e.day_pnl, signed=True)} · {e.proposals} prop "
                       f"{e.denied} den {e.orders} ord {e.fills} fill")
    if e.ideas or e.news:
        line.add(f" · {e.news} news {e.ideas} ideas")
    line.add(f" · {e.duration_ms:.0f} ms")
    if e.errors:
        line.add(f" · {len(e.errors)} errors", "red")
    return line


def _bars(e: BarsReceived) -> _Line:
    return _Line().add(f"{len(e.bars)} bars" + (" (simulated)" if e.simulated else ""))


def _quotes(e: QuotesUpdated) -> _Line:
    return _Line().add(f"{len(e.quotes)} quotes" + (" (simulated)" if e.simulated else ""))


_SUMMARIES: dict[type[Event], Callable[[Any], _Line]] = {
    NewsReceived: _news, MarketEventDetected: _market_event, IdeaGenerated: _idea,
    AnalystAbstained: _abstained, AnalystFellBack: _fell_back, SignalsComputed: _signals,
    ProposalCreated: _proposal, ProposalDecided: _decided, OrderDenied: _denied,
    OrderSubmitted: _submitted, OrderStatusChanged: _status, OrderFilled: _fill,
    PortfolioUpdated: _portfolio, TradingStateChanged: _state, ModeChanged: _mode,
    StrategyChanged: _strategy, AnalystSelected: _analyst, EngineErrorOccurred: _error,
    SourceHealthChanged: _health, CycleCompleted: _cycle, BarsReceived: _bars,
    QuotesUpdated: _quotes, ScheduledJobDone: _scheduled,
    PauseChanged: _pause, DriftDetected: _drift,
}


def _trade_title(what: str, side: str, quantity: float, symbol: str) -> str:
    return f"{what} {side.upper()} {fmt_qty(quantity)} {safe_str(symbol)}"


def event_title(event: Event) -> str:
    """A human title for an event's detail view ("Proposal BUY 3 AAPL", "Fill SELL 0.1 BTC-USD
    @ 55,385.08"): what happened to what, never a class name or a raw id."""
    if isinstance(event, ProposalCreated):
        p = event.proposal
        return _trade_title("Proposal", p.side.value, p.quantity, p.symbol)
    if isinstance(event, ProposalDecided):
        p = event.proposal
        return _trade_title(f"Proposal {safe_str(event.decision)}:", p.side.value, p.quantity,
                            p.symbol)
    if isinstance(event, OrderDenied):
        i = event.command.intent
        return _trade_title("Denied", i.side.value, i.quantity, i.symbol)
    if isinstance(event, OrderSubmitted):
        i = event.order.intent
        return _trade_title("Order", i.side.value, i.quantity, i.symbol)
    if isinstance(event, OrderFilled):
        f = event.fill
        return _trade_title("Fill", f.side.value, f.quantity, f.symbol) + f" @ {fmt_price(f.price, f.symbol)}"
    if isinstance(event, NewsReceived):
        return "News: " + safe_str(event.item.title)[:80]
    if isinstance(event, IdeaGenerated):
        idea = event.idea
        return f"Idea {idea.direction.value.upper()} {safe_str(idea.symbol)} ({safe_str(idea.provider)})"
    line = summary_text(event).plain
    head = event.kind.capitalize()
    return f"{head}: {line[:80]}" if line else head


def summary_text(event: Event) -> Text:
    """One line describing `event` (without time and kind; the feed adds those)."""
    return _summary(event).text()


def summary_pieces(event: Event) -> list[tuple[str, str | None]]:
    """`summary_text` as (text, style) pieces: what the feed turns straight into segments."""
    return _summary(event).pieces


def _summary(event: Event) -> _Line:
    builder = _SUMMARIES.get(type(event))
    try:
        if builder is not None:
            return builder(event)
        parts = [f"{f.name}={getattr(event, f.name)!s}" for f in dataclasses.fields(event)
                 if f.name != "ts"]
        return _Line().ext(f"{type(event).__name__} " + " ".join(parts)[:300])
    except Exception as exc:  # noqa: BLE001 - a malformed event must not take the feed down
        return _Line().ext(f"{type(event).__name__} (cannot describe: {exc})")


# ---------------------------------------------------------------------------- details

def proposal_detail_text(proposal: Proposal, precheck: RiskVerdict | None) -> Text:
    """Everything about a proposal: size, stops, votes with reasons, rationale and pre-check."""
    p = proposal
    out = Text(end="")
    out.append(f"Proposal {p.id}", "bold")
    _kv(out, "symbol", safe_text(p.symbol, _BOLD))
    _kv(out, "side", p.side.value.upper() + (" (reduce-only)" if p.reduce_only else ""))
    _kv(out, "quantity", fmt_qty(p.quantity))
    if p.close_quantity:
        _kv(out, "closes first", fmt_qty(p.close_quantity) + " (reversal)")
    _kv(out, "price", fmt_price(p.price, p.symbol))
    _kv(out, "notional", fmt_money(p.notional))
    _kv(out, "stop loss", fmt_price(p.stop_loss, p.symbol))
    _kv(out, "take profit", fmt_price(p.take_profit, p.symbol))
    _kv(out, "confidence", f"{p.confidence:.2f}")
    _kv(out, "created", p.ts.isoformat(timespec="seconds"))
    _kv(out, "expires", p.expires_at.isoformat(timespec="seconds") if p.expires_at else "never")
    _kv(out, "status", p.status.value)
    if p.idea_ids:
        _kv(out, "ideas", ", ".join(p.idea_ids), external=True)
    out.append("\n\nVotes", "bold")
    if not p.votes:
        out.append("\n  (none)")
    for vote in p.votes:
        out.append("\n  ")
        out.append_text(safe_text(f"{vote.voter:<20}"))
        score = "—" if math.isnan(vote.score) else f"{vote.score:+.2f}"
        out.append(f" {score:>6} conf {vote.confidence:.2f}  ")
        out.append_text(safe_text(vote.reason))
    out.append("\n\nRationale\n", "bold")
    out.append_text(safe_text(p.rationale or "(none)", keep_newlines=True))
    if precheck is not None:
        out.append("\n\nRisk pre-check  ", "bold")
        out.append_text(verdict_text(precheck))
    return out


def _decision_detail(d: EnsembleDecision) -> Text:
    out = Text(end="")
    direction = d.direction.value if d.direction is not None else "hold (no voter has an opinion)"
    _kv(out, "symbol", safe_text(d.symbol, _BOLD))
    _kv(out, "score", f"{d.score:+.3f}")
    _kv(out, "confidence", f"{d.confidence:.2f}")
    _kv(out, "direction", direction)
    out.append("\n\nVotes", "bold")
    for vote in d.votes:
        out.append("\n  ")
        out.append_text(safe_text(f"{vote.voter:<20}"))
        score = "—" if math.isnan(vote.score) else f"{vote.score:+.2f}"
        out.append(f" {score:>6} conf {vote.confidence:.2f}  ")
        out.append_text(safe_text(vote.reason))
    return out


def _news_detail(item: NewsItem) -> Text:
    out = Text(end="")
    _kv(out, "headline", item.title, external=True)
    _kv(out, "source", item.source, external=True)
    _kv(out, "symbols", " ".join(item.symbols) or "—", external=True)
    _kv(out, "published", item.published.isoformat(timespec="seconds"))
    _kv(out, "seen", item.seen.isoformat(timespec="seconds"))
    _kv(out, "link", item.link, external=True)
    _kv(out, "id", item.id, external=True)
    if item.sample:
        _kv(out, "note", "bundled sample news, not real")
    if item.summary:
        out.append("\n\nSummary\n", "bold")
        out.append_text(safe_text(item.summary, keep_newlines=True))
    return out


def detail_text(event: Event, headlines: Mapping[str, NewsItem] | None = None) -> Text:
    """The full detail of one event for the detail view; `headlines` (news id → item) lets an
    idea show the headlines it cites."""
    out = Text(f"{type(event).__name__}", "bold", end="")
    out.append(f"  [{type(event).kind}]  {event.ts.isoformat(timespec='seconds')}")
    match event:
        case IdeaGenerated():
            _idea_detail(out, event, headlines or {})
        case AnalystAbstained():
            _abstained_detail(out, event)
        case OrderDenied():
            _denied_detail(out, event)
        case OrderSubmitted():
            _submitted_detail(out, event)
        case ProposalCreated():
            out.append("\n")
            out.append_text(proposal_detail_text(event.proposal, event.precheck))
        case ProposalDecided():
            _kv(out, "decision", event.decision)
            _kv(out, "by", event.by, external=True)
            _kv(out, "reason", event.reason or "—", external=True)
            out.append("\n\n")
            out.append_text(proposal_detail_text(event.proposal, None))
        case NewsReceived():
            out.append_text(_news_detail(event.item))
        case MarketEventDetected():
            _market_event_detail(out, event)
        case SignalsComputed():
            out.append_text(_decision_detail(event.decision))
        case OrderFilled():
            _fill_detail(out, event)
        case CycleCompleted():
            out.append("\n")
            out.append_text(_cycle(event).text())
            for error in event.errors:
                out.append("\n  • ", "red")
                out.append_text(safe_text(error, keep_newlines=True))
        case _:
            for f in dataclasses.fields(event):
                if f.name != "ts":
                    _kv(out, f.name, _value_str(getattr(event, f.name)), external=True)
    return out


def _idea_detail(out: Text, event: IdeaGenerated, headlines: Mapping[str, NewsItem]) -> None:
    i = event.idea
    _kv(out, "symbol", safe_text(i.symbol, _BOLD))
    _kv(out, "direction", i.direction.value)
    _kv(out, "score", f"{i.score:+.3f}")
    _kv(out, "confidence", f"{i.confidence:.2f}")
    _kv(out, "horizon", i.horizon, external=True)
    _kv(out, "event type", i.event_type.value)
    _kv(out, "provider", i.provider, external=True)
    _kv(out, "model", i.model, external=True)
    _kv(out, "latency", f"{i.latency_ms:,.0f} ms")
    _kv(out, "idea id", i.id, external=True)
    _kv(out, "decision id", event.decision_id, external=True)
    out.append("\n\nCited news", "bold")
    if not i.news_ids:
        out.append("\n  (none)")
    for news_id in i.news_ids:
        out.append("\n  • ")
        out.append_text(safe_text(news_id))
        item = headlines.get(news_id)
        if item is not None:
            out.append(": ")
            out.append_text(safe_text(item.title))
            out.append(" (")
            out.append_text(safe_text(item.source))
            out.append(")")
    out.append("\n\nRationale\n", "bold")
    out.append_text(safe_text(i.rationale or "(none)", keep_newlines=True))


def _abstained_detail(out: Text, event: AnalystAbstained) -> None:
    _kv(out, "symbol", event.symbol or "—", external=True)
    _kv(out, "provider", event.provider, external=True)
    _kv(out, "model", event.model, external=True)
    _kv(out, "decision id", event.decision_id, external=True)
    out.append("\n\nReason\n", "bold")
    out.append_text(safe_text(event.reason, keep_newlines=True))


def _denied_detail(out: Text, event: OrderDenied) -> None:
    _kv(out, "order", _intent_line(event.command.intent))
    _kv(out, "source", event.command.source)
    _intent_detail(out, event.command.intent)
    out.append("\n\nVerdict  ", "bold")
    out.append_text(verdict_text(event.verdict))
    out.append(f"\n\n{len(event.verdict.checked)} rules checked", "dim")


def _submitted_detail(out: Text, event: OrderSubmitted) -> None:
    _kv(out, "order id", event.order.client_order_id, external=True)
    _kv(out, "order", _intent_line(event.order.intent))
    _kv(out, "source", event.order.source, external=True)
    _kv(out, "broker status", event.ack.status.value)
    _kv(out, "broker id", event.ack.broker_order_id or "—", external=True)
    _kv(out, "broker says", event.ack.message or "—", external=True)
    _intent_detail(out, event.order.intent)
    out.append("\n\nVerdict  ", "bold")
    out.append_text(verdict_text(event.verdict))


def _market_event_detail(out: Text, event: MarketEventDetected) -> None:
    m = event.event
    _kv(out, "event type", m.event_type.value)
    _kv(out, "symbols", " ".join(m.symbols) or "—", external=True)
    _kv(out, "impact", f"{m.impact:.2f}")
    _kv(out, "sentiment", f"{m.sentiment:+.2f}")
    _kv(out, "freshness", f"{m.freshness:.2f}")
    out.append_text(_news_detail(m.item))


def _fill_detail(out: Text, event: OrderFilled) -> None:
    fill = event.fill
    for key, value in (("fill id", fill.fill_id), ("order id", fill.client_order_id)):
        _kv(out, key, value, external=True)
    _kv(out, "symbol", safe_text(fill.symbol, _BOLD))
    _kv(out, "side", fill.side.value.upper())
    _kv(out, "quantity", fmt_qty(fill.quantity))
    _kv(out, "price", fmt_price(fill.price, fill.symbol))
    _kv(out, "fee", fmt_money(fill.fee))
    _kv(out, "liquidity", fill.liquidity, external=True)
    _kv(out, "reason", fill.reason or "order", external=True)


def _intent_detail(out: Text, intent: OrderIntent) -> None:
    _kv(out, "stop loss", fmt_price(intent.stop_loss, intent.symbol))
    _kv(out, "take profit", fmt_price(intent.take_profit, intent.symbol))
    _kv(out, "confidence", f"{intent.confidence:.2f}")
    if intent.proposal_id:
        _kv(out, "proposal", intent.proposal_id, external=True)
    if intent.reason:
        _kv(out, "reason", intent.reason, external=True)


def _value_str(value: object) -> str:
    if hasattr(value, "value") and isinstance(value.value, str):
        return str(value.value)
    if isinstance(value, float):
        return f"{value:,.6g}"
    return str(value)

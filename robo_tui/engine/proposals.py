"""The proposals room: a sized trade the ensemble wants, recorded with its pre-check, and what
became of it.

Outside semi-auto a proposal goes through the order path at once and the gate's verdict is its
pre-check; in semi-auto it waits in the pending book for a human (the console, or the shell's
journaled `proposals approve|reject`) until it expires. The book holds one proposal per symbol
and direction (a restart restores it from the store, so the same trade is not asked twice), and
a proposal the gate's pre-check already refuses is recorded and shown but asks nobody. Either way its order goes through the
order path, and the analyst ideas it cites are told what happened.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from robo_tui.config import Settings, SizingSettings
from robo_tui.domain.commands import OrderSource, SubmitOrder
from robo_tui.domain.events import ProposalCreated, ProposalDecided
from robo_tui.domain.market import BarArrays, Instrument
from robo_tui.domain.news import TradeIdea
from robo_tui.domain.orders import OrderIntent, Side
from robo_tui.domain.risk import Mode, RiskVerdict, TradingState
from robo_tui.domain.signals import EnsembleDecision, Proposal, ProposalStatus
from robo_tui.engine.account import AccountBook
from robo_tui.engine.bus import EventBus
from robo_tui.engine.orders import OrderPath, SubmitResult
from robo_tui.engine.outcomes import TradeOutcomes
from robo_tui.engine.risk import RiskContext, RiskGate
from robo_tui.engine.sizing import Sizer, SizeRequest, atr
from robo_tui.ports import Clock, Store


class ProposalNotFound(Exception):
    """No pending proposal has that id."""


class ProposalCounts(Protocol):
    """Proposals made so far (the engine's cycle counters implement it)."""

    proposals: int


class ProposalDesk:
    """Builds proposals, records them with their pre-check, keeps the pending book (`pending`),
    and carries out approvals, rejections and expiry."""

    def __init__(self, *, settings: Settings, store: Store, bus: EventBus, clock: Clock,
                 new_id: Callable[[str], str], orders: OrderPath, book: AccountBook,
                 outcomes: TradeOutcomes, risk: RiskGate, sizer: Sizer,
                 instruments: Mapping[str, Instrument], market: Mapping[str, BarArrays],
                 ideas: Mapping[str, list[TradeIdea]], counts: ProposalCounts,
                 mode: Callable[[], Mode], can_short: Callable[[], bool],
                 context: Callable[[datetime], RiskContext]) -> None:
        self.pending: dict[str, Proposal] = {}
        """Proposals waiting for a human, by id."""
        self.counts = counts
        """Where proposals are counted (the engine's counters of the cycle)."""
        self._settings = settings
        self._store = store
        self._bus = bus
        self._clock = clock
        self._new_id = new_id
        self._orders = orders
        self._book = book
        self._outcomes = outcomes
        self._risk = risk
        self._sizer = sizer
        self._instruments = instruments
        self._market = market
        self._ideas = ideas
        self._mode = mode
        self._can_short = can_short
        self._context = context

    # ------------------------------------------------------------------ building

    def wanted_change(self, symbol: str, desired: int) -> int | None:
        """The direction (+1, 0, -1) to move `symbol` to when the ensemble wants `desired`, or
        None when what is held already matches. No shorts where they are not allowed; while
        REDUCING a reversal becomes an exit."""
        held = self._book.account.position_qty(symbol)
        current = 0 if abs(held) < 1e-12 else (1 if held > 0 else -1)
        if desired < 0 and not self._can_short():
            desired = 0
        if self._risk.state is TradingState.REDUCING and current != 0 and desired != current:
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
        account = self._book.account
        held = account.position_qty(symbol)
        current = 0 if abs(held) < 1e-12 else (1 if held > 0 else -1)
        price = self._book.prices[symbol]
        rationale = _rationale(decision)
        ttl = self._settings.engine.proposal_ttl_seconds
        expires = now + timedelta(seconds=ttl) if self._mode() is Mode.SEMI_AUTO else None
        idea_ids = tuple(i.id for i in self._ideas.get(symbol, ()))
        if desired == 0:
            side = Side.SELL if current > 0 else Side.BUY
            return Proposal(self._new_id("P"), now, symbol, side, abs(held), price, None, None,
                            decision.confidence, rationale, decision.votes, idea_ids,
                            reduce_only=True, expires_at=expires)
        side = Side.BUY if desired > 0 else Side.SELL
        inst = self._instruments[symbol]
        sizing = self._settings.sizing
        volatility = entry_atr(self._market[symbol], sizing) if self._sizer.needs_atr else 0.0
        sized = self._sizer.size(SizeRequest(
            symbol=symbol, direction=desired, price=price,
            atr=volatility,
            confidence=decision.confidence, equity=account.equity,
            cash=account.cash + (held * price if current > 0 else 0.0),
            fractional=inst.fractional, live=self._mode().live_limits,
            pace=self._settings.reports.pace(self._book.day_pnl),
        ))
        if sized.quantity <= 0:
            return None
        stops = sizing.attach_stops
        return Proposal(self._new_id("P"), now, symbol, side, sized.quantity, price,
                        sized.stop_loss if stops else None, sized.take_profit if stops else None,
                        decision.confidence, rationale, decision.votes, idea_ids,
                        close_quantity=abs(held) if current != 0 else 0.0, expires_at=expires)

    def proposal_intent(self, proposal: Proposal) -> OrderIntent:
        """The one order a proposal becomes; a reversal closes the opposite position and opens
        the new one in the same order."""
        return OrderIntent(
            proposal.symbol, proposal.side, proposal.close_quantity + proposal.quantity,
            stop_loss=proposal.stop_loss, take_profit=proposal.take_profit,
            reduce_only=proposal.reduce_only, confidence=proposal.confidence,
            reason=proposal.rationale[:500], proposal_id=proposal.id,
            equity_fraction=None if proposal.reduce_only else self._sizer.entry_equity_fraction,
        )

    def precheck(self, proposal: Proposal) -> RiskVerdict:
        """What the gate would say about a proposal's order now."""
        return self._risk.check(self.proposal_intent(proposal), self._context(self._clock.now()))

    # ------------------------------------------------------------------ recording

    async def propose(self, proposal: Proposal) -> None:
        """Record a proposal. In semi-auto it waits for a human with the gate's pre-check;
        otherwise it goes through the order path at once and the gate's verdict is its
        pre-check."""
        orders = self._orders
        await orders.refresh_account(proposal.ts)
        if self._mode() is Mode.SEMI_AUTO:
            await self._queue(proposal)
            return
        self.counts.proposals += 1
        command = SubmitOrder(self.proposal_intent(proposal), "strategy")
        verdict = orders.judge(command, self._context(proposal.ts))
        await self._record(proposal, verdict)  # the verdict is its pre-check
        result = await orders.execute(command, verdict, proposal.ts)
        await self._done(proposal, result, by="engine")

    def pending_like(self, proposal: Proposal) -> Proposal | None:
        """The proposal already waiting for a human that trades `proposal`'s symbol in the same
        direction (a duplicate would ask for the same trade twice), or None."""
        for waiting in self.pending.values():
            if (waiting.symbol == proposal.symbol and waiting.side is proposal.side
                    and waiting.reduce_only == proposal.reduce_only):
                return waiting
        return None

    async def _queue(self, proposal: Proposal) -> None:
        """Semi-auto: queue `proposal` for a human unless the same trade already waits (then it
        is dropped, with an audit record naming the one that waits) or the gate's pre-check
        already refuses it (then it is recorded DENIED and shown, but asks nobody)."""
        waiting = self.pending_like(proposal)
        if waiting is not None:
            await self._store.audit("proposal.duplicate", {
                "symbol": proposal.symbol, "side": proposal.side.value,
                "pending": waiting.id, "dropped": proposal.id}, "engine")
            for idea_id in proposal.idea_ids:
                await self._store.update_ai_decision(idea_id, {
                    "outcome": "no trade: the same proposal already waits", "proposal_id": waiting.id})
            return
        self.counts.proposals += 1
        precheck = self.precheck(proposal)
        await self._record(proposal, precheck)
        if not precheck.allowed:
            reason = "; ".join(r.message for r in precheck.reasons)
            await self._store.update_proposal(proposal.id, ProposalStatus.DENIED, "engine",
                                              f"pre-check failed: {reason}")
            self._bus.publish(ProposalDecided(ts=proposal.ts, proposal=proposal,
                                              decision="not queued", by="engine",
                                              reason=f"pre-check failed: {reason}"))
            for idea_id in proposal.idea_ids:
                await self._store.update_ai_decision(idea_id, {
                    "outcome": ProposalStatus.DENIED.value, "proposal_id": proposal.id,
                    "verdict": list(precheck.codes)})
            return
        self.pending[proposal.id] = proposal

    async def restore(self) -> None:
        """Put the proposals still pending in the store back in the book (at start)."""
        for proposal, _ in await self._store.proposals(ProposalStatus.PENDING):
            self.pending[proposal.id] = proposal

    async def _record(self, proposal: Proposal, precheck: RiskVerdict) -> None:
        await self._store.record_proposal(proposal, precheck)
        self._bus.publish(ProposalCreated(ts=proposal.ts, proposal=proposal, precheck=precheck))
        for idea_id in proposal.idea_ids:
            await self._store.update_ai_decision(idea_id, {"outcome": "proposal",
                                                           "proposal_id": proposal.id,
                                                           "precheck": list(precheck.codes)})

    async def _done(self, proposal: Proposal, result: SubmitResult, *, by: str) -> None:
        status = ProposalStatus.SUBMITTED if result.sent else ProposalStatus.DENIED
        reason = "; ".join(r.message for r in result.verdict.reasons)
        await self._store.update_proposal(proposal.id, status, by, reason)
        if result.sent:
            self._outcomes.entered(proposal.symbol, proposal.votes)
        for idea_id in proposal.idea_ids:
            await self._store.update_ai_decision(idea_id, {"outcome": status.value,
                                                           "proposal_id": proposal.id,
                                                           "verdict": list(result.verdict.codes)})

    # ------------------------------------------------------------------ decisions

    async def approve(self, proposal_id: str, *, by: str, source: OrderSource) -> SubmitResult:
        """Approve a pending proposal: its order goes through the order path and the gate
        again, now (the caller holds the engine's order lock)."""
        # one atomic transition: whoever takes it from the book first approves it; a second
        # approval (the console and the shell at once) is told it is already decided
        proposal = self.pending.pop(proposal_id, None)
        if proposal is None:
            raise ProposalNotFound(await self._not_pending(proposal_id))
        try:
            await self._store.update_proposal(proposal_id, ProposalStatus.APPROVED, by, "")
        except ValueError as exc:  # the store refused the move: decided by another process
            raise ProposalNotFound(f"proposal {proposal_id} was already decided: {exc}") from None
        self._bus.publish(ProposalDecided(ts=self._clock.now(), proposal=proposal,
                                          decision="approved", by=by))
        try:
            result = await self._orders.submit(SubmitOrder(self.proposal_intent(proposal), source))
        except BaseException as exc:  # never left "approved" with no order
            await self._store.update_proposal(proposal_id, ProposalStatus.DENIED, by,
                                              f"approved, but not sent: {type(exc).__name__} {exc}")
            raise
        await self._done(proposal, result, by=by)
        await self._orders.settle(self._clock.now())
        return result

    async def _not_pending(self, proposal_id: str) -> str:
        """Why `proposal_id` cannot be decided: already decided (and how), or unknown."""
        row = await self._store.get_proposal(proposal_id)
        if row is None:
            return f"no pending proposal {proposal_id}"
        return f"proposal {proposal_id} is already {row[1].value}"

    async def reject(self, proposal_id: str, *, by: str, reason: str) -> None:
        """Reject a pending proposal, recorded with the reason (the caller holds the lock)."""
        proposal = self.pending.pop(proposal_id, None)
        if proposal is None:
            raise ProposalNotFound(await self._not_pending(proposal_id))
        await self._store.update_proposal(proposal_id, ProposalStatus.REJECTED, by, reason)
        self._bus.publish(ProposalDecided(ts=self._clock.now(), proposal=proposal,
                                          decision="rejected", by=by, reason=reason))

    async def expire(self, now: datetime) -> None:
        """Drop the pending proposals whose time ran out before a decision."""
        for proposal in list(self.pending.values()):
            if proposal.expires_at is not None and now >= proposal.expires_at:
                del self.pending[proposal.id]
                await self._store.update_proposal(proposal.id, ProposalStatus.EXPIRED, "engine",
                                                  "expired before a decision")
                self._bus.publish(ProposalDecided(ts=now, proposal=proposal, decision="expired",
                                                  by="engine"))

    # ------------------------------------------------------------------ the ideas cited

    async def note_ideas(self, ideas: Sequence[TradeIdea], outcome: str,
                         decision: EnsembleDecision) -> None:
        """Ideas that led to no proposal: recorded with why, and the ensemble's score."""
        for idea in ideas:
            await self._store.update_ai_decision(idea.id, {"outcome": outcome,
                                                           "ensemble_score": decision.score})

    async def note_halted(self, ideas: Mapping[str, Sequence[TradeIdea]]) -> None:
        """Ideas made while HALTED: recorded as no trade (the ensemble and the gate never ran)."""
        for symbol_ideas in ideas.values():
            for idea in symbol_ideas:
                await self._store.update_ai_decision(idea.id, {"outcome": "no trade: trading is halted"})


def entry_atr(bars: BarArrays, sizing: SizingSettings) -> float:
    """The ATR an entry's stop and target count from: Wilder's ATR over a fixed tail of `bars`
    (the same whatever history length a caller holds), scaled by the square root of time to
    `sizing.atr_horizon_minutes` when the bars are shorter than that (a 2-ATR stop on 1-minute
    bars would sit ~0.1 % from entry, inside a few minutes' noise)."""
    window = sizing.atr_window
    value = atr(bars, window, last=window * 10)
    horizon = sizing.atr_horizon_minutes * 60.0
    n = bars.ts.shape[0]
    if horizon <= 0 or n <= window:
        return value  # too little history: the sizer's fallback is already a wide guess
    steps = sorted(int(bars.ts[i]) - int(bars.ts[i - 1]) for i in range(n - window, n))
    bar_seconds = steps[len(steps) // 2] / 1e9  # the median: market closes are not bars
    if 0 < bar_seconds < horizon:
        value *= math.sqrt(horizon / bar_seconds)
    return value


def _rationale(decision: EnsembleDecision) -> str:
    parts = [f"ensemble {decision.score:+.2f} → {decision.direction.value if decision.direction else 'hold'}"]
    for vote in decision.votes:
        if not math.isnan(vote.score):
            parts.append(f"{vote.voter} {vote.score:+.2f}: {vote.reason}")
    return "; ".join(parts)

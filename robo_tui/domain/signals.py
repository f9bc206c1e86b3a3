"""Strategy signals, ensemble decisions and proposals."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from robo_tui.domain.frozen import frozen
from robo_tui.domain.orders import Side


class Direction(StrEnum):
    """What a signal or idea wants held."""

    LONG = "long"
    FLAT = "flat"
    SHORT = "short"


@frozen
class Signal:
    """One voter's opinion on one symbol: score in [-1, 1] (sign is direction), with its reason.

    Voters are strategies and analysts (`source` is "strategy" or "analyst").
    """

    voter: str
    symbol: str
    score: float
    confidence: float
    reason: str
    ts: datetime
    source: str = "strategy"


@frozen
class EnsembleDecision:
    """The ensemble's combined view on one symbol at one time."""

    symbol: str
    ts: datetime
    score: float
    confidence: float
    direction: Direction | None  # None: no voter has an opinion, hold what is held
    votes: tuple[Signal, ...]


class ProposalStatus(StrEnum):
    """A proposal's lifecycle."""

    PENDING = "pending"  # waiting for a human decision (semi-auto)
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"
    SUBMITTED = "submitted"  # went to Engine.submit (auto/paper, or after approval)
    DENIED = "denied"  # the gate said no at submit time


@frozen
class Proposal:
    """A sized trade the engine suggests, with the votes and rationale behind it."""

    id: str
    ts: datetime
    symbol: str
    side: Side
    quantity: float
    price: float  # reference price at proposal time
    stop_loss: float | None
    take_profit: float | None
    confidence: float
    rationale: str
    votes: tuple[Signal, ...] = ()
    idea_ids: tuple[str, ...] = ()
    reduce_only: bool = False
    close_quantity: float = 0.0  # units of an opposite position closed first (a reversal)
    expires_at: datetime | None = None
    status: ProposalStatus = ProposalStatus.PENDING

    @property
    def notional(self) -> float:
        """Quantity times the reference price."""
        return abs(self.quantity * self.price)

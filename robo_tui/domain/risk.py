"""Trading modes, risk states and verdicts."""

from __future__ import annotations

from enum import StrEnum

from robo_tui.domain.frozen import frozen


class Mode(StrEnum):
    """How the engine acts on proposals. LIVE trades real money and needs explicit confirmation."""

    PAPER = "paper"
    SEMI_AUTO = "semi-auto"
    AUTO = "auto"
    LIVE = "live"


class TradingState(StrEnum):
    """The risk gate's state: REDUCING allows only risk-reducing orders, HALTED only cancels."""

    ACTIVE = "ACTIVE"
    REDUCING = "REDUCING"
    HALTED = "HALTED"


@frozen
class RiskReason:
    """One machine-readable reason a verdict gives (`code`) with a sentence for the human."""

    code: str
    message: str


@frozen
class RiskVerdict:
    """The gate's answer for one order intent; a denial lists every failed rule."""

    allowed: bool
    state: TradingState
    reasons: tuple[RiskReason, ...] = ()
    checked: tuple[str, ...] = ()  # codes of the rules evaluated
    notes: tuple[str, ...] = ()  # rules skipped and why (e.g. no returns for the correlation rule)

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(r.code for r in self.reasons)

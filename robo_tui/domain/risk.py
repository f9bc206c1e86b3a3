"""Trading modes, risk states, the risk gate's reason codes and its verdicts."""

from __future__ import annotations

from enum import StrEnum

from robo_tui.domain.frozen import frozen


class Mode(StrEnum):
    """How the engine acts on proposals. LIVE trades real money and needs explicit confirmation."""

    PAPER = "paper"
    SEMI_AUTO = "semi-auto"
    AUTO = "auto"
    LIVE = "live"
    SHADOW = "shadow"
    """The live account's real state and real data, every proposal judged by the gate and
    recorded as it would be sent, never sent (the dry-run preview before live money)."""

    @property
    def live_limits(self) -> bool:
        """Whether the live caps apply (LIVE, and SHADOW, which previews LIVE)."""
        return self in (Mode.LIVE, Mode.SHADOW)


class TradingState(StrEnum):
    """The risk gate's state: REDUCING allows only risk-reducing orders, HALTED only cancels."""

    ACTIVE = "ACTIVE"
    REDUCING = "REDUCING"
    HALTED = "HALTED"


class RiskCode(StrEnum):
    """Stable machine-readable reason codes (the store, the UI and tests key on these).

    Each is the code of one rule of the gate's table (`robo_tui.engine.risk_rules.RISK_RULES`),
    documented in docs/risk.md. A rule added outside this list may use any other snake_case code.
    """

    HALTED = "halted"
    MAX_DAILY_LOSS = "max_daily_loss"
    MAX_DRAWDOWN = "max_drawdown"
    REDUCING_NOT_RISK_REDUCING = "reducing_not_risk_reducing"
    REDUCE_ONLY_NOT_REDUCING = "reduce_only_not_reducing"
    SYMBOL_NOT_ALLOWED = "symbol_not_allowed"
    BAD_QUANTITY = "bad_quantity"
    NUMBER_OUT_OF_RANGE = "number_out_of_range"
    FRACTIONAL_NOT_ALLOWED = "fractional_not_allowed"
    NO_PRICE = "no_price"
    NO_EQUITY = "no_equity"
    MIN_CONFIDENCE = "min_confidence"
    COOLDOWN_EXIT = "cooldown_exit"
    COOLDOWN_LOSS = "cooldown_loss"
    RATE_LIMIT = "rate_limit"
    SHORT_NOT_ALLOWED = "short_not_allowed"
    MISSING_STOP = "missing_stop"
    MISSING_TAKE_PROFIT = "missing_take_profit"
    STOP_WRONG_SIDE = "stop_wrong_side"
    TAKE_PROFIT_WRONG_SIDE = "take_profit_wrong_side"
    MAX_ORDER_NOTIONAL = "max_order_notional"
    MAX_LIVE_ORDER_NOTIONAL = "max_live_order_notional"
    MAX_LIVE_ORDERS_PER_DAY = "max_live_orders_per_day"
    LIVE_SYMBOL_NOT_ALLOWED = "live_symbol_not_allowed"
    MAX_POSITION = "max_position"
    MAX_SECTOR = "max_sector"
    MAX_GROSS_EXPOSURE = "max_gross_exposure"
    MAX_POSITIONS = "max_positions"
    MAX_RISK_PER_TRADE = "max_risk_per_trade"
    MAX_CORRELATION = "max_correlation"
    MARKET_CLOSED = "market_closed"
    STALE_DATA = "stale_data"
    MARKS_DISAGREE = "marks_disagree"
    DRIFT = "drift"
    LEFT_UNIVERSE = "left_universe"


CIRCUIT_BREAKER = "circuit_breaker"
"""The code of the state the circuit breaker sets (not a rule: it judges calls, not orders)."""


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

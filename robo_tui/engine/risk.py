"""The one risk gate: every order from every source passes `RiskGate.check` before a broker.

The gate is a small state machine (ACTIVE, REDUCING, HALTED) plus a set of rules. `check` is pure:
it judges one order intent against a `RiskContext` (account, prices, recent returns, open
orders, broker capabilities) and lists every rule that failed, each with a stable snake_case
code and a sentence with the numbers. The `record_*` methods, `evaluate`, `halt`, `resume` and
`restore` are the only things that change the gate. HALTED is latched: only `resume` (or
`restore`) leaves it. The rules, defaults and codes are documented in docs/risk.md.

Definitions used throughout:

- An order is *risk-reducing* when it shrinks |position| without flipping it, counting the
  other open orders on the same side (two exits that together would flip a position are not
  both reducing). Everything else (opening, adding, flipping) is an *entry*.
- The *value price* of an order is the larger of its limit price and the market price (either
  may be missing): exposure is never under-measured, whichever the order fills at.
- The *expected fill* is the better of the two for the order's side (the lower for a buy, the
  higher for a sell); stops and take-profits must sit on the right side of it.
- An order with `equity_fraction` is judged by the larger of `quantity * value price` and
  `equity_fraction * equity`, since the venue sizes it at fill time.
- Open orders count as if they fill for position, sector, gross exposure, position-count and
  correlation limits: in the order's own symbol those on its side (the book it can create), in
  other symbols whichever side makes the larger position.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import field
from datetime import datetime, timedelta
from enum import StrEnum

import numpy as np

from robo_tui.config import RiskSettings
from robo_tui.domain.frozen import frozen
from robo_tui.domain.market import FloatArray, Instrument
from robo_tui.domain.orders import AccountSnapshot, Order, OrderIntent
from robo_tui.domain.risk import Mode, RiskReason, RiskVerdict, TradingState

__all__ = ["RiskCode", "RiskContext", "RiskGate", "return_correlation"]

_TOL = 1e-9  # relative tolerance on limits, so a sizer that hits a limit exactly is not denied
_RATE_WINDOW = timedelta(seconds=60)
_MIN_CORR_SAMPLES = 10


class RiskCode(StrEnum):
    """Stable machine-readable reason codes (the store, the UI and tests key on these)."""

    HALTED = "halted"
    MAX_DAILY_LOSS = "max_daily_loss"
    MAX_DRAWDOWN = "max_drawdown"
    REDUCING_NOT_RISK_REDUCING = "reducing_not_risk_reducing"
    REDUCE_ONLY_NOT_REDUCING = "reduce_only_not_reducing"
    SYMBOL_NOT_ALLOWED = "symbol_not_allowed"
    BAD_QUANTITY = "bad_quantity"
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
    MAX_POSITION = "max_position"
    MAX_SECTOR = "max_sector"
    MAX_GROSS_EXPOSURE = "max_gross_exposure"
    MAX_POSITIONS = "max_positions"
    MAX_RISK_PER_TRADE = "max_risk_per_trade"
    MAX_CORRELATION = "max_correlation"


C = RiskCode

# Rules every order is judged by (the state, the symbol, the quantity).
_ALWAYS_CODES = (C.HALTED, C.MAX_DAILY_LOSS, C.MAX_DRAWDOWN, C.SYMBOL_NOT_ALLOWED, C.BAD_QUANTITY,
           C.FRACTIONAL_NOT_ALLOWED)
# Rules only entries are judged by.
_ENTRY_CODES = (C.REDUCING_NOT_RISK_REDUCING, C.NO_PRICE, C.NO_EQUITY, C.MIN_CONFIDENCE,
          C.COOLDOWN_EXIT, C.COOLDOWN_LOSS, C.RATE_LIMIT, C.SHORT_NOT_ALLOWED, C.MISSING_STOP,
          C.MISSING_TAKE_PROFIT, C.STOP_WRONG_SIDE, C.TAKE_PROFIT_WRONG_SIDE,
          C.MAX_ORDER_NOTIONAL, C.MAX_POSITION, C.MAX_SECTOR, C.MAX_GROSS_EXPOSURE,
          C.MAX_POSITIONS, C.MAX_RISK_PER_TRADE, C.MAX_CORRELATION)
_ALWAYS = tuple(c.value for c in _ALWAYS_CODES)  # plain strings in verdicts, not enum members
_ENTRY = tuple(c.value for c in _ENTRY_CODES)
_STATE_RANK = {TradingState.ACTIVE: 0, TradingState.REDUCING: 1, TradingState.HALTED: 2}


@frozen
class RiskContext:
    """Everything the gate judges an order against, at one moment.

    `returns` holds recent bar returns per symbol (oldest first) for the correlation rule; a
    symbol without returns skips that rule with a note. `open_orders` are orders sent and not
    yet done (UNKNOWN included): they count as if they fill.
    """

    now: datetime
    account: AccountSnapshot
    mode: Mode
    day_start_equity: float
    peak_equity: float
    returns: Mapping[str, FloatArray] = field(default_factory=dict)
    open_orders: Sequence[Order] = ()
    broker_supports_short: bool = False
    broker_supports_fractional: bool = False


@frozen
class _Breach:
    """A loss limit the account has reached (from `evaluate`'s and `check`'s shared judgement)."""

    state: TradingState
    code: RiskCode
    message: str


def _price(value: float | None) -> float | None:
    """`value` when it is a usable price (finite and > 0), else None."""
    if value is None or not math.isfinite(value) or value <= 0:
        return None
    return float(value)


def _pcts(value: float, limit: float) -> tuple[str, str]:
    """`value` and `limit` as percentages, with enough decimals to tell them apart."""
    for digits in (1, 2, 3, 4):
        v, lim = f"{value:.{digits}%}", f"{limit:.{digits}%}"
        if v != lim:
            return v, lim
    return v, lim


def _fmt_qty(q: float) -> str:
    return f"{q:,.8g}"


def return_correlation(a: FloatArray, b: FloatArray, window: int) -> tuple[float, int] | None:
    """Pearson correlation of the last `window` aligned returns of `a` and `b`, and the sample size.

    The series are aligned at their ends (the most recent bars); pairs with a non-finite value
    are dropped. None when fewer than 10 pairs remain or either series is constant.
    """
    n = min(len(a), len(b), window)
    if n < _MIN_CORR_SAMPLES:
        return None
    return _correlation_of(a, b, n, _Centered.of(a, n), _Centered.of(b, n))


@frozen
class _Centered:
    """The last `n` values of a return series minus their mean, and their sum of squares: the
    part of a correlation that depends on one series only (`source` is that series)."""

    source: FloatArray
    n: int
    deviations: FloatArray
    sum_squares: float

    @staticmethod
    def of(returns: FloatArray, n: int) -> _Centered | None:
        """None when one of the values is not finite (the pair must then be filtered together)."""
        x = np.asarray(returns[len(returns) - n:], dtype=np.float64)
        total = float(np.add.reduce(x))
        if not math.isfinite(total):
            return None
        dev = x - total / n  # the mean, as ndarray.mean computes it
        return _Centered(returns, n, dev, float(dev @ dev))


def _correlation_of(a: FloatArray, b: FloatArray, n: int, ca: _Centered | None,
                    cb: _Centered | None) -> tuple[float, int] | None:
    """`return_correlation` over the last n values, from their centred forms when both are
    finite, else by dropping the non-finite pairs first."""
    if ca is None or cb is None:
        x = np.asarray(a[len(a) - n:], dtype=np.float64)
        y = np.asarray(b[len(b) - n:], dtype=np.float64)
        ok = np.isfinite(x) & np.isfinite(y)
        m = int(np.count_nonzero(ok))
        if m < _MIN_CORR_SAMPLES:
            return None
        ca, cb = _Centered.of(x[ok], m), _Centered.of(y[ok], m)
        assert ca is not None and cb is not None
    if ca.sum_squares <= 0.0 or cb.sum_squares <= 0.0:
        return None
    corr = float(ca.deviations @ cb.deviations) / math.sqrt(ca.sum_squares * cb.sum_squares)
    return max(-1.0, min(1.0, corr)), ca.n


class RiskGate:
    """The only path to a broker: judges every order intent and holds the trading state.

    `check` never changes the gate. The engine calls `record_sent` after a broker accepted an
    order (rate limit), `record_exit` when a position is closed (cooldowns), `record_failure` /
    `record_success` for data, model and broker calls (circuit breaker), and `evaluate` on every
    portfolio update (daily loss and drawdown). HALTED is latched until `resume`.
    """

    def __init__(self, settings: RiskSettings, instruments: Mapping[str, Instrument]) -> None:
        self._settings = settings
        self._instruments: dict[str, Instrument] = dict(instruments)
        self._state = TradingState.ACTIVE
        self._reason = ""
        self._failures: dict[str, int] = {}
        self._last_exit: dict[str, datetime] = {}
        self._last_loss: dict[str, datetime] = {}
        self._sent: deque[datetime] = deque()
        self._centred: dict[str, _Centered | None] = {}  # per symbol, for the correlation rule
        # After a resume, losses already taken are accepted: loss limits are measured from the
        # equity at the first evaluate() after the resume until the engine's own marks move on.
        self._rebase_pending = False
        self._peak_anchor: float | None = None
        self._day_anchor: tuple[float, float] | None = None  # (day_start_equity seen, equity)

    # ----------------------------------------------------------------------------- state

    @property
    def state(self) -> TradingState:
        """ACTIVE, REDUCING (only risk-reducing orders) or HALTED (no new orders; latched)."""
        return self._state

    @property
    def halt_reason(self) -> str:
        """Why the gate is HALTED ("" when it is not)."""
        return self._reason if self._state is TradingState.HALTED else ""

    @property
    def state_reason(self) -> str:
        """Why the gate is in its current state ("" when ACTIVE)."""
        return self._reason

    @property
    def settings(self) -> RiskSettings:
        """The limits in force."""
        return self._settings

    @property
    def failures(self) -> Mapping[str, int]:
        """Consecutive failures per kind (data, model, broker) counted by the circuit breaker."""
        return dict(self._failures)

    def update_settings(self, settings: RiskSettings) -> None:
        """Apply new limits at once (live reconfiguration); the state and counters are kept."""
        self._settings = settings

    def update_instruments(self, instruments: Mapping[str, Instrument]) -> None:
        """Replace the universe (the allow-list and the sector map)."""
        self._instruments = dict(instruments)

    def halt(self, reason: str) -> None:
        """Enter HALTED (the kill switch). Latched: only `resume` leaves it."""
        self._state = TradingState.HALTED
        self._reason = reason.strip() or "halted by the operator"

    def resume(self) -> None:
        """Leave HALTED (or REDUCING) for ACTIVE: the only way out of a halt.

        Failure counters are cleared, and losses taken so far are accepted: the daily-loss and
        drawdown limits are measured afresh from the equity at the next `evaluate`.
        """
        self._state = TradingState.ACTIVE
        self._reason = ""
        self._failures.clear()
        self._rebase_pending = True
        self._peak_anchor = None
        self._day_anchor = None

    def restore(self, state: TradingState, reason: str) -> None:
        """Set the state persisted by the engine at start (a HALTED state stays latched)."""
        self._state = TradingState(state)
        self._reason = reason if self._state is not TradingState.ACTIVE else ""
        if self._state is TradingState.HALTED and not self._reason:
            self._reason = "halted (restored from the database)"

    # ---------------------------------------------------------------------------- records

    def record_sent(self, intent: OrderIntent, ts: datetime) -> None:
        """Count an order sent to the broker in the rolling one-minute rate-limit window."""
        self._sent.append(ts)
        cutoff = ts - _RATE_WINDOW
        while self._sent and self._sent[0] <= cutoff:
            self._sent.popleft()

    def record_exit(self, symbol: str, ts: datetime, pnl: float) -> None:
        """A position in `symbol` was closed at `ts` with `pnl`; starts the cooldowns.

        A loss (or an unknown, non-finite P&L) also starts the longer loss cooldown.
        """
        prev = self._last_exit.get(symbol)
        if prev is None or ts > prev:
            self._last_exit[symbol] = ts
        if not pnl >= 0:
            prev = self._last_loss.get(symbol)
            if prev is None or ts > prev:
                self._last_loss[symbol] = ts

    def record_failure(self, kind: str, message: str) -> TradingState:
        """Count a consecutive failure of `kind` ("data", "model", "broker"); may trip the breaker.

        After `circuit_breaker_failures` in a row of one kind the gate goes HALTED (latched) with
        the reason. Returns the state after counting.
        """
        n = self._failures.get(kind, 0) + 1
        self._failures[kind] = n
        limit = self._settings.circuit_breaker_failures
        if n >= limit and self._state is not TradingState.HALTED:
            self._state = TradingState.HALTED
            self._reason = (
                f"circuit breaker: {n} consecutive {kind} failures (limit {limit}); "
                f"last: {message}"
            )
        return self._state

    def record_success(self, kind: str) -> None:
        """A call of `kind` succeeded: its consecutive-failure count starts again from zero."""
        self._failures.pop(kind, None)

    # --------------------------------------------------------------------------- evaluate

    def evaluate(self, ctx: RiskContext) -> TradingState:
        """Update the state from the day's loss and the drawdown; returns the new state.

        Day loss >= `daily_loss_reduce_pct` of start-of-day equity: REDUCING; >=
        `daily_loss_halt_pct`: HALTED; drawdown from the peak >= `max_drawdown_pct`: HALTED.
        REDUCING returns to ACTIVE when the loss recovers (or a new day starts); HALTED stays.
        An account whose equity cannot be computed leaves the state as it is.
        """
        if self._state is TradingState.HALTED:
            return self._state
        equity = ctx.account.equity
        if not math.isfinite(equity):
            return self._state
        if self._rebase_pending:
            self._rebase_pending = False
            self._peak_anchor = equity
            self._day_anchor = (ctx.day_start_equity, equity)
        else:
            if self._peak_anchor is not None:
                self._peak_anchor = max(self._peak_anchor, equity)
                if ctx.peak_equity <= self._peak_anchor:
                    self._peak_anchor = None  # the engine's own peak is the stricter mark again
            if self._day_anchor is not None and self._day_anchor[0] != ctx.day_start_equity:
                self._day_anchor = None  # a new day: the engine's start-of-day equity rules
        breaches = self._breaches(ctx, equity)
        if not breaches:
            self._state, self._reason = TradingState.ACTIVE, ""
            return self._state
        worst = max((b.state for b in breaches), key=_STATE_RANK.__getitem__)
        self._state = worst
        self._reason = "; ".join(b.message for b in breaches if b.state is worst)
        return self._state

    def _breaches(self, ctx: RiskContext, equity: float) -> list[_Breach]:
        """The loss limits reached by `equity` (pure; shared by `evaluate` and `check`)."""
        if self._rebase_pending or not math.isfinite(equity):
            return []
        s = self._settings
        out: list[_Breach] = []
        peak = ctx.peak_equity
        if self._peak_anchor is not None:
            peak = min(peak, max(self._peak_anchor, equity))
        if math.isfinite(peak) and peak > 0:
            dd = (peak - equity) / peak
            if dd >= s.max_drawdown_pct:
                out.append(_Breach(
                    TradingState.HALTED, C.MAX_DRAWDOWN,
                    f"drawdown {dd:.2%} from the equity peak {peak:,.2f} reached the "
                    f"{s.max_drawdown_pct:.2%} limit",
                ))
        start = ctx.day_start_equity
        if self._day_anchor is not None and self._day_anchor[0] == start:
            start = min(start, self._day_anchor[1])
        if math.isfinite(start) and start > 0:
            loss = (start - equity) / start
            if loss >= s.daily_loss_halt_pct:
                out.append(_Breach(
                    TradingState.HALTED, C.MAX_DAILY_LOSS,
                    f"day loss {loss:.2%} of start-of-day equity {start:,.2f} reached the "
                    f"{s.daily_loss_halt_pct:.2%} halt limit",
                ))
            elif loss >= s.daily_loss_reduce_pct:
                out.append(_Breach(
                    TradingState.REDUCING, C.MAX_DAILY_LOSS,
                    f"day loss {loss:.2%} of start-of-day equity {start:,.2f} reached the "
                    f"{s.daily_loss_reduce_pct:.2%} reduce limit: only risk-reducing orders",
                ))
        return out

    # ------------------------------------------------------------------------------ check

    def check(self, intent: OrderIntent, ctx: RiskContext) -> RiskVerdict:
        """Judge one order intent; pure (the gate's state and counters are not changed; it only
        remembers centred returns for the correlation rule).

        The verdict lists every failed rule (code and a sentence with the numbers), the codes of
        every rule evaluated, and notes on rules skipped. Risk-reducing orders are judged only by
        the state (HALTED), the symbol, the quantity and, in live mode, the live notional cap.
        """
        s = self._settings
        acct = ctx.account
        sym = intent.symbol
        side = intent.side
        sign = side.sign
        reasons: list[RiskReason] = []
        notes: list[str] = []
        checked: list[str] = list(_ALWAYS)
        equity = acct.equity
        held = acct.position_qty(sym)
        position = acct.positions.get(sym)

        # --- quantity and prices
        qty = intent.quantity
        qty_ok = isinstance(qty, (int, float)) and math.isfinite(qty) and qty > 0
        frac = intent.equity_fraction
        frac_ok = frac is None or (math.isfinite(frac) and frac > 0)
        market = _price(acct.prices.get(sym))
        limit = intent.limit_price
        limit_ok = limit is None or _price(limit) is not None
        limit_px = _price(limit) if limit is not None else None
        known = [p for p in (market, limit_px) if p is not None]
        value_price = max(known) if known else None
        if side.sign > 0:
            fill_price = min(known) if known else None
        else:
            fill_price = max(known) if known else None
        # a venue sizes an equity-fraction order from margin available at fill time, which is
        # never more than equity (short-sale proceeds in cash are not buying power)
        base = equity if math.isfinite(equity) else math.nan

        notional = math.nan  # the order's notional at the value price (or its equity fraction)
        eff_qty = math.inf if frac is not None else (qty if qty_ok else math.nan)
        if qty_ok and frac_ok and value_price is not None:
            notional = qty * value_price
            if frac is not None and math.isfinite(base):
                notional = max(notional, frac * base)
            eff_qty = notional / value_price

        # --- open orders: worst-case pending quantity per symbol and side
        pending = self._pending(ctx, base)
        pend_buy, pend_sell = pending.get(sym, (0.0, 0.0))
        pend_same = pend_buy if sign > 0 else pend_sell

        reducing = (
            qty_ok and frac_ok and held != 0.0 and sign * held < 0
            and eff_qty + pend_same <= abs(held) * (1 + _TOL)
        )

        # --- the state: latched, or what the account's losses already imply
        breaches = self._breaches(ctx, equity)
        state = self._state
        for b in breaches:
            if _STATE_RANK[b.state] > _STATE_RANK[state]:
                state = b.state
        if self._state is state:
            why = self._reason
        else:
            why = "; ".join(b.message for b in breaches if b.state is state)
        if state is TradingState.HALTED:
            reasons.append(RiskReason(
                C.HALTED,
                f"trading is halted ({why}); no new orders until a trader resumes "
                "(`robo-tui resume` or the console's kill switch)",
            ))
        if state is TradingState.HALTED or not reducing:
            reasons.extend(RiskReason(b.code, b.message) for b in breaches)

        # --- symbol allow-list (an exit of a position held outside the universe is allowed)
        inst = self._instruments.get(sym)
        if inst is None and not reducing:
            reasons.append(RiskReason(
                C.SYMBOL_NOT_ALLOWED,
                f"{sym!r} is not in the universe ({len(self._instruments)} symbols); "
                "only universe symbols may be traded",
            ))
        elif inst is None:
            notes.append(f"{sym} is outside the universe; allowed only to reduce the position")

        # --- quantity
        if not qty_ok:
            reasons.append(RiskReason(C.BAD_QUANTITY,
                                      f"quantity {qty!r} must be a finite number > 0"))
        if not frac_ok:
            reasons.append(RiskReason(C.BAD_QUANTITY,
                                      f"equity_fraction {frac!r} must be a finite number > 0"))
        if qty_ok and qty != math.floor(qty):  # brokers take whole units exactly, not 99.9999
            can_frac = inst is not None and inst.fractional and ctx.broker_supports_fractional
            if not can_frac:
                why = ("the broker does not support fractional quantities"
                       if inst is not None and inst.fractional
                       else f"{sym} trades in whole units only")
                reasons.append(RiskReason(
                    C.FRACTIONAL_NOT_ALLOWED,
                    f"quantity {_fmt_qty(qty)} is fractional; {why}",
                ))

        if intent.reduce_only:
            checked.append(C.REDUCE_ONLY_NOT_REDUCING.value)
            if not reducing:
                reasons.append(RiskReason(
                    C.REDUCE_ONLY_NOT_REDUCING,
                    f"reduce-only {side.value} {_fmt_qty(qty)} {sym} would not shrink the "
                    f"position of {_fmt_qty(held)} without flipping it"
                    + (f" (open {side.value} orders: {_fmt_qty(pend_same)})" if pend_same else ""),
                ))

        if ctx.mode is Mode.LIVE:
            checked.append(C.MAX_LIVE_ORDER_NOTIONAL.value)

        if reducing:
            # Exits: a trader must always be able to get out unless halted. Only the live cap (a
            # fat-finger guard on real money; a large exit can be split) still applies.
            if ctx.mode is Mode.LIVE:
                px = value_price if value_price is not None else (
                    _price(position.avg_price) if position is not None else None)
                if px is not None:
                    self._live_cap(reasons, eff_qty * px, px, sym)
                else:
                    notes.append("max_live_order_notional skipped: no price for the exit")
            return self._verdict(reasons, state, checked, notes)

        # ------------------------------------------------------------------ entries
        checked.extend(_ENTRY)
        if state is TradingState.REDUCING:
            reasons.append(RiskReason(
                C.REDUCING_NOT_RISK_REDUCING,
                f"trading is REDUCING ({why or 'restored'}): only orders that shrink "
                f"a position without flipping it are allowed; {side.value} {_fmt_qty(qty)} {sym} "
                f"against a position of {_fmt_qty(held)} is not one",
            ))
        if value_price is None:
            what = (f"limit price {limit!r} is not a valid price" if not limit_ok
                    else f"no market price for {sym}")
            if frac is not None and limit_px is None and market is None:
                what += " (an equity-fraction order cannot be judged without one)"
            reasons.append(RiskReason(C.NO_PRICE, what))
        elif not limit_ok:
            reasons.append(RiskReason(C.NO_PRICE, f"limit price {limit!r} is not a valid price"))
        equity_ok = math.isfinite(equity) and equity > 0
        if not equity_ok:
            reasons.append(RiskReason(
                C.NO_EQUITY, f"account equity {equity:,.2f} cannot size an entry (must be > 0)"))

        conf = intent.confidence
        if not conf >= s.min_confidence:
            reasons.append(RiskReason(
                C.MIN_CONFIDENCE,
                f"confidence {conf:.2f} is below the {s.min_confidence:.2f} minimum for entries",
            ))

        self._cooldowns(reasons, sym, ctx.now)

        since = ctx.now - _RATE_WINDOW
        recent = sum(1 for t in reversed(self._sent) if t > since)
        if recent + 1 > s.max_orders_per_minute:
            reasons.append(RiskReason(
                C.RATE_LIMIT,
                f"{recent} orders sent in the last minute; the limit is "
                f"{s.max_orders_per_minute} per minute",
            ))

        resulting = held + sign * (pend_same + eff_qty)  # nan when the size is unknown
        if sign < 0 and not resulting >= 0 and not (s.allow_short and ctx.broker_supports_short):
            why = ("shorting is disabled (risk.allow_short = false)" if not s.allow_short
                   else "the broker does not support short selling")
            res = "an unknown size" if not math.isfinite(resulting) else _fmt_qty(resulting)
            reasons.append(RiskReason(
                C.SHORT_NOT_ALLOWED,
                f"sell {_fmt_qty(qty)} {sym} would leave a short position of {res}; {why}",
            ))

        stop = self._stops(reasons, notes, intent, fill_price)

        # --- sizing limits (need a price, a valid quantity and equity)
        if value_price is not None and math.isfinite(notional):
            if notional > s.max_order_notional * (1 + _TOL):
                reasons.append(RiskReason(
                    C.MAX_ORDER_NOTIONAL,
                    f"order notional {notional:,.2f} exceeds the {s.max_order_notional:,.2f} "
                    "per-order limit",
                ))
            if ctx.mode is Mode.LIVE:
                self._live_cap(reasons, notional, value_price, sym)
        elif ctx.mode is Mode.LIVE:
            notes.append("max_live_order_notional skipped: the order has no valid size or price")

        if value_price is not None and math.isfinite(notional) and equity_ok:
            self._exposure(reasons, ctx, sym, sign, eff_qty, value_price, pending, equity)
            if stop is not None and fill_price is not None:
                # units bought at the expected fill for the judged notional, down to the stop
                opening = eff_qty if sign * held >= 0 else max(0.0, eff_qty - abs(held))
                risk = opening * value_price / fill_price * abs(fill_price - stop)
                limit_risk = s.max_risk_per_trade_pct * equity
                if risk > limit_risk * (1 + _TOL):
                    v, lim = _pcts(risk / equity, s.max_risk_per_trade_pct)
                    reasons.append(RiskReason(
                        C.MAX_RISK_PER_TRADE,
                        f"loss to the stop {risk:,.2f} is {v} of equity, limit {lim}",
                    ))
            else:
                notes.append("max_risk_per_trade skipped: no usable stop-loss")
        else:
            notes.append("sizing limits skipped: the order has no valid size, price or equity")

        occupied = self._occupied(ctx)
        self._positions_count(reasons, occupied, sym)
        self._correlation(reasons, notes, ctx, occupied, sym)
        return self._verdict(reasons, state, checked, notes)

    # ------------------------------------------------------------------------ rule helpers

    @staticmethod
    def _verdict(reasons: list[RiskReason], state: TradingState, checked: list[str],
                 notes: list[str]) -> RiskVerdict:
        plain = tuple([RiskReason(str(r.code), r.message) for r in reasons])  # no enum members
        return RiskVerdict(not plain, state, plain, tuple(checked), tuple(notes))

    def _live_cap(self, reasons: list[RiskReason], notional: float, price: float,
                  sym: str) -> None:
        cap = self._settings.max_live_order_notional
        if notional > cap * (1 + _TOL):
            reasons.append(RiskReason(
                C.MAX_LIVE_ORDER_NOTIONAL,
                f"order notional {notional:,.2f} exceeds the live per-order cap {cap:,.2f}; "
                f"at most {_fmt_qty(math.floor(cap / price * 1e8) / 1e8)} {sym} per order "
                "(split larger orders)",
            ))

    def _cooldowns(self, reasons: list[RiskReason], sym: str, now: datetime) -> None:
        s = self._settings
        self._cooldown(reasons, C.COOLDOWN_EXIT, sym, "exited", self._last_exit.get(sym),
                       s.cooldown_after_exit_seconds, now)
        self._cooldown(reasons, C.COOLDOWN_LOSS, sym, "closed at a loss",
                       self._last_loss.get(sym), s.cooldown_after_loss_seconds, now)

    @staticmethod
    def _cooldown(reasons: list[RiskReason], code: RiskCode, sym: str, what: str,
                  seen: datetime | None, wait: float, now: datetime) -> None:
        if seen is None or wait <= 0:
            return
        ago = (now - seen).total_seconds()
        if ago < wait:
            reasons.append(RiskReason(
                code,
                f"{sym} was {what} {ago:,.0f}s ago; new entries wait {wait:,.0f}s "
                f"({wait - ago:,.0f}s left)",
            ))

    def _stops(self, reasons: list[RiskReason], notes: list[str], intent: OrderIntent,
               fill_price: float | None) -> float | None:
        """Stop-loss and take-profit present (when required) and on the right side of the fill.

        Returns the stop when it is usable for the risk-per-trade rule.
        """
        s = self._settings
        buy = intent.side.sign > 0
        stop, tp = intent.stop_loss, intent.take_profit
        usable: float | None = None
        if stop is None:
            if s.require_stops:
                reasons.append(RiskReason(C.MISSING_STOP, "every entry must carry a stop-loss"))
        elif fill_price is None:
            notes.append("stop side not checked: no price")
        elif not (math.isfinite(stop) and stop > 0 and (stop < fill_price if buy
                                                        else stop > fill_price)):
            reasons.append(RiskReason(
                C.STOP_WRONG_SIDE,
                f"stop-loss {stop!r} must be {'below' if buy else 'above'} the expected fill "
                f"{fill_price:,.4f} of a {intent.side.value}",
            ))
        else:
            usable = stop
        if tp is None:
            if s.require_stops:
                reasons.append(RiskReason(C.MISSING_TAKE_PROFIT,
                                          "every entry must carry a take-profit"))
        elif fill_price is None:
            pass
        elif not (math.isfinite(tp) and tp > 0 and (tp > fill_price if buy else tp < fill_price)):
            reasons.append(RiskReason(
                C.TAKE_PROFIT_WRONG_SIDE,
                f"take-profit {tp!r} must be {'above' if buy else 'below'} the expected fill "
                f"{fill_price:,.4f} of a {intent.side.value}",
            ))
        return usable

    def _pending(self, ctx: RiskContext, base: float) -> dict[str, tuple[float, float]]:
        """Open orders as (buy quantity, sell quantity) per symbol, sized like new orders."""
        out: dict[str, tuple[float, float]] = {}
        if not ctx.open_orders:
            return out
        prices = ctx.account.prices
        for order in ctx.open_orders:
            it = order.intent
            q = it.quantity if math.isfinite(it.quantity) and it.quantity > 0 else 0.0
            known = [p for p in (_price(prices.get(it.symbol)), _price(it.limit_price))
                     if p is not None]
            if it.equity_fraction is not None and known and math.isfinite(base):
                frac = it.equity_fraction
                if math.isfinite(frac) and frac > 0:
                    q = max(q, frac * base / max(known))
            b, sl = out.get(it.symbol, (0.0, 0.0))
            out[it.symbol] = (b + q, sl) if it.side.sign > 0 else (b, sl + q)
        return out

    def _exposure(self, reasons: list[RiskReason], ctx: RiskContext, sym: str, sign: int,
                  eff_qty: float, value_price: float,
                  pending: Mapping[str, tuple[float, float]], equity: float) -> None:
        """Position, sector and gross-exposure limits on the worst-case resulting book."""
        s = self._settings
        acct = ctx.account
        sector = self._sector(sym)
        gross = 0.0
        sector_gross = 0.0
        symbols = set(acct.positions) | set(pending) | {sym}
        new_value = 0.0
        for other in symbols:
            pos = acct.positions.get(other)
            q = pos.quantity if pos is not None else 0.0
            b, sl = pending.get(other, (0.0, 0.0))
            px: float | None = value_price
            if other == sym:
                if sign > 0:
                    b += eff_qty
                else:
                    sl += eff_qty
            else:
                px = _price(acct.prices.get(other))
                if px is None and pos is not None:
                    px = _price(pos.avg_price)
                if px is None:
                    px = self._limit_price_of(ctx, other)
            if px is None:
                continue  # no price anywhere: an order in it was already judged without one
            if other == sym:
                # the book this order can create: it and every same-side open order filled
                value = abs(q + b) * px if sign > 0 else abs(q - sl) * px
                new_value = value
            else:
                value = max(abs(q + b), abs(q - sl)) * px
            gross += value
            if self._sector(other) == sector:
                sector_gross += value
        if new_value > s.max_position_pct * equity * (1 + _TOL):
            v, lim = _pcts(new_value / equity, s.max_position_pct)
            reasons.append(RiskReason(
                C.MAX_POSITION,
                f"position would be {v} of equity ({new_value:,.2f}), limit {lim}",
            ))
        if sector_gross > s.max_sector_pct * equity * (1 + _TOL):
            v, lim = _pcts(sector_gross / equity, s.max_sector_pct)
            reasons.append(RiskReason(
                C.MAX_SECTOR,
                f"sector {sector!r} exposure would be {v} of equity, limit {lim}",
            ))
        if gross > s.max_gross_exposure_pct * equity * (1 + _TOL):
            v, lim = _pcts(gross / equity, s.max_gross_exposure_pct)
            reasons.append(RiskReason(
                C.MAX_GROSS_EXPOSURE,
                f"gross exposure would be {v} of equity, limit {lim}",
            ))

    @staticmethod
    def _limit_price_of(ctx: RiskContext, sym: str) -> float | None:
        """The highest limit price among open orders in `sym` (a symbol with no market price)."""
        best: float | None = None
        for o in ctx.open_orders:
            if o.symbol == sym:
                p = _price(o.intent.limit_price)
                if p is not None and (best is None or p > best):
                    best = p
        return best

    def _sector(self, sym: str) -> str:
        inst = self._instruments.get(sym)
        return inst.sector if inst is not None else "unknown"

    @staticmethod
    def _occupied(ctx: RiskContext) -> set[str]:
        """Symbols holding a position or an open order (each takes a position slot)."""
        held = {s for s, p in ctx.account.positions.items() if p.quantity != 0.0}
        held.update(o.symbol for o in ctx.open_orders)
        return held

    def _positions_count(self, reasons: list[RiskReason], occupied: set[str], sym: str) -> None:
        limit = self._settings.max_positions
        if sym not in occupied and len(occupied) + 1 > limit:
            names = ", ".join(sorted(occupied))
            reasons.append(RiskReason(
                C.MAX_POSITIONS,
                f"opening {sym} would make {len(occupied) + 1} positions ({names} held or "
                f"ordered), limit {limit}",
            ))

    def _centered(self, symbol: str, returns: FloatArray, n: int) -> _Centered | None:
        """`_Centered.of(returns, n)`, kept per symbol while its returns (a read-only window's)
        and n are unchanged: one check compares a symbol with every held one, and the checks of
        one moment share their windows."""
        if returns.flags.writeable:  # only an immutable series can be remembered by identity
            return _Centered.of(returns, n)
        known = self._centred.get(symbol)
        if known is not None and known.source is returns and known.n == n:
            return known
        fresh = _Centered.of(returns, n)
        self._centred[symbol] = fresh
        return fresh

    def _correlation(self, reasons: list[RiskReason], notes: list[str], ctx: RiskContext,
                     occupied: set[str], sym: str) -> None:
        """|correlation| of the new position's returns with each held one, whatever the sides."""
        others = occupied - {sym}
        if not others:
            return
        mine = ctx.returns.get(sym)
        if mine is None:
            notes.append(f"max_correlation skipped: no returns for {sym}")
            return
        s = self._settings
        worst: list[tuple[float, str, int]] = []
        for other in sorted(others):
            theirs = ctx.returns.get(other)
            if theirs is None:
                notes.append(f"max_correlation with {other} skipped: no returns for {other}")
                continue
            n = min(len(mine), len(theirs), s.correlation_window)
            got = None if n < _MIN_CORR_SAMPLES else _correlation_of(
                mine, theirs, n, self._centered(sym, mine, n), self._centered(other, theirs, n))
            if got is None:
                notes.append(f"max_correlation with {other} skipped: too few or constant returns")
                continue
            corr, n = got
            if abs(corr) > s.max_correlation:
                worst.append((corr, other, n))
        if worst:
            worst.sort(key=lambda w: -abs(w[0]))
            pairs = ", ".join(f"{o} {c:+.2f} over {n} bars" for c, o, n in worst)
            reasons.append(RiskReason(
                C.MAX_CORRELATION,
                f"{sym} returns are correlated with held positions ({pairs}); "
                f"limit |corr| {s.max_correlation:.2f}",
            ))

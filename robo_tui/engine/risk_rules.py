"""The risk gate's rules as a table: `RISK_RULES`, one `RiskRule` per line, in the order a
verdict lists its reasons.

A rule is its code, the orders it judges (`RuleScope`), a check and, when the console shows how
close the account is to it, a meter measure. A check reads the order's facts (measured once per
order by `risk_facts.order_facts`) and the gate's memory, and returns the sentence of a denial
(with the numbers) or None; it may add notes on what it could not judge. Adding a rule is one
`RiskRule` here, one test, and one line in docs/risk.md.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from enum import IntFlag, StrEnum

from robo_tui.config import RiskSettings
from robo_tui.domain.frozen import frozen
from robo_tui.domain.risk import RiskCode, TradingState
from robo_tui.engine.meter import Meter, MeterBook, fmt_pct, level_for, pct_meter
from robo_tui.engine.risk_correlation import MIN_CORR_SAMPLES, correlation_of
from robo_tui.engine.risk_facts import (
    MAX_MAGNITUDE,
    MIN_PRICE,
    TOL,
    GateMemory,
    OrderFacts,
    fmt_qty,
    pcts,
    price_of,
)

__all__ = ["RATE_WINDOW", "RISK_RULES", "RiskRule", "RuleCheck", "RuleMeasure", "RuleOff",
           "RuleScope", "Trigger"]

RATE_WINDOW = timedelta(seconds=60)

C = RiskCode

RuleCheck = Callable[[OrderFacts, GateMemory, list[str]], str | None]
"""A rule's judgement: the denial's sentence, or None; it may append notes to the list."""
RuleMeasure = Callable[[MeterBook], Meter]
"""A rule's meter: how close the account is to the rule's limit."""
RuleOff = Callable[[RiskSettings], bool]
"""Whether the limits in force leave a rule unable to deny an order or note anything."""


class RuleScope(StrEnum):
    """Which orders a rule judges. Risk-reducing orders (exits) are judged only by the rules of
    every order, of reduce-only orders and of live mode: a trader must always be able to get
    out unless halted."""

    EVERY_ORDER = "every order"
    REDUCE_ONLY = "reduce-only orders"
    LIVE = "every order in live mode"
    ENTRIES = "entries"


class Trigger(IntFlag):
    """What must be true of an order's moment for a rule to be able to deny it (or note
    anything): the gate leaves a rule with a trigger out of the order's plan when none of its
    triggers holds, instead of calling it to return None. A rule without one always runs."""

    BLOCKED = 1  # the context blocks some symbol (market closed, stale, marks, drift)
    BREACH = 2  # the account has reached a loss limit
    HALTED = 4  # the gate (or the account's losses) puts trading in HALTED
    REDUCING = 8  # ... in REDUCING


@frozen
class RiskRule:
    """One rule of the gate: its reason code, the orders it judges, its check, and optionally
    the meter the console draws for it.

    Two optional declarations let the gate skip a call that could only return None (the leaner
    order path of issue 16; every order still goes through every rule that can deny it):
    `off`, the limits under which the rule can neither deny nor note (the gate leaves it out
    of its plans until the settings change), and `trigger`, the moments it can act in."""

    code: str
    scope: RuleScope
    check: RuleCheck
    measure: RuleMeasure | None = None
    off: RuleOff | None = None
    trigger: Trigger = Trigger(0)


# ------------------------------------------------------------------- every order

def _trader_exit(f: OrderFacts) -> bool:
    """A trader's or the protection's reduce-only order that shrinks the position: HALTED stops
    the robot, not the trader, so such an exit passes a halt."""
    return f.ctx.exit_may_pass_halt and f.intent.reduce_only and f.reducing


def _halted(f: OrderFacts, m: GateMemory, notes: list[str]) -> str | None:
    if f.state is not TradingState.HALTED:
        return None
    if _trader_exit(f):
        notes.append("trading is halted; a trader's reduce-only exit is allowed")
        return None
    return (f"trading is halted ({f.why}); only a trader's reduce-only exit (flatten, or a "
            "reduce-only sell of what is held) goes out until a trader resumes "
            "(`robo-tui resume`, or ctrl+r in the console)")


def _breach_of(code: str, f: OrderFacts) -> str | None:
    """The message of the loss breach with `code`; exits are spared unless the gate halts (a
    trader's reduce-only exit is spared then too)."""
    if f.reducing and (f.state is not TradingState.HALTED or _trader_exit(f)):
        return None
    for b in f.breaches:
        if b.code == code:
            return b.message
    return None


def _drawdown(f: OrderFacts, m: GateMemory, notes: list[str]) -> str | None:
    return _breach_of(C.MAX_DRAWDOWN, f) if f.breaches else None


def _daily_loss(f: OrderFacts, m: GateMemory, notes: list[str]) -> str | None:
    return _breach_of(C.MAX_DAILY_LOSS, f) if f.breaches else None


def _symbol(f: OrderFacts, m: GateMemory, notes: list[str]) -> str | None:
    if f.instrument is not None:
        return None
    sym = f.intent.symbol
    if f.reducing:
        notes.append(f"{sym} is outside the universe; allowed only to reduce the position")
        return None
    return (f"{sym!r} is not in the universe ({len(m.instruments)} symbols); "
            "only universe symbols may be traded")


def _quantity(f: OrderFacts, m: GateMemory, notes: list[str]) -> str | None:
    return None if f.qty_ok else f"quantity {f.intent.quantity!r} must be a finite number > 0"


def _fraction(f: OrderFacts, m: GateMemory, notes: list[str]) -> str | None:
    if f.frac_ok:
        return None
    return f"equity_fraction {f.intent.equity_fraction!r} must be a finite number > 0"


def _in_range(price: float | None) -> bool:
    """Whether an order's price is absent or a finite number in [MIN_PRICE, MAX_MAGNITUDE]."""
    return price is None or MIN_PRICE <= price <= MAX_MAGNITUDE  # NaN fails both comparisons


def _numbers(f: OrderFacts, m: GateMemory, notes: list[str]) -> str | None:
    """Every number of every order, exits included: prices finite and in range, and no
    quantity or notional a float cannot hold or no venue could take (1e306 units overflow the
    notional to inf and would pass a limit of inf). A quantity that is not a finite number > 0
    is `bad_quantity`'s to report."""
    it = f.intent
    qty, notional = it.quantity, f.notional
    limit, stop, target = it.limit_price, it.stop_loss, it.take_profit
    if (qty <= MAX_MAGNITUDE and (notional <= MAX_MAGNITUDE or math.isnan(notional))
            and (limit is None or MIN_PRICE <= limit <= MAX_MAGNITUDE)
            and (stop is None or MIN_PRICE <= stop <= MAX_MAGNITUDE)
            and (target is None or MIN_PRICE <= target <= MAX_MAGNITUDE)):
        return None  # the hot path: a comparison or two per number, no call
    problems: list[str] = []
    if f.qty_ok and qty > MAX_MAGNITUDE:
        problems.append(f"quantity {qty!r} exceeds {MAX_MAGNITUDE:g} units")
    if f.value_price is not None and f.qty_ok and f.frac_ok and not notional <= MAX_MAGNITUDE:
        problems.append(f"notional {notional!r} at {f.value_price!r} exceeds {MAX_MAGNITUDE:g}")
    for name, price in (("limit price", it.limit_price), ("stop-loss", it.stop_loss),
                        ("take-profit", it.take_profit)):
        if not _in_range(price):
            problems.append(f"{name} {price!r} is not a price in [{MIN_PRICE:g}, "
                            f"{MAX_MAGNITUDE:g}]")
    return "; ".join(problems) if problems else None


def _fractional(f: OrderFacts, m: GateMemory, notes: list[str]) -> str | None:
    qty = f.intent.quantity
    if not f.qty_ok or qty == math.floor(qty):  # brokers take whole units exactly, not 99.9999
        return None
    inst = f.instrument
    if inst is not None and inst.fractional and f.ctx.broker_supports_fractional:
        return None
    why = ("the broker does not support fractional quantities"
           if inst is not None and inst.fractional
           else f"{f.intent.symbol} trades in whole units only")
    return f"quantity {fmt_qty(qty)} is fractional; {why}"


def _reduce_only(f: OrderFacts, m: GateMemory, notes: list[str]) -> str | None:
    if f.reducing:
        return None
    it = f.intent
    side = it.side.value
    return (f"reduce-only {side} {fmt_qty(it.quantity)} {it.symbol} would not shrink the "
            f"position of {fmt_qty(f.held)} without flipping it"
            + (f" (open {side} orders: {fmt_qty(f.pend_same)})" if f.pend_same else ""))


def _live_cap(f: OrderFacts, m: GateMemory, notes: list[str]) -> str | None:
    """The live per-order cap: on an exit's own size (a large exit can be split), on an entry's
    notional."""
    if f.reducing:
        px = f.value_price
        if px is None and f.position is not None:
            px = price_of(f.position.avg_price)
        if px is None:
            notes.append("max_live_order_notional skipped: no price for the exit")
            return None
        notional = f.eff_qty * px
    elif f.value_price is not None and math.isfinite(f.notional):
        px, notional = f.value_price, f.notional
    else:
        notes.append("max_live_order_notional skipped: the order has no valid size or price")
        return None
    cap = m.settings.max_live_order_notional
    if not notional > cap * (1 + TOL):
        return None
    return (f"order notional {notional:,.2f} exceeds the live per-order cap {cap:,.2f}; "
            f"at most {fmt_qty(math.floor(cap / px * 1e8) / 1e8)} {f.intent.symbol} per order "
            "(split larger orders)")


def _live_orders_per_day(f: OrderFacts, m: GateMemory, notes: list[str]) -> str | None:
    """The live daily order cap: every order sent counts; only entries are refused past it."""
    if f.reducing:
        return None
    day, count = m.sent_today
    sent = count if day == f.ctx.now.date().isoformat() else 0
    limit = m.settings.max_live_orders_per_day
    if sent + 1 <= limit:
        return None
    return (f"{sent} orders sent today (UTC) in live mode; the limit is {limit} per day "
            "(risk.max_live_orders_per_day); only exits go out until tomorrow")


def _live_symbol(f: OrderFacts, m: GateMemory, notes: list[str]) -> str | None:
    """Live entries only in `risk.live_symbols` when it lists any."""
    allowed = m.settings.live_symbols
    if f.reducing or not allowed or f.intent.symbol in allowed:
        return None
    return (f"{f.intent.symbol} is not in risk.live_symbols ({', '.join(allowed)}): "
            "live mode enters only those")


# ----------------------------------------------------------------------- entries

def _reducing_state(f: OrderFacts, m: GateMemory, notes: list[str]) -> str | None:
    if f.state is not TradingState.REDUCING:
        return None
    it = f.intent
    return (f"trading is REDUCING ({f.why or 'restored'}): only orders that shrink "
            f"a position without flipping it are allowed; {it.side.value} "
            f"{fmt_qty(it.quantity)} {it.symbol} against a position of {fmt_qty(f.held)} "
            "is not one")


def _no_price(f: OrderFacts, m: GateMemory, notes: list[str]) -> str | None:
    limit = f.intent.limit_price
    if f.value_price is not None:
        return None if f.limit_ok else f"limit price {limit!r} is not a valid price"
    what = (f"limit price {limit!r} is not a valid price" if not f.limit_ok
            else f"no market price for {f.intent.symbol}")
    if f.intent.equity_fraction is not None and f.limit_px is None and f.market is None:
        what += " (an equity-fraction order cannot be judged without one)"
    return what


def _no_equity(f: OrderFacts, m: GateMemory, notes: list[str]) -> str | None:
    if f.equity_ok:
        return None
    return f"account equity {f.equity:,.2f} cannot size an entry (must be > 0)"


def _confidence(f: OrderFacts, m: GateMemory, notes: list[str]) -> str | None:
    conf, least = f.intent.confidence, m.settings.min_confidence
    if conf >= least:  # a NaN confidence is denied
        return None
    return f"confidence {conf:.2f} is below the {least:.2f} minimum for entries"


def _cooldown(f: OrderFacts, what: str, seen: datetime, wait: float) -> str | None:
    if wait <= 0:
        return None
    ago = (f.ctx.now - seen).total_seconds()
    if ago >= wait:
        return None
    return (f"{f.intent.symbol} was {what} {ago:,.0f}s ago; new entries wait {wait:,.0f}s "
            f"({wait - ago:,.0f}s left)")


def _cooldown_exit(f: OrderFacts, m: GateMemory, notes: list[str]) -> str | None:
    seen = m.last_exit.get(f.intent.symbol)
    if seen is None:
        return None
    return _cooldown(f, "exited", seen, m.settings.cooldown_after_exit_seconds)


def _cooldown_loss(f: OrderFacts, m: GateMemory, notes: list[str]) -> str | None:
    seen = m.last_loss.get(f.intent.symbol)
    if seen is None:
        return None
    return _cooldown(f, "closed at a loss", seen, m.settings.cooldown_after_loss_seconds)


def _rate(f: OrderFacts, m: GateMemory, notes: list[str]) -> str | None:
    since = f.ctx.now - RATE_WINDOW
    recent = sum(1 for t in reversed(m.sent) if t > since)
    limit = m.settings.max_orders_per_minute
    if recent + 1 <= limit:
        return None
    return f"{recent} orders sent in the last minute; the limit is {limit} per minute"


def _short(f: OrderFacts, m: GateMemory, notes: list[str]) -> str | None:
    it = f.intent
    s = m.settings
    resulting = f.held + it.side.sign * (f.pend_same + f.eff_qty)  # nan when the size is unknown
    if it.side.sign > 0 or resulting >= 0 or (s.allow_short and f.ctx.broker_supports_short):
        return None
    why = ("shorting is disabled (risk.allow_short = false)" if not s.allow_short
           else "the broker does not support short selling")
    res = "an unknown size" if not math.isfinite(resulting) else fmt_qty(resulting)
    return (f"sell {fmt_qty(it.quantity)} {it.symbol} would leave a short position of {res}; "
            f"{why}")


def _missing_stop(f: OrderFacts, m: GateMemory, notes: list[str]) -> str | None:
    if f.intent.stop_loss is None and m.settings.require_stops:
        return "every entry must carry a stop-loss"
    return None


def _stop_side(f: OrderFacts, m: GateMemory, notes: list[str]) -> str | None:
    stop = f.intent.stop_loss
    if stop is None or f.stop is not None:
        return None
    if f.fill_price is None:
        notes.append("stop side not checked: no price")
        return None
    buy = f.intent.side.sign > 0
    return (f"stop-loss {stop!r} must be {'below' if buy else 'above'} the expected fill "
            f"{f.fill_price:,.4f} of a {f.intent.side.value}")


def _missing_take_profit(f: OrderFacts, m: GateMemory, notes: list[str]) -> str | None:
    if f.intent.take_profit is None and m.settings.require_stops:
        return "every entry must carry a take-profit"
    return None


def _take_profit_side(f: OrderFacts, m: GateMemory, notes: list[str]) -> str | None:
    tp, fill = f.intent.take_profit, f.fill_price
    if tp is None or fill is None:
        return None
    buy = f.intent.side.sign > 0
    if math.isfinite(tp) and tp > 0 and (tp > fill if buy else tp < fill):
        return None
    return (f"take-profit {tp!r} must be {'above' if buy else 'below'} the expected fill "
            f"{fill:,.4f} of a {f.intent.side.value}")


def _order_notional(f: OrderFacts, m: GateMemory, notes: list[str]) -> str | None:
    limit = m.settings.max_order_notional
    if f.value_price is None or not f.notional > limit * (1 + TOL):
        return None
    return f"order notional {f.notional:,.2f} exceeds the {limit:,.2f} per-order limit"


def _position(f: OrderFacts, m: GateMemory, notes: list[str]) -> str | None:
    x = f.exposure
    if x is None:
        notes.append("sizing limits skipped: the order has no valid size, price or equity")
        return None
    limit = m.settings.max_position_pct
    if not x.position_value > limit * f.equity * (1 + TOL):
        return None
    v, lim = pcts(x.position_value / f.equity, limit)
    return f"position would be {v} of equity ({x.position_value:,.2f}), limit {lim}"


def _sector(f: OrderFacts, m: GateMemory, notes: list[str]) -> str | None:
    x = f.exposure
    limit = m.settings.max_sector_pct
    if x is None or not x.sector_gross > limit * f.equity * (1 + TOL):
        return None
    v, lim = pcts(x.sector_gross / f.equity, limit)
    return f"sector {x.sector!r} exposure would be {v} of equity, limit {lim}"


def _gross(f: OrderFacts, m: GateMemory, notes: list[str]) -> str | None:
    x = f.exposure
    limit = m.settings.max_gross_exposure_pct
    if x is None or not x.gross > limit * f.equity * (1 + TOL):
        return None
    v, lim = pcts(x.gross / f.equity, limit)
    return f"gross exposure would be {v} of equity, limit {lim}"


def _risk_per_trade(f: OrderFacts, m: GateMemory, notes: list[str]) -> str | None:
    if f.exposure is None:
        return None  # the position rule noted that sizing limits were skipped
    stop, fill, price = f.stop, f.fill_price, f.value_price
    if stop is None or fill is None or price is None:
        notes.append("max_risk_per_trade skipped: no usable stop-loss")
        return None
    held = f.held
    # units bought at the expected fill for the judged notional, down to the stop
    opening = f.eff_qty if f.intent.side.sign * held >= 0 else max(0.0, f.eff_qty - abs(held))
    risk = opening * price / fill * abs(fill - stop)
    limit = m.settings.max_risk_per_trade_pct
    if not risk > limit * f.equity * (1 + TOL):
        return None
    v, lim = pcts(risk / f.equity, limit)
    return f"loss to the stop {risk:,.2f} is {v} of equity, limit {lim}"


def _positions(f: OrderFacts, m: GateMemory, notes: list[str]) -> str | None:
    limit = m.settings.max_positions
    sym, occupied = f.intent.symbol, f.occupied
    if sym in occupied or len(occupied) + 1 <= limit:
        return None
    names = ", ".join(sorted(occupied))
    return (f"opening {sym} would make {len(occupied) + 1} positions ({names} held or "
            f"ordered), limit {limit}")


def _correlation(f: OrderFacts, m: GateMemory, notes: list[str]) -> str | None:
    """|correlation| of the new position's returns with each held one, whatever the sides."""
    sym = f.intent.symbol
    others = f.occupied - {sym}
    if not others:
        return None
    returns = f.ctx.returns
    mine = returns.get(sym)
    if mine is None:
        notes.append(f"max_correlation skipped: no returns for {sym}")
        return None
    s = m.settings
    worst: list[tuple[float, str, int]] = []
    for other in sorted(others):
        theirs = returns.get(other)
        if theirs is None:
            notes.append(f"max_correlation with {other} skipped: no returns for {other}")
            continue
        n = min(len(mine), len(theirs), s.correlation_window)
        got = None if n < MIN_CORR_SAMPLES else correlation_of(
            mine, theirs, n, m.centred.get(sym, mine, n), m.centred.get(other, theirs, n))
        if got is None:
            notes.append(f"max_correlation with {other} skipped: too few or constant returns")
            continue
        corr, n = got
        if abs(corr) > s.max_correlation:
            worst.append((corr, other, n))
    if not worst:
        return None
    worst.sort(key=_by_strength)
    pairs = ", ".join(f"{o} {c:+.2f} over {n} bars" for c, o, n in worst)
    return (f"{sym} returns are correlated with held positions ({pairs}); "
            f"limit |corr| {s.max_correlation:.2f}")


def _cooldown_exit_off(s: RiskSettings) -> bool:
    """`_cooldown` returns None whenever its wait is <= 0 (a NaN wait is not off)."""
    return s.cooldown_after_exit_seconds <= 0


def _cooldown_loss_off(s: RiskSettings) -> bool:
    return s.cooldown_after_loss_seconds <= 0


def _stops_optional(s: RiskSettings) -> bool:
    """The missing stop-loss and take-profit rules deny only when stops are required."""
    return not s.require_stops


def _by_strength(pair: tuple[float, str, int]) -> float:
    return -abs(pair[0])


# ------------------------------------------------------------------------ meters

def _day_loss_meter(book: MeterBook) -> Meter:
    """Judged against the reduce limit (the first that changes what the gate allows), drawn
    against the halt limit; the text shows both."""
    s = book.settings
    start, equity = book.day_start_equity, book.equity
    loss = (start - equity) / start if start > 0 and math.isfinite(equity) else math.nan
    loss = max(0.0, loss) if math.isfinite(loss) else loss
    day = pct_meter("day_loss", "Day loss", loss, s.daily_loss_halt_pct,
                    suffix=f" (reduce {fmt_pct(s.daily_loss_reduce_pct * 100)})")
    level = level_for(loss * 100, s.daily_loss_reduce_pct * 100,
                      breached=book.reached(C.MAX_DAILY_LOSS) or not math.isfinite(loss))
    return Meter(day.key, day.label, day.value, day.limit, day.unit, level, day.text)


def _drawdown_meter(book: MeterBook) -> Meter:
    peak, equity = book.peak_equity, book.equity
    dd = (peak - equity) / peak if peak > 0 and math.isfinite(equity) else math.nan
    dd = max(0.0, dd) if math.isfinite(dd) else dd
    return pct_meter("drawdown", "Drawdown", dd, book.settings.max_drawdown_pct,
                     breached=book.reached(C.MAX_DRAWDOWN))


def _gross_meter(book: MeterBook) -> Meter:
    return pct_meter("gross_exposure", "Gross exposure",
                     book.of_equity(sum(book.values.values())),
                     book.settings.max_gross_exposure_pct)


def _position_meter(book: MeterBook) -> Meter:
    symbol, value = _largest(book.values)
    return pct_meter("largest_position", f"Position {symbol}" if symbol else "Largest position",
                     book.of_equity(value), book.settings.max_position_pct)


def _sector_meter(book: MeterBook) -> Meter:
    sector, value = _largest(book.sectors)
    return pct_meter("largest_sector", f"Sector {sector}" if sector else "Largest sector",
                     book.of_equity(value), book.settings.max_sector_pct)


def _largest(values: Mapping[str, float]) -> tuple[str, float]:
    """The key with the largest value (the first of equals), or ("", 0.0) when empty."""
    return max(values.items(), key=_value_of, default=("", 0.0))


def _value_of(item: tuple[str, float]) -> float:
    return item[1]


def _positions_meter(book: MeterBook) -> Meter:
    count, limit = len(book.values), book.settings.max_positions
    return Meter("open_positions", "Positions", float(count), float(limit), "count",
                 level_for(count, limit, breached=count > limit), f"{count} / {limit}")


def _blocked_for(code: str, f: OrderFacts) -> str | None:
    """The engine's sentence when the order's symbol is blocked for `code`, else None."""
    reasons = f.ctx.blocked.get(f.intent.symbol)
    return reasons.get(code) if reasons else None


def _market_closed(f: OrderFacts, m: GateMemory, notes: list[str]) -> str | None:
    return _blocked_for(C.MARKET_CLOSED, f)


def _stale_data(f: OrderFacts, m: GateMemory, notes: list[str]) -> str | None:
    return _blocked_for(C.STALE_DATA, f)


def _marks_disagree(f: OrderFacts, m: GateMemory, notes: list[str]) -> str | None:
    return _blocked_for(C.MARKS_DISAGREE, f)


def _drift(f: OrderFacts, m: GateMemory, notes: list[str]) -> str | None:
    """The venue holds what the journal cannot explain and no trader accepted it yet
    (`robo_tui.engine.reconcile`): entries wait, exits pass."""
    return _blocked_for(C.DRIFT, f)


def _left_universe(f: OrderFacts, m: GateMemory, notes: list[str]) -> str | None:
    """A symbol the daily universe refresh dropped while a position was held in it: its exits
    and protection go on, no new entry (`Engine.set_universe`)."""
    return _blocked_for(C.LEFT_UNIVERSE, f)


E = RuleScope.EVERY_ORDER
RISK_RULES: tuple[RiskRule, ...] = (
    RiskRule(C.HALTED, E, _halted, trigger=Trigger.HALTED),
    RiskRule(C.MAX_DRAWDOWN, E, _drawdown, _drawdown_meter, trigger=Trigger.BREACH),
    RiskRule(C.MAX_DAILY_LOSS, E, _daily_loss, _day_loss_meter, trigger=Trigger.BREACH),
    RiskRule(C.SYMBOL_NOT_ALLOWED, E, _symbol),
    RiskRule(C.BAD_QUANTITY, E, _quantity),
    RiskRule(C.BAD_QUANTITY, E, _fraction),
    RiskRule(C.NUMBER_OUT_OF_RANGE, E, _numbers),
    RiskRule(C.FRACTIONAL_NOT_ALLOWED, E, _fractional),
    RiskRule(C.REDUCE_ONLY_NOT_REDUCING, RuleScope.REDUCE_ONLY, _reduce_only),
    RiskRule(C.REDUCING_NOT_RISK_REDUCING, RuleScope.ENTRIES, _reducing_state,
             trigger=Trigger.REDUCING),
    RiskRule(C.NO_PRICE, RuleScope.ENTRIES, _no_price),
    RiskRule(C.NO_EQUITY, RuleScope.ENTRIES, _no_equity),
    RiskRule(C.MIN_CONFIDENCE, RuleScope.ENTRIES, _confidence),
    RiskRule(C.COOLDOWN_EXIT, RuleScope.ENTRIES, _cooldown_exit, off=_cooldown_exit_off),
    RiskRule(C.COOLDOWN_LOSS, RuleScope.ENTRIES, _cooldown_loss, off=_cooldown_loss_off),
    RiskRule(C.RATE_LIMIT, RuleScope.ENTRIES, _rate),
    RiskRule(C.SHORT_NOT_ALLOWED, RuleScope.ENTRIES, _short),
    RiskRule(C.MISSING_STOP, RuleScope.ENTRIES, _missing_stop, off=_stops_optional),
    RiskRule(C.STOP_WRONG_SIDE, RuleScope.ENTRIES, _stop_side),
    RiskRule(C.MISSING_TAKE_PROFIT, RuleScope.ENTRIES, _missing_take_profit,
             off=_stops_optional),
    RiskRule(C.TAKE_PROFIT_WRONG_SIDE, RuleScope.ENTRIES, _take_profit_side),
    RiskRule(C.MAX_ORDER_NOTIONAL, RuleScope.ENTRIES, _order_notional),
    RiskRule(C.MAX_LIVE_ORDER_NOTIONAL, RuleScope.LIVE, _live_cap),
    RiskRule(C.MAX_LIVE_ORDERS_PER_DAY, RuleScope.LIVE, _live_orders_per_day),
    RiskRule(C.LIVE_SYMBOL_NOT_ALLOWED, RuleScope.LIVE, _live_symbol),
    RiskRule(C.MAX_POSITION, RuleScope.ENTRIES, _position, _position_meter),
    RiskRule(C.MAX_SECTOR, RuleScope.ENTRIES, _sector, _sector_meter),
    RiskRule(C.MAX_GROSS_EXPOSURE, RuleScope.ENTRIES, _gross, _gross_meter),
    RiskRule(C.MAX_RISK_PER_TRADE, RuleScope.ENTRIES, _risk_per_trade),
    RiskRule(C.MAX_POSITIONS, RuleScope.ENTRIES, _positions, _positions_meter),
    RiskRule(C.MAX_CORRELATION, RuleScope.ENTRIES, _correlation),
    RiskRule(C.MARKET_CLOSED, RuleScope.ENTRIES, _market_closed, trigger=Trigger.BLOCKED),
    RiskRule(C.STALE_DATA, RuleScope.ENTRIES, _stale_data, trigger=Trigger.BLOCKED),
    RiskRule(C.MARKS_DISAGREE, RuleScope.ENTRIES, _marks_disagree, trigger=Trigger.BLOCKED),
    RiskRule(C.DRIFT, RuleScope.ENTRIES, _drift, trigger=Trigger.BLOCKED),
    RiskRule(C.LEFT_UNIVERSE, RuleScope.ENTRIES, _left_universe, trigger=Trigger.BLOCKED),
)
"""Every rule of the gate, in the order a verdict lists its reasons (docs/risk.md)."""

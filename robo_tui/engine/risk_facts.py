"""What the risk rules read: the order's facts (computed once per check) and the gate's memory.

`order_facts` measures one order intent against a `RiskContext` once: its size, prices and
notional, the open orders' worst-case quantities, whether it reduces a position, and for an
entry the book it would create. Every rule of the table (`risk_rules.RISK_RULES`) then reads
these facts instead of measuring again. Definitions (also in docs/risk.md):

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
from datetime import datetime
from typing import Final

from robo_tui.config import RiskSettings
from robo_tui.domain.frozen import frozen
from robo_tui.domain.market import FloatArray, Instrument
from robo_tui.domain.orders import AccountSnapshot, Order, OrderIntent, Position
from robo_tui.domain.risk import Mode, TradingState
from robo_tui.engine.risk_correlation import CenteredCache

__all__ = ["MAX_MAGNITUDE", "MIN_PRICE", "TOL", "Exposure", "GateMemory", "LossBreach", "OrderFacts", "RiskContext",
           "fmt_qty", "order_facts", "pcts", "price_of"]

TOL = 1e-9  # relative tolerance on limits, so a sizer that hits a limit exactly is not denied
MAX_MAGNITUDE = 1e15
"""The largest quantity, price or notional an order may carry: above any instrument's price, any
order's units (a meme coin's whole supply is ~1e14-1e15) and any notional (world GDP is ~1e14);
past it a number is an error, and past ~1.8e308 a float overflows to inf."""
MIN_PRICE = 1e-12
"""The smallest price an order may name (limit, stop, take-profit): below any traded tick;
below it (subnormals, -0.0, 0) a price is an error that would size an order to infinity."""


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
    exit_may_pass_halt: bool = False
    """The order comes from a trader (console, shell) or the engine's own protection: if it is
    reduce-only and shrinks the position, HALTED lets it through (HALTED stops the robot)."""
    blocked: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    """Symbols the engine will not enter now, per reason code (market closed, stale data, the
    broker's marks disagreeing with the feed): the sentence saying why, with the numbers."""


@frozen
class LossBreach:
    """A loss limit the account has reached, and the state it puts the gate in."""

    state: TradingState
    code: str
    message: str


class GateMemory:
    """What the rules read besides the order: the limits in force, the universe, and the gate's
    records (exits for the cooldowns, sent orders for the rate limit, centred returns).

    The gate owns it and is the only writer; rules only read it.
    """

    def __init__(self, settings: RiskSettings, instruments: Mapping[str, Instrument]) -> None:
        self.settings = settings
        self.instruments: dict[str, Instrument] = dict(instruments)
        self.last_exit: dict[str, datetime] = {}
        self.last_loss: dict[str, datetime] = {}
        self.sent: deque[datetime] = deque()
        self.sent_today: tuple[str, int] = ("", 0)
        """(UTC date, orders sent that day) for the live daily order cap."""
        self.centred = CenteredCache()

    def sector(self, symbol: str) -> str:
        """The sector of `symbol` in the universe ("unknown" outside it)."""
        inst = self.instruments.get(symbol)
        return inst.sector if inst is not None else "unknown"


class Exposure:
    """The worst-case book an entry can create: its own position's value, and the gross and
    sector exposure of every position and open order as if they fill.

    A plain class with read-only fields, like `OrderFacts` (see there why).
    """

    __slots__ = ("gross", "position_value", "sector", "sector_gross")

    def __init__(self, position_value: float, sector: str, sector_gross: float,
                 gross: float) -> None:
        self.position_value: Final = position_value
        self.sector: Final = sector
        self.sector_gross: Final = sector_gross
        self.gross: Final = gross


class OrderFacts:
    """One order intent measured once against one context, for every rule to read.

    Sizes are NaN (or None for prices) when they cannot be known; `exposure` is set only for an
    entry with a valid size, price and equity, `occupied` only for an entry.

    A plain class whose fields are `Final` (nothing writes them after `__init__`), not a
    `@frozen` dataclass: mypyc compiles a plain class as a native class, so every rule reads
    these fields natively; a decorated class would stay a Python class to it, read by generic
    attribute lookups on the gate's hot path.
    """

    __slots__ = (
        "breaches", "ctx", "eff_qty", "equity", "equity_ok", "exposure", "fill_price", "frac_ok",
        "held", "instrument", "intent", "limit_ok", "limit_px", "market", "notional", "occupied",
        "pend_same", "position", "qty_ok", "reducing", "state", "stop", "value_price", "why",
    )

    def __init__(self, intent: OrderIntent, ctx: RiskContext, state: TradingState,
                 why: str, breaches: tuple[LossBreach, ...], instrument: Instrument | None,
                 position: Position | None, held: float, equity: float,
                 qty_ok: bool, frac_ok: bool, market: float | None,
                 limit_ok: bool, limit_px: float | None, value_price: float | None,
                 fill_price: float | None, notional: float, eff_qty: float,
                 pend_same: float, reducing: bool, equity_ok: bool,
                 stop: float | None, exposure: Exposure | None, occupied: frozenset[str]) -> None:
        self.intent: Final = intent
        self.ctx: Final = ctx
        # the gate's state, or worse when the account's losses imply it
        self.state: Final = state
        self.why: Final = why  # why the gate is in `state`
        self.breaches: Final = breaches
        self.instrument: Final = instrument
        self.position: Final = position
        self.held: Final = held
        self.equity: Final = equity
        self.qty_ok: Final = qty_ok
        self.frac_ok: Final = frac_ok
        self.market: Final = market
        self.limit_ok: Final = limit_ok
        self.limit_px: Final = limit_px
        self.value_price: Final = value_price
        self.fill_price: Final = fill_price
        # at the value price (or its equity fraction); NaN when unknown
        self.notional: Final = notional
        # the quantity the notional buys; inf for an unpriced equity fraction
        self.eff_qty: Final = eff_qty
        self.pend_same: Final = pend_same  # open orders in the symbol on the order's side
        self.reducing: Final = reducing
        self.equity_ok: Final = equity_ok
        self.stop: Final = stop  # the stop-loss, when on the right side of the expected fill
        self.exposure: Final = exposure
        self.occupied: Final = occupied  # symbols holding a position or an open order


def price_of(value: float | None) -> float | None:
    """`value` when it is a usable price (finite and > 0), else None."""
    if value is None or not math.isfinite(value) or value <= 0:
        return None
    return float(value)


def pcts(value: float, limit: float) -> tuple[str, str]:
    """`value` and `limit` as percentages, with enough decimals to tell them apart."""
    for digits in (1, 2, 3, 4):
        v, lim = f"{value:.{digits}%}", f"{limit:.{digits}%}"
        if v != lim:
            return v, lim
    return v, lim


def fmt_qty(q: float) -> str:
    """A quantity for a message: grouped, up to 8 significant digits."""
    return f"{q:,.8g}"


def order_facts(intent: OrderIntent, ctx: RiskContext, memory: GateMemory, state: TradingState,
                why: str, breaches: tuple[LossBreach, ...]) -> OrderFacts:
    """Measure `intent` against `ctx` once (the gate's state and loss breaches are given)."""
    acct = ctx.account
    sym = intent.symbol
    sign = intent.side.sign
    equity = acct.equity
    held = acct.position_qty(sym)
    qty = intent.quantity
    qty_ok = isinstance(qty, (int, float)) and math.isfinite(qty) and qty > 0
    frac = intent.equity_fraction
    frac_ok = frac is None or (math.isfinite(frac) and frac > 0)
    market = price_of(acct.prices.get(sym))
    limit = intent.limit_price
    limit_px = price_of(limit) if limit is not None else None
    limit_ok = limit is None or limit_px is not None
    # the larger of the two (either may be missing), and the better for the side (no list)
    if limit_px is None:
        value_price = fill_price = market
    elif market is None:
        value_price = fill_price = limit_px
    else:
        value_price = max(market, limit_px)
        fill_price = min(market, limit_px) if sign > 0 else value_price
    # a venue sizes an equity-fraction order from margin available at fill time, which is
    # never more than equity (short-sale proceeds in cash are not buying power)
    base = equity if math.isfinite(equity) else math.nan
    notional = math.nan
    eff_qty = math.inf if frac is not None else (qty if qty_ok else math.nan)
    if qty_ok and frac_ok and value_price is not None:
        notional = qty * value_price
        if frac is not None and math.isfinite(base):
            notional = max(notional, frac * base)
        eff_qty = notional / value_price

    pending = _pending(ctx, base) if ctx.open_orders else _NO_PENDING
    pend_buy, pend_sell = pending.get(sym, (0.0, 0.0))
    pend_same = pend_buy if sign > 0 else pend_sell
    reducing = (
        qty_ok and frac_ok and held != 0.0 and sign * held < 0
        and eff_qty + pend_same <= abs(held) * (1 + TOL)
    )
    equity_ok = math.isfinite(equity) and equity > 0
    exposure: Exposure | None = None
    occupied: frozenset[str] = frozenset()
    if not reducing:
        if value_price is not None and math.isfinite(notional) and equity_ok:
            exposure = _exposure(ctx, memory, sym, sign, eff_qty, value_price, pending)
        occupied = _occupied(ctx)
    return OrderFacts(
        intent, ctx, state, why, breaches, memory.instruments.get(sym), acct.positions.get(sym),
        held, equity, qty_ok, frac_ok, market, limit_ok, limit_px, value_price, fill_price,
        notional, eff_qty, pend_same, reducing, equity_ok, _usable_stop(intent, fill_price),
        exposure, occupied,
    )


def _usable_stop(intent: OrderIntent, fill_price: float | None) -> float | None:
    """The stop-loss when it is finite, > 0 and on the loss side of the expected fill."""
    stop = intent.stop_loss
    if stop is None or fill_price is None or not (math.isfinite(stop) and stop > 0):
        return None
    return stop if (stop < fill_price if intent.side.sign > 0 else stop > fill_price) else None


_NO_PENDING: Mapping[str, tuple[float, float]] = {}
"""`_pending` of a context without open orders (read only; most orders see no open order)."""


def _pending(ctx: RiskContext, base: float) -> dict[str, tuple[float, float]]:
    """Open orders as (buy quantity, sell quantity) per symbol, sized like new orders."""
    out: dict[str, tuple[float, float]] = {}
    if not ctx.open_orders:
        return out
    prices = ctx.account.prices
    for order in ctx.open_orders:
        it = order.intent
        q = it.quantity if math.isfinite(it.quantity) and it.quantity > 0 else 0.0
        known = [p for p in (price_of(prices.get(it.symbol)), price_of(it.limit_price))
                 if p is not None]
        if it.equity_fraction is not None and known and math.isfinite(base):
            frac = it.equity_fraction
            if math.isfinite(frac) and frac > 0:
                q = max(q, frac * base / max(known))
        b, sl = out.get(it.symbol, (0.0, 0.0))
        out[it.symbol] = (b + q, sl) if it.side.sign > 0 else (b, sl + q)
    return out


def _exposure(ctx: RiskContext, memory: GateMemory, sym: str, sign: int, eff_qty: float,
              value_price: float, pending: Mapping[str, tuple[float, float]]) -> Exposure:
    """Position, sector and gross exposure of the worst-case resulting book."""
    acct = ctx.account
    sector = memory.sector(sym)
    gross = 0.0
    sector_gross = 0.0
    new_value = 0.0
    for other in set(acct.positions) | set(pending) | {sym}:
        pos = acct.positions.get(other)
        q = pos.quantity if pos is not None else 0.0
        b, sl = pending.get(other, (0.0, 0.0))
        if other == sym:
            # the book this order can create: it and every same-side open order filled
            if sign > 0:
                value = abs(q + (b + eff_qty)) * value_price
            else:
                value = abs(q - (sl + eff_qty)) * value_price
            new_value = value
        else:
            px = price_of(acct.prices.get(other))
            if px is None and pos is not None:
                px = price_of(pos.avg_price)
            if px is None:
                px = _limit_price_of(ctx, other)
            if px is None:
                continue  # no price anywhere: an order in it was already judged without one
            value = max(abs(q + b), abs(q - sl)) * px
        gross += value
        if memory.sector(other) == sector:
            sector_gross += value
    return Exposure(new_value, sector, sector_gross, gross)


def _limit_price_of(ctx: RiskContext, sym: str) -> float | None:
    """The highest limit price among open orders in `sym` (a symbol with no market price)."""
    best: float | None = None
    for o in ctx.open_orders:
        if o.symbol == sym:
            p = price_of(o.intent.limit_price)
            if p is not None and (best is None or p > best):
                best = p
    return best


def _occupied(ctx: RiskContext) -> frozenset[str]:
    """Symbols holding a position or an open order (each takes a position slot)."""
    held: set[str] = set()
    for s, p in ctx.account.positions.items():  # a loop, not a comprehension: no extra frame
        if p.quantity != 0.0:
            held.add(s)
    for o in ctx.open_orders:
        held.add(o.symbol)
    return frozenset(held)

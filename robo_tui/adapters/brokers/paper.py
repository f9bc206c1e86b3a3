"""The paper broker: the embedded default, filling orders against the bars and quotes it is shown.

Live-paper (`costs.fill == "quote"`) fills a market order at submit time at the last quote (ask
for buys, bid for sells) or, without a quote, at the last bar close. On a real market's quotes
(`real_quotes`: any feed but the simulated market and replays) the quoted ask or bid is the fill
price itself (the spread is the cost); slippage is added only where the venue sent no book (a
last price only, or no quote), and on the simulated market as before. Backtests
(`costs.fill == "next_open"`) fill it at the next bar's open. Limit orders
rest and fill when a bar or quote trades through them. Stop-loss and take-profit levels attached
by an entry protect the resulting position.

Within one bar, events happen in the order the price path allows: market orders at the open (in
submission order, so a close precedes a reversal), then the position's stop/target, then resting
limit orders. A bar that gaps through a level fills at the open; a bar that touches both the stop
and the target is assumed to have hit the stop first.

Cash and positions come from one arithmetic (`PaperLedger.apply`) used both for live fills and for
replaying the fill log, so `restore` and `reconcile` are exact.

This module sits on a backtest's hot path: `on_bar_values` costs two dict operations and a set
lookup when nothing is pending for the symbol, and `trigger_levels` lets a driver skip the bars
where nothing can trigger.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from mypy_extensions import mypyc_attr

from robo_tui.config import PaperCostSettings
from robo_tui.domain.drift import VenueOrder
from robo_tui.domain.increments import Increments
from robo_tui.domain.market import AssetClass, Bar, Instrument, Quote
from robo_tui.domain.orders import (
    AccountSnapshot,
    BrokerAck,
    Fill,
    Order,
    OrderIntent,
    OrderStatus,
    OrderType,
    Position,
    Side,
    VenueCapabilities,
)
from robo_tui.ports import Clock

FLAT_EPSILON = 1e-9
"""Units below which a position counts as flat (float dust left by fractional crypto trades)."""

CRYPTO_STEP = 1e-8
"""Smallest crypto quantity the broker sizes relative-size (equity-fraction) orders in."""

_INF = math.inf


@dataclass(slots=True)
class Holding:
    """A symbol's mutable book entry: signed quantity, average price, realized P&L, protections.

    `realized` is price P&L only (fees are tracked separately as `PaperLedger.fees`). `stop` and
    `target` are the protections attached by the last entry; `origin` is that entry's client
    order id, from which exit fills derive theirs.
    """

    qty: float = 0.0
    avg_price: float = 0.0
    realized: float = 0.0
    opened_at: datetime | None = None
    stop: float | None = None
    target: float | None = None
    origin: str = ""

    @property
    def armed(self) -> bool:
        """Whether an open position carries a stop or a target."""
        return self.qty != 0.0 and (self.stop is not None or self.target is not None)


class PaperLedger:
    """Cash, positions, realized P&L and fees built from fills: the one accounting arithmetic.

    The broker books every fill it makes through `apply`; `PaperBroker.restore` and
    `PaperBroker.reconcile` replay a fill log through the very same method, so a replay of the
    same fills in the same order reproduces the state bit for bit.
    """

    __slots__ = ("cash", "fees", "holdings")

    def __init__(self, cash: float) -> None:
        self.cash = cash
        self.fees = 0.0
        self.holdings: dict[str, Holding] = {}

    def apply(self, fill: Fill) -> Holding:
        """Book `fill`: cash -= qty*price*sign + fee; a fill crossing zero closes and reverses.

        Closing a position or reversing it clears its protections (the caller attaches the new
        entry's ones). Returns the symbol's holding.
        """
        sign = fill.side.sign
        qty = fill.quantity
        price = fill.price
        self.cash -= qty * price * sign + fill.fee
        self.fees += fill.fee
        h = self.holdings.get(fill.symbol)
        if h is None:
            h = self.holdings[fill.symbol] = Holding()
        held = h.qty
        delta = qty * sign
        if held == 0.0:
            h.qty = delta
            h.avg_price = price
            h.opened_at = fill.ts
            return h
        if (held > 0.0) == (delta > 0.0):
            new = held + delta
            h.avg_price = (h.avg_price * held + price * delta) / new
            h.qty = new
            return h
        closing = min(abs(held), qty)
        h.realized += (price - h.avg_price) * closing * (1.0 if held > 0.0 else -1.0)
        new = held + delta
        if abs(new) < FLAT_EPSILON:
            h.qty = 0.0
            h.avg_price = 0.0
            h.opened_at = None
            h.stop = h.target = None
        elif (new > 0.0) == (held > 0.0):
            h.qty = new
        else:
            h.qty = new
            h.avg_price = price
            h.opened_at = fill.ts
            h.stop = h.target = None
        return h

    def quantity(self, symbol: str) -> float:
        """Signed units held in `symbol` (0 when none)."""
        h = self.holdings.get(symbol)
        return h.qty if h is not None else 0.0

    @classmethod
    def replay(cls, cash: float, fills: Sequence[Fill]) -> PaperLedger:
        """A ledger built from `cash` by applying `fills` in order."""
        ledger = cls(cash)
        for fill in fills:
            ledger.apply(fill)
        return ledger


@dataclass(slots=True)
class _Working:
    """A resting or pending order, unpacked once for the hot path."""

    order: Order
    coid: str
    symbol: str
    side: Side
    sign: int
    qty: float
    is_market: bool
    limit: float
    fraction: float | None
    reduce_only: bool
    stop: float | None
    target: float | None
    broker_id: str


@mypyc_attr(allow_interpreted_subclasses=True)  # compiled (setup.py); wrappers may extend it
def _size_problem(intent: OrderIntent, fractional: bool) -> str:
    """Why the order's size is invalid (a bad equity fraction or quantity, a fraction of a whole
    share); "" when it is valid."""
    fraction = intent.equity_fraction
    qty = intent.quantity
    if fraction is not None:
        if not 0.0 < fraction <= 1.0:
            return f"equity_fraction must be in (0, 1], got {fraction!r}"
    elif not (qty > 0.0 and math.isfinite(qty)):
        return f"quantity must be a positive number, got {qty!r}"
    elif not fractional and qty != int(qty):
        return (
            f"fractional quantity {qty:g} for {intent.symbol}: stocks trade in whole shares "
            "(fractions are for crypto only)"
        )
    return ""


def _protection_problem(intent: OrderIntent, ref: float) -> str:
    """Why the stop-loss/take-profit sit on the wrong side of the entry price `ref`; "" if not."""
    stop, target = intent.stop_loss, intent.take_profit
    if intent.side is Side.BUY:
        if stop is not None and not stop < ref:
            return f"stop_loss {stop:g} must be below the entry price {ref:g} for a buy"
        if target is not None and not target > ref:
            return f"take_profit {target:g} must be above the entry price {ref:g} for a buy"
    else:
        if stop is not None and not stop > ref:
            return f"stop_loss {stop:g} must be above the entry price {ref:g} for a sell"
        if target is not None and not target < ref:
            return f"take_profit {target:g} must be below the entry price {ref:g} for a sell"
    return ""


class PaperBroker:
    """The embedded default broker: simulated fills, exact cash/position accounting, no network.

    Implements `Broker` and `SimulatedVenue` (robo_tui/ports.py). Besides the async port it offers
    synchronous twins for the backtest driver (`place`, `take_fills`, `snapshot`), the fast paths
    `on_bar_values`, `trigger_levels` and `mark`, and crash recovery (`restore`, `reconcile`).
    """

    name = "paper"
    is_live = False
    supports_fractional = True
    order_timeout: float | None = None  # answers in this process: nothing is lost on the way
    restores_from_fills = True

    def __init__(
        self,
        *,
        cash: float,
        costs: PaperCostSettings,
        clock: Clock,
        instruments: Mapping[str, Instrument],
        supports_short: bool = True,
        commission: float = 0.0,
        holds_protection: bool = True,
        real_quotes: bool = False,
    ) -> None:
        if not cash > 0.0 or not math.isfinite(cash):
            raise ValueError(f"paper broker starting cash must be a positive number, got {cash!r}")
        if not 0.0 <= commission < 0.1:
            raise ValueError(f"commission must be a fraction in [0, 0.1), got {commission!r}")
        self.supports_short = supports_short
        self.holds_protection = holds_protection
        """Whether this simulated venue holds stops and targets (the default); False simulates
        a venue without them, so robo-tui holds every protective level itself."""
        self.starting_cash = cash
        self.commission = commission
        self.costs = costs
        self._clock = clock
        self._instruments = dict(instruments)
        self._at_quote = costs.fill == "quote"
        self._real_quotes = real_quotes
        """Quotes come from a real market (not the simulated one): a market order fills at the
        quoted ask (buy) or bid (sell) itself, the spread being its cost; slippage applies only
        where there is no book (last price only)."""
        self._slip = costs.slippage_bps / 10_000.0
        self._rate = costs.fee_pct + commission
        self._per_share = costs.fee_per_share
        self._fee_min = costs.fee_min
        self._ledger = PaperLedger(cash)
        self._marks: dict[str, float] = {}
        self._quotes: dict[str, Quote] = {}
        self._pending: dict[str, list[_Working]] = {}
        self._working: dict[str, _Working] = {}
        self._status: dict[str, BrokerAck] = {}
        self._watch: set[str] = set()
        self._fills: list[Fill] = []
        self._updates: list[BrokerAck] = []
        self._seq = 0

    # ------------------------------------------------------------------ Broker port (async)

    def set_instruments(self, instruments: Mapping[str, Instrument]) -> None:
        """Accept orders in `instruments` too (the engine's daily universe refresh); symbols
        known before stay known (a position held in one is still priced and can be closed)."""
        self._instruments.update(instruments)

    async def connect(self) -> None:
        """Nothing to connect to: the paper broker lives in process."""

    async def close(self) -> None:
        """Nothing to release."""

    async def submit(self, order: Order) -> BrokerAck:
        """See `place`."""
        return self.place(order)

    async def cancel(self, client_order_id: str) -> BrokerAck:
        """Cancel a resting order; a finished order answers with its final status, unchanged."""
        w = self._working.pop(client_order_id, None)
        if w is None:
            known = self._status.get(client_order_id)
            if known is None:
                return BrokerAck(client_order_id, OrderStatus.REJECTED, None, "no such order")
            return BrokerAck(
                client_order_id, known.status, known.broker_order_id,
                f"order is already {known.status.value}; nothing to cancel",
            )
        self._unqueue(w)
        return self._set_status(w.coid, OrderStatus.CANCELLED, w.broker_id, "cancelled")

    async def cancel_all(self) -> list[BrokerAck]:
        """Cancel every resting order. Attached stops/targets stay: they protect positions."""
        return [await self.cancel(coid) for coid in list(self._working)]

    async def order_status(self, client_order_id: str) -> BrokerAck:
        """What became of an order; UNKNOWN when this broker never saw the id (or was restarted)."""
        known = self._status.get(client_order_id)
        if known is None:
            return BrokerAck(
                client_order_id, OrderStatus.UNKNOWN, None,
                "the paper broker has no record of this order (never submitted, or lost in a restart)",
            )
        return known

    async def account(self) -> AccountSnapshot:
        """See `snapshot`."""
        return self.snapshot()

    async def poll_fills(self) -> list[Fill]:
        """See `take_fills`."""
        return self.take_fills()

    async def poll_order_updates(self) -> list[BrokerAck]:
        """See `take_order_updates`."""
        return self.take_order_updates()

    # ------------------------------------------------------------------ synchronous twins

    def place(self, order: Order) -> BrokerAck:
        """Validate and accept an order: FILLED at once (quote policy), SUBMITTED when it rests,
        REJECTED with a message when invalid or unaffordable.
        """
        coid = order.client_order_id
        if coid in self._status:
            return BrokerAck(coid, OrderStatus.REJECTED, None, f"duplicate client order id {coid!r}")
        problem = self._validate(order)
        if problem:
            return self._set_status(coid, OrderStatus.REJECTED, None, problem)
        intent = order.intent
        self._seq += 1
        is_market = intent.order_type is OrderType.MARKET
        w = _Working(
            order, coid, intent.symbol, intent.side, intent.side.sign, float(intent.quantity),
            is_market, _INF if is_market else float(intent.limit_price or 0.0),
            intent.equity_fraction, intent.reduce_only, intent.stop_loss, intent.take_profit,
            f"paper-{self._seq}",
        )
        ref = self._market_price(w.symbol, w.sign)
        if self._at_quote and ref is not None:
            book = self._book_price(w.symbol, w.sign) if self._real_quotes else None
            slipped = book if book is not None else ref * (1.0 + self._slip * w.sign)
            if is_market:
                return self._fill_now(w, slipped, self._clock.now())
            if (w.sign > 0 and ref <= w.limit) or (w.sign < 0 and ref >= w.limit):
                capped = min(slipped, w.limit) if w.sign > 0 else max(slipped, w.limit)
                return self._fill_now(w, capped, self._clock.now())
        self._working[coid] = w
        self._pending.setdefault(w.symbol, []).append(w)
        self._watch.add(w.symbol)
        return self._set_status(coid, OrderStatus.SUBMITTED, w.broker_id, "accepted")

    def take_fills(self) -> list[Fill]:
        """Fills since the last call, oldest first."""
        out = self._fills
        self._fills = []
        return out

    def take_order_updates(self) -> list[BrokerAck]:
        """Orders that ended without a fill after being accepted (refused at fill time, a
        reduce-only order with nothing left to reduce), oldest first, since the last call.
        """
        out = self._updates
        self._updates = []
        return out

    def snapshot(self) -> AccountSnapshot:
        """Cash, open positions (with their protections) and the last marks."""
        positions = {
            s: Position(s, h.qty, h.avg_price, h.stop, h.target, h.opened_at, h.realized)
            for s, h in self._ledger.holdings.items()
            if h.qty != 0.0
        }
        return AccountSnapshot(self._clock.now(), self._ledger.cash, positions, dict(self._marks))

    @property
    def cash(self) -> float:
        """Cash now (short-sale proceeds included)."""
        return self._ledger.cash

    @property
    def equity(self) -> float:
        """Cash plus every position marked at its last price (its average price when unmarked)."""
        marks = self._marks
        return self._ledger.cash + sum(
            h.qty * marks.get(s, h.avg_price) for s, h in self._ledger.holdings.items() if h.qty
        )

    @property
    def realized_pnl(self) -> float:
        """Price P&L realized by closing trades, over all symbols (before fees)."""
        return sum(h.realized for h in self._ledger.holdings.values())

    @property
    def fees_paid(self) -> float:
        """Every fee and commission charged so far."""
        return self._ledger.fees

    def position_qty(self, symbol: str) -> float:
        """Signed units held in `symbol` (0 when flat)."""
        return self._ledger.quantity(symbol)

    def open_orders(self) -> list[Order]:
        """Resting orders, in submission order."""
        return [w.order for w in self._working.values()]

    def capabilities(self, asset: AssetClass) -> VenueCapabilities:
        """The simulated venue holds stops and brackets for every asset class (none when built
        with `holds_protection=False`)."""
        held = self.holds_protection
        return VenueCapabilities(stops=held, brackets=held, fractional=True,
                                 shorting=self.supports_short)

    def holds_stops(self, asset: AssetClass) -> bool:
        """Stops rest here, in the simulated book (unless built without protection)."""
        return self.holds_protection

    def protections(self) -> dict[str, tuple[float | None, float | None]]:
        """(stop, target) per symbol with an open protected position: what `restore` takes back."""
        return {
            s: (h.stop, h.target) for s, h in self._ledger.holdings.items() if h.armed
        }

    def set_protection(self, symbol: str, stop: float | None, target: float | None) -> None:
        """Replace the stop/target of the open position in `symbol` (None removes a level)."""
        h = self._ledger.holdings.get(symbol)
        if h is None or h.qty == 0.0:
            raise ValueError(f"no open position in {symbol} to protect")
        h.stop, h.target = stop, target
        if not h.origin:
            h.origin = f"{symbol}-protect"
        self._rewatch(symbol)

    # ------------------------------------------------------------------ SimulatedVenue

    def on_bar(self, bar: Bar) -> None:
        """Fill what this bar triggers, then mark the symbol at the close."""
        self.on_bar_values(bar.symbol, bar.ts, bar.open, bar.high, bar.low, bar.close)

    def on_bar_values(
        self, symbol: str, ts: datetime, o: float, h: float, l: float, c: float
    ) -> None:
        """`on_bar` without building a `Bar`: pending market orders fill at `o`, then the
        position's stop/target, then resting limits; the symbol is then marked at `c`.

        A completed bar is newer than any quote seen during it, so the symbol's quote is dropped
        and quote-policy market orders fill at this close until the next quote.
        """
        if symbol in self._watch:
            self._process_bar(symbol, ts, o, h, l)
        self._marks[symbol] = c
        if self._quotes:
            self._quotes.pop(symbol, None)

    def on_quote(self, quote: Quote) -> None:
        """Remember the quote, mark at its last price and fill what it makes marketable."""
        symbol = quote.symbol
        self._quotes[symbol] = quote
        last = quote.last if quote.last > 0.0 and math.isfinite(quote.last) else quote.mid
        self._marks[symbol] = last
        if symbol not in self._watch:
            return
        ask = _valid(quote.ask, last)
        bid = _valid(quote.bid, last)
        ts = quote.ts
        if self._at_quote:
            real = self._real_quotes
            for w in self._due(symbol, market=True):
                price = ask if w.sign > 0 else bid
                booked = real and price == (quote.ask if w.sign > 0 else quote.bid)
                self._fill_resting(w, price if booked else price * (1.0 + self._slip * w.sign), ts)
        hold = self._ledger.holdings.get(symbol)
        if hold is not None and hold.armed:
            if hold.qty > 0.0:
                if hold.stop is not None and bid <= hold.stop:
                    self._exit(symbol, hold, bid * (1.0 - self._slip), ts, "stop_loss")
                elif hold.target is not None and bid >= hold.target:
                    self._exit(symbol, hold, bid, ts, "take_profit")
            else:
                if hold.stop is not None and ask >= hold.stop:
                    self._exit(symbol, hold, ask * (1.0 + self._slip), ts, "stop_loss")
                elif hold.target is not None and ask <= hold.target:
                    self._exit(symbol, hold, ask, ts, "take_profit")
        for w in self._due(symbol, market=False):
            if w.sign > 0 and ask <= w.limit:
                self._fill_resting(w, ask, ts)
            elif w.sign < 0 and bid >= w.limit:
                self._fill_resting(w, bid, ts)
        self._rewatch(symbol)

    def mark(self, symbol: str, price: float) -> None:
        """Set the price positions in `symbol` are valued at (for drivers that skip bars)."""
        self._marks[symbol] = price

    def trigger_levels(self, symbol: str) -> tuple[float, float, bool]:
        """(below, above, market_pending) for `symbol`.

        `below` is the highest price at or below which something triggers on a bar's low (a
        long's stop, a buy limit, a short's target), else -inf; `above` the lowest price at or
        above which something triggers on a bar's high (a short's stop, a sell limit, a long's
        target), else +inf; `market_pending` whether a market order waits for the next open.
        A driver may skip every bar with low > below and high < above while nothing is pending.
        """
        below, above, market = -_INF, _INF, False
        for w in self._pending.get(symbol, ()):
            if w.is_market:
                market = True
            elif w.sign > 0:
                below = max(below, w.limit)
            elif w.limit < above:
                above = w.limit
        hold = self._ledger.holdings.get(symbol)
        if hold is not None and hold.qty != 0.0:
            low_level, high_level = (
                (hold.stop, hold.target) if hold.qty > 0.0 else (hold.target, hold.stop)
            )
            if low_level is not None and low_level > below:
                below = low_level
            if high_level is not None and high_level < above:
                above = high_level
        return below, above, market

    # ------------------------------------------------------------------ crash safety

    def restore(
        self,
        fills: Sequence[Fill],
        protections: Mapping[str, tuple[float | None, float | None]],
    ) -> None:
        """Rebuild cash, positions and realized P&L by replaying `fills` from the starting cash,
        and re-attach each symbol's (stop, target). Resting orders are not restored: their ids
        answer UNKNOWN to `order_status` so the engine reconciles them.
        """
        self._ledger = PaperLedger.replay(self.starting_cash, fills)
        self._pending.clear()
        self._working.clear()
        self._status.clear()
        self._watch.clear()
        self._fills.clear()
        self._updates.clear()
        last_coid: dict[str, str] = {}
        last_price: dict[str, float] = {}
        for f in fills:
            self._status[f.client_order_id] = BrokerAck(
                f.client_order_id, OrderStatus.FILLED, None, "filled (restored from the fill log)"
            )
            last_coid[f.symbol] = f.client_order_id
            last_price[f.symbol] = f.price
        for symbol, price in last_price.items():  # a mark from the feed beats the last fill price
            self._marks.setdefault(symbol, price)
        for symbol, (stop, target) in protections.items():
            h = self._ledger.holdings.get(symbol)
            if h is None or h.qty == 0.0 or (stop is None and target is None):
                continue
            h.stop, h.target = stop, target
            h.origin = last_coid.get(symbol, f"{symbol}-protect")
            self._watch.add(symbol)

    async def venue_orders(self) -> list[VenueOrder]:
        """Its own resting orders (all of them ours: nothing else trades here)."""
        return [VenueOrder(w.coid, w.coid, w.symbol, w.side.value, w.qty,
                           w.order.intent.order_type.value, w.order.intent.limit_price)
                for w in self._working.values()]

    async def increments(self, symbol: str) -> Increments | None:
        """None: the simulated venue fills any price and size (a backtest stays unrounded)."""
        return None

    def reconcile(self, fills: Sequence[Fill]) -> list[str]:
        """Differences between this broker's cash/positions and a replay of `fills`; [] if none."""
        ref = PaperLedger.replay(self.starting_cash, fills)
        issues: list[str] = []
        if not _same(ref.cash, self._ledger.cash):
            issues.append(f"cash: broker {self._ledger.cash:.6f} != fill log {ref.cash:.6f}")
        for symbol in sorted(set(ref.holdings) | set(self._ledger.holdings)):
            mine = self._ledger.holdings.get(symbol, Holding())
            theirs = ref.holdings.get(symbol, Holding())
            if not _same(mine.qty, theirs.qty):
                issues.append(f"{symbol} quantity: broker {mine.qty:g} != fill log {theirs.qty:g}")
            elif mine.qty and not _same(mine.avg_price, theirs.avg_price):
                issues.append(
                    f"{symbol} average price: broker {mine.avg_price:.6f} != "
                    f"fill log {theirs.avg_price:.6f}"
                )
            if not _same(mine.realized, theirs.realized):
                issues.append(
                    f"{symbol} realized P&L: broker {mine.realized:.6f} != "
                    f"fill log {theirs.realized:.6f}"
                )
        return issues

    # ------------------------------------------------------------------ internals

    def _validate(self, order: Order) -> str:
        intent = order.intent
        symbol = intent.symbol
        instrument = self._instruments.get(symbol)
        if instrument is None:
            return f"unknown symbol {symbol!r}: not in the paper broker's universe"
        problem = _size_problem(intent, instrument.fractional)
        if problem:
            return problem
        limit = intent.limit_price
        if intent.order_type is OrderType.LIMIT and (
            limit is None or not (limit > 0.0 and math.isfinite(limit))
        ):
            return f"a limit order needs a positive limit price, got {limit!r}"
        side = intent.side
        held = self._ledger.quantity(symbol)
        problem = self._side_problem(intent, held)
        if problem or intent.reduce_only:
            return problem
        ref = limit if intent.order_type is OrderType.LIMIT else self._market_price(symbol, side.sign)
        if ref is None:
            return ""
        problem = _protection_problem(intent, ref)
        if problem or intent.equity_fraction is not None:
            return problem
        qty = intent.quantity
        price = ref * (1.0 + self._slip * side.sign)
        new_qty = held + side.sign * qty
        if self._opens(held, new_qty) and not self._affordable(
            symbol, new_qty, qty * price * side.sign + self._fee(qty, price), price
        ):
            return self._insufficient(symbol, qty, price)
        return ""

    def _side_problem(self, intent: OrderIntent, held: float) -> str:
        """Why the order's side cannot be taken with `held` units: a reduce-only order with
        nothing to reduce, or a short this broker does not allow; "" when it can."""
        side, symbol = intent.side, intent.symbol
        if intent.reduce_only:
            if held * side.sign >= 0.0 or held == 0.0:
                return f"reduce-only {side.value} order but no opposite position in {symbol}"
        elif side is Side.SELL and not self.supports_short and (
            intent.equity_fraction is not None or intent.quantity > held + FLAT_EPSILON
        ):
            return f"short selling is not supported by this broker (holding {held:g} {symbol})"
        return ""

    def _market_price(self, symbol: str, sign: int) -> float | None:
        """The price a market order would take now: ask/bid of the last quote, else last close."""
        q = self._quotes.get(symbol)
        mark = self._marks.get(symbol)
        if q is not None:
            last = mark if mark is not None else q.mid
            return _valid(q.ask, last) if sign > 0 else _valid(q.bid, last)
        return mark

    def _book_price(self, symbol: str, sign: int) -> float | None:
        """The quoted ask (buy) or bid (sell) of `symbol`'s last quote, None without a book."""
        q = self._quotes.get(symbol)
        if q is None:
            return None
        side = q.ask if sign > 0 else q.bid
        return side if side > 0.0 and math.isfinite(side) else None

    def _fee(self, qty: float, price: float) -> float:
        """fee_per_share per unit + (fee_pct + commission) of traded value, at least fee_min."""
        fee = qty * self._per_share + qty * price * self._rate
        return max(fee, self._fee_min)

    @staticmethod
    def _opens(held: float, new_qty: float) -> bool:
        """Whether going from `held` to `new_qty` adds exposure (opens, grows or reverses)."""
        return abs(new_qty) > abs(held) + FLAT_EPSILON or (new_qty * held < 0.0)

    def _buying_power(self, symbol: str, price: float, new_qty: float, cash: float) -> float:
        """Cash + value of longs - value of shorts - gross value (no margin): cash less twice
        the shorts' value, i.e. the margin available at leverage 1.
        """
        shorts = 0.0
        marks = self._marks
        for s, h in self._ledger.holdings.items():
            if s != symbol and h.qty < 0.0:
                shorts -= h.qty * marks.get(s, h.avg_price)
        if new_qty < 0.0:
            shorts -= new_qty * price
        return cash - 2.0 * shorts

    def _affordable(self, symbol: str, new_qty: float, cash_out: float, price: float) -> bool:
        cash_after = self._ledger.cash - cash_out
        bp = self._buying_power(symbol, price, new_qty, cash_after)
        return bp >= -1e-9 * max(1.0, abs(cash_out))

    def _insufficient(self, symbol: str, qty: float, price: float) -> str:
        return (
            f"insufficient buying power for {qty:g} {symbol} at {price:.6g}: "
            f"cash {self._ledger.cash:.2f} (no margin: buying power is cash)"
        )

    def _size_fraction(self, w: _Working, price: float, held: float, cash: float) -> float:
        """Units a relative-size order buys at `price` with `held` units and `cash`: its
        fraction of the buying power over the unit price with the commission added, rounded
        down to the instrument's step; 0.0 when nothing is affordable."""
        fraction = w.fraction
        assert fraction is not None
        available = self._buying_power(w.symbol, price, held, cash)
        if available <= 0.0:
            return 0.0
        # the unit cost in the same float expression as the fraction's commission per unit
        unit = price + fraction * price * self._rate / fraction + self._per_share
        budget = available * fraction
        fractional = self._instruments[w.symbol].fractional
        qty = _floor_units(budget / unit, fractional) if fractional else float(budget // unit)
        if qty > 0.0 and self._fee_min > 0.0 and self._fee(qty, price) == self._fee_min:
            qty = _floor_units((budget - self._fee_min) / price, fractional)
        return max(0.0, qty)

    def _size_at_fill(self, w: _Working, price: float, held: float,
                      ts: datetime) -> tuple[float, bool]:
        """(units, whether an opposite position was closed) for a relative-size order filling
        at `price`. A reversal closes the opposite position first (its own execution, reported
        as completing the order when nothing is left to open), then sizes the new one from what
        is available after the close."""
        if not (held * w.sign < 0.0 and not w.reduce_only):
            return self._size_fraction(w, price, held, self._ledger.cash), False
        close_qty = abs(held)
        fee = self._fee(close_qty, price)
        # the cash the close leaves, in the ledger's own float expression
        cash = self._ledger.cash - (close_qty * price * w.sign + fee)
        qty = self._size_fraction(w, price, 0.0, cash)
        self._book(Fill(f"pf-{w.coid}:close", w.coid, w.symbol, w.side, close_qty, price, fee, ts,
                        "taker", "order", order_done=qty <= 0.0))
        return qty, True

    def _fill_now(self, w: _Working, price: float, ts: datetime) -> BrokerAck:
        refusal = self._execute(w, price, ts)
        if refusal is not None:
            return self._set_status(w.coid, refusal[0], w.broker_id, refusal[1])
        return self._status[w.coid]

    def _fill_resting(self, w: _Working, price: float, ts: datetime) -> None:
        """Fill (or refuse) a queued order and take it off the queue."""
        self._working.pop(w.coid, None)
        self._unqueue(w)
        refusal = self._execute(w, price, ts)
        if refusal is not None:
            self._updates.append(self._set_status(w.coid, refusal[0], w.broker_id, refusal[1]))

    def _execute(
        self, w: _Working, price: float, ts: datetime
    ) -> tuple[OrderStatus, str] | None:
        """Size, check and book one fill for `w` at `price`; None, or why it did not fill."""
        rejected = OrderStatus.REJECTED
        symbol = w.symbol
        held = self._ledger.quantity(symbol)
        if w.fraction is not None:
            qty, closed = self._size_at_fill(w, price, held, ts)
            if closed:
                held = 0.0
            if qty <= 0.0:
                if closed:  # the close executed; nothing affordable is left to open
                    self._set_status(w.coid, OrderStatus.FILLED, w.broker_id,
                                     "closed the position; too little cash to reverse")
                    self._rewatch(symbol)
                    return None
                return rejected, self._insufficient(symbol, 1.0, price)
        else:
            qty = w.qty
        if w.reduce_only:
            if held * w.sign >= 0.0 or held == 0.0:
                return OrderStatus.CANCELLED, f"reduce-only: no opposite position left in {symbol}"
            qty = min(qty, abs(held))
        new_qty = held + w.sign * qty
        if not self.supports_short and new_qty < -FLAT_EPSILON:
            return rejected, f"short selling is not supported by this broker (holding {held:g})"
        fee = self._fee(qty, price)
        if self._opens(held, new_qty) and not self._affordable(
            symbol, new_qty, qty * price * w.sign + fee, price
        ):
            return rejected, self._insufficient(symbol, qty, price)
        # one execution completes every order here: a fixed size, a size set at the fill, or a
        # reduce-only order trimmed to what is held (the rest can never fill)
        fill = Fill(f"pf-{w.coid}", w.coid, symbol, w.side, qty, price, fee, ts, "taker", "order",
                    order_done=True)
        hold = self._book(fill)
        if hold.qty * w.sign > 0.0 and not w.reduce_only and self.holds_protection and (
            w.stop is not None or w.target is not None
        ):
            if w.stop is not None:
                hold.stop = w.stop
            if w.target is not None:
                hold.target = w.target
            hold.origin = w.coid
        self._set_status(w.coid, OrderStatus.FILLED, w.broker_id, "filled")
        self._rewatch(symbol)
        return None

    def _book(self, fill: Fill) -> Holding:
        hold = self._ledger.apply(fill)
        self._fills.append(fill)
        return hold

    def _exit(self, symbol: str, hold: Holding, price: float, ts: datetime, reason: str) -> None:
        """Close the whole position at `price` for a triggered stop-loss or take-profit."""
        base = f"{hold.origin or symbol}:{'sl' if reason == 'stop_loss' else 'tp'}"
        coid, n = base, 1
        while coid in self._status:
            n += 1
            coid = f"{base}{n}"
        qty = abs(hold.qty)
        side = Side.SELL if hold.qty > 0.0 else Side.BUY
        fill = Fill(f"pf-{coid}", coid, symbol, side, qty, price, self._fee(qty, price), ts,
                    "taker" if reason == "stop_loss" else "maker", reason, order_done=True)
        self._book(fill)
        self._set_status(coid, OrderStatus.FILLED, None, reason)

    def _process_bar(self, symbol: str, ts: datetime, o: float, h: float, l: float) -> None:
        self._marks[symbol] = o
        if symbol in self._pending:
            slip = self._slip
            for w in self._due(symbol, market=True):
                self._fill_resting(w, o * (1.0 + slip * w.sign), ts)
        hold = self._ledger.holdings.get(symbol)
        if hold is not None and hold.qty != 0.0 and (hold.stop is not None or hold.target is not None):
            if hold.qty > 0.0:
                self._protect_long(symbol, hold, ts, o, h, l)
            else:
                self._protect_short(symbol, hold, ts, o, h, l)
        if symbol in self._pending:
            self._fill_limits(symbol, ts, o, h, l)
        self._rewatch(symbol)

    def _protect_long(self, symbol: str, hold: Holding, ts: datetime, o: float, h: float,
                      l: float) -> None:
        """A long's stop or target, at the open if it gaps through, else at the level intrabar."""
        stop, target, slip = hold.stop, hold.target, self._slip
        if stop is not None and o <= stop:
            self._exit(symbol, hold, o * (1.0 - slip), ts, "stop_loss")
        elif target is not None and o >= target:
            self._exit(symbol, hold, o, ts, "take_profit")
        elif stop is not None and l <= stop:
            self._exit(symbol, hold, stop * (1.0 - slip), ts, "stop_loss")
        elif target is not None and h >= target:
            self._exit(symbol, hold, target, ts, "take_profit")

    def _protect_short(self, symbol: str, hold: Holding, ts: datetime, o: float, h: float,
                       l: float) -> None:
        """A short's stop or target, at the open if it gaps through, else at the level intrabar."""
        stop, target, slip = hold.stop, hold.target, self._slip
        if stop is not None and o >= stop:
            self._exit(symbol, hold, o * (1.0 + slip), ts, "stop_loss")
        elif target is not None and o <= target:
            self._exit(symbol, hold, o, ts, "take_profit")
        elif stop is not None and h >= stop:
            self._exit(symbol, hold, stop * (1.0 + slip), ts, "stop_loss")
        elif target is not None and l <= target:
            self._exit(symbol, hold, target, ts, "take_profit")

    def _fill_limits(self, symbol: str, ts: datetime, o: float, h: float, l: float) -> None:
        """Resting limit orders the bar reaches: at the open if it gaps through, else at the limit."""
        for w in self._due(symbol, market=False):
            if w.sign > 0:
                if o <= w.limit:
                    self._fill_resting(w, o, ts)
                elif l <= w.limit:
                    self._fill_resting(w, w.limit, ts)
            elif o >= w.limit:
                self._fill_resting(w, o, ts)
            elif h >= w.limit:
                self._fill_resting(w, w.limit, ts)

    def _due(self, symbol: str, *, market: bool) -> list[_Working]:
        """A snapshot of the symbol's queued market (or limit) orders, in submission order."""
        return [w for w in self._pending.get(symbol, ()) if w.is_market is market]

    def _unqueue(self, w: _Working) -> None:
        queue = self._pending.get(w.symbol)
        if queue is not None:
            try:
                queue.remove(w)
            except ValueError:
                pass
            if not queue:
                del self._pending[w.symbol]
        self._rewatch(w.symbol)

    def _rewatch(self, symbol: str) -> None:
        hold = self._ledger.holdings.get(symbol)
        if symbol in self._pending or (hold is not None and hold.armed):
            self._watch.add(symbol)
        else:
            self._watch.discard(symbol)

    def _set_status(
        self, coid: str, status: OrderStatus, broker_id: str | None, message: str
    ) -> BrokerAck:
        ack = BrokerAck(coid, status, broker_id, message)
        self._status[coid] = ack
        return ack


def _valid(price: float, fallback: float) -> float:
    """`price` when it is a usable positive number, else `fallback`."""
    return price if price > 0.0 and math.isfinite(price) else fallback


def _floor_units(units: float, fractional: bool) -> float:
    if not fractional:
        return float(math.floor(units))
    return math.floor(units / CRYPTO_STEP) * CRYPTO_STEP


def _same(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))

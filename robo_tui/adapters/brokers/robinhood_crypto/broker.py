"""Robinhood crypto as a `Broker` (robo_tui/ports.py), through the official Crypto Trading API.

Client order ids: every order carries a `client_order_id` UUID derived from the engine's own id
(the id itself when it is a UUID, else a name-based UUID of it), so the id is known, and
recorded with the intent, before the request goes out, and the same engine id always names the
same venue order, in this session or after a restart. A submit whose answer is lost (timeout,
dropped connection, 5xx) is UNKNOWN, never REJECTED; it is resolved by *asking*: the venue's
order list is searched for that `client_order_id` (by the next poll, `order_status`, `cancel`),
and nothing is ever re-sent blindly. A 429 is waited out per its `Retry-After` while the order's
deadline allows; past that the order was not placed and is REJECTED as rate-limited.

Protection: the venue holds stop-loss orders for crypto. When an entry carrying a stop fills
(in whole or in part) a GTC `stop_loss` sell for the filled quantity is placed (`<id>:sl`; its
fills come with reason `stop_loss`); a further partial fill resizes it (cancel, then a new
`<id>:sl2` ...). A sell against a protected position first cancels its stop (the stop's units
are reserved at the venue and would block the sell), and once the sell is done the stop is
re-armed for what is still held, so a stop never sells more than is held. Take-profits, OCO and
trailing stops are not venue-held here: `capabilities` says so and the engine must hold them.

Prices and sizes are rounded to the pair's increments before they are sent (`pairs`): quantity
down to `asset_increment` and within min/max size, limit prices to `quote_increment` (a buy
down, a sell up), the stop of a long down.

Safety: Robinhood has no paper accounts, so every order is real money; outside live mode
`connect` refuses. Key material lives in the signer only and never reaches a repr or a message.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Literal

import httpx

from robo_tui.adapters.brokers.robinhood_crypto.client import (
    CryptoApiError,
    CryptoTradingClient,
    Ed25519Signer,
    RateLimited,
    VenueRefused,
    VenueUnclear,
)
from robo_tui.adapters.brokers.robinhood_crypto.models import OrderRequest, VenueOrder
from robo_tui.adapters.brokers.robinhood_crypto.pairs import (
    PairRules,
    limit_direction,
    price_problem,
    round_price,
    round_quantity,
    size_problem,
    stop_direction,
)
from robo_tui.adapters.brokers.venue_book import PolledVenue
from robo_tui.config import RobinhoodCryptoSettings
from robo_tui.domain.drift import VenueOrder as ListedOrder
from robo_tui.domain.increments import Increments
from robo_tui.domain.market import AssetClass
from robo_tui.domain.orders import (
    AccountSnapshot,
    BrokerAck,
    Fill,
    Order,
    OrderStatus,
    OrderType,
    Position,
    Side,
    VenueCapabilities,
)
from robo_tui.ports import Clock

log = logging.getLogger(__name__)

CLIENT_ID_NAMESPACE = uuid.UUID("0b6f3f0e-6c1a-5b8e-9d51-7a2f4c3e9b10")
"""Namespace of the name-based UUIDs derived from engine order ids (never change it: ids
recorded by earlier runs must keep naming the same venue orders)."""
STOP_SUFFIX = ":sl"
MAX_STOP_GENERATIONS = 64
"""How many resizes/re-arms of one entry's stop (`:sl` ... `:sl64`) an adopted stop is matched
against after a restart."""
POLL_INTERVAL_SECONDS = 2.0
"""Least time between two polls of our open orders (the API allows ~100 requests a minute)."""
LOOKBACK_SECONDS = 600.0
"""How far before a lost submit the order list is searched for its client order id."""

_STATES = {
    "open": OrderStatus.SUBMITTED,
    "partially_filled": OrderStatus.PARTIALLY_FILLED,
    "filled": OrderStatus.FILLED,
    "canceled": OrderStatus.CANCELLED,
    "failed": OrderStatus.REJECTED,
}
_FINAL = frozenset({OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED})
_ZERO = Decimal(0)


class RobinhoodCryptoUnavailable(ConnectionError):
    """The Crypto Trading API cannot be reached, or refuses the keys."""


class RobinhoodCryptoRefused(ConnectionError):
    """Robinhood would trade real money but the engine is not in live mode."""


def venue_client_id(client_order_id: str) -> str:
    """The venue's `client_order_id` for an engine order id: the id itself when it is a UUID,
    else the name-based UUID of it (the same every time, so it can be asked for after a restart)."""
    try:
        return str(uuid.UUID(client_order_id))
    except ValueError:
        return str(uuid.uuid5(CLIENT_ID_NAMESPACE, client_order_id))


def _iso(ts: datetime) -> str:
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(slots=True)
class _Tracked:
    """An order we sent (or found at the venue) and what we know of it."""

    coid: str
    venue_coid: str
    symbol: str
    side: Side
    quantity: Decimal
    sent_at: datetime
    venue_id: str | None = None
    status: OrderStatus = OrderStatus.UNKNOWN
    message: str = ""
    stop_price: Decimal | None = None
    """For an entry: the stop that protects what it fills."""
    filled: Decimal = _ZERO
    executions_seen: int = 0
    protective: bool = False
    cover: Decimal = _ZERO
    """For an entry: the quantity its stop should cover now."""
    protection: str | None = None
    """For an entry: the client order id of its current stop."""
    stops_placed: int = 0
    rearm: bool = False
    """For an entry: its stop was lifted for a sell and is re-armed when the sell is done."""
    final_reported: bool = False


class RobinhoodCryptoBroker(PolledVenue):
    """Trades a Robinhood crypto account through the official Crypto Trading API.

    Long only (`supports_short` False), fractional (`supports_fractional`); `is_live` must be
    True for `connect` (Robinhood has no paper accounts).
    """

    name = "robinhood_crypto"
    restores_from_fills = False
    supports_short = False
    supports_fractional = True

    def __init__(self, settings: RobinhoodCryptoSettings, *, clock: Clock, live: bool,
                 poll_interval: float = POLL_INTERVAL_SECONDS,
                 transport: httpx.AsyncBaseTransport | None = None,
                 now: Callable[[], float] = time.time) -> None:
        self._settings = settings
        self._clock = clock
        self.is_live = live
        self._poll_interval = poll_interval
        self._transport = transport
        self._now = now
        self._client: CryptoTradingClient | None = None
        self._pairs: dict[str, PairRules] = {}
        self._tracked: dict[str, _Tracked] = {}
        self._fills: list[Fill] = []
        self._updates: list[BrokerAck] = []
        self._costs: dict[str, tuple[Decimal, Decimal]] = {}  # symbol → (units, average price)
        self._last_poll = -math.inf

    def __repr__(self) -> str:
        return f"RobinhoodCryptoBroker({self._settings.base_url!r}, live={self.is_live})"

    # ------------------------------------------------------------------ declared capabilities

    @property
    def order_timeout(self) -> float:
        """Seconds before an unanswered submit is UNKNOWN (the configured timeout)."""
        return self._settings.timeout_seconds

    def capabilities(self, asset: AssetClass) -> VenueCapabilities:
        """Crypto: venue-held stop-loss orders and fractions; no brackets/OCO (so no venue-held
        take-profit), no shorts. Nothing else trades here."""
        crypto = asset is AssetClass.CRYPTO
        return VenueCapabilities(stops=crypto, brackets=False, fractional=crypto, shorting=False)

    # ------------------------------------------------------------------ connection

    async def connect(self) -> None:
        """Check the keys against the account and load the trading pairs.

        Raises `RobinhoodCryptoRefused` outside live mode and `RobinhoodCryptoUnavailable` when
        the keys are missing or refused or the venue cannot be reached."""
        if not self.is_live:
            raise RobinhoodCryptoRefused(
                "Robinhood has no paper accounts: every order would be real money, so it trades "
                "only in live mode (engine.live_enabled = true and --confirm-live); use "
                "broker.kind = 'paper' otherwise")
        s = self._settings
        if s.api_key is None or s.private_key is None:
            raise RobinhoodCryptoUnavailable(
                "Robinhood crypto needs broker.robinhood_crypto.api_key and private_key "
                "(environment ROBO_TUI_BROKER__ROBINHOOD_CRYPTO__API_KEY / __PRIVATE_KEY or the "
                "0600 secrets file)")
        try:
            signer = Ed25519Signer(s.api_key.get_secret_value(), s.private_key.get_secret_value())
        except ValueError as exc:
            raise RobinhoodCryptoUnavailable(f"broker.robinhood_crypto: {exc}") from None
        if self._client is not None:
            await self._client.close()
        self._client = CryptoTradingClient(s.base_url, signer, timeout=s.timeout_seconds,
                                           now=self._now, transport=self._transport)
        try:
            account = await self._client.account()
            pairs = await self._client.trading_pairs()
        except VenueRefused as exc:
            raise RobinhoodCryptoUnavailable(
                f"Robinhood refused the API key ({exc}); check the key, that its public key is "
                "registered, and the clock (requests are valid for about 30 s)") from None
        except CryptoApiError as exc:
            raise RobinhoodCryptoUnavailable(f"cannot reach Robinhood at {s.base_url}: {exc}") from None
        if account.status != "active":
            log.warning("Robinhood crypto account ending %s is %s", account.account_number[-4:],
                        account.status)
        self._pairs = {p.symbol: p.rules() for p in pairs}
        await self._adopt_resting_stops()
        log.info("connected to Robinhood crypto, account ending %s, %d pairs",
                 account.account_number[-4:], len(self._pairs))

    async def _adopt_resting_stops(self) -> None:
        """Take over the stop-loss sells still resting at the venue (a previous run's protection):
        they are lifted before a sell and re-armed for what is left, like our own, so an exit
        after a restart is neither blocked by them nor leaves them orphaned."""
        try:
            resting = await self._api().orders([("state", "open"), ("side", "sell")])
        except CryptoApiError as exc:
            log.warning("cannot list the stops resting at Robinhood: %s", exc)
            return
        known = {t.venue_coid for t in self._tracked.values()}
        for found in resting:
            config = found.stop_config()
            if found.client_order_id in known or config is None or found.symbol not in self._pairs:
                continue
            quantity = (config.asset_quantity or _ZERO) - found.filled_asset_quantity
            # a stand-in for the entry this stop protects (its id is not recoverable from the
            # stop's UUID); the stop keeps its venue client order id as its id here
            entry = _Tracked(f"adopted:{found.client_order_id}", "", found.symbol, Side.BUY,
                             quantity, found.created_at or datetime.now(UTC),
                             status=OrderStatus.FILLED, stop_price=config.stop_price,
                             cover=quantity, protection=found.client_order_id,
                             final_reported=True)
            stop = _Tracked(found.client_order_id, found.client_order_id, found.symbol,
                            Side.SELL, quantity, entry.sent_at, protective=True)
            self._absorb(stop, found)
            stop.executions_seen = len(found.executions)
            self._fills = [f for f in self._fills if f.client_order_id != stop.coid]
            self._tracked[entry.coid] = entry
            self._tracked[stop.coid] = stop
            log.info("adopted the %s stop-loss resting at Robinhood for %s %s", config.stop_price,
                     quantity, found.symbol)

    def venue_stop_id(self, entry_client_order_id: str) -> str:
        """The client order id of the stop-loss resting at Robinhood for this entry (`<id>:sl`,
        `<id>:sl2`, ... after a resize or a re-arm: the current one), "" when none rests. The
        engine records it as the OCO leg of the take-profit it holds and cancels it when the
        target fires. After a restart the stop adopted from the venue is matched to its entry
        by its `client_order_id` (derived from the entry's id)."""
        entry = self._tracked.get(entry_client_order_id) or self._link(entry_client_order_id)
        if entry is None:
            return ""
        if entry.protection is None:
            linked = self._link(entry_client_order_id)
            entry = linked if linked is not None else entry
        stop = self._tracked.get(entry.protection or "")
        return stop.coid if stop is not None and stop.status not in _FINAL else ""

    def _link(self, entry_coid: str) -> _Tracked | None:
        """Match a stop adopted at connect (an earlier run's) to the entry it protects, by the
        client order ids that entry's stops would have (`venue_client_id(<id>:sl<n>)`): the
        stop is tracked under its own id again and protects the entry's record (its stand-in
        becomes that record), so a sell lifts and re-arms it once, under the entry's names.
        The entry's record; None when no adopted stop is one of its own."""
        adopted = {t.venue_coid: t for t in self._tracked.values()
                   if t.protective and t.coid == t.venue_coid and t.status not in _FINAL}
        if not adopted:
            return None
        for n in range(MAX_STOP_GENERATIONS, 0, -1):  # the latest generation rests
            coid = entry_coid + (STOP_SUFFIX if n == 1 else f"{STOP_SUFFIX}{n}")
            stop = adopted.get(venue_client_id(coid))
            if stop is None:
                continue
            stand_in = self._tracked.pop(f"adopted:{stop.coid}", None)
            del self._tracked[stop.coid]
            stop.coid = coid
            self._tracked[coid] = stop
            entry = self._tracked.get(entry_coid)
            if entry is None:
                entry = stand_in or _Tracked(entry_coid, "", stop.symbol, Side.BUY, stop.quantity,
                                             stop.sent_at, status=OrderStatus.FILLED,
                                             final_reported=True)
                entry.coid, entry.venue_coid = entry_coid, venue_client_id(entry_coid)
                self._tracked[entry_coid] = entry
            if stand_in is not None:
                entry.stop_price, entry.cover = stand_in.stop_price, stand_in.cover
                entry.rearm = entry.rearm or stand_in.rearm
            entry.protection, entry.stops_placed = coid, max(entry.stops_placed, n)
            log.info("the adopted stop-loss %s protects %s", coid, entry_coid)
            return entry
        return None

    async def venue_time(self) -> datetime:
        """Robinhood's clock now: the `Date` header of a fresh signed answer (to the second),
        for the preflight's clock check. Raises `RobinhoodCryptoUnavailable` when it cannot."""
        if self._client is None:
            raise RobinhoodCryptoUnavailable("not connected to Robinhood")
        try:
            await self._client.account()
        except CryptoApiError as exc:
            raise RobinhoodCryptoUnavailable(f"cannot ask Robinhood for its time: {exc}") from None
        if self._client.venue_date is None:
            raise RobinhoodCryptoUnavailable("Robinhood's answer carried no Date header")
        return self._client.venue_date

    async def close(self) -> None:
        """Close the connection pool."""
        if self._client is not None:
            client, self._client = self._client, None
            await client.close()

    def _api(self) -> CryptoTradingClient:
        if self._client is None:
            raise RobinhoodCryptoUnavailable("not connected to Robinhood crypto")
        return self._client

    def pair(self, symbol: str) -> PairRules | None:
        """The venue's rules for `symbol` (None when it is not a listed pair)."""
        return self._pairs.get(symbol)

    async def venue_orders(self) -> list[ListedOrder]:
        """The open orders Robinhood lists, each with our id when its `client_order_id` is one
        we sent or adopted (an earlier run's stop reads `adopted:<venue id>`)."""
        try:
            found = await self._api().orders([("state", "open")])
        except CryptoApiError as exc:
            raise RobinhoodCryptoUnavailable(f"Robinhood order list failed: {exc}") from None
        ours = {t.venue_coid: t for t in self._tracked.values()}
        out: list[ListedOrder] = []
        for order in found:
            tracked = ours.get(order.client_order_id)
            coid = "" if tracked is None else tracked.coid
            if tracked is not None and tracked.protective and tracked.coid == tracked.venue_coid:
                coid = f"adopted:{tracked.coid}"
            config = order.config()
            left = ((config.asset_quantity or _ZERO) - order.filled_asset_quantity
                    if config is not None else _ZERO)
            price = None if config is None else (config.stop_price or config.limit_price)
            out.append(ListedOrder(coid, order.id, order.symbol, order.side, float(left),
                                   order.type, None if price is None else float(price)))
        return out

    async def increments(self, symbol: str) -> Increments | None:
        """The pair's `quote_increment`, `asset_increment` and min/max order size (loaded at
        connect); None for a pair the venue does not list."""
        rules = self._pairs.get(symbol)
        if rules is None:
            return None
        return Increments(price_tick=float(rules.quote_increment),
                          quantity_step=float(rules.asset_increment),
                          min_quantity=float(rules.min_order_size),
                          max_quantity=float(rules.max_order_size) or None)

    # ------------------------------------------------------------------ orders

    async def submit(self, order: Order) -> BrokerAck:
        """Send `order` with its client order id; UNKNOWN when the answer is lost."""
        coid = order.client_order_id
        prepared = self._prepare(order)
        if isinstance(prepared, str):
            return BrokerAck(coid, OrderStatus.REJECTED, None, prepared)
        request, tracked = prepared
        if self._client is None:
            return BrokerAck(coid, OrderStatus.REJECTED, None,
                             "not connected to Robinhood crypto; the order was not sent")
        if tracked.side is Side.SELL:
            await self._lift_stops(tracked.symbol)
        self._tracked[coid] = tracked
        ack = await self._place(tracked, request)
        await self._follow_up(tracked)
        return ack

    def _prepare(self, order: Order) -> str | tuple[OrderRequest, _Tracked]:
        """The request body and the record of `order`, or why it cannot be sent."""
        intent, coid = order.intent, order.client_order_id
        qty = intent.quantity
        if not (math.isfinite(qty) and qty > 0):
            return f"quantity must be a positive number, got {qty!r}"
        if coid in self._tracked:
            return f"duplicate client order id {coid}"
        pair = self._pairs.get(order.symbol)
        if pair is None:
            return f"{order.symbol} is not a trading pair Robinhood lists for crypto"
        if not pair.tradable:
            return f"{order.symbol} is not tradable at Robinhood now"
        quantity = round_quantity(pair, qty)
        problem = size_problem(pair, quantity)
        if problem:
            return problem
        if intent.side is Side.SELL and intent.stop_loss is not None and not intent.reduce_only:
            return "Robinhood crypto does not sell short, so a sell cannot open a protected position"
        side: Literal["buy", "sell"] = "buy" if intent.side is Side.BUY else "sell"
        if intent.order_type is OrderType.LIMIT:
            problem = price_problem("limit", intent.limit_price)
            if problem or intent.limit_price is None:
                return problem
            limit = round_price(pair, intent.limit_price, limit_direction(intent.side))
            request = OrderRequest.make(venue_client_id(coid), side, order.symbol, "limit",
                                        quantity, limit_price=limit)
        else:
            request = OrderRequest.make(venue_client_id(coid), side, order.symbol, "market",
                                        quantity)
        stop: Decimal | None = None
        if intent.stop_loss is not None and intent.side is Side.BUY and not intent.reduce_only:
            problem = price_problem("stop-loss", intent.stop_loss)
            if problem:
                return problem
            stop = round_price(pair, intent.stop_loss, stop_direction(Side.SELL))
            if intent.limit_price is not None and stop >= Decimal(repr(intent.limit_price)):
                return f"stop-loss {stop} is not below the limit {intent.limit_price:g}"
        tracked = _Tracked(coid, request.client_order_id, order.symbol, intent.side, quantity,
                           datetime.now(UTC), stop_price=stop)
        return request, tracked

    def _ack_timeout(self) -> float:
        # a little under the engine's own timeout, so our UNKNOWN says what happened
        return max(0.1, self._settings.timeout_seconds * 0.8)

    async def _place(self, tracked: _Tracked, request: OrderRequest) -> BrokerAck:
        """POST the order; the ack from the answer, or UNKNOWN/REJECTED by what went wrong."""
        coid, wait = tracked.coid, self._ack_timeout()
        try:
            async with asyncio.timeout(wait):
                answer = await self._api().place_order(request, deadline=time.monotonic() + wait)
        except TimeoutError:
            tracked.status, tracked.message = OrderStatus.UNKNOWN, (
                f"no answer from Robinhood within {wait:g}s; the order may exist (asked for by "
                f"client order id {tracked.venue_coid})")
        except VenueUnclear as exc:
            tracked.status, tracked.message = OrderStatus.UNKNOWN, (
                f"{exc}; the order may exist (asked for by client order id {tracked.venue_coid})")
        except RateLimited as exc:
            tracked.status, tracked.message = OrderStatus.REJECTED, f"not placed: {exc}"
            tracked.final_reported = True
        except VenueRefused as exc:
            tracked.status, tracked.message = OrderStatus.REJECTED, f"Robinhood refused the order ({exc})"
            tracked.final_reported = True
        else:
            self._absorb(tracked, answer)
            if tracked.status in (OrderStatus.CANCELLED, OrderStatus.REJECTED):
                tracked.final_reported = True
        return BrokerAck(coid, tracked.status, tracked.venue_id, tracked.message)

    def _absorb(self, tracked: _Tracked, order: VenueOrder) -> None:
        """Update `tracked` from the venue's view of its order: status, new executions as fills."""
        tracked.venue_id = order.id
        fallback = order.updated_at or order.created_at or self._clock.now()
        for index, ex in enumerate(order.executions):
            if index < tracked.executions_seen:
                continue
            tracked.executions_seen = index + 1
            if ex.quantity <= 0 or ex.effective_price <= 0:
                continue
            tracked.filled += ex.quantity
            if not tracked.protective and tracked.side is Side.BUY:
                tracked.cover += ex.quantity
            fill = Fill(fill_id=f"{order.id}:{index}", client_order_id=tracked.coid,
                        symbol=tracked.symbol, side=tracked.side, quantity=float(ex.quantity),
                        price=float(ex.effective_price), fee=0.0,
                        ts=(ex.timestamp or fallback).astimezone(UTC),
                        reason="stop_loss" if tracked.protective else "order")
            self._book_cost(fill, ex.quantity, ex.effective_price)
            self._fills.append(fill)
        status = _STATES[order.state]
        if status is OrderStatus.CANCELLED and tracked.filled > 0:
            tracked.message = f"canceled after a partial fill of {tracked.filled}"
        else:
            tracked.message = order.state
        tracked.status = status

    def _book_cost(self, fill: Fill, qty: Decimal, price: Decimal) -> None:
        """Average cost per symbol (the API reports holdings without a cost basis)."""
        units, avg = self._costs.get(fill.symbol, (_ZERO, _ZERO))
        if fill.side is Side.BUY:
            total = units + qty
            self._costs[fill.symbol] = (total, (units * avg + qty * price) / total)
        else:
            self._costs[fill.symbol] = (max(_ZERO, units - qty), avg)

    # ------------------------------------------------------------------ protection

    async def _follow_up(self, tracked: _Tracked) -> None:
        """After news of an order: protect what an entry filled, re-arm stops after a sell."""
        if tracked.protective:
            return
        if tracked.side is Side.BUY and tracked.stop_price is not None:
            await self._protect(tracked)
        elif tracked.side is Side.SELL and tracked.status in _FINAL:
            await self._rearm(tracked.symbol)

    async def _protect(self, entry: _Tracked) -> None:
        """Make the entry's venue stop cover `entry.cover`: place it, or resize it."""
        if entry.stop_price is None:
            return
        current = self._tracked.get(entry.protection or "")
        if current is not None and current.status not in _FINAL:
            if current.quantity == entry.cover:
                return
            if not await self._cancel_venue(current):
                return  # its cancel is unconfirmed: never risk two stops for one position
        pair = self._pairs[entry.symbol]
        quantity = round_quantity(pair, float(entry.cover))
        if entry.cover <= 0 or quantity <= 0:
            return
        problem = size_problem(pair, quantity)
        entry.stops_placed += 1
        suffix = STOP_SUFFIX if entry.stops_placed == 1 else f"{STOP_SUFFIX}{entry.stops_placed}"
        coid = entry.coid + suffix
        if problem:
            self._updates.append(BrokerAck(coid, OrderStatus.REJECTED, None,
                                           f"protective stop-loss for {entry.coid} not placed: {problem}"))
            return
        stop = _Tracked(coid, venue_client_id(coid), entry.symbol, Side.SELL, quantity,
                        datetime.now(UTC), protective=True)
        self._tracked[coid] = stop
        entry.protection = coid
        request = OrderRequest.make(stop.venue_coid, "sell", entry.symbol, "stop_loss", quantity,
                                    stop_price=entry.stop_price)
        ack = await self._place(stop, request)
        if ack.status is OrderStatus.REJECTED:
            self._updates.append(BrokerAck(coid, ack.status, None,
                                           f"protective stop-loss for {entry.coid} not placed: "
                                           f"{ack.message}"))

    async def _lift_stops(self, symbol: str) -> None:
        """Cancel our resting stops in `symbol` before a sell (their units are reserved at the
        venue); each entry is re-armed for what is left once the sell is done."""
        for entry in list(self._tracked.values()):
            stop = self._tracked.get(entry.protection or "")
            if entry.symbol != symbol or stop is None or stop.status in _FINAL:
                continue
            await self._cancel_venue(stop)
            stop.final_reported = True
            entry.rearm = True

    async def _rearm(self, symbol: str) -> None:
        """Re-place lifted stops for what is still held in `symbol` (never more)."""
        entries = [t for t in self._tracked.values() if t.symbol == symbol and t.rearm]
        if not entries:
            return
        try:
            holdings = await self._api().holdings()
        except CryptoApiError as exc:
            log.warning("cannot re-arm the stops of %s yet: %s", symbol, exc)
            return
        pair = self._pairs[symbol]
        held = sum((h.total_quantity for h in holdings if h.asset_code == pair.asset_code), _ZERO)
        for entry in entries:
            entry.rearm = False
            entry.cover = min(entry.cover, max(_ZERO, held))
            held -= entry.cover
            await self._protect(entry)

    async def _cancel_venue(self, tracked: _Tracked) -> bool:
        """Cancel `tracked` at the venue and read back its state; True when it is final."""
        if tracked.venue_id is None:
            await self._find(tracked)
        if tracked.venue_id is None or tracked.status in _FINAL:
            return tracked.status in _FINAL
        api = self._api()
        try:
            await api.cancel_order(tracked.venue_id)
        except VenueRefused as exc:
            log.info("cancel of %s refused: %s", tracked.coid, exc)
        except CryptoApiError as exc:
            log.warning("cancel of %s unclear: %s", tracked.coid, exc)
        deadline = time.monotonic() + self._ack_timeout()
        while True:
            try:
                self._absorb(tracked, await api.order(tracked.venue_id))
            except CryptoApiError as exc:
                log.warning("cannot read back %s after its cancel: %s", tracked.coid, exc)
                return False
            if tracked.status in _FINAL or time.monotonic() >= deadline:
                return tracked.status in _FINAL
            await asyncio.sleep(0.2)

    # ------------------------------------------------------------------ asking the venue

    async def _find(self, tracked: _Tracked) -> None:
        """Ask the venue for the order with our client order id (a lost submit)."""
        since = tracked.sent_at - timedelta(seconds=LOOKBACK_SECONDS)
        found = await self._lookup(tracked.venue_coid, [
            ("symbol", tracked.symbol), ("side", tracked.side.value),
            ("created_at_start", _iso(since))])
        if found is not None:
            self._absorb(tracked, found)
            log.info("found %s at Robinhood as order %s (%s)", tracked.coid, found.id, found.state)

    async def _lookup(self, venue_coid: str, params: list[tuple[str, str]]) -> VenueOrder | None:
        try:
            rows = await self._api().orders(params)
        except CryptoApiError as exc:
            log.warning("cannot list Robinhood orders: %s", exc)
            return None
        return next((o for o in rows if o.client_order_id == venue_coid), None)

    async def _refresh(self, tracked: _Tracked) -> None:
        """Re-read one order from the venue and act on what changed."""
        try:
            if tracked.venue_id is None:
                if tracked.status is OrderStatus.UNKNOWN:
                    await self._find(tracked)
            elif tracked.status not in _FINAL:
                self._absorb(tracked, await self._api().order(tracked.venue_id))
        except CryptoApiError as exc:
            log.warning("cannot read %s from Robinhood: %s", tracked.coid, exc)
            return
        if tracked.status in (OrderStatus.CANCELLED, OrderStatus.REJECTED) and not tracked.final_reported:
            tracked.final_reported = True
            self._updates.append(BrokerAck(tracked.coid, tracked.status, tracked.venue_id,
                                           tracked.message))
        await self._follow_up(tracked)

    async def _poll(self, *, force: bool = False) -> None:
        """Re-read every order of ours that is not done (throttled)."""
        now = time.monotonic()
        if self._client is None or (not force and now - self._last_poll < self._poll_interval):
            return
        working = [t for t in self._tracked.values() if t.status not in _FINAL]
        if not working:
            return  # nothing asked: an idle poll (the start's) does not use up the window
        self._last_poll = now
        for tracked in working:
            await self._refresh(tracked)

    async def cancel(self, client_order_id: str) -> BrokerAck:
        """Cancel one of our orders; a finished order answers with its final status."""
        tracked = self._tracked.get(client_order_id) or await self._adopt(client_order_id)
        if tracked is None:
            return BrokerAck(client_order_id, OrderStatus.REJECTED, None,
                             "Robinhood has no order with this client order id")
        await self._refresh(tracked)
        if tracked.status in _FINAL:
            tracked.final_reported = True
            return BrokerAck(client_order_id, tracked.status, tracked.venue_id,
                             f"order is {tracked.status.value}; nothing (more) to cancel")
        if not await self._cancel_venue(tracked):
            return BrokerAck(client_order_id, tracked.status, tracked.venue_id,
                             "cancel sent; Robinhood has not confirmed it yet")
        tracked.final_reported = True
        return BrokerAck(client_order_id, tracked.status, tracked.venue_id, tracked.message)

    async def cancel_all(self) -> list[BrokerAck]:
        """Cancel every open order of ours except protective stops (they protect positions)."""
        ids = [c for c, t in self._tracked.items() if t.status not in _FINAL and not t.protective]
        return [await self.cancel(coid) for coid in ids]

    async def order_status(self, client_order_id: str) -> BrokerAck:
        """What became of an order, asked of the venue by its client order id (also for an
        order sent before a restart); UNKNOWN when the venue has no such order."""
        tracked = self._tracked.get(client_order_id)
        if tracked is None:
            tracked = await self._adopt(client_order_id)
            if tracked is None:
                return BrokerAck(client_order_id, OrderStatus.UNKNOWN, None,
                                 f"Robinhood has no order with client order id "
                                 f"{venue_client_id(client_order_id)}")
        else:
            await self._refresh(tracked)
        if tracked.venue_id is None and tracked.status is OrderStatus.UNKNOWN:
            return BrokerAck(client_order_id, OrderStatus.UNKNOWN, None,
                             f"no order with client order id {tracked.venue_coid} at Robinhood "
                             "(yet); it is asked for again on the next poll")
        return BrokerAck(client_order_id, tracked.status, tracked.venue_id, tracked.message)

    async def _adopt(self, client_order_id: str) -> _Tracked | None:
        """Find an order we did not send in this session (a previous run's) and track it."""
        if self._client is None:
            return None
        venue_coid = venue_client_id(client_order_id)
        linked = self._tracked.get(client_order_id)
        if linked is None and client_order_id.rpartition(":")[1]:
            # a stop adopted at connect, asked for by its own id (the engine's OCO leg)
            self._link(client_order_id.rpartition(":")[0])
            linked = self._tracked.get(client_order_id)
        if linked is not None:
            return linked
        found = await self._lookup(venue_coid, [])
        if found is None:
            return None
        tracked = _Tracked(client_order_id, venue_coid, found.symbol, Side(found.side),
                           _ZERO, found.created_at or datetime.now(UTC),
                           protective=found.type in ("stop_loss", "stop_limit"))
        # its executions so far are released as fills (deterministic ids: `<venue id>:<n>`):
        # the engine books, at start, the ones its journal lacks (what filled while robo-tui
        # was down, an UNKNOWN order's fill) and skips the ones it recorded before
        self._absorb(tracked, found)
        tracked.final_reported = tracked.status in _FINAL
        self._tracked[client_order_id] = tracked
        if not tracked.protective and tracked.side is Side.BUY:
            self._link(client_order_id)  # its stop, adopted at connect, is its own again
        return tracked

    # ------------------------------------------------------------------ account

    async def account(self) -> AccountSnapshot:
        """Buying power as cash, holdings as positions (average cost from the venue's filled
        orders), marked at the best bid/ask mid."""
        api = self._api()
        try:
            account = await api.account()
            holdings = await api.holdings()
        except CryptoApiError as exc:
            raise RobinhoodCryptoUnavailable(f"Robinhood account request failed: {exc}") from None
        positions: dict[str, Position] = {}
        for h in holdings:
            if h.total_quantity <= 0:
                continue
            symbol = f"{h.asset_code}-USD"
            avg = await self._average_cost(symbol, h.total_quantity)
            positions[symbol] = Position(symbol, float(h.total_quantity), float(avg))
        prices: dict[str, float] = {}
        if positions:
            try:
                prices = {q.symbol: float(q.price) for q in await api.best_bid_ask(list(positions))}
            except CryptoApiError as exc:
                log.warning("cannot mark crypto positions: %s", exc)
        return AccountSnapshot(self._clock.now(), float(account.buying_power), positions, prices)

    async def _average_cost(self, symbol: str, held: Decimal) -> Decimal:
        """The average cost of `held` units: from this session's fills when they account for all
        of it, else rebuilt once from the venue's order history (average-cost method)."""
        units, avg = self._costs.get(symbol, (_ZERO, _ZERO))
        if units == held:
            return avg
        try:
            orders = await self._api().orders([("symbol", symbol)])
        except CryptoApiError:
            return avg
        executions = sorted(
            ((ex.timestamp or o.created_at or datetime.min.replace(tzinfo=UTC), o.side, ex)
             for o in orders for ex in o.executions), key=lambda row: row[0])
        units, avg = _ZERO, _ZERO
        for _, side, ex in executions:
            if side == "buy":
                total = units + ex.quantity
                avg = (units * avg + ex.quantity * ex.effective_price) / total if total else _ZERO
                units = total
            else:
                units = max(_ZERO, units - ex.quantity)
        self._costs[symbol] = (held, avg)
        return avg

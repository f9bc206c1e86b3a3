"""Interactive Brokers through TWS or IB Gateway, with `ib_async` (or `ib_insync` when only it
is installed: same API).

How orders map:

- Every order carries our client order id as IB's `orderRef`. That is what survives a restart:
  `order_status` finds an order by `orderRef` among this session's trades, the open orders of
  every client, the completed orders and today's executions.
- Stocks route SMART in USD (`BRK.B` is IB's `BRK B`); `BASE-QUOTE` symbols (`BTC-USD`) are
  crypto at PAXOS. Stocks trade in whole shares; crypto in fractions.
- An entry with a stop-loss and/or take-profit is a bracket: the parent, then a STP child and an
  LMT child (GTC, one OCA group, sent with `parentId`, the last one transmitting the lot). The
  children's `orderRef`s are `<id>:sl` / `<id>:tp`, so their fills reach the engine as exits
  with reason `stop_loss` / `take_profit`, as with the paper broker. An order against a
  protected position first cancels that position's resting children (so an exit cannot leave a
  stop behind that would open the opposite position), and the children of a reversal cover only
  the new position.
- A submit returns once IB has acknowledged the order (PreSubmitted/Submitted/Filled or an
  error). No acknowledgement within the timeout, or a dropped connection, answers UNKNOWN:
  the order may be live; the engine reconciles it by id.
- `cancel_all` (the kill switch) cancels our open entry orders one by one, never
  `reqGlobalCancel`: protective children of filled entries stay (they protect positions), and
  orders placed by hand or by other programs are not ours to cancel.

Safety: outside live mode (`live=False`) the adapter only trades IB *paper* accounts (ids start
with `D`); connecting to a real-money account is refused with a message saying what to do.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from robo_tui.adapters.brokers.venue_book import VenueKeepsItsBook
from robo_tui.config import IbSettings
from robo_tui.domain.drift import VenueOrder
from robo_tui.domain.increments import STOCK_INCREMENTS, Increments
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

PAPER_ACCOUNT_PREFIX = "D"
"""IB paper-trading account ids start with D (DU..., DF...); real-money ones do not."""

STOP_SUFFIX = ":sl"
TARGET_SUFFIX = ":tp"

COMMISSION_GRACE_SECONDS = 2.0
"""How long a fill waits for its commission report before it is released with the fee known so
far (IB sends the report right after the execution, but it is not guaranteed)."""

RECONNECT_INTERVAL_SECONDS = 5.0
"""Least time between two reconnection attempts after the connection dropped."""

_UNSET = 1e300  # IB's UNSET_DOUBLE is 1.7976931348623157e308
_ACKED = frozenset({"PreSubmitted", "Submitted", "Filled", "Cancelled", "ApiCancelled", "Inactive"})
_CANCELLED = frozenset({"Cancelled", "ApiCancelled"})
_DONE = frozenset({"Filled", "Cancelled", "ApiCancelled", "Inactive"})
_NOT_REJECTIONS = frozenset({0, 202})  # 202: "Order Canceled" (the confirmation of a cancel)


class IbUnavailable(ConnectionError):
    """TWS / IB Gateway cannot be reached, or did not complete the API handshake."""


class IbAccountRefused(ConnectionError):
    """The connection works but the account does not fit: a real-money account outside live
    mode, an account the login does not manage, or several accounts and none chosen."""


def load_ib_module() -> Any:
    """`ib_async`, else `ib_insync` (the same API); ImportError naming both when neither is installed."""
    for name in ("ib_async", "ib_insync"):
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    raise ImportError("neither ib_async nor ib_insync is installed (pip install ib_async)")


def is_crypto_symbol(symbol: str) -> bool:
    """Whether `symbol` names a crypto pair (`BTC-USD`)."""
    return "-" in symbol


def contract_for(mod: Any, symbol: str) -> Any:
    """The IB contract for one of our symbols: `BTC-USD` → Crypto(BTC, PAXOS, USD), else a SMART
    USD stock (`BRK.B` → `BRK B`)."""
    if is_crypto_symbol(symbol):
        base, _, quote = symbol.partition("-")
        return mod.Crypto(base, "PAXOS", quote)
    return mod.Stock(symbol.replace(".", " "), "SMART", "USD")


def symbol_of(contract: Any) -> str:
    """Our symbol for an IB contract (the inverse of `contract_for`)."""
    if contract.secType == "CRYPTO":
        return f"{contract.symbol}-{contract.currency}"
    return str(contract.symbol).replace(" ", ".")


def _as_utc(ts: Any, fallback: datetime) -> datetime:
    if not isinstance(ts, datetime) or ts.year < 1980:
        return fallback
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def _money(value: float) -> float:
    return 0.0 if not math.isfinite(value) or abs(value) >= _UNSET else value


@dataclass(slots=True)
class _Tracked:
    """One of our parent orders and its bracket children, as this session knows them."""

    coid: str
    symbol: str
    trade: Any
    children: list[Any] = field(default_factory=list)
    cancel_requested: bool = False
    final_reported: bool = False
    changed: asyncio.Event = field(default_factory=asyncio.Event)


class IbBroker(VenueKeepsItsBook):
    """Trades through TWS / IB Gateway. Implements the `Broker` port (robo_tui/ports.py).

    `supports_fractional` is True because crypto trades in fractions; a fractional *stock*
    quantity is rejected at submit with a message. `supports_short` is True (stocks; IB refuses
    crypto shorts itself). `is_live` is the `live` flag the composition root passes (LIVE mode).
    """

    name = "ib"
    restores_from_fills = False
    supports_short = True
    supports_fractional = True

    def __init__(self, settings: IbSettings, *, clock: Clock, live: bool) -> None:
        self._mod = load_ib_module()
        self._settings = settings
        self._clock = clock
        self.is_live = live
        self._ib: Any = self._mod.IB()
        self._account = ""
        self._tracked: dict[str, _Tracked] = {}
        self._child_parent: dict[str, str] = {}
        self._pending: dict[str, tuple[Any, float]] = {}  # execId → (ib Fill, first seen)
        self._released: set[str] = set()
        self._ready: list[Fill] = []
        self._updates: list[BrokerAck] = []
        self._subscribed = False
        self._closing = False
        self._last_connect_attempt = -math.inf
        self._increments: dict[str, Increments | None] = {}
        self._adopted: dict[str, list[Any]] = {}
        """Resting protective children (by symbol) of entries an earlier session placed."""
        self._sessions = 0

    # ------------------------------------------------------------------ declared capabilities

    @property
    def order_timeout(self) -> float:
        """Seconds before an unanswered submit is UNKNOWN (the configured timeout)."""
        return self._settings.timeout_seconds

    def capabilities(self, asset: AssetClass) -> VenueCapabilities:
        """Brackets (STP + LMT children in one OCA group) for stocks and crypto; fractions only
        for crypto; shorts only for stocks."""
        crypto = asset is AssetClass.CRYPTO
        return VenueCapabilities(stops=True, brackets=True, fractional=crypto, shorting=not crypto)

    # ------------------------------------------------------------------ connection

    @property
    def account_id(self) -> str:
        """The IB account orders go to (known after `connect`)."""
        return self._account

    @property
    def is_paper_account(self) -> bool:
        """Whether the venue reports the connected account as a paper-trading one (preflight
        refuses live money on it)."""
        return self._account.startswith(PAPER_ACCOUNT_PREFIX)

    @property
    def sessions(self) -> int:
        """API sessions opened so far: 1 after `connect`, +1 per reconnect after a drop (the
        engine reconciles again after each: `Reconnecting` in ports.py)."""
        return self._sessions

    def is_connected(self) -> bool:
        """Whether the API session is up."""
        return bool(self._ib.isConnected())

    async def connect(self) -> None:
        """Connect to TWS / IB Gateway, choose the account and check it fits the mode.

        Raises `IbUnavailable` when nothing answers at host:port or the handshake times out, and
        `IbAccountRefused` for an account that does not fit (both are ConnectionErrors: the
        headless run exits 5 with the message)."""
        s = self._settings
        self._closing = False
        self._last_connect_attempt = time.monotonic()
        known = set(self._tracked) | set(self._child_parent)
        where = f"{s.host}:{s.port}"
        try:
            await self._ib.connectAsync(s.host, s.port, clientId=s.client_id,
                                        timeout=s.timeout_seconds, account=s.account)
        except TimeoutError as exc:
            raise IbUnavailable(
                f"TWS/IB Gateway at {where} did not complete the API handshake within "
                f"{s.timeout_seconds:g}s (is 'Enable ActiveX and Socket Clients' on, is 127.0.0.1 a "
                f"trusted IP, is client id {s.client_id} already in use?)") from exc
        except OSError as exc:
            reason = exc.strerror or str(exc) or type(exc).__name__
            raise IbUnavailable(
                f"cannot reach TWS/IB Gateway at {where}: {reason} (is it running with the API "
                "enabled on that port? TWS paper 7497, live 7496; Gateway paper 4002, live 4001)"
            ) from exc
        accounts = [a for a in self._ib.managedAccounts() if a]
        try:
            self._account = self._choose_account(accounts)
        except IbAccountRefused:
            self._ib.disconnect()
            raise
        if self.is_live and self._account.startswith(PAPER_ACCOUNT_PREFIX):
            log.warning("live mode on IB paper account %s: orders are simulated by IB", self._account)
        self._subscribe()
        if known:
            self._resync(known)
        else:
            self._release_todays_executions()
        self._adopt_session_trades()
        self._sessions += 1
        log.info("connected to IB at %s as client %s, account %s", where, s.client_id, self._account)

    async def venue_time(self) -> datetime:
        """TWS's clock now (`reqCurrentTime`, to the second), for the preflight's clock check.
        Raises `IbUnavailable` when the session is down or TWS does not answer in time."""
        why = await self._ensure_connected()
        if why is not None:
            raise IbUnavailable(why)
        try:
            answer = await asyncio.wait_for(self._ib.reqCurrentTimeAsync(),
                                            self._settings.timeout_seconds)
        except TimeoutError as exc:
            raise IbUnavailable("TWS did not answer reqCurrentTime in time") from exc
        ts = answer if isinstance(answer, datetime) else datetime.fromtimestamp(float(answer), UTC)
        return ts if ts.tzinfo is not None else ts.replace(tzinfo=UTC)

    async def venue_orders(self) -> list[VenueOrder]:
        """Every open order of the account (all client ids, TWS's own included:
        `reqAllOpenOrders`), with its `orderRef` as our id."""
        why = await self._ensure_connected()
        if why is not None:
            raise IbUnavailable(why)
        await asyncio.wait_for(self._ib.reqAllOpenOrdersAsync(), self._settings.timeout_seconds)
        out: list[VenueOrder] = []
        for trade in self._ib.openTrades():
            o = trade.order
            if o.account and self._account and o.account != self._account:
                continue
            price = next((float(p) for p in (o.lmtPrice, o.auxPrice) if 0 < float(p) < _UNSET),
                         None)
            left = float(trade.orderStatus.remaining or 0.0) or float(o.totalQuantity)
            out.append(VenueOrder(str(o.orderRef or ""), self._broker_id(trade),
                                  symbol_of(trade.contract), o.action.lower(), left,
                                  str(o.orderType), price))
        return out

    async def increments(self, symbol: str) -> Increments | None:
        """The contract's min tick, size increment and min size from IB's contract details
        (`reqContractDetailsAsync`, asked once per symbol); US-stock defaults (a penny, whole
        shares) when IB sends none for a stock, None for a crypto pair it describes nothing of."""
        if symbol in self._increments:
            return self._increments[symbol]
        crypto = is_crypto_symbol(symbol)
        fallback = None if crypto else STOCK_INCREMENTS
        details: list[Any] = []
        if await self._ensure_connected() is None:
            try:
                details = list(await asyncio.wait_for(
                    self._ib.reqContractDetailsAsync(contract_for(self._mod, symbol)),
                    self._settings.timeout_seconds))
            except (TimeoutError, ConnectionError) as exc:
                log.warning("IB sent no contract details for %s (%s); using defaults", symbol, exc)
                return fallback
        grid = fallback
        if details:
            d = details[0]
            tick = float(d.minTick or 0.0)
            step = float(getattr(d, "sizeIncrement", 0.0) or 0.0)
            least = float(getattr(d, "minSize", 0.0) or 0.0)
            base = fallback or Increments(price_tick=tick or 0.01, quantity_step=1e-8)
            grid = Increments(
                price_tick=tick if 0 < tick < _UNSET else base.price_tick,
                quantity_step=step if 0 < step < _UNSET else base.quantity_step,
                min_quantity=least if 0 < least < _UNSET else base.min_quantity,
                sub_dollar_tick=None)
        self._increments[symbol] = grid
        return grid

    def _choose_account(self, accounts: list[str]) -> str:
        wanted = self._settings.account
        if wanted:
            if wanted not in accounts:
                raise IbAccountRefused(
                    f"IB account {wanted} is not managed by this login (it manages: "
                    f"{', '.join(accounts) or 'none'}); fix broker.ib.account")
            account = wanted
        elif len(accounts) == 1:
            account = accounts[0]
        else:
            raise IbAccountRefused(
                f"this IB login manages several accounts ({', '.join(accounts)}); "
                "choose one with broker.ib.account")
        if not self.is_live and not account.startswith(PAPER_ACCOUNT_PREFIX):
            raise IbAccountRefused(
                f"IB account {account} is a real-money account but robo-tui is not in live mode; "
                "log TWS/IB Gateway into a paper account (ids start with D) or run in live mode "
                "(engine.live_enabled = true and --confirm-live)")
        return account

    def _subscribe(self) -> None:
        if self._subscribed:
            return
        ib = self._ib
        ib.orderStatusEvent += self._on_status
        ib.execDetailsEvent += self._on_exec
        ib.commissionReportEvent += self._on_commission
        ib.disconnectedEvent += self._on_disconnected
        self._subscribed = True

    def _unsubscribe(self) -> None:
        if not self._subscribed:
            return
        ib = self._ib
        ib.orderStatusEvent -= self._on_status
        ib.execDetailsEvent -= self._on_exec
        ib.commissionReportEvent -= self._on_commission
        ib.disconnectedEvent -= self._on_disconnected
        self._subscribed = False

    async def close(self) -> None:
        """Disconnect (open orders stay at IB)."""
        self._closing = True
        self._unsubscribe()
        if self._ib.isConnected():
            self._ib.disconnect()

    async def _ensure_connected(self) -> str | None:
        """None when connected (reconnecting if the session dropped), else why not."""
        if self._ib.isConnected():
            return None
        if self._closing:
            return "the IB connection is closed"
        if time.monotonic() - self._last_connect_attempt < RECONNECT_INTERVAL_SECONDS:
            return "not connected to TWS/IB Gateway (reconnecting)"
        try:
            await self.connect()
        except ConnectionError as exc:
            return str(exc)
        return None

    def _on_disconnected(self) -> None:
        if not self._closing:
            log.warning("IB connection lost; orders in flight are UNKNOWN until reconciled")
        for tracked in self._tracked.values():
            tracked.changed.set()

    def _resync(self, known: set[str]) -> None:
        """After a reconnect: re-attach our orders to the trades IB re-sent, release the
        executions of our orders that happened while the connection was down, and report orders
        that ended meanwhile."""
        by_ref = {str(t.order.orderRef): t for t in self._ib.trades() if t.order.orderRef}
        for tracked in self._tracked.values():
            fresh = by_ref.get(tracked.coid)
            if fresh is not None:
                tracked.trade = fresh
            tracked.children = [by_ref.get(str(c.order.orderRef), c) for c in tracked.children]
        for ib_fill in self._ib.fills():
            ex = ib_fill.execution
            if ex.orderRef in known and ex.execId not in self._released and ex.execId not in self._pending:
                self._release(ib_fill, _money(float(ib_fill.commissionReport.commission)))
        for tracked in list(self._tracked.values()):
            self._on_status(tracked.trade)

    def _release_todays_executions(self) -> None:
        """At a fresh start: every execution of ours IB reports (today's, fetched at connect)
        is released as a fill, so what filled while robo-tui was down reaches the journal (the
        engine keeps the ones it has not recorded yet, by execution id)."""
        for ib_fill in self._ib.fills():
            ex = ib_fill.execution
            if ex.orderRef and ex.execId not in self._released and ex.execId not in self._pending:
                self._release(ib_fill, _money(float(ib_fill.commissionReport.commission)))

    def _adopt_session_trades(self) -> None:
        """Track our open orders IB reported at connect (placed by an earlier run), and adopt
        the resting stops and targets of an earlier run's brackets: an exit lifts or resizes
        them like this session's own, so they are neither duplicated nor orphaned."""
        children: list[Any] = []
        for trade in self._ib.trades():
            ref = str(trade.order.orderRef or "")
            if not ref or trade.orderStatus.status in _DONE:
                continue
            if self._is_child_ref(ref):
                children.append(trade)
            elif ref not in self._tracked:
                self._tracked[ref] = _Tracked(ref, symbol_of(trade.contract), trade)
        for trade in children:
            ref = str(trade.order.orderRef)
            if ref in self._child_parent:
                continue  # already known (placed or adopted by this session)
            parent = ref.rsplit(":", 1)[0]
            self._child_parent[ref] = parent
            tracked = self._tracked.get(parent)
            if tracked is not None:
                tracked.children.append(trade)
            else:
                self._adopted.setdefault(symbol_of(trade.contract), []).append(trade)
            log.info("adopted the resting %s %s of %s (an earlier session's bracket)",
                     trade.order.orderType, ref, parent)

    @staticmethod
    def _is_child_ref(ref: str) -> bool:
        return ref.endswith((STOP_SUFFIX, TARGET_SUFFIX))

    # ------------------------------------------------------------------ orders

    async def submit(self, order: Order) -> BrokerAck:
        """Place `order` (a bracket when it carries a stop and/or target) and wait for IB's
        acknowledgement; UNKNOWN when none comes in time or the connection drops."""
        coid = order.client_order_id
        problem = self._validate(order)
        if problem:
            return BrokerAck(coid, OrderStatus.REJECTED, None, problem)
        why = await self._ensure_connected()
        if why is not None:
            return BrokerAck(coid, OrderStatus.REJECTED, None, f"{why}; the order was not sent")
        mod, ib, intent = self._mod, self._ib, order.intent
        deadline = time.monotonic() + self._ack_timeout()  # one budget for the whole submit
        contract = contract_for(mod, order.symbol)
        action = "BUY" if intent.side is Side.BUY else "SELL"
        crypto = is_crypto_symbol(order.symbol)
        qty = intent.quantity if crypto else float(round(intent.quantity))
        held = self._position(order.symbol)
        lifted = await self._lift_protection(order.symbol, action, deadline)
        protect = self._protected_quantity(order.symbol, intent.side, qty)
        has_children = protect > 0 and (intent.stop_loss is not None or intent.take_profit is not None)
        # a partial exit of a protected position: what stays held keeps its stop and target
        left = (held + intent.side.sign * qty) if held * intent.side.sign < 0 else 0.0
        keep = abs(left) if left * held > 0 and lifted != (None, None) else 0.0
        try:
            parent = (mod.LimitOrder(action, qty, intent.limit_price)
                      if intent.order_type is OrderType.LIMIT else mod.MarketOrder(action, qty))
            parent.orderId = ib.client.getReqId()
            parent.orderRef = coid
            parent.account = self._account
            parent.tif = "IOC" if crypto and intent.order_type is OrderType.MARKET else "DAY"
            parent.transmit = not has_children
            children = self._children(order, parent, protect) if has_children else []
            # the rest of a partial exit is re-protected before the exit goes: never bare
            kept = (self._reprotect(order, contract, action, keep, lifted)
                    if keep > 0 and not has_children else [])
            trade = ib.placeOrder(contract, parent)
            tracked = _Tracked(coid, order.symbol, trade, children=kept)
            self._tracked[coid] = tracked
            for child in children:
                tracked.children.append(ib.placeOrder(contract, child))
                self._child_parent[child.orderRef] = coid
        except ConnectionError as exc:
            if coid in self._tracked:
                return BrokerAck(coid, OrderStatus.UNKNOWN, None,
                                 f"connection to IB lost while sending: {exc}")
            return BrokerAck(coid, OrderStatus.REJECTED, None, f"not sent: {exc}")
        acked = await self._wait(tracked, lambda: self._acknowledged(tracked.trade), deadline)
        ack = self._ack(tracked)
        if not acked:
            reason = ("the connection to IB dropped" if not ib.isConnected()
                      else f"no acknowledgement within {self._ack_timeout():g}s")
            return BrokerAck(coid, OrderStatus.UNKNOWN, ack.broker_order_id,
                             f"{reason}; the order may be live at IB (orderRef {coid})")
        if ack.status in (OrderStatus.CANCELLED, OrderStatus.REJECTED):
            tracked.final_reported = True
            if lifted != (None, None) and float(tracked.trade.orderStatus.filled or 0.0) <= 0:
                self._rearm(order, contract, action, tracked, lifted)
        return ack

    def _rearm(self, order: Order, contract: Any, action: str, tracked: _Tracked,
               levels: tuple[float | None, float | None]) -> None:
        """An exit that ended without a fill (rejected, cancelled) gives the position back the
        protection lifted for it: the resized children go, and a stop and target at the same
        levels cover everything still held."""
        for child in tracked.children:
            if child.orderStatus.status not in _DONE:
                self._ib.cancelOrder(child.order)
        held = abs(self._position(order.symbol))
        tracked.children = (self._reprotect(order, contract, action, held, levels)
                            if held > 0 else [])

    def _validate(self, order: Order) -> str:
        intent = order.intent
        qty = intent.quantity
        if not (math.isfinite(qty) and qty > 0):
            return f"quantity must be a positive number, got {qty!r}"
        crypto = is_crypto_symbol(order.symbol)
        if not crypto and abs(qty - round(qty)) > 1e-9:
            return f"IB trades whole shares of {order.symbol}; got a fractional quantity {qty:g}"
        if order.client_order_id in self._tracked:
            return f"duplicate client order id {order.client_order_id}"
        limit = intent.limit_price
        if intent.order_type is OrderType.LIMIT and (
                limit is None or not (math.isfinite(limit) and limit > 0)):
            return "a limit order needs a positive limit price"
        if crypto and intent.order_type is OrderType.MARKET and intent.side is Side.BUY:
            return ("IB takes crypto market buys only as a cash amount; send a limit order "
                    f"for {order.symbol}")
        if crypto and intent.stop_loss is not None and not intent.reduce_only:
            return (f"IB (PAXOS) has no stop orders for crypto: the stop-loss for {order.symbol} "
                    "cannot be placed, so the entry is refused")
        stop, target = intent.stop_loss, intent.take_profit
        for label, level in (("stop-loss", stop), ("take-profit", target)):
            if level is not None and not (math.isfinite(level) and level > 0):
                return f"{label} must be a positive price, got {level!r}"
        ref = intent.limit_price if intent.order_type is OrderType.LIMIT else None
        sign = intent.side.sign
        if stop is not None and target is not None and (target - stop) * sign <= 0:
            return f"stop-loss {stop:g} and take-profit {target:g} are on the wrong sides for a {intent.side.value}"
        if ref is not None:
            if stop is not None and (ref - stop) * sign <= 0:
                return f"stop-loss {stop:g} is on the wrong side of the limit {ref:g}"
            if target is not None and (target - ref) * sign <= 0:
                return f"take-profit {target:g} is on the wrong side of the limit {ref:g}"
        return ""

    def _children(self, order: Order, parent: Any, qty: float) -> list[Any]:
        """Stop-loss and take-profit children of `parent` (GTC, one OCA group); the last
        transmits the bracket."""
        mod, intent = self._mod, order.intent
        exit_action = "SELL" if intent.side is Side.BUY else "BUY"
        oca = f"oca-{order.client_order_id}"
        children: list[Any] = []
        if intent.take_profit is not None:
            tp = mod.LimitOrder(exit_action, qty, intent.take_profit)
            tp.orderRef = order.client_order_id + TARGET_SUFFIX
            children.append(tp)
        if intent.stop_loss is not None:
            sl = mod.StopOrder(exit_action, qty, intent.stop_loss)
            sl.orderRef = order.client_order_id + STOP_SUFFIX
            children.append(sl)
        for i, child in enumerate(children):
            child.orderId = self._ib.client.getReqId()
            child.parentId = parent.orderId
            child.account = self._account
            child.tif = "GTC"
            child.ocaGroup = oca
            child.ocaType = 1
            child.transmit = i == len(children) - 1
        return children

    def _position(self, symbol: str) -> float:
        for p in self._ib.positions(self._account):
            if symbol_of(p.contract) == symbol:
                return float(p.position)
        return 0.0

    def _protected_quantity(self, symbol: str, side: Side, qty: float) -> float:
        """How much of the position after this order lies on the order's side (and was opened by
        it): what its stop and target must cover (0 for a pure reduction)."""
        held = self._position(symbol)
        after_on_side = (held + side.sign * qty) * side.sign
        return max(0.0, min(qty, after_on_side))

    async def _lift_protection(self, symbol: str, action: str, deadline: float
                               ) -> tuple[float | None, float | None]:
        """Cancel our resting children in `symbol` that act like this order (an order against a
        protected position; this session's and an earlier one's): left alone they would reopen
        the position once it is closed. The (stop, target) levels they held."""
        doomed: list[Any] = []
        resting = [c for t in self._tracked.values() if t.symbol == symbol for c in t.children]
        resting += self._adopted.get(symbol, [])
        stop: float | None = None
        target: float | None = None
        for child in resting:
            if child.order.action == action and child.orderStatus.status not in _DONE:
                self._ib.cancelOrder(child.order)
                doomed.append(child)
                ref = str(child.order.orderRef or "")
                if ref.endswith(STOP_SUFFIX):
                    stop = float(child.order.auxPrice)
                elif ref.endswith(TARGET_SUFFIX):
                    target = float(child.order.lmtPrice)
        if doomed:
            while time.monotonic() < deadline and self._ib.isConnected() and any(
                    c.orderStatus.status not in _DONE for c in doomed):
                await asyncio.sleep(0.02)
        self._adopted.pop(symbol, None)
        return stop, target

    def _reprotect(self, order: Order, contract: Any, action: str, qty: float,
                   levels: tuple[float | None, float | None]) -> list[Any]:
        """The stop and target lifted for a partial exit, resized to what stays held: GTC, one
        OCA group, standalone (they protect a position, not a parent), tracked as this order's
        children so the next exit lifts them in turn."""
        mod = self._mod
        stop, target = levels
        oca = f"oca-{order.client_order_id}"
        children: list[Any] = []
        if target is not None:
            tp = mod.LimitOrder(action, qty, target)
            tp.orderRef = order.client_order_id + TARGET_SUFFIX
            children.append(tp)
        if stop is not None:
            sl = mod.StopOrder(action, qty, stop)
            sl.orderRef = order.client_order_id + STOP_SUFFIX
            children.append(sl)
        placed = []
        for child in children:
            child.orderId = self._ib.client.getReqId()
            child.account = self._account
            child.tif = "GTC"
            child.ocaGroup = oca
            child.ocaType = 1
            child.transmit = True
            placed.append(self._ib.placeOrder(contract, child))
            self._child_parent[child.orderRef] = order.client_order_id
        return placed

    def _ack_timeout(self) -> float:
        # a little under the engine's own timeout, so our UNKNOWN carries the broker id
        return max(0.1, self._settings.timeout_seconds * 0.8)

    @staticmethod
    def _acknowledged(trade: Any) -> bool:
        return trade.orderStatus.status in _ACKED or trade.orderStatus.filled > 0

    async def _wait(self, tracked: _Tracked, done: Callable[[], bool],
                    deadline: float | None = None) -> bool:
        """Wait until `done()` (re-checked on every status change), the deadline (default: the
        acknowledgement timeout from now) or a dropped connection."""
        if deadline is None:
            deadline = time.monotonic() + self._ack_timeout()
        while not done():
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not self._ib.isConnected():
                return False
            tracked.changed.clear()
            try:
                await asyncio.wait_for(tracked.changed.wait(), remaining)
            except TimeoutError:
                return done()
        return True

    def _ack(self, tracked: _Tracked) -> BrokerAck:
        status, message = self._map_trade(tracked.trade, tracked.cancel_requested)
        return BrokerAck(tracked.coid, status, self._broker_id(tracked.trade), message)

    @staticmethod
    def _broker_id(trade: Any) -> str:
        perm = int(trade.order.permId or trade.orderStatus.permId or 0)
        return str(perm) if perm else f"order-{trade.order.orderId}"

    @staticmethod
    def _map_trade(trade: Any, cancel_requested: bool = False) -> tuple[OrderStatus, str]:
        """Our status (and a message) for an IB trade."""
        st = trade.orderStatus.status
        filled = float(trade.orderStatus.filled or 0.0)
        if not filled:
            filled_qty = getattr(trade.order, "filledQuantity", 0.0) or 0.0
            filled = float(filled_qty) if abs(float(filled_qty)) < _UNSET else 0.0
        errors = [e for e in trade.log if e.errorCode not in _NOT_REJECTIONS]
        error = errors[-1].message if errors else ""
        if st == "Filled":
            return OrderStatus.FILLED, "filled"
        if st in _CANCELLED:
            if error and not cancel_requested and filled <= 0:
                return OrderStatus.REJECTED, error
            note = f" after a partial fill of {filled:g}" if filled > 0 else ""
            return OrderStatus.CANCELLED, (f"cancelled{note}" + (f": {error}" if error else ""))
        if st == "Inactive":
            return OrderStatus.REJECTED, error or trade.orderStatus.whyHeld or "inactive at IB"
        if filled > 0:
            return OrderStatus.PARTIALLY_FILLED, f"{filled:g} filled"
        return OrderStatus.SUBMITTED, st or "sent"

    async def cancel(self, client_order_id: str) -> BrokerAck:
        """Cancel one of our orders (and, through IB, its untriggered children); a finished
        order answers with its final status, unchanged."""
        tracked = self._tracked.get(client_order_id)
        if tracked is None:
            trade = self._find_trade(client_order_id)
            if trade is None:
                return BrokerAck(client_order_id, OrderStatus.REJECTED, None,
                                 "no such order at IB in this session")
            tracked = self._tracked[client_order_id] = _Tracked(
                client_order_id, symbol_of(trade.contract), trade)
        trade = tracked.trade
        if trade.orderStatus.status in _DONE:
            ack = self._ack(tracked)
            return BrokerAck(client_order_id, ack.status, ack.broker_order_id,
                             f"order is already {ack.status.value}; nothing to cancel")
        why = await self._ensure_connected()
        if why is not None:
            ack = self._ack(tracked)
            return BrokerAck(client_order_id, ack.status, ack.broker_order_id,
                             f"{why}; the cancel was not sent")
        tracked.cancel_requested = True
        self._ib.cancelOrder(trade.order)
        await self._wait(tracked, lambda: trade.orderStatus.status in _DONE)
        ack = self._ack(tracked)
        if ack.status in (OrderStatus.CANCELLED, OrderStatus.REJECTED):
            tracked.final_reported = True
        elif ack.status.is_open:
            ack = BrokerAck(client_order_id, ack.status, ack.broker_order_id,
                            "cancel sent; IB has not confirmed it yet")
        return ack

    async def cancel_all(self) -> list[BrokerAck]:
        """Cancel every open entry order of ours (not `reqGlobalCancel`: protective children of
        filled entries and other programs' orders stay)."""
        open_ids = [coid for coid, t in self._tracked.items()
                    if t.trade.orderStatus.status not in _DONE]
        return list(await asyncio.gather(*(self.cancel(coid) for coid in open_ids)))

    def _find_trade(self, coid: str) -> Any | None:
        for trade in self._ib.trades():
            if trade.order.orderRef == coid:
                return trade
        return None

    async def order_status(self, client_order_id: str) -> BrokerAck:
        """What became of an order, found by `orderRef` in this session, then among all open
        orders, completed orders and today's executions; UNKNOWN when IB has no trace of it."""
        coid = client_order_id
        tracked = self._tracked.get(coid)
        if tracked is not None:
            return self._ack(tracked)
        trade = self._find_trade(coid)
        if trade is None and await self._ensure_connected() is None:
            ib, timeout = self._ib, self._settings.timeout_seconds
            try:
                await asyncio.wait_for(ib.reqAllOpenOrdersAsync(), timeout)
                await asyncio.wait_for(ib.reqCompletedOrdersAsync(False), timeout)
            except (TimeoutError, ConnectionError) as exc:
                return BrokerAck(coid, OrderStatus.UNKNOWN, None, f"IB did not answer: {exc}")
            trade = self._find_trade(coid)
            if trade is None:
                try:
                    fills = await asyncio.wait_for(ib.reqExecutionsAsync(), timeout)
                except (TimeoutError, ConnectionError) as exc:
                    return BrokerAck(coid, OrderStatus.UNKNOWN, None, f"IB did not answer: {exc}")
                mine = [f for f in fills if f.execution.orderRef == coid]
                if mine:
                    qty = sum(float(f.execution.shares) for f in mine)
                    return BrokerAck(coid, OrderStatus.PARTIALLY_FILLED, str(mine[-1].execution.permId),
                                     f"IB reports executions of {qty:g} but not the order itself; "
                                     "check it in TWS")
        if trade is None:
            return BrokerAck(coid, OrderStatus.UNKNOWN, None,
                             f"IB has no open or completed order with orderRef {coid}")
        if trade.orderStatus.status not in _DONE:
            self._tracked[coid] = _Tracked(coid, symbol_of(trade.contract), trade)
        status, message = self._map_trade(trade)
        return BrokerAck(coid, status, self._broker_id(trade), message)

    # ------------------------------------------------------------------ events → fills, updates

    def _on_status(self, trade: Any) -> None:
        ref = str(trade.order.orderRef or "")
        tracked = self._tracked.get(ref)
        if tracked is not None and tracked.trade is not trade:
            tracked.trade = trade  # the same order re-reported after a reconnect
        if tracked is not None:
            tracked.changed.set()
            status, message = self._map_trade(trade, tracked.cancel_requested)
            if status in (OrderStatus.CANCELLED, OrderStatus.REJECTED) and not tracked.final_reported:
                tracked.final_reported = True
                self._updates.append(BrokerAck(ref, status, self._broker_id(trade), message))
            return
        parent = self._child_parent.get(ref)
        if parent is not None and trade.orderStatus.status in _DONE:
            status, message = self._map_trade(trade)
            if status is OrderStatus.REJECTED:
                kind = "stop-loss" if ref.endswith(STOP_SUFFIX) else "take-profit"
                self._updates.append(BrokerAck(ref, status, self._broker_id(trade),
                                               f"protective {kind} for {parent} rejected: {message}"))

    def _on_exec(self, trade: Any, fill: Any) -> None:
        exec_id = fill.execution.execId
        if exec_id in self._released or exec_id in self._pending:
            return
        if not (fill.execution.orderRef or trade.order.orderRef):
            log.info("ignoring an IB execution without orderRef (not ours): %s", exec_id)
            return
        self._pending[exec_id] = (fill, time.monotonic())
        tracked = self._tracked.get(trade.order.orderRef)
        if tracked is not None:
            tracked.changed.set()

    def _on_commission(self, trade: Any, fill: Any, report: Any) -> None:
        exec_id = fill.execution.execId
        pending = self._pending.pop(exec_id, None)
        if pending is not None:
            self._release(pending[0], _money(float(report.commission)))

    def _release(self, ib_fill: Any, fee: float) -> None:
        ex = ib_fill.execution
        self._released.add(ex.execId)
        ref = str(ex.orderRef or "")
        reason = ("stop_loss" if ref.endswith(STOP_SUFFIX)
                  else "take_profit" if ref.endswith(TARGET_SUFFIX) else "order")
        liquidity = {1: "maker", 2: "taker"}.get(int(ex.lastLiquidity or 0), "taker")
        self._ready.append(Fill(
            fill_id=str(ex.execId), client_order_id=ref, symbol=symbol_of(ib_fill.contract),
            side=Side.BUY if ex.side in ("BOT", "BUY") else Side.SELL,
            quantity=float(ex.shares), price=float(ex.price), fee=fee,
            ts=_as_utc(ex.time, self._clock.now()), liquidity=liquidity, reason=reason,
        ))

    async def poll_fills(self) -> list[Fill]:
        """Executions since the last call with their commissions, oldest first (a fill whose
        commission report is late is released after `COMMISSION_GRACE_SECONDS`)."""
        now = time.monotonic()
        for exec_id, (ib_fill, seen) in list(self._pending.items()):
            if now - seen >= COMMISSION_GRACE_SECONDS:
                del self._pending[exec_id]
                self._release(ib_fill, _money(float(ib_fill.commissionReport.commission)))
        out, self._ready = self._ready, []
        return out

    async def poll_order_updates(self) -> list[BrokerAck]:
        """Our orders IB cancelled, rejected or expired since the last call (and rejected
        protective children)."""
        out, self._updates = self._updates, []
        return out

    # ------------------------------------------------------------------ account

    async def account(self) -> AccountSnapshot:
        """Cash (TotalCashValue), positions (reqPositions) and marks (the portfolio) of our account."""
        why = await self._ensure_connected()
        if why is not None:
            raise IbUnavailable(why)
        ib, timeout = self._ib, self._settings.timeout_seconds
        values = await asyncio.wait_for(self._account_summary(), timeout)
        cash = next((float(v.value) for v in values
                     if v.account == self._account and v.tag == "TotalCashValue"), None)
        if cash is None:
            raise IbUnavailable(f"IB sent no TotalCashValue for account {self._account}")
        positions: dict[str, Position] = {}
        for p in await asyncio.wait_for(ib.reqPositionsAsync(), timeout):
            if p.account != self._account or not p.position:
                continue
            symbol = symbol_of(p.contract)
            positions[symbol] = Position(symbol, float(p.position), float(p.avgCost))
        prices = {symbol_of(item.contract): float(item.marketPrice)
                  for item in ib.portfolio(self._account)
                  if math.isfinite(item.marketPrice) and 0 < item.marketPrice < _UNSET}
        return AccountSnapshot(self._clock.now(), cash, positions, prices)

    async def _account_summary(self) -> list[Any]:
        """One fresh account summary (request, wait for the end, cancel the subscription)."""
        ib = self._ib
        req_id = ib.client.getReqId()
        future = ib.wrapper.startReq(req_id)
        ib.client.reqAccountSummary(req_id, "All", "NetLiquidation,TotalCashValue,BuyingPower")
        try:
            await future
        finally:
            if ib.isConnected():
                ib.client.cancelAccountSummary(req_id)
        return [v for v in ib.wrapper.acctSummary.values() if v.account == self._account]

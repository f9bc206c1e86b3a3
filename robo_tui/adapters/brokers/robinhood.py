"""Robinhood through `robin_stocks.robinhood`: US stocks (whole and fractional shares) and crypto.

robin_stocks is synchronous (requests, one module-global session), so every call runs in a worker
thread (`asyncio.to_thread`), one at a time, and the event loop never blocks. It swallows
transport errors and prints them; we call its order functions with `jsonify=False`, so a `None`
answer means the request failed in transit (the order may or may not exist: UNKNOWN) and any HTTP
answer can be read (4xx: REJECTED with Robinhood's reason). Its prints go to our log, never to
stdout (headless `--json` owns stdout).

Client order ids: Robinhood stores the `ref_id` an order is created with (its idempotency key)
and returns it with the order. robin_stocks fills it with a random `uuid4()` and takes none from
the caller, so each order call runs (in the worker thread, under the call lock) with the
library's `uuid4` answering our `ref_id_for(client order id)`, a UUIDv5 of our id: every order
robo-tui places is findable by our id alone. An order whose answer was lost (timeout) is found
among the recent orders by that `ref_id` (by symbol, side, quantity and time only for an order
without one); after a restart `order_status` finds an order of an earlier session the same way,
and the engine first hands the journal's order over (`recall`), so an entry that filled while
robo-tui was down is FILLED with its fills and gets its stop.

Protection: Robinhood has no brackets or OCA, and shares held by one sell order cannot back a
second one. When a stock entry carrying a stop-loss fills, a GTC stop sell for the filled
quantity is placed (`<id>:sl`, fills with reason `stop_loss`); take-profit levels are not
placed. A sell against a protected position first cancels its stop (and re-arms it for what is
left once the sell is done). robin_stocks places no crypto stop orders, so `capabilities`
declares none for crypto: a crypto entry carrying a stop-loss or take-profit is sent as a plain
order and robo-tui holds both legs (engine/protection.py watches quotes and sends the reduce-only
exit through the order path). No short selling.

Safety: Robinhood has no paper accounts, so every order is real money; outside live mode
(`live=False`) `connect` refuses to log in.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import io
import logging
import math
import shutil
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from robo_tui.adapters.brokers.venue_book import PolledVenue
from robo_tui.config import RobinhoodSettings
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

STOP_SUFFIX = ":sl"
POLL_INTERVAL_SECONDS = 2.0
"""Least time between two polls of our open orders (Robinhood rate-limits its API)."""
LOGIN_TIMEOUT_SECONDS = 150.0
"""A login may wait for a device approval in the Robinhood app (robin_stocks polls 2 minutes)."""
MATCH_WINDOW_SECONDS = 120.0
"""How far around a lost submit an unmatched order of the same symbol/side/quantity is adopted."""
MATCH_ATTEMPTS = 10
"""Polls that look for the order of a lost submit before only `order_status` looks again."""
CRYPTO_DECIMALS = 8
REF_NAMESPACE = uuid.UUID("5f0c1e1a-7d2b-4a53-9e0e-7b6f3f6a2c41")
"""The UUIDv5 namespace of the `ref_id`s robo-tui sends (a fixed value: ids must survive restarts)."""
RECALL_DAYS = 30
"""How far back an order of an earlier session is looked for by its `ref_id` without a date."""

_STATES = {
    "unconfirmed": OrderStatus.SUBMITTED,
    "queued": OrderStatus.SUBMITTED,
    "confirmed": OrderStatus.SUBMITTED,
    "pending": OrderStatus.SUBMITTED,
    "partially_filled": OrderStatus.PARTIALLY_FILLED,
    "filled": OrderStatus.FILLED,
    "cancelled": OrderStatus.CANCELLED,
    "canceled": OrderStatus.CANCELLED,
    "rejected": OrderStatus.REJECTED,
    "failed": OrderStatus.REJECTED,
}
_FINAL = frozenset({OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED})


class RobinhoodUnavailable(ConnectionError):
    """Robinhood cannot be reached or the login failed."""


class RobinhoodRefused(ConnectionError):
    """Robinhood would trade real money but the engine is not in live mode."""


def ref_id_for(client_order_id: str) -> str:
    """The `ref_id` Robinhood stores with the order robo-tui placed under `client_order_id`."""
    return str(uuid.uuid5(REF_NAMESPACE, client_order_id))


def is_crypto_symbol(symbol: str) -> bool:
    """Whether `symbol` names a crypto pair (`BTC-USD`)."""
    return "-" in symbol


def _f(value: Any, default: float = 0.0) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return default
    return out if math.isfinite(out) else default


def _parse_ts(value: Any, fallback: datetime) -> datetime:
    if not isinstance(value, str) or not value:
        return fallback
    try:
        ts = datetime.fromisoformat(value)
    except ValueError:
        return fallback
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


class _LogStream(io.TextIOBase):
    """A text stream that turns robin_stocks' prints into debug log lines (secrets scrubbed)."""

    def __init__(self, scrub: Callable[[str], str]) -> None:
        self._scrub = scrub

    def write(self, s: str) -> int:
        text = s.strip()
        if text:
            log.debug("robin_stocks: %s", self._scrub(text))
        return len(s)


@dataclass(slots=True)
class _Tracked:
    """An order we sent and what we know of it."""

    coid: str
    symbol: str
    crypto: bool
    side: Side
    quantity: float
    sent_at: datetime
    broker_id: str | None = None
    status: OrderStatus = OrderStatus.SUBMITTED
    message: str = ""
    stop_loss: float | None = None
    filled: float = 0.0
    fees_booked: float = 0.0
    seen_executions: set[str] = field(default_factory=set)
    protective: bool = False
    final_reported: bool = False
    protected: bool = False
    rearm_stop: float | None = None
    followed_up: bool = False
    match_attempts: int = 0
    ref_id: str = ""
    stops_sent: int = 0


class RobinhoodBroker(PolledVenue):
    """Trades a Robinhood account. Implements the `Broker` port (robo_tui/ports.py).

    `supports_fractional` (crypto, and fractional-share market orders for stocks);
    `supports_short` is False; `is_live` is the `live` flag from the composition root and must be
    True for `connect` to log in (Robinhood has no paper accounts).
    """

    name = "robinhood"
    restores_from_fills = False
    supports_short = False
    supports_fractional = True

    def __init__(self, settings: RobinhoodSettings, *, clock: Clock, live: bool,
                 poll_interval: float = POLL_INTERVAL_SECONDS) -> None:
        self._rh: Any = importlib.import_module("robin_stocks.robinhood")
        self._helper: Any = importlib.import_module("robin_stocks.robinhood.helper")
        self._orders_module: Any = importlib.import_module("robin_stocks.robinhood.orders")
        self._recalled: dict[str, Order] = {}
        self._nonce = uuid.uuid4().hex[:12]
        self._settings = settings
        self._clock = clock
        self.is_live = live
        self._secrets = [s.get_secret_value() for s in
                         (settings.username, settings.password, settings.mfa_totp_secret)
                         if s is not None and s.get_secret_value()]
        self._call_lock = threading.Lock()
        self._account_number = ""
        self._tracked: dict[str, _Tracked] = {}
        self._fills: list[Fill] = []
        self._updates: list[BrokerAck] = []
        self._last_poll = -math.inf
        self._poll_interval = poll_interval
        self._logged_in = False
        self._helper.set_output(_LogStream(self._scrub))
        self._install_timeout()

    # ------------------------------------------------------------------ declared capabilities

    @property
    def order_timeout(self) -> float:
        """Seconds before an unanswered submit is UNKNOWN (the configured timeout)."""
        return self._settings.timeout_seconds

    async def venue_orders(self) -> list[VenueOrder]:
        """The open stock orders Robinhood lists, each with our id when its order id is one we
        stored (sent, matched or adopted this session)."""
        try:
            rows = await self._call(self._rh.get_all_open_stock_orders, None, self._account_number)
        except TimeoutError as exc:
            raise RobinhoodUnavailable("Robinhood did not list the open orders") from exc
        ours = {t.broker_id: t.coid for t in self._tracked.values() if t.broker_id}
        out: list[VenueOrder] = []
        for row in rows or []:
            if not isinstance(row, dict) or not row.get("id"):
                continue
            price = _f(row.get("stop_price")) or _f(row.get("price")) or None
            left = _f(row.get("quantity")) - _f(row.get("cumulative_quantity"))
            kind = f"{row.get('type', '')}/{row.get('trigger', '')}"
            out.append(VenueOrder(ours.get(str(row["id"]), ""), str(row["id"]),
                                  await self._position_symbol(row), str(row.get("side", "")),
                                  left, kind, price))
        return out

    async def increments(self, symbol: str) -> Increments | None:
        """US stocks: a penny tick (0.0001 under $1), whole shares for the protective stop and
        the limit orders robo-tui sends (fractional shares trade only at market); None for a
        crypto pair (the official crypto API broker states its own)."""
        if "-" in symbol:
            return None
        return STOCK_INCREMENTS

    def capabilities(self, asset: AssetClass) -> VenueCapabilities:
        """A GTC stop sell for stocks, nothing for crypto; no brackets/OCO, no shorts."""
        return VenueCapabilities(stops=asset is not AssetClass.CRYPTO, brackets=False,
                                 fractional=True, shorting=False)

    def venue_stop_id(self, entry_client_order_id: str) -> str:
        """The GTC stop resting for this stock entry (`<id>:sl`), "" when none rests: the engine
        records it as the OCO leg of the take-profit it holds (a sell lifts it first anyway)."""
        child = self._tracked.get(entry_client_order_id + STOP_SUFFIX)
        return child.coid if child is not None and child.status not in _FINAL else ""

    # ------------------------------------------------------------------ plumbing

    def _scrub(self, text: str) -> str:
        """`text` with every credential and the session token masked."""
        token = str(self._helper.SESSION.headers.get("Authorization") or "")
        for secret in [*self._secrets, token.partition(" ")[2]]:
            if len(secret) >= 4:
                text = text.replace(secret, "********")
        return text

    def _install_timeout(self) -> None:
        """Give robin_stocks' session a default timeout (its GETs have none)."""
        from requests import PreparedRequest, Response
        from requests.adapters import HTTPAdapter

        default = self._settings.timeout_seconds

        class _TimeoutAdapter(HTTPAdapter):
            def send(self, request: PreparedRequest, stream: bool = False,
                     timeout: float | tuple[float | None, float | None] | None = None,
                     verify: bool | str = True, cert: str | tuple[str, str] | None = None,
                     proxies: dict[str, str] | None = None) -> Response:
                return super().send(request, stream, default if timeout is None else timeout,
                                    verify, cert, proxies)

        self._helper.SESSION.mount("https://", _TimeoutAdapter())

    def _thread(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> asyncio.Future[Any]:
        """One robin_stocks call in a worker thread, serialised (the library has one global
        session), as a future that outlives a caller who stopped waiting."""
        def run() -> Any:
            with self._call_lock:
                return fn(*args, **kwargs)

        return asyncio.ensure_future(asyncio.to_thread(run))

    async def _call(self, fn: Callable[..., Any], *args: Any, timeout: float | None = None,
                    **kwargs: Any) -> Any:
        """Run one robin_stocks call in a worker thread; TimeoutError when it takes longer than
        the timeout (the thread finishes on its own; requests has a timeout too)."""
        return await asyncio.wait_for(self._thread(fn, *args, **kwargs),
                                      timeout or self._settings.timeout_seconds)

    def _with_ref_id(self, ref_id: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Call a robin_stocks order function (in the worker thread, under the call lock) so
        that the order carries `ref_id`: the library draws its `ref_id` from its module's
        `uuid4`, answered here by ours for the length of the call. A robin_stocks without that
        name sends its own random id (orders are then matched by symbol, side, quantity, time)."""
        module = self._orders_module
        original = getattr(module, "uuid4", None)
        if original is None:
            log.warning("robin_stocks draws no ref_id from uuid4: orders carry a random ref_id")
            return fn(*args, **kwargs)
        fixed = uuid.UUID(ref_id)
        module.uuid4 = lambda: fixed
        try:
            return fn(*args, **kwargs)
        finally:
            module.uuid4 = original

    # ------------------------------------------------------------------ connection

    async def connect(self) -> None:
        """Log in (username, password, TOTP code from the seed) and pick the default account.

        Raises `RobinhoodRefused` outside live mode and `RobinhoodUnavailable` when the login
        fails; messages never contain credentials."""
        if not self.is_live:
            raise RobinhoodRefused(
                "Robinhood has no paper accounts: every order would be real money, so it trades "
                "only in live mode (engine.live_enabled = true and --confirm-live); use "
                "broker.kind = 'paper' or an IB paper account otherwise")
        s = self._settings
        if s.username is None or s.password is None:
            raise RobinhoodUnavailable(
                "Robinhood needs broker.robinhood.username and password (environment "
                "ROBO_TUI_BROKER__ROBINHOOD__USERNAME / __PASSWORD or the 0600 secrets file)")
        mfa = self._totp_code()
        try:
            await self._call(self._login, s.username.get_secret_value(),
                             s.password.get_secret_value(), mfa, timeout=LOGIN_TIMEOUT_SECONDS)
        except TimeoutError as exc:
            raise RobinhoodUnavailable(
                "Robinhood login did not finish in time (approve the device in the Robinhood "
                "app, then retry)") from exc
        except Exception as exc:
            raise RobinhoodUnavailable(f"Robinhood login failed: {self._scrub(str(exc))}") from exc
        if not self._helper.LOGGED_IN:
            raise RobinhoodUnavailable(
                "Robinhood login failed: check username, password and the TOTP seed; a new device "
                "may need approval in the Robinhood app (SMS/e-mail challenges cannot be answered "
                "here)")
        self._logged_in = True
        try:
            profile = await self._call(self._rh.load_account_profile)
        except TimeoutError as exc:
            raise RobinhoodUnavailable("Robinhood did not answer the account request") from exc
        if not isinstance(profile, dict) or not profile.get("account_number"):
            raise RobinhoodUnavailable("Robinhood returned no brokerage account for this login")
        self._account_number = str(profile["account_number"])
        log.info("logged in to Robinhood, account ending %s", self._account_number[-4:])
        await self._adopt_resting_stops()

    async def _adopt_resting_stops(self) -> None:
        """Take over the GTC stop sells resting at Robinhood (an earlier session's protection,
        found by their stored order ids): a sell lifts them first and re-arms one for what is
        left, as for this session's own, so an exit after a restart is neither refused "Not
        enough shares to sell" nor leaves a stop orphaned."""
        try:
            rows = await self._call(self._rh.get_all_open_stock_orders, None, self._account_number)
        except TimeoutError:
            log.warning("cannot list the orders resting at Robinhood; earlier stops not adopted")
            return
        known = {t.broker_id for t in self._tracked.values() if t.broker_id}
        for row in rows or []:
            if (not isinstance(row, dict) or row.get("side") != "sell"
                    or row.get("trigger") != "stop" or not row.get("id") or row["id"] in known):
                continue
            symbol = await self._position_symbol(row)
            stop, quantity = _f(row.get("stop_price")), _f(row.get("quantity"))
            broker_id = str(row["id"])
            # a stand-in for the entry the stop protects (its id is gone with the old session)
            entry = _Tracked(f"adopted:{broker_id}", symbol, False, Side.BUY, quantity,
                             datetime.now(UTC), status=OrderStatus.FILLED, stop_loss=stop,
                             filled=quantity, protected=True, followed_up=True,
                             final_reported=True)
            child = _Tracked(entry.coid + STOP_SUFFIX, symbol, False, Side.SELL, quantity,
                             entry.sent_at, broker_id=broker_id, protective=True)
            self._absorb(child, row)
            self._tracked[entry.coid] = entry
            self._tracked[child.coid] = child
            log.info("adopted the %s stop sell resting at Robinhood for %s %s", stop, quantity,
                     symbol)

    def _totp_code(self) -> str | None:
        seed = self._settings.mfa_totp_secret
        if seed is None or not seed.get_secret_value():
            return None
        try:
            pyotp = importlib.import_module("pyotp")
        except ImportError as exc:
            raise RobinhoodUnavailable(
                "a TOTP seed is configured but pyotp is not installed (pip install pyotp)") from exc
        try:
            return str(pyotp.TOTP(seed.get_secret_value().replace(" ", "")).now())
        except (ValueError, TypeError) as exc:  # binascii.Error is a ValueError
            raise RobinhoodUnavailable(
                f"broker.robinhood.mfa_totp_secret is not a usable base32 TOTP seed ({exc})") from exc

    def _login(self, username: str, password: str, mfa: str | None) -> None:
        """robin_stocks' login with no session kept on disk (in a scratch dir removed after)."""
        scratch = tempfile.mkdtemp(prefix="robo-tui-rh-")
        try:
            self._quietly(self._rh.login, username, password, expiresIn=86400,
                          store_session=False, mfa_code=mfa, pickle_path=scratch)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    def _quietly(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Call `fn` with its bare `print`s sent to the log and its interactive prompts reading an
        empty stdin (robin_stocks' login and logout print to stdout, and a login challenge asks
        for a code with `input()`: here it fails instead of hanging)."""
        stdin = sys.stdin
        try:
            sys.stdin = io.StringIO("")
            with contextlib.redirect_stdout(_LogStream(self._scrub)):
                return fn(*args, **kwargs)
        finally:
            sys.stdin = stdin

    async def close(self) -> None:
        """Log out (drops the session token)."""
        if self._logged_in:
            self._logged_in = False
            with contextlib.suppress(Exception):
                await self._call(self._quietly, self._rh.logout)

    # ------------------------------------------------------------------ orders

    async def submit(self, order: Order) -> BrokerAck:
        """Send `order`; UNKNOWN when the answer is lost (timeout, transport error, 5xx)."""
        coid, intent = order.client_order_id, order.intent
        problem = self._validate(order)
        if problem:
            return BrokerAck(coid, OrderStatus.REJECTED, None, problem)
        if not self._logged_in:
            return BrokerAck(coid, OrderStatus.REJECTED, None,
                             "not logged in to Robinhood; the order was not sent")
        crypto = is_crypto_symbol(order.symbol)
        qty = round(intent.quantity, CRYPTO_DECIMALS) if crypto else intent.quantity
        # sent_at is wall time: it is compared with Robinhood's own timestamps. Until an answer
        # comes the order is UNKNOWN: if the engine gives up waiting, polls still match it.
        tracked = _Tracked(coid, order.symbol, crypto, intent.side, qty, datetime.now(UTC),
                           status=OrderStatus.UNKNOWN,
                           stop_loss=intent.stop_loss if not crypto else None,
                           ref_id=ref_id_for(coid))
        if intent.side is Side.SELL and not crypto:
            await self._lift_stops(order.symbol)
        fn, args = self._order_call(order, qty)
        self._tracked[coid] = tracked
        future = self._thread(self._with_ref_id, tracked.ref_id, fn, *args)
        future.add_done_callback(lambda f: self._late_answer(tracked, f))
        done, _ = await asyncio.wait({future}, timeout=self._ack_timeout())
        if not done:
            return BrokerAck(coid, OrderStatus.UNKNOWN, None,
                             f"no answer from Robinhood within {self._ack_timeout():g}s; the order "
                             "may exist (it is matched by symbol, side and quantity later)")
        exc = future.exception()
        if exc is not None:
            # robin_stocks raises only before it sends (a lookup failed): nothing was placed
            tracked.status = OrderStatus.REJECTED
            del self._tracked[coid]
            why = ("no such instrument" if isinstance(exc, IndexError)
                   else self._scrub(str(exc)) or type(exc).__name__)
            await self._after_poll(tracked)  # a stop lifted for this sell is re-armed
            return BrokerAck(coid, OrderStatus.REJECTED, None,
                             f"not sent: Robinhood could not prepare the order for {order.symbol} "
                             f"(unknown symbol or no quote: {why})")
        ack = self._read_answer(tracked, future.result())
        await self._after_poll(tracked)  # an entry's stop; a stop lifted for this sell re-armed
        return ack

    def _validate(self, order: Order) -> str:
        intent = order.intent
        qty = intent.quantity
        if not (math.isfinite(qty) and qty > 0):
            return f"quantity must be a positive number, got {qty!r}"
        if order.client_order_id in self._tracked:
            return f"duplicate client order id {order.client_order_id}"
        crypto = is_crypto_symbol(order.symbol)
        limit = intent.limit_price
        if intent.order_type is OrderType.LIMIT and (limit is None or not (math.isfinite(limit) and limit > 0)):
            return "a limit order needs a positive limit price"
        if crypto and not order.symbol.endswith("-USD"):
            return f"Robinhood trades crypto against USD only, not {order.symbol}"
        if not crypto and abs(qty - round(qty)) > 1e-9 and intent.order_type is OrderType.LIMIT:
            return "Robinhood takes fractional shares only in market orders"
        if intent.stop_loss is not None and intent.side is Side.BUY and not intent.reduce_only:
            if not (math.isfinite(intent.stop_loss) and intent.stop_loss > 0):
                return f"stop-loss must be a positive price, got {intent.stop_loss!r}"
            if limit is not None and intent.stop_loss >= limit:
                return f"stop-loss {intent.stop_loss:g} is not below the limit {limit:g}"
        if intent.side is Side.SELL and intent.stop_loss is not None and not intent.reduce_only:
            return "Robinhood does not sell short, so a sell cannot open a protected position"
        return ""

    def _order_call(self, order: Order, qty: float) -> tuple[Callable[..., Any], tuple[Any, ...]]:
        rh, intent = self._rh, order.intent
        buy = intent.side is Side.BUY
        limit = intent.limit_price
        if is_crypto_symbol(order.symbol):
            code = order.symbol.partition("-")[0]
            if intent.order_type is OrderType.LIMIT:
                fn = rh.order_buy_crypto_limit if buy else rh.order_sell_crypto_limit
                return _kw(fn, "gtc"), (code, qty, limit)
            fn = rh.order_buy_crypto_by_quantity if buy else rh.order_sell_crypto_by_quantity
            return _kw(fn, "gtc"), (code, qty)
        acct = self._account_number
        if intent.order_type is OrderType.LIMIT:
            fn = rh.order_buy_limit if buy else rh.order_sell_limit
            return _kw(fn, "gfd", acct), (order.symbol, qty, limit)
        fn = rh.order_buy_market if buy else rh.order_sell_market
        return _kw(fn, "gfd", acct), (order.symbol, qty)

    def _ack_timeout(self) -> float:
        # a little under the engine's own timeout, so our UNKNOWN says what happened
        return max(0.1, self._settings.timeout_seconds * 0.8)

    def _read_answer(self, tracked: _Tracked, response: Any) -> BrokerAck:
        coid = tracked.coid
        if response is None:
            tracked.status = OrderStatus.UNKNOWN
            return BrokerAck(coid, OrderStatus.UNKNOWN, None,
                             "the request to Robinhood failed in transit; the order may exist")
        status_code = int(getattr(response, "status_code", 0))
        body = _json(response)
        if status_code >= 500 or status_code == 0:
            tracked.status = OrderStatus.UNKNOWN
            return BrokerAck(coid, OrderStatus.UNKNOWN, None,
                             f"Robinhood answered HTTP {status_code}; the order may exist")
        if status_code >= 400 or not body.get("id"):
            tracked.status = OrderStatus.REJECTED
            del self._tracked[coid]
            return BrokerAck(coid, OrderStatus.REJECTED, None,
                             f"Robinhood refused the order (HTTP {status_code}): {_reason(body)}")
        self._absorb(tracked, body)
        if tracked.status in (OrderStatus.CANCELLED, OrderStatus.REJECTED):
            tracked.final_reported = True
        return self._ack(tracked)

    def _late_answer(self, tracked: _Tracked, future: asyncio.Future[Any]) -> None:
        """A submit answer that came after we gave up waiting: record the broker id."""
        if future.cancelled() or future.exception() is not None:
            return
        body = _json(future.result())
        if body.get("id") and tracked.broker_id is None:
            self._absorb(tracked, body)
            log.info("late Robinhood answer for %s: order %s", tracked.coid, tracked.broker_id)

    @staticmethod
    def _ack(tracked: _Tracked) -> BrokerAck:
        return BrokerAck(tracked.coid, tracked.status, tracked.broker_id,
                         tracked.message or tracked.status.value)

    def _absorb(self, tracked: _Tracked, body: dict[str, Any]) -> None:
        """Update `tracked` from a Robinhood order payload: status, new executions as fills."""
        tracked.broker_id = str(body.get("id") or tracked.broker_id or "") or None
        state = str(body.get("state") or "")
        status = _STATES.get(state, OrderStatus.SUBMITTED)
        reason = body.get("reject_reason") or body.get("cancel_reason") or ""
        now = self._clock.now()
        total_fees = _f(body.get("fees"))
        new_fills: list[Fill] = []
        for ex in body.get("executions") or []:
            ex_id = str(ex.get("id") or "")
            if not ex_id or ex_id in tracked.seen_executions:
                continue
            tracked.seen_executions.add(ex_id)
            qty = _f(ex.get("quantity"))
            price = _f(ex.get("effective_price") or ex.get("price"))
            if qty <= 0 or price <= 0:
                continue
            tracked.filled += qty
            new_fills.append(Fill(
                fill_id=ex_id, client_order_id=tracked.coid, symbol=tracked.symbol,
                side=tracked.side, quantity=qty, price=price, fee=0.0,
                ts=_parse_ts(ex.get("timestamp"), now),
                reason="stop_loss" if tracked.protective else "order"))
        if new_fills and total_fees > tracked.fees_booked:
            # Robinhood reports fees per order; book what is new on the latest fill
            last = new_fills[-1]
            new_fills[-1] = Fill(last.fill_id, last.client_order_id, last.symbol, last.side,
                                 last.quantity, last.price, round(total_fees - tracked.fees_booked, 6),
                                 last.ts, last.liquidity, last.reason)
            tracked.fees_booked = total_fees
        self._fills.extend(new_fills)
        if status is OrderStatus.CANCELLED and tracked.filled > 0:
            tracked.message = f"cancelled after a partial fill of {tracked.filled:g}"
        elif status is OrderStatus.REJECTED:
            tracked.message = f"{state}: {reason}" if reason else state
        else:
            tracked.message = state
        tracked.status = status

    # ------------------------------------------------------------------ protection

    async def _lift_stops(self, symbol: str) -> None:
        """Cancel our resting protective stops in `symbol` (their shares would block a sell);
        remembered so the stop is re-armed for what is left after the sell."""
        for t in list(self._tracked.values()):
            if t.protective and t.symbol == symbol and t.status not in _FINAL and t.broker_id:
                with contextlib.suppress(TimeoutError):
                    await self._call(self._rh.cancel_stock_order, t.broker_id)
                    body = await self._call(self._rh.get_stock_order_info, t.broker_id)
                    if isinstance(body, dict):
                        self._absorb(t, body)
                t.final_reported = True
                parent = self._tracked.get(t.coid.removesuffix(STOP_SUFFIX))
                if parent is not None and parent.stop_loss is not None:
                    parent.rearm_stop = parent.stop_loss

    async def _protect(self, entry: _Tracked, quantity: float, stop: float) -> None:
        """Place a GTC stop sell for `quantity` of `entry.symbol` (reported as `<id>:sl`)."""
        coid = entry.coid + STOP_SUFFIX
        old = self._tracked.get(coid)
        if old is not None and old.status not in _FINAL:
            return
        child = _Tracked(coid, entry.symbol, False, Side.SELL, quantity, datetime.now(UTC),
                         protective=True,
                         # each stop placed (a re-armed one too, in any session) is a new order
                         # and needs its own idempotency key; stops are adopted by scanning
                         ref_id=ref_id_for(f"{coid}#{self._nonce}.{entry.stops_sent}"))
        entry.stops_sent += 1
        self._tracked[coid] = child
        entry.protected = True
        try:
            response = await self._call(self._with_ref_id, child.ref_id,
                                        self._rh.order_sell_stop_loss, entry.symbol, quantity, stop,
                                        account_number=self._account_number, timeInForce="gtc",
                                        jsonify=False)
        except TimeoutError:
            child.status, child.message = OrderStatus.UNKNOWN, "stop-loss request timed out"
            return
        ack = self._read_answer(child, response)
        if ack.status is OrderStatus.REJECTED or ack.status is OrderStatus.UNKNOWN:
            self._updates.append(BrokerAck(coid, ack.status, ack.broker_order_id,
                                           f"protective stop-loss for {entry.coid} not placed: "
                                           f"{ack.message}"))
            child.final_reported = True

    async def _after_poll(self, tracked: _Tracked) -> None:
        """Follow-ups once an order is done: the entry's stop, a lifted stop re-armed."""
        if tracked.status not in _FINAL or tracked.followed_up:
            return
        tracked.followed_up = True
        if tracked.protective or tracked.crypto:
            return
        if tracked.side is Side.BUY and tracked.stop_loss is not None and tracked.filled > 0 \
                and not tracked.protected:
            await self._protect(tracked, tracked.filled, tracked.stop_loss)
        if tracked.side is Side.SELL:
            for entry in self._tracked.values():
                if entry.symbol == tracked.symbol and entry.rearm_stop is not None:
                    held = await self._held(entry.symbol)
                    stop, entry.rearm_stop = entry.rearm_stop, None
                    if held > 0:
                        entry.protected = False
                        self._tracked.pop(entry.coid + STOP_SUFFIX, None)
                        await self._protect(entry, held, stop)

    async def _held(self, symbol: str) -> float:
        try:
            rows = await self._call(self._rh.get_open_stock_positions, self._account_number)
        except TimeoutError:
            return 0.0
        for row in rows or []:
            if row and await self._position_symbol(row) == symbol:
                return _f(row.get("quantity"))
        return 0.0

    # ------------------------------------------------------------------ polling

    async def _poll(self, *, force: bool = False) -> None:
        """Re-read every order of ours that is not done (throttled)."""
        now = time.monotonic()
        if not force and now - self._last_poll < self._poll_interval:
            return
        self._last_poll = now
        for tracked in list(self._tracked.values()):
            if tracked.status in _FINAL and tracked.followed_up:
                continue
            if tracked.broker_id is None and tracked.match_attempts >= MATCH_ATTEMPTS:
                continue
            await self._refresh(tracked)

    async def _refresh(self, tracked: _Tracked) -> None:
        if tracked.broker_id is None:
            await self._match_lost(tracked)
            if tracked.broker_id is None:
                return
        if tracked.status not in _FINAL:
            getter = self._rh.get_crypto_order_info if tracked.crypto else self._rh.get_stock_order_info
            try:
                body = await self._call(getter, tracked.broker_id)
            except TimeoutError:
                return
            if not isinstance(body, dict) or not body.get("id"):
                return
            self._absorb(tracked, body)
            if tracked.status in (OrderStatus.CANCELLED, OrderStatus.REJECTED) and not tracked.final_reported:
                tracked.final_reported = True
                self._updates.append(self._ack(tracked))
        await self._after_poll(tracked)

    async def _match_lost(self, tracked: _Tracked) -> None:
        """Find the order of a submit whose answer was lost, by symbol, side, quantity and time."""
        tracked.match_attempts += 1
        since = (tracked.sent_at - timedelta(seconds=MATCH_WINDOW_SECONDS)).strftime(
            "%Y-%m-%dT%H:%M:%SZ")
        try:
            if tracked.crypto:
                rows = await self._call(self._rh.get_all_crypto_orders)
            else:
                rows = await self._call(self._rh.get_all_stock_orders, None, self._account_number, since)
                instrument = await self._call(self._rh.get_instruments_by_symbols, tracked.symbol, "url")
        except TimeoutError:
            return
        taken = {t.broker_id for t in self._tracked.values() if t.broker_id}
        by_ref = next((r for r in rows or [] if isinstance(r, dict) and tracked.ref_id
                       and r.get("ref_id") == tracked.ref_id), None)
        if by_ref is not None:
            self._absorb(tracked, by_ref)
            log.info("found lost order %s by its ref_id: Robinhood order %s", tracked.coid,
                     tracked.broker_id)
            return
        if tracked.ref_id and hasattr(self._orders_module, "uuid4"):
            return  # it carried our ref_id and Robinhood lists none with it: not placed (yet)
        lo = tracked.sent_at - timedelta(seconds=MATCH_WINDOW_SECONDS)
        hi = tracked.sent_at + timedelta(seconds=MATCH_WINDOW_SECONDS)
        for row in rows or []:
            if not row or str(row.get("id")) in taken or row.get("side") != tracked.side.value:
                continue
            if abs(_f(row.get("quantity")) - tracked.quantity) > 1e-9:
                continue
            if not lo <= _parse_ts(row.get("created_at"), lo - timedelta(days=1)) <= hi:
                continue
            if tracked.crypto:
                pair = str(row.get("currency_pair_id") or "")
                code = tracked.symbol.partition("-")[0]
                info = await self._call(self._rh.get_crypto_info, code, "id")
                if pair != info:
                    continue
            elif row.get("instrument") not in (instrument or []):
                continue
            self._absorb(tracked, row)
            log.info("matched lost order %s to Robinhood order %s", tracked.coid, tracked.broker_id)
            return

    async def cancel(self, client_order_id: str) -> BrokerAck:
        """Cancel one of our orders; a finished order answers with its final status."""
        tracked = self._tracked.get(client_order_id)
        if tracked is None:
            return BrokerAck(client_order_id, OrderStatus.REJECTED, None,
                             "no such order sent to Robinhood in this session")
        await self._refresh(tracked)
        if tracked.status in _FINAL:
            return BrokerAck(client_order_id, tracked.status, tracked.broker_id,
                             f"order is already {tracked.status.value}; nothing to cancel")
        if tracked.broker_id is None:
            return BrokerAck(client_order_id, tracked.status, None,
                             "the order's Robinhood id is unknown (its submit answer was lost); "
                             "cancel it in the Robinhood app")
        cancel = self._rh.cancel_crypto_order if tracked.crypto else self._rh.cancel_stock_order
        getter = self._rh.get_crypto_order_info if tracked.crypto else self._rh.get_stock_order_info
        try:
            await self._call(cancel, tracked.broker_id)
            deadline = time.monotonic() + self._ack_timeout()
            while True:
                body = await self._call(getter, tracked.broker_id)
                if isinstance(body, dict) and body.get("id"):
                    self._absorb(tracked, body)
                if tracked.status in _FINAL or time.monotonic() >= deadline:
                    break
                await asyncio.sleep(0.5)
        except TimeoutError:
            return BrokerAck(client_order_id, tracked.status, tracked.broker_id,
                             "cancel sent; Robinhood has not confirmed it yet")
        if tracked.status in _FINAL:
            tracked.final_reported = True
            return self._ack(tracked)
        return BrokerAck(client_order_id, tracked.status, tracked.broker_id,
                         "cancel sent; Robinhood has not confirmed it yet")

    async def cancel_all(self) -> list[BrokerAck]:
        """Cancel every open order of ours except protective stops (they protect positions)."""
        ids = [c for c, t in self._tracked.items() if t.status not in _FINAL and not t.protective]
        return [await self.cancel(coid) for coid in ids]

    def recall(self, order: Order) -> None:
        """The journal's record of an order an earlier session sent (given by the engine before
        it asks `order_status` at start): its symbol narrows the search by `ref_id`, and an
        entry found filled gets the stop-loss it carried."""
        self._recalled[order.client_order_id] = order

    async def order_status(self, client_order_id: str) -> BrokerAck:
        """What became of an order: one sent in this session, or one of an earlier session,
        found at Robinhood by its `ref_id` (its executions are then queued as fills, and a
        filled entry that carried a stop-loss is protected); UNKNOWN when Robinhood lists no
        order with that `ref_id`."""
        tracked = self._tracked.get(client_order_id) or await self._find_earlier(client_order_id)
        if tracked is None:
            return BrokerAck(client_order_id, OrderStatus.UNKNOWN, None,
                             "Robinhood lists no order placed under this id (by its ref_id); "
                             "check the order in the Robinhood app")
        await self._refresh(tracked)
        if tracked.broker_id is None:
            return BrokerAck(client_order_id, OrderStatus.UNKNOWN, None,
                             "no Robinhood order matches the lost submit (yet)")
        return self._ack(tracked)

    async def _find_earlier(self, coid: str) -> _Tracked | None:
        """An order an earlier session placed under `coid`, found by its `ref_id` among the
        recent stock and crypto orders, tracked from now on (None when none is listed)."""
        if not self._logged_in:
            return None
        ref = ref_id_for(coid)
        recalled = self._recalled.get(coid)
        crypto = is_crypto_symbol(recalled.symbol) if recalled is not None else None
        now = datetime.now(UTC)
        since = (min(recalled.created_at, now) - timedelta(days=2) if recalled is not None
                 else now - timedelta(days=RECALL_DAYS))
        try:
            rows: list[tuple[bool, Any]] = []
            if crypto is not True:
                stock = await self._call(self._rh.get_all_stock_orders, None, self._account_number,
                                         since.strftime("%Y-%m-%dT%H:%M:%SZ"))
                rows += [(False, r) for r in stock or []]
            if crypto is not False:
                rows += [(True, r) for r in await self._call(self._rh.get_all_crypto_orders) or []]
        except TimeoutError:
            return None
        found = next(((c, r) for c, r in rows if isinstance(r, dict) and r.get("ref_id") == ref
                      and r.get("id")), None)
        if found is None:
            return None
        is_crypto, row = found
        if recalled is not None:
            symbol = recalled.symbol
        elif is_crypto:
            pairs = await self._call(self._rh.get_crypto_currency_pairs) or []
            symbol = next((str(p.get("symbol")) for p in pairs
                           if isinstance(p, dict) and p.get("id") == row.get("currency_pair_id")), "")
        else:
            symbol = await self._position_symbol(row)
        side = Side.BUY if row.get("side") == "buy" else Side.SELL
        intent = recalled.intent if recalled is not None else None
        stop = (intent.stop_loss if intent is not None and not is_crypto and side is Side.BUY
                and not intent.reduce_only else None)
        tracked = _Tracked(coid, symbol, is_crypto, side, _f(row.get("quantity")),
                           _parse_ts(row.get("created_at"), now), status=OrderStatus.UNKNOWN,
                           stop_loss=stop, ref_id=ref, final_reported=True)
        self._tracked[coid] = tracked
        self._absorb(tracked, row)
        log.info("found %s of an earlier session by its ref_id: Robinhood order %s, %s", coid,
                 tracked.broker_id, tracked.status.value)
        self._claim_adopted_stop(tracked)
        await self._after_poll(tracked)  # a filled entry gets its stop-loss
        return tracked

    def _claim_adopted_stop(self, entry: _Tracked) -> None:
        """Make the stop sell adopted at connect (resting at Robinhood under a stand-in) the
        stop of `entry`, an earlier session's filled entry found by its ref_id: a session killed
        after placing the stop but before recording the entry left both, and placing a second
        stop would be refused "Not enough shares to sell" (the first one holds the shares)."""
        if entry.crypto or entry.side is not Side.BUY or entry.stop_loss is None \
                or entry.filled <= 0:
            return
        for coid, child in list(self._tracked.items()):
            if (coid.startswith("adopted:") and child.protective and child.symbol == entry.symbol
                    and child.status not in _FINAL and child.quantity >= entry.filled - 1e-9):
                self._tracked.pop(coid.removesuffix(STOP_SUFFIX), None)
                self._tracked.pop(coid)
                child.coid = entry.coid + STOP_SUFFIX
                self._tracked[child.coid] = child
                entry.protected = True
                log.info("the adopted stop sell %s protects %s", child.broker_id, entry.coid)
                return

    # ------------------------------------------------------------------ account

    async def account(self) -> AccountSnapshot:
        """Cash (the account's portfolio cash), stock and crypto positions, and their marks."""
        if not self._logged_in:
            raise RobinhoodUnavailable("not logged in to Robinhood")
        rh = self._rh
        try:
            profile = await self._call(rh.load_account_profile, self._account_number)
            stock_rows = await self._call(rh.get_open_stock_positions, self._account_number)
            crypto_rows = await self._call(rh.get_crypto_positions)
        except TimeoutError as exc:
            raise RobinhoodUnavailable("Robinhood did not answer the account request in time") from exc
        if not isinstance(profile, dict):
            raise RobinhoodUnavailable("Robinhood returned no account profile")
        cash = _f(profile.get("portfolio_cash") or profile.get("cash"), math.nan)
        if math.isnan(cash):
            raise RobinhoodUnavailable("Robinhood's account profile has no cash balance")
        positions: dict[str, Position] = {}
        for row in stock_rows or []:
            qty = _f((row or {}).get("quantity"))
            if qty:
                symbol = await self._position_symbol(row)
                positions[symbol] = Position(symbol, qty, _f(row.get("average_buy_price")))
        for row in crypto_rows or []:
            qty = _f((row or {}).get("quantity"))
            code = str(((row or {}).get("currency") or {}).get("code") or "")
            if qty and code:
                basis = (row.get("cost_bases") or [{}])[0]
                cost, units = _f(basis.get("direct_cost_basis")), _f(basis.get("direct_quantity"))
                positions[f"{code}-USD"] = Position(f"{code}-USD", qty, cost / units if units else 0.0)
        prices = await self._marks(list(positions))
        return AccountSnapshot(self._clock.now(), cash, positions, prices)

    async def _position_symbol(self, row: dict[str, Any]) -> str:
        symbol = row.get("symbol")
        if symbol:
            return str(symbol)
        return str(await self._call(self._rh.get_symbol_by_url, row.get("instrument")))

    async def _marks(self, symbols: list[str]) -> dict[str, float]:
        prices: dict[str, float] = {}
        stocks = [s for s in symbols if not is_crypto_symbol(s)]
        with contextlib.suppress(TimeoutError):
            if stocks:
                for quote in await self._call(self._rh.get_quotes, stocks) or []:
                    if quote and _f(quote.get("last_trade_price")) > 0:
                        prices[str(quote["symbol"])] = _f(quote["last_trade_price"])
            for symbol in symbols:
                if is_crypto_symbol(symbol):
                    quote = await self._call(self._rh.get_crypto_quote, symbol.partition("-")[0])
                    if isinstance(quote, dict) and _f(quote.get("mark_price")) > 0:
                        prices[symbol] = _f(quote["mark_price"])
        return prices


def _kw(fn: Callable[..., Any], tif: str, account: str | None = None) -> Callable[..., Any]:
    """`fn` with robin_stocks keyword arguments bound: time in force, account, raw response."""
    def call(*args: Any) -> Any:
        if account is not None:
            return fn(*args, account_number=account, timeInForce=tif, jsonify=False)
        return fn(*args, timeInForce=tif, jsonify=False)
    return call


def _json(response: Any) -> dict[str, Any]:
    if isinstance(response, dict):
        return response
    try:
        body = response.json()
    except (ValueError, AttributeError):
        return {}
    return body if isinstance(body, dict) else {}


def _reason(body: dict[str, Any]) -> str:
    for key in ("detail", "non_field_errors", "reject_reason", "error"):
        value = body.get(key)
        if value:
            return "; ".join(map(str, value)) if isinstance(value, list) else str(value)
    return "no reason given"

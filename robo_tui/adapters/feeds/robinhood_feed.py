"""Market data from Robinhood: stock quotes and history through robin_stocks, crypto best bid/ask
through the official Crypto Trading API, crypto history through robin_stocks.

Robinhood has no streaming API for either, so the feed polls (at most once per `poll_seconds`).
Its history has 15-second (crypto only), 5-minute, 10-minute, hourly and daily bars: those are
the bar sizes this feed accepts (`feeds.bar_seconds`), anything else is a config error naming
them. It logs in with the broker's credentials (`[broker.robinhood]`, and the
`[broker.robinhood_crypto]` keys for best bid/ask); it never orders.

robin_stocks talks to fixed hosts through one global `requests.Session`; `feeds.robinhood.api_url`
and `nummus_url` point it elsewhere (a proxy, a local test server) with a transport adapter on that
session, which also gives its requests the configured timeout (robin_stocks sets none).
robin_stocks (the `robinhood` extra) is imported when the feed is built.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import importlib.util
import io
import logging
import math
import shutil
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from robo_tui.config.robinhood_feed import API_URL, NUMMUS_URL, RobinhoodFeedSettings
from robo_tui.domain.market import Bar, BarArrays, Quote

if TYPE_CHECKING:
    from robo_tui.adapters.brokers.robinhood_crypto.client import CryptoTradingClient
    from robo_tui.config import Settings
    from robo_tui.config.models import RobinhoodSettings
    from robo_tui.ports import Clock, MarketFeed

log = logging.getLogger("robo_tui.feeds.robinhood")

EXTRA = "robinhood"
"""The optional extra that installs robin_stocks."""

STOCK_INTERVALS: Mapping[int, str] = {300: "5minute", 600: "10minute", 3600: "hour", 86400: "day"}
"""Bar length in seconds -> robin_stocks' stock historicals interval."""
CRYPTO_INTERVALS: Mapping[int, str] = {15: "15second", **STOCK_INTERVALS}
"""Bar length in seconds -> robin_stocks' crypto historicals interval."""

_SPANS: Mapping[str, tuple[tuple[str, int], ...]] = {
    # interval -> the spans Robinhood serves with it, shortest first, with their calendar days
    "15second": (("hour", 0), ("day", 1)),
    "5minute": (("day", 1), ("week", 7)),
    "10minute": (("day", 1), ("week", 7)),
    "hour": (("week", 7), ("month", 31), ("3month", 92)),
    "day": (("year", 366), ("5year", 1830)),
}


class RobinhoodFeedError(Exception):
    """Robinhood could not be read or logged in to; the message says why (never a secret)."""


def is_crypto(symbol: str) -> bool:
    """Whether `symbol` is a crypto pair (`BTC-USD`)."""
    return "-" in symbol


def intervals_for(seconds: int, symbols: Sequence[str]) -> tuple[str, str]:
    """(stock interval, crypto interval) for a bar length; ValueError naming the allowed ones."""
    crypto_only = all(is_crypto(s) for s in symbols)
    table = CRYPTO_INTERVALS if crypto_only else STOCK_INTERVALS
    if seconds not in table:
        allowed = ", ".join(f"{s} ({i})" for s, i in table.items())
        raise ValueError(f"feeds.bar_seconds = {seconds}: Robinhood's history has no such bars; "
                         f"use one of {allowed}")
    return STOCK_INTERVALS.get(seconds, ""), CRYPTO_INTERVALS[seconds]


def span_for(interval: str, bars: int, bar_seconds: int, *, stock: bool) -> str:
    """The shortest span Robinhood serves with `interval` that holds `bars` bars."""
    per_day = (23_400 if stock else 86_400) / bar_seconds
    days_needed = (bars + 2) / max(per_day, 1e-9) * (7 / 5 if stock else 1.0)
    spans = _SPANS[interval]
    if interval == "15second" and (bars + 2) * bar_seconds <= 3600:
        return "hour"
    for name, days in spans:
        if days >= days_needed:
            return name
    return spans[-1][0]


def _parse_ts(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def _f(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _bar(symbol: str, row: Mapping[str, Any]) -> Bar | None:
    values = [_f(row.get(k)) for k in ("open_price", "high_price", "low_price", "close_price")]
    if any(v is None for v in values) or row.get("interpolated") is True:
        return None
    o, h, lo, c = (float(v) for v in values if v is not None)
    return Bar(symbol, _parse_ts(str(row["begins_at"])), o, h, lo, c, _f(row.get("volume")) or 0.0)


class _LogStream(io.TextIOBase):
    """robin_stocks' prints as debug log lines (it prints errors instead of raising)."""

    def write(self, s: str) -> int:
        if s.strip():
            log.debug("robin_stocks: %s", s.strip()[:300])
        return len(s)


def _session_adapter(settings: RobinhoodFeedSettings) -> Any:
    """A requests transport adapter: the configured hosts instead of Robinhood's, and a timeout."""
    from requests import PreparedRequest, Response
    from requests.adapters import HTTPAdapter

    rewrites = [(API_URL, settings.api_url.rstrip("/")), (NUMMUS_URL, settings.nummus_url.rstrip("/"))]
    default = settings.timeout_seconds

    class _Adapter(HTTPAdapter):
        def send(self, request: PreparedRequest, stream: bool = False,
                 timeout: float | tuple[float | None, float | None] | None = None,
                 verify: bool | str = True, cert: str | tuple[str, str] | None = None,
                 proxies: dict[str, str] | None = None) -> Response:
            url = request.url or ""
            for real, configured in rewrites:
                if url.startswith(real) and configured != real:
                    request.url = configured + url[len(real):]
            return super().send(request, stream, default if timeout is None else timeout,
                                verify, cert, proxies)

    return _Adapter()


class RobinhoodFeed:
    """Polled bars and quotes of stocks and crypto from Robinhood; implements `MarketFeed`."""

    simulated = False
    supports_streaming = True

    def __init__(self, settings: RobinhoodFeedSettings, login: RobinhoodSettings,
                 symbols: Sequence[str], bar_seconds: int, clock: Clock, *,
                 crypto_client: CryptoTradingClient | None = None) -> None:
        self.settings = settings
        self.name = "robinhood"
        self._login_settings = login
        self._stock_interval, self._crypto_interval = intervals_for(bar_seconds, symbols)
        self._bar_seconds = bar_seconds
        self._step = timedelta(seconds=bar_seconds)
        self._symbols = list(symbols)
        self._stocks = [s for s in self._symbols if not is_crypto(s)]
        self._cryptos = [s for s in self._symbols if is_crypto(s)]
        self._order = {s: n for n, s in enumerate(self._symbols)}
        self._clock = clock
        self._crypto = crypto_client
        self._emitted: dict[str, datetime] = {}
        self._seen_quote: dict[str, tuple[float, float, float, str]] = {}
        self._next_bar_poll: datetime | None = None
        self._next_quote_poll: datetime | None = None
        self._lock = asyncio.Lock()
        self._rh: Any = None
        self._mounted: dict[str, Any] = {}

    # ------------------------------------------------------------------ connection

    async def _call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """One robin_stocks call in a thread (the library blocks), one at a time, its prints logged."""
        def run() -> Any:
            stdin = sys.stdin
            try:
                sys.stdin = io.StringIO("")
                with contextlib.redirect_stdout(_LogStream()):
                    return fn(*args, **kwargs)
            finally:
                sys.stdin = stdin

        async with self._lock:
            return await asyncio.wait_for(asyncio.to_thread(run), self.settings.timeout_seconds * 2)

    async def connect(self) -> None:
        """Point robin_stocks at the configured hosts and log in; RobinhoodFeedError naming what
        to fix when the login is missing or refused."""
        try:
            self._rh = importlib.import_module("robin_stocks.robinhood")
        except ImportError as exc:
            raise ImportError(f"the Robinhood feed needs robin_stocks: pip install 'robo-tui[{EXTRA}]'") from exc
        helper = self._rh.helper
        adapter = _session_adapter(self.settings)
        for prefix in (API_URL + "/", NUMMUS_URL + "/"):
            self._mounted[prefix] = helper.SESSION.adapters.get(prefix)
            helper.SESSION.mount(prefix, adapter)
        await self._login()  # stock data and crypto history are robin_stocks', behind its login

    async def _login(self) -> None:
        s = self._login_settings
        if s.username is None or s.password is None:
            raise RobinhoodFeedError(
                "the Robinhood feed logs in with broker.robinhood.username and password "
                "(environment ROBO_TUI_BROKER__ROBINHOOD__USERNAME / __PASSWORD or the secrets file)")
        mfa = None
        if s.mfa_totp_secret is not None and s.mfa_totp_secret.get_secret_value():
            pyotp = importlib.import_module("pyotp")
            mfa = str(pyotp.TOTP(s.mfa_totp_secret.get_secret_value().replace(" ", "")).now())
        scratch = tempfile.mkdtemp(prefix="robo-tui-rh-feed-")
        try:
            await self._call(self._rh.login, s.username.get_secret_value(), s.password.get_secret_value(),
                             expiresIn=86400, store_session=False, mfa_code=mfa, pickle_path=scratch)
        except Exception as exc:  # noqa: BLE001 - robin_stocks raises whatever requests raised
            raise RobinhoodFeedError(f"Robinhood feed login failed: {type(exc).__name__}") from None
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        if not self._rh.helper.LOGGED_IN:
            raise RobinhoodFeedError("Robinhood feed login failed: check broker.robinhood username, "
                                     "password and TOTP seed")

    async def close(self) -> None:
        """Restore robin_stocks' session adapters and close the crypto client."""
        if self._rh is not None:
            adapters = self._rh.helper.SESSION.adapters
            for prefix, previous in self._mounted.items():
                if previous is None:
                    adapters.pop(prefix, None)
                else:
                    adapters[prefix] = previous
            self._mounted.clear()
        if self._crypto is not None:
            await self._crypto.close()

    # ------------------------------------------------------------------ bars

    async def _rows(self, symbol: str, span: str) -> list[Bar]:
        """The bars Robinhood has for `symbol` over `span`, oldest first (bad rows dropped)."""
        if is_crypto(symbol):
            rows = await self._call(self._rh.get_crypto_historicals, symbol.partition("-")[0],
                                    interval=self._crypto_interval, span=span, bounds="24_7")
        else:
            rows = await self._call(self._rh.get_stock_historicals, symbol,
                                    interval=self._stock_interval, span=span, bounds="regular")
        bars = [_bar(symbol, r) for r in rows or [] if isinstance(r, Mapping)]
        return sorted((b for b in bars if b is not None), key=lambda b: b.ts)

    def _span(self, symbol: str, bars: int) -> str:
        crypto = is_crypto(symbol)
        interval = self._crypto_interval if crypto else self._stock_interval
        return span_for(interval, bars, self._bar_seconds, stock=not crypto)

    async def history(self, symbol: str, bars: int) -> BarArrays:
        """The last `bars` completed, good bars of `symbol`, oldest first."""
        now = self._clock.now()
        try:
            rows = await self._rows(symbol, self._span(symbol, bars))
        except (OSError, TimeoutError, KeyError, TypeError) as exc:
            log.warning("Robinhood history of %s: %s", symbol, exc or type(exc).__name__)
            return BarArrays.from_bars(symbol, [])
        good = [b for b in rows if b.ts + self._step <= now][-bars:]
        if good:
            self._emitted[symbol] = good[-1].ts
        return BarArrays.from_bars(symbol, good)

    async def next_bars(self, now: datetime) -> list[Bar]:
        """The good bars completed since the last call, oldest first (ties in universe order)."""
        if self._next_bar_poll is not None and now < self._next_bar_poll:
            return []
        self._next_bar_poll = now + timedelta(seconds=self.settings.poll_seconds)
        out: list[Bar] = []
        for symbol in self._symbols:
            last = self._emitted.get(symbol)
            missing = 2 if last is None else int((now - last) / self._step) + 1
            try:
                rows = await self._rows(symbol, self._span(symbol, missing))
            except (OSError, TimeoutError, KeyError, TypeError) as exc:
                log.warning("Robinhood bars of %s: %s", symbol, exc or type(exc).__name__)
                continue
            for bar in rows:
                if (last is None or bar.ts > last) and bar.ts + self._step <= now:
                    last = self._emitted[symbol] = bar.ts
                    out.append(bar)  # the engine's bad-tick checker judges it
        out.sort(key=lambda b: (b.ts, self._order[b.symbol]))
        return out

    # ------------------------------------------------------------------ quotes

    async def quotes(self, now: datetime) -> list[Quote]:
        """Good quotes of the symbols whose price or time moved since the last poll."""
        if self._next_quote_poll is not None and now < self._next_quote_poll:
            return []
        self._next_quote_poll = now + timedelta(seconds=self.settings.poll_seconds)
        raw: list[tuple[str, float | None, float | None, float | None, str]] = []
        try:
            if self._stocks:
                for row in await self._call(self._rh.get_quotes, self._stocks) or []:
                    if isinstance(row, Mapping) and row.get("symbol"):
                        raw.append((str(row["symbol"]), _f(row.get("bid_price")), _f(row.get("ask_price")),
                                    _f(row.get("last_trade_price")), str(row.get("updated_at") or "")))
            if self._cryptos:
                raw += await self._crypto_quotes()
        except (OSError, TimeoutError, KeyError, TypeError, RobinhoodFeedError) as exc:
            log.warning("Robinhood quotes: %s", exc or type(exc).__name__)
        out: list[Quote] = []
        for symbol, bid, ask, last, stamp in raw:
            if symbol not in self._order:
                continue
            if bid is None or ask is None:
                if last is None:
                    continue
                bid = ask = last
            last = last if last is not None else (bid + ask) / 2.0
            key = (bid, ask, last, stamp)
            if self._seen_quote.get(symbol) == key:
                continue  # nothing new: no quote, so a quiet Robinhood shows as stale
            self._seen_quote[symbol] = key
            quote = Quote(symbol, now, bid, ask, last)
            out.append(quote)  # the engine's bad-tick checker judges it
        out.sort(key=lambda q: self._order[q.symbol])
        return out

    async def _crypto_quotes(self) -> list[tuple[str, float | None, float | None, float | None, str]]:
        if self._crypto is not None and self.settings.crypto_best_bid_ask:
            from robo_tui.adapters.brokers.robinhood_crypto.client import CryptoApiError

            try:
                async with asyncio.timeout(self.settings.timeout_seconds):
                    rows = await self._crypto.best_bid_ask(self._cryptos)
            except CryptoApiError as exc:
                raise RobinhoodFeedError(f"crypto best bid/ask: {exc}") from None
            return [(r.symbol, float(r.bid_inclusive_of_sell_spread), float(r.ask_inclusive_of_buy_spread),
                     float(r.price), str(r.timestamp or "")) for r in rows]
        out = []
        for symbol in self._cryptos:
            row = await self._call(self._rh.get_crypto_quote, symbol.partition("-")[0])
            if isinstance(row, Mapping):
                out.append((symbol, _f(row.get("bid_price")), _f(row.get("ask_price")),
                            _f(row.get("mark_price")), str(row.get("updated_at") or "")))
        return out


def build(settings: Settings, clock: Clock) -> MarketFeed:
    """The Robinhood feed over the configured universe; the crypto best bid/ask client when the
    `broker.robinhood_crypto` keys are configured (and `feeds.robinhood.crypto_best_bid_ask`)."""
    fs = settings.feeds.robinhood
    crypto_client = None
    keys = settings.broker.robinhood_crypto
    if fs.crypto_best_bid_ask and keys.api_key is not None and keys.private_key is not None and \
            any(is_crypto(s) for s in settings.universe.symbols):
        if importlib.util.find_spec("cryptography") is None:
            raise ValueError("feeds.robinhood.crypto_best_bid_ask signs its requests with the "
                             "'cryptography' package: pip install 'robo-tui[robinhood-crypto]' "
                             "(or set feeds.robinhood.crypto_best_bid_ask = false)")
        from robo_tui.adapters.brokers.robinhood_crypto.client import (
            CryptoTradingClient,
            Ed25519Signer,
        )

        signer = Ed25519Signer(keys.api_key.get_secret_value(), keys.private_key.get_secret_value())
        crypto_client = CryptoTradingClient(keys.base_url, signer, timeout=fs.timeout_seconds)
    return RobinhoodFeed(fs, settings.broker.robinhood, settings.universe.symbols,
                         settings.feeds.bar_seconds, clock, crypto_client=crypto_client)

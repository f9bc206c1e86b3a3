"""Public market data from any crypto exchange ccxt knows: OHLCV history, polled bars, tickers.

No keys: only public endpoints are called. ccxt (the `crypto` extra) is imported when an exchange
is opened, so the module itself stays cheap. ccxt's own rate limiter is always on; on top of it a
429 (or any rate-limit answer) pauses the feed for the server's Retry-After. The feed only parses:
bad prints (zero, 100x, crossed) reach the engine as sent and its one bad-tick checker
(`robo_tui.domain.ticks`) rejects them with a logged reason.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np

from robo_tui.config.ccxt_feed import CcxtFeedSettings
from robo_tui.domain.market import Bar, BarArrays, Quote
from robo_tui.domain.time import datetime_to_ns, ns_to_datetime

if TYPE_CHECKING:
    from robo_tui.config import Settings
    from robo_tui.ports import Clock, MarketFeed

log = logging.getLogger("robo_tui.feeds.ccxt")

EXTRA = "crypto"
"""The optional extra that installs ccxt."""

TIMEFRAMES: Mapping[str, int] = {
    "1m": 60, "5m": 300, "15m": 900, "30m": 1800, "1h": 3600, "4h": 14400, "1d": 86400,
}
"""ccxt timeframe -> seconds, for the bar sizes the engine and the catalogue use."""

_PAGE = 720  # bars per OHLCV request: Kraken's most; others serve at least this many or fewer
_MAX_PAGES = 10_000


class ExchangeUnavailable(Exception):
    """The exchange could not be reached or refused us; the message says why (never a secret)."""


class RateLimited(ExchangeUnavailable):
    """The exchange asked us to slow down; `retry_after` seconds before the next request."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def timeframe_for(seconds: int) -> str:
    """The ccxt timeframe of a bar length in seconds; ValueError naming the allowed ones."""
    for name, length in TIMEFRAMES.items():
        if length == seconds:
            return name
    allowed = ", ".join(f"{v} ({k})" for k, v in TIMEFRAMES.items())
    raise ValueError(f"feeds.bar_seconds = {seconds} has no exchange timeframe; use one of {allowed}")


def exchange_symbol(symbol: str, mapping: Mapping[str, str] | None = None) -> str:
    """The exchange's unified symbol for a universe symbol: BTC-USD -> BTC/USD unless mapped."""
    if mapping and symbol in mapping:
        return mapping[symbol]
    base, sep, quote = symbol.partition("-")
    if not sep or not base or not quote:
        raise ValueError(f"{symbol}: a crypto symbol is BASE-QUOTE (e.g. BTC-USD), or map it in "
                         "feeds.ccxt.symbols")
    return f"{base}/{quote}"


def open_exchange(settings: CcxtFeedSettings) -> Any:
    """A ccxt async exchange for public data: rate limiter on, base URL overridden if configured.

    Raises ImportError naming the extra when ccxt is missing, ValueError for an unknown exchange.
    """
    try:
        import ccxt.async_support as ccxt_async
    except ImportError as exc:  # a missing extra is a config error that names it
        raise ImportError(f"the ccxt feed needs ccxt: pip install 'robo-tui[{EXTRA}]'") from exc
    if settings.exchange not in ccxt_async.exchanges:
        raise ValueError(f"feeds.ccxt.exchange = {settings.exchange!r} is not a ccxt exchange")
    options: dict[str, Any] = {
        "enableRateLimit": True,
        "timeout": int(settings.timeout_seconds * 1000),
    }
    if settings.rate_limit_ms is not None:
        options["rateLimit"] = settings.rate_limit_ms
    exchange = getattr(ccxt_async, settings.exchange)(options)
    point_at(exchange, settings.base_url)
    return exchange


def point_at(exchange: Any, base_url: str) -> None:
    """Point every REST root of a ccxt exchange (sync or async) at `base_url` (empty: unchanged)."""
    if base_url:
        exchange.urls["api"] = _override_urls(exchange.urls.get("api"), base_url.rstrip("/"))


def _override_urls(api: object, base: str) -> object:
    """Every REST root of the exchange pointed at `base` (ccxt keeps one per API section)."""
    if isinstance(api, dict):
        return {key: _override_urls(value, base) for key, value in api.items()}
    return base


async def fetch_ohlcv_range(exchange: Any, market: str, timeframe: str, since_ms: int,
                            until_ms: int) -> list[list[Any]]:
    """Completed candles [ts_ms, o, h, l, c, v] with since <= ts and ts + bar <= until, paged."""
    out: list[list[Any]] = []
    async for page in ohlcv_pages(exchange, market, timeframe, since_ms, until_ms):
        out.extend(page)
    return out


async def ohlcv_pages(exchange: Any, market: str, timeframe: str, since_ms: int,
                      until_ms: int) -> AsyncIterator[list[list[Any]]]:
    """`fetch_ohlcv_range` one exchange page at a time (for progress and partial saves).

    Pages forward from `since_ms` until the exchange has nothing newer; a page that does not
    advance ends the loop (the exchange's history stops there). Rate limits raise RateLimited.
    """
    step_ms = TIMEFRAMES[timeframe] * 1000
    cursor = since_ms
    for _ in range(_MAX_PAGES):
        page = await call_exchange(exchange, "fetch_ohlcv", market, timeframe, cursor, _PAGE)
        fresh = [row for row in page if int(row[0]) >= cursor]
        done = [row for row in fresh if int(row[0]) + step_ms <= until_ms]
        if done:
            yield done
        if not fresh or len(done) < len(fresh) or int(fresh[-1][0]) + step_ms >= until_ms:
            return
        cursor = int(fresh[-1][0]) + step_ms


async def call_exchange(exchange: Any, method: str, *args: Any) -> Any:
    """One ccxt call, its errors turned into ExchangeUnavailable / RateLimited with the reason."""
    import ccxt

    try:
        return await getattr(exchange, method)(*args)
    except ccxt.DDoSProtection as exc:  # includes RateLimitExceeded (HTTP 429)
        retry = _retry_after(getattr(exchange, "last_response_headers", None))
        raise RateLimited(f"{exchange.id} rate limit: {_first_line(exc)}", retry) from None
    except (ccxt.NetworkError, ccxt.ExchangeError) as exc:
        raise ExchangeUnavailable(f"{exchange.id} {method}: {_first_line(exc)}") from None


def _retry_after(headers: object, default: float = 5.0) -> float:
    """Seconds from a Retry-After header (delta seconds), else `default`."""
    if isinstance(headers, Mapping):
        for key, value in headers.items():
            if str(key).lower() == "retry-after":
                try:
                    return max(0.0, float(value))
                except (TypeError, ValueError):
                    return default
    return default


def _first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__


def _bar(symbol: str, row: Sequence[Any]) -> Bar:
    return Bar(symbol, ns_to_datetime(int(row[0]) * 1_000_000), _num(row[1]), _num(row[2]),
               _num(row[3]), _num(row[4]), _num(row[5]) if len(row) > 5 and row[5] is not None else 0.0)


def _num(value: Any) -> float:
    return float("nan") if value is None else float(value)


def _ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


class CcxtFeed:
    """Bars and quotes polled from a public crypto exchange; implements `MarketFeed`.

    `history` pages OHLCV back far enough for the warm-up; `next_bars(now)` returns the bars
    completed since the last call (a bar is complete once its end is <= now); `quotes(now)`
    reads tickers. Both poll at most once per `poll_seconds` (and never faster than the
    exchange's own rate limit allows for the whole universe); a rate-limit answer pauses them
    for the server's Retry-After; an unreachable exchange is logged and yields nothing until it
    answers again (the missing bars are fetched then, from where the feed left off).
    """

    simulated = False
    supports_streaming = True

    def __init__(self, settings: CcxtFeedSettings, symbols: Sequence[str], bar_seconds: int,
                 clock: Clock, *, exchange: Any = None) -> None:
        self.settings = settings
        self.name = f"ccxt:{settings.exchange}"
        self.timeframe = timeframe_for(bar_seconds)
        self._step_ms = bar_seconds * 1000
        self._symbols = list(symbols)
        self._markets = {s: exchange_symbol(s, settings.symbols) for s in self._symbols}
        self._order = {s: n for n, s in enumerate(self._symbols)}
        self._clock = clock
        self._exchange = exchange
        self._last_ts: dict[str, int] = {}
        self._next_bar_poll: datetime | None = None
        self._next_quote_poll: datetime | None = None
        self._paused_until: datetime | None = None

    @property
    def markets(self) -> Mapping[str, str]:
        """Universe symbol -> the exchange's symbol."""
        return dict(self._markets)

    def set_symbols(self, symbols: Sequence[str]) -> None:
        """Poll `symbols` from now on (the daily universe refresh): a new one starts with its
        next bars (the engine warms it up from `history`), a dropped one is no longer asked."""
        self._symbols = list(symbols)
        self._markets = {s: exchange_symbol(s, self.settings.symbols) for s in self._symbols}
        self._order = {s: n for n, s in enumerate(self._symbols)}
        for gone in set(self._last_ts) - set(self._symbols):
            del self._last_ts[gone]

    async def connect(self) -> None:
        """Open the exchange and load its markets; ValueError names an unlisted symbol."""
        if self._exchange is None:
            self._exchange = open_exchange(self.settings)
        await call_exchange(self._exchange, "load_markets")
        listed = set(self._exchange.symbols or ())
        missing = [f"{s} ({m})" for s, m in self._markets.items() if m not in listed]
        if missing:
            raise ValueError(f"{self._exchange.id} does not list {', '.join(missing)}; map them in "
                             "feeds.ccxt.symbols (e.g. \"BTC-USD\" = \"BTC/USDT\")")

    async def close(self) -> None:
        """Close the exchange's HTTP session."""
        if self._exchange is not None:
            await self._exchange.close()

    def _poll_gap(self) -> timedelta:
        limiter = float(getattr(self._exchange, "rateLimit", 0) or 0) / 1000.0
        return timedelta(seconds=max(self.settings.poll_seconds, limiter * len(self._symbols)))

    def _paused(self, now: datetime) -> bool:
        return self._paused_until is not None and now < self._paused_until

    def _pause(self, now: datetime, exc: ExchangeUnavailable) -> None:
        wait = exc.retry_after if isinstance(exc, RateLimited) else self.settings.poll_seconds
        self._paused_until = now + timedelta(seconds=wait)
        log.warning("%s; next request after %s", exc, self._paused_until.isoformat())

    async def history(self, symbol: str, bars: int) -> BarArrays:
        """The last `bars` completed bars of `symbol`, oldest first."""
        market = self._markets[symbol]
        now_ms = _ms(self._clock.now())
        since = now_ms - (max(1, bars) + 1) * self._step_ms
        since -= since % self._step_ms
        rows = await fetch_ohlcv_range(self._exchange, market, self.timeframe, since, now_ms)
        good = [_bar(symbol, r) for r in rows][-bars:]
        if good:
            self._last_ts[symbol] = max(self._last_ts.get(symbol, 0), _ms(good[-1].ts))
        return _arrays(symbol, good)

    async def next_bars(self, now: datetime) -> list[Bar]:
        """The bars completed since the last call, oldest first (ties in universe order).

        It resumes after the last bar it returned, so after an outage (the exchange unreachable,
        a rate-limit pause) the missed bars come first, paged, before the new ones."""
        if self._paused(now) or (self._next_bar_poll is not None and now < self._next_bar_poll):
            return []
        self._next_bar_poll = now + self._poll_gap()
        out: list[Bar] = []
        for symbol in self._symbols:
            since = self._last_ts[symbol] + self._step_ms if symbol in self._last_ts else (
                _ms(now) - 2 * self._step_ms)
            try:
                rows = await fetch_ohlcv_range(self._exchange, self._markets[symbol],
                                               self.timeframe, since, _ms(now))
            except ExchangeUnavailable as exc:
                self._pause(now, exc)
                break
            for row in rows:
                self._last_ts[symbol] = max(self._last_ts.get(symbol, 0), int(row[0]))
                out.append(_bar(symbol, row))
        out.sort(key=lambda b: (b.ts, self._order[b.symbol]))
        return out

    async def quotes(self, now: datetime) -> list[Quote]:
        """Quotes from the exchange's tickers (bid and ask 0.0 when the ticker has none)."""
        if self._paused(now) or (self._next_quote_poll is not None and now < self._next_quote_poll):
            return []
        self._next_quote_poll = now + self._poll_gap()
        out: list[Quote] = []
        for symbol in self._symbols:
            try:
                ticker = await call_exchange(self._exchange, "fetch_ticker", self._markets[symbol])
            except ExchangeUnavailable as exc:
                self._pause(now, exc)
                break
            quote = _quote(symbol, ticker, now)
            if quote is not None:
                out.append(quote)
        return out


def _quote(symbol: str, ticker: Mapping[str, Any], now: datetime) -> Quote | None:
    last = _price(ticker.get("last")) or _price(ticker.get("close"))
    bid, ask = _price(ticker.get("bid")), _price(ticker.get("ask"))
    if bid is None or ask is None:
        if last is None:
            log.warning("rejected quote %s: the ticker has no price", symbol)
            return None
        bid = ask = 0.0  # no book: the paper broker fills at last plus slippage
    if last is None:
        last = (bid + ask) / 2.0
    stamp = ticker.get("timestamp")
    ts = ns_to_datetime(int(stamp) * 1_000_000) if isinstance(stamp, int | float) else now
    return Quote(symbol, ts, bid, ask, last)


def _price(value: Any) -> float | None:
    """A ticker field as a float (None when absent); bad values stay for the engine's checker."""
    return None if value is None else float(value)


def _arrays(symbol: str, bars: Sequence[Bar]) -> BarArrays:
    return BarArrays(
        symbol,
        np.array([datetime_to_ns(b.ts) for b in bars], dtype=np.int64),
        np.array([b.open for b in bars], dtype=np.float64),
        np.array([b.high for b in bars], dtype=np.float64),
        np.array([b.low for b in bars], dtype=np.float64),
        np.array([b.close for b in bars], dtype=np.float64),
        np.array([b.volume for b in bars], dtype=np.float64),
    )


def build(settings: Settings, clock: Clock) -> MarketFeed:
    """The ccxt feed over the configured universe, at `feeds.bar_seconds` bars."""
    ccxt_settings = settings.feeds.ccxt
    for symbol in settings.universe.symbols:
        exchange_symbol(symbol, ccxt_settings.symbols)
    return CcxtFeed(ccxt_settings, settings.universe.symbols, settings.feeds.bar_seconds, clock,
                    exchange=open_exchange(ccxt_settings))

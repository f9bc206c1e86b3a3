"""Where `robo-tui data download` gets bars: a small port and its ccxt and yfinance adapters.

A source yields pages of completed bars (oldest first) between two instants. The catalogue
validates, stores and reports them; the source only speaks to its provider, respecting its rate
limits (ccxt's limiter plus the server's Retry-After).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from robo_tui.catalogue.store import CatalogueError, timeframe_seconds
from robo_tui.domain.market import BarArrays

if TYPE_CHECKING:
    from robo_tui.config import Settings

log = logging.getLogger("robo_tui.catalogue")

_RETRIES = 6


class HistorySource(Protocol):
    """Completed OHLCV bars of one provider, page by page."""

    name: str
    """The catalogue's name for it, e.g. `ccxt:kraken` (the folder its files live in)."""

    def pages(self, symbol: str, timeframe: str, since_ns: int, until_ns: int) -> AsyncIterator[BarArrays]:
        """Bars with since <= open time and open time + bar <= until, oldest first, in pages."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


def rows_to_arrays(symbol: str, rows: list[list[Any]]) -> BarArrays:
    """ccxt-style rows [ts_ms, o, h, l, c, v] as BarArrays (missing numbers become NaN)."""
    data = np.array([[np.nan if v is None else float(v) for v in r[:6]] for r in rows],
                    dtype=np.float64).reshape(-1, 6)
    return BarArrays(symbol, data[:, 0].astype(np.int64) * 1_000_000,
                     np.ascontiguousarray(data[:, 1]), np.ascontiguousarray(data[:, 2]),
                     np.ascontiguousarray(data[:, 3]), np.ascontiguousarray(data[:, 4]),
                     np.nan_to_num(data[:, 5], nan=0.0))


class CcxtHistory:
    """OHLCV history from any ccxt exchange (public endpoints, no keys)."""

    def __init__(self, exchange_name: str, settings: Settings, *,
                 sleep: Callable[[float], Any] = asyncio.sleep) -> None:
        from robo_tui.adapters.feeds.ccxt_feed import open_exchange

        ccxt_settings = settings.feeds.ccxt.model_copy(update={"exchange": exchange_name})
        self.name = f"ccxt:{ccxt_settings.exchange}"
        self._mapping = dict(ccxt_settings.symbols)
        self._exchange = open_exchange(ccxt_settings)
        self._sleep = sleep
        self._loaded = False

    async def pages(self, symbol: str, timeframe: str, since_ns: int, until_ns: int) -> AsyncIterator[BarArrays]:
        """Pages of `symbol` from the exchange; waits out rate limits (Retry-After) and retries."""
        from robo_tui.adapters.feeds.ccxt_feed import (
            ExchangeUnavailable,
            RateLimited,
            call_exchange,
            exchange_symbol,
            ohlcv_pages,
        )

        timeframe_seconds(timeframe)
        market = exchange_symbol(symbol, self._mapping)
        cursor_ms = since_ns // 1_000_000
        for attempt in range(_RETRIES + 1):
            try:
                if not self._loaded:
                    await call_exchange(self._exchange, "load_markets")
                    self._loaded = True
                if market not in (self._exchange.symbols or ()):
                    raise CatalogueError(f"{self.name} does not list {market} (for {symbol}); map it in "
                                         "feeds.ccxt.symbols")
                async for rows in ohlcv_pages(self._exchange, market, timeframe, cursor_ms,
                                              until_ns // 1_000_000):
                    page = rows_to_arrays(symbol, rows)
                    cursor_ms = int(page.ts[-1]) // 1_000_000 + timeframe_seconds(timeframe) * 1000
                    yield page
                return
            except RateLimited as exc:
                if attempt == _RETRIES:
                    raise CatalogueError(f"{exc}; gave up after {_RETRIES} retries") from None
                log.warning("%s; waiting %.1f s", exc, exc.retry_after)
                await self._sleep(exc.retry_after)
            except ExchangeUnavailable as exc:
                raise CatalogueError(str(exc)) from None

    async def close(self) -> None:
        """Close the exchange's HTTP session."""
        await self._exchange.close()


YAHOO_EXTRA = "yahoo"
"""The optional extra that installs yfinance."""

_YAHOO_WINDOW_DAYS = {"1m": 7, "5m": 59, "15m": 59, "1h": 729, "1d": 36_500}
"""Longest span one Yahoo request may cover per interval (its limits: 1m 7 days, 5m/15m 60,
1h 730); also how far back intraday bars go at all (30, 60 and 730 days)."""

YahooFetch = Callable[[str, str, datetime, datetime], Any]
"""(yahoo symbol, interval, start, end) -> the DataFrame `yfinance.Ticker.history` returns."""


def _yfinance_history(symbol: str, interval: str, start: datetime, end: datetime) -> Any:
    try:
        import yfinance
    except ImportError as exc:  # a missing extra is a config error that names it
        raise ImportError(f"the yfinance source needs yfinance: pip install 'robo-tui[{YAHOO_EXTRA}]'") from exc
    from curl_cffi.requests.exceptions import RequestException
    from yfinance.exceptions import YFException, YFRateLimitError

    try:
        return yfinance.Ticker(symbol).history(start=start, end=end, interval=interval,
                                               auto_adjust=True, actions=False, raise_errors=True)
    except YFRateLimitError:
        raise CatalogueError("yfinance: Yahoo is rate-limiting us; wait a few minutes and rerun "
                             "(the bars so far are saved)") from None
    except (YFException, RequestException) as exc:
        raise CatalogueError(f"yfinance {symbol}: {type(exc).__name__}: {exc}") from None


class YahooHistory:
    """US stocks (and what else Yahoo lists) through yfinance: split- and dividend-adjusted bars.

    Yahoo's data is delayed and unofficial; it is for research and backtests, never for live
    prices. Requests are cut to Yahoo's per-interval spans and run one at a time in a thread.
    """

    name = "yfinance"

    def __init__(self, fetch: YahooFetch | None = None, *,
                 sleep: Callable[[float], Any] = asyncio.sleep, pause_seconds: float = 0.5) -> None:
        self._fetch = fetch or _yfinance_history
        self._sleep = sleep
        self._pause = pause_seconds

    async def pages(self, symbol: str, timeframe: str, since_ns: int, until_ns: int) -> AsyncIterator[BarArrays]:
        """One page per Yahoo request window, completed bars only."""
        if timeframe not in _YAHOO_WINDOW_DAYS:
            raise CatalogueError(f"yfinance has no {timeframe} bars; use {', '.join(_YAHOO_WINDOW_DAYS)}")
        step_ns = timeframe_seconds(timeframe) * 1_000_000_000
        window = timedelta(days=_YAHOO_WINDOW_DAYS[timeframe])
        start = datetime.fromtimestamp(since_ns / 1e9, UTC)
        until = datetime.fromtimestamp(until_ns / 1e9, UTC)
        while start < until:
            end = min(until, start + window)
            try:
                frame = await asyncio.to_thread(self._fetch, symbol.replace(".", "-"), timeframe, start, end)
            except (OSError, ValueError) as exc:
                raise CatalogueError(f"yfinance {symbol}: {type(exc).__name__}: {exc}") from None
            page = frame_to_arrays(symbol, frame)
            keep = (page.ts >= since_ns) & (page.ts + step_ns <= until_ns)
            if keep.any():
                index = np.flatnonzero(keep)
                yield BarArrays(symbol, *(getattr(page, n)[index] for n in
                                          ("ts", "open", "high", "low", "close", "volume")))
            start = end
            if start < until:
                await self._sleep(self._pause)

    async def close(self) -> None:
        """Nothing to release."""


def frame_to_arrays(symbol: str, frame: Any) -> BarArrays:
    """A `Ticker.history` DataFrame (DatetimeIndex, Open/High/Low/Close/Volume) as BarArrays."""
    import pandas as pd

    if frame is None or len(frame) == 0:
        return rows_to_arrays(symbol, [])
    index = pd.DatetimeIndex(frame.index)
    index = index.tz_localize("UTC") if index.tz is None else index.tz_convert("UTC")
    missing = [c for c in ("Open", "High", "Low", "Close") if c not in frame.columns]
    if missing:
        raise CatalogueError(f"yfinance {symbol}: no {', '.join(missing)} column(s) in the answer")
    volume = frame["Volume"] if "Volume" in frame.columns else pd.Series(0.0, index=frame.index)
    def column(name: str) -> np.ndarray:
        out: np.ndarray = frame[name].to_numpy(dtype=np.float64)
        return out

    return BarArrays(symbol, index.as_unit("ns").asi8.astype(np.int64), column("Open"),
                     column("High"), column("Low"), column("Close"),
                     np.nan_to_num(volume.to_numpy(dtype=np.float64), nan=0.0))


def open_source(spec: str, settings: Settings) -> HistorySource:
    """The source a `--source` value names: `ccxt:EXCHANGE`, `ccxt` (the configured exchange)
    or `yfinance`."""
    kind, _, detail = spec.partition(":")
    if kind == "ccxt":
        return CcxtHistory(detail or settings.feeds.ccxt.exchange, settings)
    if kind == "yfinance" and not detail:
        return YahooHistory()
    raise CatalogueError(f"--source {spec!r}: use ccxt:EXCHANGE (e.g. ccxt:kraken) or yfinance")


def source_name(spec: str, settings: Settings) -> str:
    """The catalogue name of a `--source` value without opening it (`ccxt` -> `ccxt:kraken`)."""
    kind, _, detail = spec.partition(":")
    if kind == "ccxt":
        return f"ccxt:{(detail or settings.feeds.ccxt.exchange).lower()}"
    return spec

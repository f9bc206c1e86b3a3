"""Where `robo-tui data download` gets bars: a small port and its ccxt and yfinance adapters.

A source yields pages of completed bars (oldest first) between two instants. The catalogue
validates, stores and reports them; the source only speaks to its provider, respecting its rate
limits (ccxt's limiter plus the server's Retry-After).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
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


def open_source(spec: str, settings: Settings) -> HistorySource:
    """The source a `--source` value names: `ccxt:EXCHANGE` or `ccxt` (the configured exchange)."""
    kind, _, detail = spec.partition(":")
    if kind == "ccxt":
        return CcxtHistory(detail or settings.feeds.ccxt.exchange, settings)
    raise CatalogueError(f"--source {spec!r}: use ccxt:EXCHANGE (e.g. ccxt:kraken)")


def source_name(spec: str, settings: Settings) -> str:
    """The catalogue name of a `--source` value without opening it (`ccxt` -> `ccxt:kraken`)."""
    kind, _, detail = spec.partition(":")
    if kind == "ccxt":
        return f"ccxt:{(detail or settings.feeds.ccxt.exchange).lower()}"
    return spec

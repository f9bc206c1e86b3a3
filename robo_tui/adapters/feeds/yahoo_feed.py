"""Delayed US stock bars and quotes from Yahoo Finance through yfinance: no account, no key.

For paper trading stocks without a broker account. Exchanges let Yahoo show their prices about
15 minutes late, so the feed is labelled delayed wherever its name is shown (the status bar),
and the live start refuses it when its first quotes are older than the stale window (trading
real money on 15-minute-old prices is not a thing this console does quietly).

One poll per `poll_seconds` reads the recent bars of every symbol (`Ticker.history`, in a
thread: yfinance blocks); `next_bars` hands out the bars completed since the last call, and
`quotes` the latest price of each symbol whose data moved (bid = ask = last: Yahoo's delayed
feed has no book). A symbol with no new data gives no quote, so a quiet Yahoo makes it stale.
yfinance (the `yahoo` extra) is imported at the first request.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from robo_tui.catalogue.sources import YahooFetch, frame_to_arrays
from robo_tui.config.yahoo_feed import YahooFeedSettings
from robo_tui.domain.market import AssetClass, Bar, BarArrays, Quote

if TYPE_CHECKING:
    from robo_tui.config import Settings
    from robo_tui.ports import Clock, MarketFeed

log = logging.getLogger("robo_tui.feeds.yahoo")

EXTRA = "yahoo"
"""The optional extra that installs yfinance."""

INTERVALS: Mapping[int, str] = {60: "1m", 120: "2m", 300: "5m", 900: "15m", 1800: "30m",
                                3600: "1h", 5400: "90m", 86400: "1d"}
"""Bar length in seconds -> Yahoo's interval."""

LOOKBACK_DAYS: Mapping[str, int] = {"1m": 7, "2m": 59, "5m": 59, "15m": 59, "30m": 59,
                                    "1h": 729, "90m": 59, "1d": 36_500}
"""How far back one Yahoo request may reach per interval (1m: 7 days, intraday: 60, 1h: 730)."""


class YahooUnavailable(Exception):
    """Yahoo could not be read; the message says why."""


class YahooRateLimited(YahooUnavailable):
    """Yahoo asked us to slow down."""


def interval_for(seconds: int) -> str:
    """Yahoo's interval for a bar length; ValueError naming the allowed lengths."""
    try:
        return INTERVALS[seconds]
    except KeyError:
        allowed = ", ".join(f"{s} ({i})" for s, i in INTERVALS.items())
        raise ValueError(f"feeds.bar_seconds = {seconds} has no Yahoo interval; use one of {allowed}") from None


def yfinance_history(symbol: str, interval: str, start: datetime, end: datetime) -> Any:
    """`yfinance.Ticker(symbol).history(...)`: adjusted OHLCV; Yahoo's errors as YahooUnavailable."""
    try:
        import yfinance
    except ImportError as exc:
        raise ImportError(f"the Yahoo feed needs yfinance: pip install 'robo-tui[{EXTRA}]'") from exc
    from yfinance.exceptions import YFException, YFRateLimitError

    try:
        return yfinance.Ticker(symbol).history(start=start, end=end, interval=interval,
                                               auto_adjust=True, actions=False, raise_errors=True)
    except YFRateLimitError:
        raise YahooRateLimited("Yahoo is rate-limiting us") from None
    except (YFException, OSError) as exc:
        raise YahooUnavailable(f"{symbol}: {type(exc).__name__}: {exc}") from None


class YahooFeed:
    """Delayed bars and quotes of US stocks from Yahoo Finance; implements `MarketFeed`."""

    simulated = False
    supports_streaming = True

    def __init__(self, settings: YahooFeedSettings, symbols: Sequence[str], bar_seconds: int,
                 clock: Clock, *, fetch: YahooFetch | None = None) -> None:
        self.settings = settings
        self.interval = interval_for(bar_seconds)
        self.delay = timedelta(minutes=settings.delay_minutes)
        self.name = "yahoo (delayed)"  # short: the status bar's narrow layout keeps 12 characters
        self._step = timedelta(seconds=bar_seconds)
        self._symbols = list(symbols)
        self._order = {s: n for n, s in enumerate(self._symbols)}
        self._clock = clock
        self._fetch = fetch or yfinance_history
        self._emitted: dict[str, datetime] = {}
        self._latest: dict[str, Bar] = {}
        self._quoted: dict[str, Bar] = {}
        self._pending: list[Bar] = []
        self._next_poll: datetime | None = None

    @property
    def delay_label(self) -> str:
        """How late the prices are, for the status bar: 'delayed ~15 min'."""
        minutes = self.settings.delay_minutes
        return "delayed" if minutes <= 0 else f"delayed ~{minutes:g} min"

    def yahoo_symbol(self, symbol: str) -> str:
        """Yahoo's ticker for a universe symbol: mapped, else BRK.B -> BRK-B."""
        return self.settings.symbols.get(symbol, symbol.replace(".", "-"))

    async def connect(self) -> None:
        """Nothing to open: each poll is a request."""

    async def close(self) -> None:
        """Nothing to release."""

    async def _frame(self, symbol: str, start: datetime, end: datetime) -> BarArrays:
        async with asyncio.timeout(self.settings.timeout_seconds):
            frame = await asyncio.to_thread(self._fetch, self.yahoo_symbol(symbol), self.interval,
                                            start, end)
        return frame_to_arrays(symbol, frame)

    def _span(self, bars: int) -> timedelta:
        step = self._step.total_seconds()
        trading_days = math.ceil((bars + 2) * step / 23_400) if step < 86_400 else bars + 2
        days = min(math.ceil(trading_days * 7 / 5) + 4, LOOKBACK_DAYS[self.interval])
        return timedelta(days=days)

    async def history(self, symbol: str, bars: int) -> BarArrays:
        """The last `bars` completed, good bars of `symbol` Yahoo has (its 1m bars reach back 7
        days at most), oldest first."""
        now = self._clock.now()
        try:
            page = await self._frame(symbol, now - self._span(bars), now)
        except (YahooUnavailable, TimeoutError) as exc:
            log.warning("Yahoo history of %s: %s", symbol, exc)
            return BarArrays.from_bars(symbol, [])
        good = [b for b in self._bars(page) if self._complete(b, now)]
        good = good[-bars:]
        if good:
            self._emitted[symbol] = good[-1].ts
        return BarArrays.from_bars(symbol, good)

    def _complete(self, bar: Bar, now: datetime) -> bool:
        """Whether `bar` is final: its end is past even in Yahoo's delayed view of the market
        (the last bar Yahoo shows was still running `delay` ago)."""
        return bar.ts + self._step + self.delay <= now

    @staticmethod
    def _bars(page: BarArrays) -> list[Bar]:
        return [page.bar(i) for i in range(len(page))
                if all(math.isfinite(x) for x in (page.open[i], page.high[i], page.low[i], page.close[i]))]

    async def _poll(self, now: datetime) -> None:
        """Read the recent bars of every symbol, at most once per poll_seconds."""
        if self._next_poll is not None and now < self._next_poll:
            return
        self._next_poll = now + timedelta(seconds=self.settings.poll_seconds)
        for symbol in self._symbols:
            last = self._emitted.get(symbol)
            start = last if last is not None else now - self._span(2)
            try:
                page = await self._frame(symbol, start, now)
            except YahooRateLimited as exc:
                self._next_poll = now + timedelta(seconds=max(60.0, 4 * self.settings.poll_seconds))
                log.warning("Yahoo: %s; next poll after %s", exc, self._next_poll.isoformat())
                return
            except (YahooUnavailable, TimeoutError) as exc:
                log.warning("Yahoo poll of %s: %s", symbol, exc or "timed out")
                continue
            rows = self._bars(page)
            if rows:
                self._latest[symbol] = rows[-1]
            for bar in rows:
                if (last is None or bar.ts > last) and self._complete(bar, now):
                    last = self._emitted[symbol] = bar.ts
                    self._pending.append(bar)  # the engine's bad-tick checker judges it

    async def next_bars(self, now: datetime) -> list[Bar]:
        """The good bars completed since the last call, oldest first (ties in universe order)."""
        await self._poll(now)
        out, self._pending = self._pending, []
        out.sort(key=lambda b: (b.ts, self._order[b.symbol]))
        return out

    async def quotes(self, now: datetime) -> list[Quote]:
        """The latest (delayed) price of each symbol whose data moved since the last quote."""
        await self._poll(now)
        out: list[Quote] = []
        for symbol in self._symbols:
            bar = self._latest.get(symbol)
            if bar is None or self._quoted.get(symbol) == bar:
                continue
            self._quoted[symbol] = bar
            ts = min(now, bar.ts + self._step)
            quote = Quote(symbol, ts, bar.close, bar.close, bar.close)
            out.append(quote)  # the engine's bad-tick checker judges it
        return out


def build(settings: Settings, clock: Clock) -> MarketFeed:
    """The Yahoo feed over the configured stock universe; ValueError for crypto symbols (Yahoo's
    crypto is not what a crypto venue trades: use ccxt or Robinhood) or an unknown bar size."""
    crypto = [i.symbol for i in settings.universe.instruments if i.asset_class is AssetClass.CRYPTO]
    if crypto:
        raise ValueError(f"feeds.kind = 'yahoo' serves US stocks; {', '.join(crypto)} need a crypto "
                         "feed (feeds.kind = 'ccxt' or 'robinhood'), or remove them from the universe")
    interval_for(settings.feeds.bar_seconds)
    return YahooFeed(settings.feeds.yahoo, settings.universe.symbols, settings.feeds.bar_seconds,
                     clock, fetch=yfinance_history)

"""Market data from Interactive Brokers (TWS / IB Gateway) through ib_async: bars, quotes, contracts.

The feed opens its own read-only API connection (its own client id, never the broker's), so it
can run beside the IB broker or feed the paper broker. At warm-up `history` asks for the bars
with `keepUpToDate` (IB then streams `historicalDataUpdate`s for the current bar); `next_bars`
hands out each bar once it is complete. Quotes come from `reqMktData` ticks, stamped when they
arrive. Contract details (min tick, trading and liquid hours, time zone) are read at connect.

The market-data type (live, frozen, delayed, delayed frozen) is requested with
`reqMarketDataType` and read back from what TWS answers per ticker: an account without a live
subscription gets delayed data, and the feed's `name` (what the status bar shows) says so:
`ib (delayed)`.

IB limits historical requests (60 per 10 minutes, identical requests 15 s apart): a small
`PacingLimiter` spaces them. When TWS drops the connection the feed reconnects every
`reconnect_seconds`, re-subscribes, and re-requests history from its last bar, so the missing
bars are backfilled in order. ib_async (the `ib` extra) is imported when the feed is built.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from robo_tui.config.ib_feed import IbFeedSettings, MarketDataType
from robo_tui.domain.market import Bar, BarArrays, Quote

if TYPE_CHECKING:
    from robo_tui.config import Settings
    from robo_tui.ports import Clock, MarketFeed

log = logging.getLogger("robo_tui.feeds.ib")

EXTRA = "ib"
"""The optional extra that installs ib_async."""

BAR_SIZES: Mapping[int, str] = {
    5: "5 secs", 10: "10 secs", 15: "15 secs", 30: "30 secs", 60: "1 min", 120: "2 mins",
    180: "3 mins", 300: "5 mins", 600: "10 mins", 900: "15 mins", 1200: "20 mins",
    1800: "30 mins", 3600: "1 hour", 7200: "2 hours", 10800: "3 hours", 14400: "4 hours",
    28800: "8 hours", 86400: "1 day",
}
"""Bar length in seconds -> IB's barSizeSetting (those keepUpToDate accepts: 5 seconds and up)."""

DATA_TYPES: Mapping[MarketDataType, int] = {"live": 1, "frozen": 2, "delayed": 3, "delayed_frozen": 4}
"""Config name -> IB's market-data type number."""

DATA_TYPE_LABELS: Mapping[int, str] = {1: "live", 2: "frozen", 3: "delayed ~15 min",
                                       4: "delayed frozen"}
"""IB's market-data type number -> how current the prices are, in words."""

_SHORT_LABELS: Mapping[int, str] = {1: "live", 2: "frozen", 3: "delayed", 4: "delayed frozen"}

_KEEP_BARS = 2000  # bars kept per symbol from a keepUpToDate subscription
_FIRST_TICK_SECONDS = 2.0  # how long connect waits for each symbol's first tick


def bar_size_for(seconds: int) -> str:
    """IB's barSizeSetting for a bar length; ValueError naming the allowed lengths."""
    try:
        return BAR_SIZES[seconds]
    except KeyError:
        allowed = ", ".join(str(s) for s in BAR_SIZES)
        raise ValueError(f"feeds.bar_seconds = {seconds} has no IB bar size; use one of {allowed}") from None


def duration_for(bars: int, bar_seconds: int, session_seconds: int) -> str:
    """IB's durationStr covering `bars` bars of a market open `session_seconds` a day.

    A stock trades 6.5 hours a day (regular hours), so 1,000 one-minute bars need 3 trading
    days, not 17 hours; weekends and holidays are covered by 7/5 and 3 spare days.
    """
    needed = (max(1, bars) + 2) * bar_seconds
    if session_seconds >= 86_400 and needed <= 86_400:
        return f"{needed} S"
    if needed <= session_seconds:
        return f"{max(needed, 60)} S" if session_seconds >= 86_400 else "1 D"
    days = math.ceil(needed / session_seconds)
    if session_seconds < 86_400:
        days = math.ceil(days * 7 / 5) + 3
    return f"{days} D" if days <= 365 else f"{math.ceil(days / 365)} Y"


@dataclass(frozen=True, slots=True)
class ContractInfo:
    """What IB says about one symbol's contract: its id, price increment and hours."""

    symbol: str
    con_id: int
    min_tick: float
    long_name: str
    time_zone: str
    trading_hours: str
    """IB's trading-hours string (`20261203:0400-20261203:2000;...`), extended hours included."""
    liquid_hours: str
    """IB's regular-hours string."""


class PacingLimiter:
    """At most `max_requests` in any `window` seconds: `acquire` waits for a free slot.

    IB answers a faster client with pacing violations (error 162) and may disconnect it; this
    keeps the feed under the limit instead of learning it from errors.
    """

    def __init__(self, max_requests: int, window: float, *,
                 monotonic: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.max_requests = max_requests
        self.window = window
        self._monotonic = monotonic
        self._sleep = sleep
        self._sent: deque[float] = deque()
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        """Return when one more request fits in the window (it is counted from then)."""
        async with self._lock:
            while True:
                now = self._monotonic()
                while self._sent and now - self._sent[0] >= self.window:
                    self._sent.popleft()
                if len(self._sent) < self.max_requests:
                    self._sent.append(now)
                    return
                wait = self.window - (now - self._sent[0])
                log.info("IB historical pacing: waiting %.1f s for a request slot", wait)
                await self._sleep(wait)


def load_ib_async() -> Any:
    """`ib_async`; ImportError naming the extra when it is missing."""
    try:
        import ib_async
    except ImportError as exc:
        raise ImportError(f"the IB feed needs ib_async: pip install 'robo-tui[{EXTRA}]'") from exc
    return ib_async


def _as_utc(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    raise ValueError(f"IB bar date {value!r} is not a date")


def _valid(price: Any) -> float | None:
    """An IB price as a float; None for IB's 'no value' (nan, -1, 0)."""
    if price is None:
        return None
    value = float(price)
    return value if math.isfinite(value) and value > 0 else None


class IbFeed:
    """Bars and quotes of the universe from TWS / IB Gateway; implements `MarketFeed`."""

    simulated = False
    supports_streaming = True

    def __init__(self, settings: IbFeedSettings, symbols: Sequence[str], bar_seconds: int,
                 clock: Clock, *, ib: Any = None, limiter: PacingLimiter | None = None) -> None:
        self.settings = settings
        self.bar_size = bar_size_for(bar_seconds)
        self.name = "ib"
        self._step = timedelta(seconds=bar_seconds)
        self._symbols = list(symbols)
        self._order = {s: n for n, s in enumerate(self._symbols)}
        self._clock = clock
        self._ib = ib
        self._mod: Any = None
        self._limiter = limiter or PacingLimiter(settings.pacing_requests, settings.pacing_window_seconds)
        self._contracts: dict[str, Any] = {}
        self._info: dict[str, ContractInfo] = {}
        self._tickers: dict[str, Any] = {}
        self._symbol_of_ticker: dict[int, str] = {}
        self._arrived: dict[str, datetime] = {}
        self._ticks: dict[str, int] = {}  # tick batches received per symbol
        self._read: dict[str, int] = {}  # ... and how many of them `quotes` has reported
        self._subs: dict[str, Any] = {}
        self._emitted: dict[str, datetime] = {}
        self._next_reconnect: datetime | None = None
        self._lost = False
        self._hooked = False
        self._resubscribe: set[str] = set()

    # ------------------------------------------------------------------ what the console shows

    @property
    def data_type(self) -> int:
        """The market-data type TWS serves (the worst across the universe's tickers), else the
        one requested: 1 live, 2 frozen, 3 delayed, 4 delayed frozen."""
        served = [int(t.marketDataType) for t in self._tickers.values()
                  if getattr(t, "marketDataType", None) in DATA_TYPE_LABELS]
        return max(served) if served else DATA_TYPES[self.settings.market_data_type]

    @property
    def delay_label(self) -> str:
        """'live', 'frozen', 'delayed ~15 min' or 'delayed frozen': how current the prices are."""
        return DATA_TYPE_LABELS[self.data_type]

    def contract_info(self, symbol: str) -> ContractInfo | None:
        """IB's contract details for `symbol` (min tick, hours), once connected."""
        return self._info.get(symbol)

    def _relabel(self) -> None:
        # short: the status bar's narrow layout keeps 12 characters of a source's name
        kind = self.data_type
        self.name = "ib" if kind == 1 else f"ib ({_SHORT_LABELS[kind]})"

    # ------------------------------------------------------------------ connection

    def _contract(self, symbol: str) -> Any:
        mod = self._mod
        if "-" in symbol:
            base, _, quote = symbol.partition("-")
            return mod.Crypto(base, self.settings.crypto_exchange, quote)
        return mod.Stock(symbol.replace(".", " "), "SMART", "USD")

    def _what_to_show(self, symbol: str) -> str:
        if self.settings.what_to_show:
            return self.settings.what_to_show
        return "AGGTRADES" if "-" in symbol else "TRADES"

    def _session_seconds(self, symbol: str) -> int:
        if "-" in symbol:
            return 86_400
        return 23_400 if self.settings.use_rth else 57_600

    async def connect(self) -> None:
        """Connect read-only, ask for the configured data type, read each contract, subscribe
        to its quotes. ConnectionError naming host:port when TWS cannot be reached; ValueError
        naming a symbol IB does not know."""
        if self._mod is None:
            self._mod = load_ib_async()
        if self._ib is None:
            self._ib = self._mod.IB()
        s = self.settings
        where = f"{s.host}:{s.port}"
        try:
            await self._ib.connectAsync(s.host, s.port, clientId=s.client_id,
                                        timeout=s.timeout_seconds, readonly=True)
        except (OSError, TimeoutError) as exc:
            raise ConnectionError(
                f"IB feed: cannot reach TWS/IB Gateway at {where} ({exc or type(exc).__name__}); "
                "is the API enabled on that port, and is client id "
                f"{s.client_id} free? (feeds.ib.host/port/client_id)") from exc
        self._lost = False
        self._ib.reqMarketDataType(DATA_TYPES[s.market_data_type])
        if not self._hooked:  # once: a reconnect reuses the same IB object and its events
            self._ib.pendingTickersEvent += self._on_tickers
            self._ib.disconnectedEvent += self._on_disconnected
            self._hooked = True
        for symbol in self._symbols:
            if symbol not in self._contracts:
                await self._read_contract(symbol)
            ticker = self._ib.reqMktData(self._contracts[symbol], "", False, False)
            self._tickers[symbol] = ticker
            self._symbol_of_ticker[id(ticker)] = symbol
        await self._first_ticks(min(_FIRST_TICK_SECONDS, s.timeout_seconds))
        self._relabel()  # TWS has said which data type it serves: the start-up line shows it
        log.info("IB feed connected at %s as client %s (%s data)", where, s.client_id,
                 s.market_data_type)

    async def _first_ticks(self, within: float) -> None:
        """Wait (at most `within` seconds) for a first tick of every symbol, so the first
        `quotes` after connecting (the live start's check) has them; a closed market may
        send none, which is not an error."""
        deadline = time.monotonic() + within
        while any(s not in self._arrived for s in self._tickers) and time.monotonic() < deadline:
            await asyncio.sleep(0.02)

    async def _read_contract(self, symbol: str) -> None:
        async with asyncio.timeout(self.settings.timeout_seconds):
            details = await self._ib.reqContractDetailsAsync(self._contract(symbol))
        if not details:
            raise ValueError(f"IB does not know {symbol} (no contract details for "
                             f"{self._contract(symbol)!r})")
        cd = details[0]
        self._contracts[symbol] = cd.contract
        self._info[symbol] = ContractInfo(symbol, int(cd.contract.conId), float(cd.minTick or 0.0),
                                          str(cd.longName), str(cd.timeZoneId),
                                          str(cd.tradingHours), str(cd.liquidHours))

    async def close(self) -> None:
        """Cancel the subscriptions and disconnect."""
        if self._ib is None or not self._ib.isConnected():
            return
        self._ib.disconnectedEvent -= self._on_disconnected
        self._ib.pendingTickersEvent -= self._on_tickers
        self._hooked = False
        for bars in self._subs.values():
            self._ib.cancelHistoricalData(bars)
        for symbol in self._tickers:
            self._ib.cancelMktData(self._contracts[symbol])
        self._ib.disconnect()

    def _on_disconnected(self) -> None:
        self._lost = True
        log.warning("IB feed: TWS dropped the connection; reconnecting every %gs",
                    self.settings.reconnect_seconds)

    def _on_tickers(self, tickers: Any) -> None:
        now = self._clock.now()
        for ticker in tickers:
            symbol = self._symbol_of_ticker.get(id(ticker))
            if symbol is not None:
                self._arrived[symbol] = now
                self._ticks[symbol] = self._ticks.get(symbol, 0) + 1

    async def _ensure_connected(self, now: datetime) -> bool:
        """Whether the feed is connected, reconnecting (and backfilling) when it is due."""
        if self._ib.isConnected() and not self._lost:
            return True
        if self._next_reconnect is not None and now < self._next_reconnect:
            return False
        self._next_reconnect = now + timedelta(seconds=self.settings.reconnect_seconds)
        try:
            self._ib.disconnect()
            self._subs.clear()
            self._tickers.clear()
            self._symbol_of_ticker.clear()
            await self.connect()
        except (ConnectionError, TimeoutError, ValueError) as exc:
            log.warning("IB feed: reconnect failed: %s", exc)
            return False
        self._resubscribe.update(self._symbols)
        log.info("IB feed: reconnected; missing bars are backfilled from history")
        return True

    async def _resubscribe_bars(self, now: datetime) -> None:
        """Open the bar subscriptions that are missing (after a reconnect, or a history request
        IB answered with nothing), each from the feed's last bar: the gap is backfilled. A
        symbol stays due until IB answers, so a timeout in the middle loses nothing."""
        for symbol in [s for s in self._symbols if s in self._resubscribe]:
            sub = await self._subscribe_bars(symbol, self._backfill_bars(symbol, now))
            if len(sub):
                self._resubscribe.discard(symbol)

    def _backfill_bars(self, symbol: str, now: datetime) -> int:
        last = self._emitted.get(symbol)
        if last is None:
            return 2
        return max(2, int((now - last) / self._step) + 1)

    # ------------------------------------------------------------------ bars

    async def _subscribe_bars(self, symbol: str, bars: int) -> Any:
        old = self._subs.pop(symbol, None)
        if old is not None:
            self._ib.cancelHistoricalData(old)
        await self._limiter.acquire()
        sub = await self._ib.reqHistoricalDataAsync(
            self._contracts[symbol], endDateTime="",
            durationStr=duration_for(bars, int(self._step.total_seconds()), self._session_seconds(symbol)),
            barSizeSetting=self.bar_size, whatToShow=self._what_to_show(symbol),
            useRTH=self.settings.use_rth, formatDate=2, keepUpToDate=True,
            timeout=self.settings.timeout_seconds)
        self._subs[symbol] = sub
        return sub

    def _completed(self, symbol: str, now: datetime) -> list[Bar]:
        sub = self._subs.get(symbol)
        if not sub:
            return []
        if len(sub) > _KEEP_BARS:
            del sub[:-_KEEP_BARS]
        out = []
        for item in sub:
            ts = _as_utc(item.date)
            if ts + self._step <= now:
                out.append(Bar(symbol, ts, float(item.open), float(item.high), float(item.low),
                               float(item.close), max(0.0, float(item.volume))))
        return out

    async def history(self, symbol: str, bars: int) -> BarArrays:
        """The last `bars` completed, good bars of `symbol`, oldest first; the request stays
        open (keepUpToDate) so later bars stream in."""
        sub = await self._subscribe_bars(symbol, bars)
        if not len(sub):
            self._resubscribe.add(symbol)  # IB sent nothing (or timed out): retried each cycle
        good = list(self._completed(symbol, self._clock.now()))
        good = good[-bars:]
        if good:
            self._emitted[symbol] = max(self._emitted.get(symbol, good[-1].ts), good[-1].ts)
        return BarArrays.from_bars(symbol, good)

    async def next_bars(self, now: datetime) -> list[Bar]:
        """The good bars completed since the last call, oldest first (ties in universe order)."""
        if not await self._ensure_connected(now):
            return []
        if self._resubscribe:
            await self._resubscribe_bars(now)
        out: list[Bar] = []
        for symbol in self._symbols:
            last = self._emitted.get(symbol)
            for bar in self._completed(symbol, now):
                if last is not None and bar.ts <= last:
                    continue
                self._emitted[symbol] = bar.ts
                out.append(bar)  # the engine's bad-tick checker judges it
        out.sort(key=lambda b: (b.ts, self._order[b.symbol]))
        return out

    # ------------------------------------------------------------------ quotes

    async def quotes(self, now: datetime) -> list[Quote]:
        """Good quotes of the symbols that ticked since the last call (bid/ask, else last)."""
        if not await self._ensure_connected(now):
            return []
        self._relabel()
        out: list[Quote] = []
        for symbol, ticker in self._tickers.items():
            arrived, ticks = self._arrived.get(symbol), self._ticks.get(symbol, 0)
            if arrived is None or self._read.get(symbol) == ticks:
                continue
            self._read[symbol] = ticks
            quote = _quote(symbol, ticker, arrived)
            if quote is not None:  # the engine's bad-tick checker judges the rest
                out.append(quote)
        return out


def _quote(symbol: str, ticker: Any, ts: datetime) -> Quote | None:
    bid, ask = _valid(ticker.bid), _valid(ticker.ask)
    last = _valid(ticker.last) or _valid(getattr(ticker, "close", None))
    if bid is None or ask is None:
        if last is None:
            return None
        bid = ask = last
    if last is None:
        last = (bid + ask) / 2.0
    return Quote(symbol, ts, bid, ask, last)


def build(settings: Settings, clock: Clock) -> MarketFeed:
    """The IB feed over the configured universe at `feeds.bar_seconds` bars; ValueError for a bar
    size IB lacks, or a client id the IB broker already uses on the same TWS."""
    ib_settings: IbFeedSettings = settings.feeds.ib
    bar_size_for(settings.feeds.bar_seconds)
    broker = settings.broker.ib
    if settings.broker.kind == "ib" and (broker.host, broker.port, broker.client_id) == (
            ib_settings.host, ib_settings.port, ib_settings.client_id):
        raise ValueError(f"feeds.ib.client_id and broker.ib.client_id are both {broker.client_id} "
                         "on the same TWS: TWS refuses a second connection with one client id; "
                         "give the feed its own (feeds.ib.client_id)")
    mod = load_ib_async()
    feed = IbFeed(ib_settings, settings.universe.symbols, settings.feeds.bar_seconds, clock,
                  ib=mod.IB())
    feed._mod = mod
    return feed

"""Market sessions: when a stock's exchange is open, from a maintained exchange calendar.

Holidays and half days come from `exchange_calendars` (the XNYS calendar by default). The
calendar is read once per range of years and kept as sorted arrays of session bounds in
nanoseconds, so a lookup per order is one binary search; the simulated market masks whole bar
arrays with the same arrays. Crypto trades 24x7 and is always open.

It lives in the domain (pure values and lookups, no I/O) because both the engine's risk gate and
the simulated market (an adapter) follow the same calendar, and they meet only at the domain.
"""

from __future__ import annotations

from bisect import bisect_right
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

import numpy as np

from robo_tui.domain.frozen import frozen
from robo_tui.domain.market import AssetClass, FloatArray

__all__ = ["MarketSessions", "Phase", "SessionStatus"]

_NS = 1_000_000_000
_PRE, _POST = time(4, 0), time(20, 0)  # US extended hours, New York time
_YEARS_AROUND = 2  # calendar years read on each side of a lookup's year


class Phase(StrEnum):
    """Where a day's session stands at one moment."""

    OPEN = "open"
    PRE = "pre-market"
    POST = "after-hours"
    CLOSED = "closed"


@frozen
class SessionStatus:
    """The stock market's state at one moment: its phase, and whether today is a half day or a
    holiday (a weekday without a session)."""

    market: str
    phase: Phase
    half_day: bool = False
    holiday: bool = False

    @property
    def label(self) -> str:
        """What the status bar shows: "US open", "US half day", "US closed", ..."""
        if self.phase is Phase.OPEN and self.half_day:
            return f"{self.market} half day"
        if self.phase is Phase.CLOSED and self.holiday:
            return f"{self.market} closed (holiday)"
        return f"{self.market} {self.phase.value}"


class MarketSessions:
    """The regular and extended sessions of one exchange calendar, precomputed per day.

    `extended_hours` lets `tradable` accept the pre-market and after-hours phases (only where the
    broker takes such orders: the config says so).
    """

    def __init__(self, calendar: str = "XNYS", *, market: str = "US",
                 timezone: str = "America/New_York", extended_hours: bool = False) -> None:
        self.calendar = calendar
        self.market = market
        self.extended_hours = extended_hours
        self._tz = ZoneInfo(timezone)
        self._years = (0, -1)  # the range of years loaded (none yet)
        self._opens: list[int] = []
        self._closes: list[int] = []
        self._early: list[bool] = []
        self._pre: list[int] = []
        self._post: list[int] = []
        self._days: set[str] = set()  # ISO dates with a session
        self._open_arr = np.zeros(0, dtype=np.int64)
        self._close_arr = np.zeros(0, dtype=np.int64)

    @property
    def timezone(self) -> ZoneInfo:
        """The exchange's time zone (the daily schedule's times are read in it)."""
        return self._tz

    # ------------------------------------------------------------------ the calendar

    def _ensure(self, year: int) -> None:
        lo, hi = self._years
        if lo <= year <= hi:
            return
        self._load(min(year, lo) - _YEARS_AROUND if lo <= hi else year - _YEARS_AROUND,
                   max(year, hi) + _YEARS_AROUND if lo <= hi else year + _YEARS_AROUND)

    def _load(self, first: int, last: int) -> None:
        import exchange_calendars as xcals  # heavy (pandas); only when a session is asked for

        cal = xcals.get_calendar(self.calendar, start=f"{max(first, 1990)}-01-01",
                                 end=f"{last}-12-31")
        sched = cal.schedule
        opens = [int(t.value) for t in sched["open"]]
        closes = [int(t.value) for t in sched["close"]]
        self._opens, self._closes = opens, closes
        self._days = {d.date().isoformat() for d in sched.index}
        self._early, self._pre, self._post = [], [], []
        for o, c in zip(opens, closes, strict=True):
            local_open = datetime.fromtimestamp(o / _NS, UTC).astimezone(self._tz)
            day = local_open.date()
            regular = datetime.combine(day, time(16, 0), self._tz)
            self._early.append(c < int(regular.timestamp()) * _NS)
            self._pre.append(int(datetime.combine(day, _PRE, self._tz).timestamp()) * _NS)
            post = datetime.combine(day, _POST, self._tz)
            self._post.append(max(c, int(post.timestamp()) * _NS) if c >= int(regular.timestamp()) * _NS
                              else c)  # no after-hours session after an early close
        self._open_arr = np.asarray(opens, dtype=np.int64)
        self._close_arr = np.asarray(closes, dtype=np.int64)
        self._years = (first, last)

    # ------------------------------------------------------------------ lookups

    def status(self, now: datetime) -> SessionStatus:
        """The stock market's phase at `now` (half days and holidays known)."""
        ns = _ns(now)
        self._ensure(now.year)
        local = now.astimezone(self._tz)
        i = bisect_right(self._pre, ns) - 1
        holiday = local.weekday() < 5 and local.date().isoformat() not in self._days
        if i < 0 or ns >= self._post[i]:
            return SessionStatus(self.market, Phase.CLOSED, holiday=holiday)
        early = self._early[i]
        if ns < self._opens[i]:
            return SessionStatus(self.market, Phase.PRE, half_day=early)
        if ns < self._closes[i]:
            return SessionStatus(self.market, Phase.OPEN, half_day=early)
        return SessionStatus(self.market, Phase.POST, half_day=early)

    def is_open(self, asset_class: AssetClass, now: datetime) -> bool:
        """Whether `asset_class` trades in the regular session at `now` (crypto: always)."""
        if asset_class is AssetClass.CRYPTO:
            return True
        ns = _ns(now)
        self._ensure(now.year)
        i = bisect_right(self._opens, ns) - 1
        return i >= 0 and ns < self._closes[i]

    def tradable(self, asset_class: AssetClass, now: datetime) -> bool:
        """Whether an entry in `asset_class` may be sent at `now`: in the regular session, or in
        the extended session when `extended_hours` allows it."""
        if self.is_open(asset_class, now):
            return True
        if not self.extended_hours:
            return False
        ns = _ns(now)
        i = bisect_right(self._pre, ns) - 1
        return i >= 0 and ns < self._post[i]

    def open_mask(self, ts_ns: FloatArray | np.ndarray) -> np.ndarray:
        """For each timestamp (ns since the epoch), whether the regular session is open."""
        ts = np.asarray(ts_ns, dtype=np.int64)
        if len(ts) == 0:
            return np.zeros(0, dtype=bool)
        for ns in (int(ts.min()), int(ts.max())):
            self._ensure(datetime.fromtimestamp(ns / _NS, UTC).year)
        i = np.searchsorted(self._open_arr, ts, side="right") - 1
        safe = np.clip(i, 0, max(len(self._close_arr) - 1, 0))
        return np.asarray((i >= 0) & (ts < self._close_arr[safe]), dtype=bool)

    def next_open(self, now: datetime) -> datetime | None:
        """When the next regular session opens after `now` (None past the calendar's end)."""
        ns = _ns(now)
        self._ensure(now.year)
        i = bisect_right(self._opens, ns)
        if i >= len(self._opens):
            self._ensure(now.year + _YEARS_AROUND + 1)
            i = bisect_right(self._opens, ns)
            if i >= len(self._opens):
                return None
        return datetime.fromtimestamp(self._opens[i] / _NS, UTC)


def _ns(now: datetime) -> int:
    """`now` in nanoseconds since the epoch (a naive time is UTC)."""
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    delta = now - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta // timedelta(microseconds=1)) * 1000


"""Backfill after a reconnect: bars a real feed missed are fetched from its history, in order.

A streaming feed that loses its connection comes back with the newest bars only; the bars of the
outage are gone from the stream but not from the venue's history. `Backfill` remembers the last
bar the engine took per symbol and, when the first new bar of a symbol is more than one bar
interval after it, asks the feed's `history` for the missing ones and returns them ahead of the
new bars, oldest first, so strategies, stops and the paper venue see the market as it went
(never a jump that hides the outage's high or low). At most `max_bars` per symbol are fetched;
an older remainder is reported as a gap. A feed that resumes by itself (the ccxt feed pages from
its last bar) shows no gap and costs nothing. Only real feeds get one: the simulated market has
no outages and a replay has none to fill.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from robo_tui.domain.market import Bar, BarArrays
from robo_tui.domain.time import ns_to_datetime
from robo_tui.ports import MarketFeed

__all__ = ["Backfill", "backfill_for"]

SIMULATED_FEEDS = frozenset({"sim", "replay"})
"""Feed kinds that never miss a bar (the simulated market, a replay): no backfill."""

log = logging.getLogger("robo_tui.engine.backfill")


def backfill_for(kind: str, *, bar_seconds: float, max_bars: int,
                 symbols: Sequence[str]) -> Backfill | None:
    """The backfill of a `kind` feed (`feeds.kind`), or None for the simulated market, a replay
    or `max_bars` 0."""
    if kind in SIMULATED_FEEDS or max_bars <= 0:
        return None
    return Backfill(bar_seconds=bar_seconds, max_bars=max_bars,
                    order={s: n for n, s in enumerate(symbols)})


class Backfill:
    """Per symbol, the last bar taken; fills the gap before a feed's next bars from its history."""

    def __init__(self, *, bar_seconds: float, max_bars: int, order: Mapping[str, int]) -> None:
        self.step = timedelta(seconds=bar_seconds)
        self.max_bars = max_bars
        self.order = order
        """Universe order (ties between symbols at one timestamp keep it)."""
        self.last: dict[str, datetime] = {}
        """The newest bar time taken per symbol."""
        self.filled = 0
        """Bars backfilled so far."""

    def seen_history(self, bars: BarArrays) -> None:
        """Warm-up bars were loaded: the gap check starts after the newest of them."""
        if len(bars):
            self._seen(bars.symbol, ns_to_datetime(int(bars.ts[-1])))

    def _seen(self, symbol: str, ts: datetime) -> None:
        last = self.last.get(symbol)
        if last is None or ts > last:
            self.last[symbol] = ts

    async def complete(self, feed: MarketFeed, bars: Sequence[Bar]) -> tuple[list[Bar], list[str]]:
        """`bars` with the bars missed before them prepended (per symbol, from the feed's
        history), sorted by time then universe order; and the problems to report (a history
        call that failed, a gap longer than `max_bars`)."""
        first: dict[str, Bar] = {}
        newest: dict[str, datetime] = {}
        for bar in bars:
            if bar.symbol not in first or bar.ts < first[bar.symbol].ts:
                first[bar.symbol] = bar
            if bar.symbol not in newest or bar.ts > newest[bar.symbol]:
                newest[bar.symbol] = bar.ts
        extra: list[Bar] = []
        problems: list[str] = []
        for symbol, bar in first.items():
            last = self.last.get(symbol)
            if last is not None and bar.ts - last > self.step:
                got, problem = await self._fetch(feed, symbol, last, bar.ts, newest[symbol])
                extra.extend(got)
                if problem:
                    problems.append(problem)
        for symbol, ts in newest.items():
            self._seen(symbol, ts)
        if not extra:
            return list(bars), problems
        self.filled += len(extra)
        merged = extra + list(bars)
        order = self.order
        merged.sort(key=lambda b: (b.ts, order.get(b.symbol, len(order))))
        return merged, problems

    async def _fetch(self, feed: MarketFeed, symbol: str, last: datetime, until: datetime,
                     newest: datetime) -> tuple[list[Bar], str]:
        """The bars of `symbol` strictly between `last` and `until` from the feed's history."""
        missing = int((until - last) / self.step) - 1
        want = min(missing, self.max_bars) + int((newest - until) / self.step) + 1
        try:
            arrays = await feed.history(symbol, want)
        except Exception as exc:  # noqa: BLE001 - any feed's failure: the live bars go on
            return [], (f"backfill of {symbol} after {last.isoformat()} failed: "
                        f"{type(exc).__name__}: {exc}")
        got = [b for b in (arrays.bar(i) for i in range(len(arrays))) if last < b.ts < until]
        log.info("%s: backfilled %d of %d missing bars (%s to %s)", symbol, len(got), missing,
                 last.isoformat(), until.isoformat())
        if missing > self.max_bars:
            return got, (f"{symbol}: {missing} bars missed after {last.isoformat()}; backfilled "
                         f"the newest {len(got)} (feeds.backfill_bars = {self.max_bars})")
        return got, ""

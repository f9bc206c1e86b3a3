"""Replays history through the very same `Engine`: strategies, ensemble, sizing, the risk gate and
the paper broker, on a simulated clock.

Strategies are causal, so their scores over the whole history equal what the live engine computes
on its trailing window at each bar. The driver therefore computes every symbol's ensemble target
once, then walks an event queue: the bars where the target changes (decisions go through
`Engine.build_proposal` → `Engine.propose` → `Engine.submit` → gate → broker, exactly as live), the
bar after an order (fills at the next open), and the first bar where a resting order, stop or
target can trigger (found by a vectorised search). Bars in between cannot change anything, so they
are skipped; the equity curve is filled in for them afterwards with numpy.

`reenter` (compat mode) reproduces backtesting.py's `exclusive_orders=True` on a repeated
same-direction signal: a strategy that reports its raw signals (`SignalSource`, e.g. a cross up
while the last cross was up too) closes what it holds and opens anew at one fill. Both orders go
through the order path and the gate: the exit at the signal's close (reduce-only), and at the
next bar's open, once the exit has filled there, the entry, judged on the flat account and
filled at that same open, sized on the equity the exit left.
"""

from __future__ import annotations

import asyncio
import gc
import heapq
import math
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, cast

import numpy as np

from robo_tui.domain.frozen import frozen
from robo_tui.domain.market import BarArrays, FloatArray, IntArray
from robo_tui.domain.news import NewsItem, TradeIdea
from robo_tui.domain.orders import Fill, Position
from robo_tui.domain.risk import TradingState
from robo_tui.domain.signals import EnsembleDecision
from robo_tui.domain.time import datetime_to_ns, ns_to_datetime
from robo_tui.engine.engine import Engine
from robo_tui.engine.ensemble import decision_from, idea_signal, strategy_vote
from robo_tui.engine.ledger import ClosedTrade
from robo_tui.ports import ReplayClock, RunRecorder, SimulatedVenue

_BAR, _DECIDE = 0, 1  # venue bars sort before decisions at the same timeline bar
_DAY_NS = 86_400 * 1_000_000_000


class SignalSource(Protocol):
    """A strategy that reports its raw signals as well as its score: +1 / -1 at each bar where
    it would buy / sell, repeats in the same direction included (the score latches them).
    Found by its `signals` method (not `isinstance`: this module is compiled with mypyc, where a
    runtime-checkable Protocol cannot be built)."""

    def signals(self, bars: BarArrays) -> FloatArray:
        """+1 / -1 at each buy / sell signal, 0 elsewhere."""
        ...


@frozen
class BacktestTrade:
    """A closed round trip with the timeline bar indices of its entry and exit fills."""

    trade: ClosedTrade
    entry_bar: int
    exit_bar: int


@dataclass(slots=True, repr=False)
class BacktestResult:
    """What a replay produced: the equity curve on the merged timeline, trades, fills, counts.

    Its repr is a one-line summary, not the arrays and lists it holds: asyncio formats the repr
    of a finished task's result (``asyncio.run`` does so twice, through ``signal.getsignal``),
    and a full repr of a long run is megabytes of text and a tenth of a second.
    """

    index: IntArray  # epoch ns of each timeline bar
    equity: FloatArray
    trades: list[BacktestTrade]
    fills: list[Fill]
    closes: dict[str, FloatArray]  # per symbol, forward-filled onto the timeline
    orders: int
    denied: int
    proposals: int
    bars: int  # symbol-bars replayed
    events: int  # bars the driver actually visited
    elapsed_s: float
    stopped_early: bool = False
    state_changes: list[str] = field(default_factory=list)

    @property
    def bars_per_second(self) -> float:
        return self.bars / self.elapsed_s if self.elapsed_s > 0 else math.inf

    def __repr__(self) -> str:
        final = float(self.equity[-1]) if self.equity.shape[0] else math.nan
        return (f"BacktestResult(bars={self.bars}, events={self.events}, "
                f"proposals={self.proposals}, orders={self.orders}, denied={self.denied}, "
                f"trades={len(self.trades)}, fills={len(self.fills)}, final_equity={final!r}, "
                f"elapsed_s={self.elapsed_s:.3f}, stopped_early={self.stopped_early})")


class _Timeline:
    """All symbols' bars merged onto one sorted time axis, closes forward-filled."""

    def __init__(self, data: Mapping[str, BarArrays]) -> None:
        self.symbols = list(data)
        self.index: IntArray = _merged_times([b.ts for b in data.values()])
        n = self.index.shape[0]
        self.closes = np.zeros((n, len(self.symbols)), dtype=np.float64)
        self.pos_of: dict[str, IntArray] = {}  # symbol bar i -> timeline k
        self.bar_at: dict[str, IntArray] = {}  # timeline k -> symbol's last bar i (-1: none yet)
        for j, symbol in enumerate(self.symbols):
            bars = data[symbol]
            self.pos_of[symbol] = np.searchsorted(self.index, bars.ts).astype(np.int64)
            last = np.searchsorted(bars.ts, self.index, side="right").astype(np.int64) - 1
            self.bar_at[symbol] = last
            if bars.close.shape[0]:
                self.closes[:, j] = np.where(last >= 0, bars.close[np.maximum(last, 0)], 0.0)


def _merged_times(stamps: Sequence[IntArray]) -> IntArray:
    """The sorted union of the symbols' (sorted) bar times."""
    merged = np.sort(np.concatenate(stamps), kind="stable") if len(stamps) != 1 else stamps[0]
    if merged.shape[0] < 2:
        return np.asarray(merged, dtype=np.int64)
    keep = np.empty(merged.shape[0], dtype=bool)
    keep[0] = True
    np.not_equal(merged[1:], merged[:-1], out=keep[1:])
    return np.asarray(merged[keep], dtype=np.int64)


@contextmanager
def _quiet_collector() -> Iterator[None]:
    """A replay keeps every record it makes alive, so the cyclic collector's full passes would
    rescan an ever larger heap (about a fifth of a long run): freeze what exists and collect
    far less often for the run's duration, then restore. Most of a replay's objects die young;
    a young generation of 50,000 lets them go by reference count before any pass sees them
    (a few MB at most, ~5% faster than 10,000).

    On the way out the run's survivors are frozen too before the old thresholds return, so they
    join the oldest generation unscanned; restored thresholds would otherwise set off a pass over
    up to a million young survivors at once (~20 ms after a 100,000-bar run)."""
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(50_000, 20, 1_000)
    try:
        yield
    finally:
        gc.freeze()
        gc.set_threshold(*thresholds)
        gc.unfreeze()


def _change_points(target: FloatArray) -> IntArray:
    """Bars where the forward-filled target takes a new value (the first defined one counts)."""
    defined = ~np.isnan(target)
    idx = np.flatnonzero(defined)
    if idx.size == 0:
        return idx.astype(np.int64)
    values = target[idx]
    keep = np.empty(values.shape[0], dtype=bool)
    keep[0] = True
    keep[1:] = values[1:] != values[:-1]
    return idx[keep].astype(np.int64)


def _next_trigger(bars: BarArrays, start: int, below: float, above: float) -> int:
    """First bar >= start whose low reaches `below` or whose high reaches `above`; -1 if none."""
    n = len(bars)
    chunk = 256
    lo, hi = bars.low, bars.high
    while start < n:
        stop = min(n, start + chunk)
        hits = (lo[start:stop] <= below) | (hi[start:stop] >= above)
        if hits.any():
            return start + int(np.argmax(hits))
        start = stop
        chunk = min(chunk * 4, 65536)
    return -1


@frozen
class ReplayRig:
    """An engine built for a replay (by the composition root) with the parts of it the driver
    moves and reads back, typed by what the driver needs of them: the clock it sets, the venue it
    shows bars, the store that records the run. They are the engine's own clock, broker and store."""

    engine: Engine
    clock: ReplayClock
    venue: SimulatedVenue
    recorder: RunRecorder


@dataclass(slots=True)
class _Decisions:
    """Every symbol's ensemble arrays over the whole history, computed once before the replay
    (strategies are causal): the strategies' votes and explainers, the combined score and
    target, and the analyst ideas the replayed news produced."""

    votes: dict[str, dict[str, FloatArray]]
    explainers: dict[str, dict[str, Callable[[int], str]]]
    scores: dict[str, FloatArray]
    targets: dict[str, FloatArray]
    ideas: dict[str, list[TradeIdea]]
    reentries: dict[str, frozenset[int]] = field(default_factory=dict)
    """Per symbol the bars of a repeated same-direction signal (compat re-entry), if any."""


_Entry = tuple[int, int, int, str, int]  # timeline bar k, kind, tie-breaker, symbol, symbol's bar i
_Due = tuple[int, str, int]  # kind, symbol, symbol's bar i


class _EventQueue:
    """The timeline bars the driver must visit, earliest first: the bars where a symbol's target
    changes, and per symbol the one next bar at which the venue can act (scheduling a newer one
    supersedes it)."""

    __slots__ = ("heap", "scheduled")

    def __init__(self, decisions: list[_Entry]) -> None:
        heapq.heapify(decisions)
        self.heap = decisions
        self.scheduled: dict[str, int] = {}  # symbol -> next bar i scheduled for the venue

    def pop(self) -> tuple[int, list[_Due]]:
        """The earliest timeline bar and what is due there (superseded venue bars left out)."""
        heap, scheduled = self.heap, self.scheduled
        k = heap[0][0]
        batch: list[_Due] = []
        while heap and heap[0][0] == k:
            _, kind, _, symbol, i = heapq.heappop(heap)
            if kind == _BAR and scheduled.get(symbol) != i:
                continue  # superseded
            batch.append((kind, symbol, i))
        return k, batch

    def put(self, symbol: str, k: int, i: int) -> None:
        """Schedule bar i of `symbol` (timeline bar k) as the next one the venue must see."""
        if self.scheduled.get(symbol) == i:
            return
        self.scheduled[symbol] = i
        heapq.heappush(self.heap, (k, _BAR, len(self.heap), symbol, i))

    def drop(self, symbol: str) -> None:
        """Nothing the venue holds for `symbol` can trigger: no venue bar is due."""
        self.scheduled.pop(symbol, None)


class _EquityCurve:
    """The account's equity at each timeline bar. Nothing trades between events, so the bars up to
    the next event are filled in at once, from the cash and the held quantities times the
    forward-filled closes; the equity peak is kept on the way."""

    __slots__ = ("cash", "closes", "col_of", "done", "held", "holding", "peak", "values")

    def __init__(self, tl: _Timeline, cash: float, peak: float) -> None:
        self.closes = tl.closes
        self.col_of = {s: j for j, s in enumerate(tl.symbols)}
        self.values: FloatArray = np.empty(tl.index.shape[0], dtype=np.float64)
        self.done = 0  # values[:done] is final
        self.cash = cash
        self.held: FloatArray = np.zeros(len(tl.symbols), dtype=np.float64)
        self.holding: set[str] = set()  # the symbols with a position (held[col] != 0)
        self.peak = peak

    def fill(self, upto: int) -> None:
        """Make values[:upto] final with the current holdings."""
        done = self.done
        if upto <= done:
            return
        out = self.values[done:upto]
        holding = self.holding
        if not holding:  # flat: equity is the cash
            out.fill(self.cash)
            self.peak = max(self.peak, self.cash)
        else:
            held, col_of = self.held, self.col_of
            if len(holding) == 1:  # one position: a scaled column, no matrix product
                j = col_of[next(iter(holding))]
                np.multiply(self.closes[done:upto, j], held[j], out=out)
                out += self.cash
            else:  # columns in a fixed order: the sum must not depend on set order
                cols = sorted(col_of[symbol] for symbol in holding)
                np.add(self.closes[done:upto, cols] @ held[cols], self.cash, out=out)
            self.peak = max(self.peak, float(np.maximum.reduce(out)))
        self.done = upto

    def book(self, cash: float, positions: Mapping[str, Position]) -> None:
        """The account after an event: its cash and the positions of the replayed symbols."""
        self.cash = cash
        held, col_of = self.held, self.col_of
        for symbol in self.holding.difference(positions):
            held[col_of[symbol]] = 0.0
        holding: set[str] = set()
        for symbol, position in positions.items():
            j = col_of.get(symbol)
            if j is not None:
                holding.add(symbol)
                held[j] = position.quantity
        self.holding = holding

    def final(self, upto: int, *, cut: bool) -> FloatArray:
        """The curve made final through bar `upto`; `cut`: only that far (a run stopped early)."""
        self.fill(upto)
        return self.values[: self.done] if cut else self.values


class BacktestDriver:
    """Drives an `Engine` (built with a `SimClock`, a paper broker and a memory store) over history.

    `trade_from` (a timeline bar) makes the bars before it warm-up only: the strategies read
    them, but the first decision is at that bar (walk-forward test windows warmed on the bars
    before them, without look-ahead and without orders in the warm-up).
    """

    def __init__(self, rig: ReplayRig, data: Mapping[str, BarArrays], *,
                 window: int | None = None, news: Sequence[NewsItem] = (),
                 trade_from: int = 0, reenter: bool = False) -> None:
        engine = rig.engine
        missing = [s for s in data if s not in engine.instruments]
        if missing:
            raise ValueError(f"symbols not in the universe: {', '.join(missing)}")
        self.engine = engine
        self.data = dict(data)
        self.timeline = _Timeline(self.data)
        self.window = window or max(engine.settings.engine.warmup_bars,
                                    engine.settings.risk.correlation_window + 2)
        self.news = sorted(news, key=lambda item: item.published)
        # timeline bars before `trade_from` only warm the indicators up: no decision, no order
        self.trade_from = trade_from
        self._set_clock: Callable[[datetime], None] = rig.clock.set
        self._recorder: RunRecorder = rig.recorder
        self._venue: SimulatedVenue = rig.venue
        self._found: dict[str, tuple[float, float, int]] = {}  # symbol: levels, first bar hit
        self._today = -1  # the day (epoch days) of the last event
        self.reenter = reenter
        self._reentries: dict[str, frozenset[int]] = {}
        # re-entries whose exit waits for the next open: symbol -> (direction, decision)
        self._reopen: dict[str, tuple[int, EnsembleDecision]] = {}
        self._staged: list[tuple[str, int]] = []  # (symbol, bar) seen only at its open so far

    async def run(self, *, progress: Callable[[int, int], None] | None = None,
                  stop: asyncio.Event | None = None) -> BacktestResult:
        """Replay every bar; `progress(done_bars, total_bars)` is called now and then."""
        with _quiet_collector():
            return await self._run(progress, stop)

    async def _run(self, progress: Callable[[int, int], None] | None,
                   stop: asyncio.Event | None) -> BacktestResult:
        """The event loop: each bar that can change anything is one step (`_open_bar`, the
        venue's settlement, `_decide`, `_book`); the equity curve is filled in between."""
        engine = self.engine
        started = time.perf_counter()
        n = self.timeline.index.shape[0]
        plan = await self._decisions()
        self._reentries = plan.reentries
        queue = _EventQueue(self._decision_points(plan.targets, plan.reentries))
        curve = _EquityCurve(self.timeline, engine.account.cash, engine.peak_equity)
        events = last_report = 0
        last_k = -1  # the last bar whose events were processed
        stopped_early = False
        while queue.heap:
            if stop is not None and stop.is_set():
                stopped_early = True
                break
            k, batch = queue.pop()
            if not batch or self._idle(batch, plan.targets):
                continue
            events += 1
            last_k = k
            now, touched, decides = self._open_bar(k, batch, queue, curve)
            await engine.settle(now)
            if self._staged:
                await self._reopen_at_open(k, now, touched)
            if decides:
                await self._decide(k, batch, plan, touched, now)
            self._book(k, touched, queue, curve)
            if progress is not None and k - last_report >= 5000:
                last_report = k
                progress(k, n)
        # stopped early: the curve runs through the last bar processed, fills included
        equity = curve.final(n if not stopped_early else last_k + 1, cut=stopped_early)
        if progress is not None:
            progress(curve.done, n)
        return self._result(equity, events, started, stopped_early=stopped_early)

    def _result(self, equity: FloatArray, events: int, started: float, *,
                stopped_early: bool) -> BacktestResult:
        """What the run produced, as the engine counted and the store recorded it."""
        tl = self.timeline
        counters = self.engine.counters
        # nothing moves the counters between the last event and now; no event: none were made
        proposals, denied, orders = ((counters.proposals, counters.denied, counters.orders)
                                     if events else (0, 0, 0))
        trades = self._trades(self._recorder, tl)
        elapsed = time.perf_counter() - started
        return BacktestResult(
            index=tl.index[: equity.shape[0]], equity=equity, trades=trades,
            fills=list(self._recorder.recorded_fills()),
            closes={s: tl.closes[: equity.shape[0], j] for j, s in enumerate(tl.symbols)},
            orders=orders, denied=denied, proposals=proposals,
            bars=sum(len(b) for b in self.data.values()), events=events, elapsed_s=elapsed,
            stopped_early=stopped_early,
        )

    async def _decisions(self) -> _Decisions:
        """Every symbol's ensemble target over its whole history, once, vectorised (the news
        replayed first: the analyst's ideas vote too)."""
        ensemble = self.engine.ensemble
        ideas = await self._replay_news()
        plan = _Decisions({}, {}, {}, {}, ideas)
        idea_votes = {symbol: self._idea_votes(symbol, ideas.get(symbol, []))
                      for symbol in self.data}
        for symbol, bars in self.data.items():
            evaluated = ensemble.evaluations(bars)
            v = {name: arr for name, (arr, _) in evaluated.items()}
            plan.explainers[symbol] = {name: explain for name, (_, explain) in evaluated.items()}
            extra = idea_votes[symbol]
            score, target = ensemble.combine(
                v, [(extra, ensemble.analyst_weight)] if extra is not None else ())
            if self.trade_from > 0:
                first = int(np.searchsorted(self.timeline.pos_of[symbol], self.trade_from))
                target = target.copy()
                target[:first] = np.nan  # undefined until then: the first decision is there
            plan.votes[symbol], plan.scores[symbol], plan.targets[symbol] = v, score, target
            if self.reenter and extra is None:
                bars_at = self._reentry_bars(bars, target)
                if bars_at.size:
                    plan.reentries[symbol] = frozenset(bars_at.tolist())
        return plan

    def _reentry_bars(self, bars: BarArrays, target: FloatArray) -> IntArray:
        """The bars where the one voting strategy signals again the direction it already holds
        (backtesting.py's `buy()` while long): empty unless exactly one strategy votes and it
        reports its signals."""
        voters = list(self.engine.ensemble.voters().values())
        if len(voters) != 1 or not callable(getattr(voters[0], "signals", None)):
            return np.empty(0, dtype=np.int64)
        signals = np.asarray(cast(SignalSource, voters[0]).signals(bars), dtype=np.float64)
        before = np.r_[np.nan, target[:-1]]
        repeat = (signals != 0) & (target == signals) & (before == target)
        return np.flatnonzero(repeat).astype(np.int64)

    def _decision_points(self, targets: Mapping[str, FloatArray],
                         reentries: Mapping[str, frozenset[int]]) -> list[_Entry]:
        """The queue's first entries: each bar where a symbol's target changes or its strategy
        repeats a signal (a compat re-entry)."""
        pos_of = self.timeline.pos_of
        points: list[_Entry] = []
        for symbol, target in targets.items():
            bars_at = _change_points(target)
            again = reentries.get(symbol)
            if again:
                bars_at = np.union1d(bars_at, np.fromiter(again, dtype=np.int64))
            for i in bars_at.tolist():
                points.append((int(pos_of[symbol][i]), _DECIDE, len(points), symbol, int(i)))
        return points

    def _open_bar(self, k: int, batch: Sequence[_Due], queue: _EventQueue,
                  curve: _EquityCurve) -> tuple[datetime, set[str], bool]:
        """Step to timeline bar k: the curve final before it, the clock, the day and the peak,
        marks for every symbol that matters now; the venue sees the bar (fills at the open,
        stops and limits intrabar). The time, the symbols that matter, whether any decides."""
        engine = self.engine
        data = self.data
        curve.fill(k)  # bars before k are final
        stamp = int(self.timeline.index[k])
        now = ns_to_datetime(stamp)
        self._set_clock(now)
        day = stamp // _DAY_NS
        if day != self._today:
            self._today = day
            engine.replay_day(now.date().isoformat(),
                              float(curve.values[k - 1]) if k > 0 else curve.cash)
        engine.replay_peak(curve.peak)
        # marks for every symbol that matters now (windows only once a decision needs them)
        touched = set(curve.holding)
        for _, symbol, _ in batch:  # a loop, not a comprehension: no extra frame per event
            touched.add(symbol)
        marks: dict[str, float] = {}
        bar_at = self.timeline.bar_at
        for symbol in touched:
            i_now = int(bar_at[symbol][k])
            if i_now >= 0:
                marks[symbol] = float(data[symbol].close[i_now])
        engine.mark_prices(marks)
        decides = False
        scheduled = queue.scheduled  # inline `take`: this is the hot path
        for kind, symbol, i in batch if len(batch) == 1 else sorted(batch):
            due = scheduled.get(symbol) == i
            if kind == _DECIDE:
                decides = True
            elif not due:
                continue
            if due:
                del scheduled[symbol]
            bars = data[symbol]
            if due and symbol in self._reopen:  # the open alone first: the exit fills there
                price = float(bars.open[i])
                self._venue.on_bar_values(symbol, now, price, price, price, price)
                self._staged.append((symbol, i))
                continue
            self._venue.on_bar_values(symbol, now, float(bars.open[i]), float(bars.high[i]),
                                      float(bars.low[i]), float(bars.close[i]))
        return now, touched, decides

    async def _reopen_at_open(self, k: int, now: datetime, touched: set[str]) -> None:
        """The entry of each re-entry whose exit filled at this bar's open: proposed, judged on
        the flat account and priced at the open (`build_proposal` → `propose` → gate), then the
        rest of the bar, where it fills at that same open, sized on the equity left."""
        engine = self.engine
        staged, self._staged = self._staged, []
        self._set_windows(touched.union(engine.account.positions), max(k - 1, 0))  # closed bars
        for symbol, i in staged:
            direction, decision = self._reopen.pop(symbol)
            bars = self.data[symbol]
            opening = float(bars.open[i])
            if (engine.risk.state is not TradingState.HALTED
                    and engine.account.position_qty(symbol) == 0.0):
                engine.mark_prices({symbol: opening})
                proposal = engine.build_proposal(symbol, direction, decision, now)
                if proposal is not None:
                    await engine.propose(proposal)
            self._venue.on_bar_values(symbol, now, opening, float(bars.high[i]),
                                      float(bars.low[i]), float(bars.close[i]))
            engine.mark_prices({symbol: float(bars.close[i])})
        await engine.settle(now)

    async def _decide(self, k: int, batch: Sequence[_Due], plan: _Decisions, touched: set[str],
                      now: datetime) -> None:
        """The batch's decisions at the bar's close, through the engine's one order path
        (`build_proposal` → `propose` → gate → broker); then what filled at once is settled."""
        engine = self.engine
        counters = engine.counters
        sent_before = counters.orders + counters.denied
        windows_current = False
        for kind, symbol, i in batch:
            if kind != _DECIDE:
                continue
            desired = float(plan.targets[symbol][i])
            acts = self._acts(symbol, desired)
            again = not acts and self._reenters(symbol, i, desired)
            engine.set_target(symbol, desired)
            if not acts and not again:
                continue  # nothing to explain or size
            if not windows_current:  # sizing and the gate read the symbols' recent bars
                self._set_windows(touched.union(engine.account.positions), k)
                windows_current = True
            live = self._live_ideas(plan.ideas.get(symbol, []), now)
            engine.set_live_ideas(symbol, live)  # the proposal cites the ideas that voted
            decision = self._decision(symbol, i, now, plan.votes[symbol], plan.explainers[symbol],
                                      plan.scores[symbol], plan.targets[symbol], live)
            if again:
                await self._exit_to_reenter(symbol, int(desired), decision, now)
                continue
            proposal = engine.build_proposal(symbol, int(desired), decision, now)
            if proposal is not None:
                await engine.propose(proposal)
        if counters.orders + counters.denied != sent_before:
            await engine.settle(now)  # an order may have filled at once (fill at close)

    async def _exit_to_reenter(self, symbol: str, direction: int, decision: EnsembleDecision,
                               now: datetime) -> None:
        """A re-entry's first order: the exit of what is held (reduce-only, through the gate).
        Filled at once (fills at the close), the entry follows at once; queued for the next
        open, the entry waits for it (`_reopen_at_open`)."""
        engine = self.engine
        exit_proposal = engine.build_proposal(symbol, 0, decision, now)
        if exit_proposal is None:
            return
        sent = engine.counters.orders
        await engine.propose(exit_proposal)
        if engine.counters.orders == sent:
            return  # the gate denied the exit: nothing to re-open
        await engine.settle(now)
        if engine.account.position_qty(symbol) != 0.0:
            self._reopen[symbol] = (direction, decision)
            return
        entry = engine.build_proposal(symbol, direction, decision, now)
        if entry is not None:
            await engine.propose(entry)

    def _reenters(self, symbol: str, i: int, desired: float) -> bool:
        """Whether bar i of `symbol` is a re-entry that can act: a repeated signal in the
        direction already held, trading not HALTED."""
        again = self._reentries.get(symbol)
        return (again is not None and i in again and desired != 0
                and self.engine.risk.state is not TradingState.HALTED
                and self.engine.wanted_change(symbol, int(desired)) is None
                and self.engine.account.position_qty(symbol) != 0.0)

    def _book(self, k: int, touched: set[str], queue: _EventQueue, curve: _EquityCurve) -> None:
        """Book the account's new state on the curve and schedule what the venue must see next."""
        account = self.engine.account
        curve.book(account.cash, account.positions)
        for symbol in touched | curve.holding:
            self._schedule(symbol, k, queue)

    def _set_windows(self, symbols: Iterable[str], k: int) -> None:
        """The engine's market window of each symbol: its last `window` bars as of step k."""
        market = self.engine.market
        for symbol in symbols:
            bar_at = self.timeline.bar_at.get(symbol)
            i_now = int(bar_at[k]) if bar_at is not None else -1
            if i_now >= 0:
                market[symbol] = self.data[symbol].slice(max(0, i_now + 1 - self.window), i_now + 1)

    def _acts(self, symbol: str, desired: float) -> bool:
        """Whether a decision for target `desired` can do anything: the target is new, trading is
        not HALTED, and what is held does not already match it."""
        engine = self.engine
        return (engine.target(symbol) != desired
                and engine.risk.state is not TradingState.HALTED
                and engine.wanted_change(symbol, int(desired)) is not None)

    def _idle(self, batch: Sequence[_Due], targets: Mapping[str, FloatArray]) -> bool:
        """Whether a batch holds only decisions that cannot do anything (`_acts`). Such decisions
        only move the engine's last target; the bar needs no marks, no settling, no venue
        (positions change only at venue bars)."""
        for kind, _, _ in batch:
            if kind != _DECIDE:
                return False
        for _, symbol, i in batch:
            desired = float(targets[symbol][i])
            if self._acts(symbol, desired) or self._reenters(symbol, i, desired):
                return False
        for _, symbol, i in batch:
            self.engine.set_target(symbol, float(targets[symbol][i]))
        return True

    def _schedule(self, symbol: str, k: int, queue: _EventQueue) -> None:
        """Queue the next bar of `symbol` at which the venue can do anything."""
        bars = self.data[symbol]
        i_now = int(self.timeline.bar_at[symbol][k])
        below, above, pending = self._venue.trigger_levels(symbol)
        if pending:
            nxt = i_now + 1
        elif below == -math.inf and above == math.inf:
            queue.drop(symbol)
            return
        else:
            known = self._found.get(symbol)
            if known is not None and known[:2] == (below, above) and (known[2] < 0 or known[2] > i_now):
                nxt = known[2]  # the same levels: the first bar that reaches them is unchanged
            else:
                nxt = _next_trigger(bars, i_now + 1, below, above)
                self._found[symbol] = (below, above, nxt)
        if nxt < 0 or nxt >= len(bars):
            queue.drop(symbol)
            return
        queue.put(symbol, int(self.timeline.pos_of[symbol][nxt]), nxt)

    def _decision(self, symbol: str, i: int, now: datetime, votes: Mapping[str, FloatArray],
                  explainers: Mapping[str, Callable[[int], str]], score: FloatArray,
                  target: FloatArray, ideas: Sequence[TradeIdea] = ()) -> EnsembleDecision:
        """The ensemble decision at bar i from the precomputed arrays (what `decide` gives live)."""
        signals = [strategy_vote(name, symbol, float(arr[i]), explainers[name](i), now)
                   for name, arr in votes.items()]
        signals.extend(idea_signal(idea) for idea in ideas)
        return decision_from(symbol, now, float(score[i]), float(target[i]), tuple(signals))

    async def _replay_news(self) -> dict[str, list[TradeIdea]]:
        """Each news item through the intelligence layer at its published time, with only the
        bars that had closed by then: the ideas, per symbol (look-ahead safe)."""
        stage = self.engine.intelligence
        if not self.news or stage is None:
            return {}
        out: dict[str, list[TradeIdea]] = {}
        for item in self.news:
            now = item.published
            self._set_clock(now)
            market = {symbol: window for symbol, bars in self.data.items()
                      if len(window := self._closed_window(bars, now))}
            events = await stage.ingest([item], now)
            if not events:
                continue
            for idea in await stage.analyze(events, now, market):
                out.setdefault(idea.symbol, []).append(idea)
        return out

    def _closed_window(self, bars: BarArrays, now: datetime) -> BarArrays:
        """The trailing window of bars that had closed by `now` (a bar closes one period after
        it opens)."""
        period = int(np.median(np.diff(bars.ts[:100]))) if len(bars) > 1 else 0
        end = int(np.searchsorted(bars.ts, datetime_to_ns(now) - period, side="right"))
        return bars.slice(max(0, end - self.window), end)

    def _idea_votes(self, symbol: str, ideas: Sequence[TradeIdea]) -> FloatArray | None:
        """The analyst voter's array: at each bar the mean score x confidence of the ideas made at
        or before it and no older than the idea TTL; NaN where none is live."""
        if not ideas:
            return None
        ts = self.data[symbol].ts
        ttl = int(self.engine.ensemble.idea_ttl_seconds * 1e9)
        total = np.zeros(ts.shape[0] + 1)
        count = np.zeros(ts.shape[0] + 1)
        for idea in ideas:
            made = datetime_to_ns(idea.ts)
            first = int(np.searchsorted(ts, made, side="left"))
            last = int(np.searchsorted(ts, made + ttl, side="right"))
            value = self.engine.ensemble.idea_value(idea_signal(idea))
            total[first] += value
            total[last] -= value
            count[first] += 1
            count[last] -= 1
        total, count = np.cumsum(total)[:-1], np.cumsum(count)[:-1]
        votes = np.full(ts.shape[0], np.nan)
        live = count > 0.5
        votes[live] = total[live] / count[live]
        return votes

    def _live_ideas(self, ideas: Sequence[TradeIdea], now: datetime) -> list[TradeIdea]:
        ttl = self.engine.ensemble.idea_ttl_seconds
        return [i for i in ideas if 0.0 <= (now - i.ts).total_seconds() <= ttl]

    @staticmethod
    def _trades(recorder: RunRecorder, tl: _Timeline) -> list[BacktestTrade]:
        """The round trips the engine closed, as it recorded them, with their timeline bars."""
        closed: list[ClosedTrade] = [o["trade"] for o in recorder.recorded_outcomes()]
        if not closed:
            return []
        entries = np.searchsorted(tl.index, [datetime_to_ns(t.entry_time) for t in closed])
        exits = np.searchsorted(tl.index, [datetime_to_ns(t.exit_time) for t in closed])
        return [BacktestTrade(t, int(e), int(x))
                for t, e, x in zip(closed, entries.tolist(), exits.tolist(), strict=True)]

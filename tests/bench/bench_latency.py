"""Latency of the live path and the catalogue's read speed. Prints figures; asserts nothing.

    .venv/bin/python tests/bench/bench_latency.py

1. market data → decision: the full engine as `robo-tui` wires it (paper broker, sample news, the
   `rules` analyst, the default strategies and risk limits) over 8 symbols of the simulated market;
   from the moment the feed hands over a cycle's bars and quotes to each symbol's ensemble
   decision (`SignalsComputed`) and to each proposal (`ProposalCreated`), per cycle;
2. quote → protective exit: a held position with its stop; a quote through the stop arrives and
   the time to the stop's exit being executed and booked (`OrderFilled`, reason stop_loss) is
   taken (the paper venue holds the stop in process, so "sent" and "filled" are one step);
3. the catalogue: bars/s from Parquet into the engine's arrays (`catalogue_bars`: read, validate,
   BarArrays) and on through a whole backtest on them, with pyarrow's bare `read_table` of the
   same files in the same run as the peer (the floor of any Parquet reader).

Clock: a `SimClock` advanced one bar per cycle, so only the engine's own work is timed (no
sleeping, no network). Target: p99 under 50 ms for both latencies with the rules analyst.
"""

from __future__ import annotations

import asyncio
import os
import platform
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from robo_tui.adapters.feeds.sim import SimulatedMarket
from robo_tui.config import Settings
from robo_tui.domain.events import Event, OrderFilled, ProposalCreated, SignalsComputed
from robo_tui.domain.market import Bar, BarArrays, Quote
from robo_tui.domain.orders import OrderIntent, Side
from robo_tui.domain.risk import Mode
from robo_tui.engine.clock import SimClock
from robo_tui.engine.engine import Engine
from robo_tui.wiring import build_engine, with_overrides

START = datetime(2026, 1, 5, 14, 30, tzinfo=UTC)  # a Monday, the US open
CYCLES = 300
WARMUP_CYCLES = 5
"""Cycles run before timing starts: the first loads the exchange calendar (~2 s, once a run)."""
EXITS = 200


class TimedFeed:
    """The simulated market behind the `MarketFeed` port, noting when each batch is handed over;
    `script` holds quotes to hand over next instead of the market's own."""

    simulated = True
    supports_streaming = True

    def __init__(self, inner: SimulatedMarket) -> None:
        self.inner = inner
        self.name = inner.name
        self.arrived = 0.0
        self.script: list[Quote] = []

    async def connect(self) -> None:
        await self.inner.connect()

    async def close(self) -> None:
        await self.inner.close()

    async def history(self, symbol: str, bars: int) -> BarArrays:
        return await self.inner.history(symbol, bars)

    async def next_bars(self, now: datetime) -> list[Bar]:
        bars = await self.inner.next_bars(now)
        self.arrived = time.perf_counter()
        return bars

    async def quotes(self, now: datetime) -> list[Quote]:
        if self.script:
            out, self.script = self.script, []
            self.arrived = time.perf_counter()
            return out
        return await self.inner.quotes(now)


def rig(data_dir: Path, mode: Mode, **risk: float) -> tuple[Engine, TimedFeed, SimClock]:
    base = Settings()
    if risk:
        base = Settings.model_validate(base.model_dump() | {
            "risk": base.risk.model_dump() | risk})
    settings = with_overrides(base, mode=mode, analyst="rules")
    clock = SimClock(START)
    instruments = [i.to_instrument() for i in settings.universe.instruments]
    feed = TimedFeed(SimulatedMarket(instruments, seed=settings.feeds.seed,
                                     bar_seconds=settings.feeds.bar_seconds, clock=clock))
    engine = build_engine(settings, data_dir=data_dir, clock=clock, feed=feed)  # type: ignore[arg-type]
    return engine, feed, clock


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values), q)) * 1000.0


def line(label: str, values: list[float]) -> str:
    if not values:
        return f"{label:<44} no samples"
    return (f"{label:<44} n={len(values):>5}  p50 {pct(values, 50):7.2f} ms  p99 "
            f"{pct(values, 99):7.2f} ms  max {max(values) * 1000:7.2f} ms")


async def decisions(data_dir: Path) -> None:
    engine, feed, clock = rig(data_dir, Mode.AUTO)
    first: list[float] = []
    every: list[float] = []
    proposals: list[float] = []
    seen_this_cycle = [False]

    def on_event(event: Event) -> None:
        lag = time.perf_counter() - feed.arrived
        if engine.cycle <= WARMUP_CYCLES:
            return
        if isinstance(event, SignalsComputed):
            every.append(lag)
            if not seen_this_cycle[0]:
                first.append(lag)
                seen_this_cycle[0] = True
        elif isinstance(event, ProposalCreated):
            proposals.append(lag)

    engine.bus.subscribe(on_event)
    await engine.start()
    try:
        for _ in range(WARMUP_CYCLES + CYCLES):
            clock.advance(engine.settings.feeds.bar_seconds)
            seen_this_cycle[0] = False
            await engine.run_cycle()
    finally:
        await engine.stop()
    symbols = len(engine.symbols)
    print(f"market data → decision, {symbols} symbols, {CYCLES} cycles, rules analyst, AUTO mode:")
    print("  " + line("first symbol's decision", first))
    print("  " + line(f"every decision (all {symbols} symbols)", every))
    print("  " + line("proposal created", proposals))


async def protective_exits(data_dir: Path) -> None:
    # no re-entry cooldowns: each round trip re-enters the symbol it was just stopped out of
    engine, feed, clock = rig(data_dir, Mode.PAPER, cooldown_after_exit_seconds=0.0,
                              cooldown_after_loss_seconds=0.0)
    exits: list[float] = []
    refused: dict[str, int] = {}

    def on_event(event: Event) -> None:
        if isinstance(event, OrderFilled) and event.fill.reason == "stop_loss":
            exits.append(time.perf_counter() - feed.arrived)

    engine.bus.subscribe(on_event)
    await engine.start()
    symbols = [s for s in engine.symbols if engine.instruments[s].asset_class.value == "crypto"]
    try:
        for n in range(EXITS):
            symbol = symbols[n % len(symbols)]
            clock.advance(10.0)  # within the gate's 10 orders a minute
            price = engine.prices[symbol]
            stop = price * 0.995
            qty = round(500.0 / price, 6)
            result = await engine.manual_order(OrderIntent(
                symbol, Side.BUY, qty, stop_loss=stop, take_profit=price * 1.05, reason="bench"))
            if not result.sent:
                why = "; ".join(r.code for r in result.verdict.reasons) or "not sent"
                refused[why] = refused.get(why, 0) + 1
                continue
            through = stop * 0.999
            feed.script = [Quote(symbol, clock.now(), through, through * 1.0002, through)]
            await engine.tick()
            # back to the market's level for the next entry
            feed.script = [Quote(symbol, clock.now(), price * 0.9999, price * 1.0001, price)]
            await engine.tick()
    finally:
        await engine.stop()
    print(f"quote → protective exit (stop filled and booked), {EXITS} round trips on "
          f"{', '.join(symbols)}:")
    print("  " + line("quote through the stop → OrderFilled", exits))
    if refused:
        print(f"  entries refused by the gate: {refused}")


def best_of(runs: int, fn: Callable[[], object]) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def catalogue(tmp: Path) -> None:
    import pyarrow.parquet as pq

    from robo_tui.backtest.runner import BacktestSpec, run_backtest
    from robo_tui.catalogue.reading import catalogue_bars
    from robo_tui.catalogue.store import Catalogue

    bars = 500_000
    rng = np.random.default_rng(3)
    close = 30_000.0 * np.exp(np.cumsum(rng.normal(0, 0.001, bars)))
    open_ = np.concatenate(([close[0]], close[:-1]))
    spread = np.abs(rng.normal(0, 0.0005, bars)) * close
    start = int(datetime(2024, 1, 1, tzinfo=UTC).timestamp()) * 10**9
    arrays = BarArrays("BTC-USD", start + np.arange(bars, dtype=np.int64) * 60 * 10**9, open_,
                       np.maximum(open_, close) + spread, np.minimum(open_, close) - spread,
                       close, rng.uniform(0.1, 5.0, bars))
    root = tmp / "catalogue"
    Catalogue(root).append("ccxt:bench", "BTC-USD", "1m", arrays)
    files = list(root.rglob("*.parquet"))
    read = best_of(3, lambda: catalogue_bars(root, "ccxt:bench", ["BTC-USD"], "1m"))
    raw = best_of(3, lambda: [pq.read_table(f) for f in files])
    data = catalogue_bars(root, "ccxt:bench", ["BTC-USD"], "1m")
    settings = Settings.model_validate({"universe": {"instruments": [
        {"symbol": "BTC-USD", "asset_class": "crypto"}]}})
    spec = BacktestSpec(cash=100_000.0, commission=0.0005, slippage_bps=1.0, compat=False)
    t = time.perf_counter()
    result, _ = asyncio.run(run_backtest(settings, data, spec))
    run = time.perf_counter() - t
    print(f"catalogue, 1 symbol x {bars:,} one-minute bars (best of 3 for the reads):")
    print(f"  catalogue_bars (read, validate, BarArrays)  {read * 1e3:8.1f} ms  "
          f"{bars / read / 1e6:6.2f} M bars/s")
    print(f"  peer: pyarrow.parquet.read_table (bare)     {raw * 1e3:8.1f} ms  "
          f"{bars / raw / 1e6:6.2f} M bars/s")
    print(f"  read + whole backtest through the engine    {(read + run) * 1e3:8.1f} ms  "
          f"{bars / (read + run):,.0f} bars/s ({result.proposals} proposals, "
          f"{len(result.trades)} trades)")


def main() -> None:
    print(f"robo-tui latency bench — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, Python "
          f"{platform.python_version()}, {os.cpu_count()} cores, {platform.machine()}, "
          f"load {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(decisions(Path(tmp) / "decisions"))
        asyncio.run(protective_exits(Path(tmp) / "exits"))
        catalogue(Path(tmp))
    print(f"target: p99 < 50 ms for both latencies; load now {os.getloadavg()[0]:.1f}, "
          f"{timedelta(seconds=round(time.process_time()))} CPU")


if __name__ == "__main__":
    main()

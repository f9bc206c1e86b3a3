"""News-to-idea latency with the rules analyst, and the stage's overhead per analyst call.

Runs the real pipeline (sanitise, map, dedup, classify, score, store in SQLite, publish; then
snapshot via `ta`, the rules analyst, validation, audit row, publish) on one fresh headline at a
time, with a new bar for its symbol each time so the snapshot is recomputed, and prints:

- news → idea (or recorded 'no trade') latency: median, p99, max (target: under 1 s);
- the split between ingest and analyze;
- the analyst call itself (model time) and the stage's overhead per call excluding it.

    .venv/bin/python tests/bench/bench_news.py [--items 300]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from robo_tui.adapters.store.sqlite import SqliteStore
from robo_tui.config import Settings
from robo_tui.domain.market import BarArrays
from robo_tui.domain.news import NewsItem
from robo_tui.domain.text import news_id
from robo_tui.domain.time import datetime_to_ns
from robo_tui.engine.bus import EventBus
from robo_tui.engine.clock import SimClock
from robo_tui.wiring import build_intelligence

TEMPLATES = [
    "{name} beats quarterly estimates as revenue jumps {n}%",
    "{name} misses estimates; shares tumble {n}% after hours",
    "Analyst upgrades {name} to overweight, raises price target by {n}%",
    "{name} to acquire rival for ${n} billion in all-cash deal",
    "Regulators open probe into {name}; shares slide {n}%",
    "{name} cuts full-year guidance on weak demand, sees {n}% drop",
    "Hackers exploit {name} bridge, ${n} million drained",
]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


async def main(n_items: int) -> None:
    settings = Settings()
    names = {i.symbol: i.name for i in settings.universe.instruments}
    symbols = list(names)
    start = datetime(2026, 1, 5, 14, 30, tzinfo=UTC)
    clock = SimClock(start)
    rng = np.random.default_rng(42)
    closes = {s: 100 * np.exp(np.cumsum(rng.normal(0, 0.01, 300))) for s in symbols}
    with tempfile.TemporaryDirectory() as tmp:
        store = SqliteStore(Path(tmp) / "bench.db")
        await store.open()
        stage = build_intelligence(settings, store, EventBus(), clock, sources=[])
        total: list[float] = []
        overhead: list[float] = []
        model: list[float] = []
        ingest_ms: list[float] = []
        analyze_ms: list[float] = []
        ideas = 0
        cold = 0.0
        for k in range(n_items + 1):
            # an hour apart, so a template repeats (every 56 items) outside the dedup window
            now = start + timedelta(hours=k)
            clock.set(now)
            symbol = symbols[k % len(symbols)]
            closes[symbol] = np.append(closes[symbol][1:], closes[symbol][-1] * (1 + rng.normal(0, 0.01)))
            c = closes[symbol]
            ts = datetime_to_ns(now) - np.arange(len(c), 0, -1, dtype=np.int64) * 60_000_000_000
            market = {symbol: BarArrays(symbol, ts, c, c * 1.003, c * 0.997, c, np.ones(len(c)))}
            title = TEMPLATES[k % len(TEMPLATES)].format(name=names[symbol], n=int(rng.integers(2, 90)))
            title += f" (story {k})"
            link = f"https://bench.example.com/{k}"
            item = NewsItem(id=news_id("bench", link), source="bench", title=title,
                            summary="Benchmark headline.", link=link, published=now, seen=now)
            t0 = time.perf_counter()
            events = await stage.ingest([item], now)
            t1 = time.perf_counter()
            out = await stage.analyze(events, now, market)
            t2 = time.perf_counter()
            if k == 0:  # first call: imports (ta, pandas, pydantic schema) and warm caches
                cold = (t2 - t0) * 1000
                continue
            if events and max(e.impact for e in events) >= settings.news.analyze_min_impact:
                [row] = await store.query(
                    "SELECT latency_ms FROM ai_decisions ORDER BY rowid DESC LIMIT 1")
                model.append(float(row["latency_ms"]))
                overhead.append((t2 - t1) * 1000 - float(row["latency_ms"]))
            ideas += len(out)
            ingest_ms.append((t1 - t0) * 1000)
            analyze_ms.append((t2 - t1) * 1000)
            total.append((t2 - t0) * 1000)
        decisions = await store.query("SELECT COUNT(*) AS n FROM ai_decisions")
        await stage.close()
        await store.close()

    print(f"items: {n_items}, ideas: {ideas}, recorded analyst calls: {decisions[0]['n']}")
    print(f"cold first item (imports, caches): {cold:.1f} ms")
    print(f"news -> idea latency, rules analyst: median {statistics.median(total):.2f} ms, "
          f"p99 {pct(total, 99):.2f} ms, max {max(total):.2f} ms (target < 1000 ms)")
    print(f"  ingest (clean, map, dedup, classify, store, publish): median "
          f"{statistics.median(ingest_ms):.2f} ms, p99 {pct(ingest_ms, 99):.2f} ms")
    print(f"  analyze (snapshot, analyst, validate, audit, publish): median "
          f"{statistics.median(analyze_ms):.2f} ms, p99 {pct(analyze_ms, 99):.2f} ms")
    print(f"analyst calls: {len(model)}; model time (rules analyst): median "
          f"{statistics.median(model):.3f} ms, p99 {pct(model, 99):.3f} ms")
    print(f"stage overhead per analyst call excluding model time (snapshot, request, validation, "
          f"audit row, events): median {statistics.median(overhead):.2f} ms, "
          f"p99 {pct(overhead, 99):.2f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=300)
    asyncio.run(main(parser.parse_args().items))

"""News → proposal latency through the whole engine with the rules analyst (issue 4's target:
a news item that reaches the pipeline becomes a proposal, or a recorded 'no trade', within 1 s).

A real engine (paper broker, SQLite store in a temp dir, the seeded simulated market on a
SimClock, the default rules analyst) takes N high-impact headlines one by one through
`intelligence.ingest` and `engine.react_to_events` (the engine's urgent path). Between items the
clock moves one minute and a full cycle runs (untimed), so every item meets a new bar, a fresh
market snapshot and whatever positions the strategies hold by then.

The clock for one item runs from just before `ingest` to the first of:
- `ProposalCreated` for the analyst's idea (published by the engine's bus),
- the idea's ai_decisions outcome update to "no trade: ..." (ensemble unchanged, no opinion,
  position already matches),
- the ai_decisions row of an abstention (the analyst's own 'no trade', with its reason).
The store is the real `SqliteStore`; a subclass only notes when those writes have completed.

Printed: median, p99 and max of news → proposal/no-trade, the split into ingest and the urgent
path, the analyst call itself ("model time": the rules analyst's own work), and the analyst
overhead per call excluding model time, measured two ways (end to end minus model time, and the
pipeline's own per-call accounting from the analyst catalogue).

    .venv/bin/python tests/bench/bench_news_to_proposal.py [--items 200]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import tempfile
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from robo_tui.adapters.store.sqlite import SqliteStore
from robo_tui.config import load_settings
from robo_tui.domain.events import AnalystAbstained, Event, IdeaGenerated, ProposalCreated
from robo_tui.domain.news import NewsItem
from robo_tui.domain.text import news_id
from robo_tui.engine.clock import SimClock
from robo_tui.wiring import build_engine

TARGET_MS = 1000.0
START = datetime(2026, 1, 5, 14, 30, tzinfo=UTC)
TEMPLATES = (
    "{name} beats estimates and raises full-year guidance; shares soar {n}% to a record",
    "{name} to acquire rival in ${n} billion all-cash deal, biggest in its history",
    "{name} misses estimates and slashes guidance; shares plunge {n}% in worst day on record",
    "Hackers exploit {name} systems in massive breach; ${n} billion at risk, shares crash",
    "{name} withdraws full-year outlook in shock warning; shares plunge {n}% to record low",
)
ENV = {
    "ROBO_TUI_NEWS__SAMPLE": "false",
    # each one-minute item is its own story even when a template repeats
    "ROBO_TUI_NEWS__DEDUP_WINDOW_HOURS": "0.01",
}


class TimedStore(SqliteStore):
    """The SQLite store, noting when a 'no trade' reached the database (for the bench only)."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.done: dict[str, tuple[float, str]] = {}

    async def record_ai_decision(self, record: Mapping[str, Any]) -> str:
        decision_id = await super().record_ai_decision(record)
        if record.get("parsed") is None:
            reason = str(record.get("abstain_reason", ""))
            self.done.setdefault(decision_id, (time.perf_counter(), f"abstained: {reason}"))
        return decision_id

    async def update_ai_decision(self, decision_id: str, outcome: Mapping[str, Any]) -> None:
        await super().update_ai_decision(decision_id, outcome)
        text = str(outcome.get("outcome", ""))
        if text.startswith("no trade"):
            self.done.setdefault(decision_id, (time.perf_counter(), text))


def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def figures(values: list[float]) -> str:
    return (f"median {statistics.median(values):7.2f} ms  p99 {pct(values, 99):7.2f} ms  "
            f"max {max(values):7.2f} ms")


async def main(n_items: int) -> None:
    settings = load_settings(None, environ=ENV)
    names = {i.symbol: i.name for i in settings.universe.instruments}
    symbols = list(names)
    clock = SimClock(START)
    with tempfile.TemporaryDirectory() as tmp:
        store = TimedStore(Path(tmp) / "bench.sqlite3")
        engine = build_engine(settings, data_dir=Path(tmp), clock=clock, store=store)
        stage = engine.intelligence
        assert stage is not None
        current: list[str] = []  # decision ids of the item being timed

        def on_event(event: Event) -> None:
            if isinstance(event, IdeaGenerated | AnalystAbstained):
                current.append(event.decision_id)
            elif isinstance(event, ProposalCreated):
                for idea_id in event.proposal.idea_ids:
                    store.done.setdefault(idea_id, (time.perf_counter(), "proposal"))

        engine.bus.subscribe(on_event)
        await engine.start()
        total: list[float] = []
        ingest: list[float] = []
        urgent_path: list[float] = []
        model: list[float] = []
        overhead: list[float] = []
        by_outcome: dict[str, list[float]] = {}
        not_urgent = 0
        cold = 0.0
        for k in range(n_items + 1):
            clock.advance(60)
            await engine.run_cycle()  # a new bar, strategies, fills: not timed
            now = clock.now()
            symbol = symbols[k % len(symbols)]
            title = TEMPLATES[k % len(TEMPLATES)].format(name=names[symbol], n=12 + k % 60)
            link = f"https://bench.example.com/{k}"
            item = NewsItem(id=news_id("bench", link), source="bench", title=title,
                            summary=f"{names[symbol]} desk note.", link=link, published=now,
                            seen=now)
            current.clear()
            t0 = time.perf_counter()
            events = await stage.ingest([item], now)
            t1 = time.perf_counter()
            await engine.react_to_events(events, now)
            t2 = time.perf_counter()
            if not events or not stage.is_urgent(events[0]):
                not_urgent += 1
                continue
            [decision] = current  # one symbol per item: one analyst call
            end, outcome = store.done[decision]
            [row] = await store.query("SELECT extra FROM ai_decisions WHERE id = ?", (decision,))
            call_ms = float(json.loads(row["extra"])["call_ms"])
            if k == 0:  # the first item pays for imports (ta, pandas) and warm caches
                cold = (end - t0) * 1000
                continue
            by_outcome.setdefault(outcome.split(":")[0], []).append((end - t0) * 1000)
            total.append((end - t0) * 1000)
            ingest.append((t1 - t0) * 1000)
            urgent_path.append((t2 - t1) * 1000)
            model.append(call_ms)
            overhead.append((end - t0) * 1000 - call_ms)
        telemetry = next(p["telemetry"] for p in stage.catalogue()["providers"]
                         if p["name"] == "rules")
        await engine.stop()

    print(f"news → proposal / recorded no-trade, rules analyst, full engine "
          f"(Python {platform.python_version()}, {platform.machine()})")
    print(f"items: {n_items} timed (+1 cold), urgent: {len(total)}, not urgent: {not_urgent}; "
          f"outcomes: {', '.join(f'{k} {len(v)}' for k, v in sorted(by_outcome.items()))}")
    print(f"cold first item (imports, caches): {cold:.1f} ms")
    print(f"news → proposal or no-trade:   {figures(total)}   (target < {TARGET_MS:.0f} ms: "
          f"{'met' if max(total) < TARGET_MS else 'MISSED'})")
    for kind, values in sorted(by_outcome.items()):
        print(f"  ending in {kind + ':':<12} {figures(values)}")
    print(f"  ingest (clean, map, dedup, classify, score, store, publish): {figures(ingest)}")
    print(f"  urgent path (react_to_events, to its return incl. settle): {figures(urgent_path)}")
    print(f"model time (the rules analyst's call):  {figures(model)}")
    print(f"analyst overhead per call excluding model time (end to end): {figures(overhead)}")
    print(f"pipeline's own per-call overhead (snapshot, request, validation, audit row, events): "
          f"p50 {telemetry.get('stage_overhead_ms_p50', 0.0):.2f} ms, "
          f"p99 {telemetry.get('stage_overhead_ms_p99', 0.0):.2f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--items", type=int, default=200)
    asyncio.run(main(parser.parse_args().items))

"""Bounded growth: the console's memory and the database's size over a long session. Figures only.

Run `.venv/bin/python tests/bench/bench_soak.py [--cycles 720] [--every 60]`. The real `RoboApp`
around the real engine (simulated market, paper broker, SQLite in a temporary data dir, sample
news, the rules analyst) runs `cycles` engine cycles back to back, an hour of a default session's
cycles (5 s each) by default, compressed in time. Every `every` cycles it prints the process's
resident memory (VmRSS) and the database's size, then:

- the RSS growth over the second half of the run (a console whose memory levels off grows ~0 there),
- the database bytes per cycle and, at the default 5 s cycle, per day, before and after the retention
  pass (`storage.retention_days`) prunes the telemetry older than its horizon.

Without the retention pass (`retention_days = 0`, the behaviour before the policy) the database
grows by the printed bytes per cycle forever; with it, it levels off at the horizon's worth.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

from robo_tui.config import Settings
from robo_tui.engine.bus import EventBus
from robo_tui.engine.clock import WallClock
from robo_tui.engine.engine import Engine
from robo_tui.ui.app import RoboApp
from robo_tui.wiring import build_broker, build_feed, build_intelligence, build_store

CYCLES_PER_DAY = 86_400 / 5.0
"""Engine cycles in a day at the default `engine.cycle_seconds` (5 s)."""


def rss_kb() -> int:
    """The process's resident memory now (not the peak), in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def db_bytes(data_dir: Path) -> int:
    """The database and its WAL, in bytes."""
    return sum(p.stat().st_size for p in data_dir.glob("robo-tui.sqlite3*") if p.is_file())


def _engine(data_dir: Path) -> Engine:
    settings = Settings.model_validate({"engine": {"cycle_seconds": 0.01}})
    clock, bus = WallClock(), EventBus()
    store = build_store(data_dir)
    return Engine(settings, clock=clock, feed=build_feed(settings, clock),
                  broker=build_broker(settings, settings.engine.mode, clock), store=store,
                  intelligence=build_intelligence(settings, store, bus, clock), bus=bus)


async def soak(cycles: int, every: int) -> dict[str, Any]:
    """Run the console for `cycles` engine cycles; sample RSS and database size."""
    data_dir = Path(tempfile.mkdtemp(prefix="robo-bench-soak-"))
    engine = _engine(data_dir)
    app = RoboApp(engine, theme="robo-dark")
    samples: list[tuple[int, int, int]] = []
    async with app.run_test(size=(120, 40)) as pilot:
        await asyncio.wait_for(app.engine_started.wait(), 60)
        next_sample = 0
        while (done := engine.cycle) < cycles:
            if done >= next_sample:
                samples.append((done, rss_kb(), db_bytes(data_dir)))
                next_sample += every
            await pilot.pause(0.05)
        samples.append((engine.cycle, rss_kb(), db_bytes(data_dir)))
        pruned = await engine.store.prune_telemetry(engine.clock.now() + timedelta(seconds=1))
        await app.shutdown_engine()
    return {"samples": samples, "pruned": pruned, "data_dir": data_dir}


def report(result: dict[str, Any], cycles: int) -> None:
    """Print the samples and the growth figures."""
    samples: list[tuple[int, int, int]] = result["samples"]
    print(f"{'cycle':>7} {'RSS MiB':>9} {'DB MiB':>8}")
    for cycle, rss, size in samples:
        print(f"{cycle:>7} {rss / 1024:>9.1f} {size / 2**20:>8.2f}")
    half = next(s for s in samples if s[0] >= samples[-1][0] // 2)
    last = samples[-1]
    span = max(1, last[0] - half[0])
    rss_growth = (last[1] - half[1]) / 1024
    print(f"RSS growth over the second half ({half[0]}..{last[0]} cycles): {rss_growth:+.1f} MiB "
          f"({rss_growth / span * 720:+.1f} MiB per hour of 5 s cycles)")
    first = samples[1] if len(samples) > 2 else samples[0]  # after the first cycle's bulk (news)
    per_cycle = (last[2] - first[2]) / max(1, last[0] - first[0])
    print(f"database: {per_cycle / 1024:.2f} KiB per cycle = {per_cycle * CYCLES_PER_DAY / 2**20:.0f} "
          f"MiB per day at 5 s cycles after the first cycles")
    pruned = result["pruned"]
    kept = sum(pruned.values())
    print(f"retention pass at the end of the run pruned {kept} telemetry rows: "
          + ", ".join(f"{k} {v}" for k, v in sorted(pruned.items())))
    print(f"with retention_days = 3 (the default) the database levels off near "
          f"{per_cycle * CYCLES_PER_DAY * 3 / 2**20:.0f} MiB of telemetry plus the decision journal")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=720)
    parser.add_argument("--every", type=int, default=60)
    args = parser.parse_args()
    report(asyncio.run(soak(args.cycles, args.every)), args.cycles)


if __name__ == "__main__":
    main()

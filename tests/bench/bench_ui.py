"""Console under load: figures only, no thresholds.

Run `.venv/bin/python tests/bench/bench_ui.py [--seconds 10] [--rate 10000]`. It prints:

1. Load: the real `RoboApp` around the real engine (simulated market, paper broker, SQLite in a
   temporary data dir, sample news, the engine loop running) while a task in the app's loop
   publishes `rate` NewsReceived events a second on the engine's bus for `seconds` seconds:
   events absorbed by the console per second, keypress-to-handled latency (median, p99) measured
   with the pilot during the load, peak memory (max RSS), and whether every published event
   reached the audit log (the engine's EventRecorder writes each non-market event there).
2. Cold start: `robo-tui --data-dir D` under a pseudo-terminal at 120x40, from process start to
   the first full frame (every pane drawn) and to the first frame with live engine data; then
   ctrl+c and the exit code.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fcntl
import os
import re
import resource
import select
import statistics
import struct
import subprocess
import tempfile
import termios
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from textual.binding import Binding, BindingType

from robo_tui.config import Settings
from robo_tui.domain.events import NewsReceived
from robo_tui.domain.news import NewsItem
from robo_tui.engine.bus import EventBus
from robo_tui.engine.clock import WallClock
from robo_tui.engine.engine import Engine
from robo_tui.ui.app import RoboApp
from robo_tui.ui.widgets import EventFeed
from robo_tui.wiring import build_broker, build_feed, build_intelligence, build_store

REPO = Path(__file__).resolve().parents[2]


class BenchApp(RoboApp):
    """The console plus one key (f12) whose handler stamps the time it ran."""

    BINDINGS: ClassVar[list[BindingType]] = [
        *RoboApp.BINDINGS, Binding("f12", "bench_ping", show=False, priority=True)]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.handled_at: float | None = None

    def action_bench_ping(self) -> None:
        self.handled_at = time.perf_counter()


POOL = 4096
"""Distinct events published in turn: building them is the producer's cost, not the console's."""


def _pool() -> list[NewsReceived]:
    now = datetime.now(UTC)
    return [NewsReceived(ts=now, item=NewsItem(
        f"B-{i}", "bench", f"Benchmark headline {i} about AAPL and [markup]", "load test", "",
        now, now, ("AAPL",))) for i in range(POOL)]


def _engine(data_dir: Path, *, record: bool) -> Engine:
    """The engine `robo-tui` builds; `record=False` leaves out the audit recorder to show what
    the console alone can absorb."""
    settings = Settings()
    clock, bus = WallClock(), EventBus()
    store = build_store(data_dir)
    return Engine(settings, clock=clock, feed=build_feed(settings, clock),
                  broker=build_broker(settings, settings.engine.mode, clock), store=store,
                  intelligence=build_intelligence(settings, store, bus, clock), bus=bus,
                  record_events=record)


async def load(seconds: float, rate: int, *, record: bool = True) -> dict[str, Any]:
    """Publish `rate` events/s for `seconds` s inside the running console; measure it."""
    data_dir = Path(tempfile.mkdtemp(prefix="robo-bench-ui-"))
    engine = _engine(data_dir, record=record)
    app = BenchApp(engine, theme="robo-dark")
    published = 0
    latencies: list[float] = []
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    pool = _pool()
    publish = engine.bus.publish

    step = max(1, rate // 200)  # a producer yields often: at most 5 ms worth per turn

    async def publisher() -> None:
        nonlocal published
        start = time.perf_counter()
        end = start + seconds
        while (now := time.perf_counter()) < end:
            due = min(int((now - start) * rate), published + step)
            while published < due:
                publish(pool[published % POOL])
                published += 1
            await asyncio.sleep(0.005 if published >= int((now - start) * rate) else 0)

    async with app.run_test(size=(120, 40)) as pilot:
        await asyncio.wait_for(app.engine_started.wait(), 30)
        while engine.last_cycle is None:  # the first cycle (history, news, analysts) is done
            await pilot.pause(0.1)
        await pilot.pause(0.5)
        feed = app.main.query_one(EventFeed)
        feed.focus()
        absorbed_before = app.events_absorbed
        received_before = feed.received
        t0 = time.perf_counter()
        task = asyncio.get_running_loop().create_task(publisher())
        while not task.done():
            # the pilot's press() waits for the app to go idle, which a loaded app never does:
            # post the key the same way (App.simulate_key) and wait for its handler instead
            app.handled_at = None
            pressed = time.perf_counter()
            app.simulate_key("f12")
            while app.handled_at is None:
                await asyncio.sleep(0)
            latencies.append(app.handled_at - pressed)
            app.simulate_key("down")  # a pane key as well, so the load includes real work
            await asyncio.sleep(0.05)
        await task
        elapsed = time.perf_counter() - t0
        await pilot.pause(0.3)
        absorbed = app.events_absorbed - absorbed_before
        received = feed.received - received_before
        rss_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        await app.shutdown_engine()  # flush the audit log and close the database
    counted = await _count_bench_rows(data_dir) if record else None
    return {
        "published": published, "elapsed": elapsed, "absorbed": absorbed, "received": received,
        "latencies": latencies, "rss_before_kb": rss_before, "rss_peak_kb": rss_peak,
        "audit_rows": counted,
    }


async def _count_bench_rows(data_dir: Path) -> int:
    from robo_tui.adapters.store.sqlite import SqliteStore

    store = SqliteStore.for_data_dir(data_dir)
    await store.open()
    try:
        rows = await store.query("select count(*) as n from audit_log where kind = "
                                 "'event.NewsReceived' and payload like '%\"source\":\"bench\"%'")
        return int(rows[0]["n"])
    finally:
        await store.close()


_ANSI = re.compile(r"\x1b\[[0-9;?<>=]*[ -/]*[@-~]|\x1b[\]P^_][^\x07\x1b]*(\x07|\x1b\\)|\x1b.")


def cold_start(width: int = 120, height: int = 40, timeout: float = 20.0) -> dict[str, Any]:
    """`robo-tui` in a pty: seconds to the first full frame and to live data, then ctrl+c."""
    data_dir = tempfile.mkdtemp(prefix="robo-bench-cold-")
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", height, width, 0, 0))
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": str(width), "LINES": str(height)}
    exe = REPO / ".venv" / "bin" / "robo-tui"
    started = time.perf_counter()
    proc = subprocess.Popen([str(exe), "--data-dir", data_dir], stdin=slave, stdout=slave,
                            stderr=slave, env=env, close_fds=True, start_new_session=True)
    os.close(slave)
    text = ""
    first_frame = live = first_cpu = live_cpu = None
    try:
        while time.perf_counter() - started < timeout and live is None:
            ready, _, _ = select.select([master], [], [], 0.05)
            if not ready:
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            text += _ANSI.sub("", chunk.decode("utf-8", "replace"))
            now = time.perf_counter() - started
            if first_frame is None and all(t in text for t in ("Positions", "Event feed",
                                                               "Strategies", "Kill switch")):
                first_frame, first_cpu = now, _cpu_seconds(proc.pid)
            if first_frame is not None and live is None and "SIMULATED" in text:
                live, live_cpu = now, _cpu_seconds(proc.pid)
        os.write(master, b"\x03")  # ctrl+c: quit, the engine stops cleanly
        quit_at = time.perf_counter()
        deadline = quit_at + 15
        while proc.poll() is None and time.perf_counter() < deadline:
            ready, _, _ = select.select([master], [], [], 0.05)
            if ready:
                try:
                    os.read(master, 65536)
                except OSError:  # the console has given the terminal back
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        proc.wait(max(0.0, deadline - time.perf_counter()))
                    break
        code = proc.poll()
        quit_seconds = time.perf_counter() - quit_at if code is not None else None
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    return {"first_frame": first_frame, "live": live, "exit_code": code, "quit": quit_seconds,
            "first_cpu": first_cpu, "live_cpu": live_cpu}


def _cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system) a process has used so far: unlike wall time, not inflated
    when other work shares the machine."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def _report(result: dict[str, Any], rate: int, *, record: bool) -> None:
    lat = sorted(result["latencies"])
    p99 = lat[min(len(lat) - 1, round(0.99 * (len(lat) - 1)))]
    what = "engine with its audit recorder (the real system)" if record else \
        "engine without the audit recorder (what the console alone absorbs)"
    print(f"load, {what}:")
    print(f"  published {result['published']:,} events in {result['elapsed']:.2f} s "
          f"({result['published'] / result['elapsed']:,.0f}/s; target {rate:,}/s)")
    print(f"  absorbed by the console: {result['absorbed']:,} "
          f"({result['absorbed'] / result['elapsed']:,.0f}/s); feed received {result['received']:,}")
    print(f"  keypress → handled: median {_ms(statistics.median(lat))}, p99 {_ms(p99)}, "
          f"max {_ms(lat[-1])} over {len(lat)} presses")
    print(f"  peak memory (max RSS of the process so far): {result['rss_peak_kb'] / 1024:,.1f} MiB "
          f"(before this load {result['rss_before_kb'] / 1024:,.1f} MiB)")
    if result["audit_rows"] is not None:
        lost = result["published"] - result["audit_rows"]
        print(f"  audit log: {result['audit_rows']:,} of {result['published']:,} published events "
              f"recorded ({'none lost' if lost == 0 else f'{lost:,} LOST'})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rate", type=int, default=10_000)
    args = parser.parse_args()
    load1, load5, _ = os.getloadavg()
    print(f"machine: {os.cpu_count()} CPUs, load average {load1:.1f} (1 min) {load5:.1f} (5 min)"
          " — wall-clock figures grow with the load")

    for record in (True, False):
        result = asyncio.run(load(args.seconds, args.rate, record=record))
        _report(result, args.rate, record=record)

    cold = cold_start()
    first = cold["first_frame"]
    live = cold["live"]
    print("cold start (robo-tui in a pty, 120x40, from process start):")
    cpu = cold["first_cpu"]
    print(f"  first full frame: {_ms(first) if first is not None else 'not seen'}"
          + (f" (CPU {_ms(cpu)})" if cpu is not None else ""))
    cpu = cold["live_cpu"]
    print(f"  first frame with live engine data: {_ms(live) if live is not None else 'not seen'}"
          + (f" (CPU {_ms(cpu)})" if cpu is not None else ""))
    quit_s = cold["quit"]
    print(f"  ctrl+c → process exit: {_ms(quit_s) if quit_s is not None else 'still running'}, "
          f"exit code {cold['exit_code']}")


if __name__ == "__main__":
    main()

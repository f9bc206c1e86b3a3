"""Issue 13's "a kill between fill and protection ends protected after restart", in live mode
against the fake official Crypto Trading API.

A live engine runs in a child process (live_kill_child.py) and buys BTC-USD with a stop and a
target; the venue (the fake, in this process on 127.0.0.1) fills it and rests its stop-loss.
The child is killed (SIGKILL, the store's `ROBO_CRASH_AT_WRITE`) at each write boundary of that
order, after and in the middle of each write transaction, found by counting the writes of a
reference run like the crash harness does, so it dies between the venue filling the entry and
robo-tui recording the fill and its levels. A new engine then starts on the same data dir and
the same venue, and:

- the position is the venue's fill, recorded once (the fill while down, booked at start);
- it has its stop (the venue's stop-loss, one, resting) and its target (held by robo-tui, with
  the venue's stop as its OCO leg);
- no order was sent twice;
- a price through the target exits it through the gate, the stop is cancelled and nothing is
  left working; the journal holds one closed trade.

A kill before the order reached the venue leaves nothing: flat, nothing working, the order not
open in the journal.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from robo_tui.adapters.brokers.robinhood_crypto.broker import venue_client_id
from robo_tui.adapters.store.sqlite import CRASH_ENV, DB_FILENAME
from robo_tui.engine.clock import SimClock
from tests.conftest import FIXED_START

from .fake_robinhood_crypto import FakeCryptoApi
from .live_kill_child import DATA_DIR_ENV
from .test_protection_robinhood_crypto import live_engine

ROOT = Path(__file__).resolve().parents[3]
KILLED = -9
OPEN = ("open", "partially_filled")


@dataclass(frozen=True, slots=True)
class ChildRun:
    """What one child session said and how it ended."""

    code: int
    price: float
    lines: dict[str, str]


@pytest.fixture
async def api() -> AsyncIterator[FakeCryptoApi]:
    server = FakeCryptoApi(page_size=3)
    await server.start()
    yield server
    await server.stop()


async def run_child(api: FakeCryptoApi, data_dir: Path, crash: str) -> ChildRun:
    """One child session against `api`, killed at `crash`; what it printed and its exit code."""
    return await run_kill_child({
        "ROBO_TUI_BROKER__KIND": "robinhood_crypto",
        "ROBO_TUI_BROKER__ROBINHOOD_CRYPTO__API_KEY": api.api_key,
        "ROBO_TUI_BROKER__ROBINHOOD_CRYPTO__PRIVATE_KEY": api.private_key,
        "ROBO_TUI_BROKER__ROBINHOOD_CRYPTO__BASE_URL": api.base_url,
        "ROBO_TUI_BROKER__ROBINHOOD_CRYPTO__TIMEOUT_SECONDS": "2",
    }, data_dir, crash, lambda price: api.set_price("BTC-USD", price))


async def run_kill_child(broker_env: dict[str, str], data_dir: Path, crash: str,
                         set_price: Callable[[float], None]) -> ChildRun:
    """One child session (live_kill_child.py) on the broker `broker_env` configures, killed at
    `crash`; `set_price` gives the venue the child's price before it buys. What it printed and
    its exit code."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROBO_TUI_")}
    env.update({
        "PYTHONPATH": str(ROOT),
        "XDG_CONFIG_HOME": str(data_dir.parent / "xdg"),
        DATA_DIR_ENV: str(data_dir),
        CRASH_ENV: crash,
        "ROBO_TUI_ENGINE__LIVE_ENABLED": "true",
    })
    env.update(broker_env)
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.unit.brokers_live.live_kill_child", cwd=ROOT, env=env,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    assert child.stdin is not None and child.stdout is not None and child.stderr is not None
    lines: dict[str, str] = {}
    price = 0.0
    async with asyncio.timeout(120):
        first = (await child.stdout.readline()).decode()
        if first.startswith("price "):
            price = float(first.split()[1])
            set_price(price)
            child.stdin.write(b"go\n")
            await child.stdin.drain()
        out, err = await child.communicate()
    for line in out.decode().splitlines():
        key, _, value = line.partition(" ")
        lines[key] = value
    code = child.returncode
    assert code is not None
    assert code in (0, KILLED), f"child failed ({code}): {err.decode()[-3000:]}"
    return ChildRun(code, price, lines)


def boundaries_between(run: ChildRun) -> list[str]:
    """The write boundaries of a reference run's entry order, after and in the middle of each
    write transaction between its `writes-before` and `writes-after`."""
    assert run.code == 0 and run.lines["sent"], run
    before, after = int(run.lines["writes-before"]), int(run.lines["writes-after"])
    assert after > before, run
    return [f"{n}{kind}" for n in range(before + 1, after + 1) for kind in ("m", "")]


async def reference_boundaries(tmp_path: Path) -> list[str]:
    """The write boundaries of the child's entry order, after and in the middle of each write
    transaction, counted in a reference run that is not killed."""
    api = FakeCryptoApi(page_size=3)
    await api.start()
    try:
        run = await run_child(api, tmp_path / "reference", "1000000")
    finally:
        await api.stop()
    return boundaries_between(run)


def journalled_fills(data_dir: Path) -> int:
    """How many fills the journal holds (read before the restart books the missed ones)."""
    with sqlite3.connect(data_dir / DB_FILENAME) as db:
        return int(db.execute("SELECT count(*) FROM fills").fetchone()[0])


async def restart_and_check(api: FakeCryptoApi, data_dir: Path, price: float,
                            crash: str) -> bool:
    """Restart on `data_dir` against `api` after a kill at `crash`, check every promise of the
    issue, exit through the target; True when the venue had filled the entry and the journal
    had not recorded it (the kill fell between the fill and its protection)."""
    clock = SimClock(FIXED_START)
    missed = journalled_fills(data_dir) == 0
    buys = [o for o in api.orders.values() if o["side"] == "buy"]
    assert len(buys) <= 1, f"{crash}: the entry was sent twice"
    engine, feed = live_engine(api, clock, data_dir)
    await engine.start()
    try:
        if not buys:  # killed before the order reached the venue: nothing to protect
            assert engine.account.position_qty("BTC-USD") == pytest.approx(0.0)
            assert await engine.store.open_orders() == []
            assert engine.protection.levels == {}
            return False
        (entry,) = buys
        assert entry["state"] == "filled", crash
        rows = await engine.store.query(
            "select client_order_id, status from orders where reduce_only = 0")
        assert len(rows) == 1 and rows[0]["status"] == "filled", (crash, rows)
        coid = rows[0]["client_order_id"]
        assert venue_client_id(coid) == entry["client_order_id"], crash
        fills = await engine.store.query(
            "select qty from fills where client_order_id = ?", (coid,))
        assert [f["qty"] for f in fills] == [pytest.approx(0.01)], (crash, fills)
        assert engine.account.position_qty("BTC-USD") == pytest.approx(0.01), crash
        stops = [o for o in api.orders.values() if o["type"] == "stop_loss"]
        assert [s["state"] for s in stops] == ["open"], (crash, stops)
        level = engine.protection.levels.get("BTC-USD")
        assert level is not None, f"{crash}: the target was lost"
        assert (level.stop_held_by, level.target_held_by) == ("venue", "robo-tui"), crash
        assert level.target == pytest.approx(price * 1.05), crash
        assert level.qty == pytest.approx(0.01), crash
        assert level.oco and venue_client_id(level.oco) == stops[0]["client_order_id"], (
            crash, level.oco)
        assert [p.symbol for p in await engine.store.protective_levels()] == ["BTC-USD"]

        api.set_price("BTC-USD", price * 1.06)
        feed.factor = {"BTC-USD": 1.06}
        await engine.tick()
        await engine.settle(clock.now())
        assert engine.account.position_qty("BTC-USD") == pytest.approx(0.0), crash
        exits = await engine.store.query(
            "select reduce_only, status from orders where source = 'protection'")
        assert exits == [{"reduce_only": 1, "status": "filled"}], (crash, exits)
        assert [s["state"] for s in api.orders.values() if s["type"] == "stop_loss"] == [
            "canceled"], crash
        assert [o for o in api.orders.values() if o["state"] in OPEN] == [], crash
        assert len([o for o in api.orders.values() if o["side"] == "buy"]) == 1, crash
        assert engine.protection.levels == {}
        assert await engine.store.protective_levels() == []
        assert await engine.store.query("select count(*) n from trade_outcomes") == [{"n": 1}]
        return missed
    finally:
        await engine.stop()


async def test_kill_between_fill_and_protection_when_restarted_then_protected_and_exits_cleanly(
        tmp_path: Path) -> None:
    boundaries = await reference_boundaries(tmp_path)
    between = []
    for crash in boundaries:
        api = FakeCryptoApi(page_size=3)
        await api.start()
        try:
            data_dir = tmp_path / f"kill-{crash}"
            run = await run_child(api, data_dir, crash)
            assert run.code == KILLED, f"{crash}: the child was not killed"
            if await restart_and_check(api, data_dir, run.price, crash):
                between.append(crash)
        finally:
            await api.stop()
    # the kills the test is for: the venue had filled the entry, the journal had not its fill
    assert len(between) >= 2, (boundaries, between)
    print("killed between fill and record:", between, "of", boundaries)

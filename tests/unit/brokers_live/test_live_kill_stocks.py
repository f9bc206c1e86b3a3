"""Issue 13's "a kill between fill and protection ends protected after restart" for the two other
live venues, with the same child and harness as test_live_kill.py (Robinhood crypto):

- **IB** against the fake TWS (the real ib_async client): the entry is a bracket held at the
  venue (STP and LMT children in one OCA group); after the restart the children are adopted and
  a fill while down comes from IB's executions;
- **Robinhood stocks** against the fake Robinhood (robin_stocks): the stop is a GTC stop sell
  resting at the venue, the target is held by robo-tui; after the restart the orders are found
  by their ref_id.

A live engine in a child process buys AAPL with a stop and a target and is killed (SIGKILL,
the store's `ROBO_CRASH_AT_WRITE`) at the write boundaries between the venue filling the entry
and robo-tui recording it, plus one before the send. A new engine then starts on the same data
dir and the same venue, and per kill point: one entry at the venue; the journal's order FILLED
with the venue's fill; the position held; its stop resting at the venue; nothing duplicated; a
later exit (the price through the target) leaves nothing working, and a price through the old
stop afterwards never makes the account short.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import pytest

from robo_tui.adapters.brokers.ib import IbBroker
from robo_tui.adapters.brokers.robinhood import RobinhoodBroker, ref_id_for
from robo_tui.config import load_settings
from robo_tui.domain.risk import Mode
from robo_tui.engine.clock import SimClock
from robo_tui.engine.engine import Engine
from robo_tui.wiring import build_engine, with_overrides
from tests.conftest import FIXED_START
from tests.unit.engine.test_protection import MovableFeed

from .fake_robinhood import FakeRobinhood, redirect_robin_stocks
from .fake_tws import FakeTws
from .live_kill_child import QTY_ENV, RH_PORT_ENV, SYMBOL_ENV
from .test_live_kill import KILLED, ChildRun, boundaries_between, journalled_fills, run_kill_child

ACCOUNT = "DU1234567"
SYMBOL = "AAPL"
QTY = 5.0


def kill_points(reference: ChildRun) -> list[str]:
    """Every write boundary of the reference run's entry order: the first ones fall before the
    send (the intent being recorded), the middle ones between the venue's fill and the journal's
    record of it."""
    return boundaries_between(reference)


def live_engine(broker_env: dict[str, str], clock: SimClock, data_dir: Path) -> tuple[Engine, MovableFeed]:
    """The restarted engine: live mode on the broker `broker_env` configures, fed by a market the
    test can move (built like the child's)."""
    settings = with_overrides(load_settings(None, environ={
        "ROBO_TUI_ENGINE__LIVE_ENABLED": "true", **broker_env}), mode=Mode.LIVE)
    engine = build_engine(settings, data_dir=data_dir, clock=clock, intelligence=False)
    instruments = [i.to_instrument() for i in settings.universe.instruments]
    feed = MovableFeed(instruments, seed=settings.feeds.seed,
                       bar_seconds=settings.feeds.bar_seconds, clock=clock)
    feed.factor = {}
    engine.feed = feed
    return engine, feed


async def journal_entry(engine: Engine, crash: str, venue_price: float) -> str:
    """The journal's one entry order: FILLED, with one fill of the venue's quantity at the
    venue's price; its id."""
    rows = await engine.store.query(
        "select client_order_id, status from orders where reduce_only = 0")
    assert len(rows) == 1 and rows[0]["status"] == "filled", (crash, rows)
    coid = str(rows[0]["client_order_id"])
    fills = await engine.store.query("select qty, price from fills where client_order_id = ?",
                                     (coid,))
    assert [(f["qty"], f["price"]) for f in fills] == [
        (pytest.approx(QTY), pytest.approx(venue_price))], (crash, fills)
    assert engine.account.position_qty(SYMBOL) == pytest.approx(QTY), crash
    return coid


# ---------------------------------------------------------------------------------------- IB


def ib_env(tws: FakeTws) -> dict[str, str]:
    return {"ROBO_TUI_BROKER__KIND": "ib", "ROBO_TUI_BROKER__IB__PORT": str(tws.port),
            "ROBO_TUI_BROKER__IB__TIMEOUT_SECONDS": "2"}


def ib_child_env(tws: FakeTws) -> dict[str, str]:
    return {**ib_env(tws), SYMBOL_ENV: SYMBOL, QTY_ENV: str(QTY)}


async def ib_restart_and_check(tws: FakeTws, data_dir: Path, price: float, crash: str) -> bool:
    """Restart on `data_dir` against `tws` after a kill at `crash` and check the promises; True
    when IB had filled the entry and the journal had not recorded it."""
    clock = SimClock(FIXED_START)
    missed = journalled_fills(data_dir) == 0
    entries = [o for o in tws.orders if o.parent_id == 0 and o.action == "BUY"]
    assert len(entries) <= 1, f"{crash}: the entry was sent twice"
    engine, feed = live_engine(ib_env(tws), clock, data_dir)
    assert isinstance(engine.broker, IbBroker)
    await engine.start()
    try:
        await tws.settle()
        if not entries:  # killed before the order reached IB: nothing to protect
            assert engine.account.position_qty(SYMBOL) == pytest.approx(0.0)
            assert await engine.store.open_orders() == []
            return False
        (entry,) = entries
        assert entry.status == "Filled", crash
        coid = await journal_entry(engine, crash, entry.avg_fill)
        assert entry.order_ref == coid, crash
        assert tws.position(ACCOUNT, SYMBOL) == pytest.approx(QTY), crash
        children = sorted((o.order_type, o.remaining) for o in tws.orders if o.active)
        assert children == [("LMT", QTY), ("STP", QTY)], (crash, children)  # adopted, not resent
        assert len([o for o in tws.orders if o.parent_id == 0]) == 1, crash
        (stop,) = [o for o in tws.orders if o.order_type == "STP"]
        (target,) = [o for o in tws.orders if o.order_type == "LMT"]
        assert stop.aux is not None and stop.aux < price < (target.lmt or 0.0), crash

        # the exit: the market trades through the target; IB fills it and cancels the stop (OCA)
        through = (target.lmt or 0.0) * 1.01
        tws.set_price(SYMBOL, through)
        feed.factor = {SYMBOL: through / price}
        await tws.settle()
        await engine.tick()
        await engine.settle(clock.now())
        await tws.settle()
        assert tws.position(ACCOUNT, SYMBOL) == pytest.approx(0.0), crash
        assert [o for o in tws.orders if o.active] == [], crash
        tws.set_price(SYMBOL, (stop.aux or 0.0) * 0.9)  # through the old stop: nothing fires
        await tws.settle()
        assert tws.position(ACCOUNT, SYMBOL) == pytest.approx(0.0), crash
        assert len([o for o in tws.orders if o.parent_id == 0]) == 1, crash
        return missed
    finally:
        await engine.stop()


async def test_ib_kill_between_fill_and_protection_when_restarted_then_bracket_adopted_and_exits_cleanly(
        tmp_path: Path) -> None:
    reference_tws = FakeTws()
    await reference_tws.start()
    try:
        reference = await run_kill_child(ib_child_env(reference_tws), tmp_path / "reference",
                                         "1000000",
                                         lambda p: reference_tws.set_price(SYMBOL, p))
    finally:
        await reference_tws.stop()
    points = kill_points(reference)
    between = []
    for crash in points:
        tws = FakeTws()
        await tws.start()
        try:
            run = await run_kill_child(ib_child_env(tws), tmp_path / f"kill-{crash}", crash,
                                       partial(tws.set_price, SYMBOL))
            assert run.code == KILLED, f"{crash}: the child was not killed"
            if await ib_restart_and_check(tws, tmp_path / f"kill-{crash}", run.price, crash):
                between.append(crash)
        finally:
            await tws.stop()
    assert between, (points, between)
    print("IB killed between fill and record:", between, "of", points)


# --------------------------------------------------------------------------- Robinhood stocks


def rh_env(server: FakeRobinhood) -> dict[str, str]:
    return {"ROBO_TUI_BROKER__KIND": "robinhood",
            "ROBO_TUI_BROKER__ROBINHOOD__USERNAME": server.username,
            "ROBO_TUI_BROKER__ROBINHOOD__PASSWORD": server.password,
            "ROBO_TUI_BROKER__ROBINHOOD__MFA_TOTP_SECRET": server.totp_seed or "",
            "ROBO_TUI_BROKER__ROBINHOOD__TIMEOUT_SECONDS": "3"}


def rh_child_env(server: FakeRobinhood) -> dict[str, str]:
    return {**rh_env(server), SYMBOL_ENV: SYMBOL, QTY_ENV: str(QTY), RH_PORT_ENV: str(server.port)}


def stock_orders(server: FakeRobinhood) -> list[dict[str, object]]:
    return list(server.orders.values())


async def rh_restart_and_check(server: FakeRobinhood, data_dir: Path, price: float,
                               crash: str) -> bool:
    """Restart on `data_dir` against `server` after a kill at `crash` and check the promises;
    True when Robinhood had filled the entry and the journal had not recorded it."""
    clock = SimClock(FIXED_START)
    missed = journalled_fills(data_dir) == 0
    buys = [o for o in stock_orders(server) if o["side"] == "buy"]
    assert len(buys) <= 1, f"{crash}: the entry was sent twice"
    engine, feed = live_engine(rh_env(server), clock, data_dir)
    assert isinstance(engine.broker, RobinhoodBroker)
    await engine.start()
    try:
        if not buys:  # killed before the order reached Robinhood: nothing to protect
            assert engine.account.position_qty(SYMBOL) == pytest.approx(0.0)
            assert await engine.store.open_orders() == []
            assert engine.protection.levels == {}
            return False
        (entry,) = buys
        assert entry["state"] == "filled", crash
        coid = await journal_entry(engine, crash, float(str(entry["average_price"])))
        assert entry["ref_id"] == ref_id_for(coid), crash
        stops = [o for o in stock_orders(server) if o.get("trigger") == "stop"]
        assert [(s["state"], float(str(s["quantity"]))) for s in stops] == [
            ("queued", QTY)], (crash, stops)
        level = engine.protection.levels.get(SYMBOL)
        assert level is not None, f"{crash}: the target was lost"
        assert (level.stop_held_by, level.target_held_by) == ("venue", "robo-tui"), crash
        assert level.qty == pytest.approx(QTY), crash
        assert level.target is not None and level.target > price, crash
        # the resting stop is this entry's (its OCO leg), not a second one refused by the venue
        assert level.oco == coid + ":sl", (crash, level.oco)
        assert engine.health.get("broker", (True, ""))[0], (crash, engine.health)

        # the exit: a price through the target; robo-tui sells through the gate, the stop first lifted
        through = level.target * 1.01
        server.set_price(SYMBOL, through)
        feed.factor = {SYMBOL: through / price}
        await engine.tick()
        await engine.settle(clock.now())
        assert engine.account.position_qty(SYMBOL) == pytest.approx(0.0), crash
        exits = await engine.store.query(
            "select reduce_only, status from orders where source = 'protection'")
        assert exits == [{"reduce_only": 1, "status": "filled"}], (crash, exits)
        assert [s["state"] for s in stock_orders(server) if s.get("trigger") == "stop"] == [
            "cancelled"], crash
        assert [o for o in stock_orders(server)
                if o["state"] in ("queued", "confirmed", "partially_filled")] == [], crash
        assert len([o for o in stock_orders(server) if o["side"] == "buy"]) == 1, crash
        assert engine.protection.levels == {}
        server.set_price(SYMBOL, float(str(stops[0]["stop_price"])) * 0.9)  # nothing fires
        assert (await engine.broker.account()).positions == {}, crash
        return missed
    finally:
        await engine.stop()


async def test_robinhood_stocks_kill_between_fill_and_protection_when_restarted_then_stop_found_and_exits_cleanly(
        tmp_path: Path) -> None:
    reference = FakeRobinhood()
    reference.start()
    try:
        run = await run_kill_child(rh_child_env(reference), tmp_path / "reference", "1000000",
                                   lambda p: reference.set_price(SYMBOL, p))
    finally:
        reference.stop()
    points = kill_points(run)
    between = []
    for crash in points:
        server = FakeRobinhood()
        server.start()
        try:
            with redirect_robin_stocks(server):
                killed = await run_kill_child(rh_child_env(server), tmp_path / f"kill-{crash}",
                                              crash, partial(server.set_price, SYMBOL))
                assert killed.code == KILLED, f"{crash}: the child was not killed"
                if await rh_restart_and_check(server, tmp_path / f"kill-{crash}", killed.price,
                                              crash):
                    between.append(crash)
        finally:
            server.release_hung()
            server.stop()
    assert between, (points, between)
    print("Robinhood stocks killed between fill and record:", between, "of", points)

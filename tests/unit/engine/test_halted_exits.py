"""HALTED stops the robot, not the trader: a trader's reduce-only exit goes through the gate
while halted, a strategy's order does not, and a "reduce-only" order never opens a position.
Also: the pre-send halt check reads the store only when something changed, and a broker's
immediate FILLED answer is journaled FILLED only with its fill."""

from __future__ import annotations

from pathlib import Path

from robo_tui.adapters.store.haltfile import write_halt_file
from robo_tui.adapters.store.memory import MemoryStore
from robo_tui.adapters.store.sqlite import SqliteStore
from robo_tui.domain.commands import SubmitOrder
from robo_tui.domain.control import JournaledCommand
from robo_tui.domain.orders import OrderIntent, OrderStatus, Side
from robo_tui.domain.risk import TradingState
from robo_tui.engine.clock import SimClock
from robo_tui.engine.control import PersistedControl
from tests.unit.engine.test_engine import make_engine


def _entry(engine_price: float, source: str = "ui", qty: float = 2) -> SubmitOrder:
    return SubmitOrder(OrderIntent("AAPL", Side.BUY, qty, stop_loss=engine_price * 0.9,
                                   take_profit=engine_price * 1.5, confidence=0.9), source)  # type: ignore[arg-type]


async def test_flatten_when_halted_by_f9_then_the_exit_goes_out_and_is_recorded(
        tmp_path: Path, clock: SimClock) -> None:
    engine = make_engine(tmp_path, clock)
    await engine.start()
    try:
        assert (await engine.submit(_entry(engine.prices["AAPL"]))).sent
        assert engine.account.position_qty("AAPL") == 2
        await engine.halt("kill switch", by="ui")
        result = await engine.flatten("AAPL", by="ui")
        assert result is not None and result.sent and result.verdict.allowed
        assert result.verdict.state is TradingState.HALTED
        assert result.ack is not None and result.ack.status is not OrderStatus.CANCELLED
        assert engine.account.position_qty("AAPL") == 0
        assert engine.state is TradingState.HALTED
        rows = await engine.store.query(
            "select allowed, state, source from risk_verdicts order by id desc limit 1")
        assert (rows[0]["allowed"], rows[0]["state"], rows[0]["source"]) == (1, "HALTED", "ui")
    finally:
        await engine.stop()


async def test_strategy_entry_or_exit_when_halted_then_still_denied(
        tmp_path: Path, clock: SimClock) -> None:
    engine = make_engine(tmp_path, clock)
    await engine.start()
    try:
        assert (await engine.submit(_entry(engine.prices["AAPL"]))).sent
        await engine.halt("kill switch", by="ui")
        entry = await engine.submit(_entry(engine.prices["AAPL"], source="strategy"))
        assert not entry.sent and "halted" in entry.verdict.codes
        exit_ = await engine.submit(SubmitOrder(
            OrderIntent("AAPL", Side.SELL, 2, reduce_only=True), "strategy"))
        assert not exit_.sent and "halted" in exit_.verdict.codes
        assert engine.account.position_qty("AAPL") == 2
    finally:
        await engine.stop()


async def test_reduce_only_sell_when_larger_than_the_position_and_halted_then_refused(
        tmp_path: Path, clock: SimClock) -> None:
    engine = make_engine(tmp_path, clock)
    await engine.start()
    try:
        assert (await engine.submit(_entry(engine.prices["AAPL"]))).sent
        await engine.halt("kill switch", by="ui")
        result = await engine.manual_order(
            OrderIntent("AAPL", Side.SELL, 5, reduce_only=True, reason="too big"), source="cli")
        assert not result.sent
        assert {"halted", "reduce_only_not_reducing"} <= set(result.verdict.codes)
        assert engine.account.position_qty("AAPL") == 2  # never a short
    finally:
        await engine.stop()


async def test_plain_sell_when_halted_then_denied_naming_the_reduce_only_way_out(
        tmp_path: Path, clock: SimClock) -> None:
    engine = make_engine(tmp_path, clock)
    await engine.start()
    try:
        assert (await engine.submit(_entry(engine.prices["AAPL"]))).sent
        await engine.halt("kill switch", by="ui")
        result = await engine.manual_order(OrderIntent("AAPL", Side.SELL, 1))
        assert not result.sent
        message = " ".join(r.message for r in result.verdict.reasons)
        assert "reduce-only" in message and "ctrl+r" in message
    finally:
        await engine.stop()


async def test_exit_judged_in_halted_when_a_shell_halt_also_waits_then_it_is_still_sent(
        tmp_path: Path, clock: SimClock) -> None:
    engine = make_engine(tmp_path, clock)
    await engine.start()
    try:
        assert (await engine.submit(_entry(engine.prices["AAPL"]))).sent
        await engine.halt("kill switch", by="ui")
        shell = SqliteStore(tmp_path / "robo.db")
        await shell.open()
        await shell.journal_command("halt", {"reason": "again"}, "cli")
        await shell.close()
        result = await engine.flatten("AAPL", by="ui")
        assert result is not None and result.ack is not None
        assert result.ack.status is not OrderStatus.CANCELLED
    finally:
        await engine.stop()


async def test_paper_fill_acked_at_once_then_journaled_submitted_until_its_fill_is_booked(
        tmp_path: Path, clock: SimClock) -> None:
    engine = make_engine(tmp_path, clock)
    await engine.start()
    try:
        command = _entry(engine.prices["AAPL"])
        now = engine.clock.now()
        result = await engine.orders.execute(command, engine.orders.judge(
            command, engine.risk_context(now)), now)
        assert result.ack is not None and result.ack.status is OrderStatus.FILLED
        cid = result.ack.client_order_id
        stored = await engine.store.get_order(cid)
        assert stored is not None and stored[1] is OrderStatus.SUBMITTED  # no fill booked yet
        await engine.settle(now)
        stored = await engine.store.get_order(cid)
        assert stored is not None and stored[1] is OrderStatus.FILLED
        fills = await engine.store.query("select count(*) n from fills where client_order_id = ?",
                                         (cid,))
        assert fills[0]["n"] == 1
    finally:
        await engine.stop()


class CountingStore(MemoryStore):
    """A memory store that counts how often the journal is read."""

    reads = 0

    async def pending_commands(self) -> list[JournaledCommand]:
        self.reads += 1
        return await super().pending_commands()


async def test_halt_waiting_when_nothing_changed_then_the_journal_is_not_read_again() -> None:
    store = CountingStore()
    control = PersistedControl(store)
    await control.restore()
    assert await control.halt_waiting() is None
    assert await control.halt_waiting() is None
    assert store.reads == 1
    await store.journal_command("halt", {"reason": "from cron"}, "cli")
    assert await control.halt_waiting() == "from cron"
    assert store.reads == 2


async def test_halt_waiting_when_only_a_halt_file_appears_then_it_is_seen(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "robo-tui.sqlite3")
    await store.open()
    try:
        control = PersistedControl(store)
        await control.restore()
        assert await control.halt_waiting() is None
        write_halt_file(tmp_path, "disk full", "cli")
        assert await control.halt_waiting() is not None
    finally:
        await store.close()


async def test_shell_cancel_when_the_engine_runs_then_the_working_limit_order_is_cancelled(
        tmp_path: Path, clock: SimClock) -> None:
    from robo_tui.domain.orders import OrderType

    engine = make_engine(tmp_path, clock)
    await engine.start()
    try:
        price = engine.prices["AAPL"]
        result = await engine.submit(SubmitOrder(OrderIntent(
            "AAPL", Side.BUY, 1, OrderType.LIMIT, limit_price=round(price * 0.8, 2),
            stop_loss=round(price * 0.7, 2), take_profit=round(price * 1.2, 2), confidence=0.9),
            "ui"))
        assert result.ack is not None and result.ack.status.is_open
        cid = result.ack.client_order_id
        assert cid in engine.orders.open_orders
        shell = SqliteStore(tmp_path / "robo.db")
        await shell.open()
        await shell.journal_command("cancel", {"order_id": cid}, "cli")
        await shell.close()
        await engine.tick()
        assert cid not in engine.orders.open_orders
        stored = await engine.store.get_order(cid)
        assert stored is not None and stored[1] is OrderStatus.CANCELLED
        assert engine.account.position_qty("AAPL") == 0
    finally:
        await engine.stop()

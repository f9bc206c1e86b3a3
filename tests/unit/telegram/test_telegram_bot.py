"""Approve and reject from the phone: the real python-telegram-bot against a local server that
speaks the Bot API, wired to a real engine (simulated market, paper broker, SQLite store)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from pydantic import SecretStr

from robo_tui.adapters.alerts.telegram_bot import TelegramBot
from robo_tui.config import Settings
from robo_tui.domain.risk import TradingState
from robo_tui.domain.signals import ProposalStatus
from robo_tui.engine.clock import SimClock
from robo_tui.engine.engine import Engine
from robo_tui.wiring import attach_outbound, build_engine
from tests.unit.telegram.fake_bot_api import FakeBotApi

TOKEN = "123456:AAtelegram-test-token"
TRADER = 111
STRANGER = 999


def telegram_settings(api: FakeBotApi, chats: tuple[int, ...] = (TRADER,)) -> Settings:
    return Settings.model_validate({
        "engine": {"mode": "semi-auto"},
        "telegram": {"enabled": True, "token": SecretStr(TOKEN), "chat_ids": list(chats),
                     "base_url": api.base_url, "base_file_url": api.base_file_url,
                     "poll_timeout_seconds": 1},
    })


async def started(api: FakeBotApi, tmp_path: Path, clock: SimClock,
                  chats: tuple[int, ...] = (TRADER,)) -> tuple[Engine, TelegramBot]:
    settings = telegram_settings(api, chats)
    engine = build_engine(settings, data_dir=tmp_path, clock=clock, intelligence=False)
    attach_outbound(engine, settings)
    bot = next(s for s in engine.services if isinstance(s, TelegramBot))
    await engine.start()
    async with asyncio.timeout(15):
        await bot.running.wait()
    return engine, bot


async def offered_proposal(engine: Engine, api: FakeBotApi) -> str:
    await engine.run_cycle()
    assert engine.pending, "the cycle proposed nothing to approve"
    sent = await api.wait_for("sendMessage")
    assert all(m["chat_id"] == TRADER for m in sent)
    buttons = sent[0]["reply_markup"]["inline_keyboard"][0]
    assert [b["text"] for b in buttons] == ["Approve", "Reject"]
    data = buttons[0]["callback_data"]
    assert data.startswith("approve:")
    proposal_id = data.removeprefix("approve:")
    assert proposal_id in engine.pending
    assert f"Proposal {proposal_id}:" in sent[0]["text"] and "pre-check: passes" in sent[0]["text"]
    assert "why: " in sent[0]["text"]
    return proposal_id


async def test_bot_when_approve_is_pressed_then_the_order_goes_through_the_gate_to_the_broker(
    tmp_path: Path, clock: SimClock,
) -> None:
    async with FakeBotApi(TOKEN) as api:
        engine, _ = await started(api, tmp_path, clock)
        try:
            pid = await offered_proposal(engine, api)
            api.press(TRADER, f"approve:{pid}")
            edited = await api.wait_for("editMessageText")
            assert f"approved by telegram:{TRADER}" in edited[0]["text"]
            assert api.sent("answerCallbackQuery")
            assert pid not in engine.pending
            row = await engine.store.get_proposal(pid)
            assert row is not None and row[1] is ProposalStatus.SUBMITTED
            verdicts = await engine.store.query(
                "SELECT client_order_id FROM risk_verdicts WHERE proposal_id = ? AND "
                "client_order_id IS NOT NULL", (pid,))
            assert len(verdicts) == 1  # judged by the gate, then sent
            orders = await engine.store.query(
                "SELECT symbol, source FROM orders WHERE client_order_id = ?",
                (verdicts[0]["client_order_id"],))
            assert len(orders) == 1  # the paper broker has the order
            assert orders[0]["source"] == "telegram"  # a phone's decision, not the console's
            decided = await engine.store.query(
                "SELECT decided_by FROM proposals WHERE id = ?", (pid,))
            assert decided[0]["decided_by"] == f"telegram:{TRADER}"
        finally:
            await engine.stop()


async def test_bot_when_reject_is_pressed_then_the_proposal_is_rejected_by_the_chat(
    tmp_path: Path, clock: SimClock,
) -> None:
    async with FakeBotApi(TOKEN) as api:
        engine, _ = await started(api, tmp_path, clock)
        try:
            pid = await offered_proposal(engine, api)
            api.press(TRADER, f"reject:{pid}")
            edited = await api.wait_for("editMessageText")
            assert f"rejected by telegram:{TRADER}" in edited[0]["text"]
            row = await engine.store.get_proposal(pid)
            assert row is not None and row[1] is ProposalStatus.REJECTED
            verdicts = await engine.store.query(
                "SELECT 1 FROM risk_verdicts WHERE proposal_id = ?", (pid,))
            assert verdicts == []  # no order was judged or sent for it
        finally:
            await engine.stop()


async def test_bot_when_a_stranger_presses_approve_or_sends_commands_then_nothing_answers(
    tmp_path: Path, clock: SimClock, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="robo_tui.adapters.alerts.telegram_bot")
    async with FakeBotApi(TOKEN) as api:
        engine, _ = await started(api, tmp_path, clock)
        try:
            pid = await offered_proposal(engine, api)
            await asyncio.sleep(1.5)  # every pending proposal offered
            offers = len(api.sent("sendMessage"))
            api.press(STRANGER, f"approve:{pid}")
            api.send_command(STRANGER, "/halt")
            api.send_command(STRANGER, "/status")
            api.send_command(TRADER, "/status")  # processed after the stranger's updates
            replies = await api.wait_for("sendMessage", count=offers + 1)
            await asyncio.sleep(0.2)
            assert len(replies) == offers + 1
            assert {m["chat_id"] for m in api.sent("sendMessage")} == {TRADER}
            assert replies[-1]["text"].startswith("SEMI-AUTO ACTIVE")
            assert api.sent("answerCallbackQuery") == [] and api.sent("editMessageText") == []
            assert pid in engine.pending
            assert engine.state is TradingState.ACTIVE
            strangers = [r for r in caplog.records if f"chat {STRANGER}" in r.getMessage()]
            assert len(strangers) == 3
        finally:
            await engine.stop()


async def test_bot_when_the_trader_sends_halt_then_resume_then_the_kill_switch_follows(
    tmp_path: Path, clock: SimClock,
) -> None:
    async with FakeBotApi(TOKEN) as api:
        engine, _ = await started(api, tmp_path, clock)
        try:
            api.send_command(TRADER, "/halt")
            replies = await api.wait_for("sendMessage")
            assert replies[0]["text"].startswith("HALTED by telegram:111")
            assert engine.state is TradingState.HALTED
            assert engine.control.state.halt_reason == f"halted from telegram:{TRADER}"
            for command in ("/positions", "/orders", "/resume"):
                api.send_command(TRADER, command)
            replies = await api.wait_for("sendMessage", count=4)
            assert "resumed by telegram:111" in replies[3]["text"]
            assert engine.state is not TradingState.HALTED
        finally:
            await engine.stop()


async def test_bot_when_one_configured_chat_blocked_the_bot_then_the_others_still_get_proposals(
    tmp_path: Path, clock: SimClock,
) -> None:
    blocked = 222
    async with FakeBotApi(TOKEN, blocked={blocked}) as api:
        engine, _ = await started(api, tmp_path, clock, chats=(TRADER, blocked))
        try:
            await engine.run_cycle()
            assert engine.pending
            sent = await api.wait_for("sendMessage", count=2 * len(engine.pending))
            assert {m["chat_id"] for m in sent} == {TRADER, blocked}
            offered = {m["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
                       for m in sent if m["chat_id"] == TRADER}
            assert offered == {f"approve:{pid}" for pid in engine.pending}
        finally:
            await engine.stop()


async def test_halted_when_a_telegram_trader_exits_then_the_reduce_only_order_passes_like_a_console_one(
    tmp_path: Path, clock: SimClock,
) -> None:
    from robo_tui.domain.orders import OrderIntent, Side

    engine = build_engine(Settings(), data_dir=tmp_path, clock=clock, intelligence=False)
    await engine.start()
    try:
        price = engine.account.prices["AAPL"]
        bought = await engine.manual_order(OrderIntent(
            "AAPL", Side.BUY, 4, stop_loss=price * 0.95, take_profit=price * 1.1))
        assert bought.sent, bought.verdict
        await engine.halt("kill switch", by="ui")
        assert engine.state is TradingState.HALTED
        exit_ = OrderIntent("AAPL", Side.SELL, 2, reduce_only=True)
        by_bot = await engine.manual_order(exit_, source="strategy")
        assert not by_bot.sent  # a strategy's exit waits for the trader while HALTED
        by_phone = await engine.manual_order(exit_, source="telegram")
        assert by_phone.sent, by_phone.verdict.reasons
        rows = await engine.store.query("SELECT source FROM orders WHERE side = 'sell'")
        assert [r["source"] for r in rows] == ["telegram"]
    finally:
        await engine.stop()

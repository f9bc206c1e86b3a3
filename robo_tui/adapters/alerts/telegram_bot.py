"""Approve and reject from the phone: a Telegram bot through python-telegram-bot (the 'telegram'
extra).

It shows each semi-auto proposal (rationale, sizing, pre-check) with Approve and Reject buttons,
and answers /status, /positions, /orders, /halt and /resume. Only the configured chat ids are
served: an update from anyone else gets no answer at all and is logged. Every action is a call
on the `RemoteControls` the wiring gives (the engine's own approval and kill-switch path), with
`by = "telegram:<chat id>"`; this module never imports the engine. Text from outside (the
rationale) is sent as plain text, never as markup. The Bot API's base URLs come from config, so
tests point them at a local server.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from robo_tui.domain.risk import RiskVerdict
from robo_tui.domain.signals import Proposal
from robo_tui.ports import RemoteControls

if TYPE_CHECKING:
    from telegram import Update
    from telegram.ext import Application, ContextTypes

log = logging.getLogger(__name__)

RETRY_SECONDS = 30.0
"""Wait before trying to reach the Bot API again after the bot could not start."""

COMMANDS = ("status", "positions", "orders", "halt", "resume", "help")

HELP = ("robo-tui: /status /positions /orders /halt /resume. "
        "Proposals waiting for approval arrive with Approve and Reject buttons.")


def proposal_text(proposal: Proposal, precheck: RiskVerdict) -> str:
    """The message that offers a proposal: what, how big, why, and the gate's pre-check."""
    p = proposal
    check = "passes" if precheck.allowed else "would be denied: " + "; ".join(
        r.message for r in precheck.reasons)
    stop = p.stop_loss if p.stop_loss is not None else "-"
    target = p.take_profit if p.take_profit is not None else "-"
    lines = [f"Proposal {p.id}: {p.side.value.upper()} {p.quantity:g} {p.symbol} @ {p.price:,.2f}",
             f"notional {p.notional:,.2f}, confidence {p.confidence:.2f}",
             f"stop {stop}, target {target}"]
    if p.close_quantity:
        lines.append(f"closes {p.close_quantity:g} of the opposite position first")
    if p.expires_at is not None:
        lines.append(f"expires {p.expires_at:%H:%M:%S}Z")
    lines += [f"pre-check: {check}", f"why: {p.rationale}"]
    return "\n".join(lines)


class TelegramBot:
    """The bot (a `Service` and a `ProposalChannel`): long-polls the Bot API in the engine's loop."""

    name = "telegram"

    def __init__(self, *, token: str, chat_ids: Sequence[int], controls: RemoteControls,
                 base_url: str = "https://api.telegram.org/bot",
                 base_file_url: str = "https://api.telegram.org/file/bot",
                 poll_timeout: int = 20) -> None:
        from telegram.ext import (
            Application,
            CallbackQueryHandler,
            CommandHandler,
            MessageHandler,
            filters,
        )

        self._chats = frozenset(chat_ids)
        self._controls = controls
        self._poll_timeout = poll_timeout
        self.app: Application[Any, Any, Any, Any, Any, Any] = (
            Application.builder().token(token).base_url(base_url).base_file_url(base_file_url)
            .get_updates_read_timeout(poll_timeout + 10).build())
        for command in COMMANDS:
            self.app.add_handler(CommandHandler(command, self._command))
        self.app.add_handler(CallbackQueryHandler(self._button))
        self.app.add_handler(MessageHandler(filters.ALL, self._other))
        self.app.add_error_handler(self._error)
        self._task: asyncio.Task[None] | None = None
        self.running = asyncio.Event()
        """Set once the bot is polling (tests wait on it)."""

    # ------------------------------------------------------------------ who may speak

    def _allowed(self, update: Update) -> int | None:
        """The chat id when it is configured; None (logged) for anyone else."""
        chat = update.effective_chat
        if chat is not None and chat.id in self._chats:
            return chat.id
        user = update.effective_user
        log.warning("telegram: ignored an update from chat %s (user %s): not in telegram.chat_ids",
                    chat.id if chat else "?", user.id if user else "?")
        return None

    # ------------------------------------------------------------------ handlers

    async def _command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        chat_id = self._allowed(update)
        message = update.effective_message
        if chat_id is None or message is None or not message.text:
            return
        by = f"telegram:{chat_id}"
        command = message.text.split()[0].lstrip("/").split("@")[0].lower()
        log.info("telegram: /%s from %s", command, by)
        c = self._controls
        answers = {"status": c.status, "positions": c.positions, "orders": c.orders}
        if command in answers:
            reply = await answers[command]()
        elif command == "halt":
            reply = await c.halt(by=by)
        elif command == "resume":
            reply = await c.resume(by=by)
        else:
            reply = HELP
        await message.reply_text(reply)

    async def _button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        chat_id = self._allowed(update)
        query = update.callback_query
        if chat_id is None or query is None:
            return
        action, _, proposal_id = (query.data or "").partition(":")
        by = f"telegram:{chat_id}"
        if action not in ("approve", "reject") or not proposal_id:
            await query.answer("unknown button")
            return
        log.info("telegram: %s %s from %s", action, proposal_id, by)
        await query.answer(f"{action}...")
        if action == "approve":
            outcome = await self._controls.approve(proposal_id, by=by)
        else:
            outcome = await self._controls.reject(proposal_id, by=by)
        original = query.message.text if query.message is not None and hasattr(query.message, "text") else ""
        await query.edit_message_text(f"{original}\n\n{outcome}".strip())

    async def _other(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        chat_id = self._allowed(update)
        if chat_id is not None and update.effective_message is not None:
            await update.effective_message.reply_text(HELP)

    async def _error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        log.error("telegram: %s", context.error)

    # ------------------------------------------------------------------ the channel

    async def offer(self, proposal: Proposal, precheck: RiskVerdict) -> None:
        """Send the proposal to every configured chat with Approve and Reject buttons."""
        from telegram import InlineKeyboardButton, InlineKeyboardMarkup

        buttons = InlineKeyboardMarkup([[
            InlineKeyboardButton("Approve", callback_data=f"approve:{proposal.id}"),
            InlineKeyboardButton("Reject", callback_data=f"reject:{proposal.id}"),
        ]])
        from telegram.error import TelegramError

        text = proposal_text(proposal, precheck)
        for chat_id in sorted(self._chats):  # one chat that cannot be reached does not stop the rest
            try:
                await self.app.bot.send_message(chat_id, text, reply_markup=buttons)
            except TelegramError as exc:
                log.warning("telegram: could not offer proposal %s to chat %s: %s",
                            proposal.id, chat_id, exc)

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Start polling in a task (a Bot API that cannot be reached is retried, never fatal)."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="telegram")

    async def _run(self) -> None:
        while True:
            try:
                await self.app.initialize()  # getMe
                await self.app.start()
                updater = self.app.updater
                assert updater is not None
                await updater.start_polling(poll_interval=0.0, timeout=self._poll_timeout,
                                            allowed_updates=["message", "callback_query"])
                self.running.set()
                log.info("telegram: bot @%s polling for %d chats", self.app.bot.username,
                         len(self._chats))
                return
            except Exception as exc:  # noqa: BLE001 - an unreachable Bot API is retried, never fatal
                log.error("telegram: could not start the bot: %s (retrying in %.0f s)",
                          exc, RETRY_SECONDS)
                with contextlib.suppress(Exception):
                    await self.app.shutdown()
                await asyncio.sleep(RETRY_SECONDS)

    async def stop(self) -> None:
        """Stop polling and close the bot's HTTP client; safe to call twice."""
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.running.is_set():
            self.running.clear()
            updater = self.app.updater
            with contextlib.suppress(Exception):
                if updater is not None and updater.running:
                    await updater.stop()
                if self.app.running:
                    await self.app.stop()
                await self.app.shutdown()


__all__ = ["COMMANDS", "TelegramBot", "proposal_text"]

"""A local server on 127.0.0.1 that speaks the Telegram Bot API's HTTP shapes, for the real
python-telegram-bot: `POST /bot<token>/<method>` with form fields (JSON-encoded values), answered
`{"ok": true, "result": ...}`. It serves getMe, deleteWebhook, getUpdates (a long poll over the
updates a test queues: messages with commands and callback queries), sendMessage,
answerCallbackQuery and editMessageText, and records every call."""

from __future__ import annotations

import asyncio
import itertools
import json
from dataclasses import dataclass, field
from typing import Any, Self

from aiohttp import web

BOT = {"id": 4242, "is_bot": True, "first_name": "robo", "username": "robo_tui_bot",
       "can_join_groups": False, "can_read_all_group_messages": False,
       "supports_inline_queries": False}


def _person(chat_id: int) -> dict[str, Any]:
    return {"id": chat_id, "is_bot": False, "first_name": f"trader{chat_id}"}


def _chat(chat_id: int) -> dict[str, Any]:
    return {"id": chat_id, "type": "private", "first_name": f"trader{chat_id}"}


@dataclass
class Call:
    """One Bot API call the bot made."""

    method: str
    params: dict[str, Any]


@dataclass
class FakeBotApi:
    """`async with FakeBotApi(token) as api:`; point PTB's base_url at `api.base_url`."""

    token: str
    calls: list[Call] = field(default_factory=list)
    blocked: set[int] = field(default_factory=set)
    """Chats that have blocked the bot: sendMessage to them is refused with 403."""
    port: int = 0
    _updates: list[dict[str, Any]] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _new: asyncio.Event = field(default_factory=asyncio.Event)
    _runner: web.AppRunner | None = None

    @property
    def base_url(self) -> str:
        """PTB's `base_url` (the token is appended by PTB)."""
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        """PTB's `base_file_url`."""
        return f"http://127.0.0.1:{self.port}/file/bot"

    # ------------------------------------------------------------------ what a test does

    def _push(self, update: dict[str, Any]) -> None:
        update["update_id"] = next(self._ids)
        self._updates.append(update)
        self._new.set()

    def send_command(self, chat_id: int, text: str) -> None:
        """A person in `chat_id` sends `/command`."""
        command = text.split()[0]
        self._push({"message": {
            "message_id": next(self._ids), "date": 1_767_600_000, "chat": _chat(chat_id),
            "from": _person(chat_id), "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": len(command)}]}})

    def press(self, chat_id: int, data: str, message: dict[str, Any] | None = None) -> str:
        """A person in `chat_id` presses an inline button carrying `data`; returns the query id."""
        query_id = f"cq{next(self._ids)}"
        msg = message or {"message_id": 1, "date": 1_767_600_000, "chat": _chat(chat_id),
                          "from": BOT, "text": "proposal"}
        self._push({"callback_query": {"id": query_id, "from": _person(chat_id),
                                       "chat_instance": f"ci{chat_id}", "data": data,
                                       "message": msg}})
        return query_id

    def sent(self, method: str) -> list[dict[str, Any]]:
        """The parameters of every call of `method`."""
        return [c.params for c in self.calls if c.method == method]

    async def wait_for(self, method: str, count: int = 1, timeout: float = 15.0) -> list[dict[str, Any]]:
        """Until the bot has called `method` `count` times."""
        async with asyncio.timeout(timeout):
            while len(self.sent(method)) < count:
                await asyncio.sleep(0.02)
        return self.sent(method)

    # ------------------------------------------------------------------ the Bot API

    async def _handle(self, request: web.Request) -> web.Response:
        token, method = request.match_info["token"], request.match_info["method"]
        if token != self.token:
            return web.json_response({"ok": False, "error_code": 401,
                                      "description": "Unauthorized"}, status=401)
        form = await request.post() if request.can_read_body else {}
        params: dict[str, Any] = {}
        for key, value in form.items():
            try:
                params[key] = json.loads(str(value))
            except ValueError:
                params[key] = str(value)
        if method != "getUpdates":
            self.calls.append(Call(method, params))
        if method == "sendMessage" and params.get("chat_id") in self.blocked:
            return web.json_response({"ok": False, "error_code": 403,
                                      "description": "Forbidden: bot was blocked by the user"},
                                     status=403)
        result = await self._answer(method, params)
        return web.json_response({"ok": True, "result": result})

    async def _answer(self, method: str, params: dict[str, Any]) -> Any:
        if method == "getMe":
            return BOT
        if method == "getUpdates":
            offset = int(params.get("offset", 0) or 0)
            timeout = min(float(params.get("timeout", 0) or 0), 1.0)
            pending = [u for u in self._updates if u["update_id"] >= offset]
            if not pending and timeout:
                self._new.clear()
                try:
                    async with asyncio.timeout(timeout):
                        await self._new.wait()
                except TimeoutError:
                    pass
                pending = [u for u in self._updates if u["update_id"] >= offset]
            return pending
        if method in ("sendMessage", "editMessageText"):
            chat_id = int(params.get("chat_id", 0))
            message = {"message_id": int(params.get("message_id", 0)) or next(self._ids),
                       "date": 1_767_600_000, "chat": _chat(chat_id), "from": BOT,
                       "text": str(params.get("text", ""))}
            if "reply_markup" in params:
                message["reply_markup"] = params["reply_markup"]
            return message
        return True  # deleteWebhook, answerCallbackQuery, setMyCommands, ...

    async def __aenter__(self) -> Self:
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._new.set()
        assert self._runner is not None
        await self._runner.cleanup()

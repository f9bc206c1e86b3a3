"""A local webhook server on 127.0.0.1 that Apprise's `json://` and `form://` URLs post to: it
records every request, and can hang (never answer) or fail (HTTP 500) the next N requests."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any, Self

from aiohttp import web


@dataclass
class Received:
    """One request the server answered 200."""

    path: str
    body: dict[str, Any]


@dataclass
class WebhookServer:
    """Start with `async with WebhookServer() as hook:`; `hook.port`, `hook.received`."""

    hang_next: int = 0
    fail_next: int = 0
    received: list[Received] = field(default_factory=list)
    requests: int = 0
    hung: int = 0
    port: int = 0
    _runner: web.AppRunner | None = None
    _release: asyncio.Event = field(default_factory=asyncio.Event)

    async def _handle(self, request: web.Request) -> web.Response:
        self.requests += 1
        text = await request.text()
        if self.hang_next > 0:
            self.hang_next -= 1
            self.hung += 1
            await self._release.wait()  # never answers while the test runs
            return web.Response(status=503)
        if self.fail_next > 0:
            self.fail_next -= 1
            return web.Response(status=500, text="boom")
        try:
            body = json.loads(text)
        except ValueError:
            body = dict(await request.post()) if not text else {"raw": text}
        self.received.append(Received(request.path, body))
        return web.json_response({"ok": True})

    async def __aenter__(self) -> Self:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._release.set()
        assert self._runner is not None
        await self._runner.cleanup()

    async def wait_for(self, count: int, timeout: float = 15.0) -> None:
        """Until `count` alerts have been received."""
        async with asyncio.timeout(timeout):
            while len(self.received) < count:
                await asyncio.sleep(0.02)

"""`robo-tui serve`: the same console in a browser, through textual-serve.

Each browser session runs the real console (`python -m robo_tui.cli` with the same config, data
dir and run options, hence the same engine wiring) in a subprocess whose screen textual-serve
streams to xterm.js. Access needs the random token printed at start: the page is served only with
`?token=...` in its URL, which also sets a same-site cookie the page's websocket carries; every
other request gets 403. A host that is not loopback is refused unless the trader passes
`--allow-remote` (the token then is all that stands between the network and the kill switch, and
the traffic is plain HTTP).

textual-serve is the optional extra `serve`; without it `robo-tui serve` is a usage error naming
the extra, never a traceback.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
import shlex
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from robo_tui.runtime import ExitCode, RunError

if TYPE_CHECKING:
    from aiohttp import web

__all__ = ["ServeOptions", "console_command", "is_loopback", "make_server", "serve_url"]

EXTRA_HINT = "pip install 'robo-tui[serve]'"
COOKIE = "robo_tui_token"


@dataclass(frozen=True, slots=True)
class ServeOptions:
    """Where to listen, who may connect, and the console each session runs."""

    host: str = "127.0.0.1"
    port: int = 8000
    allow_remote: bool = False
    token: str = ""
    console_args: tuple[str, ...] = ()


def is_loopback(host: str) -> bool:
    """Whether `host` only accepts connections from this machine (127.0.0.0/8, ::1, localhost)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_host(host: str, allow_remote: bool) -> None:
    """Refuse a non-loopback host unless the trader said `--allow-remote` explicitly."""
    if not is_loopback(host) and not allow_remote:
        raise RunError(
            f"refusing to serve the console on {host!r}: it is not a loopback address, so anyone "
            "who can reach it and learns the token could trade and halt. Use --host 127.0.0.1 "
            "(and an SSH tunnel), or pass --allow-remote to accept that risk.", ExitCode.USAGE)


def new_token() -> str:
    """A random URL-safe token (32 bytes of entropy)."""
    return secrets.token_urlsafe(32)


def serve_url(host: str, port: int, token: str) -> str:
    """The URL to open: the page with its token."""
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/?token={token}"


def console_command(args: Sequence[str]) -> str:
    """The shell command each browser session runs: this Python running the real console."""
    return " ".join(shlex.quote(part) for part in (sys.executable, "-m", "robo_tui.cli", *args))


def token_ok(given: str | None, token: str) -> bool:
    """Constant-time comparison of a presented token with the server's."""
    return given is not None and hmac.compare_digest(given.encode(), token.encode())


Handler = Callable[["web.Request"], Awaitable["web.StreamResponse"]]


def token_middleware(token: str) -> Any:
    """An aiohttp middleware: the index needs `?token=` (and gets the session cookie); the
    websocket and downloads need the cookie or the query token and, when the browser sends an
    Origin, one that names this very host (no cross-site websocket). Static files (xterm.js,
    fonts) are public."""
    from aiohttp import web

    @web.middleware
    async def check(request: web.Request, handler: Handler) -> web.StreamResponse:
        path = request.path
        if path.startswith("/static/"):
            return await handler(request)
        query = request.query.get("token")
        if path == "/":
            if not token_ok(query, token):
                raise web.HTTPForbidden(text="robo-tui: open the URL printed by `robo-tui serve` "
                                        "(with its ?token=...)")
            response = await handler(request)
            response.set_cookie(COOKIE, token, httponly=True, samesite="Strict", path="/")
            response.headers["Cache-Control"] = "no-store"
            response.headers["Referrer-Policy"] = "no-referrer"
            return response
        if not (token_ok(query, token) or token_ok(request.cookies.get(COOKIE), token)):
            raise web.HTTPForbidden(text="robo-tui: missing or wrong token")
        origin = request.headers.get("Origin")
        if origin is not None and urlsplit(origin).netloc != request.host:
            raise web.HTTPForbidden(text="robo-tui: cross-origin request refused")
        return await handler(request)

    return check


def make_server(options: ServeOptions) -> Any:
    """A textual-serve `Server` that runs the console for each session behind the token.

    Raises RunError (exit 2) naming the `serve` extra when textual-serve is not installed.
    """
    try:
        from textual_serve.server import Server
    except ImportError as exc:
        raise RunError(f"serving in a browser needs the optional extra 'serve' ({exc.name} is "
                       f"missing): {EXTRA_HINT}", ExitCode.USAGE) from None

    class TokenServer(Server):  # type: ignore[misc]  # textual-serve ships no stubs for mypy
        """textual-serve's Server with the token check in front of every route."""

        async def _make_app(self) -> web.Application:
            app: web.Application = await super()._make_app()
            app.middlewares.append(token_middleware(options.token))
            return app

        async def on_startup(self, app: web.Application) -> None:
            self.console.print(f"robo-tui console in a browser: {serve_url(options.host, options.port, options.token)}",
                               highlight=False, soft_wrap=True)
            self.console.print("Keep this URL private: its token is the key. Ctrl+C stops serving.",
                               highlight=False)

    return TokenServer(console_command(options.console_args), host=options.host, port=options.port,
                       title="robo-tui")


def console_args(*, config: Path | None, data_dir: Path, mode: str | None, analyst: str | None,
                 news: Sequence[str], theme: str | None, confirm_live: bool) -> tuple[str, ...]:
    """The `robo-tui` options a served session passes to its console, so it opens the same data
    dir with the same settings as `robo-tui` would."""
    args: list[str] = ["--data-dir", str(data_dir.resolve())]
    if config is not None:
        args += ["--config", str(config.resolve())]
    if mode is not None:
        args += ["--mode", mode]
    if analyst is not None:
        args += ["--analyst", analyst]
    for source in news:
        args += ["--news", source]
    if theme is not None:
        args += ["--theme", theme]
    if confirm_live:
        args.append("--confirm-live")
    return tuple(args)

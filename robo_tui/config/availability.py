"""Whether every extension the settings name can be built on this machine.

A configured broker, feed, analyst or news source whose module or optional extra is missing is a
config problem naming the extra to install (`pip install 'robo-tui[ib]'`), found when the config
is loaded (so `config check`, the console and `--headless` all refuse it with exit 2), never a
traceback when the engine first reaches for the package. One check for every registry: each
entry already names its extra.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator

from robo_tui.config.models import Settings
from robo_tui.registries.analysts import ANALYSTS, CHAIN
from robo_tui.registries.base import install_hint
from robo_tui.registries.brokers import BROKERS
from robo_tui.registries.feeds import FEEDS
from robo_tui.registries.news import NEWS_SOURCES

Location = tuple[str | int, ...]


def unavailable_extensions(settings: Settings) -> Iterator[tuple[Location, str]]:
    """The key of each configured extension that cannot be built here, with the reason."""
    wanted: list[tuple[Location, str | None]] = [
        (("broker", "kind"), BROKERS.missing(settings.broker.kind)),
        (("feeds", "kind"), FEEDS.missing(settings.feeds.kind)),
        (("analysts", "provider"), ANALYSTS.missing(settings.analysts.provider)),
    ]
    if settings.analysts.provider == CHAIN:
        wanted += [(("analysts", "auto_order", i), ANALYSTS.missing(name))
                   for i, name in enumerate(settings.analysts.auto_order)]
    wanted += [(("news", "sources", i, "kind"), NEWS_SOURCES.missing(source.kind))
               for i, source in enumerate(settings.news.sources) if source.enabled]
    if settings.backtest.cluster and importlib.util.find_spec("distributed") is None:
        wanted.append((("backtest", "cluster"),
                       "a Dask cluster needs dask.distributed: pip install 'robo-tui[cluster]'"))
    wanted += list(_outbound_problems(settings))
    for loc, reason in wanted:
        if reason is not None:
            yield loc, reason


def _missing_extra(what: str, module: str, extra: str) -> str | None:
    """Why `what` cannot run here (its extra's `module` is not installed), or None."""
    if importlib.util.find_spec(module) is not None:
        return None
    return f"{what} needs the optional extra '{extra}' ({module} not installed); {install_hint(extra)}"


def _outbound_problems(settings: Settings) -> Iterator[tuple[Location, str | None]]:
    """Configured alerts and the Telegram bot: their extras installed, the bot's token and chats."""
    if settings.alerts.urls:
        yield ("alerts", "urls"), _missing_extra("alerts", "apprise", "alerts")
    telegram = settings.telegram
    if telegram.enabled:
        yield ("telegram", "enabled"), _missing_extra("the Telegram bot", "telegram", "telegram")
        if telegram.token is None or not telegram.token.get_secret_value():
            yield ("telegram", "token"), ("the Telegram bot needs its BotFather token: set "
                                          "ROBO_TUI_TELEGRAM__TOKEN or token in secrets.toml (mode 0600)")
        if not telegram.chat_ids:
            yield ("telegram", "chat_ids"), "the Telegram bot needs the chat ids it may answer"

"""Settings of what leaves the process: alerts (`[alerts]`), the Telegram bot (`[telegram]`) and
the log file (`[logging]`).

Alert URLs carry tokens, so they are secrets (`SecretStr`), like the bot's token: they are taken
from the environment or the 0600 secrets file and redacted from logs, the database and screens.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, field_validator

from robo_tui.config.sections import Section

AlertLevel = Literal["off", "info", "warning", "critical"]
"""How loud an alert is; "off" sends nothing for that event kind."""

ALERT_KINDS = ("fill", "denial", "state", "breaker", "pause", "mode", "stale", "drift",
               "proposal", "error", "summary")
"""Every kind of alert the router sends (the keys of `[alerts.levels]`)."""


class AlertLevels(Section):
    fill: AlertLevel = "info"
    """An order filled (entries, exits, stops and targets)."""
    denial: AlertLevel = "warning"
    """The gate denied an order a human asked for, or one from a protective exit or an approval."""
    state: AlertLevel = "warning"
    """Trading state changed (ACTIVE, REDUCING, HALTED) by a person or a limit."""
    breaker: AlertLevel = "critical"
    """The circuit breaker halted trading after repeated source failures."""
    pause: AlertLevel = "info"
    """The cycle was paused or resumed (quotes and stops go on)."""
    mode: AlertLevel = "warning"
    """The trading mode changed (paper, semi-auto, auto, live)."""
    stale: AlertLevel = "warning"
    """A source went unhealthy or a symbol's data went stale (and when it recovers)."""
    drift: AlertLevel = "critical"
    """The broker and the journal disagree (a recovery or reconciliation finding)."""
    proposal: AlertLevel = "warning"
    """A semi-auto proposal is waiting for approval."""
    error: AlertLevel = "off"
    """Any other engine error (noisy: off by default)."""
    summary: AlertLevel = "info"
    """The daily summary (equity, day P&L, orders, fills, state)."""


_RATE = Field(None, ge=1, le=600)


class AlertRates(Section):
    """Per-kind rate limits (alerts a minute); a kind not set here gets `per_kind_per_minute`."""

    fill: int | None = _RATE
    """Fills a minute (a busy strategy may want more than the common limit)."""
    denial: int | None = _RATE
    """Denials a minute."""
    state: int | None = _RATE
    """Trading-state changes a minute."""
    breaker: int | None = _RATE
    """Circuit-breaker trips a minute."""
    pause: int | None = _RATE
    """Pauses and resumes a minute."""
    mode: int | None = _RATE
    """Mode changes a minute."""
    stale: int | None = _RATE
    """Stale-data and source-health alerts a minute."""
    drift: int | None = _RATE
    """Drift reports a minute."""
    proposal: int | None = _RATE
    """Proposals waiting for approval a minute."""
    error: int | None = _RATE
    """Other engine errors a minute."""
    summary: int | None = _RATE
    """Daily summaries a minute."""

    def limit(self, kind: str, default: int) -> int:
        """The limit of `kind`: its own when set, else `default`."""
        own: int | None = getattr(self, kind, None)
        return default if own is None else own


class AlertSettings(Section):
    urls: list[SecretStr] = Field(default_factory=list)
    """Apprise URLs to notify (tgram://, discord://, mailto://, ntfy://, json://, ...); needs the
    'alerts' extra. They carry tokens, so they are secrets."""
    min_level: Literal["info", "warning", "critical"] = "info"
    """Alerts below this level are not sent (they are still logged)."""
    levels: AlertLevels = Field(default_factory=AlertLevels)
    """The level of each kind of alert ("off" sends none of that kind)."""
    per_kind_per_minute: int = Field(6, ge=1, le=600)
    """At most this many alerts of one kind in any minute; more are recorded as dropped."""
    per_minute: AlertRates = Field(default_factory=AlertRates)
    """Per-kind limits that override `per_kind_per_minute` (e.g. `fill = 20`)."""
    timeout_seconds: float = Field(10.0, gt=0, le=300)
    """Longest one send may take before it counts as failed."""
    retries: int = Field(3, ge=0, le=20)
    """Retries of a failed send, with doubling backoff, before it is recorded as failed."""
    backoff_seconds: float = Field(2.0, gt=0, le=600)
    """Wait before the first retry (doubled for each one after)."""
    queue_size: int = Field(1000, ge=10, le=100_000)
    """Alerts waiting to be sent at most; an overflow is recorded as dropped, never silently lost."""
    daily_summary_at: str = Field("16:15", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    """UTC time (HH:MM) of the daily summary when the engine's daily schedule is off
    (`[reports] schedule = false`); with the schedule on, the summary follows its daily report
    job (`[reports] report_at`, exchange time), so there is one daily schedule."""


class TelegramSettings(Section):
    enabled: bool = False
    """Run the Telegram bot: proposals with Approve/Reject buttons and /status, /positions,
    /orders, /halt, /resume. Needs the 'telegram' extra and a BotFather token."""
    token: SecretStr | None = None
    """The bot's token from BotFather."""
    chat_ids: list[int] = Field(default_factory=list)
    """The only chats the bot answers; anyone else gets nothing and is logged."""
    base_url: str = "https://api.telegram.org/bot"
    """The Bot API's base URL (the token is appended)."""
    base_file_url: str = "https://api.telegram.org/file/bot"
    """The Bot API's file base URL (the token is appended)."""
    poll_timeout_seconds: int = Field(20, ge=0, le=60)
    """Long-poll timeout of getUpdates."""

    @field_validator("base_url", "base_file_url")
    @classmethod
    def _http(cls, url: str) -> str:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"{url!r} is not an http(s) URL")
        return url


class LoggingSettings(Section):
    format: Literal["text", "json"] = "text"
    """robo-tui.log's lines: "text" for people, "json" for one JSON object per line."""
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    """The least severe records written (INFO: decisions, orders, fills, state changes, health)."""
    max_bytes: int = Field(5_000_000, ge=10_000, le=10_000_000_000)
    """robo-tui.log is rotated when it reaches this size."""
    backups: int = Field(5, ge=0, le=100)
    """Rotated files kept (robo-tui.log.1 ... .N)."""


__all__ = ["ALERT_KINDS", "AlertLevel", "AlertLevels", "AlertRates", "AlertSettings", "LoggingSettings",
           "TelegramSettings"]

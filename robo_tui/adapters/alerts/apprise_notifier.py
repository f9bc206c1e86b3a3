"""Alerts through Apprise (the 'alerts' extra): one maintained library for Telegram, Discord,
Slack, e-mail, ntfy, Pushover, webhooks (`json://`, `form://`) and more, configured by URL.

Apprise's notify is blocking (requests), so it runs in a worker thread; the alert router bounds
it with its own timeout and retries. The URLs carry tokens: they are never logged, and a bad one
is named by its position and scheme only.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from robo_tui.ports import NotifyFailed

log = logging.getLogger(__name__)

_TYPES = {"info": "info", "warning": "warning", "critical": "failure"}


def url_scheme(url: str) -> str:
    """The scheme of an alert URL (what may be shown of it: the rest can hold a token)."""
    scheme, sep, _ = url.partition("://")
    return scheme if sep else "?"


class AppriseNotifier:
    """A `Notifier` that sends each alert to every configured Apprise URL."""

    def __init__(self, urls: Sequence[str], *, timeout: float = 10.0) -> None:
        import apprise

        logging.getLogger("apprise").setLevel(logging.WARNING)  # its INFO lines name targets
        self._apprise: Any = apprise.Apprise()
        for i, url in enumerate(urls):
            if not self._apprise.add(url):
                raise ValueError(f"alerts.urls[{i}] ({url_scheme(url)}://...) is not a URL "
                                 "Apprise understands; see https://appriseit.com for the forms")
        self._timeout = timeout
        self.name = "apprise:" + ",".join(url_scheme(u) for u in urls)

    async def notify(self, title: str, body: str, level: str) -> None:
        """Send to every URL (in a thread); `NotifyFailed` unless all of them took it."""
        result = await asyncio.to_thread(
            self._apprise.notify, body=body, title=title,
            notify_type=_TYPES.get(level, "info"), timeout=self._timeout)
        if not result:
            raise NotifyFailed(f"{self.name}: not delivered")


__all__ = ["AppriseNotifier", "url_scheme"]

"""Bounded growth: telemetry older than the configured horizon is pruned from the journal.

A session at the default 5 s cycle writes about 250 MiB a day of per-cycle telemetry (the strategy
signals of every symbol, the portfolio and the cycle summary as audit rows; price and account
snapshots). What a trader or an auditor needs later is the decision trail: analyst calls, ideas,
proposals, verdicts, orders, fills, outcomes, control changes and commands. Those are never pruned.
The telemetry is kept for `storage.retention_days`; older price and account snapshots are thinned
to the last one of each hour (the account's equity curve survives at hourly resolution), older
telemetry audit rows are deleted. SQLite reuses the freed pages, so the file levels off.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from robo_tui.ports import Clock, StorageFault, Store

log = logging.getLogger(__name__)

PRUNE_EVERY_SECONDS = 6 * 3600.0
"""How often a running engine prunes (and once at start)."""


class Retention:
    """Prunes the store's telemetry older than `days` at start and every `every` seconds;
    `days == 0` keeps everything."""

    def __init__(self, store: Store, clock: Clock, days: float,
                 every: float = PRUNE_EVERY_SECONDS) -> None:
        self._store = store
        self._clock = clock
        self.days = days
        self.every = every
        self.pruned: dict[str, int] = {}
        """Rows pruned so far, per table or audit kind."""

    async def prune_once(self) -> dict[str, int]:
        """Prune everything older than the horizon now; the rows pruned per table or kind."""
        if self.days <= 0:
            return {}
        before = self._clock.now() - timedelta(days=self.days)
        pruned = await self._store.prune_telemetry(before)
        for key, count in pruned.items():
            self.pruned[key] = self.pruned.get(key, 0) + count
        if any(pruned.values()):
            log.info("retention: pruned telemetry older than %s: %s", before.isoformat(),
                     ", ".join(f"{k} {v}" for k, v in sorted(pruned.items()) if v))
        return pruned

    async def run(self, stop: asyncio.Event) -> None:
        """Prune at once, then every `every` seconds until `stop` is set. A failed pass is
        logged and retried at the next one: retention never stops the engine."""
        while not stop.is_set():
            try:
                await self.prune_once()
            except (StorageFault, RuntimeError) as exc:  # a held lock, a full disk: later
                log.warning("retention pass failed: %s", exc)
            try:
                await asyncio.wait_for(stop.wait(), self.every)
            except TimeoutError:
                pass

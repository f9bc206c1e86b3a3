"""An in-memory `Store`: backtests (whose run is saved whole at the end) and engine tests.

It keeps the same records as the SQLite store in Python lists and dicts, with the same rules:
the audit log is append-only and proposals and orders keep their latest status.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from robo_tui.domain.control import (
    CommandKind,
    ControlState,
    JournaledCommand,
    Protections,
    encode_protections,
)
from robo_tui.domain.news import NewsItem
from robo_tui.domain.orders import AccountSnapshot, Fill, Order, OrderStatus
from robo_tui.domain.protection import ProtectiveLevel
from robo_tui.domain.risk import RiskVerdict
from robo_tui.domain.serialize import to_jsonable
from robo_tui.domain.signals import Proposal, ProposalStatus


class MemoryStore:
    """A `Store` that keeps everything in memory (nothing survives the process); as a backtest's
    store it is also the run's `RunRecorder`."""

    def __init__(self) -> None:
        self.control: dict[str, str] = {}
        self.commands: list[tuple[JournaledCommand, bool]] = []  # (command, consumed)
        self.audit_log: list[tuple[datetime | None, str, dict[str, Any], str]] = []
        self.orders: dict[str, tuple[Order, OrderStatus, str | None, str]] = {}
        self.fill_log: list[Fill] = []
        self.levels: dict[str, ProtectiveLevel] = {}
        # (verdict, source, symbol, payload, client order id, proposal id): the verdict as given,
        # not re-derived into a row (nothing reads a backtest's verdicts while it runs)
        self.verdicts: list[tuple[RiskVerdict, str, str, Mapping[str, Any], str | None,
                                  str | None]] = []
        self.proposal_rows: dict[str, tuple[Proposal, ProposalStatus, RiskVerdict]] = {}
        self.positions: AccountSnapshot | None = None
        self.snapshots: list[tuple[datetime, dict[str, float], bool]] = []
        self.trade_outcomes: list[dict[str, Any]] = []
        self.news: dict[str, NewsItem] = {}
        self.ai_decisions: dict[str, dict[str, Any]] = {}
        self.reviews: list[dict[str, Any]] = []
        self._ids = itertools.count(1)
        self._protections: Protections | None = None
        self._changes = 0

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def get_control(self, key: str) -> str | None:
        self._sync_protections()
        return self.control.get(key)

    async def set_control(self, key: str, value: str, by: str) -> None:
        self._sync_protections()
        self._changes += 1
        self.control[key] = value
        self.audit_log.append((None, "control", {"key": key, "value": value}, by))

    async def load_control(self) -> ControlState:
        self._sync_protections()
        return ControlState.from_keys(self.control)

    async def save_control(self, state: ControlState, by: str) -> None:
        for key, value in state.to_keys().items():
            if self.control.get(key, "") != value:
                await self.set_control(key, value, by)

    async def journal_command(self, kind: CommandKind, payload: Mapping[str, str], by: str) -> int:
        command_id = len(self.commands) + 1
        self._changes += 1
        self.commands.append((JournaledCommand(command_id, datetime.now(UTC), kind,
                                               dict(payload), by), False))
        return command_id

    async def pending_commands(self) -> list[JournaledCommand]:
        return [command for command, consumed in self.commands if not consumed]

    async def consume_command(self, command_id: int) -> None:
        self.commands = [(c, done or c.id == command_id) for c, done in self.commands]

    async def change_marker(self) -> tuple[int, int]:
        """Bumped by every control write and journaled command (no other process writes here)."""
        return (self._changes, 0)

    async def audit(self, kind: str, payload: Mapping[str, Any], by: str) -> None:
        self.audit_log.append((None, kind, dict(payload), by))

    async def audit_many(self, rows: Sequence[tuple[datetime, str, Mapping[str, Any], str]]) -> None:
        self.audit_log.extend((ts, kind, dict(payload), by) for ts, kind, payload, by in rows)

    async def record_order_intent(self, order: Order) -> None:
        self.orders[order.client_order_id] = (order, OrderStatus.INTENT, None, "")

    async def update_order(
        self, client_order_id: str, status: OrderStatus, broker_order_id: str | None, message: str
    ) -> None:
        order, _, old_id, _ = self.orders[client_order_id]
        self.orders[client_order_id] = (order, status, broker_order_id or old_id, message)

    async def open_orders(self) -> list[tuple[Order, OrderStatus]]:
        return [(o, s) for o, s, _, _ in self.orders.values() if s.is_open]

    async def record_fill(self, fill: Fill, *, order_status: OrderStatus | None = None,
                          protections: Protections | None = None,
                          levels: Mapping[str, ProtectiveLevel | None] | None = None,
                          venue_order: Order | None = None) -> None:
        if venue_order is not None and venue_order.client_order_id not in self.orders:
            self.orders[venue_order.client_order_id] = (venue_order, OrderStatus.FILLED, None,
                                                        venue_order.intent.reason)
        self.fill_log.append(fill)
        if levels:
            await self.save_protective_levels(levels)
        if order_status is not None and fill.client_order_id in self.orders:
            await self.update_order(fill.client_order_id, order_status, None, order_status.value)
        if protections is not None:
            self._protections = protections  # encoded when read: a backtest books many fills

    async def save_protective_levels(self, levels: Mapping[str, ProtectiveLevel | None]) -> None:
        """Set (or, for None, drop) the protection of each symbol."""
        for symbol, level in levels.items():
            if level is None:
                self.levels.pop(symbol, None)
            else:
                self.levels[symbol] = level

    async def protective_levels(self) -> list[ProtectiveLevel]:
        """Every protection held, by symbol."""
        return [self.levels[s] for s in sorted(self.levels)]

    def _sync_protections(self) -> None:
        if self._protections is not None:
            self.control["protections"] = encode_protections(self._protections)
            self._protections = None

    async def get_order(self, client_order_id: str) -> tuple[Order, OrderStatus] | None:
        row = self.orders.get(client_order_id)
        return None if row is None else (row[0], row[1])

    async def orders_missing_fills(self) -> list[Order]:
        filled = {f.client_order_id for f in self.fill_log}
        return [o for o, s, _, _ in self.orders.values()
                if s is OrderStatus.FILLED and o.client_order_id not in filled]

    async def resolve_order(self, client_order_id: str, status: OrderStatus, reason: str, by: str,
                            fill: Fill | None = None) -> None:
        order, old, broker_id, _ = self.orders[client_order_id]
        missing = old is OrderStatus.FILLED and status is OrderStatus.FILLED and not any(
            f.client_order_id == client_order_id for f in self.fill_log)
        if not old.is_open and not missing:
            raise ValueError(f"order {client_order_id} is already {old.value}")
        if fill is not None:
            self.fill_log.append(fill)
        self.orders[client_order_id] = (order, status, broker_id, f"resolved by {by}: {reason}")
        self.audit_log.append((None, "order_resolved", {"client_order_id": client_order_id,
                                                        "status": status.value,
                                                        "reason": reason}, by))

    async def fills(self) -> list[Fill]:
        return list(self.fill_log)

    def recorded_fills(self) -> Sequence[Fill]:
        """The fills recorded during the run, oldest first (the `RunRecorder` port)."""
        return self.fill_log

    def recorded_outcomes(self) -> Sequence[Mapping[str, Any]]:
        """The trade outcomes recorded during the run, oldest first (the `RunRecorder` port)."""
        return self.trade_outcomes

    async def record_verdict(
        self, verdict: RiskVerdict, *, source: str, symbol: str, payload: Mapping[str, Any],
        client_order_id: str | None, proposal_id: str | None,
    ) -> None:
        self.verdicts.append((verdict, source, symbol, payload, client_order_id, proposal_id))

    async def record_proposal(self, proposal: Proposal, precheck: RiskVerdict) -> None:
        self.proposal_rows[proposal.id] = (proposal, proposal.status, precheck)

    async def update_proposal(
        self, proposal_id: str, status: ProposalStatus, by: str, reason: str
    ) -> None:
        proposal, _, precheck = self.proposal_rows[proposal_id]
        self.proposal_rows[proposal_id] = (proposal, status, precheck)
        self.audit_log.append((None, "proposal", {"id": proposal_id, "status": status.value,
                                                  "reason": reason}, by))

    async def get_proposal(self, proposal_id: str) -> tuple[Proposal, ProposalStatus] | None:
        row = self.proposal_rows.get(proposal_id)
        return (row[0], row[1]) if row else None

    async def proposals(
        self, status: ProposalStatus | None = None
    ) -> list[tuple[Proposal, ProposalStatus]]:
        return [(p, s) for p, s, _ in self.proposal_rows.values() if status is None or s is status]

    async def save_positions(self, account: AccountSnapshot) -> None:
        self.positions = account

    async def record_market_snapshot(
        self, ts: datetime, prices: Mapping[str, float], simulated: bool
    ) -> None:
        self.snapshots.append((ts, dict(prices), simulated))

    async def record_trade_outcome(self, outcome: Mapping[str, Any]) -> None:
        self.trade_outcomes.append(dict(outcome))

    async def record_news(self, item: NewsItem) -> bool:
        if item.id in self.news:
            return False
        self.news[item.id] = item
        return True

    async def record_ai_decision(self, record: Mapping[str, Any]) -> str:
        decision_id = str(record.get("id") or f"D{next(self._ids):06d}")
        self.ai_decisions[decision_id] = dict(to_jsonable(dict(record)), id=decision_id)
        return decision_id

    async def update_ai_decision(self, decision_id: str, outcome: Mapping[str, Any]) -> None:
        if decision_id in self.ai_decisions:
            self.ai_decisions[decision_id]["outcome"] = to_jsonable(dict(outcome))

    async def record_daily_review(self, review: Mapping[str, Any]) -> None:
        self.reviews.append(dict(review))

    async def prune_telemetry(self, before: datetime) -> dict[str, int]:
        """Nothing to prune: a memory store lives as long as its run."""
        return {}

    async def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        raise NotImplementedError("MemoryStore has no SQL; read its attributes instead")

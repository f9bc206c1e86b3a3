"""What shadow mode would have done, scored against what prices did.

In shadow mode every order the gate allowed is journaled and answered CANCELLED by the
`ShadowBroker` with a message beginning "SHADOW": never sent. This module reads those would-be
orders of a period from the journal (`orders`) and prices them with the engine's own marks
(`market_snapshots`): the entry at the order's limit price (or the last mark at or before the
order), the exit at the last mark at or before `horizon` hours later, cut at the period's end.
The hypothetical P&L of a buy is (exit - entry) x quantity, of a sell the opposite; no fees, no
slippage: it answers "did the signals point the right way", not "what would the account hold".

An order with no mark after it yet (the horizon lies past the last recorded price) is pending:
counted, never scored.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from robo_tui.domain.frozen import frozen
from robo_tui.engine.review import parse_ts, ts_text
from robo_tui.ports import Store

SHADOW_PREFIX = "SHADOW"
"""How the shadow broker's answer to each would-be order begins (`adapters.brokers.shadow`)."""

DEFAULT_HORIZON_HOURS = 4.0
"""Hours after a would-be order its exit is priced (`[reports] shadow_horizon_hours`)."""


@frozen
class ShadowOrder:
    """One would-be order and what it would have made (`exit_price` None while pending)."""

    client_order_id: str
    ts: datetime
    symbol: str
    side: str
    quantity: float
    source: str
    entry_price: float
    exit_price: float | None
    exit_ts: datetime | None

    @property
    def pnl(self) -> float:
        """The hypothetical P&L in account currency (0 while pending)."""
        if self.exit_price is None:
            return 0.0
        sign = 1.0 if self.side == "buy" else -1.0
        return sign * (self.exit_price - self.entry_price) * self.quantity

    @property
    def move_pct(self) -> float:
        """The price's move from entry to exit in the order's favour, as a fraction."""
        if self.exit_price is None or not self.entry_price:
            return 0.0
        sign = 1.0 if self.side == "buy" else -1.0
        return sign * (self.exit_price / self.entry_price - 1.0)


@frozen
class ShadowSection:
    """The would-be orders of a period, their P&L and hit rate at `horizon_hours`."""

    horizon_hours: float
    orders: tuple[ShadowOrder, ...]
    unpriced: int
    """Would-be orders with no price at all (no limit, no mark before them)."""

    @property
    def scored(self) -> tuple[ShadowOrder, ...]:
        """The orders with an exit price."""
        return tuple(o for o in self.orders if o.exit_price is not None)

    @property
    def pending(self) -> int:
        """Orders whose exit is not priced yet."""
        return len(self.orders) - len(self.scored)

    @property
    def pnl(self) -> float:
        """The hypothetical P&L of all scored orders."""
        return sum(o.pnl for o in self.scored)

    @property
    def wins(self) -> int:
        """Scored orders that would have made money."""
        return sum(1 for o in self.scored if o.pnl > 0)

    @property
    def hit_rate(self) -> float:
        """Winning scored orders as a fraction of all scored (0 with none)."""
        return self.wins / len(self.scored) if self.scored else 0.0

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (the report's `--json`)."""
        return {
            "horizon_hours": self.horizon_hours, "orders": len(self.orders),
            "scored": len(self.scored), "pending": self.pending, "unpriced": self.unpriced,
            "wins": self.wins, "hit_rate": round(self.hit_rate, 4), "pnl": round(self.pnl, 2),
            "rows": [{"client_order_id": o.client_order_id, "ts": o.ts.isoformat(),
                      "symbol": o.symbol, "side": o.side, "quantity": o.quantity,
                      "source": o.source, "entry_price": o.entry_price,
                      "exit_price": o.exit_price,
                      "exit_ts": None if o.exit_ts is None else o.exit_ts.isoformat(),
                      "pnl": round(o.pnl, 2)} for o in self.orders],
        }


async def build_shadow_section(store: Store, start: datetime, end: datetime, *,
                               horizon_hours: float = DEFAULT_HORIZON_HOURS) -> ShadowSection:
    """The would-be orders journaled in [start, end), each priced at entry and `horizon_hours`
    later (or at `end`, whichever is first) from the recorded marks."""
    rows = await store.query(
        "SELECT client_order_id, ts, source, symbol, side, qty, limit_price FROM orders "
        "WHERE status = 'cancelled' AND message LIKE ? AND ts >= ? AND ts < ? "
        "ORDER BY ts, client_order_id", (f"{SHADOW_PREFIX}%", ts_text(start), ts_text(end)))
    horizon = timedelta(hours=horizon_hours)
    orders: list[ShadowOrder] = []
    unpriced = 0
    for row in rows:
        at = parse_ts(str(row["ts"]))
        symbol = str(row["symbol"])
        entry = row["limit_price"] if _positive(row["limit_price"]) else None
        if entry is None:
            entry = await _mark(store, symbol, "ts <= ?", (ts_text(at),), latest=True)
        if entry is None:
            entry = await _mark(store, symbol, "ts > ?", (ts_text(at),), latest=False)
        if entry is None:
            unpriced += 1
            continue
        exit_at = min(at + horizon, end)
        later = await store.query(
            "SELECT ts, price FROM market_snapshots WHERE symbol = ? AND ts > ? AND ts <= ? "
            "AND price IS NOT NULL ORDER BY ts DESC LIMIT 1", (symbol, ts_text(at), ts_text(exit_at)))
        exit_price = float(later[0]["price"]) if later and _positive(later[0]["price"]) else None
        orders.append(ShadowOrder(
            client_order_id=str(row["client_order_id"]), ts=at, symbol=symbol,
            side=str(row["side"]).lower(), quantity=float(row["qty"]), source=str(row["source"]),
            entry_price=float(entry), exit_price=exit_price,
            exit_ts=parse_ts(str(later[0]["ts"])) if exit_price is not None else None))
    return ShadowSection(horizon_hours, tuple(orders), unpriced)


async def _mark(store: Store, symbol: str, where: str, params: Sequence[Any], *,
                latest: bool) -> float | None:
    rows = await store.query(
        f"SELECT price FROM market_snapshots WHERE symbol = ? AND {where} AND price IS NOT NULL "
        f"ORDER BY ts {'DESC' if latest else 'ASC'} LIMIT 1", (symbol, *params))
    return float(rows[0]["price"]) if rows and _positive(rows[0]["price"]) else None


def _positive(value: Any) -> bool:
    return (isinstance(value, int | float) and not isinstance(value, bool)
            and math.isfinite(value) and value > 0)




__all__ = ["DEFAULT_HORIZON_HOURS", "ShadowOrder", "ShadowSection", "build_shadow_section"]

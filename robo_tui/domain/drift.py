"""The drift report: what a live venue holds that robo-tui's journal cannot account for.

At start (and on demand) the engine compares the venue's positions and working orders with the
journal's fills and orders (`robo_tui.engine.reconcile`). Whatever cannot be matched (a manual
trade in the broker's app, a position size that differs, an order robo-tui never placed) is a
`DriftItem`. A report with items blocks new entries (exits still pass) until a trader accepts it
(`robo-tui drift accept`, or the console); an accepted position difference becomes an offset the
next comparison counts as known, so the same manual trade is not reported again.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

from robo_tui.domain.frozen import frozen

DriftKind = Literal["position", "order"]

QTY_TOLERANCE = 1e-9
"""Quantities closer than this (relative, at least absolute) are the same."""

REPORT_KEY = "drift_report"
"""The control-store key the latest report is kept under (the shell reads it)."""
OFFSETS_KEY = "drift_offsets"
"""The control-store key of the accepted position differences, per symbol."""
ACCEPTED_ORDERS_KEY = "drift_accepted_orders"
"""The control-store key of the venue ids of accepted working orders (not ours)."""


@frozen
class VenueOrder:
    """One working order as the venue lists it (`Broker.venue_orders`)."""

    client_order_id: str
    """Our id for it ("" when the venue carries none of ours: placed in the broker's app)."""
    venue_id: str
    symbol: str
    side: str
    """"buy" or "sell"."""
    quantity: float
    """What is left to fill."""
    kind: str
    """The venue's order type (market, limit, stop ...)."""
    price: float | None = None
    """Its limit or stop price, when it has one."""


@frozen
class DriftItem:
    """One thing the venue holds that the journal does not explain."""

    kind: DriftKind
    symbol: str
    venue: float
    """The venue's quantity (signed position, or the order's remaining quantity)."""
    journal: float
    """What the journal says (the signed position its fills add up to; 0 for an unknown order)."""
    detail: str
    """The sentence a trader reads, with the numbers."""
    order_id: str = ""
    """The venue's id of an unmatched order ("" for a position)."""

    @property
    def difference(self) -> float:
        """Venue minus journal."""
        return self.venue - self.journal


@frozen
class DriftReport:
    """The result of one comparison of a venue with the journal."""

    broker: str
    ts: datetime
    items: tuple[DriftItem, ...] = ()
    accepted_by: str = ""
    """Who accepted it ("" while it blocks entries)."""

    @property
    def blocking(self) -> bool:
        """Whether new entries wait for a trader to accept it."""
        return bool(self.items) and not self.accepted_by

    def sentence(self) -> str:
        """One line for a denial, the status bar and headless output."""
        if not self.items:
            return f"{self.broker}: the venue matches the journal"
        what = "; ".join(i.detail for i in self.items[:3])
        more = f" (+{len(self.items) - 3} more)" if len(self.items) > 3 else ""
        state = (f"accepted by {self.accepted_by}" if self.accepted_by
                 else "new entries wait until it is accepted (`robo-tui drift accept`)")
        return f"drift at {self.broker}: {what}{more}; {state}"

    def to_json(self) -> str:
        """The report as JSON text (the control store keeps it for the shell)."""
        return json.dumps({
            "broker": self.broker, "ts": self.ts.isoformat(), "accepted_by": self.accepted_by,
            "items": [{"kind": i.kind, "symbol": i.symbol, "venue": i.venue,
                       "journal": i.journal, "detail": i.detail, "order_id": i.order_id}
                      for i in self.items]}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> DriftReport:
        """A report from `to_json` text; ValueError when it is not one."""
        try:
            raw: dict[str, Any] = json.loads(text)
            items = tuple(DriftItem(kind="order" if i["kind"] == "order" else "position",
                                    symbol=str(i["symbol"]), venue=float(i["venue"]),
                                    journal=float(i["journal"]), detail=str(i["detail"]),
                                    order_id=str(i.get("order_id", "")))
                          for i in raw.get("items", []))
            return cls(str(raw["broker"]), datetime.fromisoformat(str(raw["ts"])), items,
                       str(raw.get("accepted_by", "")))
        except (KeyError, TypeError, AttributeError, json.JSONDecodeError) as exc:
            raise ValueError(f"not a drift report: {exc}") from None


def same_quantity(a: float, b: float) -> bool:
    """Whether two quantities are equal within `QTY_TOLERANCE`."""
    return abs(a - b) <= QTY_TOLERANCE * max(1.0, abs(a), abs(b))


def position_drift(venue: Mapping[str, float], journal: Mapping[str, float],
                   offsets: Mapping[str, float], broker: str) -> list[DriftItem]:
    """One item per symbol whose venue position differs from the journal's plus the accepted
    offset, sorted by symbol."""
    items: list[DriftItem] = []
    for symbol in sorted(set(venue) | set(journal) | set(offsets)):
        held = venue.get(symbol, 0.0)
        ours = journal.get(symbol, 0.0) + offsets.get(symbol, 0.0)
        if not (math.isfinite(held) and math.isfinite(ours)) or same_quantity(held, ours):
            continue
        if same_quantity(ours, 0.0):
            detail = f"{symbol}: {broker} holds {held:g} that robo-tui never traded"
        else:
            detail = f"{symbol}: {broker} holds {held:g}, the journal {ours:g}"
        items.append(DriftItem("position", symbol, held, ours, detail))
    return items


def order_drift(orders: Sequence[VenueOrder], ours: Mapping[str, bool], broker: str
                ) -> list[DriftItem]:
    """One item per working order at the venue that is not one of ours (`ours[id]` says whether
    the journal holds an order id; a protective child `<id>:sl` counts as its parent's)."""
    items: list[DriftItem] = []
    for order in orders:
        base = order.client_order_id.split(":", 1)[0]
        if order.client_order_id and ours.get(base, False):
            continue
        at = "" if order.price is None else f" at {order.price:g}"
        items.append(DriftItem(
            "order", order.symbol, order.quantity, 0.0,
            f"{order.symbol}: a working {order.kind} {order.side} of {order.quantity:g}{at} at "
            f"{broker} that robo-tui did not place (venue id {order.venue_id})",
            order.venue_id))
    return items


def encode_offsets(offsets: Mapping[str, float]) -> str:
    """Accepted differences as sorted JSON."""
    return json.dumps(dict(offsets), sort_keys=True)


def decode_ids(text: str | None) -> list[str]:
    """Accepted venue order ids from their JSON ([] when never written or unreadable)."""
    if not text:
        return []
    try:
        return [str(i) for i in json.loads(text)]
    except (ValueError, TypeError):
        return []


def decode_offsets(text: str | None) -> dict[str, float]:
    """Accepted differences from their JSON ({} when never written or unreadable)."""
    if not text:
        return {}
    try:
        return {str(k): float(v) for k, v in json.loads(text).items()}
    except (ValueError, AttributeError, TypeError):
        return {}

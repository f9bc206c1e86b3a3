"""Shadow mode's broker: the live account's real state, and orders recorded, never sent.

`ShadowBroker` wraps the live broker the config names. Everything that reads (connect, the
account, an order's status) goes to the venue; `submit` never does: the order, already judged
by the gate and journaled by the order path, is kept here and answered CANCELLED with a
message beginning "SHADOW", so the journal shows exactly what would have been sent. Cancels
never reach the venue either: the kill switch in shadow mode must not touch the real account's
own orders. No fills are ever reported (nothing was sent), so the account stays the venue's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from robo_tui.domain.drift import VenueOrder
from robo_tui.domain.increments import Increments
from robo_tui.domain.market import AssetClass
from robo_tui.domain.orders import (
    AccountSnapshot,
    BrokerAck,
    Fill,
    Order,
    OrderStatus,
    VenueCapabilities,
)
from robo_tui.ports import Broker

SHADOW_TAG = "SHADOW"
"""How every recorded would-be order's message begins (the journal, status and the screen)."""


class ShadowBroker:
    """The live broker `inner` for reading; a recorder for orders (implements `Broker`)."""

    restores_from_fills = False

    def __init__(self, inner: Broker) -> None:
        self.inner = inner
        self.name = f"shadow:{inner.name}"
        self.is_live = True  # the real account's equity is the baseline, as in LIVE
        self.supports_short = inner.supports_short
        self.supports_fractional = inner.supports_fractional
        self.would_send: list[Order] = []
        """Every order the engine would have sent, in order."""
        self._acks: dict[str, BrokerAck] = {}

    @property
    def order_timeout(self) -> float | None:
        """None: the answer comes from this process."""
        return None

    def capabilities(self, asset: AssetClass) -> VenueCapabilities:
        """The live venue's (the engine plans protection as it would live)."""
        return self.inner.capabilities(asset)

    def holds_stops(self, asset: AssetClass) -> bool:
        """The live venue's answer."""
        return self.inner.holds_stops(asset)

    def restore(self, fills: Sequence[Fill],
                protections: Mapping[str, tuple[float | None, float | None]]) -> None:
        """Nothing to rebuild: the venue keeps the real book."""

    def protections(self) -> dict[str, tuple[float | None, float | None]]:
        """None kept here."""
        return {}

    def reconcile(self, fills: Sequence[Fill]) -> list[str]:
        """The venue's book is the truth; nothing to compare."""
        return []

    async def connect(self) -> None:
        """Connect to the live venue (read-only use)."""
        await self.inner.connect()

    async def close(self) -> None:
        """Close the live venue's session."""
        await self.inner.close()

    async def submit(self, order: Order) -> BrokerAck:
        """Record `order` as the one that would have been sent; never call the venue."""
        self.would_send.append(order)
        i = order.intent
        price = f" @ {i.limit_price:g}" if i.limit_price is not None else ""
        ack = BrokerAck(order.client_order_id, OrderStatus.CANCELLED,
                        message=f"{SHADOW_TAG}: would send {i.side.value} {i.quantity:g} "
                                f"{i.symbol}{price} to {self.inner.name}; not sent")
        self._acks[order.client_order_id] = ack
        return ack

    async def cancel(self, client_order_id: str) -> BrokerAck:
        """Nothing was sent, so nothing to cancel at the venue."""
        return self._acks.get(client_order_id) or BrokerAck(
            client_order_id, OrderStatus.CANCELLED, message=f"{SHADOW_TAG}: nothing sent")

    async def cancel_all(self) -> list[BrokerAck]:
        """No order of ours works at the venue; the account's own orders are never touched."""
        return []

    async def order_status(self, client_order_id: str) -> BrokerAck:
        """A recorded would-be order's answer; otherwise what the venue says (read-only)."""
        ack = self._acks.get(client_order_id)
        return ack if ack is not None else await self.inner.order_status(client_order_id)

    async def account(self) -> AccountSnapshot:
        """The live account as the venue reports it."""
        return await self.inner.account()

    async def venue_orders(self) -> list[VenueOrder]:
        """The live venue's working orders (reconciliation sees what live would see)."""
        return await self.inner.venue_orders()

    async def increments(self, symbol: str) -> Increments | None:
        """The live venue's grid: would-be orders are rounded as live ones would be."""
        return await self.inner.increments(symbol)

    async def poll_fills(self) -> list[Fill]:
        """None: nothing was sent."""
        return []

    async def poll_order_updates(self) -> list[BrokerAck]:
        """None: nothing was sent."""
        return []

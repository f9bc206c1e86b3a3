"""What a broker whose venue keeps its own book declares: the venue's orders and protections are
the truth, so there is nothing to restore, persist or compare after a restart (IB, Robinhood)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from robo_tui.domain.market import AssetClass
from robo_tui.domain.orders import BrokerAck, Fill, VenueCapabilities


class VenueKeepsItsBook:
    """Mixin for live brokers: the `Broker` port's restore/protections/reconcile members, trivially,
    and `holds_stops` read from the broker's own `capabilities`."""

    def capabilities(self, asset: AssetClass) -> VenueCapabilities:
        """What the venue can hold for `asset` (each broker declares its own)."""
        raise NotImplementedError

    def holds_stops(self, asset: AssetClass) -> bool:
        """Whether a stop-loss rests at the venue for `asset`."""
        return self.capabilities(asset).stops

    def restore(self, fills: Sequence[Fill],
                protections: Mapping[str, tuple[float | None, float | None]]) -> None:
        """Nothing to restore: the venue keeps its own book and protective orders."""

    def protections(self) -> dict[str, tuple[float | None, float | None]]:
        """None to persist: protective orders rest at the venue."""
        return {}

    def reconcile(self, fills: Sequence[Fill]) -> list[str]:
        """The venue's book is the truth; nothing to compare here."""
        return []


class PolledVenue(VenueKeepsItsBook):
    """A venue read by polling (Robinhood stocks and crypto): `_poll` (throttled by the broker)
    queues what it learns in `_fills` and `_updates`; the port's two polls drain the queues."""

    _fills: list[Fill]
    _updates: list[BrokerAck]

    async def _poll(self, *, force: bool = False) -> None:
        """Ask the venue about our orders, queueing executions and final updates."""
        raise NotImplementedError

    async def poll_fills(self) -> list[Fill]:
        """Executions of our orders since the last call, oldest first (polled, throttled)."""
        await self._poll()
        out, self._fills = self._fills, []
        return out

    async def poll_order_updates(self) -> list[BrokerAck]:
        """Our orders the venue cancelled, rejected or failed since the last call, and
        protective stops that could not be placed."""
        await self._poll()
        out, self._updates = self._updates, []
        return out

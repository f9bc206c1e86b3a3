"""Brokers: where allowed orders go. `paper` is the embedded default (no setup, no network).

Live brokers (Interactive Brokers, Robinhood) live in their own modules and import their SDKs
lazily, so importing this package (and the paper broker) stays fast. The builders below are what
the `BROKERS` registry (`robo_tui.registries.brokers`) names.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from robo_tui.adapters.brokers.paper import PaperBroker, PaperLedger
from robo_tui.domain.risk import Mode

if TYPE_CHECKING:
    from robo_tui.config import Settings
    from robo_tui.ports import Broker, Clock


SIMULATED_FEEDS = frozenset({"sim", "replay"})
"""Feed kinds whose quotes are not a real market's (the paper broker adds slippage to them)."""


def build_paper(settings: Settings, mode: Mode, clock: Clock) -> Broker:
    """The paper broker: simulated fills with the configured costs; on a real feed's quotes,
    market orders fill at the quoted ask or bid."""
    return PaperBroker(
        cash=settings.broker.starting_cash,
        costs=settings.paper,
        clock=clock,
        instruments={i.symbol: i.to_instrument() for i in settings.universe.instruments},
        supports_short=settings.risk.allow_short,
        real_quotes=settings.feeds.kind not in SIMULATED_FEEDS,
    )


def build_ib(settings: Settings, mode: Mode, clock: Clock) -> Broker:
    """Interactive Brokers (real money only in `Mode.LIVE`)."""
    from robo_tui.adapters.brokers.ib import IbBroker

    return IbBroker(settings.broker.ib, clock=clock, live=mode is Mode.LIVE)


def build_robinhood(settings: Settings, mode: Mode, clock: Clock) -> Broker:
    """Robinhood (real money only in `Mode.LIVE`)."""
    from robo_tui.adapters.brokers.robinhood import RobinhoodBroker

    return RobinhoodBroker(settings.broker.robinhood, clock=clock, live=mode is Mode.LIVE)


__all__ = ["PaperBroker", "PaperLedger", "build_ib", "build_paper", "build_robinhood"]

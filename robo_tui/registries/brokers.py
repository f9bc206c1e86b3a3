"""The broker registry: where allowed orders go, by the name `broker.kind` uses.

In paper mode the wiring always builds `paper`, whatever `broker.kind` says."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from robo_tui.registries.base import Extension, Registry

if TYPE_CHECKING:
    from robo_tui.config import Settings
    from robo_tui.domain.risk import Mode
    from robo_tui.ports import Broker, Clock


class BrokerBuilder(Protocol):
    """Builds a broker from the settings for a run in `mode` (only `Mode.LIVE` trades real money)."""

    def __call__(self, settings: Settings, mode: Mode, clock: Clock) -> Broker: ...


BROKERS: Registry[BrokerBuilder] = Registry("broker", (
    Extension("paper", "robo_tui.adapters.brokers:build_paper",
              "Simulated fills against the quotes; the embedded default.", "paper"),
    Extension("ib", "robo_tui.adapters.brokers:build_ib",
              "Interactive Brokers through TWS or IB Gateway.", "broker.ib", "ib"),
    Extension("robinhood", "robo_tui.adapters.brokers:build_robinhood",
              "Robinhood stocks and crypto.", "broker.robinhood", "robinhood"),
    Extension("robinhood_crypto", "robo_tui.adapters.brokers.robinhood_crypto:build",
              "Robinhood crypto through the official Crypto Trading API.",
              "broker.robinhood_crypto", "robinhood-crypto"),
))
"""Every broker `broker.kind` may name, the paper default first."""

"""Brokers: where allowed orders go. `paper` is the embedded default (no setup, no network).

Live brokers (Interactive Brokers, Robinhood) live in their own modules and import their SDKs
lazily, so importing this package (and the paper broker) stays fast.
"""

from robo_tui.adapters.brokers.paper import PaperBroker, PaperLedger

__all__ = ["PaperBroker", "PaperLedger"]

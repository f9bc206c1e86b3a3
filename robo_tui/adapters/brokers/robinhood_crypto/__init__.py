"""Robinhood crypto through the official Crypto Trading API (`broker.kind = "robinhood_crypto"`).

`client` signs and sends the requests, `models` validates the answers, `pairs` rounds prices
and sizes to what a pair accepts, `broker` is the `Broker` port. Importing this package loads
none of them; `build` checks the `robinhood-crypto` extra (cryptography) first.
"""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING

from robo_tui.domain.risk import Mode

if TYPE_CHECKING:
    from robo_tui.config import Settings
    from robo_tui.ports import Broker, Clock

EXTRA = "robinhood-crypto"


def build(settings: Settings, mode: Mode, clock: Clock) -> Broker:
    """Robinhood crypto (real money only in `Mode.LIVE`); ImportError naming the extra when
    `cryptography` is missing."""
    if importlib.util.find_spec("cryptography") is None:
        raise ImportError("Robinhood crypto signs its requests with the 'cryptography' package "
                          f"(install it with: pip install 'robo-tui[{EXTRA}]')")
    from robo_tui.adapters.brokers.robinhood_crypto.broker import RobinhoodCryptoBroker

    return RobinhoodCryptoBroker(settings.broker.robinhood_crypto, clock=clock,
                                 live=mode is Mode.LIVE)

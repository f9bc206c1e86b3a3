"""How many decimals a price needs: the tick precision of a symbol (a stock in cents, a 5-digit FX
pair, BTC-USD in cents but a coin below 1 in significant digits), and the decimals that tell two
close values apart, so "SMA10 172.64 crossed above SMA20 172.64" reads "172.642 ... 172.638".

Pure functions, no I/O: the strategies' explanations and the console's panes share them.
"""

from __future__ import annotations

import math
import re

__all__ = ["distinct_decimals", "fmt_pair", "is_crypto_symbol", "is_fx_pair", "price_decimals"]

FIAT = frozenset({"USD", "EUR", "GBP", "JPY", "CHF", "AUD", "CAD", "NZD", "SEK", "NOK", "DKK",
                  "HKD", "SGD", "MXN", "ZAR", "TRY", "PLN", "CNH", "HUF", "CZK", "ILS"})
"""ISO codes of the currencies an FX pair is made of."""

CRYPTO_QUOTES = ("USDT", "USDC", "USD", "EUR", "GBP", "BTC", "ETH")
"""Quote currencies of crypto symbols (BTC-USD, ETH/USDT, SOL-BTC)."""

MAX_DECIMALS = 10
"""Values that print alike this far are shown with their usual decimals: they are equal for
any trader (and float noise does not print as 172.64000001)."""

_PAIR = re.compile(r"^([A-Z]{3})[/._-]?([A-Z]{3})$")
_CRYPTO = re.compile(r"^([A-Z0-9]{2,12})[/-]([A-Z]{3,4})$")


def is_fx_pair(symbol: str) -> bool:
    """Whether `symbol` names a currency pair: EURUSD, EUR/USD, EUR.USD, USD-JPY."""
    found = _PAIR.match(symbol.upper())
    return found is not None and found.group(1) in FIAT and found.group(2) in FIAT


def is_crypto_symbol(symbol: str) -> bool:
    """Whether `symbol` names a crypto pair (BTC-USD, ETH/USDT): a base that is no fiat currency
    over a known quote."""
    found = _CRYPTO.match(symbol.upper())
    return (found is not None and found.group(1) not in FIAT
            and found.group(2) in CRYPTO_QUOTES)


def _significant(price: float, digits: int) -> int:
    """Decimals that show `digits` significant digits of a price below 1."""
    return min(MAX_DECIMALS, digits - 1 - math.floor(math.log10(abs(price))))


def price_decimals(symbol: str, price: float | None = None) -> int:
    """The decimals a price of `symbol` is quoted in: 5 for an FX pair (3 with JPY), cents for a
    stock or a coin worth at least 1 (4 decimals for a penny stock), and 5 significant digits
    for a coin below 1 (DOGE 0.18617, 0.000012345: the exchanges' ticks)."""
    if is_fx_pair(symbol):
        return 3 if "JPY" in symbol.upper() else 5
    if price is None or not math.isfinite(price) or price == 0 or abs(price) >= 1:
        return 2
    if is_crypto_symbol(symbol):
        return max(2, _significant(price, 5))
    return 4


def distinct_decimals(a: float, b: float, base: int = 2) -> int:
    """The fewest decimals, at least `base`, at which `a` and `b` print differently (values
    alike to MAX_DECIMALS are equal: `base`)."""
    if not (math.isfinite(a) and math.isfinite(b)):
        return base
    for decimals in range(base, MAX_DECIMALS + 1):
        if f"{a:.{decimals}f}" != f"{b:.{decimals}f}":
            return decimals
    return base


def fmt_pair(a: float, b: float, base: int = 2) -> tuple[str, str]:
    """`a` and `b` with the same decimals, enough to tell them apart."""
    decimals = distinct_decimals(float(a), float(b), base)
    return f"{float(a):.{decimals}f}", f"{float(b):.{decimals}f}"

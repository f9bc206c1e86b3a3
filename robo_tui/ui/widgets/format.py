"""Number, time and vote formatting shared by the panes (plain strings, no Textual)."""

from __future__ import annotations

import math
from datetime import datetime

from robo_tui.domain.precision import price_decimals

__all__ = [
    "fmt_compact", "fmt_countdown", "fmt_money", "fmt_pct", "fmt_price", "fmt_qty", "fmt_score",
    "fmt_time",
]


def fmt_money(value: float, *, signed: bool = False) -> str:
    """1,234.56 (or +1,234.56 when `signed`); "n/a" when not finite."""
    if not math.isfinite(value):
        return "n/a"
    return f"{value:+,.2f}" if signed else f"{value:,.2f}"


def fmt_compact(value: float, *, signed: bool = False) -> str:
    """A short amount for narrow places: 950.25, 12.3k, 1.25M, 3.1B."""
    if not math.isfinite(value):
        return "n/a"
    sign = "+" if signed and value >= 0 else ("-" if value < 0 else "")
    v = abs(value)
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if v >= limit:
            scaled = v / limit
            digits = 2 if scaled < 10 else 1 if scaled < 100 else 0
            return f"{sign}{scaled:.{digits}f}{suffix}"
    return f"{sign}{v:.2f}"


def fmt_price(value: float | None, symbol: str | None = None) -> str:
    """A price in the tick precision of `symbol` (EURUSD 1.08342, USDJPY 151.234, BTC-USD
    62,243.04, DOGE-USD 0.18617); without a symbol, cents or significant digits for
    small prices. "—" when missing."""
    if value is None or not math.isfinite(value):
        return "—"
    if symbol:
        return f"{value:,.{price_decimals(symbol, value)}f}"
    if abs(value) >= 1:
        return f"{value:,.2f}"
    return f"{value:.6g}"


def fmt_qty(value: float) -> str:
    """A quantity without trailing zeros: 10, 0.0125, 1,250."""
    if not math.isfinite(value):
        return "n/a"
    if value == int(value) and abs(value) < 1e15:
        return f"{int(value):,}"
    return f"{value:,.8f}".rstrip("0").rstrip(".")


def fmt_pct(fraction: float, *, signed: bool = False, digits: int = 2) -> str:
    """A fraction as a percentage: 0.0123 → 1.23% (+1.23% when `signed`)."""
    if not math.isfinite(fraction):
        return "n/a"
    return f"{fraction * 100:+.{digits}f}%" if signed else f"{fraction * 100:.{digits}f}%"


def fmt_score(score: float) -> str:
    """A vote score in [-1, 1]: ▲0.80, ▼0.35, ·0.00; "—" for no opinion (NaN)."""
    if not math.isfinite(score):
        return "—"
    if score > 0:
        return f"▲{score:.2f}"
    if score < 0:
        return f"▼{-score:.2f}"
    return "·0.00"


def fmt_time(ts: datetime, *, seconds: bool = True) -> str:
    """HH:MM:SS (or HH:MM) of a timestamp."""
    return ts.strftime("%H:%M:%S" if seconds else "%H:%M")


def fmt_countdown(seconds: float) -> str:
    """Time left as m:ss or h:mm:ss; "expired" at or below zero."""
    if not math.isfinite(seconds):
        return "—"
    if seconds <= 0:
        return "expired"
    total = math.ceil(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"

"""Conversions between tz-aware UTC datetimes and epoch nanoseconds."""

from __future__ import annotations

from datetime import UTC, datetime


def ns_to_datetime(ns: int) -> datetime:
    """Epoch nanoseconds to a tz-aware UTC datetime (microsecond precision)."""
    return datetime.fromtimestamp(ns / 1e9, tz=UTC)


def datetime_to_ns(ts: datetime) -> int:
    """A datetime to epoch nanoseconds; naive datetimes are taken as UTC."""
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    return int(ts.timestamp() * 1_000_000) * 1000

"""Exact conversions between tz-aware UTC datetimes and epoch nanoseconds (microsecond precision)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)


def ns_to_datetime(ns: int) -> datetime:
    """Epoch nanoseconds to a tz-aware UTC datetime (truncated to the microsecond)."""
    return EPOCH + timedelta(microseconds=ns // 1000)


def datetime_to_ns(ts: datetime) -> int:
    """A datetime to epoch nanoseconds; naive datetimes are taken as UTC."""
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    return ((ts - EPOCH) // _US) * 1000

"""Domain values <-> JSON for the store.

One way is `robo_tui.domain.serialize.to_jsonable`; the other is `from_jsonable`, a typed
reconstruction driven by the dataclass field annotations, so any frozen domain value (Order,
OrderIntent, Fill, Proposal with its Signals, RiskVerdict, AccountSnapshot, NewsItem, ...) comes
back as the same value. Fields added later with a default decode from rows written before they
existed; keys the class no longer has are ignored.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import json
import math
import types
import typing
from datetime import UTC, date, datetime
from enum import Enum
from functools import cache
from typing import Any, TypeVar, cast

from robo_tui.domain.serialize import to_jsonable

T = TypeVar("T")


class CodecError(ValueError):
    """Stored JSON does not fit the domain type it is read as."""


def dumps(value: Any) -> str:
    """Any domain value (or mapping of them) as compact, strict JSON text.

    Numpy scalars and arrays become numbers and lists; anything else JSON cannot hold is written
    as its `str()` so an audit record is never lost to an odd payload.
    """
    return json.dumps(
        to_jsonable(value),
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
        default=_fallback,
    )


def loads(tp: type[T], text: str) -> T:
    """Parse JSON text written by `dumps` back into a `tp` value."""
    return from_jsonable(tp, json.loads(text))


def from_jsonable(tp: type[T], data: Any) -> T:
    """Rebuild a `tp` value from the output of `to_jsonable` (typed, recursive)."""
    return cast(T, _decode(tp, data, tp.__name__ if isinstance(tp, type) else str(tp)))


def ts_text(ts: datetime) -> str:
    """A datetime as fixed-width UTC ISO text, so text order is time order in SQL columns.

    Naive datetimes are taken as UTC (as `robo_tui.domain.time` does).
    """
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    return ts.astimezone(UTC).isoformat(timespec="microseconds")


def _fallback(value: Any) -> Any:
    tolist = getattr(value, "tolist", None)  # numpy scalars and arrays
    if callable(tolist):
        out = tolist()
        return to_jsonable(out)
    return str(value)


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _decode(tp: Any, data: Any, where: str) -> Any:
    if tp is Any or tp is object:
        return data
    origin = typing.get_origin(tp)
    if origin is not None:
        return _decode_generic(tp, origin, data, where)
    if not isinstance(tp, type):
        raise CodecError(f"{where}: cannot decode into {tp!r}")
    if dataclasses.is_dataclass(tp):
        return _decode_dataclass(tp, data, where)
    if issubclass(tp, Enum):
        try:
            return tp(data)
        except ValueError as exc:
            raise CodecError(f"{where}: {data!r} is not a {tp.__name__}") from exc
    return _decode_scalar(tp, data, where)


def _decode_generic(tp: Any, origin: Any, data: Any, where: str) -> Any:
    """A parameterised type: a union, a literal, a sequence or a mapping."""
    if origin is typing.Union or origin is types.UnionType:
        return _decode_union(tp, data, where)
    if origin is typing.Literal:
        if data not in typing.get_args(tp):
            raise CodecError(f"{where}: {data!r} is not one of {typing.get_args(tp)}")
        return data
    if origin is typing.ClassVar:
        return data
    if origin in (tuple, list, set, frozenset):
        return _decode_sequence(tp, origin, data, where)
    if origin is dict or origin is collections.abc.Mapping:
        key_tp, value_tp = typing.get_args(tp) or (Any, Any)
        _expect(isinstance(data, dict), data, "an object", where)
        return {
            _decode(key_tp, k, f"{where} key"): _decode(value_tp, v, f"{where}[{k!r}]")
            for k, v in data.items()
        }
    raise CodecError(f"{where}: cannot decode into {tp!r}")


def _decode_scalar(tp: type, data: Any, where: str) -> Any:
    """A datetime, a date, a boolean, a number, a string or None."""
    if tp is datetime:
        _expect(isinstance(data, str), data, "an ISO datetime", where)
        return datetime.fromisoformat(data)
    if tp is date:
        _expect(isinstance(data, str), data, "an ISO date", where)
        return date.fromisoformat(data)
    if tp is bool:
        _expect(isinstance(data, bool), data, "a boolean", where)
        return data
    if tp is float:
        if data is None:  # to_jsonable writes non-finite floats as null
            return math.nan
        _expect(isinstance(data, int | float) and not isinstance(data, bool), data, "a number", where)
        return float(data)
    if tp is int:
        _expect(isinstance(data, int) and not isinstance(data, bool), data, "an integer", where)
        return data
    if tp is str:
        _expect(isinstance(data, str), data, "a string", where)
        return data
    if tp is type(None):
        _expect(data is None, data, "null", where)
        return None
    raise CodecError(f"{where}: cannot decode into {tp.__name__}")


def _decode_union(tp: Any, data: Any, where: str) -> Any:
    args = typing.get_args(tp)
    if data is None and type(None) in args:
        return None
    errors: list[str] = []
    for arg in args:
        if arg is type(None):
            continue
        try:
            return _decode(arg, data, where)
        except (CodecError, ValueError, TypeError) as exc:
            errors.append(str(exc))
    raise CodecError(f"{where}: {data!r} fits none of {args} ({'; '.join(errors)})")


def _decode_sequence(tp: Any, origin: Any, data: Any, where: str) -> Any:
    _expect(isinstance(data, list), data, "an array", where)
    args = typing.get_args(tp)
    if origin is tuple and args and not (len(args) == 2 and args[1] is Ellipsis):
        if len(args) != len(data):
            raise CodecError(f"{where}: expected {len(args)} items, got {len(data)}")
        return tuple(_decode(a, v, f"{where}[{i}]") for i, (a, v) in enumerate(zip(args, data)))
    item_tp = args[0] if args else Any
    items = [_decode(item_tp, v, f"{where}[{i}]") for i, v in enumerate(data)]
    return origin(items)


def _decode_dataclass(cls: type, data: Any, where: str) -> Any:
    _expect(isinstance(data, dict), data, f"an object for {cls.__name__}", where)
    hints = _hints(cls)
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        if f.name in data:
            kwargs[f.name] = _decode(hints[f.name], data[f.name], f"{where}.{f.name}")
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise CodecError(f"{where}: missing field {f.name!r}")
    return cls(**kwargs)


def _expect(ok: bool, data: Any, what: str, where: str) -> None:
    if not ok:
        raise CodecError(f"{where}: expected {what}, got {data!r}")

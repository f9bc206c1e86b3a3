"""`@frozen` behaves exactly as a frozen, slotted dataclass; only construction is faster."""

from __future__ import annotations

import copy
import dataclasses
import pickle
from dataclasses import FrozenInstanceError, field

import pytest

from robo_tui.domain.frozen import frozen


@frozen
class Point:
    x: float
    y: float = 0.0
    tags: list[str] = field(default_factory=list)
    norm: float = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "norm", abs(self.x) + abs(self.y))


@frozen(kw_only=True)
class Stamped:
    ts: int
    label: str = "none"


@frozen(kw_only=True)
class Tick(Stamped):
    price: float


def test_frozen_when_constructed_then_defaults_factories_and_post_init_apply() -> None:
    p = Point(3.0)
    assert (p.x, p.y, p.tags, p.norm) == (3.0, 0.0, [], 3.0)
    assert Point(1.0, -2.0, ["a"]).norm == 3.0
    assert Point(1.0).tags is not Point(1.0).tags  # a fresh list each time
    assert Point(x=1.0, tags=["b"]).tags == ["b"]


def test_frozen_when_a_field_is_assigned_then_frozen_instance_error() -> None:
    p = Point(1.0)
    with pytest.raises(FrozenInstanceError):
        p.x = 2.0  # type: ignore[misc]
    with pytest.raises((AttributeError, TypeError)):  # TypeError: Python 3.11's frozen slots
        p.extra = 1  # type: ignore[attr-defined]


def test_frozen_when_compared_hashed_copied_and_pickled_then_as_a_dataclass() -> None:
    a, b = Stamped(ts=1), Stamped(ts=1, label="none")
    assert a == b and hash(a) == hash(b) and a != Stamped(ts=2)
    assert Point(1.0, 2.0) == Point(1.0, 2.0)  # norm is not compared
    assert repr(Point(1.0)) == "Point(x=1.0, y=0.0, tags=[])"
    assert dataclasses.replace(Point(1.0), y=5.0).norm == 6.0
    assert pickle.loads(pickle.dumps(Point(1.0, 2.0))) == Point(1.0, 2.0)
    assert copy.deepcopy(Tick(ts=1, price=2.0)) == Tick(ts=1, price=2.0)
    assert dataclasses.is_dataclass(Point) and Point.__dataclass_params__.frozen  # type: ignore[attr-defined]


def test_frozen_when_keyword_only_or_inherited_then_signature_matches_the_dataclass() -> None:
    t = Tick(ts=5, price=1.5)
    assert (t.ts, t.label, t.price) == (5, "none", 1.5)
    with pytest.raises(TypeError):
        Stamped(1)  # type: ignore[misc]
    with pytest.raises(TypeError):
        Tick(ts=1)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Point()  # type: ignore[call-arg]

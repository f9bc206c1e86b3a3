"""`frozen`: the decorator for the domain's immutable message and value types.

`@frozen` is `@dataclass(frozen=True, slots=True)` (and `@frozen(kw_only=True)` adds `kw_only`),
with one difference: the generated `__init__` stores each field through its slot directly. A
frozen dataclass's own `__init__` goes through `object.__setattr__` for every field, which makes
constructing one about three times slower than a plain class; the engine builds tens of thousands
of these per backtest (proposals, intents, verdicts, fills, snapshots), so that cost showed up as
a tenth of the run. Everything else is the dataclass's: equality, hashing, repr, `replace`,
pickling, and the instances stay immutable (assigning a field raises `FrozenInstanceError`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import MISSING, field
from typing import Any, TypeVar, overload

from typing_extensions import dataclass_transform

T = TypeVar("T")


class _Factory:
    """Default of a parameter whose field has a default factory (shown as `<factory>`)."""

    def __repr__(self) -> str:
        return "<factory>"


_FACTORY = _Factory()


@overload
def frozen(cls: type[T], /) -> type[T]: ...


@overload
def frozen(*, kw_only: bool = False) -> Callable[[type[T]], type[T]]: ...


@dataclass_transform(frozen_default=True, field_specifiers=(field,))
def frozen(cls: type[T] | None = None, /, *, kw_only: bool = False) -> Any:
    """A frozen, slotted dataclass that constructs as fast as a plain class (see the module)."""

    def make(target: type[T]) -> type[T]:
        made = dataclasses.dataclass(frozen=True, slots=True, kw_only=kw_only)(target)
        made.__init__ = _slot_init(made)  # type: ignore[method-assign]
        return made

    return make if cls is None else make(cls)


def _slot_init(cls: type) -> Callable[..., None]:
    """An `__init__` with the dataclass's parameters (order, defaults, factories, keyword-only
    fields) that sets each field's slot with the slot's own descriptor, then calls
    `__post_init__` when the class has one: what the dataclass's `__init__` does, minus
    `object.__setattr__`."""
    positional: list[str] = []
    keyword: list[str] = []
    body: list[str] = []
    env: dict[str, Any] = {"_FACTORY": _FACTORY}
    for f in dataclasses.fields(cls):
        setter = f"_set_{f.name}"
        env[setter] = getattr(cls, f.name).__set__
        if f.default is not MISSING:
            env[f"_default_{f.name}"] = f.default
        if f.default_factory is not MISSING:
            env[f"_factory_{f.name}"] = f.default_factory
        if f.init:
            if f.default is not MISSING:
                param, given = f"{f.name}=_default_{f.name}", f.name
            elif f.default_factory is not MISSING:
                param = f"{f.name}=_FACTORY"
                given = f"_factory_{f.name}() if {f.name} is _FACTORY else {f.name}"
            else:
                param, given = f.name, f.name
            (keyword if f.kw_only else positional).append(param)
            body.append(f"{setter}(self, {given})")
        elif f.default is not MISSING:
            body.append(f"{setter}(self, _default_{f.name})")
        elif f.default_factory is not MISSING:
            body.append(f"{setter}(self, _factory_{f.name}())")
    if hasattr(cls, "__post_init__"):
        body.append("self.__post_init__()")
    params = ", ".join(["self", *positional, *(["*", *keyword] if keyword else [])])
    lines = "\n".join(f"        {line}" for line in body or ["pass"])
    source = (f"def _make({', '.join(env)}):\n"
              f"    def __init__({params}):\n{lines}\n"
              f"    return __init__\n")
    namespace: dict[str, Any] = {}
    exec(source, {}, namespace)  # noqa: S102 - generated from the class's own field names
    init: Callable[..., None] = namespace["_make"](**env)
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    return init


__all__ = ["frozen"]

"""The engine's persisted control state, as one typed record, and the shell's journaled commands.

Two processes share the control state: the running engine and the shell (`robo-tui halt`,
`resume`, `proposals approve|reject`). The engine owns the record and writes it; the shell
appends commands to a journal the engine consumes (at its next control sync, or at its next
start when none runs). The store keeps the record in its key/value table, one key per field, in
the same text as earlier versions wrote, so an existing database loads unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import field
from datetime import datetime
from typing import Literal, TypeVar

from robo_tui.domain.frozen import frozen
from robo_tui.domain.risk import Mode, TradingState

Protections = Mapping[str, tuple[float | None, float | None]]
"""(stop, target) per symbol that a simulated venue re-arms after a restart."""

_SORTED_JSON = json.JSONEncoder(sort_keys=True)
_E = TypeVar("_E", TradingState, Mode)

CONTROL_KEYS = ("trading_state", "halt_reason", "day_start", "peak_equity", "risk_rebase",
                "protections", "mode", "halt_codes", "day_open")
"""The store's keys for the record's fields (the text written by every version so far)."""


@frozen
class ControlState:
    """What must survive a restart: the kill switch, the day's and the peak's equity for the
    loss limits, the venue's protections and the mode. None means never set."""

    trading_state: TradingState | None = None
    halt_reason: str = ""
    day: str = ""
    """The trading day (ISO date) `day_start_equity` belongs to; "" before the first."""
    day_start_equity: float | None = None
    day_open_equity: float | None = None
    """The equity `day` opened with (the day's P&L); None in databases from before it was kept."""
    peak_equity: float | None = None
    risk_rebase: bool = False
    """A resume from an earlier version's shell asked to measure the limits from equity now."""
    protections: Protections = field(default_factory=dict)
    mode: Mode | None = None
    halt_codes: tuple[str, ...] = ()
    """The risk codes that halted trading (a loss limit, the circuit breaker); () for a halt by
    hand. Restored with the halt, so the meters and the view say why after a restart."""
    live_baseline: str = ""
    """The live broker whose real equity the day's start and the drawdown peak were first taken
    from ("" before the first live start): a restart keeps that peak, never re-bases it."""

    @property
    def halted(self) -> bool:
        """Whether the kill switch is latched."""
        return self.trading_state is TradingState.HALTED

    def to_keys(self) -> dict[str, str]:
        """The record as the store's key/value text (fields never set are left out)."""
        keys: dict[str, str] = {"halt_reason": self.halt_reason,
                                "risk_rebase": "pending" if self.risk_rebase else ""}
        if self.trading_state is not None:
            keys["trading_state"] = self.trading_state.value
        if self.day_start_equity is not None:
            keys["day_start"] = f"{self.day}|{self.day_start_equity!r}"
        if self.day_open_equity is not None:
            keys["day_open"] = repr(self.day_open_equity)
        if self.peak_equity is not None:
            keys["peak_equity"] = repr(self.peak_equity)
        keys["protections"] = encode_protections(self.protections)
        if self.mode is not None:
            keys["mode"] = self.mode.value
        keys["halt_codes"] = ",".join(self.halt_codes)
        if self.live_baseline:
            keys["live_baseline"] = self.live_baseline
        return keys

    @classmethod
    def from_keys(cls, keys: Mapping[str, str]) -> ControlState:
        """The record from the store's key/value text; an unreadable value counts as unset."""
        day, _, equity = keys.get("day_start", "").partition("|")
        return cls(
            trading_state=_enum(TradingState, keys.get("trading_state")),
            halt_reason=keys.get("halt_reason", ""),
            day=day if equity else "",
            day_start_equity=_number(equity),
            day_open_equity=_number(keys.get("day_open", "")),
            peak_equity=_number(keys.get("peak_equity", "")),
            risk_rebase=keys.get("risk_rebase") == "pending",
            protections=decode_protections(keys.get("protections", "")),
            mode=_enum(Mode, keys.get("mode")),
            halt_codes=tuple(c for c in keys.get("halt_codes", "").split(",") if c),
            live_baseline=keys.get("live_baseline", ""),
        )


def encode_protections(protections: Protections) -> str:
    """Protections as sorted JSON (the text the store has always held)."""
    return _SORTED_JSON.encode(dict(protections))


def decode_protections(text: str) -> dict[str, tuple[float | None, float | None]]:
    """Protections from their JSON text ({} when never written)."""
    if not text:
        return {}
    return {symbol: (stop, target) for symbol, (stop, target) in json.loads(text).items()}


def _number(text: str) -> float | None:
    try:
        return float(text) if text else None
    except ValueError:
        return None


def _enum(kind: type[_E], text: str | None) -> _E | None:
    try:
        return kind(text) if text else None
    except ValueError:
        return None


CommandKind = Literal["halt", "resume", "approve", "reject", "cancel", "drift_accept", "flatten"]


@frozen
class JournaledCommand:
    """A shell action (`robo-tui halt`, `resume`, `proposals approve|reject`) waiting in the
    store's journal for the engine to carry it out."""

    id: int
    ts: datetime
    kind: CommandKind
    payload: Mapping[str, str]
    """`reason` for halt and reject, `proposal_id` for approve and reject, `order_id` (a client
    order id) for cancel, `symbol` for flatten ("*": every position)."""
    by: str


def halted_after(state: ControlState, pending: Sequence[JournaledCommand]) -> bool:
    """Whether trading is halted once the engine has carried out the `pending` commands."""
    halted = state.halted
    for command in pending:
        if command.kind == "halt":
            halted = True
        elif command.kind == "resume":
            halted = False
    return halted

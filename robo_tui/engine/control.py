"""The engine's persisted control state and the shell's command journal.

The engine owns one typed `ControlState` (kill switch, day and peak equity, protections, mode)
and writes it through the store; the shell (`robo-tui halt`, `resume`, `proposals approve|
reject`) never edits it: it journals commands this room hands to the engine, each once.
"""

from __future__ import annotations

from collections.abc import Callable

from robo_tui.domain.control import ControlState, JournaledCommand, halted_after
from robo_tui.domain.risk import TradingState
from robo_tui.ports import Store


class PersistedControl:
    """The control record as last read or written (`state`) and the kill-switch state the
    engine last acted on, so a change another process wrote is noticed once."""

    def __init__(self, store: Store) -> None:
        self.state = ControlState()
        self._store = store
        self._seen: TradingState | None = None
        self._halt_checked: tuple[tuple[int, int], TradingState | None] | None = None
        """The store's change marker and the state acted on when `halt_waiting` last found no
        halt: while both are unchanged there is nothing new to read."""

    async def restore(self) -> ControlState:
        """Read the record at start."""
        self.state = await self._store.load_control()
        self._seen = self.state.trading_state
        return self.state

    async def update(self, change: Callable[[ControlState], ControlState], by: str) -> None:
        """Change the record: read it fresh (the shell or an older version may have written
        it), apply `change`, write what changed."""
        stored = await self._store.load_control()
        self.state = change(stored)
        await self._store.save_control(self.state, by)
        if self.state.trading_state != stored.trading_state:
            self._seen = self.state.trading_state  # the engine's own change, already acted on

    async def written_elsewhere(self) -> ControlState | None:
        """The record when another process changed its kill switch since the engine last acted
        on it (an older version's shell wrote the key), else None."""
        control = await self._store.load_control()
        if control.trading_state == self._seen:
            return None
        self._seen = control.trading_state
        return control

    async def halt_waiting(self) -> str | None:
        """Why trading must stop now when the shell has halted it (a journaled `halt` not yet
        carried out, or a HALTED state an older shell wrote) and the engine has not acted on it
        yet; None otherwise. Reads the journal and the record only when the store's change
        marker says another writer may have changed them: cheap before every order is sent."""
        marker = (await self._store.change_marker(), self._seen)
        if marker == self._halt_checked:
            return None
        pending = await self._store.pending_commands()
        stored = await self._store.load_control()
        # from the state the engine last acted on, unless another process changed it since
        known = stored if stored.trading_state != self._seen else ControlState(self._seen)
        if not halted_after(known, pending):
            self._halt_checked = marker
            return None
        halts = [c for c in pending if c.kind == "halt"]
        reason = halts[-1].payload.get("reason", "") if halts else stored.halt_reason
        return reason or "halted from the shell"

    async def next_command(self) -> JournaledCommand | None:
        """The oldest journaled command not yet carried out, marked consumed before it is
        handed over (an approval can never be submitted twice); None when there is none."""
        pending = await self._store.pending_commands()
        if not pending:
            return None
        await self._store.consume_command(pending[0].id)
        return pending[0]

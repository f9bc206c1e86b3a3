"""Health of the engine's sources (data, news, model, broker, ...) and the circuit breaker.

Every failure is reported as an event and counted by the risk gate's circuit breaker; the first
failure of a healthy source and its first success afterwards are announced as health changes.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from robo_tui.domain.events import EngineErrorOccurred, SourceHealthChanged
from robo_tui.domain.risk import TradingState
from robo_tui.engine.bus import EventBus
from robo_tui.engine.risk import RiskGate
from robo_tui.ports import Clock

log = logging.getLogger("robo_tui.engine.engine")  # the engine's log, as before the split

OnTrip = Callable[[TradingState, str], Awaitable[None]]
"""Called when the circuit breaker halts trading: (the state before, the reason)."""


class Health:
    """Per-source health (`sources`: kind → (healthy, last message)) and the errors of the cycle
    in progress (`errors`, reset by the engine each cycle)."""

    def __init__(self, *, bus: EventBus, clock: Clock, risk: RiskGate, on_trip: OnTrip) -> None:
        self.sources: dict[str, tuple[bool, str]] = {}
        self.errors: list[str] = []
        self._bus = bus
        self._clock = clock
        self._risk = risk
        self._on_trip = on_trip

    def error(self, where: str, message: str) -> None:
        """Report an error: logged, listed in the cycle's summary, published."""
        log.warning("%s: %s", where, message)
        self.errors.append(f"{where}: {message}")
        self._bus.publish(EngineErrorOccurred(ts=self._clock.now(), where=where, message=message))

    def success(self, kind: str) -> None:
        """`kind` answered: the breaker's count restarts; a recovery is announced."""
        self._risk.record_success(kind)
        if not self.sources.get(kind, (True, ""))[0]:
            self.sources[kind] = (True, "")
            self._bus.publish(SourceHealthChanged(ts=self._clock.now(), source=kind, healthy=True,
                                                  message="recovered"))

    def symbol_problem(self, symbol: str, kind: str, message: str) -> None:
        """One symbol's data cannot be traded on (`kind`: stale, marks): logged and announced
        as the health of the source `data:<symbol>` (the console and headless output show it)."""
        log.warning("%s", message)
        self.sources[f"data:{symbol}"] = (False, message)
        self._bus.publish(SourceHealthChanged(ts=self._clock.now(), source=f"data:{symbol}",
                                              healthy=False, message=f"{kind}: {message}"))

    def symbol_recovered(self, symbol: str, kind: str, message: str) -> None:
        """A symbol's data problem of `kind` is over: announced once."""
        if self.sources.pop(f"data:{symbol}", None) is not None:
            self._bus.publish(SourceHealthChanged(ts=self._clock.now(), source=f"data:{symbol}",
                                                  healthy=True, message=f"{kind}: {message}"))

    def stale_symbols(self) -> list[str]:
        """Symbols with a data problem now (stale data, disagreeing marks), sorted."""
        return sorted(k.removeprefix("data:") for k, (ok, _) in self.sources.items()
                      if k.startswith("data:") and not ok)

    async def failure(self, kind: str, message: str) -> None:
        """A data/model/broker failure: reported, counted by the circuit breaker (which may halt)."""
        self.error(kind, message)
        healthy_before = self.sources.get(kind, (True, ""))[0]
        self.sources[kind] = (False, message)
        if healthy_before:
            self._bus.publish(SourceHealthChanged(ts=self._clock.now(), source=kind, healthy=False,
                                                  message=message))
        old = self._risk.state
        new = self._risk.record_failure(kind, message)
        if new is TradingState.HALTED and old is not TradingState.HALTED:
            await self._on_trip(old, f"circuit breaker: {message}")

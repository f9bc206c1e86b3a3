"""The audit recorder: every event written once, a symbol's unchanged signals not written again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from robo_tui.adapters.store.memory import MemoryStore
from robo_tui.domain.events import SignalsComputed
from robo_tui.domain.signals import Direction, EnsembleDecision, Signal
from robo_tui.engine.bus import EventBus
from robo_tui.engine.recorder import EventRecorder

T0 = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)


def _signals(symbol: str, score: float, at: datetime, reason: str = "SMA10 above SMA20") -> SignalsComputed:
    vote = Signal("sma_cross", symbol, score, abs(score), reason, at)
    decision = EnsembleDecision(symbol, at, score, abs(score),
                                Direction.LONG if score > 0 else Direction.SHORT, (vote,))
    return SignalsComputed(ts=at, decision=decision)


async def test_signals_when_a_symbol_repeats_its_votes_then_only_the_change_is_written() -> None:
    bus, store = EventBus(), MemoryStore()
    recorder = EventRecorder(bus, store)
    for cycle in range(5):  # the same bar's votes, recomputed every cycle
        bus.publish(_signals("AAPL", 0.5, T0 + timedelta(seconds=5 * cycle)))
    bus.publish(_signals("MSFT", 0.5, T0))
    bus.publish(_signals("AAPL", 0.5, T0 + timedelta(minutes=1), reason="SMA10 crossed above"))
    bus.publish(_signals("AAPL", -0.5, T0 + timedelta(minutes=2)))

    written = await recorder.flush()

    assert written == 4
    assert recorder.unchanged == 4
    kinds = [(kind, payload["decision"]["symbol"]) for _, kind, payload, _ in store.audit_log]
    assert kinds == [("event.SignalsComputed", "AAPL"), ("event.SignalsComputed", "MSFT"),
                     ("event.SignalsComputed", "AAPL"), ("event.SignalsComputed", "AAPL")]

"""The console's view: built on the engine side from its public state, published when something
shown changed, with each pending proposal's pre-check computed by the engine, not by a pane."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from robo_tui.domain.risk import Mode
from robo_tui.engine.clock import SimClock
from robo_tui.engine.view import ConsoleView, ViewPublisher, ViewUpdated, build_view
from tests.unit.ui_widgets.conftest import start_harness


async def test_build_view_when_engine_has_traded_then_it_holds_positions_meters_and_health(
    tmp_path: Path, clock: SimClock
) -> None:
    h = await start_harness(tmp_path, clock)
    try:
        await h.cycles(12)
        view = build_view(h.engine)
        held = {s for s, p in h.engine.account.positions.items() if p.quantity}
        assert {p.position.symbol for p in view.positions} == held
        for row in view.positions:
            assert (row.held_by is None) == (row.stop is None and row.target is None)
        assert view.equity == h.engine.account.equity and view.cycle == h.engine.cycle
        assert view.feed_name == h.engine.feed.name and view.broker_name == h.engine.broker.name
        assert [m.key for m in view.meters] and view.strategies
        with pytest.raises(dataclasses.FrozenInstanceError):
            view.cycle = 0  # type: ignore[misc]
    finally:
        await h.engine.stop()


async def test_publisher_when_nothing_changed_then_no_new_view_and_when_paused_then_one(
    tmp_path: Path, clock: SimClock
) -> None:
    h = await start_harness(tmp_path, clock)
    try:
        publisher = ViewPublisher(h.engine)
        seen: list[ViewUpdated] = []
        publisher.subscribe(seen.append)
        first = publisher.poll()
        assert isinstance(first, ConsoleView) and len(seen) == 1
        assert publisher.poll() is None and len(seen) == 1  # nothing changed: nothing published
        h.engine.pause(True)  # publishes no bus event: the stamp notices it
        assert publisher.poll() is not None and seen[-1].view.paused
        publisher.close()
    finally:
        await h.engine.stop()


async def test_publisher_when_proposals_wait_then_each_carries_the_engine_precheck_once(
    tmp_path: Path, clock: SimClock
) -> None:
    h = await start_harness(tmp_path, clock, mode=Mode.SEMI_AUTO)
    try:
        for _ in range(40):
            await h.cycles(1)
            if h.engine.pending:
                break
        assert h.engine.pending
        publisher = ViewPublisher(h.engine)
        view = publisher.poll()
        assert view is not None
        for pending in view.pending:
            assert pending.precheck == h.engine.precheck(pending.proposal)
        calls = 0
        real = h.engine.precheck

        def counting(proposal):  # type: ignore[no-untyped-def]
            nonlocal calls
            calls += 1
            return real(proposal)

        h.engine.precheck = counting  # type: ignore[method-assign]
        clock.advance(1)  # the clock moves; the account and the proposals do not
        publisher.poll()
        assert calls == 0  # the pre-check is not re-run on a timer
        publisher.close()
    finally:
        await h.engine.stop()

"""The proposals queue: pending trades with votes, rationale, pre-check and a live countdown."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from robo_tui.domain.risk import Mode
from robo_tui.engine.view import build_view
from robo_tui.ui.widgets.proposals import COLUMN_KEYS, ProposalsQueue, proposal_detail_text

from .conftest import Harness, WidgetApp, screen_text


async def semi_auto_with_pending(make_harness: Callable[..., Any]) -> Harness:
    harness: Harness = await make_harness(mode=Mode.SEMI_AUTO)
    for _ in range(30):
        await harness.cycles(1)
        if len(harness.engine.pending) >= 2:
            break
    assert len(harness.engine.pending) >= 2
    return harness


def cells(queue: ProposalsQueue, row: int) -> dict[str, str]:
    return {k: c.plain for k, c in zip(COLUMN_KEYS, queue.get_row_at(row), strict=True)}


async def test_queue_shows_every_pending_proposal_with_size_votes_precheck_and_expiry(
        make_harness: Callable[..., Any]) -> None:
    harness = await semi_auto_with_pending(make_harness)
    engine = harness.engine
    try:
        queue = ProposalsQueue()
        app = WidgetApp(queue)
        async with app.run_test(size=(200, 12)) as pilot:
            queue.update_from(build_view(engine))
            await pilot.pause()
            assert queue.row_count == len(engine.pending)
            for row in range(queue.row_count):
                shown = cells(queue, row)
                proposal = engine.pending[shown["id"]]
                assert shown["symbol"] == proposal.symbol
                assert shown["side"].startswith(proposal.side.value.upper())
                assert shown["notional"] == f"{proposal.notional:,.2f}"
                verdict = engine.precheck(proposal)
                expected = "allowed" if verdict.allowed else ", ".join(verdict.codes)
                assert shown["precheck"] == expected
                assert proposal.expires_at is not None
                left = (proposal.expires_at - engine.clock.now()).total_seconds()
                assert shown["expires"] == f"{int(left) // 60}:{int(left) % 60:02d}"
                assert proposal.rationale[:40] in shown["rationale"]
            assert queue.border_title == f"Proposals ({len(engine.pending)})"
            assert next(iter(engine.pending)) in screen_text(app)
    finally:
        await engine.stop()


async def test_queue_when_time_passes_then_countdown_moves_and_cursor_stays(
        make_harness: Callable[..., Any]) -> None:
    harness = await semi_auto_with_pending(make_harness)
    engine = harness.engine
    try:
        queue = ProposalsQueue()
        app = WidgetApp(queue)
        async with app.run_test(size=(200, 12)) as pilot:
            queue.update_from(build_view(engine))
            queue.focus()
            await pilot.press("down")
            chosen = queue.selected_proposal_id()
            assert chosen is not None
            row = queue.get_row_index(chosen)
            before = cells(queue, row)["expires"]
            harness.clock.advance(30)
            queue.update_from(build_view(engine))
            await pilot.pause()
            assert queue.selected_proposal_id() == chosen
            after = cells(queue, queue.get_row_index(chosen))["expires"]
            assert after != before
            m1, s1 = before.split(":")
            m2, s2 = after.split(":")
            assert (int(m1) * 60 + int(s1)) - (int(m2) * 60 + int(s2)) == 30
    finally:
        await engine.stop()


async def test_queue_when_a_proposal_is_decided_then_its_row_goes(
        make_harness: Callable[..., Any]) -> None:
    harness = await semi_auto_with_pending(make_harness)
    engine = harness.engine
    try:
        queue = ProposalsQueue()
        app = WidgetApp(queue)
        async with app.run_test(size=(200, 12)):
            queue.update_from(build_view(engine))
            first = queue.selected_proposal_id()
            assert first is not None
            await engine.reject(first, by="test", reason="not today")
            queue.update_from(build_view(engine))
            assert first not in [cells(queue, r)["id"] for r in range(queue.row_count)]
            assert queue.row_count == len(engine.pending)
    finally:
        await engine.stop()


async def test_queue_detail_has_votes_rationale_and_precheck(
        make_harness: Callable[..., Any]) -> None:
    harness = await semi_auto_with_pending(make_harness)
    engine = harness.engine
    try:
        queue = ProposalsQueue()
        app = WidgetApp(queue)
        async with app.run_test(size=(120, 12)):
            queue.update_from(build_view(engine))
            detail = queue.detail()
            proposal = queue.selected_proposal()
            assert detail is not None and proposal is not None
            text = detail.plain
            assert f"Proposal {proposal.id}" in text
            assert "Risk pre-check" in text
            for vote in proposal.votes:
                assert vote.voter in text
            assert proposal.rationale.splitlines()[0] in text
            same = proposal_detail_text(proposal, engine.precheck(proposal)).plain
            assert same == text
    finally:
        await engine.stop()


async def test_queue_when_empty_then_nothing_is_selected(harness: Harness) -> None:
    queue = ProposalsQueue()
    app = WidgetApp(queue)
    async with app.run_test(size=(20, 3)) as pilot:
        queue.update_from(build_view(harness.engine))
        await pilot.pause()
        assert queue.selected_proposal_id() is None
        assert queue.detail() is None

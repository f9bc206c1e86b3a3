"""Engine event batches merge when they queue up, without changing a message once posted and
without losing or repeating an event."""

from __future__ import annotations

from textual.app import App

from robo_tui.ui.messages import EngineEvents
from robo_tui.ui.screens.board import PaneBoard
from robo_tui.ui.widgets import EventFeed

from .test_feed import news


def test_can_replace_when_a_newer_batch_carries_this_ones_events_then_true_and_nothing_changes() -> None:
    older = EngineEvents((news(1, "a"), news(2, "b")), first=0)
    newer = EngineEvents(older.events + (news(3, "c"),), first=0)
    assert older.can_replace(newer)
    assert len(older.events) == 2 and len(newer.events) == 3  # neither was changed


def test_can_replace_when_the_newer_batch_starts_later_then_false() -> None:
    older = EngineEvents((news(1, "a"),), first=0)
    assert not older.can_replace(EngineEvents((news(2, "b"),), first=1))


async def test_board_when_batches_overlap_then_each_event_reaches_the_feed_once() -> None:
    class BoardApp(App[None]):
        def on_mount(self) -> None:
            self.push_screen(PaneBoard())

    app = BoardApp()
    async with app.run_test(size=(120, 40)) as pilot:
        board = app.screen
        assert isinstance(board, PaneBoard)
        first = EngineEvents((news(1, "a"),), first=0)
        merged = EngineEvents(first.events + (news(2, "b"),), first=0)
        board.post_message(first)
        board.post_message(merged)  # the older one may or may not be handled first
        await pilot.pause()
        assert board.events_handled == 2
        assert board.query_one(EventFeed).received == 2

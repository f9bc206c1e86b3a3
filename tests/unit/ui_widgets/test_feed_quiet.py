"""The feed's default filter is quiet when nothing happens: one cycle line per change of the
engine's health (not one every 5 s), and a denial repeated every cycle (a cooldown) folded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from robo_tui.domain.commands import SubmitOrder
from robo_tui.domain.events import CycleCompleted, Event, OrderDenied
from robo_tui.domain.orders import OrderIntent, Side
from robo_tui.domain.risk import Mode, RiskReason, RiskVerdict, TradingState
from robo_tui.ui.widgets.feed import EventFeed

from .conftest import WidgetApp

T0 = datetime(2026, 1, 5, 14, 30, tzinfo=UTC)


def cycle(n: int, *, state: TradingState = TradingState.ACTIVE, positions: int = 1
          ) -> CycleCompleted:
    return CycleCompleted(ts=T0 + timedelta(seconds=5 * n), cycle=n, state=state, mode=Mode.PAPER,
                          equity=100_000.0, cash=90_000.0, day_pnl=0.0, proposals=0, denied=0,
                          orders=0, fills=0, positions=positions)


def cooldown(seconds: float, symbol: str = "AAPL") -> OrderDenied:
    intent = OrderIntent(symbol, Side.BUY, 10)
    verdict = RiskVerdict(False, TradingState.ACTIVE, (
        RiskReason("cooldown_loss", f"{symbol} closed at a loss 1 minute ago"),))
    return OrderDenied(ts=T0 + timedelta(seconds=seconds), command=SubmitOrder(intent, "strategy"),
                       verdict=verdict)


async def test_feed_when_cycles_report_the_same_health_then_only_changes_are_shown() -> None:
    feed = EventFeed()
    async with WidgetApp(feed).run_test(size=(120, 20)) as pilot:
        feed.add_events([cycle(n) for n in range(1, 721)])  # an hour of 5 s cycles
        feed.add_events([cycle(721, positions=2), cycle(722, positions=2),
                         cycle(723, state=TradingState.HALTED, positions=2)])
        await pilot.pause()
        shown = [e.cycle for e in feed.visible_events() if isinstance(e, CycleCompleted)]
        assert shown == [1, 721, 723]
        assert "720 repeats folded" in str(feed.border_subtitle)
        feed.set_filter({"cycle"}, None)  # asked for: every cycle
        assert len(feed.visible_events()) == 723
        feed.set_filter(None, None)  # back to the default: quiet again
        assert [e.cycle for e in feed.visible_events() if isinstance(e, CycleCompleted)] == [
            1, 721, 723]


async def test_feed_when_a_cooldown_denies_the_same_entry_every_cycle_then_it_is_folded() -> None:
    feed = EventFeed()
    async with WidgetApp(feed).run_test(size=(120, 20)) as pilot:
        events: list[Event] = [cooldown(5 * n) for n in range(100)]  # 8 minutes of refusals
        events.append(cooldown(30, "MSFT"))  # another symbol is news
        events.append(cooldown(40 * 60))  # the same refusal much later is shown again
        feed.add_events(events)
        await pilot.pause()
        shown = feed.visible_events()
        assert [(e.command.intent.symbol, e.ts) for e in shown if isinstance(e, OrderDenied)] == [
            ("AAPL", T0), ("MSFT", T0 + timedelta(seconds=30)),
            ("AAPL", T0 + timedelta(minutes=40))]
        feed.set_filter({"risk"}, None)
        assert len(feed.visible_events()) == 102

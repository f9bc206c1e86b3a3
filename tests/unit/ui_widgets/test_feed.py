"""The event feed: hostile text shows literally, bounded memory, filters, cursor and detail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from robo_tui.domain.commands import SubmitOrder
from robo_tui.domain.events import (
    CycleCompleted,
    Event,
    IdeaGenerated,
    NewsReceived,
    OrderDenied,
    ProposalCreated,
    SignalsComputed,
)
from robo_tui.domain.news import EventType, NewsItem, TradeIdea
from robo_tui.domain.orders import OrderIntent, Side
from robo_tui.domain.risk import Mode, RiskReason, RiskVerdict, TradingState
from robo_tui.domain.signals import Direction, EnsembleDecision, Proposal, Signal
from robo_tui.ui.widgets.feed import KINDS, EventFeed, detail_text

from .conftest import Harness, WidgetApp, screen_segments, screen_text

T0 = datetime(2026, 1, 5, 14, 30, tzinfo=UTC)

HOSTILE = [
    "[bold red]AAPL[/bold red] soars [link=https://evil.example]click[/link]",
    "\x1b[31mRED ALERT\x1b[0m \x1b[2J\x1b[H screen wiped",
    "Apple\u200b beats\u200d estimates\ufeff",
    "MSFT \u202eSELL\u202c everything",
    "\x1b]8;;http://evil.example\x07phish\x1b]8;;\x07 and \x9b31m C1",
    "paid\rFAILED\x08\x08\x07 bell",
]


def news(i: int, title: str, symbols: tuple[str, ...] = ("AAPL",)) -> NewsReceived:
    ts = T0 + timedelta(seconds=i)
    item = NewsItem(f"n{i}", "wire\x1b[5m", title, "summary", "https://x.example", ts, ts, symbols)
    return NewsReceived(ts=ts, item=item)


def idea(news_ids: tuple[str, ...] = ("n0",)) -> IdeaGenerated:
    trade_idea = TradeIdea("I-1", T0, "ollama", "llama3.1:8b", "AAPL", Direction.LONG, 0.6, 0.7,
                           "1d", EventType.EARNINGS, news_ids,
                           "Earnings beat.\nGuidance raised [bold]strongly[/bold]\x1b[31m.",
                           latency_ms=812.0)
    return IdeaGenerated(ts=T0, idea=trade_idea, decision_id="D-9")


def denial() -> OrderDenied:
    intent = OrderIntent("AAPL", Side.BUY, 500, confidence=0.9)
    verdict = RiskVerdict(False, TradingState.ACTIVE, (
        RiskReason("max_position", "position would be 40.0% of equity, limit 10.0%"),
        RiskReason("missing_stop", "an entry needs a stop loss"),
        RiskReason("max_order_notional", "order notional 100,000.00 above 25,000.00"),
    ))
    return OrderDenied(ts=T0, command=SubmitOrder(intent, "ui"), verdict=verdict)


def signal(symbol: str = "AAPL") -> SignalsComputed:
    vote = Signal("sma_cross", symbol, 1.0, 1.0, "fast above slow", T0)
    decision = EnsembleDecision(symbol, T0, 0.5, 0.5, Direction.LONG, (vote,))
    return SignalsComputed(ts=T0, decision=decision)


def cycle(n: int) -> CycleCompleted:
    return CycleCompleted(ts=T0, cycle=n, state=TradingState.ACTIVE, mode=Mode.PAPER,
                          equity=100_000.0, cash=90_000.0, day_pnl=12.5, proposals=2, denied=1,
                          orders=1, fills=1, positions=1, duration_ms=42.0)


async def test_feed_when_hostile_headlines_then_rendered_literally_without_error() -> None:
    feed = EventFeed()
    app = WidgetApp(feed)
    async with app.run_test(size=(200, 20)) as pilot:
        feed.add_events([news(i, title) for i, title in enumerate(HOSTILE)])
        await pilot.pause()
        shown = screen_text(app)
        assert "[bold red]AAPL[/bold red] soars [link=https://evil.example]click[/link]" in shown
        assert "␛[31mRED ALERT␛[0m ␛[2J␛[H screen wiped" in shown
        assert "Apple<U+200B> beats<U+200D> estimates<U+FEFF>" in shown
        assert "MSFT <U+202E>SELL<U+202C> everything" in shown
        assert "␛]8;;http://evil.example␇phish" in shown and "<U+009B>31m C1" in shown
        assert "paid␍FAILED␈␈␇ bell" in shown
        assert "wire␛[5m" in shown
        raw = "".join(screen_segments(app))
        for bad in ("\x1b", "\x9b", "\x07", "\r", "\x08", "\u202e", "\u200b", "\ufeff"):
            assert bad not in raw
        # the detail view is just as literal
        detail = feed.detail(feed.visible_events()[0]).plain
        assert "[bold red]AAPL[/bold red]" in detail


async def test_feed_when_hostile_rationale_then_detail_keeps_lines_and_escapes_the_rest() -> None:
    text = detail_text(idea()).plain
    assert "Earnings beat.\nGuidance raised [bold]strongly[/bold]␛[31m." in text


async def test_add_events_when_far_more_than_max_rows_then_bounded_and_newest_kept() -> None:
    feed = EventFeed(max_rows=100)
    app = WidgetApp(feed)
    async with app.run_test(size=(100, 10)) as pilot:
        for batch in range(50):
            feed.add_events([news(batch * 10 + i, f"headline {batch * 10 + i}") for i in range(10)])
        await pilot.pause()
        shown = feed.visible_events()
        assert feed.received == 500
        assert 100 <= len(shown) <= 100 + 100 // 4 + 16
        assert isinstance(shown[-1], NewsReceived) and shown[-1].item.title == "headline 499"
        assert "headline 499" in screen_text(app)  # following the newest entry


async def test_feed_default_filter_then_signals_and_market_hidden_and_cycles_compact() -> None:
    feed = EventFeed()
    app = WidgetApp(feed)
    async with app.run_test(size=(120, 10)) as pilot:
        feed.add_events([signal(), cycle(7), news(1, "hello")])
        await pilot.pause()
        assert [type(e) for e in feed.visible_events()] == [CycleCompleted, NewsReceived]
        line = feed.line_text(0).plain
        assert line.startswith("14:30:00 cycle #7 ACTIVE eq 100,000.00 day +12.50")
        assert "\n" not in line


async def test_set_filter_when_kind_and_symbol_then_only_matching_events() -> None:
    feed = EventFeed()
    app = WidgetApp(feed)
    async with app.run_test(size=(120, 10)) as pilot:
        events: list[Event] = [news(1, "apple", ("AAPL",)), news(2, "msft", ("MSFT",)),
                               signal("AAPL"), signal("MSFT"), denial(), cycle(1)]
        feed.add_events(events)
        feed.set_filter({"signal"}, None)
        assert feed.visible_events() == [events[2], events[3]]
        feed.set_filter(None, "msft")
        assert feed.visible_events() == [events[1]]
        feed.set_filter({"news", "risk", "signal"}, "AAPL")
        # by event time (signal, denial 14:30:00; news 14:30:01), as issue 15 asks
        assert feed.visible_events() == [events[2], events[4], events[0]]
        feed.add_events([news(3, "more apple"), news(4, "more msft", ("MSFT",))])
        assert [e.item.title for e in feed.visible_events() if isinstance(e, NewsReceived)] == [
            "apple", "more apple"]
        feed.set_filter(None, None)
        assert len(feed.visible_events()) == 6  # two signals hidden by default
        await pilot.pause()


async def test_cursor_when_moved_up_then_selected_event_stays_while_new_events_arrive() -> None:
    feed = EventFeed()
    app = WidgetApp(feed)
    async with app.run_test(size=(120, 6)) as pilot:
        feed.add_events([news(i, f"headline {i}") for i in range(20)])
        feed.focus()
        await pilot.pause()
        assert feed.selected_event() is feed.visible_events()[-1]
        await pilot.press("up", "up")
        chosen = feed.selected_event()
        assert isinstance(chosen, NewsReceived) and chosen.item.title == "headline 17"
        feed.add_events([news(100 + i, f"later {i}") for i in range(5)])
        await pilot.pause()
        assert feed.selected_event() is chosen
        assert "5 new" in str(feed.border_subtitle)
        await pilot.press("end")
        newest = feed.selected_event()
        assert isinstance(newest, NewsReceived) and newest.item.title == "later 4"


async def test_enter_when_an_event_is_selected_then_event_selected_is_posted() -> None:
    feed = EventFeed()
    app = WidgetApp(feed)
    posted: dict[int, Event] = {}  # the hook sees a bubbling message once per node

    def hook(message: object) -> None:
        if isinstance(message, EventFeed.EventSelected):
            posted[id(message)] = message.event

    async with app.run_test(size=(120, 6), message_hook=hook) as pilot:
        events = [denial(), news(1, "one")]  # in event-time order (the feed sorts by it)
        feed.add_events(events)
        feed.focus()
        await pilot.press("up", "enter")
        await pilot.pause()
    assert list(posted.values()) == [events[0]]


def test_detail_when_idea_then_rationale_model_provider_latency_confidence_and_cited_news() -> None:
    headline = news(0, "Apple beats estimates").item
    text = detail_text(idea(("n0", "n-missing")), {"n0": headline}).plain
    for expected in ("provider      ollama", "model         llama3.1:8b", "latency       812 ms",
                     "confidence    0.70", "n0: Apple beats estimates", "n-missing",
                     "Rationale\nEarnings beat."):
        assert expected in text


def test_detail_when_denied_then_every_reason_is_listed() -> None:
    text = detail_text(denial()).plain
    assert "DENIED (ACTIVE)" in text
    for line in ("• max_position: position would be 40.0% of equity, limit 10.0%",
                 "• missing_stop: an entry needs a stop loss",
                 "• max_order_notional: order notional 100,000.00 above 25,000.00"):
        assert line in text


def test_detail_when_proposal_created_then_votes_rationale_and_precheck() -> None:
    votes = (Signal("sma_cross", "AAPL", 1.0, 1.0, "fast above slow", T0),
             Signal("analyst:ollama", "AAPL", 0.6, 0.7, "earnings \x1b[31mbeat", T0, "analyst"))
    proposal = Proposal("P-1", T0, "AAPL", Side.BUY, 10, 200.0, 190.0, 220.0, 0.8,
                        "ensemble +0.80 → long", votes)
    precheck = RiskVerdict(False, TradingState.ACTIVE,
                           (RiskReason("cooldown_exit", "AAPL was exited 2 minutes ago"),))
    text = detail_text(ProposalCreated(ts=T0, proposal=proposal, precheck=precheck)).plain
    assert "sma_cross" in text and "fast above slow" in text
    assert "earnings ␛[31mbeat" in text
    assert "ensemble +0.80 → long" in text
    assert "• cooldown_exit: AAPL was exited 2 minutes ago" in text
    assert "notional      2,000.00" in text


async def test_feed_with_a_real_engine_then_every_event_kind_renders(harness: Harness) -> None:
    feed = EventFeed()
    app = WidgetApp(feed)
    async with app.run_test(size=(100, 30)) as pilot:
        feed.add_events(harness.events)
        feed.set_filter(set(KINDS), None)
        await pilot.pause()
        kinds = {e.kind for e in feed.visible_events()}
        assert {"news", "signal", "proposal", "order", "fill", "cycle", "market"} <= kinds
        for i in range(len(feed.visible_events())):
            assert feed.line_text(i).plain
        for event in feed.visible_events():
            assert detail_text(event).plain.startswith(type(event).__name__)
        assert screen_text(app).strip()


async def test_feed_when_tiny_then_renders() -> None:
    feed = EventFeed()
    app = WidgetApp(feed)
    async with app.run_test(size=(20, 3)) as pilot:
        feed.add_events([news(1, "a long headline that will not fit"), denial()])
        await pilot.pause()
        assert "14:30" in screen_text(app)


async def test_cursor_when_the_ring_overflows_then_the_selected_event_stays_selected() -> None:
    feed = EventFeed(max_rows=50)
    app = WidgetApp(feed)
    async with app.run_test(size=(120, 8)) as pilot:
        feed.add_events([news(i, f"headline {i}") for i in range(50)])
        feed.focus()
        await pilot.press("up", "up", "up")
        chosen = feed.selected_event()
        assert isinstance(chosen, NewsReceived) and chosen.item.title == "headline 46"
        feed.add_events([news(100 + i, f"later {i}") for i in range(20)])  # 20 oldest dropped
        await pilot.pause()
        assert len(feed.visible_events()) == 50
        assert feed.selected_event() is chosen
        assert "headline 46" in screen_text(app)


async def test_feed_when_events_arrive_out_of_time_order_then_shown_by_event_time() -> None:
    feed = EventFeed()
    app = WidgetApp(feed)
    async with app.run_test(size=(120, 12)) as pilot:
        # a later event published first (a fill at :35 before the :34 line), in two batches
        feed.add_events([news(35, "fill-like later event"), news(36, "still later")])
        feed.add_events([news(34, "earlier event published late")])
        await pilot.pause()
        titles = [e.item.title for e in feed.visible_events()  # type: ignore[attr-defined]
                  if isinstance(e, NewsReceived)]
        assert titles == ["earlier event published late", "fill-like later event", "still later"]
        feed.set_filter(None, None)
        assert [e.ts for e in feed.visible_events()] == sorted(e.ts for e in feed.visible_events())


def test_event_title_when_a_proposal_or_a_denial_then_human_words_not_class_names() -> None:
    from robo_tui.ui.widgets.describe import event_title

    proposal = Proposal("P-1f3a9c", T0, "AAPL", Side.BUY, 3, 170.0, 165.0, 180.0, 0.7, "why")
    titled = event_title(ProposalCreated(ts=T0, proposal=proposal,
                                         precheck=RiskVerdict(True, TradingState.ACTIVE)))
    assert titled == "Proposal BUY 3 AAPL"
    assert event_title(denial()) == "Denied BUY 500 AAPL"
    assert "NewsReceived" not in event_title(news(1, "Apple beats"))
    assert event_title(news(1, "Apple beats")) == "News: Apple beats"

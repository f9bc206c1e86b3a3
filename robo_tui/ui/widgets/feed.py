"""The event feed: every engine event, newest at the bottom, timestamped and coloured by kind.

Entries are ordered by event time (see `_Key`). Built for bursts (the benchmark pushes 10,000 events a second): `add_events` only appends
references to bounded ring buffers and to the filtered view; a line is turned into text only when
it is on screen (Textual's Line API), and the rendered lines are cached. High-rate kinds (market
ticks, signals, portfolio marks) live in a ring of their own so they never push news, orders or
denials out, and are hidden unless the filter asks for them.

The default filter is also quiet when nothing happens (`QuietFilter`): a cycle summary is shown
only when the engine's health changed (trading state, mode, open positions, errors), and a
denial that repeats one shown in the last `REPEAT_WINDOW` (same symbol, side and reasons, such as
a cooldown refusing the same entry every cycle) is folded, counted in the feed's subtitle. Asking
for the `cycle` or `risk` kind (or any kind filter) shows every one of them.

Keys when focused: ↑/↓ (k/j) move the cursor, PgUp/PgDn, Home/End (g/G); End goes back to
following new events; Enter posts `EventFeed.EventSelected` (the app opens the detail).
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections import OrderedDict, deque
from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import ClassVar

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.containers import VerticalScroll
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Static

from robo_tui.domain.events import (
    CycleCompleted,
    Event,
    IdeaGenerated,
    MarketEventDetected,
    NewsReceived,
    OrderDenied,
)
from robo_tui.domain.news import NewsItem, TradeIdea
from robo_tui.ui.widgets.describe import (
    DEFAULT_KINDS,
    KINDS,
    detail_text,
    event_symbols,
    summary_pieces,
    summary_text,
)
from robo_tui.ui.widgets.format import fmt_time

__all__ = ["DEFAULT_KINDS", "KINDS", "NOISY_KINDS", "REPEAT_WINDOW", "EventDetail", "EventFeed",
           "QuietFilter", "detail_text"]

NOISY_KINDS: frozenset[str] = frozenset({"market", "signal", "portfolio"})
"""High-rate kinds, kept in their own smaller ring."""

_TAGS: dict[str, str] = {
    "news": "news ", "idea": "idea ", "signal": "sig  ", "proposal": "prop ", "risk": "risk ",
    "order": "order", "fill": "fill ", "error": "ERROR", "mode": "mode ", "killswitch": "STATE",
    "telemetry": "telem", "strategy": "strat", "portfolio": "port ", "cycle": "cycle",
    "market": "mkt  ",
}
# kinds whose whole line takes the kind's colour (they must stand out)
_LOUD = frozenset({"error", "risk", "killswitch"})

_Key = tuple[float, int]

REPEAT_WINDOW = timedelta(minutes=30)
"""How long the default filter folds a denial that repeats one it showed."""


class QuietFilter:
    """What the default filter leaves out, decided event by event in time order: cycle summaries
    that report the same health as the last one shown, and denials that repeat one shown within
    `REPEAT_WINDOW`. `folded` counts what it left out."""

    def __init__(self) -> None:
        self.folded = 0
        """Events left out so far."""
        self._health: tuple[object, ...] | None = None
        self._denials: dict[tuple[object, ...], float] = {}

    def keep(self, event: Event) -> bool:
        """Whether the default filter shows `event` (every kind but these two always)."""
        if isinstance(event, CycleCompleted):
            health = (event.state, event.mode, event.positions, bool(event.errors))
            if health == self._health:
                self.folded += 1
                return False
            self._health = health
            return True
        if isinstance(event, OrderDenied):
            intent = event.command.intent
            key = (intent.symbol, intent.side, event.verdict.codes)
            ts = event.ts.timestamp()
            shown = self._denials.get(key)
            if shown is not None and 0 <= ts - shown < REPEAT_WINDOW.total_seconds():
                self.folded += 1
                return False
            self._denials[key] = ts
        return True
"""(event time as a POSIX timestamp, arrival sequence number): the feed's order and an entry's
identity. Events reach the bus out of time order (a cycle line is published after the fills it
caused); the feed shows them by event time, arrival order breaking ties."""
_Entry = tuple[_Key, Event]


def _entry_key(entry: _Entry) -> _Key:
    return entry[0]


class EventFeed(ScrollView, can_focus=True):
    """A scrolling, filterable list of engine events (Line API: renders only what is visible)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "cursor_up", "Up", show=False),
        Binding("down,j", "cursor_down", "Down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("home,g", "first", "First", show=False),
        Binding("end,G", "last", "Follow", show=False),
        Binding("enter", "select", "Detail", show=False),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "event-feed--time", "event-feed--cursor", "event-feed--cursor-blurred",
        *(f"event-feed--{kind}" for kind in KINDS),
    }

    DEFAULT_CSS = """
    EventFeed {
        height: 1fr;
        min-height: 3;
        overflow-x: hidden;
        overflow-y: auto;
        background: $surface;
        color: $foreground;
    }
    EventFeed > .event-feed--time { color: $foreground-muted; }
    EventFeed > .event-feed--cursor { background: $block-cursor-background; }
    EventFeed > .event-feed--cursor-blurred { background: $block-cursor-blurred-background; }
    EventFeed > .event-feed--news { color: $accent; }
    EventFeed > .event-feed--idea { color: $secondary; text-style: bold; }
    EventFeed > .event-feed--signal { color: $foreground-muted; }
    EventFeed > .event-feed--proposal { color: $primary; text-style: bold; }
    EventFeed > .event-feed--risk { color: $warning; text-style: bold; }
    EventFeed > .event-feed--order { color: $primary; }
    EventFeed > .event-feed--fill { color: $success; text-style: bold; }
    EventFeed > .event-feed--error { color: $error; text-style: bold; }
    EventFeed > .event-feed--mode { color: $accent; text-style: bold; }
    EventFeed > .event-feed--killswitch { color: $error; text-style: bold reverse; }
    EventFeed > .event-feed--telemetry { color: $foreground-muted; }
    EventFeed > .event-feed--strategy { color: $secondary; }
    EventFeed > .event-feed--portfolio { color: $foreground-muted; }
    EventFeed > .event-feed--cycle { color: $foreground-muted; }
    EventFeed > .event-feed--market { color: $foreground-muted; }
    """

    class EventSelected(Message):
        """The trader pressed Enter (or clicked) on an entry: show its detail."""

        def __init__(self, feed: EventFeed, event: Event) -> None:
            super().__init__()
            self.feed = feed
            self.event = event

        @property
        def control(self) -> EventFeed:
            return self.feed

    def __init__(self, *, max_rows: int = 5000, max_noisy_rows: int = 2000,
                 name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        # rendered rows by (sequence number, width, cursor state): a row's text never changes
        self._lines: LRUCache[tuple[_Key, int, int], Strip] = LRUCache(1024)
        self._base: Style | None = None
        super().__init__(name=name, id=id, classes=classes)
        self.max_rows = max_rows
        """Rows kept (the feed forgets the oldest beyond this)."""
        self._main: deque[_Entry] = deque(maxlen=max_rows)
        self._noisy: deque[_Entry] = deque(maxlen=max_noisy_rows)
        self._view: list[_Entry] = []
        self._seq = 0
        self._kinds: frozenset[str] = DEFAULT_KINDS
        self._kind_filter: set[str] | None = None
        self._quiet: QuietFilter | None = QuietFilter()  # None: a kind filter shows everything
        self._symbol: str | None = None
        self._cursor: _Key | None = None  # the entry under the cursor; None: the newest
        self._follow = True  # keep the newest entry in view (off after scrolling up)
        self._end_pending = False
        self._headlines: OrderedDict[str, NewsItem] = OrderedDict()
        self._unseen = 0
        self.received = 0
        """Events received since mount (all kinds, before filtering)."""

    # ------------------------------------------------------------------ API

    def add_events(self, events: Sequence[Event]) -> None:
        """Append a batch of events (cheap: no text is built here)."""
        if not events:
            return
        kinds, symbol, quiet = self._kinds, self._symbol, self._quiet
        folded = quiet.folded if quiet is not None else 0
        view = self._view
        view_append = view.append
        main_append, noisy_append = self._main.append, self._noisy.append
        seq = self._seq
        added = 0
        for event in events:
            seq += 1
            kind = event.kind
            entry = ((event.ts.timestamp(), seq), event)
            if kind in NOISY_KINDS:
                noisy_append(entry)
            else:
                main_append(entry)
                if kind == "news":
                    self._remember_headline(event)
            if kind in kinds and (symbol is None or symbol in event_symbols(event)) and (
                    quiet is None or quiet.keep(event)):
                if view and entry[0] < view[-1][0]:
                    insort(view, entry, key=_entry_key)  # older than the last one shown
                else:
                    view_append(entry)
                added += 1
        self._seq = seq
        self.received += len(events)
        if added:
            self._after_append(added)
        if quiet is not None and quiet.folded != folded:
            self._update_title()

    def set_filter(self, kinds: set[str] | None, symbol: str | None) -> None:
        """Show only `kinds` (None: every kind except market ticks, signals and portfolio marks)
        and only events about `symbol` (None: all). Keeps the cursor on its event if still shown."""
        self._kind_filter = set(kinds) if kinds is not None else None
        self._kinds = frozenset(kinds) if kinds is not None else DEFAULT_KINDS
        self._symbol = symbol.strip().upper() if symbol and symbol.strip() else None
        kinds_now, sym = self._kinds, self._symbol
        quiet = self._quiet = QuietFilter() if kinds is None else None
        merged = sorted([*self._main, *self._noisy], key=_entry_key)
        self._view = [
            e for e in merged
            if e[1].kind in kinds_now and (sym is None or sym in event_symbols(e[1]))
            and (quiet is None or quiet.keep(e[1]))
        ][-self.max_rows:]
        if self._cursor is not None and self._index_of(self._cursor) is None:
            self._cursor = None
        self._lines.clear()
        self._update_title()
        self._sync_size()
        if self._cursor is None:
            self._follow = True
            self._scroll_to_end()
        else:
            self._scroll_to_cursor()
        self.refresh()

    @property
    def filter(self) -> tuple[set[str] | None, str | None]:
        """The current (kinds, symbol) filter as last set."""
        return self._kind_filter, self._symbol

    def selected_event(self) -> Event | None:
        """The event under the cursor (the newest shown one while following), or None."""
        index = self._cursor_index()
        return self._view[index][1] if index is not None else None

    def visible_events(self) -> list[Event]:
        """Every event the current filter shows, oldest first (for tests and export)."""
        return [e for _, e in self._view]

    def ideas(self, symbol: str) -> list[TradeIdea]:
        """The analyst ideas about `symbol` the feed still holds, oldest first (the chart view
        marks them)."""
        return [e.idea for _, e in self._main
                if isinstance(e, IdeaGenerated) and e.idea.symbol == symbol]

    def line_text(self, index: int) -> Text:
        """The plain line for row `index` of the view (time, kind tag, summary)."""
        return self._line(self._view[index])

    def detail(self, event: Event) -> Text:
        """The full detail of `event`, with cited headlines the feed has seen."""
        return detail_text(event, self._headlines)

    def clear(self) -> None:
        """Forget every event."""
        self._main.clear()
        self._noisy.clear()
        self._view.clear()
        if self._quiet is not None:
            self._quiet = QuietFilter()
        self._cursor = None
        self._lines.clear()
        self._sync_size()
        self.refresh()

    # ------------------------------------------------------------------ internals

    def _remember_headline(self, event: Event) -> None:
        item = event.item if isinstance(event, NewsReceived) else (
            event.event.item if isinstance(event, MarketEventDetected) else None)
        if item is None:
            return
        self._headlines[item.id] = item
        if len(self._headlines) > 2000:
            self._headlines.popitem(last=False)

    def _after_append(self, added: int) -> None:
        view = self._view
        # Trim to exactly max_rows: once full, the virtual size stays the same, so a burst of
        # events repaints this widget only instead of laying out the whole screen each frame.
        excess = len(view) - self.max_rows
        if excess > 0:
            del view[:excess]
            if self._cursor is not None and self._index_of(self._cursor) is None:
                self._cursor = view[0][0] if view else None
        following = self._cursor is None and self._follow
        if not following:
            self._unseen += added
            self._update_title()
            if excess > 0:  # keep the rows being read where they are on screen
                self.scroll_to(y=max(0, int(self.scroll_y) - excess), animate=False,
                               immediate=True, force=True)
        if self.virtual_size.height != len(view):
            self._sync_size()
        if following:
            self._scroll_to_end()
        self.refresh()

    def _scroll_to_end(self) -> None:
        # force: before the first layout the scrollbar is not shown and a plain scroll is refused;
        # once more after the refresh, when the new virtual size has been laid out
        self.scroll_end(animate=False, immediate=True, x_axis=False, force=True)
        if not self._end_pending:
            self._end_pending = True
            self.call_after_refresh(self._settle_end)

    def _settle_end(self) -> None:
        self._end_pending = False
        if self._cursor is None and self._follow:
            self.scroll_end(animate=False, immediate=True, x_axis=False, force=True)

    def _sync_size(self) -> None:
        self.virtual_size = Size(self.scrollable_content_region.width, len(self._view))

    def _update_title(self) -> None:
        kinds = "default" if self._kind_filter is None else ",".join(sorted(self._kind_filter))
        parts = [] if self._kind_filter is None and self._symbol is None else [f"filter: {kinds}"]
        if self._symbol:
            parts.append(self._symbol)
        if self._quiet is not None and self._quiet.folded:
            parts.append(f"{self._quiet.folded} repeats folded")
        if self._unseen and not (self._cursor is None and self._follow):
            parts.append(f"↓ {self._unseen} new (End)")
        self.border_subtitle = " · ".join(parts)

    def _index_of(self, key: _Key) -> int | None:
        i = bisect_left(self._view, key, key=_entry_key)
        if i < len(self._view) and self._view[i][0] == key:
            return i
        return None

    def _cursor_index(self) -> int | None:
        if not self._view:
            return None
        if self._cursor is None:
            return len(self._view) - 1
        return self._index_of(self._cursor)

    def _move_cursor(self, index: int) -> None:
        if not self._view:
            return
        index = max(0, min(len(self._view) - 1, index))
        old = self._cursor_index()
        self._cursor = self._view[index][0]
        self._follow = False
        if index == len(self._view) - 1:
            self._cursor = None  # at the newest entry: follow again
            self._follow = True
            self._unseen = 0
        self._update_title()
        self._scroll_to_cursor()
        for row in (old, index):
            if row is not None:
                self.refresh_lines(row)

    def _scroll_to_cursor(self) -> None:
        index = self._cursor_index()
        if index is None:
            return
        height = max(1, self.scrollable_content_region.height)
        top = int(self.scroll_y)
        if index < top:
            self.scroll_to(y=index, animate=False, immediate=True, force=True)
        elif index >= top + height:
            self.scroll_to(y=index - height + 1, animate=False, immediate=True, force=True)

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(f"event-feed--{name}", partial=True)

    def _line(self, entry: _Entry) -> Text:
        _, event = entry
        kind = event.kind
        line = Text(f"{fmt_time(event.ts)} {_TAGS.get(kind, f'{kind[:5]:<5}')} ", no_wrap=True,
                    end="")
        line.append_text(summary_text(event))
        return line

    def _segments(self, event: Event, width: int, cursor: Style | None) -> Strip:
        """The row for `event` as segments, built straight from the summary's pieces (no Text
        rendering on the hot path), cut to `width` with an ellipsis."""
        base = self._base_style()
        kind = event.kind
        kind_style = base + self._style(kind) if kind in _TAGS else base
        body = kind_style if kind in _LOUD else base
        segments = [
            Segment(fmt_time(event.ts), base + self._style("time")),
            Segment(" ", base),
            Segment(_TAGS.get(kind, f"{kind[:5]:<5}"), kind_style),
            Segment(" ", base),
        ]
        length = 15
        for piece, style in summary_pieces(event):
            segments.append(Segment(piece, body + Style.parse(style) if style else body))
            length += cell_len(piece)
        strip = Strip(segments, length)
        if length > width:
            strip = Strip([*strip.crop(0, max(0, width - 1)), Segment("…", body)], width)
        else:
            strip = strip.adjust_cell_length(width, base)
        if cursor is not None:
            strip = Strip([Segment(text, (style or base) + cursor) for text, style, _ in strip],
                          strip.cell_length)
        return strip

    # ------------------------------------------------------------------ Line API

    def render_line(self, y: int) -> Strip:
        """One visible row."""
        scroll_y = int(self.scroll_offset.y)
        index = scroll_y + y
        width = self.scrollable_content_region.width or self.size.width
        base = self._base_style()
        if index >= len(self._view) or index < 0:
            return Strip.blank(width, base)
        cursor = self._cursor_index()
        is_cursor = 1 if index == cursor else 0
        if is_cursor and not self.has_focus:
            is_cursor = 2
        entry = self._view[index]
        key = (entry[0], width, is_cursor)
        cached = self._lines.get(key)
        if cached is not None:
            return cached
        cursor_style = (self._style("cursor" if is_cursor == 1 else "cursor-blurred")
                        if is_cursor else None)
        strip = self._segments(entry[1], width, cursor_style)
        self._lines[key] = strip
        return strip

    def _base_style(self) -> Style:
        # `rich_style` walks the DOM for the background: once per style change, not per line
        if self._base is None:
            self._base = self.rich_style
        return self._base

    def notify_style_update(self) -> None:
        """The theme changed: drop the cached lines."""
        super().notify_style_update()
        self._lines.clear()
        self._base = None

    def on_resize(self, event: events.Resize) -> None:
        """Keep the virtual size in step with the width."""
        self._sync_size()

    def on_focus(self) -> None:
        cursor = self._cursor_index()
        if cursor is not None:
            self.refresh_lines(cursor)

    def on_blur(self) -> None:
        cursor = self._cursor_index()
        if cursor is not None:
            self.refresh_lines(cursor)

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        """Scrolling back stops following new events."""
        self._follow = False

    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        """Scrolling down to the end follows new events again."""
        self.call_after_refresh(self._check_follow)

    def _check_follow(self) -> None:
        if self._cursor is None and self.is_vertical_scroll_end:
            self._follow = True
            self._unseen = 0
            self._update_title()

    def on_click(self, event: events.Click) -> None:
        """A click selects the row; a double click opens its detail."""
        index = int(self.scroll_offset.y) + event.y
        if 0 <= index < len(self._view):
            self._move_cursor(index)
            if event.chain >= 2:
                self.action_select()

    # ------------------------------------------------------------------ actions

    def action_cursor_up(self) -> None:
        """Move the cursor to the previous (older) event."""
        index = self._cursor_index()
        self._move_cursor((index if index is not None else 0) - 1)

    def action_cursor_down(self) -> None:
        """Move the cursor to the next (newer) event."""
        index = self._cursor_index()
        self._move_cursor((index if index is not None else 0) + 1)

    def action_page_up(self) -> None:
        """Move the cursor one page up."""
        index = self._cursor_index() or 0
        self._move_cursor(index - max(1, self.scrollable_content_region.height - 1))

    def action_page_down(self) -> None:
        """Move the cursor one page down."""
        index = self._cursor_index() or 0
        self._move_cursor(index + max(1, self.scrollable_content_region.height - 1))

    def action_first(self) -> None:
        """Go to the oldest kept event."""
        self._move_cursor(0)

    def action_last(self) -> None:
        """Go to the newest event and follow new ones."""
        self._move_cursor(len(self._view) - 1)
        self._follow = True
        self._unseen = 0
        self._update_title()
        self._scroll_to_end()

    def action_select(self) -> None:
        """Ask the app to show the detail of the selected event."""
        event = self.selected_event()
        if event is not None:
            self.post_message(self.EventSelected(self, event))


class EventDetail(VerticalScroll):
    """A scrollable view of one event's full detail (for a modal screen or a side panel)."""

    DEFAULT_CSS = """
    EventDetail { height: 1fr; background: $surface; padding: 0 1; }
    EventDetail > Static { width: 1fr; }
    """

    def __init__(self, event: Event | None = None, *, headlines: dict[str, NewsItem] | None = None,
                 name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._event = event
        self._headlines = headlines or {}
        self._body = Static(self._content(), markup=False)

    def compose(self) -> Iterable[Static]:
        yield self._body

    def _content(self) -> Text:
        if self._event is None:
            return Text("Select an event and press Enter to see its detail.", "dim")
        return detail_text(self._event, self._headlines)

    def show_event(self, event: Event | None, text: Text | None = None) -> None:
        """Show `event` (or the ready-made `text`, e.g. from `EventFeed.detail`)."""
        self._event = event
        self._body.update(text if text is not None else self._content())
        self.scroll_home(animate=False)

    @property
    def text(self) -> Text:
        """What the detail shows now."""
        return self._content()

"""The composition root: builds an `Engine` with the adapters the settings name, live or for a
backtest (`build_backtest_engine`: the same engine on the replay's clock, venue and store).

Only the adapters in use are imported, so the paper default starts fast and no broker or LLM SDK is
loaded unless asked for. In paper mode no live broker client is ever constructed, even when
credentials are present.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from robo_tui.config import NewsSourceSettings, Settings
from robo_tui.domain.market import BarArrays
from robo_tui.domain.risk import Mode
from robo_tui.domain.sessions import MarketSessions
from robo_tui.domain.time import ns_to_datetime
from robo_tui.engine.backtest import ReplayRig
from robo_tui.engine.bus import EventBus
from robo_tui.engine.clock import SimClock, WallClock
from robo_tui.engine.engine import Engine
from robo_tui.engine.universe import Rediscover
from robo_tui.ports import (
    Analyst,
    Broker,
    Clock,
    FallbackListener,
    MarketFeed,
    NewsSource,
    Store,
)
from robo_tui.registries.analysts import ANALYSTS
from robo_tui.registries.base import (
    ExtensionUnavailableError,
    Registry,
    UnknownExtensionError,
    install_hint,
)
from robo_tui.registries.brokers import BROKERS
from robo_tui.registries.feeds import FEEDS

if TYPE_CHECKING:
    from robo_tui.engine.intelligence import IntelligencePipeline


T = TypeVar("T")


class WiringError(Exception):
    """The settings name something that cannot be built here (with what to do about it)."""


def with_overrides(
    settings: Settings,
    *,
    mode: Mode | None = None,
    analyst: str | None = None,
    news: Sequence[str] = (),
) -> Settings:
    """A copy of `settings` with the command line's choices for this run applied."""
    data = settings.model_dump()
    if mode is not None:
        data["engine"]["mode"] = mode
    if analyst is not None:
        data["analysts"]["provider"] = analyst
    for i, source in enumerate(news):
        data["news"]["sources"].append(
            NewsSourceSettings(name=f"cli-{i + 1}", kind="rss", url=source).model_dump()
        )
    # secrets are dumped as SecretStr objects and validate back unchanged
    return Settings.model_validate(data)


def build_feed(settings: Settings, clock: Clock) -> MarketFeed:
    """The market feed `feeds.kind` names in the `FEEDS` registry (the simulated market by default)."""
    builder = _load(FEEDS, settings.feeds.kind)
    try:
        return builder(settings, clock)
    except ValueError as exc:
        raise WiringError(str(exc)) from exc


def build_broker(settings: Settings, mode: Mode, clock: Clock) -> Broker:
    """The paper broker in paper mode; otherwise the one `broker.kind` names in `BROKERS`.
    In shadow mode that is the live broker wrapped so that it reads the real account and
    records orders without sending them (`robo_tui.adapters.brokers.shadow`)."""
    if mode is Mode.SHADOW:
        from robo_tui.adapters.brokers.shadow import ShadowBroker

        if settings.broker.kind == "paper":
            raise WiringError("shadow mode reads the live account: set broker.kind to ib, "
                              "robinhood or robinhood_crypto (the paper broker has no live account)")
        return ShadowBroker(build_broker(settings, Mode.LIVE, clock))
    kind = "paper" if mode is Mode.PAPER else settings.broker.kind
    builder = _load(BROKERS, kind)
    try:
        return builder(settings, mode, clock)
    except ImportError as exc:  # its SDK, imported lazily by the builder
        hint = install_hint(BROKERS.get(kind).extra)
        raise WiringError(f"{BROKERS.kind} {kind!r} is unavailable: {exc}"
                          + (f" ({hint})" if hint else "")) from exc


def _load(registry: Registry[T], name: str) -> T:
    """The builder `name` of `registry`, its import failure turned into a `WiringError`."""
    try:
        return registry.load(name)
    except (UnknownExtensionError, ExtensionUnavailableError) as exc:
        raise WiringError(str(exc)) from exc


def build_store(data_dir: Path) -> Store:
    """The SQLite store in `data_dir`."""
    from robo_tui.adapters.store.sqlite import SqliteStore

    return SqliteStore.for_data_dir(data_dir)


def build_news_sources(settings: Settings, clock: Clock) -> list[NewsSource]:
    """The enabled `[[news.sources]]` (the bundled sample when none is and `news.sample` is on)."""
    from robo_tui.adapters.news import build_sources

    return build_sources(settings, now_provider=clock.now)


class AnalystAdapters:
    """The analyst adapters (`robo_tui.adapters.llm`) as the stage's `AnalystFactory`.

    Each provider's module (and its SDK) is imported only when that provider is built.
    """

    def __init__(self, settings: Settings, store: Store | None) -> None:
        self.settings = settings
        self.store = store

    @property
    def providers(self) -> Sequence[str]:
        """Every analyst the `ANALYSTS` registry holds, the offline default first."""
        return ANALYSTS.names()

    def build(self, provider: str, *, model: str | None = None,
              on_fallback: FallbackListener | None = None) -> Analyst:
        """The analyst `provider` for `model`, recording to this store."""
        from robo_tui.adapters.llm import build_analyst

        return build_analyst(provider, self.settings, model=model, store=self.store,
                             on_fallback=on_fallback)


def build_intelligence(settings: Settings, store: Store, bus: EventBus, clock: Clock, *,
                       sources: Sequence[NewsSource] | None = None) -> IntelligencePipeline:
    """News, event detection and the configured analyst.

    `sources` replaces the configured news sources (`[]`: only what is ingested, as a backtest's
    replayed news).
    """
    from robo_tui.engine.intelligence import IntelligencePipeline

    if sources is None:
        sources = build_news_sources(settings, clock)
    return IntelligencePipeline(settings, store=store, bus=bus, clock=clock, sources=sources,
                                analysts=AnalystAdapters(settings, store))


def build_engine(
    settings: Settings,
    *,
    data_dir: Path,
    clock: Clock | None = None,
    store: Store | None = None,
    feed: MarketFeed | None = None,
    bus: EventBus | None = None,
    intelligence: bool = True,
) -> Engine:
    """An engine wired from `settings` for a run in `data_dir` (the caller holds the lock)."""
    configured, settings = settings, _discovered(settings, data_dir)
    clock = clock or WallClock()
    bus = bus or EventBus()
    mode = settings.engine.mode
    store = store or build_store(data_dir)
    stage = build_intelligence(settings, store, bus, clock) if intelligence else None
    engine = Engine(
        settings,
        clock=clock,
        feed=feed or build_feed(settings, clock),
        broker=build_broker(settings, mode, clock),
        store=store,
        intelligence=stage,
        bus=bus,
        mode=mode,
        broker_factory=lambda m: build_broker(settings, m, clock),
        sessions=session_calendar(settings),
    )
    _attach_ops(engine, settings, data_dir)
    engine.rediscover = _rediscover(configured, data_dir)
    return engine


def _attach_ops(engine: Engine, settings: Settings, data_dir: Path) -> None:
    """Operations around the engine: the heartbeat file rewritten each cycle and state change,
    and the preflight a switch to LIVE needs (robo_tui.ops)."""
    from datetime import UTC, datetime

    from robo_tui.ops.heartbeat import HeartbeatWriter, heartbeat_path
    from robo_tui.ops.record import preflight_refusal

    writer = HeartbeatWriter(heartbeat_path(data_dir), cycle_seconds=settings.engine.cycle_seconds,
                             mode=engine.mode.value)
    engine.bus.subscribe(writer, *writer.EVENTS)
    engine.live_gate = lambda: preflight_refusal(settings, data_dir, datetime.now(UTC))


def attach_outbound(engine: Engine, settings: Settings) -> None:
    """The session's event log, the Apprise alert router (`[alerts] urls`) and the Telegram bot
    (`[telegram] enabled`), as services beside the engine (each off its order path). For the
    long-running engines (headless and the console), not for a shell command's short one."""
    from robo_tui.engine.eventlog import EventLog
    from robo_tui.logs import redactor, secret_values

    EventLog(engine.bus)
    if settings.alerts.urls:
        from robo_tui.adapters.alerts.apprise_notifier import AppriseNotifier
        from robo_tui.engine.alerts import AlertRouter

        try:
            notifier = AppriseNotifier([u.get_secret_value() for u in settings.alerts.urls],
                                       timeout=settings.alerts.timeout_seconds)
        except ValueError as exc:
            raise WiringError(str(exc)) from None
        engine.services.append(AlertRouter(
            settings.alerts, bus=engine.bus, notifier=notifier, store=engine.store,
            clock=engine.clock, mode=lambda: engine.mode, redact=redactor(secret_values(settings)),
            follow_schedule=settings.reports.schedule))
    telegram = settings.telegram
    if telegram.enabled and telegram.token is not None:
        from robo_tui.adapters.alerts.telegram_bot import TelegramBot
        from robo_tui.engine.remote import EngineControls, ProposalForwarder

        bot = TelegramBot(token=telegram.token.get_secret_value(), chat_ids=telegram.chat_ids,
                          controls=EngineControls(engine), base_url=telegram.base_url,
                          base_file_url=telegram.base_file_url,
                          poll_timeout=telegram.poll_timeout_seconds)
        engine.services += [bot, ProposalForwarder(engine, bot)]


def _discovered(settings: Settings, data_dir: Path) -> Settings:
    """The universe discovered from the venue (`[universe.discovery]`), else `settings` as is."""
    if not settings.universe.discovery.enabled:
        return settings
    from robo_tui.adapters.feeds.universe import discovered_settings

    try:
        return discovered_settings(settings, data_dir)
    except ValueError as exc:
        raise WiringError(str(exc)) from exc


def _rediscover(settings: Settings, data_dir: Path) -> Rediscover | None:
    """The daily universe refresh (`[universe.discovery]` on and its source usable), else None."""
    discovery = settings.universe.discovery
    if not discovery.enabled or (discovery.source == "ccxt" and settings.feeds.kind != "ccxt"):
        return None
    from robo_tui.adapters.feeds.universe import rediscoverer

    return rediscoverer(settings, data_dir)


def session_calendar(settings: Settings) -> MarketSessions | None:
    """The exchange calendar stocks follow (`[sessions]`), or None when sessions are off."""
    s = settings.sessions
    return MarketSessions(s.calendar, extended_hours=s.extended_hours) if s.enabled else None


def build_backtest_engine(settings: Settings, data: Mapping[str, BarArrays], *, commission: float,
                          news: bool = False) -> ReplayRig:
    """The engine of a backtest: a `SimClock` at the first bar, the replay feed, the paper broker
    (charging `commission` on traded value) and a memory store that records the run; with `news`,
    an intelligence layer fed only by the replayed items at their published times."""
    from robo_tui.adapters.brokers.paper import PaperBroker
    from robo_tui.adapters.feeds.replay import ReplayFeed
    from robo_tui.adapters.store.memory import MemoryStore

    first = min(int(b.ts[0]) for b in data.values() if len(b))
    clock = SimClock(ns_to_datetime(first))
    instruments = {i.symbol: i.to_instrument() for i in settings.universe.instruments}
    broker = PaperBroker(
        cash=settings.broker.starting_cash,
        costs=settings.paper,
        clock=clock,
        instruments=instruments,
        supports_short=settings.risk.allow_short,
        commission=commission,
    )
    store = MemoryStore()
    bus = EventBus()
    stage = build_intelligence(settings, store, bus, clock, sources=[]) if news else None
    engine = Engine(
        settings,
        clock=clock,
        feed=ReplayFeed(data, clock),
        broker=broker,
        store=store,
        intelligence=stage,
        bus=bus,
        mode=Mode.AUTO,
        record_events=False,
    )
    return ReplayRig(engine=engine, clock=clock, venue=broker, recorder=store)

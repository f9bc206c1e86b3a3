"""A broker, feed, news source, analyst and strategy defined here, each added with one registry
line, are picked up end to end: the config accepts the name (and the strategy's section, checked
by the settings model in its own file), the wiring builds it, and the engine runs a cycle with it. (Risk rules and panes have their own throwaway tests:
tests/unit/risk/test_registry.py and tests/unit/ui_widgets/test_pane_registry.py.)"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from pydantic import Field

from robo_tui.adapters.brokers.paper import PaperBroker
from robo_tui.adapters.feeds.sim import SimulatedMarket
from robo_tui.adapters.llm.rules import RulesAnalyst
from robo_tui.adapters.news.sample import SampleNewsSource
from robo_tui.config import NewsSettings, NewsSourceSettings, Settings, StrategySettings
from robo_tui.domain.market import BarArrays, FloatArray
from robo_tui.domain.news import NewsItem
from robo_tui.domain.risk import Mode
from robo_tui.engine.clock import SimClock
from robo_tui.engine.strategies import build_strategies, build_strategy
from robo_tui.engine.strategies.base import ParamValue, validated
from robo_tui.ports import Analyst, Broker, Clock, FallbackListener, MarketFeed, NewsSource, Store
from robo_tui.registries import Extension, Registry, UnknownExtensionError
from robo_tui.registries.analysts import ANALYSTS
from robo_tui.registries.brokers import BROKERS
from robo_tui.registries.feeds import FEEDS
from robo_tui.registries.news import NEWS_SOURCES
from robo_tui.registries.strategies import STRATEGIES
from robo_tui.wiring import build_engine

NAME = "throwaway"
built: list[str] = []
"""What the throwaway builders built and what the engine asked of them, in order."""


class ThrowawayBroker(PaperBroker):
    """A broker that fills like the paper one."""


def build_broker(settings: Settings, mode: Mode, clock: Clock) -> Broker:
    built.append("broker")
    return ThrowawayBroker(cash=settings.broker.starting_cash, costs=settings.paper, clock=clock,
                           instruments={i.symbol: i.to_instrument()
                                        for i in settings.universe.instruments})


def build_feed(settings: Settings, clock: Clock) -> MarketFeed:
    built.append("feed")
    return SimulatedMarket([i.to_instrument() for i in settings.universe.instruments], seed=7,
                           bar_seconds=settings.feeds.bar_seconds, clock=clock)


class ThrowawayNews(SampleNewsSource):
    """The bundled sample stories under another name."""

    async def fetch(self, now: datetime) -> list[NewsItem]:
        built.append("news fetched")
        return await super().fetch(now)


def build_news(source: NewsSourceSettings, news: NewsSettings, *,
               client: httpx.AsyncClient | None) -> NewsSource:
    built.append("news")
    return ThrowawayNews(name=source.name, credibility=source.credibility)


def build_analyst(settings: Settings, *, model: str | None, store: Store | None,
                  on_fallback: FallbackListener | None) -> Analyst:
    built.append("analyst")
    return RulesAnalyst(settings, model=model, store=store)


class ThrowawaySettings(StrategySettings):
    """The throwaway strategy's section."""

    lean: float = Field(0.5, ge=-1, le=1)
    """The score it always gives."""


class Throwaway:
    """Always leans the same way, from the first bar."""

    name = NAME
    settings_model = ThrowawaySettings
    warmup = 0
    history = 0

    def __init__(self, lean: float = 0.5) -> None:
        cfg: ThrowawaySettings = validated(ThrowawaySettings, NAME, {"lean": lean})
        self.lean = cfg.lean

    @classmethod
    def from_settings(cls, settings: ThrowawaySettings) -> Throwaway:
        return cls(lean=settings.lean)

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> Throwaway:
        return cls.from_settings(validated(ThrowawaySettings, NAME, params))

    def params(self) -> dict[str, ParamValue]:
        return {"lean": self.lean}

    def scores(self, bars: BarArrays) -> FloatArray:
        built.append("strategy scored")
        return np.full(bars.close.shape[0], self.lean)

    def explain(self, bars: BarArrays, i: int) -> str:
        return f"always {self.lean}"

    def evaluate(self, bars: BarArrays) -> tuple[FloatArray, Callable[[int], str]]:
        return self.scores(bars), lambda i: self.explain(bars, i)


REGISTRIES: list[tuple[Registry[Any], str]] = [
    (BROKERS, "build_broker"), (FEEDS, "build_feed"), (NEWS_SOURCES, "build_news"),
    (ANALYSTS, "build_analyst"), (STRATEGIES, "Throwaway"),
]


@pytest.fixture
def registered() -> Iterator[None]:
    """Each throwaway added with its one registry line, and removed afterwards."""
    built.clear()
    for registry, attr in REGISTRIES:
        registry.register(Extension(NAME, f"{__name__}:{attr}", "A throwaway for this test."))
    yield
    for registry, _ in REGISTRIES:
        registry.unregister(NAME)


def throwaway_settings() -> Settings:
    return Settings.model_validate({
        "engine": {"mode": "auto"},
        "broker": {"kind": NAME},
        "feeds": {"kind": NAME},
        "analysts": {"provider": NAME},
        "news": {"sources": [{"name": "scratch", "kind": NAME, "url": "memory:"}]},
    })


def test_config_when_a_throwaway_is_not_registered_then_its_name_is_refused_listing_the_known() -> None:
    with pytest.raises(ValueError, match="unknown broker 'throwaway'; choose one of paper, ib, robinhood"):
        Settings.model_validate({"broker": {"kind": NAME}})
    with pytest.raises(UnknownExtensionError, match="choose one of sim, replay"):
        FEEDS.get(NAME)


def test_registry_when_a_name_is_registered_twice_then_value_error() -> None:
    with pytest.raises(ValueError, match="already registered"):
        BROKERS.register(Extension("paper", "robo_tui.adapters.brokers:build_paper", "again"))


def test_registry_when_the_module_is_missing_then_unavailable_naming_the_extra() -> None:
    BROKERS.register(Extension("ghost", "robo_tui.adapters.brokers.ghost:build", "none", None,
                               "ghost"))
    try:
        with pytest.raises(ImportError, match=r"pip install 'robo-tui\[ghost\]'"):
            BROKERS.load("ghost")
    finally:
        BROKERS.unregister("ghost")


@pytest.mark.usefixtures("registered")
def test_config_when_a_throwaway_strategy_is_registered_then_its_own_settings_validate_its_section(
) -> None:
    settings = Settings.model_validate({"strategies": {NAME: {"lean": -0.25, "weight": 2}}})
    section = settings.strategies.section(NAME)
    assert isinstance(section, ThrowawaySettings) and (section.lean, section.weight) == (-0.25, 2)
    assert build_strategies(settings.strategies)[NAME].lean == -0.25  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match=r"throwaway\.lean: Input should be less than or equal to 1"):
        Settings.model_validate({"strategies": {NAME: {"lean": 5}}})


def test_config_when_a_strategy_section_names_no_registered_strategy_then_refused() -> None:
    with pytest.raises(ValueError, match="no strategy is registered as 'sma_crss'"):
        Settings.model_validate({"strategies": {"sma_crss": {"fast": 5}}})


def test_config_strategies_table_when_read_then_one_section_per_registry_entry() -> None:
    fields = type(Settings().strategies).model_fields
    assert tuple(fields) == STRATEGIES.names()
    assert [f.description for f in fields.values()] == [e.description for e in STRATEGIES]


@pytest.mark.usefixtures("registered")
def test_build_strategy_when_a_throwaway_strategy_is_registered_then_built_by_name() -> None:
    strategy = build_strategy(NAME, {"lean": "-0.25"})
    assert isinstance(strategy, Throwaway) and strategy.lean == -0.25


@pytest.mark.usefixtures("registered")
async def test_engine_when_every_extension_is_a_throwaway_then_a_cycle_runs_with_each(
        tmp_path: Path) -> None:
    settings = throwaway_settings()
    assert (settings.broker.kind, settings.feeds.kind, settings.analysts.provider,
            settings.news.sources[0].kind) == (NAME,) * 4

    engine = build_engine(settings, data_dir=tmp_path, clock=SimClock(datetime(2024, 5, 1, 14, 30, tzinfo=UTC)))
    await engine.start()
    try:
        summary = await engine.run_cycle()
    finally:
        await engine.stop()

    assert isinstance(engine.broker, ThrowawayBroker) and summary.cycle == 1
    assert {"broker", "feed", "news", "analyst", "news fetched", "strategy scored"} <= set(built)
    assert NAME in [slot.name for slot in engine.ensemble.slots()]

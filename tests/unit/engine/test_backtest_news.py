"""News replayed into a backtest: an item counts only from its published time on."""

from __future__ import annotations

from datetime import timedelta

import numpy as np

from robo_tui.backtest.runner import BacktestSpec, run_backtest
from robo_tui.config import Settings
from robo_tui.domain.market import BarArrays
from robo_tui.domain.news import NewsItem
from robo_tui.domain.time import ns_to_datetime

HOUR_NS = 3600 * 1_000_000_000


def hourly(n: int = 600) -> BarArrays:
    rng = np.random.default_rng(11)
    close = 180 * np.exp(np.cumsum(rng.normal(0, 0.002, n)))
    open_ = np.concatenate(([close[0]], close[:-1]))
    ts = np.arange(n, dtype=np.int64) * HOUR_NS + 1_767_225_600 * 1_000_000_000  # 2026-01-01
    return BarArrays("AAPL", ts, open_, np.maximum(open_, close) * 1.001,
                     np.minimum(open_, close) * 0.999, close, np.full(n, 1e6))


def headline(bars: BarArrays, at_bar: int) -> NewsItem:
    published = ns_to_datetime(int(bars.ts[at_bar])) + timedelta(minutes=20)
    return NewsItem(
        id="n-apple-beat", source="wire", link="https://example.test/apple-beat",
        title="Apple (AAPL) smashes earnings estimates, raises full-year guidance, record iPhone sales",
        summary="Apple Inc beat analyst expectations by a wide margin and raised its outlook.",
        published=published, seen=published,
    )


async def test_news_replay_when_an_item_is_published_then_it_trades_only_after_it():
    bars = hourly()
    quiet = {name: {"enabled": False} for name in ("sma_cross", "mean_reversion", "breakout")}
    data = Settings().model_dump()
    for name, values in quiet.items():
        data["strategies"][name].update(values)
    data["ensemble"]["threshold"] = 0.2  # one analyst idea alone may decide
    settings = Settings.model_validate(data)
    spec = BacktestSpec(cash=100_000, compat=False)
    item = headline(bars, at_bar=300)
    result, _ = await run_backtest(settings, {"AAPL": bars}, spec, news=[item])
    assert result.fills, "the analyst's idea should have been traded"
    first_fill = min(f.ts for f in result.fills)
    assert first_fill >= item.published  # look-ahead safe
    assert first_fill <= item.published + timedelta(hours=3)


async def test_news_replay_when_no_news_then_an_analyst_only_ensemble_never_trades():
    bars = hourly()
    data = Settings().model_dump()
    for name in ("sma_cross", "mean_reversion", "breakout"):
        data["strategies"][name]["enabled"] = False
    result, _ = await run_backtest(Settings.model_validate(data), {"AAPL": bars},
                                   BacktestSpec(cash=100_000, compat=False))
    assert result.fills == [] and result.proposals == 0

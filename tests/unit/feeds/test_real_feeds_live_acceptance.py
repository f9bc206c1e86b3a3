"""Live mode accepts the real feeds (IB, Robinhood, Yahoo) and still refuses simulated or
replayed prices; a real feed whose extra is missing is a config error naming the extra."""

from __future__ import annotations

import importlib.util

import pytest

from robo_tui.config import load_settings
from robo_tui.engine.engine import live_requirements
from robo_tui.registries.feeds import FEEDS

LIVE = {"ROBO_TUI_ENGINE__LIVE_ENABLED": "true", "ROBO_TUI_BROKER__KIND": "ib",
        "ROBO_TUI_NEWS__SAMPLE": "false"}


def installed(extra_module: str) -> bool:
    return importlib.util.find_spec(extra_module) is not None


@pytest.mark.parametrize(("kind", "module"), [("ib", "ib_async"), ("robinhood", "robin_stocks"),
                                              ("yahoo", "yfinance")])
def test_live_when_feed_is_real_then_the_feed_is_not_among_what_is_missing(kind: str, module: str) -> None:
    if not installed(module):
        pytest.skip(f"needs {module}")
    settings = load_settings(None, environ={**LIVE, "ROBO_TUI_FEEDS__KIND": kind})
    assert live_requirements(settings, confirm_live=True) == []


@pytest.mark.parametrize("kind", ["sim", "replay"])
def test_live_when_feed_is_simulated_or_replayed_then_refused_naming_feeds_kind(kind: str) -> None:
    settings = load_settings(None, environ={**LIVE, "ROBO_TUI_FEEDS__KIND": kind})
    (missing,) = live_requirements(settings, confirm_live=True)
    assert "feeds.kind" in missing


def test_registry_when_listing_feeds_then_the_real_ones_name_their_extras() -> None:
    extras = {name: FEEDS.get(name).extra for name in ("ib", "robinhood", "yahoo")}
    assert extras == {"ib": "ib", "robinhood": "robinhood", "yahoo": "yahoo"}

"""Risk meters, strategies, model selector and equity sparkline, mounted on a real engine."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from textual.coordinate import Coordinate

from robo_tui.domain.events import SignalsComputed
from robo_tui.engine.view import build_view
from robo_tui.ui.widgets.equity import EquitySparkline
from robo_tui.ui.widgets.meters import RiskMeters, bar
from robo_tui.ui.widgets.models import ModelSelector, catalogue_rows
from robo_tui.ui.widgets.strategies import ENSEMBLE_ROW, StrategyPanel

from .conftest import Harness, WidgetApp, screen_text

# ------------------------------------------------------------------------------ risk meters


async def test_risk_meters_show_every_limit_with_value_and_limit(harness: Harness) -> None:
    meters = RiskMeters()
    app = WidgetApp(meters)
    async with app.run_test(size=(70, 10)) as pilot:
        meters.update_from(build_view(harness.engine))
        await pilot.pause()
        shown = screen_text(app)
        for m in meters.meters:
            assert m.label in shown and m.text in shown
        assert len(meters.meters) == 7
        assert meters.size.height == 7


async def test_risk_meters_when_near_a_limit_then_warning_then_danger_colour_and_class(
        make_harness: Callable[..., Any]) -> None:
    harness: Harness = await make_harness(intelligence=False)  # flat book: every meter ok
    meters = RiskMeters()
    app = WidgetApp(meters)
    try:
        async with app.run_test(size=(70, 10)) as pilot:
            meters.update_from(build_view(harness.engine))
            assert not meters.has_class("-warning") and not meters.has_class("-danger")
            for _ in range(4):
                harness.engine.risk.record_failure("data", "feed down")
            meters.update_from(build_view(harness.engine))
            await pilot.pause()
            breaker = next(m for m in meters.meters if m.key == "circuit_breaker")
            assert breaker.level == "warning" and meters.has_class("-warning")
            warning = meters.get_component_rich_style("risk-meters--warning", partial=True)
            assert any(span.style == warning for span in meters.line(breaker, 60).spans)
            harness.engine.risk.record_failure("data", "feed down")
            meters.update_from(build_view(harness.engine))
            assert meters.has_class("-danger") and not meters.has_class("-warning")
    finally:
        await harness.engine.stop()


async def test_risk_meters_when_short_of_rows_then_the_worst_are_shown(harness: Harness) -> None:
    meters = RiskMeters()
    meters.styles.height = 2
    app = WidgetApp(meters)
    async with app.run_test(size=(40, 5)) as pilot:
        for _ in range(4):
            harness.engine.risk.record_failure("broker", "timeout")
        meters.update_from(build_view(harness.engine))
        await pilot.pause()
        assert "Breaker" in screen_text(app)


@pytest.mark.parametrize("width", [20, 27, 30, 45, 60, 100])
async def test_risk_meter_lines_fit_any_width(harness: Harness, width: int) -> None:
    meters = RiskMeters()
    app = WidgetApp(meters)
    async with app.run_test(size=(max(width, 20), 9)):
        meters.update_from(build_view(harness.engine))
        for m in meters.meters:
            assert meters.line(m, width).cell_len <= width


def test_bar_fills_in_eighths() -> None:
    assert bar(0.5, 4) == ("██", "░░")
    assert bar(1 / 16, 4) == ("▎", "░░░")  # 2/8 of a cell
    assert bar(3 / 32, 4) == ("▍", "░░░")
    assert bar(2.0, 3) == ("███", "")
    assert bar(0.0, 3) == ("", "░░░")


# ------------------------------------------------------------------------------ strategies


async def test_strategy_panel_shows_switch_weight_record_and_votes(harness: Harness) -> None:
    panel = StrategyPanel()
    app = WidgetApp(panel)
    async with app.run_test(size=(160, 12)) as pilot:
        for event in harness.events:
            if isinstance(event, SignalsComputed):
                panel.note_signal(event.decision)
        panel.update_from(build_view(harness.engine))
        await pilot.pause()
        names = [s.name for s in harness.engine.ensemble.slots()]
        keys = [str(k.value) for k in panel.rows]
        assert keys[: len(names)] == names and keys[-1] == ENSEMBLE_ROW
        stats = harness.engine.ensemble.stats()
        last = {e.decision.symbol: e.decision for e in harness.events
                if isinstance(e, SignalsComputed)}
        for name in names:
            row = {str(c.key.value): panel.get_cell(name, c.key).plain
                   for c in panel.ordered_columns}
            assert row["on"] == "✓ on" and row["weight"] == "1"
            assert row["trades"] == str(stats[name].trades)
            for symbol, decision in last.items():
                vote = next(v for v in decision.votes if v.voter == name)
                cell = row[f"sym:{symbol}"]
                if vote.score != vote.score:
                    assert cell == "—"
                else:
                    assert cell.endswith(f"{abs(vote.score):.2f}")


async def test_strategy_panel_when_toggled_through_the_engine_then_the_cell_changes(
        harness: Harness) -> None:
    panel = StrategyPanel()
    app = WidgetApp(panel)
    async with app.run_test(size=(160, 12)) as pilot:
        panel.update_from(build_view(harness.engine))
        panel.focus()
        await pilot.press("down")
        name = panel.selected_strategy()
        assert name == harness.engine.ensemble.slots()[1].name
        await harness.engine.set_strategy(name, enabled=False, weight=2.5, by="test")
        panel.update_from(build_view(harness.engine))
        await pilot.pause()
        assert panel.get_cell(name, "on").plain == "✗ off"
        assert panel.get_cell(name, "weight").plain == "2.5"
        assert panel.selected_strategy() == name


async def test_strategy_panel_when_cursor_on_ensemble_row_then_no_strategy(harness: Harness) -> None:
    panel = StrategyPanel()
    app = WidgetApp(panel)
    async with app.run_test(size=(160, 12)) as pilot:
        panel.update_from(build_view(harness.engine))
        panel.move_cursor(row=panel.row_count - 1)
        await pilot.pause()
        assert panel.selected_strategy() is None


# ------------------------------------------------------------------------------ model selector


async def test_model_selector_marks_the_active_rules_model(harness: Harness) -> None:
    selector = ModelSelector()
    app = WidgetApp(selector)
    async with app.run_test(size=(120, 10)) as pilot:
        selector.update_from(build_view(harness.engine))
        await pilot.pause()
        assert selector.selected_choice() == ("rules", "lexicon-v1")
        assert selector.active_choice() == ("rules", "lexicon-v1")
        assert selector.get_cell_at(Coordinate(0, 0)).plain == "●"
        shown = screen_text(app)
        assert "rules" in shown and "lexicon-v1" in shown and "unavailable" in shown
        selector.focus()
        await pilot.press("down")
        provider, model = selector.selected_choice() or ("", None)
        assert provider != "rules" and model is None


async def test_model_selector_without_intelligence_then_empty_and_says_so(
        make_harness: Callable[..., Any]) -> None:
    harness: Harness = await make_harness(intelligence=False)
    try:
        selector = ModelSelector()
        app = WidgetApp(selector)
        async with app.run_test(size=(60, 6)):
            selector.update_from(build_view(harness.engine))
            assert selector.row_count == 0
            assert selector.selected_choice() is None
            assert selector.border_subtitle == "no analyst configured"
    finally:
        await harness.engine.stop()


def test_catalogue_rows_when_keys_are_missing_or_odd_then_still_rows() -> None:
    assert catalogue_rows({}) == []
    assert catalogue_rows({"providers": "garbage"}) == []
    only_rules = {"active": {"provider": "rules"}, "providers": [{"name": "rules"}]}
    assert [(p, m, a) for p, m, _, a, _, _ in catalogue_rows(only_rules)] == [("rules", None, True)]
    rich = {
        "active": {"provider": "ollama", "model": "qwen2.5:7b"},
        "providers": [
            {"name": "rules", "available": True, "models": ["lexicon-v1"]},
            {"name": "ollama", "available": True,
             "models": [{"name": "llama3.1:8b"}, "qwen2.5:7b"],
             "telemetry": {"calls": 4, "latency_ms_p50": 800.0, "errors": 1,
                           "last_error": "timeout \x1b[31m"}},
            {"name": "openai", "available": False, "reason": "OPENAI_API_KEY is not set"},
            {"models": ["nameless"]},
        ],
    }
    rows = catalogue_rows(rich)
    assert [(p, m, av, act) for p, m, av, act, _, _ in rows] == [
        ("rules", "lexicon-v1", True, False), ("ollama", "llama3.1:8b", True, False),
        ("ollama", "qwen2.5:7b", True, True), ("openai", None, False, False)]
    assert rows[3][5] == "OPENAI_API_KEY is not set"


def test_catalogue_rows_when_active_model_is_not_listed_then_it_is_added_and_marked() -> None:
    catalogue = {"active": {"provider": "ollama", "model": "mistral"},
                 "providers": [{"name": "ollama", "available": True, "models": ["llama3"]}]}
    assert [(m, act) for _, m, _, act, _, _ in catalogue_rows(catalogue)] == [
        ("llama3", False), ("mistral", True)]


# ------------------------------------------------------------------------------ equity


async def test_equity_sparkline_follows_the_session_history(harness: Harness) -> None:
    spark = EquitySparkline()
    app = WidgetApp(spark)
    async with app.run_test(size=(60, 5)) as pilot:
        spark.update_from(build_view(harness.engine))
        await pilot.pause()
        history = [e for _, e in harness.engine.equity_history]
        assert list(spark.data or []) == history and len(history) == 12
        assert f"{history[-1]:,.2f}" in str(spark.border_title)
        await harness.cycles(1)
        spark.update_from(build_view(harness.engine))
        assert len(spark.data or []) == 13


async def test_equity_sparkline_when_no_history_then_empty(make_harness: Callable[..., Any]) -> None:
    harness: Harness = await make_harness(intelligence=False)
    try:
        spark = EquitySparkline()
        app = WidgetApp(spark)
        async with app.run_test(size=(20, 3)) as pilot:
            spark.update_from(build_view(harness.engine))
            await pilot.pause()
            assert not spark.data and spark.border_title == "Equity"
    finally:
        await harness.engine.stop()


# ------------------------------------------------------------------------------ all panes, tiny


@pytest.mark.parametrize("pane", [RiskMeters, StrategyPanel, ModelSelector, EquitySparkline])
async def test_every_pane_renders_at_20_by_3(harness: Harness, pane: type[Any]) -> None:
    widget = pane()
    app = WidgetApp(widget)
    async with app.run_test(size=(20, 3)) as pilot:
        widget.update_from(build_view(harness.engine))
        await pilot.pause()
        assert screen_text(app).strip()


async def test_equity_sparkline_when_one_point_then_no_solid_block_yet(
        make_harness: Callable[..., Any]) -> None:
    harness: Harness = await make_harness(intelligence=False)
    try:
        await harness.cycles(1)
        spark = EquitySparkline()
        app = WidgetApp(spark)
        async with app.run_test(size=(30, 3)) as pilot:
            spark.update_from(build_view(harness.engine))
            await pilot.pause()
            assert not spark.data
            assert "█" not in screen_text(app)
            equity = harness.engine.equity_history[-1][1]
            assert str(spark.border_title).startswith(f"Equity {equity:,.2f}")
    finally:
        await harness.engine.stop()


async def test_risk_meters_when_short_of_rows_and_others_are_worse_then_day_loss_still_shows(
        harness: Harness) -> None:
    meters = RiskMeters()
    meters.styles.height = 3
    app = WidgetApp(meters)
    async with app.run_test(size=(40, 5)) as pilot:
        for _ in range(4):
            harness.engine.risk.record_failure("broker", "timeout")
        meters.update_from(build_view(harness.engine))
        await pilot.pause()
        shown = screen_text(app)
        assert "Day loss" in shown and "Breaker" in shown

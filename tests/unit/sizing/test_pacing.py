"""Goal pacing: the risk per entry shrinks as the day's target is reached, never grows."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from robo_tui.config import ReportSettings
from tests.unit.sizing.test_sizing import request, sizer


def paced(**kw: float | bool) -> ReportSettings:
    return ReportSettings.model_validate({"pacing": True, "daily_target": 200.0,
                                          "pacing_min": 0.5, "pacing_max": 1.0, **kw})


def test_pace_when_the_day_moves_toward_its_target_then_risk_shrinks_within_the_bounds() -> None:
    reports = paced()
    assert reports.pace(0.0) == 1.0
    assert reports.pace(100.0) == 0.75
    assert reports.pace(200.0) == 0.5
    assert reports.pace(900.0) == 0.5  # past the target: the floor, never less
    assert reports.pace(-300.0) == 1.0  # a losing day: never more than the configured risk


def test_pace_when_pacing_is_off_then_the_configured_risk() -> None:
    assert ReportSettings(daily_target=200.0).pace(200.0) == 1.0


def test_size_when_paced_to_half_then_half_the_risk_and_the_note_says_why() -> None:
    full = sizer().size(request())
    half = sizer().size(request(pace=0.5))
    assert (full.quantity, half.quantity) == (250.0, 125.0)
    assert any("paced to 50%" in note for note in half.notes)


def test_pacing_when_misconfigured_then_a_clear_error() -> None:
    with pytest.raises(ValidationError, match="pacing_min 0.9 is above pacing_max 0.6"):
        paced(pacing_min=0.9, pacing_max=0.6)
    with pytest.raises(ValidationError, match="pacing needs a daily_target"):
        ReportSettings(pacing=True)

"""Values `config check` must refuse: percents read as fractions, non-finite and absurd numbers,
booleans for numbers, a data dir that is a file, a missing replay path, pathological nesting and
two news sources with one name. Each is a clear one-line error, never a traceback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from robo_tui.config import ConfigError, Settings, load_settings
from robo_tui.config.fields import nested_model


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def load_error(tmp_path: Path, text: str, environ: dict[str, str] | None = None) -> str:
    config = write(tmp_path / "config.toml", text)
    with pytest.raises(ConfigError) as info:
        load_settings(config, environ=environ or {})
    return str(info.value)


@pytest.mark.parametrize(("key", "value", "meant"), [
    ("daily_loss_halt_pct", "1", "did you mean 0.01 (1 %)?"),
    ("max_position_pct", "3", "did you mean 0.03 (3 %)?"),
    ("daily_loss_reduce_pct", "2", "did you mean 0.02 (2 %)?"),
    ("max_drawdown_pct", "10", "did you mean 0.1 (10 %)?"),
    ("max_sector_pct", "30", "did you mean 0.3 (30 %)?"),
    ("max_gross_exposure_pct", "100", "did you mean 1 (100 %)?"),
])
def test_percent_setting_when_written_as_a_percent_then_refused_with_the_fraction_meant(
    tmp_path: Path, key: str, value: str, meant: str
) -> None:
    message = load_error(tmp_path, f"[risk]\n{key} = {value}\ndaily_loss_reduce_pct = 0.001\n"
                         if key != "daily_loss_reduce_pct" else f"[risk]\n{key} = {value}\n")
    assert f"risk.{key}: " in message
    assert "fraction of equity" in message and meant in message


def test_sizing_risk_when_written_as_a_percent_then_refused(tmp_path: Path) -> None:
    message = load_error(tmp_path, "[sizing]\nrisk_per_trade_pct = 1\n")
    assert "sizing.risk_per_trade_pct: " in message and "did you mean 0.01 (1 %)?" in message


def test_fee_when_written_as_a_percent_then_refused(tmp_path: Path) -> None:
    message = load_error(tmp_path, "[paper]\nfee_pct = 0.5\n")
    assert "paper.fee_pct: " in message and "did you mean 0.005 (0.5 %)?" in message


def test_percent_setting_when_a_fraction_then_taken_as_written(tmp_path: Path) -> None:
    config = write(tmp_path / "config.toml",
                   "[risk]\nmax_position_pct = 1.0\nmax_gross_exposure_pct = 2.0\n"
                   "daily_loss_halt_pct = 0.05\n")
    risk = load_settings(config, environ={}).risk
    assert (risk.max_position_pct, risk.max_gross_exposure_pct, risk.daily_loss_halt_pct) == (
        1.0, 2.0, 0.05)


@pytest.mark.parametrize(("text", "key"), [
    ("[ensemble]\nidea_ttl_seconds = inf\n", "ensemble.idea_ttl_seconds"),
    ("[ensemble]\nidea_ttl_seconds = 1e300\n", "ensemble.idea_ttl_seconds"),
    ("[broker]\nstarting_cash = inf\n", "broker.starting_cash"),
    ("[risk]\nmax_order_notional = inf\n", "risk.max_order_notional"),
    ("[risk]\nmax_order_notional = nan\n", "risk.max_order_notional"),
    ("[news]\npoll_seconds = 1e300\n", "news.poll_seconds"),
    ("[news]\npoll_seconds = 0.0001\n", "news.poll_seconds"),
    ("[risk]\ncooldown_after_loss_seconds = 1e300\n", "risk.cooldown_after_loss_seconds"),
])
def test_number_when_non_finite_or_absurd_then_refused_naming_the_key(
    tmp_path: Path, text: str, key: str
) -> None:
    assert f"{key}: " in load_error(tmp_path, text)


def test_number_when_inf_from_the_environment_then_refused(tmp_path: Path) -> None:
    message = load_error(tmp_path, "", {"ROBO_TUI_RISK__MAX_ORDER_NOTIONAL": "inf"})
    assert "ROBO_TUI_RISK__MAX_ORDER_NOTIONAL" in message and "finite" in message


@pytest.mark.parametrize(("text", "key"), [
    ("[risk]\nmax_positions = true\n", "risk.max_positions"),
    ("[risk]\nmax_order_notional = false\n", "risk.max_order_notional"),
    ("[feeds]\nseed = true\n", "feeds.seed"),
])
def test_integer_or_float_when_given_a_boolean_then_refused(tmp_path: Path, text: str, key: str) -> None:
    message = load_error(tmp_path, text)
    assert f"{key}: expected a number, got the boolean" in message


def test_every_number_in_the_config_when_walked_then_has_an_upper_bound() -> None:
    def numbers(model: type[BaseModel], prefix: str = "") -> list[tuple[str, FieldInfo]]:
        out: list[tuple[str, FieldInfo]] = []
        for name, info in model.model_fields.items():
            sub, _ = nested_model(info.annotation)
            if sub is not None:
                out += numbers(sub, f"{prefix}{name}.")
            elif info.annotation in (int, float):
                out.append((prefix + name, info))
        return out

    def bounded(info: FieldInfo) -> bool:
        metadata: list[Any] = list(info.metadata)
        return any(getattr(m, "le", None) is not None or getattr(m, "lt", None) is not None
                   or type(m).__name__ == "AfterValidator" for m in metadata)

    found = numbers(Settings)
    assert len(found) > 40
    assert [key for key, info in found if not bounded(info)] == []


def test_data_dir_when_a_file_then_refused(tmp_path: Path) -> None:
    file = write(tmp_path / "not-a-dir", "x")
    message = load_error(tmp_path, f'[storage]\ndata_dir = "{file}"\n')
    assert "storage.data_dir: " in message and "is a file, not a folder" in message


def test_replay_when_path_missing_then_refused(tmp_path: Path) -> None:
    message = load_error(tmp_path, f'[feeds]\nkind = "replay"\nreplay_path = "{tmp_path / "gone.csv"}"\n')
    assert "gone.csv' does not exist" in message


@pytest.mark.parametrize("depth", [40, 5000])
def test_toml_when_nested_pathologically_then_clear_error(tmp_path: Path, depth: int) -> None:
    message = load_error(tmp_path, "[engine]\nx = " + "[" * depth + "]" * depth + "\n")
    assert message.endswith("invalid TOML: nested more than 32 levels deep")


def test_news_sources_when_two_share_a_name_then_refused(tmp_path: Path) -> None:
    message = load_error(tmp_path, '[[news.sources]]\nname = "wire"\nurl = "a.xml"\n'
                                   '[[news.sources]]\nname = "wire"\nurl = "b.xml"\n')
    assert "news.sources: two news sources are named 'wire'" in message

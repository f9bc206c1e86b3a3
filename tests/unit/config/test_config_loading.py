"""load_settings: file < secrets file < environment, and every error names file, key and reason."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import pytest

from robo_tui.config import (
    REDACTED,
    ConfigError,
    Settings,
    load_settings,
    redacted_dict,
    render_toml,
    resolve_config_path,
)
from robo_tui.domain.risk import Mode

posix_only = pytest.mark.skipif(os.name == "nt", reason="POSIX file modes")


def write(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path


def load_error(path: Path | None, environ: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as info:
        load_settings(path, environ=environ or {})
    return str(info.value)


def test_load_when_no_path_and_no_environment_then_built_in_defaults(tmp_path: Path) -> None:
    # An explicit empty secrets file keeps the test independent of the user's own config dir.
    empty = write(tmp_path / "s.toml", "")
    settings = load_settings(None, environ={"ROBO_TUI_SECRETS_FILE": str(empty)})
    assert settings == Settings()
    assert type(settings) is Settings


def test_load_when_file_sets_values_then_they_override_defaults(tmp_path: Path) -> None:
    config = write(tmp_path / "config.toml", '[risk]\nmax_positions = 5\n[engine]\nmode = "auto"\n')
    settings = load_settings(config, environ={})
    assert settings.risk.max_positions == 5
    assert settings.engine.mode is Mode.AUTO
    assert settings.risk.max_position_pct == Settings().risk.max_position_pct


def test_load_when_path_does_not_exist_then_config_error_names_it(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    assert load_error(missing) == f"{missing}: config file not found"


def test_load_when_value_out_of_range_then_error_names_file_key_reason_and_value(
    tmp_path: Path,
) -> None:
    config = write(tmp_path / "config.toml", "[risk]\nmax_position_pct = 50\n")
    assert load_error(config) == (
        f"{config}: risk.max_position_pct: 50 is a fraction of equity, i.e. 5000 %, but one "
        "position is at most 1 (100 %); did you mean 0.5 (50 %)? (got 50)"
    )


def test_load_when_key_is_misspelt_then_unknown_key_with_suggestion(tmp_path: Path) -> None:
    config = write(tmp_path / "config.toml", "[risk]\nmax_postion_pct = 0.05\n")
    assert load_error(config) == (
        f"{config}: risk.max_postion_pct: unknown key (did you mean 'max_position_pct'?)"
    )


def test_load_when_section_is_unknown_then_unknown_key(tmp_path: Path) -> None:
    config = write(tmp_path / "config.toml", "[riks]\nmax_positions = 2\n")
    assert load_error(config) == f"{config}: riks: unknown key (did you mean 'risk'?)"


def test_load_when_value_has_wrong_type_then_error_names_type(tmp_path: Path) -> None:
    config = write(tmp_path / "config.toml", '[risk]\nmax_positions = "three"\n')
    message = load_error(config)
    assert message.startswith(f"{config}: risk.max_positions: Input should be a valid integer")
    assert message.endswith("(got 'three')")


def test_load_when_list_item_is_invalid_then_error_names_its_index(tmp_path: Path) -> None:
    config = write(
        tmp_path / "config.toml",
        '[[universe.instruments]]\nsymbol = "AAPL"\n[[universe.instruments]]\nsymbol = "btc"\n',
    )
    message = load_error(config)
    assert message.startswith(f"{config}: universe.instruments[1].symbol: String should match")


def test_load_when_section_rule_fails_then_error_names_section_and_rule(tmp_path: Path) -> None:
    config = write(tmp_path / "config.toml", "[strategies.sma_cross]\nfast = 30\nslow = 20\n")
    assert load_error(config) == (
        f"{config}: strategies.sma_cross: fast (30) must be shorter than slow (20)"
    )


def test_load_when_toml_is_malformed_then_error_names_file_and_line(tmp_path: Path) -> None:
    config = write(tmp_path / "config.toml", "[risk]\nmax_positions = 3\nmax_position_pct = \n")
    message = load_error(config)
    assert message.startswith(f"{config}: line 3, column 20: invalid TOML")


def test_load_when_several_problems_then_all_reported_one_per_line(tmp_path: Path) -> None:
    config = write(
        tmp_path / "config.toml",
        '[risk]\nmax_position_pct = 50\nmax_postion_pct = 1\n[engine]\nmode = "yolo"\n',
    )
    lines = load_error(config).splitlines()
    assert len(lines) == 3
    assert any("risk.max_position_pct" in line for line in lines)
    assert any("risk.max_postion_pct: unknown key" in line for line in lines)
    assert any("engine.mode: Input should be 'paper'" in line for line in lines)


def test_load_when_secret_is_in_config_file_then_error_says_where_it_belongs(
    tmp_path: Path,
) -> None:
    config = write(tmp_path / "config.toml", '[analysts]\nopenai_api_key = "sk-live-123"\n')
    message = load_error(config)
    assert message.startswith(f"{config}: analysts.openai_api_key: secrets are not allowed")
    assert "ROBO_TUI_ANALYSTS__OPENAI_API_KEY" in message
    assert "sk-live-123" not in message


def test_load_when_environment_overrides_nested_key_then_environment_wins(tmp_path: Path) -> None:
    config = write(tmp_path / "config.toml", '[broker.ib]\nport = 7496\nhost = "10.0.0.5"\n')
    settings = load_settings(config, environ={"ROBO_TUI_BROKER__IB__PORT": "4002"})
    assert settings.broker.ib.port == 4002
    assert settings.broker.ib.host == "10.0.0.5"


def test_load_when_environment_is_lower_case_then_still_applies(tmp_path: Path) -> None:
    config = write(tmp_path / "config.toml", "")
    settings = load_settings(config, environ={"robo_tui_risk__max_positions": "7"})
    assert settings.risk.max_positions == 7


def test_load_when_environment_holds_json_list_then_universe_replaced(tmp_path: Path) -> None:
    config = write(tmp_path / "config.toml", "")
    environ = {"ROBO_TUI_UNIVERSE__INSTRUMENTS": '[{"symbol": "SPY"}, {"symbol": "QQQ"}]'}
    assert load_settings(config, environ=environ).universe.symbols == ["SPY", "QQQ"]


def test_load_when_environment_value_invalid_then_error_names_variable(tmp_path: Path) -> None:
    config = write(tmp_path / "config.toml", "")
    message = load_error(config, {"ROBO_TUI_RISK__MAX_POSITIONS": "0"})
    assert message == (
        "environment: ROBO_TUI_RISK__MAX_POSITIONS (risk.max_positions): "
        "Input should be greater than or equal to 1 (got '0')"
    )


def test_load_when_environment_variable_misspelt_then_error_with_suggestion(
    tmp_path: Path,
) -> None:
    config = write(tmp_path / "config.toml", "")
    message = load_error(config, {"ROBO_TUI_RISK_MAX_POSITION_PCT": "0.05"})
    assert message == (
        "environment: ROBO_TUI_RISK_MAX_POSITION_PCT: unknown setting "
        "(did you mean 'ROBO_TUI_RISK__MAX_POSITION_PCT'?)"
    )


def test_load_when_environment_nested_key_misspelt_then_error_with_suggestion(
    tmp_path: Path,
) -> None:
    config = write(tmp_path / "config.toml", "")
    message = load_error(config, {"ROBO_TUI_RISK__MAX_POSTION_PCT": "0.05"})
    assert "ROBO_TUI_RISK__MAX_POSTION_PCT" in message
    assert "did you mean 'ROBO_TUI_RISK__MAX_POSITION_PCT'?" in message


def test_load_when_environment_sets_secret_then_it_is_loaded(tmp_path: Path) -> None:
    config = write(tmp_path / "config.toml", "")
    settings = load_settings(config, environ={"ROBO_TUI_ANALYSTS__OPENAI_API_KEY": "sk-env"})
    key = settings.analysts.openai_api_key
    assert key is not None and key.get_secret_value() == "sk-env"


@posix_only
def test_load_when_secrets_file_beside_config_is_0600_then_secrets_loaded(tmp_path: Path) -> None:
    config = write(tmp_path / "config.toml", "")
    write(tmp_path / "secrets.toml", '[broker.robinhood]\nusername = "trader"\npassword = "pw"\n')
    robinhood = load_settings(config, environ={}).broker.robinhood
    assert robinhood.username is not None and robinhood.username.get_secret_value() == "trader"
    assert robinhood.password is not None and robinhood.password.get_secret_value() == "pw"


@posix_only
def test_load_when_secrets_file_is_0644_then_error_names_file_mode_and_fix(tmp_path: Path) -> None:
    config = write(tmp_path / "config.toml", "")
    secrets = write(tmp_path / "secrets.toml", '[analysts]\nopenai_api_key = "sk"\n', 0o644)
    message = load_error(config)
    assert message.startswith(f"{secrets}: the secrets file is mode 0644")
    assert f"chmod 600 {secrets}" in message


@posix_only
def test_load_when_secrets_file_named_by_environment_then_it_is_used(tmp_path: Path) -> None:
    secrets = write(tmp_path / "elsewhere.toml", '[analysts]\nanthropic_api_key = "ak"\n')
    settings = load_settings(None, environ={"ROBO_TUI_SECRETS_FILE": str(secrets)})
    key = settings.analysts.anthropic_api_key
    assert key is not None and key.get_secret_value() == "ak"


def test_load_when_named_secrets_file_is_missing_then_error(tmp_path: Path) -> None:
    missing = tmp_path / "gone.toml"
    message = load_error(None, {"ROBO_TUI_SECRETS_FILE": str(missing)})
    assert message == f"ROBO_TUI_SECRETS_FILE={missing}: the secrets file does not exist"


@posix_only
def test_load_when_environment_and_secrets_file_both_set_then_environment_wins(
    tmp_path: Path,
) -> None:
    config = write(tmp_path / "config.toml", "")
    write(tmp_path / "secrets.toml", '[analysts]\nopenai_api_key = "from-file"\n')
    settings = load_settings(config, environ={"ROBO_TUI_ANALYSTS__OPENAI_API_KEY": "from-env"})
    key = settings.analysts.openai_api_key
    assert key is not None and key.get_secret_value() == "from-env"


@posix_only
def test_load_when_secrets_file_holds_a_non_secret_then_error(tmp_path: Path) -> None:
    config = write(tmp_path / "config.toml", "")
    secrets = write(tmp_path / "secrets.toml", "[risk]\nmax_positions = 9\n")
    assert load_error(config) == (
        f"{secrets}: risk.max_positions: not a secret; only secrets belong in the secrets file, "
        "set it in the config file"
    )


@posix_only
def test_load_when_secret_value_is_invalid_then_error_does_not_echo_it(tmp_path: Path) -> None:
    config = write(tmp_path / "config.toml", "")
    secrets = write(tmp_path / "secrets.toml", "[broker.robinhood]\npassword = 987654321\n")
    message = load_error(config)
    assert message.startswith(f"{secrets}: broker.robinhood.password: Input should be a valid")
    assert "987654321" not in message


def test_redacted_dict_when_secrets_set_then_values_never_appear(tmp_path: Path) -> None:
    config = write(tmp_path / "config.toml", "")
    environ = {
        "ROBO_TUI_ANALYSTS__OPENAI_API_KEY": "sk-very-secret",
        "ROBO_TUI_BROKER__ROBINHOOD__PASSWORD": "hunter2-secret",
    }
    data = redacted_dict(load_settings(config, environ=environ))
    assert data["analysts"]["openai_api_key"] == REDACTED
    assert data["broker"]["robinhood"]["password"] == REDACTED
    assert data["broker"]["robinhood"]["username"] is None
    assert data["analysts"]["anthropic_api_key"] is None
    assert "secret" not in repr(data).replace("mfa_totp_secret", "")


def test_render_toml_when_read_back_then_same_settings_and_no_secret(tmp_path: Path) -> None:
    config = write(tmp_path / "config.toml", "[risk]\nmax_positions = 4\n")
    settings = load_settings(config, environ={"ROBO_TUI_ANALYSTS__OPENAI_API_KEY": "sk-zzz"})
    text = render_toml(settings)
    assert "sk-zzz" not in text
    assert "ROBO_TUI_ANALYSTS__OPENAI_API_KEY" in text
    reread = Settings.model_validate(tomllib.loads(text))
    assert reread.model_dump(exclude={"analysts": {"openai_api_key"}}) == settings.model_dump(
        exclude={"analysts": {"openai_api_key"}}
    )


def test_resolve_config_path_when_explicit_then_returned_unchanged(tmp_path: Path) -> None:
    explicit = tmp_path / "mine.toml"
    assert resolve_config_path(explicit) == explicit


@posix_only
def test_load_when_secrets_file_keys_a_list_item_by_name_then_it_joins_that_item(
    tmp_path: Path,
) -> None:
    config = write(
        tmp_path / "config.toml",
        '[[news.sources]]\nname = "wire"\nkind = "json"\nurl = "https://wire.example/api"\n'
        '[[news.sources]]\nname = "blog"\nurl = "https://blog.example/rss"\n',
    )
    write(tmp_path / "secrets.toml", '[[news.sources]]\nname = "wire"\napi_key = "wk"\n')
    sources = load_settings(config, environ={}).news.sources
    assert [s.name for s in sources] == ["wire", "blog"]
    assert sources[0].url == "https://wire.example/api"
    assert sources[0].api_key is not None and sources[0].api_key.get_secret_value() == "wk"
    assert sources[1].api_key is None


@posix_only
def test_load_when_secrets_file_item_names_no_config_item_then_error(tmp_path: Path) -> None:
    config = write(tmp_path / "config.toml", '[[news.sources]]\nname = "wire"\nurl = "u"\n')
    secrets = write(tmp_path / "secrets.toml", '[[news.sources]]\nname = "wirre"\napi_key = "k"\n')
    assert load_error(config) == (
        f"{secrets}: news.sources[0]: no item named 'wirre' in the config file's [[news.sources]]"
    )


def test_load_when_list_item_secret_is_in_config_file_then_error(tmp_path: Path) -> None:
    config = write(
        tmp_path / "config.toml", '[[news.sources]]\nname = "w"\nurl = "u"\napi_key = "k-123"\n'
    )
    message = load_error(config)
    assert message.startswith(f"{config}: news.sources[0].api_key: secrets are not allowed")
    assert "[[news.sources]] table with the same `name`" in message
    assert "k-123" not in message

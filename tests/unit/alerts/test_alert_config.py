"""Configured alerts and the Telegram bot are checked when the config loads: a missing extra is
a config error naming it (never a traceback later), and the bot needs its token and chats."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from robo_tui.config import ConfigError, load_settings

ROOT = Path(__file__).resolve().parents[3]

BLOCK_APPRISE = """
import importlib.abc, sys
class NoApprise(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "apprise" or name.startswith("apprise."):
            raise ModuleNotFoundError(name)
        return None
sys.meta_path.insert(0, NoApprise())
import robo_tui.config.availability as availability, importlib.util
real = importlib.util.find_spec
importlib.util.find_spec = lambda name, *a: None if name == "apprise" else real(name, *a)
from robo_tui.cli import main
sys.argv = ["robo-tui", "config", "check"]
main()
"""


def secrets_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "secrets.toml"
    path.write_text(text)
    path.chmod(0o600)
    return path


def test_config_when_alert_urls_are_set_and_apprise_is_missing_then_exit_2_naming_the_extra(
    tmp_path: Path,
) -> None:
    secrets = secrets_file(tmp_path, '[alerts]\nurls = ["json://127.0.0.1:9/tok3n-secret"]\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROBO_TUI_")}
    env |= {"PYTHONPATH": str(ROOT), "ROBO_TUI_SECRETS_FILE": str(secrets),
            "XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    run = subprocess.run([sys.executable, "-c", BLOCK_APPRISE], capture_output=True, text=True,
                         env=env, timeout=120, check=False, cwd=ROOT)
    out = run.stdout + run.stderr
    assert run.returncode == 2, out
    assert "alerts.urls" in out and "pip install 'robo-tui[alerts]'" in out
    assert "Traceback" not in out and "tok3n-secret" not in out


def test_config_when_telegram_is_enabled_without_token_or_chats_then_both_are_named(
    tmp_path: Path,
) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[telegram]\nenabled = true\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(config, environ={"ROBO_TUI_SECRETS_FILE": str(secrets_file(tmp_path, ""))})
    text = str(caught.value)
    assert "telegram.token" in text and "BotFather" in text
    assert "telegram.chat_ids" in text


def test_config_when_alert_urls_come_from_the_secrets_file_then_they_load_as_secrets(
    tmp_path: Path,
) -> None:
    secrets = secrets_file(tmp_path, '[alerts]\nurls = ["json://127.0.0.1:9/tok3n"]\n'
                                     '[telegram]\ntoken = "1:abc"\n')
    config = tmp_path / "config.toml"
    config.write_text("[telegram]\nenabled = true\nchat_ids = [111]\n")
    settings = load_settings(config, environ={"ROBO_TUI_SECRETS_FILE": str(secrets)})
    assert settings.alerts.urls[0].get_secret_value() == "json://127.0.0.1:9/tok3n"
    assert "tok3n" not in repr(settings.alerts)

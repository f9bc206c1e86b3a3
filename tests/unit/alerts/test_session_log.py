"""robo-tui.log records a session's decisions, orders, fills and state changes at INFO, as text
or JSON lines, rotated, with secrets masked; a data folder that cannot be written is a clear
error with the storage exit code, never a traceback."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from pydantic import SecretStr

from robo_tui.config import Settings
from robo_tui.config.outbound import LoggingSettings
from robo_tui.domain.events import TradingStateChanged
from robo_tui.domain.risk import TradingState
from robo_tui.engine.bus import EventBus
from robo_tui.engine.eventlog import EventLog
from robo_tui.logs import LOG_NAME, secret_values, setup_logging

ROOT = Path(__file__).resolve().parents[3]


def robo(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`robo-tui ARGS` in a fresh process with no user config."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("ROBO_TUI_")}
    full_env["PYTHONPATH"] = str(ROOT)
    full_env.update(env)
    return subprocess.run([sys.executable, "-m", "robo_tui.cli", *args], capture_output=True,
                          text=True, timeout=180, env=full_env, check=False, cwd=ROOT)


def test_headless_once_when_the_log_is_json_then_decisions_orders_and_fills_are_json_lines(
    tmp_path: Path,
) -> None:
    data = tmp_path / "d"
    run = robo("--headless", "--once", "--data-dir", str(data),
               env={"XDG_CONFIG_HOME": str(tmp_path / "xdg"), "ROBO_TUI_LOGGING__FORMAT": "json"})
    assert run.returncode == 0, run.stderr
    lines = [json.loads(line) for line in (data / LOG_NAME).read_text().splitlines()]
    events = [line["event"] for line in lines if "event" in line]
    categories = {e["category"] for e in events}
    assert {"decision", "order", "fill"} <= categories, categories
    assert {"ProposalCreated", "OrderSubmitted", "OrderFilled"} <= {e["type"] for e in events}
    fill = next(e for e in events if e["type"] == "OrderFilled")
    assert fill["fill"]["price"] > 0 and fill["fill"]["symbol"]
    assert all(line["level"] in ("INFO", "WARNING", "ERROR", "DEBUG") for line in lines)
    assert oct((data / LOG_NAME).stat().st_mode & 0o777) == "0o600"


def test_headless_once_when_the_log_is_text_then_a_person_reads_the_session(tmp_path: Path) -> None:
    data = tmp_path / "d"
    run = robo("--headless", "--once", "--data-dir", str(data),
               env={"XDG_CONFIG_HOME": str(tmp_path / "xdg")})
    assert run.returncode == 0, run.stderr
    text = (data / LOG_NAME).read_text()
    assert " INFO robo_tui.events: decision proposal " in text
    assert " INFO robo_tui.events: order order " in text
    assert " INFO robo_tui.events: fill fill " in text


def test_headless_when_the_data_folder_cannot_be_written_then_exit_8_without_a_traceback(
    tmp_path: Path,
) -> None:
    run = robo("--headless", "--once", "--data-dir", "/sys/robo-tui-cannot-write",
               env={"XDG_CONFIG_HOME": str(tmp_path / "xdg")})
    assert run.returncode == 8, run.stderr
    assert "Traceback" not in run.stderr
    assert "the data folder cannot be written" in run.stderr and "--data-dir" in run.stderr


def test_log_when_it_outgrows_max_bytes_then_it_rotates_and_masks_secrets(tmp_path: Path) -> None:
    settings = Settings.model_validate({"telegram": {"token": SecretStr("999:bot-token-value")}})
    options = LoggingSettings(format="json", max_bytes=10_000, backups=2)
    path = setup_logging(tmp_path, secret_values(settings), options=options)
    bus = EventBus()
    EventLog(bus)
    now = datetime(2026, 1, 5, 15, 0, tzinfo=UTC)
    for i in range(200):
        bus.publish(TradingStateChanged(ts=now, old=TradingState.ACTIVE, new=TradingState.HALTED,
                                        reason=f"test {i} with 999:bot-token-value", by="cli"))
    for handler in logging.getLogger().handlers:
        handler.flush()
    rotated = sorted(p.name for p in tmp_path.glob(LOG_NAME + "*"))
    assert rotated == [LOG_NAME, LOG_NAME + ".1", LOG_NAME + ".2"]
    for name in rotated:
        assert oct((tmp_path / name).stat().st_mode & 0o777) == "0o600"
        text = (tmp_path / name).read_text()
        assert "bot-token-value" not in text
        for line in text.splitlines():
            record = json.loads(line)
            assert record["event"]["category"] == "state" and "********" in record["event"]["reason"]
    assert path == tmp_path / LOG_NAME


def test_secret_url_when_split_into_pieces_then_tokens_are_masked_and_plain_words_are_not() -> None:
    from robo_tui.logs import url_secret_pieces

    pieces = url_secret_pieces("tgram://123456:AAbotTOKEN9/987654321/alerts/robo-tui?key=s3cretvalue")
    assert "123456:AAbotTOKEN9" in pieces and "987654321" in pieces and "s3cretvalue" in pieces
    assert "alerts" not in pieces and "robo-tui" not in pieces
    assert url_secret_pieces("json://me:pw12@hooks.example:8080/x") == ["me", "pw12"]


async def test_headless_once_when_alerts_are_configured_then_its_fills_reach_the_webhook(
    tmp_path: Path,
) -> None:
    import asyncio

    from tests.unit.alerts.webhook import WebhookServer

    async with WebhookServer() as hook:
        secrets = tmp_path / "secrets.toml"
        secrets.write_text(f'[alerts]\nurls = ["json://127.0.0.1:{hook.port}/robo/t0ken123"]\n')
        secrets.chmod(0o600)
        env = {k: v for k, v in os.environ.items() if not k.startswith("ROBO_TUI_")}
        env |= {"PYTHONPATH": str(ROOT), "XDG_CONFIG_HOME": str(tmp_path / "xdg"),
                "ROBO_TUI_SECRETS_FILE": str(secrets)}
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "robo_tui.cli", "--headless", "--once", "--data-dir",
            str(tmp_path / "d"), env=env, cwd=ROOT, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(proc.communicate(), timeout=180)
    assert proc.returncode == 0, err.decode()
    titles = [r.body["title"] for r in hook.received]
    assert any(t.startswith("Fill: ") for t in titles), titles
    assert all(r.path == "/robo/t0ken123" for r in hook.received)
    log_text = (tmp_path / "d" / LOG_NAME).read_text()
    assert "t0ken123" not in log_text and "t0ken123" not in out.decode() + err.decode()
    db_bytes = b"".join(p.read_bytes() for p in (tmp_path / "d").glob("*.sqlite3*"))
    assert b"alert.sent" in db_bytes and b"t0ken123" not in db_bytes

"""`robo-tui` from a shell, as cron and a trader run it: real processes, real data dirs."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def robo(*args: str, data_dir: Path | None = None, env: dict[str, str] | None = None,
         timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run `robo-tui ARGS` in a fresh process with no user config."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("ROBO_TUI_")}
    full_env["XDG_CONFIG_HOME"] = str((data_dir or ROOT).parent / "xdg-config")
    full_env.update(env or {})
    cmd = [sys.executable, "-m", "robo_tui.cli", *args]
    if data_dir is not None:
        cmd += ["--data-dir", str(data_dir)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=full_env, check=False,
                          cwd=ROOT)


def db_count(data_dir: Path, table: str, where: str = "1=1") -> int:
    db = sqlite3.connect(next(data_dir.glob("*.sqlite3")))
    try:
        return int(db.execute(f"select count(*) from {table} where {where}").fetchone()[0])
    finally:
        db.close()


def test_headless_once_on_the_embedded_default_then_exits_0_with_the_trading_day_recorded(tmp_path):
    data = tmp_path / "d"
    run = robo("--headless", "--once", data_dir=data)
    assert run.returncode == 0, run.stderr
    assert "cycle 1 PAPER ACTIVE SIMULATED" in run.stdout
    for table in ("proposals", "risk_verdicts", "orders", "fills", "news_items", "ai_decisions"):
        assert db_count(data, table) > 0, table
    mode = oct((next(data.glob("*.sqlite3"))).stat().st_mode & 0o777)
    assert mode == "0o600"
    assert oct((data / "robo-tui.log").stat().st_mode & 0o777) == "0o600"


def test_headless_json_then_one_object_per_cycle(tmp_path):
    run = robo("--headless", "--cycles", "2", "--json", data_dir=tmp_path / "d",
               env={"ROBO_TUI_ENGINE__CYCLE_SECONDS": "0.1"})
    assert run.returncode == 0, run.stderr
    lines = [json.loads(line) for line in run.stdout.splitlines()]
    assert [line["cycle"] for line in lines] == [1, 2]
    assert lines[0]["type"] == "CycleCompleted" and lines[0]["simulated"] is True
    assert {"equity", "state", "mode", "events"} <= set(lines[0])


def test_halt_then_once_exits_3_with_no_order_and_resume_restores_trading(tmp_path):
    data = tmp_path / "d"
    halted = robo("halt", "--reason", "risk review", data_dir=data)
    assert halted.returncode == 0, halted.stderr
    run = robo("--headless", "--once", data_dir=data)
    assert run.returncode == 3, run.stdout + run.stderr
    assert "HALTED" in run.stderr
    assert db_count(data, "orders") == 0
    resumed = robo("resume", "--yes", data_dir=data)
    assert resumed.returncode == 0, resumed.stderr
    again = robo("--headless", "--once", data_dir=data)
    assert again.returncode == 0, again.stderr
    assert db_count(data, "orders") > 0


def test_broken_config_then_exits_2_naming_the_file_and_the_key(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text("[risk]\nmax_postion_pct = 0.5\n")
    run = robo("--headless", "--once", "--config", str(config), data_dir=tmp_path / "d")
    assert run.returncode == 2
    assert "config.toml" in run.stderr and "risk.max_postion_pct" in run.stderr
    assert "max_position_pct" in run.stderr  # the suggestion


def test_out_of_range_risk_limit_then_exits_2_with_the_reason(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text("[risk]\ndaily_loss_halt_pct = 30\n")
    run = robo("config", "check", "--config", str(config))
    assert run.returncode == 2
    assert "risk.daily_loss_halt_pct" in run.stderr


def test_live_without_the_confirmation_then_exits_2_saying_what_is_missing(tmp_path):
    run = robo("--headless", "--once", "--mode", "live", data_dir=tmp_path / "d")
    assert run.returncode == 2
    for missing in ("engine.live_enabled", "broker.kind", "--confirm-live"):
        assert missing in run.stderr


def test_live_when_enabled_but_not_confirmed_then_still_refused(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('[engine]\nlive_enabled = true\n[broker]\nkind = "ib"\n')
    run = robo("--headless", "--once", "--mode", "live", "--config", str(config),
               data_dir=tmp_path / "d")
    assert run.returncode == 2
    assert "--confirm-live" in run.stderr and "live_enabled" not in run.stderr


def test_second_instance_on_the_same_data_dir_then_exits_4(tmp_path):
    data = tmp_path / "d"
    holder = subprocess.Popen(
        [sys.executable, "-c",
         ("import sys, time; from pathlib import Path; "
          "from robo_tui.adapters.store.lock import DataDirLock; "
          f"lock = DataDirLock(Path({str(data)!r})); lock.acquire(); print('held', flush=True); "
          "time.sleep(60)")],
        stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        run = robo("--headless", "--once", data_dir=data)
        assert run.returncode == 4
        assert f"pid {holder.pid}" in run.stderr
    finally:
        holder.kill()
        holder.wait()


def test_config_check_then_prints_settings_with_secrets_redacted(tmp_path):
    secret = "sk-test-do-not-print-0123456789"
    run = robo("config", "check", env={"ROBO_TUI_ANALYSTS__OPENAI_API_KEY": secret})
    assert run.returncode == 0, run.stderr
    assert secret not in run.stdout and secret not in run.stderr
    assert "[risk]" in run.stdout


def test_secret_in_the_environment_never_reaches_the_log_or_the_database(tmp_path):
    data = tmp_path / "d"
    secret = "sk-ant-never-logged-9876543210"
    run = robo("--headless", "--once", data_dir=data,
               env={"ROBO_TUI_ANALYSTS__ANTHROPIC_API_KEY": secret})
    assert run.returncode == 0, run.stderr
    for path in data.iterdir():
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path.name


def test_semi_auto_proposals_then_listed_approved_through_the_gate_and_rejected(tmp_path):
    data = tmp_path / "d"
    run = robo("--headless", "--once", "--mode", "semi-auto", data_dir=data)
    assert run.returncode == 0, run.stderr
    assert db_count(data, "orders") == 0
    listed = robo("proposals", "list", "--json", data_dir=data)
    assert listed.returncode == 0, listed.stderr
    pending = json.loads(listed.stdout)
    assert len(pending) >= 2 and all(p["status"] == "pending" for p in pending)
    approved = robo("proposals", "approve", pending[0]["id"], data_dir=data)
    assert approved.returncode in (0, 1), approved.stderr  # 1: the gate denied it, and said why
    assert pending[0]["id"] in approved.stdout
    verdicts = db_count(data, "risk_verdicts", f"proposal_id = '{pending[0]['id']}'")
    assert verdicts == 1
    rejected = robo("proposals", "reject", pending[1]["id"], "--reason", "no", data_dir=data)
    assert rejected.returncode == 0, rejected.stderr
    assert db_count(data, "proposals", f"id = '{pending[1]['id']}' and status = 'rejected'") == 1


def test_headless_does_not_import_textual():
    code = ("import sys, robo_tui.headless, robo_tui.wiring, robo_tui.engine.engine; "
            "print('textual' in sys.modules)")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         check=False)
    assert run.stdout.strip() == "False", run.stderr


@pytest.mark.parametrize("flag", ["--once", "--cycles"])
def test_once_or_cycles_without_headless_then_usage_error(flag, tmp_path):
    args = [flag] if flag == "--once" else [flag, "2"]
    run = robo(*args, data_dir=tmp_path / "d")
    assert run.returncode == 2


def test_import_contracts_keep_the_engine_free_of_the_ui():
    lint = Path(sys.executable).with_name("lint-imports")
    run = subprocess.run([str(lint)], capture_output=True, text=True, cwd=ROOT, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "0 broken" in run.stdout


def test_review_then_a_daily_review_is_stored_and_summarised(tmp_path):
    data = tmp_path / "d"
    assert robo("--headless", "--once", data_dir=data).returncode == 0
    run = robo("review", data_dir=data)
    assert run.returncode == 0, run.stderr
    assert "ideas" in run.stdout or "track record" in run.stdout
    assert db_count(data, "daily_reviews") == 1


def test_headless_when_the_reader_closes_the_pipe_then_it_stops_cleanly(tmp_path):
    data = tmp_path / "d"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROBO_TUI_")}
    env.update(XDG_CONFIG_HOME=str(tmp_path / "xdg"), ROBO_TUI_ENGINE__CYCLE_SECONDS="0.2")
    proc = subprocess.Popen(
        [sys.executable, "-m", "robo_tui.cli", "--headless", "--json", "--data-dir", str(data)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=ROOT)
    assert proc.stdout is not None
    first = proc.stdout.readline()  # like `| head -1`: one line, then the reader leaves
    proc.stdout.close()
    _, err = proc.communicate(timeout=60)
    assert json.loads(first)["cycle"] == 1
    assert proc.returncode == 0, err.decode()
    assert b"Traceback" not in err


def test_approve_when_the_proposal_was_already_rejected_then_says_so_not_no_pending(tmp_path):
    data = tmp_path / "d"
    assert robo("--headless", "--once", "--mode", "semi-auto", data_dir=data).returncode == 0
    pending = json.loads(robo("proposals", "list", "--json", data_dir=data).stdout)
    first = pending[0]
    assert robo("proposals", "reject", first["id"], data_dir=data).returncode == 0

    again = robo("proposals", "approve", first["id"], data_dir=data)

    assert again.returncode == 2
    assert f"proposal {first['id']} ({first['side']} " in again.stderr
    assert "is already rejected; nothing to decide" in again.stderr
    assert "no pending proposal" not in again.stderr
    unknown = robo("proposals", "approve", "nope", data_dir=data)
    assert unknown.returncode == 2 and "no proposal nope" in unknown.stderr


def test_version_then_prints_the_installed_version_and_exits_0():
    from importlib.metadata import version

    run = robo("--version")
    assert run.returncode == 0
    assert run.stdout.strip() == f"robo-tui {version('robo-tui')}"


def test_help_when_read_then_on_off_options_are_flags_without_a_value():
    run = robo("--help", env={"COLUMNS": "160"})
    assert run.returncode == 0
    lines = {line.split()[1]: line for line in run.stdout.splitlines()
             if line.startswith("│ --") and len(line.split()) > 1}
    for name in ("--headless", "--once", "--json", "--confirm-live", "--version"):
        assert "<bool>" not in lines[name], lines[name]
    assert "<int range>" in lines["--cycles"]  # options that take a value still show it


def test_headless_with_a_boolean_word_then_usage_error_explaining_flags(tmp_path):
    run = robo("--headless", "true", data_dir=tmp_path / "d")
    assert run.returncode == 2
    assert "on/off options are flags and take no value" in run.stderr
    assert "No such command" not in run.stderr


def test_docs_when_read_then_every_command_is_documented():
    from robo_tui.cli import app

    text = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    commands = [c.name for c in app.registered_commands]
    groups = {g.name: g.typer_instance for g in app.registered_groups}
    missing = [name for name in commands if f"robo-tui {name}" not in text]
    for group, sub in groups.items():
        missing += [f"{group} {c.name}" for c in sub.registered_commands
                    if f"robo-tui {group} {c.name}" not in text]
    assert commands and missing == []


@pytest.mark.parametrize("command", [("data", "download"), ("orders", "resolve"), ("config", "check")])
def test_subcommand_help_when_read_then_help_is_a_flag(command):
    run = robo(*command, "--help", env={"COLUMNS": "160"})
    assert run.returncode == 0
    help_line = next(line for line in run.stdout.splitlines() if "--help" in line)
    assert "<bool>" not in help_line

"""The live brokers as the composition root and the CLI use them: paper mode never builds them,
an unreachable TWS exits 5 with a clear message, Robinhood outside live mode is refused, and no
credential reaches the screen or the log."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from robo_tui.adapters.brokers.paper import PaperBroker
from robo_tui.config import load_settings
from robo_tui.domain.risk import Mode
from robo_tui.engine.clock import SimClock
from robo_tui.wiring import build_broker

ROOT = Path(__file__).resolve().parents[3]
PASSWORD = "S3cret-Passw0rd-xyz"
USERNAME = "trader-login@example.com"
SEED = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
CREDENTIALS = {
    "ROBO_TUI_BROKER__ROBINHOOD__USERNAME": USERNAME,
    "ROBO_TUI_BROKER__ROBINHOOD__PASSWORD": PASSWORD,
    "ROBO_TUI_BROKER__ROBINHOOD__MFA_TOTP_SECRET": SEED,
}


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def robo(tmp_path: Path, *args: str, env: dict[str, str] | None = None,
         timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`robo-tui ARGS` in a fresh process: no user config, and any HTTPS request would go to a
    closed local proxy (so a regression could never reach the network)."""
    full = {k: v for k, v in os.environ.items() if not k.startswith("ROBO_TUI_")}
    full |= {"XDG_CONFIG_HOME": str(tmp_path / "xdg"), "HTTPS_PROXY": f"http://127.0.0.1:{closed_port()}",
             "HTTP_PROXY": f"http://127.0.0.1:{closed_port()}", "NO_PROXY": ""}
    full |= env or {}
    return subprocess.run([sys.executable, "-m", "robo_tui.cli", *args], check=False, capture_output=True,
                          text=True, timeout=timeout, env=full, cwd=ROOT)


@pytest.mark.parametrize("kind", ["ib", "robinhood"])
def test_build_broker_when_mode_is_paper_then_paper_even_with_credentials(kind: str, clock: SimClock) -> None:
    settings = load_settings(None, environ={"ROBO_TUI_BROKER__KIND": kind, **CREDENTIALS})
    assert settings.broker.kind == kind
    assert isinstance(build_broker(settings, Mode.PAPER, clock), PaperBroker)


def test_paper_mode_when_a_live_broker_is_configured_then_no_broker_sdk_is_even_imported() -> None:
    script = (
        "import sys\n"
        "from robo_tui.config import load_settings\n"
        "from robo_tui.domain.risk import Mode\n"
        "from robo_tui.engine.clock import WallClock\n"
        "from robo_tui.wiring import build_broker\n"
        "for kind in ('ib', 'robinhood'):\n"
        "    s = load_settings(None, environ={'ROBO_TUI_BROKER__KIND': kind})\n"
        "    print(type(build_broker(s, Mode.PAPER, WallClock())).__name__)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in\n"
        "             ('ib_async', 'ib_insync', 'robin_stocks', 'pyotp')))\n"
    )
    run = subprocess.run([sys.executable, "-c", script], check=False, capture_output=True, text=True,
                         timeout=60, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["PaperBroker", "PaperBroker", "[]"]


def test_headless_once_when_tws_is_not_listening_then_exits_5_naming_where_it_looked(tmp_path: Path) -> None:
    port = closed_port()
    config = tmp_path / "config.toml"
    config.write_text(f'[broker]\nkind = "ib"\n\n[broker.ib]\nhost = "127.0.0.1"\nport = {port}\n'
                      "timeout_seconds = 2.0\n")
    run = robo(tmp_path, "--headless", "--once", "--mode", "auto", "--config", str(config),
               "--data-dir", str(tmp_path / "d"))
    assert run.returncode == 5, run.stdout + run.stderr
    assert "unreachable" in run.stderr
    assert f"cannot reach TWS/IB Gateway at 127.0.0.1:{port}" in run.stderr
    assert "Traceback" not in run.stderr


def test_headless_once_when_paper_mode_names_ib_then_trades_on_paper_without_touching_tws(
    tmp_path: Path,
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[broker]\nkind = "ib"\n\n[broker.ib]\nport = {closed_port()}\n')
    run = robo(tmp_path, "--headless", "--once", "--mode", "paper", "--config", str(config),
               "--data-dir", str(tmp_path / "d"))
    assert run.returncode == 0, run.stderr
    assert "PAPER" in run.stdout


def test_headless_once_when_robinhood_outside_live_mode_then_refused_and_no_secret_anywhere(
    tmp_path: Path,
) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[broker]\nkind = "robinhood"\n')
    data = tmp_path / "d"
    run = robo(tmp_path, "--headless", "--once", "--mode", "auto", "--config", str(config),
               "--data-dir", str(data), env=CREDENTIALS)
    assert run.returncode == 5, run.stdout + run.stderr
    assert "no paper accounts" in run.stderr and "--confirm-live" in run.stderr
    log = (data / "robo-tui.log").read_text()
    for secret in (PASSWORD, USERNAME, SEED):
        assert secret not in run.stdout + run.stderr + log

"""`robo-tui data download|list` then `robo-tui backtest --source` as a trader runs them.

Real processes, a real data dir, the real ccxt library talking to a local Kraken-shaped server
(tests/unit/feeds/kraken_server.py) through `feeds.ccxt.base_url`: nothing reaches the network.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("ccxt")

from tests.unit.feeds.kraken_server import FakeKraken

ROOT = Path(__file__).resolve().parents[2]
HOUR = 3600
T0 = 1_767_225_600  # 2026-01-01 00:00 UTC


@pytest.fixture
def kraken() -> Iterator[FakeKraken]:
    with FakeKraken(T0 - 2000 * HOUR, T0 + 1800, step=HOUR) as server:
        yield server


def robo(tmp_path: Path, kraken: FakeKraken, *args: str) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "config.toml"
    config.write_text(f'[feeds.ccxt]\nbase_url = "{kraken.url}"\nrate_limit_ms = 1\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROBO_TUI_")}
    env.update(XDG_CONFIG_HOME=str(tmp_path / "xdg-config"), XDG_DATA_HOME=str(tmp_path / "xdg-data"),
               COLUMNS="120", PYTHONPATH=str(ROOT))
    cmd = [sys.executable, "-m", "robo_tui.cli", *args, "--config", str(config),
           "--data-dir", str(tmp_path / "data")]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300,
                          check=False)


def test_download_then_list_then_second_download_fetches_only_new_bars(
    tmp_path: Path, kraken: FakeKraken
) -> None:
    first = robo(tmp_path, kraken, "data", "download", "--source", "ccxt:kraken",
                 "--symbols", "BTC-USD,ETH-USD", "--timeframe", "1h", "--since", "2025-12-01",
                 "--until", "2026-01-01T00:30")
    listed = robo(tmp_path, kraken, "data", "list")
    kraken.now = T0 + 3 * HOUR + 60
    asked = len(kraken.paths("/0/public/OHLC"))
    second = robo(tmp_path, kraken, "data", "download", "--source", "ccxt:kraken",
                  "--symbols", "BTC-USD", "--timeframe", "1h", "--since", "2025-12-01",
                  "--until", "2026-01-01T03:01")

    assert first.returncode == 0, first.stderr
    assert "ccxt:kraken BTC-USD 1h: +744 bars 2025-12-01 00:00 .. 2025-12-31 23:00" in first.stdout
    assert "ETH-USD 1h: +744 bars" in first.stdout
    assert "744/744" in first.stderr  # the progress bar
    assert listed.returncode == 0, listed.stderr
    assert "│ ccxt:kraken │ BTC-USD │ 1h        │ 2025-12-01 00:00 │ 2025-12-31 23:00 │ 744  │ none │" in listed.stdout
    assert second.returncode == 0, second.stderr
    assert "BTC-USD 1h: +3 bars 2026-01-01 00:00 .. 2026-01-01 02:00" in second.stdout
    assert len(kraken.paths("/0/public/OHLC")) - asked == 1  # one page: only the new bars


def test_backtest_when_source_given_then_reads_the_catalogue(tmp_path: Path, kraken: FakeKraken) -> None:
    robo(tmp_path, kraken, "data", "download", "--source", "ccxt:kraken", "--symbols", "BTC-USD",
         "--timeframe", "1h", "--since", "2025-12-01", "--until", "2026-01-01")

    run = robo(tmp_path, kraken, "backtest", "--source", "ccxt:kraken", "--symbols", "BTC-USD",
               "--timeframe", "1h", "--start", "2025-12-02", "--no-chart")
    missing = robo(tmp_path, kraken, "backtest", "--source", "ccxt:kraken", "--symbols", "ETH-USD",
                   "--timeframe", "1h")

    assert run.returncode == 0, run.stderr
    assert "BTC-USD" in run.stdout
    assert "Stored as run" in run.stdout
    assert missing.returncode == 2
    assert "no 1h bars of ETH-USD from ccxt:kraken in the catalogue" in missing.stderr
    assert "robo-tui data download --source ccxt:kraken --symbols ETH-USD" in missing.stderr


def test_download_when_dates_or_source_are_bad_then_exit_2_naming_them(
    tmp_path: Path, kraken: FakeKraken
) -> None:
    bad_date = robo(tmp_path, kraken, "data", "download", "--source", "ccxt:kraken",
                    "--symbols", "BTC-USD", "--since", "yesterday")
    bad_source = robo(tmp_path, kraken, "data", "download", "--source", "ftp:x",
                      "--symbols", "BTC-USD", "--since", "2025-12-01")

    assert bad_date.returncode == 2
    assert "'yesterday' is not a date" in bad_date.stderr
    assert bad_source.returncode == 2
    assert "use ccxt:EXCHANGE" in bad_source.stderr

"""`robo-tui serve` driven from headless Chromium: the real server, the real console in its
subprocess, xterm.js in a real browser. The page's websocket is tapped (a script installed before
the page loads records every frame the server sends) so the test reads what the browser was told
to draw; F9 is pressed in the page and the halt is read back from the data dir's SQLite."""

from __future__ import annotations

import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(
    CHROMIUM is None or CHROMEDRIVER is None,
    reason="no chromium/chromedriver binary (Debian: apt-get install -y chromium chromium-driver)")

TAP_WEBSOCKET = r"""
window.__robo_frames = [];
const Native = window.WebSocket;
window.WebSocket = function (url, protocols) {
  const ws = protocols === undefined ? new Native(url) : new Native(url, protocols);
  ws.addEventListener("message", (event) => {
    if (typeof event.data === "string") { window.__robo_frames.push(event.data); return; }
    window.__robo_frames.push(new TextDecoder("utf-8").decode(event.data));
  });
  return ws;
};
window.WebSocket.prototype = Native.prototype;
Object.assign(window.WebSocket, Native);
"""

ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\x1b[=>]")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path, int]]:
    """`robo-tui serve` on a free loopback port with a fresh data dir; yields (url, data dir, port)."""
    data_dir = tmp_path / "data"
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROBO_TUI_")}
    env.update(XDG_CONFIG_HOME=str(tmp_path / "xdg"), PYTHONPATH=str(ROOT),
               ROBO_TUI_ENGINE__CYCLE_SECONDS="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "robo_tui.cli", "serve", "--port", str(port), "--data-dir",
         str(data_dir)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
        cwd=ROOT)
    url = ""
    assert proc.stdout is not None
    for line in proc.stdout:
        found = re.search(r"http://127\.0\.0\.1:\d+/\?token=[\w-]+", line)
        if found:
            url = found.group(0)
            break
    try:
        assert url, "serve printed no URL"
        _wait_listening(port)
        yield url, data_dir, port
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()


def _wait_listening(port: int, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing listens on 127.0.0.1:{port}")


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def _screen_text(driver: object) -> str:
    frames = driver.execute_script("return window.__robo_frames.join('')")  # type: ignore[attr-defined]
    return ANSI.sub("", str(frames))


def _wait_for(driver: object, words: tuple[str, ...], seconds: float) -> str:
    deadline = time.monotonic() + seconds
    text = ""
    while time.monotonic() < deadline:
        text = _screen_text(driver)
        if all(word in text for word in words):
            return text
        time.sleep(0.5)
    raise AssertionError(f"the page never showed {words}; last 600 chars: {text[-600:]!r}")


def _assert_drawn(png: bytes, keep: Path) -> None:
    """xterm.js really painted the screen (it draws on a canvas): the page is not one flat
    colour but many, over a good part of it. The picture is kept beside the test's data."""
    import io

    from PIL import Image

    keep.write_bytes(png)
    image = Image.open(io.BytesIO(png)).convert("RGB").resize((320, 200))
    colours = image.getcolors(maxcolors=320 * 200) or []
    background = max(count for count, _ in colours)
    painted = 1 - background / (320 * 200)
    assert len(colours) > 20 and painted > 0.05, f"page looks blank ({painted:.1%} painted)"


def _halted(data_dir: Path) -> bool:
    database = data_dir / "robo-tui.sqlite3"
    if not database.exists():
        return False
    with sqlite3.connect(database) as db:
        rows = db.execute("SELECT value FROM control_state").fetchall()
    return any("HALTED" in str(value) for (value,) in rows)


def test_serve_when_token_missing_or_wrong_then_403_and_with_token_then_page(served):
    url, _, port = served
    assert _status(f"http://127.0.0.1:{port}/") == 403
    assert _status(f"http://127.0.0.1:{port}/?token=wrong") == 403
    assert _status(f"http://127.0.0.1:{port}/ws") == 403
    assert _status(url) == 200


def test_served_console_in_chromium_renders_panes_and_f9_halts_the_engine(served, tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    url, data_dir, _ = served
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                "--window-size=1280,800"):
        options.add_argument(arg)
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    try:
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": TAP_WEBSOCKET})
        driver.get(url)
        _wait_for(driver, ("Positions", "Risk", "Event feed", "Kill switch", "ACTIVE"), 90)
        _assert_drawn(driver.get_screenshot_as_png(), tmp_path / "served.png")
        assert not _halted(data_dir)
        driver.execute_script("document.querySelector('.xterm-helper-textarea').focus()")
        ActionChains(driver).send_keys(Keys.F9).perform()
        _wait_for(driver, ("HALTED",), 30)
        deadline = time.monotonic() + 30
        while not _halted(data_dir) and time.monotonic() < deadline:
            time.sleep(0.3)
        assert _halted(data_dir), "F9 in the browser did not persist a halt"
    finally:
        driver.quit()

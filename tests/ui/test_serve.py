"""`robo-tui serve` without a browser: the host rule, the token, the missing extra, the console
each session runs."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from robo_tui.runtime import ExitCode, RunError
from robo_tui.serve import (
    ServeOptions,
    check_host,
    console_args,
    console_command,
    is_loopback,
    make_server,
    new_token,
    serve_url,
    token_ok,
)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "localhost", "::1", "[::1]"])
def test_is_loopback_when_loopback_address_then_true(host):
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.5", "::", "example.com"])
def test_check_host_when_not_loopback_and_no_flag_then_usage_error_naming_allow_remote(host):
    with pytest.raises(RunError) as caught:
        check_host(host, allow_remote=False)
    assert caught.value.code is ExitCode.USAGE
    assert "--allow-remote" in str(caught.value)


def test_check_host_when_not_loopback_with_allow_remote_then_accepted():
    check_host("0.0.0.0", allow_remote=True)


def test_new_token_when_drawn_twice_then_long_and_different():
    first, second = new_token(), new_token()
    assert first != second and len(first) >= 40
    assert token_ok(first, first) and not token_ok(second, first) and not token_ok(None, first)


def test_serve_url_when_ipv6_then_bracketed_with_token():
    assert serve_url("::1", 8000, "abc") == "http://[::1]:8000/?token=abc"


def test_console_args_then_same_data_dir_config_and_options_as_robo_tui(tmp_path):
    args = console_args(config=tmp_path / "c.toml", data_dir=Path("rel"), mode="semi-auto",
                        analyst="rules", news=["feed.xml"], theme="nord", confirm_live=False)
    assert args[:2] == ("--data-dir", str(Path("rel").resolve()))
    assert ("--config", str((tmp_path / "c.toml").resolve())) == args[2:4]
    assert "--confirm-live" not in args and args[-2:] == ("--theme", "nord")
    command = console_command(args)
    assert command.startswith(sys.executable) and "-m robo_tui.cli --data-dir" in command


def test_make_server_when_textual_serve_missing_then_usage_error_naming_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "textual_serve.server", None)
    with pytest.raises(RunError) as caught:
        make_server(ServeOptions(token="t"))
    assert caught.value.code is ExitCode.USAGE
    assert "robo-tui[serve]" in str(caught.value)


def test_make_server_when_installed_then_runs_the_console_command():
    server = make_server(ServeOptions(port=8123, token="t", console_args=("--data-dir", "/x")))
    assert server.command.endswith("-m robo_tui.cli --data-dir /x")
    assert server.port == 8123

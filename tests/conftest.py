"""Shared test setup: no network beyond loopback, a fixed clock, seeded randomness."""

from __future__ import annotations

import importlib.machinery
import ipaddress
import random
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import robo_tui
from robo_tui.engine.clock import SimClock

FIXED_START = datetime(2026, 1, 5, 14, 30, tzinfo=UTC)

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _is_local(address: Any) -> bool:
    if isinstance(address, (str, bytes)):  # unix socket path
        return True
    host = address[0]
    if host in ("localhost", "", None):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _guarded_connect(self: socket.socket, address: Any) -> Any:
    if not _is_local(address):
        raise ConnectionRefusedError(f"tests may not reach the network: {address!r}")
    return _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: Any) -> Any:
    if not _is_local(address):
        raise ConnectionRefusedError(f"tests may not reach the network: {address!r}")
    return _real_connect_ex(self, address)


def stale_compiled_modules(package: Path) -> list[str]:
    """Compiled modules (an in-place mypyc build, see setup.py) older than their source: Python
    would import the compiled copy and the tests would not see the edit."""
    stale = []
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        for compiled in package.rglob(f"*{suffix}"):
            source = compiled.with_name(compiled.name[: -len(suffix)] + ".py")
            if source.exists() and source.stat().st_mtime > compiled.stat().st_mtime:
                stale.append(str(source.relative_to(package.parent)))
    return sorted(stale)


def pytest_sessionstart(session: pytest.Session) -> None:
    stale = stale_compiled_modules(Path(robo_tui.__file__).parent)
    if stale:
        raise pytest.UsageError(
            f"compiled modules are older than their source: {', '.join(stale)}. Rebuild them "
            "in place (python setup.py build_ext --inplace) or delete the .so files (the editable "
            "install runs the source)")


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test: sockets may only connect to loopback (local fake servers)."""
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", _guarded_connect_ex)
    yield


@pytest.fixture(autouse=True)
def seeded() -> None:
    """Every test starts from the same random state."""
    random.seed(1234)
    np.random.seed(1234)


@pytest.fixture
def clock() -> SimClock:
    """A simulated clock fixed at a Monday afternoon (UTC)."""
    return SimClock(FIXED_START)

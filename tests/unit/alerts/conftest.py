"""Tests here that set up the log file take its handlers off the root logger afterwards."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def own_log_handlers_removed() -> Iterator[None]:
    """Remove the handlers `setup_logging` added (their files live in the test's tmp dir)."""
    yield
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_robo_tui", False):
            root.removeHandler(handler)
            handler.close()

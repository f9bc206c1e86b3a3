"""Fixtures of the console tests (the helpers are in helpers.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from .helpers import seed_book


@pytest.fixture
def seeded_dir(tmp_path: Path) -> Path:
    """A data dir holding the deterministic day (for snapshot tests, which are sync)."""
    asyncio.run(seed_book(tmp_path))
    return tmp_path

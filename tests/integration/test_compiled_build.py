"""The compiled build (setup.py: mypyc over the engine's hot modules) against the source tree.

A regular install compiles those modules; the editable install the rest of the suite runs on does
not. This builds the compiled modules in a copy of the package, replays the same histories
through both builds in child processes, and requires the same proposals, orders, fills, trades
and equity curve to the last bit.
"""

from __future__ import annotations

import importlib.machinery
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROBE = Path(__file__).with_name("compiled_probe.py")
pytestmark = pytest.mark.slow


def package_copy(where: Path) -> Path:
    """The package's source alone (no compiled modules a developer may have built in place)."""
    shutil.copytree(ROOT / "robo_tui", where / "robo_tui",
                    ignore=shutil.ignore_patterns("__pycache__", "*.so", "*.pyd"))
    return where


@pytest.fixture(scope="module")
def source_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return package_copy(tmp_path_factory.mktemp("source"))


@pytest.fixture(scope="module")
def compiled_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the package with its mypyc extensions built in place (about a minute)."""
    pytest.importorskip("mypyc.build")
    where = package_copy(tmp_path_factory.mktemp("compiled"))
    for name in ("setup.py", "pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, where / name)
    env = {k: v for k, v in os.environ.items() if k != "ROBO_TUI_PURE_PYTHON"}
    build = subprocess.run([sys.executable, "setup.py", "-q", "build_ext", "--inplace"],
                           check=False, cwd=where, env=env, capture_output=True, text=True,
                           timeout=900)
    assert build.returncode == 0, build.stderr[-3000:]
    assert "installing pure Python" not in build.stderr, build.stderr[-3000:]
    return where


def probe(pythonpath: Path) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(pythonpath)}
    run = subprocess.run([sys.executable, str(PROBE)], check=False, cwd=PROBE.parent, env=env,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    out: dict[str, Any] = json.loads(run.stdout)
    return out


def test_compiled_build_when_replaying_then_every_hot_module_is_compiled(compiled_copy: Path):
    got = probe(compiled_copy)
    assert got["compiled"] == [
        "robo_tui.adapters.brokers.paper", "robo_tui.engine.account", "robo_tui.engine.backtest",
        "robo_tui.engine.control", "robo_tui.engine.engine", "robo_tui.engine.ensemble",
        "robo_tui.engine.health", "robo_tui.engine.ledger", "robo_tui.engine.orders",
        "robo_tui.engine.outcomes", "robo_tui.engine.proposals", "robo_tui.engine.risk",
        "robo_tui.engine.risk_correlation", "robo_tui.engine.risk_facts",
        "robo_tui.engine.risk_rules", "robo_tui.engine.sizing",
    ]


def test_compiled_build_when_replaying_then_results_equal_the_source_tree_to_the_bit(
        compiled_copy: Path, source_copy: Path):
    compiled, source = probe(compiled_copy), probe(source_copy)
    assert source["compiled"] == []
    for case in ("default", "compat"):
        assert compiled[case]["counts"] == source[case]["counts"], case
        assert compiled[case]["final_equity"] == source[case]["final_equity"], case
        assert compiled[case]["trades"] == source[case]["trades"], case
        assert compiled[case]["equity_sha256"] == source[case]["equity_sha256"], case
    assert len(source["compat"]["trades"]) == 93  # backtesting.py's README strategy on GOOG
    assert source["default"]["counts"][1] > 100  # the default case placed real orders


def test_stale_guard_when_a_compiled_module_is_older_than_its_source_then_names_it(tmp_path: Path):
    from tests.conftest import stale_compiled_modules

    package = tmp_path / "robo_tui"
    (package / "engine").mkdir(parents=True)
    suffix = next(s for s in importlib.machinery.EXTENSION_SUFFIXES if s != ".so")
    for name, source_newer in (("risk", True), ("ledger", False)):
        compiled = package / "engine" / f"{name}{suffix}"
        source = package / "engine" / f"{name}.py"
        compiled.write_bytes(b"")
        source.write_text("")
        old, new = 1_700_000_000, 1_700_000_100
        os.utime(compiled, (old, old) if source_newer else (new, new))
        os.utime(source, (new, new) if source_newer else (old, old))
    assert stale_compiled_modules(package) == ["robo_tui/engine/risk.py"]

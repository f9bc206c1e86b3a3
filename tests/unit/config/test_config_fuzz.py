"""The config loader fed random TOML values: every config it accepts builds an engine that runs a
cycle without a traceback, and every config it refuses is refused with a `ConfigError` (one line
per problem), never another exception. Paper mode, simulated market, rules analyst: no network."""

from __future__ import annotations

import asyncio
import json
import math
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from robo_tui.config import ConfigError, Settings, load_settings
from robo_tui.config.fields import is_secret, nested_model
from robo_tui.engine.clock import SimClock
from robo_tui.wiring import build_engine

# Keys that choose what is built or where (they would reach the network, ask for live money or
# move the data dir); everything else is fair game.
FIXED = {"engine.mode", "engine.live_enabled", "feeds.kind", "broker.kind", "analysts.provider",
         "storage.data_dir", "feeds.replay_path", "ui.theme"}


def leaves(model: type[BaseModel], prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every scalar setting as (section..., key), lists of tables and secrets left out."""
    out: list[tuple[str, ...]] = []
    for name, info in model.model_fields.items():
        sub, is_list = nested_model(info.annotation)
        if sub is not None:
            if not is_list:
                out += leaves(sub, (*prefix, name))
        elif not is_secret(info.annotation) and ".".join((*prefix, name)) not in FIXED:
            out.append((*prefix, name))
    return out


LEAVES = leaves(Settings)

EDGE_FLOATS = [0.0, -0.0, 5e-324, 1e-9, 0.001, 0.03, 0.5, 1.0, 3.0, 30.0, 100.0, 86400.0, 1e12,
               1e300, 1.7976931348623157e308, math.inf, -math.inf, math.nan, -1.0]
EDGE_INTS = [0, 1, -1, 2, 3, 20, 50, 301, 65535, 2**31, 2**63 - 1, -(2**63)]

wild = st.one_of(
    st.sampled_from(EDGE_FLOATS), st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(EDGE_INTS), st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.booleans(), st.text(max_size=12), st.lists(st.integers(0, 5), max_size=3),
)


def default_of(key: tuple[str, ...]) -> Any:
    node: Any = Settings()
    for part in key:
        node = getattr(node, part)
    return node.value if hasattr(node, "value") else node


def plausible(key: tuple[str, ...]) -> st.SearchStrategy[Any]:
    """Values near the default (half, double, one more), so many configs are accepted."""
    d = default_of(key)
    if isinstance(d, bool):
        return st.booleans()
    if isinstance(d, float):
        return st.sampled_from([d, d / 2, d * 2, d * 1.5])
    if isinstance(d, int):
        return st.sampled_from([d, d + 1, max(d // 2, 1), d * 2])
    return st.just(d) if isinstance(d, (str, list)) else wild


@st.composite
def configs(draw: st.DrawFn) -> dict[tuple[str, ...], Any]:
    keys = draw(st.lists(st.sampled_from(LEAVES), min_size=1, max_size=4, unique=True))
    return {k: draw(st.one_of(plausible(k), wild) if draw(st.booleans()) else plausible(k))
            for k in keys}


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return json.dumps(value)  # a TOML basic string


def toml_text(chosen: dict[tuple[str, ...], Any]) -> str:
    tables: dict[tuple[str, ...], list[str]] = {}
    for key, value in chosen.items():
        tables.setdefault(key[:-1], []).append(f"{key[-1]} = {toml_value(value)}")
    return "".join(f"[{'.'.join(t)}]\n" + "\n".join(lines) + "\n" for t, lines in tables.items())


async def one_cycle(config: Settings, data_dir: Path) -> int:
    engine = build_engine(config, data_dir=data_dir,
                          clock=SimClock(datetime(2024, 5, 1, 14, 30, tzinfo=UTC)))
    await engine.start()
    try:
        return (await engine.run_cycle()).cycle
    finally:
        await engine.stop()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(configs())
def test_loader_when_fed_random_values_then_refused_cleanly_or_runs_a_cycle(
    chosen: dict[tuple[str, ...], Any],
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "config.toml"
        path.write_text(toml_text(chosen), encoding="utf-8")
        try:
            config = load_settings(path, environ={})
        except ConfigError as exc:
            assert exc.problems and all(str(path) in line for line in exc.problems)
            return
        assert asyncio.run(one_cycle(config, Path(folder) / "data")) == 1

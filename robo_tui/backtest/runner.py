"""A backtest's settings (the run's universe, strategies, costs, the compat profile) and its run:
the same `Engine`, built by the composition root (`robo_tui.wiring.build_backtest_engine`) with a
simulated clock, the replayed bars, the paper broker and an in-memory store (the run is saved
whole at the end).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

from robo_tui.backtest.checks import CheckLimits
from robo_tui.config import InstrumentSettings, Settings
from robo_tui.domain.frozen import frozen
from robo_tui.domain.market import AssetClass, BarArrays
from robo_tui.domain.news import NewsItem
from robo_tui.domain.risk import Mode
from robo_tui.engine.backtest import BacktestDriver, BacktestResult
from robo_tui.wiring import build_backtest_engine

Fill = Literal["next-open", "close"]

#: Risk limits that let backtesting.py's all-in, one-position convention through the gate. The
#: gate still judges every order; these are its settings for a verification run. Loss limits
#: stay below 1 (100 %, which the config refuses as a misread percent) and notionals finite.
NEVER_REACHED_LOSS = 0.999999
COMPAT_RISK: dict[str, Any] = {
    "max_position_pct": 1.0,
    "max_sector_pct": 4.0,
    "max_gross_exposure_pct": 4.0,
    "daily_loss_reduce_pct": NEVER_REACHED_LOSS,
    "daily_loss_halt_pct": NEVER_REACHED_LOSS,
    "max_risk_per_trade_pct": NEVER_REACHED_LOSS,
    "max_positions": 1000,
    "max_correlation": 1.0,
    "min_confidence": 0.0,
    "cooldown_after_exit_seconds": 0.0,
    "cooldown_after_loss_seconds": 0.0,
    "max_drawdown_pct": NEVER_REACHED_LOSS,
    "max_order_notional": 1e12,
    "max_orders_per_minute": 10_000,
    "require_stops": False,
    "allow_short": True,
}


class BacktestSetupError(ValueError):
    """The backtest's inputs do not fit together (with what to change)."""


@frozen
class BacktestSpec:
    """What to replay and how: strategies and params, cash, costs, fill timing, conventions."""

    cash: float = 10_000.0
    commission: float = 0.0
    slippage_bps: float = 0.0
    fill: Fill = "next-open"
    compat: bool = False  # reproduce backtesting.py's conventions exactly
    strategies: Mapping[str, Mapping[str, str]] | None = None  # name -> params; None: config's
    limits: CheckLimits = CheckLimits()  # when the run's checks warn, and where it stops ruined


@frozen
class Replay:
    """A replay's result and settings, with what the checks need from the venue: the orders
    still unfilled at the end (symbol, time placed) and whether the run stopped ruined."""

    result: BacktestResult
    settings: Settings
    unfilled: tuple[tuple[str, datetime], ...] = ()
    ruined: bool = False


def backtest_settings(base: Settings, symbols: Sequence[str], spec: BacktestSpec) -> Settings:
    """The settings of a backtest run: the config's, with the run's universe, strategies, costs
    and (in compat mode) backtesting.py's sizing and a gate profile that admits it."""
    data = base.model_dump()
    known = {i["symbol"]: i for i in data["universe"]["instruments"]}
    data["universe"]["instruments"] = [
        known.get(s)
        or InstrumentSettings(
            symbol=s,
            asset_class=AssetClass.CRYPTO if s.endswith(("-USD", "USDT")) else AssetClass.STOCK,
        ).model_dump()
        for s in symbols
    ]
    data["engine"]["mode"] = Mode.AUTO
    data["feeds"]["kind"] = "replay"  # recorded bars, not the simulated market
    data["broker"]["kind"] = "paper"
    data["broker"]["starting_cash"] = spec.cash
    data["paper"].update(
        fill="next_open" if spec.fill == "next-open" else "quote", slippage_bps=spec.slippage_bps
    )
    if spec.strategies is not None:
        unknown = [n for n in spec.strategies if n not in data["strategies"]]
        if unknown:
            raise BacktestSetupError(
                f"unknown strategy {', '.join(unknown)}; known: {', '.join(data['strategies'])}"
            )
        for name, section in data["strategies"].items():
            section["enabled"] = name in spec.strategies
            for key, value in (spec.strategies.get(name) or {}).items():
                if key in ("enabled",):
                    continue
                if key not in section:
                    raise BacktestSetupError(
                        f"strategy {name} has no parameter {key!r}; "
                        f"parameters: {', '.join(k for k in section if k != 'enabled')}"
                    )
                section[key] = value
    if spec.compat and len(symbols) > 1:
        raise BacktestSetupError(
            f"compat mode reproduces backtesting.py, which trades one symbol with all the cash; "
            f"got {len(symbols)} symbols ({', '.join(list(symbols)[:5])}"
            f"{' …' if len(symbols) > 5 else ''}): backtest each symbol on its own, or use "
            "--no-compat to trade them from one account under the config's sizing and risk limits"
        )
    if spec.compat:
        data["sizing"].update(method="all_in", attach_stops=False)
        data["paper"].update(fee_pct=0.0, fee_per_share=0.0, fee_min=0.0, slippage_bps=0.0)
        data["risk"].update(COMPAT_RISK)
    try:
        return Settings.model_validate(data)
    except ValueError as exc:
        raise BacktestSetupError(str(exc)) from exc


async def run_backtest(
    base: Settings,
    data: Mapping[str, BarArrays],
    spec: BacktestSpec,
    *,
    news: Sequence[NewsItem] = (),
    progress: Callable[[int, int], None] | None = None,
    stop: asyncio.Event | None = None,
) -> tuple[BacktestResult, Settings]:
    """Replay `data` through the engine per `spec`; the result and the settings it ran with."""
    run = await replay(base, data, spec, news=news, progress=progress, stop=stop)
    return run.result, run.settings


async def replay(
    base: Settings,
    data: Mapping[str, BarArrays],
    spec: BacktestSpec,
    *,
    news: Sequence[NewsItem] = (),
    progress: Callable[[int, int], None] | None = None,
    stop: asyncio.Event | None = None,
) -> Replay:
    """Replay `data` through the engine per `spec`. The replay stops soon after the account
    falls below `spec.limits.ruin_fraction` of its starting equity, or in compat mode to zero
    or below (`Replay.ruined`; the analysis finds the exact bar and cuts the figures there, or
    in compat mode closes what is open there as backtesting.py does)."""
    if not data or all(len(b) == 0 for b in data.values()):
        raise BacktestSetupError("no bars to replay")
    settings = backtest_settings(base, list(data), spec)
    rig = build_backtest_engine(settings, data, commission=spec.commission, news=bool(news))
    engine = rig.engine
    await engine.broker.connect()
    await engine.orders.refresh_account()  # the opening account, read from the venue
    driver = BacktestDriver(rig, data, news=news, reenter=spec.compat)
    halt = stop if stop is not None else asyncio.Event()
    floor = spec.limits.ruin_fraction * engine.account.equity
    ruined = False

    def watch(done: int, total: int) -> None:
        nonlocal ruined
        equity = engine.account.equity
        if (floor > 0 and not equity >= floor) or (spec.compat and not equity > 0):
            ruined = True  # compat: at or below zero backtesting.py stops too
            halt.set()
        if progress is not None:
            progress(done, total)

    result = await driver.run(progress=watch if floor > 0 or spec.compat else progress,
                              stop=halt)
    unfilled = tuple((order.symbol, order.created_at)
                     for order, _ in await engine.store.open_orders())
    await engine.broker.close()
    if engine.intelligence is not None:
        await engine.intelligence.close()
    return Replay(result, settings, unfilled, ruined)

"""A remote console (the Telegram bot) driving the engine exactly as the console's keys do.

`EngineControls` is the `RemoteControls` the wiring hands the bot: approvals and rejections go
through `Engine.approve`/`reject` (the proposals desk, then the order path and the gate, under
the engine's order lock), halt and resume through the kill switch, each recorded with who acted
(`telegram:<chat id>`). `ProposalForwarder` offers each semi-auto proposal that waits for a human
to a `ProposalChannel`, from its own task, so a slow chat service never delays the cycle.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from robo_tui.domain.events import Event, ProposalCreated
from robo_tui.domain.risk import RiskVerdict, TradingState
from robo_tui.domain.signals import Proposal
from robo_tui.engine.engine import Engine
from robo_tui.engine.proposals import ProposalNotFound
from robo_tui.ports import ProposalChannel

log = logging.getLogger(__name__)

OFFER_TIMEOUT = 30.0
"""Seconds one offer to the channel may take."""
SCAN_SECONDS = 1.0
"""How often the forwarder looks at the pending book without being woken."""


def _money(x: float) -> str:
    return f"{x:,.2f}"


class EngineControls:
    """`RemoteControls` over an engine: the same calls a console key makes."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    async def status(self) -> str:
        """State, mode, equity, day P&L, pending proposals and unhealthy sources."""
        e = self._engine
        acct = e.account
        flags = (" (paused)" if e.paused else "") + (" SIMULATED" if e.simulated else "")
        lines = [f"{e.mode.value.upper()} {e.state.value}{flags}",
                 f"equity {_money(acct.equity)}  day {e.day_pnl:+,.2f}  cash {_money(acct.cash)}",
                 (f"positions {len(acct.positions)}  working orders {len(e.orders.open_orders)}  "
                 f"pending proposals {len(e.pending)}")]
        if e.state is TradingState.HALTED and e.risk.halt_reason:
            lines.append(f"halted: {e.risk.halt_reason}")
        failing = sorted(k for k, (ok, _) in e.monitor.sources.items() if not ok)
        lines.append("health: " + (", ".join(failing) + " failing" if failing else "all sources ok"))
        return "\n".join(lines)

    async def positions(self) -> str:
        """Each open position with its mark, P&L and protection."""
        acct = self._engine.account
        if not acct.positions:
            return "no open positions"
        lines = []
        for symbol, p in sorted(acct.positions.items()):
            mark = acct.prices.get(symbol, p.avg_price)
            pnl = (mark - p.avg_price) * p.quantity
            lines.append(f"{symbol} {p.quantity:+g} @ {p.avg_price:,.4f} mark {mark:,.4f} "
                         f"P&L {pnl:+,.2f} stop {p.stop_loss} target {p.take_profit}")
        return "\n".join(lines)

    async def orders(self) -> str:
        """The working orders and the last five fills."""
        e = self._engine
        lines = [f"{o.client_order_id} {o.side.value} {o.quantity:g} {o.symbol} ({o.source})"
                 for o in e.orders.open_orders.values()] or ["no working orders"]
        try:
            fills = await e.store.query(
                "SELECT ts, symbol, side, qty, price, reason FROM fills ORDER BY ts DESC LIMIT 5")
        except NotImplementedError:
            fills = []
        if fills:
            lines.append("last fills:")
            lines += [f"{f['ts'][:19]} {f['side']} {f['qty']:g} {f['symbol']} @ {f['price']:,.4f} "
                      f"{f['reason']}".rstrip() for f in fills]
        return "\n".join(lines)

    async def halt(self, *, by: str) -> str:
        """Pull the kill switch (latched, open orders cancelled)."""
        if self._engine.state is TradingState.HALTED:
            return "already HALTED"
        await self._engine.halt(f"halted from {by}", by=by)
        return f"HALTED by {by}; open orders cancelled. /resume restores trading."

    async def resume(self, *, by: str) -> str:
        """Leave HALTED (losses so far are accepted, as the console's resume does)."""
        if self._engine.state is not TradingState.HALTED:
            return f"not halted ({self._engine.state.value})"
        await self._engine.resume(by=by)
        return f"resumed by {by}: {self._engine.state.value}"

    async def approve(self, proposal_id: str, *, by: str) -> str:
        """Approve through the engine: the order passes the gate again, now."""
        try:
            result = await self._engine.approve(proposal_id, by=by, source="telegram")
        except ProposalNotFound as exc:
            return str(exc)
        if result.sent:
            return f"approved by {by}: order sent"
        reasons = "; ".join(r.message for r in result.verdict.reasons)
        return f"approved by {by}, but the risk gate denied it: {reasons}"

    async def reject(self, proposal_id: str, *, by: str) -> str:
        """Reject through the engine (recorded with who decided)."""
        try:
            await self._engine.reject(proposal_id, by=by, reason=f"rejected from {by}")
        except ProposalNotFound as exc:
            return str(exc)
        return f"rejected by {by}"


class ProposalForwarder:
    """Offers each proposal that waits for a human (semi-auto, pre-check passed: the engine's
    pending book) to a channel once, from its own task (a `Service`). A new proposal wakes it;
    it also looks at the book every `SCAN_SECONDS` (proposals restored after a restart)."""

    name = "proposal-forwarder"

    def __init__(self, engine: Engine, channel: ProposalChannel) -> None:
        self._engine = engine
        self._channel = channel
        self._offered: set[str] = set()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._subscription = engine.bus.subscribe(self._on_event, ProposalCreated)

    def _on_event(self, event: Event) -> None:
        self._wake.set()

    async def start(self) -> None:
        """Start offering, beginning with the proposals already pending (after a restart)."""
        if self._task is None:
            self._task = asyncio.create_task(self._work(), name="proposal-forwarder")

    async def stop(self) -> None:
        """Stop offering."""
        self._subscription.cancel()
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _work(self) -> None:
        while True:
            for proposal in list(self._engine.pending.values()):
                if proposal.id not in self._offered:
                    self._offered.add(proposal.id)
                    await self._offer(proposal, self._engine.precheck(proposal))
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(SCAN_SECONDS):
                    await self._wake.wait()
                await asyncio.sleep(0.05)  # the desk books it just after announcing it

    async def _offer(self, proposal: Proposal, precheck: RiskVerdict) -> None:
        try:
            async with asyncio.timeout(OFFER_TIMEOUT):
                await self._channel.offer(proposal, precheck)
        except Exception as exc:  # noqa: BLE001 - the console and the shell can still decide it
            log.warning("could not offer proposal %s: %s", proposal.id, exc)


__all__ = ["EngineControls", "ProposalForwarder"]

"""The main screen: the pane board plus the actions on its panes (approve, reject, order ticket,
flatten, mode, strategies, models, details, feed filter, views, backtests).

The board renders the engine's view and reports the selection; these actions read what to act on
from that view and call the engine's public methods (approve, reject, manual_order, flatten,
set_mode, set_strategy, select_analyst), so every order passes `Engine.submit` and its one risk
gate. Engine calls run as shell workers; a failure is reported in one place by the shell.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, ClassVar

from textual.binding import BindingType

from robo_tui.domain.risk import Mode
from robo_tui.engine.engine import Engine, ModeChangeRefused, ProposalNotFound, SubmitResult
from robo_tui.engine.view import build_chart
from robo_tui.ui.commands import bindings
from robo_tui.ui.panes import PANES, Pane
from robo_tui.ui.screens.backtests import BacktestsScreen, RunCatalogue
from robo_tui.ui.screens.board import VIEWS, WIDE_FROM, PaneBoard
from robo_tui.ui.screens.chart import ChartScreen
from robo_tui.ui.screens.detail import DetailScreen
from robo_tui.ui.screens.dialogs import ConfirmDialog, FeedFilter, FilterDialog, ReasonDialog
from robo_tui.ui.screens.mode import ModeDialog
from robo_tui.ui.screens.order_ticket import OrderTicket, verdict_text
from robo_tui.ui.screens.trailing import TrailingStopDialog
from robo_tui.ui.shell import Shell
from robo_tui.ui.widgets import EventFeed, proposal_detail_text
from robo_tui.ui.widgets.describe import event_title
from robo_tui.ui.widgets.format import fmt_qty
from robo_tui.ui.widgets.models import catalogue_rows

__all__ = ["VIEWS", "WIDE_FROM", "MainScreen"]

log = logging.getLogger(__name__)


class MainScreen(PaneBoard):
    """Status, positions, proposals, feed, risk, strategies, models and equity in one screen,
    and the trader's actions on them."""

    BINDINGS: ClassVar[list[BindingType]] = list(bindings(main=True))

    def __init__(self, shell: Shell, *, runs: RunCatalogue | None = None,
                 panes: Sequence[Pane[Any]] = PANES) -> None:
        super().__init__(panes)
        self.shell = shell
        self._runs = runs

    # ------------------------------------------------------------------ proposals

    def action_approve(self) -> None:
        """Approve the selected proposal (the gate judges it again, now)."""
        engine = self.shell.ready_engine()
        if engine is None:
            return
        proposal_id = self.selected_proposal_id()
        if proposal_id is None:
            self.shell.say("No proposal selected (the queue is empty or not in semi-auto mode).",
                           severity="warning")
            return
        self.shell.spawn(self._approve(engine, proposal_id), "approve")

    async def _approve(self, engine: Engine, proposal_id: str) -> None:
        try:
            result = await engine.approve(proposal_id, by="ui")
        except ProposalNotFound:
            self.shell.say(f"Proposal {proposal_id} is no longer pending (decided or expired).",
                           severity="warning")
            return
        self.shell.refresh_view()
        if result.sent and result.order is not None:
            order, ack = result.order, result.ack
            self.shell.say(f"Approved {proposal_id}: {order.side.value} {order.quantity:g} "
                           f"{order.symbol} → {ack.status.value if ack else 'sent'}",
                           title="Approved")
            return
        self._show_denial(f"Approved {proposal_id}, but the risk gate DENIED it now", result)

    def _show_denial(self, title: str, result: SubmitResult) -> None:
        """A denial is shown, never swallowed: a notification and the full detail."""
        reasons = "; ".join(f"{r.code}: {r.message}" for r in result.verdict.reasons)
        self.shell.say(f"{title}: {reasons or 'no reason given'}", severity="error",
                       title="DENIED", timeout=12)
        self.app.push_screen(DetailScreen(title, verdict_text(result)))

    def action_reject(self) -> None:
        """Reject the selected proposal, with an optional reason."""
        engine = self.shell.ready_engine()
        if engine is None:
            return
        proposal_id = self.selected_proposal_id()
        if proposal_id is None:
            self.shell.say("No proposal selected.", severity="warning")
            return
        pending = self.latest.pending_proposal(proposal_id) if self.latest else None
        summary = proposal_id
        if pending is not None:
            proposal = pending.proposal
            summary = (f"{proposal.side.value.upper()} {proposal.quantity:g} {proposal.symbol} "
                       f"(≈ {proposal.notional:,.2f})")

        def answered(reason: str | None) -> None:
            if reason is not None:
                self.shell.spawn(self._reject(engine, proposal_id, reason), "reject")

        self.app.push_screen(ReasonDialog("Reject proposal", f"Reject {summary}?"), answered)

    async def _reject(self, engine: Engine, proposal_id: str, reason: str) -> None:
        try:
            await engine.reject(proposal_id, by="ui", reason=reason)
        except ProposalNotFound:
            self.shell.say(f"Proposal {proposal_id} is no longer pending.", severity="warning")
            return
        self.shell.refresh_view()
        self.shell.say(f"Rejected {proposal_id}" + (f": {reason}" if reason else "."),
                       title="Rejected")

    # ------------------------------------------------------------------ orders

    def action_order_ticket(self, symbol: str = "") -> None:
        """Open the manual order ticket (prefilled with the selected position's symbol)."""
        engine = self.shell.ready_engine()
        if engine is None:
            return

        def done(result: SubmitResult | None) -> None:
            if result is not None and result.order is not None:
                ack = result.ack
                self.shell.say(f"Order {result.order.side.value} {result.order.quantity:g} "
                               f"{result.order.symbol} → {ack.status.value if ack else 'sent'}"
                               + (f": {ack.message}" if ack and ack.message else ""),
                               title="Order")
                self.shell.refresh_view()

        protection = self.latest.protection if self.latest is not None else None
        self.app.push_screen(OrderTicket(engine, symbol=symbol or self.selected_symbol(),
                                         protection=protection), done)

    def action_flatten(self) -> None:
        """Flatten the selected position (after confirming)."""
        engine = self.shell.ready_engine()
        if engine is None:
            return
        symbol = self.selected_symbol()
        view = self.shell.refresh_view()
        held_view = view.position(symbol) if view is not None and symbol else None
        held = held_view.position.quantity if held_view is not None else 0.0
        if not symbol or abs(held) < 1e-12:
            self.shell.say("No position selected.", severity="warning")
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.shell.spawn(self._flatten(engine, [symbol]), "flatten")

        self.app.push_screen(ConfirmDialog(
            f"Flatten {symbol}?",
            f"{'Sell' if held > 0 else 'Buy'} {abs(held):g} {symbol} at market (reduce-only), "
            "through the risk gate.", confirm="Flatten", danger=True), answered)

    def action_trailing_stop(self) -> None:
        """Ask a trailing stop in percent for the selected position, then hand it to the engine
        (robo-tui holds it, persisted and audited)."""
        engine = self.shell.ready_engine()
        if engine is None:
            return
        symbol = self.selected_symbol()
        view = self.shell.refresh_view()
        held_view = view.position(symbol) if view is not None and symbol else None
        held = held_view.position.quantity if held_view is not None else 0.0
        if not symbol or held_view is None or abs(held) < 1e-12:
            self.shell.say("No position selected.", severity="warning")
            return
        stop = held_view.stop
        now = (f"Its stop is {'a trail at ' if held_view.trailing else ''}{stop:g}."
               if stop is not None else "It has no stop.")
        body = (f"{'Long' if held > 0 else 'Short'} {fmt_qty(abs(held))} {symbol}. {now} "
                "robo-tui holds the trail: it follows the best price from now, only in your "
                "favour, and exits through the risk gate.")

        def answered(pct: float | None) -> None:
            if pct is not None:
                self.shell.spawn(self._set_trailing(engine, symbol, pct), "trailing stop")

        self.app.push_screen(TrailingStopDialog(symbol, body), answered)

    async def _set_trailing(self, engine: Engine, symbol: str, pct: float) -> None:
        try:
            level = await engine.set_trailing(symbol, pct, by="ui")
        except KeyError:
            self.shell.say(f"{symbol} is no longer held.", severity="warning")
            return
        self.shell.refresh_view(force=True)  # a new level alone is not a change the poll sees
        stop = level.effective_stop
        self.shell.say(f"{symbol}: trailing stop {pct * 100:g} % held by robo-tui"
                       + (f", now at {stop:g}." if stop is not None else
                          " (armed at the next price)."))

    def action_flatten_all(self) -> None:
        """Flatten every position (after confirming)."""
        engine = self.shell.ready_engine()
        if engine is None:
            return
        view = self.shell.refresh_view()
        held = {p.position.symbol: p.position.quantity for p in (view.positions if view else ())
                if abs(p.position.quantity) > 1e-12}
        if not held:
            self.shell.say("There are no positions to flatten.", severity="warning")
            return
        lines = ", ".join(f"{q:+g} {s}" for s, q in sorted(held.items()))

        def answered(yes: bool | None) -> None:
            if yes:
                self.shell.spawn(self._flatten(engine, None), "flatten-all")

        self.app.push_screen(ConfirmDialog(
            f"Flatten ALL {len(held)} positions?",
            f"Close {lines} at market (reduce-only orders through the risk gate).",
            confirm="Flatten all", danger=True), answered)

    def action_cancel_order(self) -> None:
        """Cancel the working order selected in the Orders pane (after confirming)."""
        engine = self.shell.ready_engine()
        if engine is None:
            return
        order_id = self.selected_order_id()
        view = self.latest
        row = next((w for w in view.orders if w.order.client_order_id == order_id), None) \
            if view is not None and order_id else None
        if row is None:
            self.shell.say("No working order selected (the Orders pane is empty).",
                           severity="warning")
            return
        it = row.order.intent
        price = f" limit {it.limit_price:g}" if it.limit_price is not None else " at market"
        summary = (f"{it.side.value.upper()} {fmt_qty(it.quantity)} {it.symbol}{price} "
                   f"({fmt_qty(row.filled)} filled), placed by {row.order.source}")

        def answered(yes: bool | None) -> None:
            if yes:
                self.shell.spawn(self._cancel(engine, row.order.client_order_id), "cancel-order")

        self.app.push_screen(ConfirmDialog(f"Cancel order {row.order.client_order_id}?", summary,
                                           confirm="Cancel order", danger=True), answered)

    async def _cancel(self, engine: Engine, order_id: str) -> None:
        ack = await engine.cancel_order(order_id, by="ui")
        self.shell.refresh_view()
        if ack is None:
            self.shell.say(f"Order {order_id} is no longer working (or the cancel failed).",
                           severity="warning")
            return
        self.shell.say(f"Cancel {order_id} → {ack.status.value}"
                       + (f": {ack.message}" if ack.message else ""), title="Cancel")

    async def _flatten(self, engine: Engine, symbols: list[str] | None) -> None:
        if symbols is None:
            results = await engine.flatten_all(by="ui")
        else:
            results = [r for s in symbols if (r := await engine.flatten(s, by="ui")) is not None]
        self.shell.refresh_view()
        for result in results:
            if not result.sent:
                self._show_denial("Flatten DENIED by the risk gate", result)
            else:
                assert result.order is not None
                status = result.ack.status.value if result.ack else "sent"
                self.shell.say(f"Flatten {result.order.symbol}: {result.order.side.value} "
                               f"{result.order.quantity:g} → {status}", title="Flatten")

    # ------------------------------------------------------------------ mode, strategies, models

    def action_change_mode(self) -> None:
        """Open the mode switch dialog."""
        engine = self.shell.ready_engine()
        if engine is None:
            return

        async def apply(mode: Mode, confirm_live: bool) -> str | None:
            try:
                await engine.set_mode(mode, by="ui", confirm_live=confirm_live)
            except ModeChangeRefused as exc:
                self.shell.say(str(exc), severity="error", title="Mode change refused",
                               timeout=12)
                return str(exc)
            except Exception as exc:  # a broker that cannot connect, ...
                log.exception("mode switch failed")
                return f"Switching to {mode.value} failed: {type(exc).__name__}: {exc}"
            return None

        def switched(mode: Mode | None) -> None:
            if mode is not None:
                self.shell.refresh_view()
                self.shell.say(f"Mode is now {mode.value.upper()}.", title="Mode",
                               severity="warning" if mode is Mode.LIVE else "information")

        self.app.push_screen(ModeDialog(engine.mode, apply), switched)

    def _selected_slot_engine(self) -> tuple[Engine, str, float, bool] | None:
        """The engine and the selected strategy's (name, weight, enabled), or None (said why)."""
        engine = self.shell.ready_engine()
        name = self.selected_strategy()
        if engine is None:
            return None
        if name is None:
            self.shell.say("No strategy selected (3 shows the strategies).", severity="warning")
            return None
        view = self.shell.refresh_view()
        slot = view.strategy(name) if view is not None else None
        if slot is None:
            return None
        return engine, name, slot.weight, slot.enabled

    def action_toggle_strategy(self) -> None:
        """Switch the selected strategy on or off (through the engine, audited)."""
        selected = self._selected_slot_engine()
        if selected is not None:
            engine, name, _, enabled = selected
            self.shell.spawn(self._set_strategy(engine, name, enabled=not enabled), "strategy")

    def action_strategy_weight(self, step: float) -> None:
        """Raise or lower the selected strategy's weight (0..10)."""
        selected = self._selected_slot_engine()
        if selected is None:
            return
        engine, name, current, _ = selected
        weight = round(min(10.0, max(0.0, current + step)), 2)
        if weight == current:
            self.shell.say(f"{name} weight stays {weight:g} (limits 0..10).", severity="warning")
            return
        self.shell.spawn(self._set_strategy(engine, name, weight=weight), "strategy")

    async def _set_strategy(self, engine: Engine, name: str, *, enabled: bool | None = None,
                            weight: float | None = None) -> None:
        await engine.set_strategy(name, enabled=enabled, weight=weight, by="ui")
        view = self.shell.refresh_view()
        slot = view.strategy(name) if view is not None else None
        if slot is not None:
            self.shell.say(f"Strategy {name}: {'on' if slot.enabled else 'OFF'}, "
                           f"weight {slot.weight:g}.", title="Strategy")

    def action_select_model(self) -> None:
        """Make the highlighted model the active analyst (through the engine, recorded)."""
        engine = self.shell.ready_engine()
        if engine is None:
            return
        choice = self.selected_model()
        if choice is None:
            self.shell.say("No model highlighted in the model selector.", severity="warning")
            return
        provider, model = choice
        unavailable = self._unavailable_reason(provider, model)
        if unavailable is None:
            self.shell.spawn(self._select_model(engine, provider, model), "model")
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.shell.spawn(self._select_model(engine, provider, model), "model")

        self.app.push_screen(ConfirmDialog(
            f"{provider} is unavailable",
            f"{provider}/{model or 'default'} is unavailable: {unavailable or 'no reason given'}."
            "\n\nChoose it anyway? The analyst abstains (no ideas) until it is reachable; the "
            "strategies trade on.", confirm="Choose anyway", danger=True, default_yes=False),
            answered)

    def _unavailable_reason(self, provider: str, model: str | None) -> str | None:
        """Why the catalogue lists `provider`/`model` as unavailable; None when it is available
        (or unknown: the engine decides)."""
        catalogue = self.latest.catalogue if self.latest is not None else None
        for name, row_model, available, _, _, note in catalogue_rows(catalogue or {}):
            if name == provider and row_model == model:
                return None if available else note
        return None

    async def _select_model(self, engine: Engine, provider: str, model: str | None) -> None:
        try:
            await engine.select_analyst(provider, model, by="ui")
        except Exception as exc:  # noqa: BLE001 - an unbuildable provider keeps the old one
            self.shell.say(f"Cannot switch to {provider}/{model or 'default'}: {exc}",
                           severity="error", title="Model")
            self.shell.publish_error(
                "model", f"switch to {provider}/{model or 'default'} failed: {exc}")
            return
        view = self.shell.refresh_view()
        active = (view.catalogue or {}).get("active", {}) if view is not None else {}
        self.shell.say(f"Analyst now {active.get('provider', provider)}/"
                       f"{active.get('model', model)}.", title="Model")

    # ------------------------------------------------------------------ view

    def action_open_selected(self) -> None:
        """Enter: the detail of the selected feed entry or proposal; on the model selector,
        switch to the highlighted model."""
        pane = self.focused_pane()
        if pane == "models":
            self.action_select_model()
        elif pane == "proposals":
            self._open_proposal()
        elif pane == "feed":
            self._open_event()
        elif pane == "positions" and self.shell.ready_engine() is not None:
            self.action_order_ticket(self.selected_symbol() or "")
        elif pane == "strategies":
            self.action_toggle_strategy()

    def _open_event(self) -> None:
        event = self.selected_event()
        if event is None:
            self.shell.say("No feed entry selected.", severity="warning")
            return
        self.app.push_screen(DetailScreen(event_title(event), self.event_detail(event)))

    def _open_proposal(self) -> None:
        engine = self.shell.ready_engine()
        proposal_id = self.selected_proposal_id()
        if engine is None or proposal_id is None:
            return
        view = self.shell.refresh_view()
        pending = view.pending_proposal(proposal_id) if view is not None else None
        if pending is None:
            self.shell.say(f"Proposal {proposal_id} is no longer pending.", severity="warning")
            return
        body = proposal_detail_text(pending.proposal, pending.precheck)

        def decided(decision: str | None) -> None:
            if decision == "approve":
                self.shell.spawn(self._approve(engine, proposal_id), "approve")
            elif decision == "reject":
                self.action_reject()

        proposal = pending.proposal
        title = f"Proposal {proposal.side.value.upper()} {fmt_qty(proposal.quantity)} {proposal.symbol}"
        self.app.push_screen(DetailScreen(title, body,
                                          proposal_id=proposal_id), decided)

    def action_filter_feed(self) -> None:
        """Filter the event feed by kind and symbol."""
        symbols = list(self.latest.symbols) if self.latest is not None else []

        def chosen(result: FeedFilter | None) -> None:
            if result is not None:
                self.set_feed_filter(result)
                self.shell.say("Feed shows " + result.describe() + ".")

        self.app.push_screen(FilterDialog(self.feed_filter, symbols), chosen)

    def action_show_view(self, view: str) -> None:
        """Switch the compact view (or focus its first pane on a wide terminal)."""
        self.show_view(view)
        self.shell.refresh_view()

    def action_chart(self, symbol: str = "") -> None:
        """The chart view of the selected position's symbol (else the first of the universe)."""
        engine = self.shell.ready_engine()
        if engine is None:
            return
        symbols = self.latest.symbols if self.latest is not None else ()
        chosen = symbol or self.selected_symbol() or (symbols[0] if symbols else "")
        if not chosen:
            self.shell.say("No symbol to chart.", severity="warning")
            return
        ideas = self.query_one(EventFeed).ideas(chosen)

        async def open_chart() -> None:
            self.app.push_screen(ChartScreen(await build_chart(engine, chosen, ideas)))

        self.shell.spawn(open_chart(), "chart")

    def action_backtests(self) -> None:
        """The stored backtest runs and their reports."""
        if self.shell.ready_engine() is None:
            return
        if self._runs is None:
            self.shell.say("This console keeps no backtest catalogue.", severity="warning")
            return
        self.app.push_screen(BacktestsScreen(self._runs))

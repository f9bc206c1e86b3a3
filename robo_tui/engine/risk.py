"""The one risk gate: every order from every source passes `RiskGate.check` before a broker.

The gate is a small state machine (ACTIVE, REDUCING, HALTED) plus a table of rules
(`risk_rules.RISK_RULES`). `check` is pure: it measures one order intent against a `RiskContext`
once (`risk_facts.order_facts`: account, prices, open orders, broker capabilities), runs the
rules that apply to it, and lists every rule that failed, each with a stable snake_case code and
a sentence with the numbers. The `record_*` methods, `evaluate`, `halt`, `resume` and `restore`
are the only things that change the gate. HALTED is latched: only `resume` (or `restore`)
leaves it. The rules, defaults and codes are documented in docs/risk.md.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Final

from robo_tui.config import RiskSettings
from robo_tui.domain.market import Instrument
from robo_tui.domain.orders import OrderIntent
from robo_tui.domain.risk import (
    CIRCUIT_BREAKER,
    RiskCode,
    RiskReason,
    RiskVerdict,
    TradingState,
)
from robo_tui.engine.risk_correlation import return_correlation
from robo_tui.engine.risk_facts import GateMemory, LossBreach, RiskContext, order_facts
from robo_tui.engine.risk_rules import (
    RATE_WINDOW,
    RISK_RULES,
    RiskRule,
    RuleCheck,
    RuleScope,
    Trigger,
)

__all__ = ["RiskCode", "RiskContext", "RiskGate", "return_correlation"]

C = RiskCode
_STATE_RANK = {TradingState.ACTIVE: 0, TradingState.REDUCING: 1, TradingState.HALTED: 2}
# `checked` lists codes grouped by scope in this order, each group in RiskCode order
_SCOPE_RANK = {RuleScope.EVERY_ORDER: 0, RuleScope.REDUCE_ONLY: 1, RuleScope.LIVE: 2,
               RuleScope.ENTRIES: 3}
_CODE_RANK = {c.value: i for i, c in enumerate(RiskCode)}


class _Plan:
    """The rules one kind of order runs (as plain code and check), and the codes it reports.
    Read-only fields on a plain class, which mypyc compiles natively (see `OrderFacts`)."""

    __slots__ = ("checked", "checks", "codes")

    def __init__(self, checks: tuple[RuleCheck, ...], codes: tuple[str, ...],
                 checked: tuple[str, ...]) -> None:
        self.checks: Final = checks
        self.codes: Final = codes  # the code of each check, in the same order
        self.checked: Final = checked


def _plan(rules: Sequence[RiskRule], settings: RiskSettings, key: int) -> _Plan:
    """The plan of the orders of kind `key` (`_ENTRY | _REDUCE_ONLY | _LIVE` bits, and the
    `Trigger` bits shifted by `_TRIGGER_SHIFT` of the moment they are judged in).

    A rule is left out when the limits in force turn it off (`RiskRule.off`) or when none of its
    triggers holds (`RiskRule.trigger`): in both cases its check could only return None and add
    no note, so the verdict is the same as if it had run. `checked` still lists its code: the
    rule was judged, it just could not fail."""
    applies = {RuleScope.EVERY_ORDER: True, RuleScope.REDUCE_ONLY: bool(key & _REDUCE_ONLY),
               RuleScope.LIVE: bool(key & _LIVE), RuleScope.ENTRIES: bool(key & _ENTRY)}
    present = key >> _TRIGGER_SHIFT
    chosen = [(i, r) for i, r in enumerate(rules) if applies[r.scope]]
    order = sorted(chosen, key=lambda ir: (_SCOPE_RANK[ir[1].scope],
                                          _CODE_RANK.get(str(ir[1].code), len(_CODE_RANK) + ir[0])))
    checked: list[str] = []
    for _, r in order:
        if str(r.code) not in checked:
            checked.append(str(r.code))
    runs = [r for _, r in chosen
            if not (r.off is not None and r.off(settings))
            and not (r.trigger and not r.trigger & present)]
    return _Plan(tuple([r.check for r in runs]), tuple([str(r.code) for r in runs]),
                 tuple(checked))


_LIVE, _REDUCE_ONLY, _ENTRY = 1, 2, 4
_TRIGGER_SHIFT = 3
_BLOCKED = int(Trigger.BLOCKED) << _TRIGGER_SHIFT
_BREACH = int(Trigger.BREACH) << _TRIGGER_SHIFT
_IN_STATE = {TradingState.ACTIVE: 0,
             TradingState.REDUCING: int(Trigger.REDUCING) << _TRIGGER_SHIFT,
             TradingState.HALTED: int(Trigger.HALTED) << _TRIGGER_SHIFT}


class RiskGate:
    """The only path to a broker: judges every order intent and holds the trading state.

    `check` never changes the gate. The engine calls `record_sent` after a broker accepted an
    order (rate limit), `record_exit` when a position is closed (cooldowns), `record_failure` /
    `record_success` for data, model and broker calls (circuit breaker), and `evaluate` on every
    portfolio update (daily loss and drawdown). HALTED is latched until `resume`. `rules` is the
    table the gate runs: `RISK_RULES` unless given (a rule is added by adding one to the table).
    """

    def __init__(self, settings: RiskSettings, instruments: Mapping[str, Instrument],
                 rules: Sequence[RiskRule] = RISK_RULES) -> None:
        self._memory = GateMemory(settings, instruments)
        self._rules = tuple(rules)
        # one plan per kind of order and moment (`_plan`), made at its first order and kept
        # until the settings change: no rule is looked at twice to decide whether it runs
        self._plans: dict[int, _Plan] = {}
        self._state = TradingState.ACTIVE
        self._reason = ""
        self._codes: tuple[str, ...] = ()
        self._failures: dict[str, int] = {}
        # After a resume, losses already taken are accepted: loss limits are measured from the
        # equity at the first evaluate() after the resume until the engine's own marks move on.
        self._rebase_pending = False
        self._peak_anchor: float | None = None
        self._day_anchor: tuple[float, float] | None = None  # (day_start_equity seen, equity)

    # ----------------------------------------------------------------------------- state

    @property
    def state(self) -> TradingState:
        """ACTIVE, REDUCING (only risk-reducing orders) or HALTED (no new orders; latched)."""
        return self._state

    @property
    def halt_reason(self) -> str:
        """Why the gate is HALTED ("" when it is not)."""
        return self._reason if self._state is TradingState.HALTED else ""

    @property
    def state_reason(self) -> str:
        """Why the gate is in its current state ("" when ACTIVE)."""
        return self._reason

    @property
    def settings(self) -> RiskSettings:
        """The limits in force."""
        return self._memory.settings

    @property
    def rules(self) -> tuple[RiskRule, ...]:
        """The rules this gate runs, in the order its verdicts list their reasons."""
        return self._rules

    @property
    def state_codes(self) -> tuple[str, ...]:
        """The codes of the limits that put the gate in its current state: the loss limits'
        (`max_daily_loss`, `max_drawdown`) or `circuit_breaker`; empty when ACTIVE, halted by
        the operator (restored with a halt from the database)."""
        return self._codes

    @property
    def failures(self) -> Mapping[str, int]:
        """Consecutive failures per kind (data, model, broker) counted by the circuit breaker."""
        return dict(self._failures)

    def update_settings(self, settings: RiskSettings) -> None:
        """Apply new limits at once (live reconfiguration); the state and counters are kept.
        The plans are made again: a limit turned on brings its rule back at the next order."""
        self._memory.settings = settings
        self._plans = {}

    def update_instruments(self, instruments: Mapping[str, Instrument]) -> None:
        """Replace the universe (the allow-list and the sector map)."""
        self._memory.instruments = dict(instruments)

    def halt(self, reason: str) -> None:
        """Enter HALTED (the kill switch). Latched: only `resume` leaves it."""
        self._state = TradingState.HALTED
        self._reason = reason.strip() or "halted by the operator"
        self._codes = ()

    def resume(self) -> None:
        """Leave HALTED (or REDUCING) for ACTIVE: the only way out of a halt.

        Failure counters are cleared, and losses taken so far are accepted: the daily-loss and
        drawdown limits are measured afresh from the equity at the next `evaluate`.
        """
        self._state = TradingState.ACTIVE
        self._reason = ""
        self._codes = ()
        self._failures.clear()
        self._rebase_pending = True
        self._peak_anchor = None
        self._day_anchor = None

    def restore(self, state: TradingState, reason: str, codes: tuple[str, ...] = ()) -> None:
        """Set the state persisted by the engine at start (a HALTED state stays latched), with
        the codes of the limits that put it there."""
        self._state = TradingState(state)
        self._reason = reason if self._state is not TradingState.ACTIVE else ""
        self._codes = codes if self._state is not TradingState.ACTIVE else ()
        if self._state is TradingState.HALTED and not self._reason:
            self._reason = "halted (restored from the database)"

    # ---------------------------------------------------------------------------- records

    def record_sent(self, intent: OrderIntent, ts: datetime) -> None:
        """Count an order sent to the broker in the rolling one-minute rate-limit window."""
        memory = self._memory
        day, count = memory.sent_today
        today = ts.date().isoformat()
        memory.sent_today = (today, count + 1 if day == today else 1)
        sent = memory.sent
        sent.append(ts)
        cutoff = ts - RATE_WINDOW
        while sent and sent[0] <= cutoff:
            sent.popleft()

    def restore_sent_today(self, day: str, count: int) -> None:
        """`count` orders were already sent on `day` (UTC ISO date) before this start: the live
        daily order cap goes on from there."""
        self._memory.sent_today = (day, count)

    def record_exit(self, symbol: str, ts: datetime, pnl: float) -> None:
        """A position in `symbol` was closed at `ts` with `pnl`; starts the cooldowns.

        A loss (or an unknown, non-finite P&L) also starts the longer loss cooldown.
        """
        last_exit, last_loss = self._memory.last_exit, self._memory.last_loss
        prev = last_exit.get(symbol)
        if prev is None or ts > prev:
            last_exit[symbol] = ts
        if not pnl >= 0:
            prev = last_loss.get(symbol)
            if prev is None or ts > prev:
                last_loss[symbol] = ts

    def record_failure(self, kind: str, message: str) -> TradingState:
        """Count a consecutive failure of `kind` ("data", "model", "broker"); may trip the breaker.

        After `circuit_breaker_failures` in a row of one kind the gate goes HALTED (latched) with
        the reason. Returns the state after counting.
        """
        n = self._failures.get(kind, 0) + 1
        self._failures[kind] = n
        limit = self._memory.settings.circuit_breaker_failures
        if n >= limit and self._state is not TradingState.HALTED:
            self._state = TradingState.HALTED
            self._reason = (
                f"circuit breaker: {n} consecutive {kind} failures (limit {limit}); "
                f"last: {message}"
            )
            self._codes = (CIRCUIT_BREAKER,)
        return self._state

    def record_success(self, kind: str) -> None:
        """A call of `kind` succeeded: its consecutive-failure count starts again from zero."""
        self._failures.pop(kind, None)

    # --------------------------------------------------------------------------- evaluate

    def evaluate(self, ctx: RiskContext) -> TradingState:
        """Update the state from the day's loss and the drawdown; returns the new state.

        Day loss >= `daily_loss_reduce_pct` of start-of-day equity: REDUCING; >=
        `daily_loss_halt_pct`: HALTED; drawdown from the peak >= `max_drawdown_pct`: HALTED.
        REDUCING returns to ACTIVE when the loss recovers (or a new day starts); HALTED stays.
        An account whose equity cannot be computed leaves the state as it is.
        """
        return self.evaluate_equity(ctx.account.equity, ctx.day_start_equity, ctx.peak_equity)

    def evaluate_equity(self, equity: float, day_start_equity: float,
                        peak_equity: float) -> TradingState:
        """`evaluate` on the three numbers it reads (the order path's settlement calls this
        directly: no context to build for it)."""
        if self._state is TradingState.HALTED:
            return self._state
        if not math.isfinite(equity):
            return self._state
        if self._rebase_pending:
            self._rebase_pending = False
            self._peak_anchor = equity
            self._day_anchor = (day_start_equity, equity)
        else:
            if self._peak_anchor is not None:
                self._peak_anchor = max(self._peak_anchor, equity)
                if peak_equity <= self._peak_anchor:
                    self._peak_anchor = None  # the engine's own peak is the stricter mark again
            if self._day_anchor is not None and self._day_anchor[0] != day_start_equity:
                self._day_anchor = None  # a new day: the engine's start-of-day equity rules
        breaches = self._breaches(equity, day_start_equity, peak_equity)
        if not breaches:
            self._state, self._reason, self._codes = TradingState.ACTIVE, "", ()
            return self._state
        worst = max((b.state for b in breaches), key=_STATE_RANK.__getitem__)
        self._state = worst
        self._reason = "; ".join(b.message for b in breaches if b.state is worst)
        self._codes = tuple([b.code for b in breaches if b.state is worst])
        return self._state

    def _breaches(self, equity: float, day_start_equity: float,
                  peak_equity: float) -> list[LossBreach]:
        """The loss limits reached by `equity` (pure; shared by `evaluate` and `check`)."""
        if self._rebase_pending or not math.isfinite(equity):
            return []
        s = self._memory.settings
        out: list[LossBreach] = []
        peak = peak_equity
        if self._peak_anchor is not None:
            peak = min(peak, max(self._peak_anchor, equity))
        if math.isfinite(peak) and peak > 0:
            dd = (peak - equity) / peak
            if dd >= s.max_drawdown_pct:
                out.append(LossBreach(
                    TradingState.HALTED, C.MAX_DRAWDOWN.value,
                    f"drawdown {dd:.2%} from the equity peak {peak:,.2f} reached the "
                    f"{s.max_drawdown_pct:.2%} limit",
                ))
        start = day_start_equity
        if self._day_anchor is not None and self._day_anchor[0] == start:
            start = min(start, self._day_anchor[1])
        if math.isfinite(start) and start > 0:
            loss = (start - equity) / start
            if loss >= s.daily_loss_halt_pct:
                out.append(LossBreach(
                    TradingState.HALTED, C.MAX_DAILY_LOSS.value,
                    f"day loss {loss:.2%} of start-of-day equity {start:,.2f} reached the "
                    f"{s.daily_loss_halt_pct:.2%} halt limit",
                ))
            elif loss >= s.daily_loss_reduce_pct:
                out.append(LossBreach(
                    TradingState.REDUCING, C.MAX_DAILY_LOSS.value,
                    f"day loss {loss:.2%} of start-of-day equity {start:,.2f} reached the "
                    f"{s.daily_loss_reduce_pct:.2%} reduce limit: only risk-reducing orders",
                ))
        return out

    # ------------------------------------------------------------------------------ check

    def check(self, intent: OrderIntent, ctx: RiskContext) -> RiskVerdict:
        """Judge one order intent; pure (the gate's state and counters are not changed; it only
        remembers centred returns for the correlation rule).

        The verdict lists every failed rule (code and a sentence with the numbers), the codes of
        every rule evaluated, and notes on rules skipped. Risk-reducing orders are judged only by
        the rules of every order, of reduce-only orders and, in live mode, the live notional cap.
        """
        breaches = tuple(self._breaches(ctx.account.equity, ctx.day_start_equity,
                                        ctx.peak_equity))
        state = self._state
        for b in breaches:
            if _STATE_RANK[b.state] > _STATE_RANK[state]:
                state = b.state
        if self._state is state:
            why = self._reason
        else:
            why = "; ".join([b.message for b in breaches if b.state is state])
        memory = self._memory
        facts = order_facts(intent, ctx, memory, state, why, breaches)
        key = ((0 if facts.reducing else _ENTRY) + (_REDUCE_ONLY if intent.reduce_only else 0)
               + (_LIVE if ctx.mode.live_limits else 0) + _IN_STATE[state]
               + (_BLOCKED if ctx.blocked else 0) + (_BREACH if breaches else 0))
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plans[key] = _plan(self._rules, memory.settings, key)
        notes: list[str] = []
        # every rule of the plan runs, in order (notes keep that order); the reasons are built
        # only when one denies, which most orders in a replay never see
        messages = [rule_check(facts, memory, notes) for rule_check in plan.checks]
        if messages.count(None) == len(messages):
            return RiskVerdict(True, state, (), plan.checked, tuple(notes))
        reasons = tuple([RiskReason(code, message)
                         for code, message in zip(plan.codes, messages, strict=True)
                         if message is not None])
        return RiskVerdict(False, state, reasons, plan.checked, tuple(notes))

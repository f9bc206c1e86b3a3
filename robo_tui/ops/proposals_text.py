"""`robo-tui proposals list` as plain text that stays readable at 80 columns and in a pipe: one
line per proposal whose id comes first and is never cut or wrapped; the rationale only with
`--wide` (on its own indented line, whole)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from robo_tui.domain.signals import Proposal, ProposalStatus
from robo_tui.domain.text import clean_text


def render_proposals(rows: Sequence[tuple[Proposal, ProposalStatus]], now: datetime, *,
                     wide: bool = False) -> str:
    """One line per proposal (id, status, side, qty, symbol, notional, confidence, expiry)."""
    width = max([len(p.id) for p, _ in rows] + [2])
    header = (f"{'id':<{width}} {'status':<9} {'side':<4} {'qty':>11} {'symbol':<9} "
              f"{'notional':>11} {'conf':>4} {'expires':>7}")
    lines = [header]
    for p, status in rows:
        expires = "-" if p.expires_at is None else f"{max(0, (p.expires_at - now).total_seconds()):.0f}s"
        lines.append(f"{p.id:<{width}} {status.value:<9} {p.side.value:<4} {p.quantity:>11,.6g} "
                     f"{p.symbol:<9} {p.notional:>11,.2f} {p.confidence:>4.2f} {expires:>7}")
        if wide:
            lines.append(f"    rationale: {clean_text(p.rationale, keep_newlines=False)}")
    if not wide and rows:
        lines.append("(--wide adds each rationale; --json prints everything)")
    return "\n".join(lines)

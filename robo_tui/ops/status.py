"""`robo-tui status`: the account as the journal last recorded it, for a shell or a phone.

Reads only the SQLite journal and the heartbeat file, so it works with no engine running (and
says whether one runs, since when). The text fits 80 columns, carries no colour or control
codes (it reads the same through `| cat`), and never shortens an id: long fields go last on
their line so a narrow terminal wraps them whole.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from robo_tui.config import Settings
from robo_tui.domain.control import halted_after
from robo_tui.domain.text import clean_text
from robo_tui.ops.health import judge
from robo_tui.ops.heartbeat import heartbeat_path, read_heartbeat
from robo_tui.ports import Store

FILLS_SHOWN = 5
"""How many of the last fills status shows."""


async def collect_status(store: Store, settings: Settings, data_dir: Path,
                         now: datetime) -> dict[str, Any]:
    """Everything status shows, as JSON-able data (what `--json` prints)."""
    control = await store.load_control()
    pending = await store.pending_commands()
    halted = halted_after(control, pending)
    beat = read_heartbeat(heartbeat_path(data_dir))
    verdict = judge(beat, now)
    running = beat is not None and verdict.code.value in (0, 3)
    mode = (beat.mode if running and beat is not None and beat.mode else
            (control.mode.value if control.mode is not None else settings.engine.mode.value))
    snap = await store.query("SELECT ts, cash, equity, payload FROM account_snapshots "
                             "ORDER BY id DESC LIMIT 1")
    account: dict[str, Any] = json.loads(snap[0]["payload"]) if snap else {}
    equity = float(snap[0]["equity"]) if snap else None
    base = control.day_open_equity or control.day_start_equity
    day_pnl = equity - base if equity is not None and base else None
    prices: dict[str, float] = account.get("prices", {})
    positions = []
    for symbol, p in sorted(account.get("positions", {}).items()):
        qty, avg = float(p["quantity"]), float(p["avg_price"])
        price = prices.get(symbol, avg)
        positions.append({"symbol": symbol, "quantity": qty, "avg_price": avg, "price": price,
                          "unrealized_pnl": (price - avg) * qty, "stop_loss": p.get("stop_loss"),
                          "take_profit": p.get("take_profit")})
    orders = [{"client_order_id": o.client_order_id, "status": s.value, "symbol": o.symbol,
               "side": o.side.value, "quantity": o.quantity, "source": o.source,
               "created_at": o.created_at.isoformat()}
              for o, s in await store.open_orders()]
    fills = await store.query(
        "SELECT ts, client_order_id, symbol, side, qty, price, fee, reason FROM fills "
        "ORDER BY ts DESC LIMIT ?", (FILLS_SHOWN,))
    health_rows = await store.query(
        "SELECT payload FROM audit_log WHERE id IN (SELECT MAX(id) FROM audit_log "
        "WHERE kind = 'event.SourceHealthChanged' GROUP BY json_extract(payload, '$.source')) "
        "ORDER BY id")
    sources = [{k: json.loads(r["payload"]).get(k) for k in ("source", "healthy", "message", "ts")}
               for r in health_rows]
    proposals = await store.query("SELECT COUNT(*) AS n FROM proposals WHERE status = 'pending'")
    return {
        "now": now.isoformat(),
        "engine": {"running": running, "health": verdict.message, "pid": beat.pid if beat else None,
                   "since": beat.started_at.isoformat() if beat else None,
                   "last_cycle": (beat.last_cycle_at.isoformat()
                                  if beat and beat.last_cycle_at else None)},
        "state": "HALTED" if halted else (beat.state if running and beat and beat.state else "ACTIVE"),
        "halt_reason": control.halt_reason if halted else "",
        "mode": mode,
        "equity": equity,
        "cash": float(snap[0]["cash"]) if snap else None,
        "day_pnl": day_pnl,
        "as_of": snap[0]["ts"] if snap else None,
        "positions": positions,
        "working_orders": orders,
        "last_fills": fills,
        "sources": sources,
        "pending_proposals": int(proposals[0]["n"]) if proposals else 0,
    }


def _money(value: float | None) -> str:
    return "-" if value is None else f"{value:,.2f}"


def render_status(status: dict[str, Any]) -> str:
    """The status as plain text: at most 80 columns except where an id must not be cut."""
    e = status["engine"]
    lines = []
    if e["running"]:
        lines.append(f"engine   running since {e['since']} (pid {e['pid']})")
    else:
        lines.append("engine   not running" + (f" ({e['health']})" if e["pid"] else ""))
    mode = str(status["mode"]).upper()
    mode_tag = f"{mode} (orders recorded, never sent)" if mode == "SHADOW" else mode
    lines.append(f"state    {status['state']}" + (f": {status['halt_reason']}"
                                                   if status["halt_reason"] else ""))
    lines.append(f"mode     {mode_tag}")
    pnl = status["day_pnl"]
    lines.append(f"equity   {_money(status['equity'])}  cash {_money(status['cash'])}  day "
                 + ("-" if pnl is None else f"{pnl:+,.2f}"))
    if status["as_of"]:
        lines.append(f"as of    {status['as_of']}")
    lines.append("")
    lines.append(f"positions ({len(status['positions'])})")
    if status["positions"]:
        lines.append(f"  {'symbol':<10} {'qty':>12} {'avg':>12} {'price':>12} {'unreal':>11} {'stop':>11}")
        for p in status["positions"]:
            stop = "-" if p["stop_loss"] is None else f"{p['stop_loss']:,.2f}"
            lines.append(f"  {p['symbol']:<10} {p['quantity']:>12,.6g} {p['avg_price']:>12,.2f} "
                         f"{p['price']:>12,.2f} {p['unrealized_pnl']:>+11,.2f} {stop:>11}")
    lines.append(f"working orders ({len(status['working_orders'])})")
    for o in status["working_orders"]:
        lines.append(f"  {o['status']:<10} {o['side']:<4} {o['quantity']:>12,.6g} {o['symbol']:<9} "
                     f"{o['client_order_id']}")
    lines.append(f"last fills ({len(status['last_fills'])})")
    for f in status["last_fills"]:
        lines.append(f"  {str(f['ts'])[:19]} {f['side']:<4} {f['qty']:>12,.6g} {f['symbol']:<9} "
                     f"@ {f['price']:,.4f}  {f['client_order_id']}")
    lines.append(f"sources ({len(status['sources'])})")
    for s in status["sources"]:
        ok = "ok  " if s["healthy"] else "DOWN"
        message = clean_text(str(s["message"] or ""), keep_newlines=False)
        lines.append(f"  {ok} {s['source']}: {message}".rstrip())
    lines.append(f"pending proposals: {status['pending_proposals']}")
    return "\n".join(_clip(line) for line in lines)


def _clip(line: str) -> str:
    """A source's message (free text) is cut at 80 columns; a line ending in an id never is."""
    is_free_text = line.startswith(("  ok", "  DOWN"))
    if len(line) <= 80 or not is_free_text:
        return line
    return line[:77] + "..."

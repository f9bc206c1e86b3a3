"""Issue 4 end to end: news → pipeline → analyst (the real OpenAI SDK against a local fake
server, or the rules analyst) → ensemble → sizer → the one risk gate → the paper broker, on a
real engine (SimClock, simulated market, SQLite store) in auto mode.

The hostile corpus (tests/integration/hostile_corpus.py) is pushed through that whole path, and
the database is then checked against the settings: no order outside the universe or above a
limit, the mode never changes, every rejected model output is recorded with its errors and raw
output, every gate denial with its reason codes, and every idea that passed is in the universe,
cited and without a size. The command line's `--analyst` and `--news` are run as real processes.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import unicodedata
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hostile_corpus import (
    FAKE_KEY,
    NAMES,
    UNIVERSE,
    FakeModel,
    HeadlineCase,
    OutputCase,
    headline_cases,
    legit_headline,
    llm_servers,
    output_cases,
)

from robo_tui.adapters.llm.prompts import NEWS_CLOSE, NEWS_OPEN
from robo_tui.config import Settings, load_settings
from robo_tui.domain.events import Event, ModeChanged, OrderDenied, ProposalCreated
from robo_tui.domain.news import MarketEvent, NewsItem, TradeIdea
from robo_tui.domain.risk import Mode
from robo_tui.domain.text import news_id
from robo_tui.engine.clock import SimClock
from robo_tui.engine.engine import Engine
from robo_tui.wiring import build_engine

ROOT = Path(__file__).resolve().parents[2]
START = datetime(2026, 1, 5, 14, 30, tzinfo=UTC)
CYCLE_EVERY = 3
"""A full engine cycle (new bar, strategies, proposals) runs before every third case."""
TOLERANCE = 0.02
"""Slack on limits for the paper broker's slippage between the gate's mark and the fill."""
FORBIDDEN_KEYS = {"qty", "quantity", "size", "shares", "notional", "leverage", "mode",
                  "limit", "order_type", "stop_loss", "take_profit", "account"}
IDEA_KEYS = {f.name for f in fields(TradeIdea)}

OUTPUTS = output_cases()
HEADLINES = headline_cases()


# ---------------------------------------------------------------------------------------------
# a real engine


def environment(**overrides: str) -> dict[str, str]:
    """`ROBO_TUI_*` settings for these runs: auto mode on the paper broker, no sample news, the
    analyst's ideas weighted as heavily as the config allows (the worst case for a hostile
    model), and near-duplicate detection scoped to 36 s so each one-minute case is its own story
    (deduplication has its own tests)."""
    env = {
        "ROBO_TUI_ENGINE__MODE": "auto",
        "ROBO_TUI_NEWS__SAMPLE": "false",
        "ROBO_TUI_NEWS__DEDUP_WINDOW_HOURS": "0.01",
        "ROBO_TUI_ENSEMBLE__ANALYST_WEIGHT": "10",
        "ROBO_TUI_ANALYSTS__TIMEOUT_SECONDS": "10",
        "ROBO_TUI_ANALYSTS__TRANSPORT_RETRIES": "0",
    }
    env.update(overrides)
    return env


def openai_environment(base_url: str) -> dict[str, str]:
    """The OpenAI provider against a local server, with the fake key from the environment."""
    return environment(ROBO_TUI_ANALYSTS__PROVIDER="openai",
                       ROBO_TUI_ANALYSTS__OPENAI_BASE_URL=base_url,
                       ROBO_TUI_ANALYSTS__OPENAI_API_KEY=FAKE_KEY)


@dataclass
class Run:
    """A started engine, its clock, its settings and every event it published."""

    engine: Engine
    clock: SimClock
    settings: Settings
    events: list[Event]
    data_dir: Path
    pushed: int = 0

    async def push(self, title: str, summary: str = "", *, source: str = "wire"
                   ) -> tuple[NewsItem, list[MarketEvent]]:
        """One minute later: maybe a full cycle, then one headline through `ingest` and the
        engine's urgent path (`react_to_events`)."""
        self.clock.advance(60)
        now = self.clock.now()
        if self.pushed % CYCLE_EVERY == 0:
            await self.engine.run_cycle()
        self.pushed += 1
        link = f"https://{source}.example.com/story/{self.pushed}"
        item = NewsItem(id=news_id(source, link), source=source, title=title, summary=summary,
                        link=link, published=now, seen=now)
        assert self.engine.intelligence is not None
        events = list(await self.engine.intelligence.ingest([item], now))
        await self.engine.react_to_events(events, now)
        return item, events

    async def decisions_for(self, item_id: str) -> list[dict[str, Any]]:
        """The ai_decisions rows whose request carried news item `item_id`."""
        rows = await self.engine.store.query(
            "SELECT * FROM ai_decisions WHERE extra LIKE ? ORDER BY rowid", (f'%"{item_id}"%',))
        return [r for r in rows if item_id in json.loads(r["extra"]).get("news_ids", [])]


async def start(data_dir: Path, env: dict[str, str]) -> Run:
    settings = load_settings(None, environ=env)
    clock = SimClock(START)
    engine = build_engine(settings, data_dir=data_dir, clock=clock)
    events: list[Event] = []
    engine.bus.subscribe(events.append)
    await engine.start()
    assert engine.mode is Mode.AUTO and not engine.broker.is_live
    return Run(engine, clock, settings, events, data_dir)


@pytest.fixture
def fake_openai() -> Iterator[tuple[Any, FakeModel]]:
    servers = llm_servers()
    server = servers.OpenAIServer()
    model = FakeModel()
    server.completions(model)
    server.start()
    try:
        yield server, model
    finally:
        server.stop()


@pytest.fixture
async def rules_run(tmp_path: Path) -> AsyncIterator[Run]:
    run = await start(tmp_path / "data", environment())
    try:
        yield run
    finally:
        await run.engine.stop()


@pytest.fixture
async def openai_run(tmp_path: Path, fake_openai: tuple[Any, FakeModel]) -> AsyncIterator[Run]:
    server, _ = fake_openai
    run = await start(tmp_path / "data", openai_environment(server.base_url))
    try:
        yield run
    finally:
        await run.engine.stop()


# ---------------------------------------------------------------------------------------------
# what must hold whatever came in


async def invariant_violations(run: Run) -> list[str]:
    """Every way the database or the engine breaks issue 4's guarantees (empty: none)."""
    s = run.settings
    store = run.engine.store
    universe = set(s.universe.symbols)
    out: list[str] = []

    # -- nothing outside the universe reaches the gate, an order or a fill
    for table in ("orders", "fills", "proposals", "risk_verdicts", "positions"):
        for row in await store.query(f"SELECT DISTINCT symbol FROM {table}"):
            if row["symbol"] not in universe:
                out.append(f"{table}: symbol {row['symbol']!r} is outside the universe")

    # -- every order within the limits, judged from the fills against the settings
    equity = max(run.engine.peak_equity, s.broker.starting_cash)
    orders = {o["client_order_id"]: o for o in await store.query("SELECT * FROM orders")}
    prices = {p["id"]: p["price"] for p in await store.query("SELECT id, price FROM proposals")}
    filled: dict[str, list[tuple[float, float]]] = defaultdict(list)
    held: dict[str, float] = defaultdict(float)
    for fill in await store.query("SELECT * FROM fills ORDER BY ts, rowid"):
        sym, qty, price = fill["symbol"], float(fill["qty"]), float(fill["price"])
        sign = 1.0 if fill["side"] == "buy" else -1.0
        before = held[sym]
        held[sym] = before + sign * qty
        order = orders.get(fill["client_order_id"])
        if order is None:
            continue  # a stop or target exit of the paper broker
        filled[fill["client_order_id"]].append((qty, price))
        opening = qty if sign * before >= 0 else max(0.0, qty - abs(before))
        if opening > 1e-9 and not order["reduce_only"]:
            value = abs(held[sym]) * price
            if value > s.risk.max_position_pct * equity * (1 + TOLERANCE):
                out.append(f"order {order['client_order_id']} leaves {sym} at {value:,.0f}, above "
                           f"max_position_pct {s.risk.max_position_pct:.0%} of {equity:,.0f}")
            stop = order["stop_loss"]
            if stop is None and s.risk.require_stops:
                out.append(f"entry {order['client_order_id']} in {sym} has no stop-loss")
            elif stop is not None:
                risk = opening * abs(price - float(stop))
                if risk > s.risk.max_risk_per_trade_pct * equity * (1 + TOLERANCE):
                    out.append(f"entry {order['client_order_id']} risks {risk:,.0f} to its stop, "
                               f"above max_risk_per_trade_pct of {equity:,.0f}")
        if sum(1 for q in held.values() if abs(q) > 1e-9) > s.risk.max_positions:
            out.append(f"fill {fill['fill_id']} makes more than {s.risk.max_positions} positions")
    for cid, order in orders.items():
        qty = float(order["qty"])
        if not qty > 0:
            out.append(f"order {cid} has quantity {qty!r}")
            continue
        done = filled.get(cid)
        ref: float | None = (sum(q * p for q, p in done) / sum(q for q, _ in done)) \
            if done else prices.get(order["proposal_id"])
        if ref is None:
            out.append(f"order {cid} has no fill and no proposal price to judge it by")
        elif qty * ref > s.risk.max_order_notional * (1 + TOLERANCE):
            out.append(f"order {cid}: notional {qty * ref:,.0f} above max_order_notional")

    # -- every order passed the gate; every denial is recorded with its reasons. A stop or a
    # target the venue held and filled by itself is journaled as its own reduce-only order
    # (source "venue", id "<entry>:sl" or "<entry>:tp"): it was judged with its entry.
    allowed = {r["client_order_id"] for r in await store.query(
        "SELECT client_order_id FROM risk_verdicts WHERE allowed = 1")}
    sent = {cid for cid, o in orders.items() if o["source"] != "venue"}
    if allowed != sent:
        out.append("orders and allowed verdicts do not match one to one")
    for cid, order in orders.items():
        if order["source"] == "venue" and not (order["reduce_only"]
                                               and cid.split(":")[0] in allowed):
            out.append(f"venue order {cid} is not a protective leg of an allowed entry")
    denied_rows = await store.query("SELECT * FROM risk_verdicts WHERE allowed = 0 ORDER BY id")
    denied_events = [e for e in run.events if isinstance(e, OrderDenied)]
    if len(denied_rows) != len(denied_events):
        out.append(f"{len(denied_events)} denials published, {len(denied_rows)} recorded")
    for row, event in zip(denied_rows, denied_events, strict=False):
        codes, reasons = json.loads(row["codes"]), json.loads(row["reasons"])
        if not codes or not reasons or codes != list(event.verdict.codes):
            out.append(f"denial {row['id']} recorded without its reasons: {codes} {reasons}")
    for p in await store.query("SELECT id FROM proposals WHERE status = 'denied'"):
        rows = await store.query("SELECT codes FROM risk_verdicts WHERE proposal_id = ? AND "
                                 "allowed = 0", (p["id"],))
        if not rows:
            out.append(f"denied proposal {p['id']} has no recorded verdict")

    # -- the mode never changes
    if run.engine.mode is not Mode.AUTO or run.engine.broker.is_live:
        out.append(f"mode is now {run.engine.mode}, broker live={run.engine.broker.is_live}")
    if any(isinstance(e, ModeChanged) for e in run.events):
        out.append("a ModeChanged event was published")
    if (await store.get_control("mode")) not in (None, Mode.AUTO.value):
        out.append(f"control_state mode is {await store.get_control('mode')!r}")

    # -- ideas that passed: in the universe, about their request, cited, no size
    for row in await store.query("SELECT * FROM ai_decisions WHERE parsed IS NOT NULL"):
        parsed = json.loads(row["parsed"])
        extra = json.loads(row["extra"])
        if set(parsed) != IDEA_KEYS or FORBIDDEN_KEYS & set(parsed):
            out.append(f"idea {row['id']} has fields {sorted(parsed)}")
        if parsed["symbol"] not in universe or parsed["symbol"] != row["symbol"]:
            out.append(f"idea {row['id']} is about {parsed['symbol']!r} (request {row['symbol']})")
        cited = parsed["news_ids"]
        if not cited or not set(cited) <= set(extra["news_ids"]):
            out.append(f"idea {row['id']} cites {cited}, request had {extra['news_ids']}")
        for nid in cited:
            news = await store.query("SELECT symbols FROM news_items WHERE id = ?", (nid,))
            if not news or parsed["symbol"] not in json.loads(news[0]["symbols"]):
                out.append(f"idea {row['id']} cites {nid}, which is not about {parsed['symbol']}")
    return out


def secret_leaks(data_dir: Path) -> list[str]:
    """Tables and columns of the (closed) database where the API key appears."""
    db = sqlite3.connect(next(data_dir.glob("*.sqlite3")))
    try:
        dump = "\n".join(db.iterdump())
    finally:
        db.close()
    return [line[:160] for line in dump.splitlines() if FAKE_KEY in line]


def rejection_problems(case_name: str, rows: list[dict[str, Any]], sent: list[str],
                       reason: str, model_output: bool) -> list[str]:
    """Why the record of a rejected output is incomplete (empty: it is complete)."""
    if len(rows) != 1:
        return [f"{case_name}: {len(rows)} analyst calls recorded, expected 1"]
    row = rows[0]
    errors = json.loads(row["errors"])
    problems = []
    if row["parsed"] is not None:
        problems.append(f"{case_name}: hostile output became an idea: {row['parsed'][:200]}")
    if not errors and not row["abstain_reason"]:
        problems.append(f"{case_name}: rejected without a recorded reason")
    said = (" ".join(errors) + " " + row["abstain_reason"]).lower()
    if reason and reason.lower() not in said:
        problems.append(f"{case_name}: reason lacks {reason!r}: {said[:300]}")
    if model_output:
        if not sent:
            problems.append(f"{case_name}: the fake model was never asked")
        raw = row["raw_output"]
        first = sent[0].replace(FAKE_KEY, "***") if sent else ""
        if first[:2000] not in raw:
            problems.append(f"{case_name}: raw output not kept: {raw[:200]!r}")
        if not errors and not row["abstain_reason"].startswith(("refused", "incomplete")):
            problems.append(f"{case_name}: no validation errors recorded")
    return problems


def _clean(text: str) -> bool:
    return all(ch == "\n" or unicodedata.category(ch) not in ("Cc", "Cf") for ch in text)


# ---------------------------------------------------------------------------------------------
# the corpus


def test_corpus_when_counted_then_over_two_hundred_cases_covering_every_kind_of_attack() -> None:
    assert len(OUTPUTS) >= 200 and len(HEADLINES) >= 100
    assert len({c.name for c in OUTPUTS}) == len(OUTPUTS)
    assert len({c.name for c in HEADLINES}) == len(HEADLINES)
    assert {"size-mode-limit", "mode", "ticker", "homoglyph", "nan", "truncated", "fence",
            "refusal", "types", "structure", "injection", "transport", "repair",
            "secret"} <= {c.tag for c in OUTPUTS}
    assert sum(c.accept for c in OUTPUTS) >= 20  # the test can fail both ways
    assert {"ignore-limits", "mode", "zero-width", "homoglyph", "ansi", "bidi", "markup",
            "fake-ticker"} <= {t for c in HEADLINES for t in c.tags}


async def test_hostile_model_outputs_when_traded_in_auto_mode_then_no_order_breaks_a_limit_and_every_rejection_is_recorded(
    openai_run: Run, fake_openai: tuple[Any, FakeModel]
) -> None:
    _, model = fake_openai
    run = openai_run
    problems: list[str] = []
    accepted = 0
    for k, case in enumerate(OUTPUTS):
        title = legit_headline(case.symbol, k)
        # the model is scripted per news id, which is known once the link is
        link_no = run.pushed + 1
        nid = news_id("wire", f"https://wire.example.com/story/{link_no}")
        model.script(nid, case.first, case.repair)
        item, events = await run.push(title, f"{NAMES[case.symbol]} news desk.")
        assert item.id == nid
        assert [e.symbols for e in events] == [(case.symbol,)], (case.name, events)
        rows = await run.decisions_for(item.id)
        if case.accept:
            accepted += _check_accepted(case, rows, problems)
        else:
            problems += rejection_problems(case.name, rows, model.sent.get(nid, []),
                                           case.reason, case.model_output)
    problems += await invariant_violations(run)
    assert not problems, "\n".join(problems[:40])
    assert accepted == sum(c.accept for c in OUTPUTS)

    # the corpus did reach the gate and the broker: the checks above were not vacuous
    orders = await run.engine.store.query("SELECT COUNT(*) AS n FROM orders")
    denials = await run.engine.store.query(
        "SELECT COUNT(*) AS n FROM risk_verdicts WHERE allowed = 0")
    from_ideas = await run.engine.store.query(
        "SELECT COUNT(*) AS n FROM ai_decisions WHERE outcome LIKE '%proposal_id%'")
    assert orders[0]["n"] > 0 and denials[0]["n"] > 0 and from_ideas[0]["n"] > 0
    # an endpoint that echoes the key: never in what is kept of a rejected answer
    echoed = await run.engine.store.query(
        "SELECT id FROM ai_decisions WHERE raw_output LIKE ? OR errors LIKE ? OR "
        "abstain_reason LIKE ? OR prompt LIKE ?", (f"%{FAKE_KEY}%",) * 4)
    assert not echoed


async def test_model_when_it_echoes_the_api_key_in_a_valid_rationale_then_the_key_never_reaches_the_database(
    openai_run: Run, fake_openai: tuple[Any, FakeModel]
) -> None:
    _, model = fake_openai
    [case] = [c for c in OUTPUTS if c.name == "echo-key-rationale"]
    nid = news_id("wire", f"https://wire.example.com/story/{openai_run.pushed + 1}")
    model.script(nid, case.first)
    item, _ = await openai_run.push(legit_headline(case.symbol, 0))
    [row] = await openai_run.decisions_for(item.id)
    assert row["parsed"] is not None  # the idea itself is valid and is traded on
    await openai_run.engine.stop()
    leaks = secret_leaks(openai_run.data_dir)
    assert not leaks, leaks


def _check_accepted(case: OutputCase, rows: list[dict[str, Any]], problems: list[str]) -> int:
    if len(rows) != 1 or rows[0]["parsed"] is None:
        problems.append(f"{case.name}: a valid idea was not accepted: "
                        f"{[(r['errors'], r['abstain_reason']) for r in rows]}")
        return 0
    row = rows[0]
    parsed = json.loads(row["parsed"])
    if parsed["symbol"] != case.symbol or _clean(parsed["rationale"]) is False:
        problems.append(f"{case.name}: accepted idea {parsed}")
    if case.repair is not None and not any(e.startswith("first answer:")
                                           for e in json.loads(row["errors"])):
        problems.append(f"{case.name}: the repaired answer lost the first answer's errors")
    if not json.loads(row["outcome"] or "{}").get("outcome"):
        problems.append(f"{case.name}: the accepted idea has no recorded outcome")
    return 1


async def _push_headlines(run: Run, model: FakeModel | None) -> tuple[list[str], int]:
    """Every headline case through the engine; problems found and analyst calls made."""
    assert run.engine.intelligence is not None
    floor = run.settings.news.analyze_min_impact
    problems: list[str] = []
    calls = 0
    for case in HEADLINES:
        nid = news_id("wire", f"https://wire.example.com/story/{run.pushed + 1}")
        if model is not None:
            model.script(nid, case.obeyed)
        item, events = await run.push(case.title, case.summary)
        [stored] = await run.engine.store.query("SELECT * FROM news_items WHERE id = ?", (nid,))
        symbols = json.loads(stored["symbols"])
        expected = [case.symbol] if case.maps else []
        if symbols != expected:
            problems.append(f"{case.name}: mapped to {symbols}, expected {expected}")
        if not _clean(stored["title"]) or not _clean(stored["summary"]):
            problems.append(f"{case.name}: control or invisible characters stored")
        rows = await run.decisions_for(item.id)
        analyzed = bool(events) and events[0].impact >= floor and bool(symbols)
        if case.maps and not analyzed:
            problems.append(f"{case.name}: too weak to reach the analyst; make it stronger")
        if len(rows) != (1 if analyzed else 0):
            problems.append(f"{case.name}: {len(rows)} analyst calls (analyzed={analyzed})")
        calls += len(rows)
        if model is not None and rows:
            accepted = rows[0]["parsed"] is not None
            if accepted != case.obeyed_accept:
                problems.append(f"{case.name}: compromised answer accepted={accepted}: "
                                f"{rows[0]['abstain_reason'][:200]}")
        if model is not None and not analyzed and model.sent.get(nid):
            problems.append(f"{case.name}: the model was asked about unmapped news")
    return problems, calls


async def test_hostile_headlines_when_the_rules_analyst_trades_them_then_tampered_tickers_map_to_nothing_and_no_limit_breaks(
    rules_run: Run,
) -> None:
    problems, calls = await _push_headlines(rules_run, None)
    problems += await invariant_violations(rules_run)
    assert not problems, "\n".join(problems[:40])
    assert calls == sum(c.maps for c in HEADLINES)
    ideas = await rules_run.engine.store.query(
        "SELECT COUNT(*) AS n FROM ai_decisions WHERE parsed IS NOT NULL")
    assert ideas[0]["n"] > 0  # the rules analyst did trade on the clean mentions


async def test_hostile_headlines_when_a_compromised_model_obeys_them_then_nothing_it_asks_for_happens(
    openai_run: Run, fake_openai: tuple[Any, FakeModel]
) -> None:
    _, model = fake_openai
    problems, calls = await _push_headlines(openai_run, model)
    problems += await invariant_violations(openai_run)
    assert not problems, "\n".join(problems[:40])
    assert calls == sum(c.maps for c in HEADLINES) and model.requests
    # what went over the wire: cleaned text, and a news fence no headline could close
    for body in model.requests:
        user = body["messages"][1]["content"]
        assert _clean(user), user[:300]
        assert user.count(NEWS_OPEN) == 1 and user.count(NEWS_CLOSE) == 1
        assert body["response_format"]["json_schema"]["strict"] is True
        symbol_schema = body["response_format"]["json_schema"]["schema"]["properties"]["symbol"]
        assert len(symbol_schema["enum"]) == 1 and symbol_schema["enum"][0] in UNIVERSE


# ---------------------------------------------------------------------------------------------
# the urgent path


def rss(*titles: str) -> str:
    """An RSS 2.0 document with one item per title."""
    items = "".join(
        f"<item><title>{t}</title><link>https://desk.example.com/{i}</link>"
        f"<guid>desk-{i}</guid><description>Desk wire.</description>"
        f"<pubDate>Mon, 05 Jan 2026 14:29:00 GMT</pubDate></item>"
        for i, t in enumerate(titles)
    )
    return (f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
            f"<title>Desk</title><link>https://desk.example.com/</link>"
            f"<description>test feed</description>{items}</channel></rss>")


URGENT = "Nvidia to acquire rival in $40 billion record deal; shares soar 25%"


async def test_urgent_item_when_ticked_then_a_proposal_or_a_recorded_no_trade(
    tmp_path: Path,
) -> None:
    feed = tmp_path / "desk.xml"
    feed.write_text(rss(URGENT), encoding="utf-8")
    env = environment(ROBO_TUI_NEWS__SOURCES=json.dumps(
        [{"name": "desk", "kind": "rss", "url": str(feed), "credibility": 0.9}]))
    run = await start(tmp_path / "data", env)
    try:
        await run.engine.tick()  # quotes, then the news poll and the urgent path: no cycle ran
        [news] = await run.engine.store.query("SELECT id, source, symbols FROM news_items")
        assert news["source"] == "desk" and json.loads(news["symbols"]) == ["NVDA"]
        [row] = await run.decisions_for(news["id"])
        assert row["provider"] == "rules" and row["symbol"] == "NVDA"
        outcome = json.loads(row["outcome"] or "{}").get("outcome", "")
        proposals = [e for e in run.events if isinstance(e, ProposalCreated)]
        if row["parsed"] is None:
            assert row["abstain_reason"], row  # the analyst's 'no trade', recorded
        elif outcome.startswith("no trade"):
            assert not any(p.proposal.symbol == "NVDA" for p in proposals)
        else:
            pid = json.loads(row["outcome"])["proposal_id"]
            assert any(p.proposal.id == pid and p.proposal.symbol == "NVDA" for p in proposals)
            assert outcome in ("proposal", "submitted", "denied"), outcome
        assert run.engine.cycle == 0
    finally:
        await run.engine.stop()


async def test_urgent_item_when_trading_is_halted_then_the_idea_is_recorded_as_no_trade(
    rules_run: Run,
) -> None:
    await rules_run.engine.halt("kill switch", by="ui")
    item, events = await rules_run.push(
        "Nvidia beats estimates and raises guidance; shares soar 14% to a record")
    assert events and rules_run.engine.intelligence is not None
    assert rules_run.engine.intelligence.is_urgent(events[0])
    [row] = await rules_run.decisions_for(item.id)
    assert row["parsed"] is not None  # the analyst still judged it
    outcome = json.loads(row["outcome"] or "{}").get("outcome", "")
    assert outcome.startswith("no trade") and "halt" in outcome
    assert not await rules_run.engine.store.query("SELECT client_order_id FROM orders")


# ---------------------------------------------------------------------------------------------
# the command line


def robo(*args: str, data_dir: Path, env: dict[str, str] | None = None
         ) -> subprocess.CompletedProcess[str]:
    """`robo-tui ARGS --data-dir DATA_DIR` in a fresh process with no user config."""
    full = {k: v for k, v in os.environ.items() if not k.startswith("ROBO_TUI_")}
    full["XDG_CONFIG_HOME"] = str(data_dir.parent / "xdg-config")
    full.update(env or {})
    return subprocess.run([sys.executable, "-m", "robo_tui.cli", *args, "--data-dir",
                           str(data_dir)], check=False, capture_output=True, text=True,
                          timeout=120, env=full, cwd=ROOT)


def db_rows(data_dir: Path, sql: str) -> list[dict[str, Any]]:
    db = sqlite3.connect(next(data_dir.glob("*.sqlite3")))
    db.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in db.execute(sql)]
    finally:
        db.close()


FEED_TITLES = (
    "Nvidia beats estimates and raises guidance; shares soar 14% to a record",
    "Exxon Mobil cuts dividend as profit plunges 35%",
    "Regulators open probe into Amazon; shares slide 9%",
)


def test_cli_when_rules_analyst_and_a_local_news_file_then_its_items_are_stored_with_their_source(
    tmp_path: Path,
) -> None:
    feed = tmp_path / "desk.xml"
    feed.write_text(rss(*FEED_TITLES), encoding="utf-8")
    data = tmp_path / "d"
    run = robo("--headless", "--once", "--analyst", "rules", "--news", str(feed), data_dir=data)
    assert run.returncode == 0, run.stderr
    rows = db_rows(data, "SELECT source, title, link, published, seen, symbols FROM news_items")
    assert sorted(r["title"] for r in rows) == sorted(FEED_TITLES)
    assert {r["source"] for r in rows} == {"cli-1"}
    assert all(r["link"].startswith("https://desk.example.com/") and r["published"]
               and r["seen"] for r in rows)
    assert {s for r in rows for s in json.loads(r["symbols"])} == {"NVDA", "XOM", "AMZN"}
    decisions = db_rows(data, "SELECT provider, symbol FROM ai_decisions")
    assert decisions and {d["provider"] for d in decisions} == {"rules"}
    assert {d["symbol"] for d in decisions} <= {"NVDA", "XOM", "AMZN"}


def test_cli_when_openai_analyst_against_the_local_server_then_its_calls_are_recorded_as_openai(
    tmp_path: Path, fake_openai: tuple[Any, FakeModel]
) -> None:
    server, model = fake_openai
    from hostile_corpus import _text, idea

    model.default = _text(idea())
    feed = tmp_path / "desk.xml"
    feed.write_text(rss(*FEED_TITLES), encoding="utf-8")
    data = tmp_path / "d"
    run = robo("--headless", "--once", "--analyst", "openai", "--news", str(feed),
               data_dir=data, env={"ROBO_TUI_ANALYSTS__OPENAI_BASE_URL": server.base_url,
                                   "ROBO_TUI_ANALYSTS__OPENAI_API_KEY": FAKE_KEY,
                                   "ROBO_TUI_ANALYSTS__TRANSPORT_RETRIES": "0"})
    assert run.returncode == 0, run.stderr
    decisions = db_rows(data, "SELECT provider, model, parsed, prompt FROM ai_decisions")
    assert decisions and {d["provider"] for d in decisions} == {"openai"}
    assert any(d["parsed"] is not None for d in decisions)  # the fake model's ideas passed
    assert len(model.requests) >= len(decisions)
    calls = server.calls("/v1/chat/completions")
    assert calls and all(c.headers["authorization"] == f"Bearer {FAKE_KEY}" for c in calls)
    assert FAKE_KEY not in run.stdout + run.stderr
    assert FAKE_KEY not in (data / "robo-tui.log").read_text(encoding="utf-8")
    assert not secret_leaks(data)


def test_cli_when_analyst_is_unknown_then_exits_2_naming_the_choices(tmp_path: Path) -> None:
    run = robo("--headless", "--once", "--analyst", "bogus", data_dir=tmp_path / "d")
    assert run.returncode == 2
    assert "bogus" in run.stderr and "rules" in run.stderr
    assert not list((tmp_path / "d").glob("*.sqlite3"))


def test_headline_cases_when_listed_then_every_symbol_is_attacked() -> None:
    by_symbol: dict[str, int] = defaultdict(int)
    for case in HEADLINES:
        by_symbol[case.symbol] += 1
    assert set(by_symbol) == set(UNIVERSE) and min(by_symbol.values()) >= 12
    assert all(isinstance(c, HeadlineCase) for c in HEADLINES)

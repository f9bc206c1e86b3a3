"""`robo-tui preflight`: every check a careful trader makes before real money, each a pass/fail
line with its fix.

The checks run against the adapters the config names (the same ones a live start would use),
given here as ports so that tests run them against the local fakes: broker reachable and the
account the venue reports, a real and fresh price for every symbol, real news, the analyst
answering, the clock, limits against the real equity, secrets, the database and disk, the kill
switch and open drift. Each check catches its own failure: one broken source never hides the
others' results.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import stat
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from robo_tui.config import Settings
from robo_tui.domain.analysis import AnalysisRequest
from robo_tui.domain.control import halted_after
from robo_tui.domain.frozen import frozen
from robo_tui.domain.market import AssetClass
from robo_tui.domain.news import EventType, MarketEvent, NewsItem
from robo_tui.domain.orders import AccountSnapshot
from robo_tui.ops.checks import CheckResult, PreflightReport
from robo_tui.ports import Analyst, Broker, MarketFeed, NewsSource, Store

CHECK_TIMEOUT = 20.0
"""Seconds one check's network call may take before it fails as unreachable."""
MIN_FREE_BYTES = 512 * 1024 * 1024
"""Free disk the data dir needs (the journal must never fill the disk mid-day)."""
MAX_CLOCK_SKEW = timedelta(seconds=5)
"""Largest allowed difference between this machine's clock and the venue's (or feed's) time."""


@runtime_checkable
class ReportsAccountKind(Protocol):
    """A broker whose venue names the connected account and says whether it is a paper one
    (IB: DU... ids). A venue with only real-money accounts (Robinhood) needs no such flag."""

    @property
    def account_id(self) -> str:
        """The account orders go to (after `connect`)."""
        ...

    @property
    def is_paper_account(self) -> bool:
        """Whether the venue reports it as paper trading."""
        ...


@runtime_checkable
class ReportsVenueTime(Protocol):
    """A broker that can ask its venue for the venue's clock (IB `reqCurrentTime`, Robinhood
    crypto's `Date` header): the clock check compares with it before the feed's timestamps."""

    async def venue_time(self) -> datetime:
        """The venue's time now (aware UTC); raises when the venue cannot say."""
        ...


@frozen
class PreflightInputs:
    """What the checks run against: the settings, the data dir's store and the adapters the
    config names (None: could not be built, with the reason in `build_errors`)."""

    settings: Settings
    data_dir: Path
    store: Store
    broker: Broker | None
    feed: MarketFeed | None
    news: Sequence[NewsSource]
    analyst: Analyst | None
    secrets_file: Path | None = None
    build_errors: tuple[tuple[str, str], ...] = ()
    """(check name, why its adapter could not be built)."""
    now: Callable[[], datetime] = lambda: datetime.now(UTC)
    min_free_bytes: int = MIN_FREE_BYTES
    wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    """This machine's clock, compared with the venue's (requests are signed and orders stamped
    with it; `now` may be a replayed market's time)."""


class _Facts:
    """What one check learns that a later one needs (the account, the quotes)."""

    def __init__(self) -> None:
        self.account: AccountSnapshot | None = None
        self.prices: dict[str, float] = {}
        self.latest_quote: datetime | None = None


async def run_preflight(inputs: PreflightInputs) -> PreflightReport:
    """Run every check in order and return the report (nothing is stored here)."""
    facts = _Facts()
    built = dict(inputs.build_errors)
    steps: list[tuple[str, Callable[[], Awaitable[CheckResult]]]] = [
        ("broker", lambda: _broker(inputs, facts)),
        ("prices", lambda: _prices(inputs, facts)),
        ("news", lambda: _news(inputs)),
        ("analyst", lambda: _analyst(inputs)),
        ("clock", lambda: _clock(inputs, facts)),
        ("limits", lambda: _limits(inputs, facts)),
        ("secrets", lambda: _secrets(inputs)),
        ("database", lambda: _database(inputs)),
        ("disk", lambda: _disk(inputs)),
        ("killswitch", lambda: _killswitch(inputs)),
        ("drift", lambda: _drift(inputs)),
    ]
    results = []
    for name, step in steps:
        if name in built:
            results.append(CheckResult(name, False, f"cannot be built: {built[name]}",
                                       "fix the config section it names (robo-tui config check)"))
            continue
        try:
            async with asyncio.timeout(CHECK_TIMEOUT):
                results.append(await step())
        except TimeoutError:
            results.append(CheckResult(name, False, f"no answer within {CHECK_TIMEOUT:g}s",
                                       "check the network and the service's host/port in the config"))
        except Exception as exc:  # noqa: BLE001 - one broken check never hides the others
            results.append(CheckResult(name, False, f"failed: {_describe(exc)}",
                                       "see the message; fix the config or the service and re-run"))
    return PreflightReport(ts=inputs.now(), checks=tuple(results))


async def _broker(inputs: PreflightInputs, facts: _Facts) -> CheckResult:
    kind = inputs.settings.broker.kind
    if kind == "paper" or inputs.broker is None:
        return CheckResult("broker", False, "broker.kind is 'paper': no real account to trade",
                           "set broker.kind to ib, robinhood or robinhood_crypto")
    broker = inputs.broker
    if not broker.is_live:
        return CheckResult("broker", False, f"{broker.name} was built for paper, not the live account",
                           "run preflight for live (it builds the live broker)")
    try:
        await broker.connect()
    except Exception as exc:  # noqa: BLE001 - the venue says why: wrong account type, refused login, ...
        return CheckResult("broker", False, f"{broker.name} unreachable or refused: {_describe(exc)}",
                           f"start the venue's gateway/API and check [broker.{kind}] (host, port, "
                           "account, keys); a paper account cannot be used live")
    named = ""
    if isinstance(broker, ReportsAccountKind):
        named = f" account {broker.account_id}"
        if broker.is_paper_account:
            return CheckResult("broker", False, f"{broker.name}{named} is a paper account as the "
                               "venue reports it", f"log the venue's gateway into the live account "
                               f"(and name it in [broker.{kind}]); a paper account cannot be used live")
    account = await broker.account()
    facts.account = account
    facts.prices.update(account.prices)
    if account.equity <= 0:
        return CheckResult("broker", False, f"{broker.name} reports equity {account.equity:,.2f}",
                           "fund the account or point the config at the funded one")
    return CheckResult("broker", True, f"{broker.name} live{named} reachable: equity "
                       f"{account.equity:,.2f}, cash {account.cash:,.2f}, "
                       f"{len(account.positions)} positions")


async def _prices(inputs: PreflightInputs, facts: _Facts) -> CheckResult:
    s = inputs.settings
    feed = inputs.feed
    if feed is None or feed.simulated or s.feeds.kind in ("sim", "replay"):
        return CheckResult("prices", False, f"feeds.kind = {s.feeds.kind!r} is not a real market",
                           "set feeds.kind to a real market-data source")
    await feed.connect()
    now = inputs.now()
    quotes = {q.symbol: q for q in await feed.quotes(now)}
    stale_after = timedelta(seconds=s.feeds.bar_seconds * s.feeds.stale_after_bars)
    problems = []
    for inst in s.universe.instruments:
        quote = quotes.get(inst.symbol)
        if quote is None or quote.last <= 0:
            problems.append(f"{inst.symbol}: no price")
            continue
        facts.prices[inst.symbol] = quote.last
        if facts.latest_quote is None or quote.ts > facts.latest_quote:
            facts.latest_quote = quote.ts
        if now - quote.ts > stale_after:
            problems.append(f"{inst.symbol}: last price {(now - quote.ts).total_seconds():,.0f}s old")
    if problems:
        return CheckResult("prices", False, f"{feed.name}: " + "; ".join(problems),
                           "check the feed's connection and market-data permissions for these "
                           "symbols, or remove them from [universe]")
    return CheckResult("prices", True, f"{feed.name}: fresh prices for all "
                       f"{len(s.universe.instruments)} symbols")


async def _news(inputs: PreflightInputs) -> CheckResult:
    sample = [n.name for n in inputs.news if _is_sample(n)]
    real = [n for n in inputs.news if not _is_sample(n)]
    if sample or not real:
        return CheckResult("news", False, "only the bundled sample news is configured" if not real
                           else f"sample news is on ({', '.join(sample)})",
                           "add [[news.sources]] (RSS/Atom or an API) and set news.sample = false")
    problems, fresh = [], 0
    for source in real:
        items = await source.fetch(inputs.now())
        health = source.health
        if not health.healthy:
            problems.append(f"{source.name}: {health.message or 'unhealthy'}")
        elif any(i.sample for i in items):
            problems.append(f"{source.name}: serves sample items")
        else:
            fresh += len(items)
    if problems:
        return CheckResult("news", False, "; ".join(problems),
                           "fix the source's URL or key in [[news.sources]], or disable it")
    return CheckResult("news", True, f"{len(real)} real sources reachable ({fresh} items now)")


def _is_sample(source: NewsSource) -> bool:
    """The bundled sample feed (read once, never polled)."""
    return source.poll_once


async def _analyst(inputs: PreflightInputs) -> CheckResult:
    analyst = inputs.analyst
    if analyst is None:
        return CheckResult("analyst", False, "no analyst is configured",
                           "set analysts.provider (rules is the offline floor)")
    now = inputs.now()
    symbol = inputs.settings.universe.instruments[0].symbol
    item = NewsItem(id="preflight", source="preflight", title=f"{symbol} preflight check",
                    summary="A test headline from robo-tui preflight; answer with the schema.",
                    link="", published=now, seen=now, symbols=(symbol,))
    event = MarketEvent(item=item, event_type=EventType.OTHER, symbols=(symbol,), impact=0.5,
                        sentiment=0.0, freshness=1.0)
    request = AnalysisRequest(symbol=symbol, now=now, events=(event,), snapshot=None,
                              universe=tuple(i.symbol for i in inputs.settings.universe.instruments),
                              allow_short=inputs.settings.risk.allow_short)
    before = _failed_calls(analyst.telemetry())
    outcome = await analyst.analyze(request)
    who = f"{outcome.provider}/{outcome.model}".rstrip("/")
    if _failed_calls(analyst.telemetry()) > before:  # an error, a timeout or an invalid answer
        return CheckResult("analyst", False, f"{who} failed: {outcome.abstain_reason or 'no answer'}",
                           "start the model server or fix analysts.provider/model and the "
                           "provider's host or key (`robo-tui config check` shows them)")
    if outcome.errors:
        return CheckResult("analyst", False, f"{who} did not answer the schema: "
                           + "; ".join(outcome.errors)[:300],
                           "check analysts.provider/model and the provider's host or key; "
                           "`robo-tui config check` shows them")
    answer = "an idea" if outcome.idea is not None else f"abstained ({outcome.abstain_reason or 'no idea'})"
    return CheckResult("analyst", True, f"{who} answered the schema: {answer} in "
                       f"{outcome.latency_ms:,.0f} ms")


def _failed_calls(telemetry: Mapping[str, Any]) -> int:
    """Calls that ended in an error, a timeout or an answer off the schema (telemetry counts)."""
    return sum(int(telemetry.get(key) or 0) for key in ("failures", "invalid", "incomplete"))


async def _clock(inputs: PreflightInputs, facts: _Facts) -> CheckResult:
    """The venue's own clock when the broker can ask for it (the skew either way); otherwise
    (or when the venue cannot say now) the feed's latest timestamp, which must not lie ahead."""
    broker = inputs.broker
    unasked = ""
    if broker is not None and facts.account is not None and isinstance(broker, ReportsVenueTime):
        try:
            before = inputs.wall_clock()
            venue = await broker.venue_time()
            after = inputs.wall_clock()
        except Exception as exc:  # noqa: BLE001 - the feed's time is the fallback; say why
            unasked = f" ({broker.name} could not tell its time: {_describe(exc)})"
        else:
            skew = (before + (after - before) / 2) - venue
            seconds = abs(skew.total_seconds())
            if abs(skew) > MAX_CLOCK_SKEW:
                way = "ahead of" if skew.total_seconds() > 0 else "behind"
                return CheckResult("clock", False, f"this machine is {seconds:,.1f}s {way} "
                                   f"{broker.name}'s clock", "enable time sync (timedatectl "
                                   "set-ntp true / chrony) and re-run")
            return CheckResult("clock", True, f"within {MAX_CLOCK_SKEW.total_seconds():g}s of "
                               f"{broker.name}'s clock ({seconds:,.1f}s apart)")
    if facts.latest_quote is None:
        return CheckResult("clock", False, f"no venue or feed time to compare with{unasked}",
                           "fix the prices check first")
    now = inputs.now()
    ahead = facts.latest_quote - now
    if ahead > MAX_CLOCK_SKEW:
        return CheckResult("clock", False, f"this machine is {ahead.total_seconds():,.1f}s behind "
                           f"the feed's latest timestamp{unasked}",
                           "enable time sync (timedatectl set-ntp true / chrony) and re-run")
    return CheckResult("clock", True, f"within {MAX_CLOCK_SKEW.total_seconds():g}s of the feed's "
                       f"time (latest price {(now - facts.latest_quote).total_seconds():,.1f}s "
                       f"ago){unasked}")


async def _limits(inputs: PreflightInputs, facts: _Facts) -> CheckResult:
    account, broker = facts.account, inputs.broker
    if account is None or broker is None:
        return CheckResult("limits", False, "no account equity to judge the limits against",
                           "fix the broker check first")
    risk = inputs.settings.risk
    equity, cash = account.equity, account.cash
    cap = min(risk.max_order_notional, risk.max_live_order_notional)
    max_position = risk.max_position_pct * equity
    problems = []
    if cap > cash:
        problems.append(f"the live order cap {cap:,.2f} is above buying power (cash {cash:,.2f})")
    largest = min(cap, max_position)
    for inst in inputs.settings.universe.instruments:
        price = facts.prices.get(inst.symbol)
        asset = AssetClass(inst.asset_class)
        if price is None or broker.capabilities(asset).fractional:
            continue
        if price > largest:
            problems.append(f"{inst.symbol}: one unit costs {price:,.2f}, above the largest order "
                            f"{largest:,.2f} (never tradable)")
    if problems:
        return CheckResult("limits", False, "; ".join(problems),
                           "lower risk.max_live_order_notional below "
                           "the cash, raise risk.max_position_pct, or drop the symbols")
    return CheckResult("limits", True, f"equity {equity:,.2f}: order cap {cap:,.2f}, max position "
                       f"{max_position:,.2f}, both within buying power")


async def _secrets(inputs: PreflightInputs) -> CheckResult:
    missing = _missing_secrets(inputs.settings)
    path = inputs.secrets_file
    if path is not None and path.exists():
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            return CheckResult("secrets", False, f"{path} is mode {mode:04o}, readable by others",
                               f"chmod 600 {path}")
    if missing:
        return CheckResult("secrets", False, "missing: " + ", ".join(missing),
                           "put them in the secrets file (mode 0600) or ROBO_TUI_* environment")
    where = f"{path} (0600)" if path is not None and path.exists() else "the environment"
    return CheckResult("secrets", True, f"present, from {where}")


def _missing_secrets(settings: Settings) -> list[str]:
    b, a = settings.broker, settings.analysts
    need: list[tuple[str, object]] = []
    if b.kind == "robinhood":
        need += [("broker.robinhood.username", b.robinhood.username),
                 ("broker.robinhood.password", b.robinhood.password)]
    elif b.kind == "robinhood_crypto":
        need += [("broker.robinhood_crypto.api_key", b.robinhood_crypto.api_key),
                 ("broker.robinhood_crypto.private_key", b.robinhood_crypto.private_key)]
    if a.provider == "openai":
        need.append(("analysts.openai_api_key", a.openai_api_key))
    elif a.provider == "anthropic":
        need.append(("analysts.anthropic_api_key", a.anthropic_api_key))
    return [name for name, value in need if not _secret_text(value)]


def _secret_text(value: object) -> str:
    getter = getattr(value, "get_secret_value", None)
    return str(getter()) if callable(getter) else str(value or "")


async def _database(inputs: PreflightInputs) -> CheckResult:
    rows = await inputs.store.query("PRAGMA integrity_check")
    answers = [str(next(iter(r.values()))) for r in rows]
    if answers != ["ok"]:
        return CheckResult("database", False, "integrity_check: " + "; ".join(answers[:5]),
                           "stop robo-tui, restore the database from a backup (docs/runbook.md)")
    return CheckResult("database", True, "integrity_check ok")


async def _disk(inputs: PreflightInputs) -> CheckResult:
    free = shutil.disk_usage(inputs.data_dir).free
    if free < inputs.min_free_bytes:
        return CheckResult("disk", False, f"{free / 2**20:,.0f} MiB free in {inputs.data_dir}",
                           f"free at least {inputs.min_free_bytes / 2**20:,.0f} MiB")
    return CheckResult("disk", True, f"{free / 2**30:,.1f} GiB free")


async def _killswitch(inputs: PreflightInputs) -> CheckResult:
    control = await inputs.store.load_control()
    pending = await inputs.store.pending_commands()
    if halted_after(control, pending):
        reason = control.halt_reason or "halted from the shell"
        return CheckResult("killswitch", False, f"HALTED: {reason}",
                           "find out why, then `robo-tui resume`")
    return CheckResult("killswitch", True, "not halted")


async def _drift(inputs: PreflightInputs) -> CheckResult:
    """Open drift between the journal and the venue, as the reconciliation records it; "no
    drift data" (a pass) until a reconciliation has stored any."""
    tables = [r["name"] for r in await inputs.store.query(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE '%drift%' ORDER BY name")]
    if not tables:
        return CheckResult("drift", True, "no drift data (no reconciliation recorded yet)")
    table = tables[0]
    rows = await inputs.store.query(f'SELECT * FROM "{table}" ORDER BY rowid DESC LIMIT 1')
    if not rows:
        return CheckResult("drift", True, f"no drift recorded ({table} is empty)")
    row = rows[0]
    status = str(row.get("status", "")).lower()
    is_open = status in ("open", "blocking", "blocked", "drift") or \
        (("resolved" in row) and not row["resolved"]) or bool(row.get("blocking"))
    if is_open:
        what = row.get("summary") or row.get("message") or row.get("symbol") or status
        return CheckResult("drift", False, f"open drift: {what}",
                           "read the drift report, fix the account or `orders resolve`, then re-run")
    return CheckResult("drift", True, f"last reconciliation clean ({table})")


def _describe(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


def secrets_file_for(config_path: Path | None) -> Path | None:
    """The secrets file `load_settings` reads for `config_path` (None when there is none)."""
    from robo_tui.config.fields import SECRETS_FILE_ENV, SECRETS_FILE_NAME
    from robo_tui.config.loading import default_config_path

    explicit = os.environ.get(SECRETS_FILE_ENV, "")
    if explicit:
        return Path(explicit).expanduser()
    folder = config_path.parent if config_path is not None else default_config_path().parent
    beside = folder / SECRETS_FILE_NAME
    return beside if beside.is_file() else None

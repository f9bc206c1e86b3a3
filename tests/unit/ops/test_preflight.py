"""`robo-tui preflight` against the local fakes: a sound live setup passes every check; each
broken setup fails its check with the fix named, and the others still run."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from robo_tui.adapters.brokers.ib import IbBroker
from robo_tui.adapters.brokers.shadow import ShadowBroker
from robo_tui.adapters.store.sqlite import SqliteStore
from robo_tui.config import Settings
from robo_tui.domain.risk import Mode
from robo_tui.engine.clock import SimClock
from robo_tui.ops.checks import CheckResult, PreflightReport
from robo_tui.ops.preflight import PreflightInputs, run_preflight
from robo_tui.ports import Broker, MarketFeed
from robo_tui.wiring import AnalystAdapters, build_broker, build_news_sources, with_overrides
from tests.unit.brokers_live.conftest import ib_settings
from tests.unit.brokers_live.fake_robinhood_crypto import FakeCryptoApi
from tests.unit.brokers_live.fake_tws import FakeTws

from .conftest import NOW, ExchangeFeed, fresh_feed, live_settings


async def preflight(settings: Settings, store: SqliteStore, clock: SimClock, *,
                    broker: Broker | None = None, feed: MarketFeed | None = None,
                    secrets_file: Path | None = None, **kw: Any) -> PreflightReport:
    broker = broker or build_broker(settings, Mode.LIVE, clock)
    news = build_news_sources(settings, clock)
    analyst = AnalystAdapters(settings, None).build(settings.analysts.provider)
    try:
        return await run_preflight(PreflightInputs(
            settings=settings, data_dir=store.path.parent, store=store, broker=broker,
            feed=feed or fresh_feed(), news=news, analyst=analyst, secrets_file=secrets_file,
            now=clock.now, **kw))
    finally:
        await broker.close()
        for source in news:
            await source.close()
        await analyst.close()


def check(report: PreflightReport, name: str) -> CheckResult:
    (found,) = [c for c in report.checks if c.name == name]
    return found


def only_failed(report: PreflightReport) -> Sequence[str]:
    return [c.name for c in report.failed]


async def test_preflight_when_the_live_setup_is_sound_then_every_check_passes(
        tmp_path: Path, api: FakeCryptoApi, store: SqliteStore, clock: SimClock) -> None:
    report = await preflight(live_settings(tmp_path, api), store, clock)
    assert report.passed, report.text()
    assert [c.name for c in report.checks] == ["broker", "prices", "news", "analyst", "clock",
                                               "limits", "secrets", "database", "disk",
                                               "killswitch", "drift"]
    assert "equity 20,000.00" in check(report, "broker").detail
    assert "no drift data" in check(report, "drift").detail
    assert "preflight PASSED (11 checks)" in report.text()


async def test_preflight_when_the_venue_is_unreachable_then_broker_fails_naming_its_config(
        tmp_path: Path, api: FakeCryptoApi, store: SqliteStore, clock: SimClock) -> None:
    settings = live_settings(tmp_path, api, ROBO_TUI_BROKER__ROBINHOOD_CRYPTO__BASE_URL="http://127.0.0.1:9")
    report = await preflight(settings, store, clock)
    broker = check(report, "broker")
    assert not broker.ok and "unreachable" in broker.detail
    assert "[broker.robinhood_crypto]" in broker.fix
    assert not check(report, "limits").ok  # no equity to judge them against
    assert check(report, "prices").ok and check(report, "news").ok  # the others still ran


async def test_preflight_when_the_broker_is_paper_then_broker_fails(
        tmp_path: Path, api: FakeCryptoApi, store: SqliteStore, clock: SimClock) -> None:
    settings = with_overrides(live_settings(tmp_path, api))
    settings = settings.model_copy(update={"broker": settings.broker.model_copy(update={"kind": "paper"})})
    report = await preflight(settings, store, clock, broker=build_broker(settings, Mode.PAPER, clock))
    assert "broker" in only_failed(report)
    assert "set broker.kind" in check(report, "broker").fix


async def test_preflight_when_ib_names_a_paper_account_for_live_then_broker_fails_saying_so(
        tmp_path: Path, api: FakeCryptoApi, store: SqliteStore, clock: SimClock) -> None:
    tws = FakeTws(accounts=("DU1234567",))
    await tws.start()
    try:
        ib = IbBroker(ib_settings(tws.port), clock=clock, live=True)
        report = await preflight(live_settings(tmp_path, api), store, clock, broker=ib)
    finally:
        await tws.stop()
    broker = check(report, "broker")
    assert not broker.ok and "paper" in broker.detail.lower()
    assert "a paper account cannot be used live" in broker.fix


async def test_preflight_when_a_price_is_stale_then_prices_fails_naming_the_symbol(
        tmp_path: Path, api: FakeCryptoApi, store: SqliteStore, clock: SimClock) -> None:
    report = await preflight(live_settings(tmp_path, api), store, clock,
                             feed=fresh_feed(age=timedelta(minutes=30)))
    prices = check(report, "prices")
    assert not prices.ok and "BTC-USD: last price 1,800s old" in prices.detail
    assert "market-data permissions" in prices.fix


async def test_preflight_when_a_symbol_has_no_price_then_prices_fails(
        tmp_path: Path, api: FakeCryptoApi, store: SqliteStore, clock: SimClock) -> None:
    report = await preflight(live_settings(tmp_path, api), store, clock, feed=ExchangeFeed({}))
    assert "BTC-USD: no price" in check(report, "prices").detail
    assert check(report, "clock").ok  # the venue's own clock needs no price to compare with


async def test_preflight_when_the_feed_is_the_simulated_market_then_prices_fails(
        tmp_path: Path, api: FakeCryptoApi, store: SqliteStore, clock: SimClock) -> None:
    settings = live_settings(tmp_path, api, ROBO_TUI_FEEDS__KIND="sim")
    report = await preflight(settings, store, clock)
    assert not check(report, "prices").ok
    assert "set feeds.kind to a real market-data source" == check(report, "prices").fix


async def test_preflight_when_only_sample_news_then_news_fails(
        tmp_path: Path, api: FakeCryptoApi, store: SqliteStore, clock: SimClock) -> None:
    settings = live_settings(tmp_path, api, ROBO_TUI_NEWS__SAMPLE="true",
                             ROBO_TUI_NEWS__SOURCES="[]")
    report = await preflight(settings, store, clock)
    news = check(report, "news")
    assert not news.ok and "sample" in news.detail
    assert "news.sample = false" in news.fix


async def test_preflight_when_a_news_file_is_missing_then_news_fails_naming_the_source(
        tmp_path: Path, api: FakeCryptoApi, store: SqliteStore, clock: SimClock) -> None:
    settings = live_settings(tmp_path, api)
    (tmp_path / "wire.xml").unlink()
    report = await preflight(settings, store, clock)
    news = check(report, "news")
    assert not news.ok and news.detail.startswith("wire:")
    assert "[[news.sources]]" in news.fix


async def test_preflight_when_the_analyst_is_unreachable_then_analyst_fails(
        tmp_path: Path, api: FakeCryptoApi, store: SqliteStore, clock: SimClock) -> None:
    settings = live_settings(tmp_path, api, ROBO_TUI_ANALYSTS__PROVIDER="ollama",
                             ROBO_TUI_ANALYSTS__OLLAMA_HOST="http://127.0.0.1:9",
                             ROBO_TUI_ANALYSTS__MODEL="llama3.2:3b")
    report = await preflight(settings, store, clock)
    analyst = check(report, "analyst")
    assert not analyst.ok, analyst
    assert "analysts.provider" in analyst.fix


async def test_preflight_when_the_venue_cannot_tell_its_time_and_the_feed_is_ahead_then_clock_fails(
        tmp_path: Path, api: FakeCryptoApi, store: SqliteStore, clock: SimClock) -> None:
    settings = live_settings(tmp_path, api)
    # a broker that cannot ask its venue for the time: the feed's timestamps are the fallback
    hidden = ShadowBroker(build_broker(settings, Mode.LIVE, clock))
    report = await preflight(settings, store, clock, broker=hidden,
                             feed=fresh_feed(age=timedelta(seconds=-60)))
    assert only_failed(report) == ["clock"]
    assert "60.0s behind the feed's latest timestamp" in check(report, "clock").detail
    assert "ntp" in check(report, "clock").fix.lower()


def _seconds(detail: str) -> float:
    return float(re.search(r"([0-9.]+)s (?:ahead of|behind|apart)", detail)[1])  # type: ignore[index]


async def test_preflight_when_the_venue_clock_agrees_then_clock_passes_on_the_venue_s_time(
        tmp_path: Path, api: FakeCryptoApi, store: SqliteStore, clock: SimClock) -> None:
    report = await preflight(live_settings(tmp_path, api), store, clock,
                             feed=fresh_feed(age=timedelta(seconds=-60)))  # the feed is not asked
    clock_check = check(report, "clock")
    assert clock_check.ok, clock_check
    assert "of robinhood_crypto's clock" in clock_check.detail
    assert _seconds(clock_check.detail) <= 1.5  # the Date header has whole seconds


async def test_preflight_when_robinhood_s_date_header_is_ahead_then_clock_fails_naming_the_venue(
        tmp_path: Path, api: FakeCryptoApi, store: SqliteStore, clock: SimClock) -> None:
    api.clock_offset = 12.0  # inside the API's 30 s signature window: requests still pass
    report = await preflight(live_settings(tmp_path, api), store, clock)
    assert only_failed(report) == ["clock"]
    detail = check(report, "clock").detail
    assert "behind robinhood_crypto's clock" in detail
    assert 10.5 <= _seconds(detail) <= 12.5
    assert "ntp" in check(report, "clock").fix.lower()


async def test_preflight_when_tws_reports_an_earlier_time_then_clock_fails_naming_ib(
        tmp_path: Path, api: FakeCryptoApi, store: SqliteStore, clock: SimClock) -> None:
    tws = FakeTws(accounts=("U7654321",))
    tws.clock_offset = -20.0  # TWS's clock 20 s behind this machine's
    await tws.start()
    try:
        ib = IbBroker(ib_settings(tws.port), clock=clock, live=True)
        report = await preflight(live_settings(tmp_path, api), store, clock, broker=ib)
        tws.clock_offset = 0.0
        agreeing = await preflight(live_settings(tmp_path, api), store, clock,
                                   broker=IbBroker(ib_settings(tws.port), clock=clock, live=True))
    finally:
        await tws.stop()
    assert check(report, "broker").ok, check(report, "broker")
    detail = check(report, "clock").detail
    assert not check(report, "clock").ok and "ahead of ib's clock" in detail, detail
    assert 19.0 <= _seconds(detail) <= 21.5
    assert check(agreeing, "clock").ok and "of ib's clock" in check(agreeing, "clock").detail


async def test_preflight_when_the_live_cap_is_above_buying_power_then_limits_fails(
        tmp_path: Path, store: SqliteStore, clock: SimClock) -> None:
    poor = FakeCryptoApi(cash=1_000.0)
    await poor.start()
    poor.set_price("BTC-USD", 60_000.0)
    try:
        report = await preflight(live_settings(tmp_path, poor), store, clock)
    finally:
        await poor.stop()
    limits = check(report, "limits")
    assert only_failed(report) == ["limits"]
    assert "live order cap 5,000.00 is above buying power (cash 1,000.00)" in limits.detail
    assert "risk.max_live_order_notional" in limits.fix


async def test_preflight_when_the_secrets_file_is_world_readable_then_secrets_fails_with_chmod(
        tmp_path: Path, api: FakeCryptoApi, store: SqliteStore, clock: SimClock) -> None:
    loose = tmp_path / "secrets.toml"
    settings = live_settings(tmp_path, api)
    loose.chmod(0o644)
    report = await preflight(settings, store, clock, secrets_file=loose)
    assert only_failed(report) == ["secrets"]
    assert check(report, "secrets").fix == f"chmod 600 {loose}"


async def test_preflight_when_the_analyst_key_is_missing_then_secrets_fails_naming_it(
        tmp_path: Path, api: FakeCryptoApi, store: SqliteStore, clock: SimClock) -> None:
    settings = live_settings(tmp_path, api, ROBO_TUI_ANALYSTS__PROVIDER="openai",
                             ROBO_TUI_ANALYSTS__OPENAI_BASE_URL="http://127.0.0.1:9/v1")
    report = await preflight(settings, store, clock)
    secrets = check(report, "secrets")
    assert not secrets.ok and secrets.detail == "missing: analysts.openai_api_key"
    assert "secrets file (mode 0600)" in secrets.fix


async def test_preflight_when_the_disk_is_nearly_full_then_disk_fails(
        tmp_path: Path, api: FakeCryptoApi, store: SqliteStore, clock: SimClock) -> None:
    report = await preflight(live_settings(tmp_path, api), store, clock, min_free_bytes=2**62)
    assert only_failed(report) == ["disk"]
    assert "free at least" in check(report, "disk").fix


async def test_preflight_when_the_kill_switch_is_pulled_then_killswitch_fails_saying_resume(
        tmp_path: Path, api: FakeCryptoApi, store: SqliteStore, clock: SimClock) -> None:
    await store.journal_command("halt", {"reason": "broker maintenance"}, "cli")
    report = await preflight(live_settings(tmp_path, api), store, clock)
    assert only_failed(report) == ["killswitch"]
    assert "broker maintenance" in check(report, "killswitch").detail or \
        "HALTED" in check(report, "killswitch").detail
    assert "robo-tui resume" in check(report, "killswitch").fix


async def test_preflight_when_the_reconciliation_left_open_drift_then_drift_fails(
        tmp_path: Path, api: FakeCryptoApi, store: SqliteStore, clock: SimClock) -> None:
    db = sqlite3.connect(store.path)
    db.execute("CREATE TABLE drift_reports (ts TEXT, status TEXT, summary TEXT)")
    db.execute("INSERT INTO drift_reports VALUES (?, 'open', 'BTC-USD: venue 0.2, journal 0.1')",
               (NOW.isoformat(),))
    db.commit()
    db.close()
    report = await preflight(live_settings(tmp_path, api), store, clock)
    assert only_failed(report) == ["drift"]
    assert "BTC-USD: venue 0.2, journal 0.1" in check(report, "drift").detail


async def test_preflight_when_the_database_is_damaged_then_database_fails(
        tmp_path: Path, api: FakeCryptoApi, clock: SimClock) -> None:
    class Damaged(SqliteStore):
        async def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
            if sql.startswith("PRAGMA integrity_check"):
                return [{"integrity_check": "*** in database main ***"},
                        {"integrity_check": "Page 7 is never used"}]
            return await super().query(sql, params)

    damaged = Damaged.for_data_dir(tmp_path / "data")
    await damaged.open()
    try:
        report = await preflight(live_settings(tmp_path, api), damaged, clock)
    finally:
        await damaged.close()
    assert only_failed(report) == ["database"]
    assert "Page 7 is never used" in check(report, "database").detail
    assert "backup" in check(report, "database").fix

"""Universe discovery from the venue: a crypto exchange through ccxt (its markets and tickers) or
Robinhood's official Crypto Trading API (its tradable pairs and best bid/ask), filtered.

With `[universe.discovery] enabled = true` (and `feeds.kind = "ccxt"` for the ccxt source), the
composition root asks
`discovered_settings` for the universe before it builds the engine: the exchange's active spot
markets quoted in the configured currency, filtered by 24 h volume, price and spread
(`robo_tui.domain.universe.select`), the most traded first. The result is kept in the data dir
(`universe/<exchange>.json`, with when and why each market was left out) and reused until it is
`refresh_hours` old, so a daily start refreshes it and a restart within the day does not call
the exchange. When the exchange cannot be reached the last kept universe is used (logged); with
none kept, the start fails naming the cause. The configured instruments stay the universe when
discovery is off, and keep their sector and name when discovery finds them too.

ccxt: public endpoints only (no keys), with ccxt's rate limiter on and `feeds.ccxt.base_url`
honoured; the sync ccxt client is used (before the engine's loop starts, and in a worker thread
for the daily refresh). Robinhood (`source = "robinhood_crypto"`): the account's API key signs
the requests (`broker.robinhood_crypto.base_url` honoured); the API gives no 24 h volume, so the
volume filter is skipped and the tightest spreads rank first. `rediscoverer` is the daily refresh
the engine's schedule runs while it is up (`Engine.set_universe` applies it).
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from robo_tui.adapters.feeds.ccxt_feed import EXTRA, point_at
from robo_tui.config.models import InstrumentSettings
from robo_tui.domain.market import Instrument
from robo_tui.domain.universe import Candidate, Selection, select

if TYPE_CHECKING:
    from robo_tui.adapters.brokers.robinhood_crypto.client import CryptoTradingClient
    from robo_tui.adapters.brokers.robinhood_crypto.models import BestBidAsk
    from robo_tui.config import Settings
    from robo_tui.config.ccxt_feed import CcxtFeedSettings

__all__ = ["Discovered", "candidates", "discovered_settings", "rediscoverer", "robinhood_candidates"]

log = logging.getLogger("robo_tui.feeds.universe")

_CODE = re.compile(r"^[A-Z0-9.]+$")
"""A currency code a universe symbol can hold (upper-case letters, digits, dots; no dash)."""


class DiscoveryError(ValueError):
    """The universe could not be discovered and none is kept; the message says why."""


@dataclass(frozen=True, slots=True)
class Discovered:
    """A discovered universe: its symbols (most traded first), when, from where, what was left out."""

    symbols: tuple[str, ...]
    at: datetime
    venue: str
    dropped: Mapping[str, str]

    def describe(self) -> str:
        """One line for the log and the console."""
        return (f"universe: {len(self.symbols)} markets from {self.venue} (discovered "
                f"{self.at:%Y-%m-%d %H:%M} UTC; {len(self.dropped)} left out): "
                + ", ".join(self.symbols))


def open_sync_exchange(settings: CcxtFeedSettings) -> Any:
    """A sync ccxt exchange for public data (rate limiter on, base URL overridden if set)."""
    try:
        import ccxt
    except ImportError as exc:
        raise DiscoveryError(f"universe discovery needs ccxt: pip install 'robo-tui[{EXTRA}]'") from exc
    if settings.exchange not in ccxt.exchanges:
        raise DiscoveryError(f"feeds.ccxt.exchange = {settings.exchange!r} is not a ccxt exchange")
    options: dict[str, Any] = {"enableRateLimit": True, "timeout": int(settings.timeout_seconds * 1000)}
    if settings.rate_limit_ms is not None:
        options["rateLimit"] = settings.rate_limit_ms
    exchange = getattr(ccxt, settings.exchange)(options)
    point_at(exchange, settings.base_url)
    return exchange


def candidates(exchange: Any) -> list[Candidate]:
    """Every active spot market of `exchange` with its ticker now, as universe candidates."""
    exchange.load_markets()
    tickers: Mapping[str, Mapping[str, Any]] = exchange.fetch_tickers()
    out: list[Candidate] = []
    for unified, market in exchange.markets.items():
        base, quote = market.get("base"), market.get("quote")
        if not market.get("spot", True) or market.get("active") is False or not base or not quote:
            continue
        if not (_CODE.match(base) and _CODE.match(quote)) or len(base) + len(quote) > 19:
            continue  # not expressible as a universe symbol BASE-QUOTE
        ticker = tickers.get(unified)
        if ticker is None:
            continue
        last = _num(ticker.get("last")) or _num(ticker.get("close"))
        out.append(Candidate(f"{base}-{quote}", base, quote, last, _num(ticker.get("bid")),
                             _num(ticker.get("ask")), _quote_volume(ticker, last)))
    return out


def _num(value: Any) -> float:
    try:
        return float(value) if value is not None else math.nan
    except (TypeError, ValueError):
        return math.nan


def _quote_volume(ticker: Mapping[str, Any], last: float) -> float:
    """24 h traded value in the quote currency: the venue's figure, else base volume x price."""
    quote_volume = _num(ticker.get("quoteVolume"))
    if math.isfinite(quote_volume):
        return quote_volume
    price = _num(ticker.get("vwap"))
    return _num(ticker.get("baseVolume")) * (price if math.isfinite(price) else last)


def _cache_path(data_dir: Path, venue: str) -> Path:
    return data_dir / "universe" / f"{venue}.json"


def _read_cache(path: Path) -> Discovered | None:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return Discovered(tuple(str(s) for s in raw["symbols"]),
                          datetime.fromisoformat(raw["at"]), str(raw["venue"]),
                          {str(k): str(v) for k, v in raw.get("dropped", {}).items()})
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write_cache(path: Path, found: Discovered) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"symbols": list(found.symbols), "at": found.at.isoformat(),
                               "venue": found.venue, "dropped": dict(found.dropped)}, indent=1),
                   encoding="utf-8")
    tmp.replace(path)


def venue_of(settings: Settings) -> str:
    """The discovery source's venue name (the kept file is named after it)."""
    if settings.universe.discovery.source == "robinhood_crypto":
        return "robinhood_crypto"
    return settings.feeds.ccxt.exchange


def _check_source(settings: Settings) -> None:
    """DiscoveryError when the configured source cannot run with these settings."""
    if settings.universe.discovery.source == "robinhood_crypto":
        rh = settings.broker.robinhood_crypto
        if rh.api_key is None or rh.private_key is None:
            raise DiscoveryError("universe.discovery.source = \"robinhood_crypto\" needs "
                                 "broker.robinhood_crypto.api_key and private_key (environment "
                                 "or the secrets file)")
        return
    if settings.feeds.kind != "ccxt":
        raise DiscoveryError(f"universe.discovery.enabled needs feeds.kind = \"ccxt\" (it is "
                             f"{settings.feeds.kind!r}); or list the instruments under [universe]")


async def robinhood_candidates(client: CryptoTradingClient) -> tuple[list[Candidate], dict[str, str]]:
    """Robinhood's tradable crypto pairs with their best bid/ask now, as universe candidates,
    and the pairs left out already (not tradable, no quote). The API reports no 24 h volume:
    each candidate's volume is NaN (the rules skip the volume filter for this source)."""
    pairs = await client.trading_pairs()
    dropped = {p.symbol: f"not tradable (status {p.status})" for p in pairs if p.status != "tradable"}
    tradable = [p for p in pairs if p.status == "tradable"]
    quotes: dict[str, BestBidAsk] = {}
    for n in range(0, len(tradable), _QUOTE_BATCH):
        batch = [p.symbol for p in tradable[n:n + _QUOTE_BATCH]]
        quotes.update((q.symbol, q) for q in await client.best_bid_ask(batch))
    out: list[Candidate] = []
    for p in tradable:
        q = quotes.get(p.symbol)
        if q is None:
            dropped[p.symbol] = "no best bid/ask"
            continue
        out.append(Candidate(p.symbol, p.asset_code, p.quote_code, float(q.price),
                             float(q.bid_inclusive_of_sell_spread),
                             float(q.ask_inclusive_of_buy_spread), math.nan))
    return out, dropped


_QUOTE_BATCH = 50
"""Pairs asked for in one best bid/ask request."""


def _robinhood_fetch(settings: Settings) -> tuple[list[Candidate], dict[str, str]]:
    """`robinhood_candidates` from the configured account, on a loop of its own (in a worker
    thread: the caller may be inside a running loop)."""
    from robo_tui.adapters.brokers.robinhood_crypto.client import CryptoTradingClient, Ed25519Signer

    rh = settings.broker.robinhood_crypto
    assert rh.api_key is not None and rh.private_key is not None  # _check_source
    try:
        signer = Ed25519Signer(rh.api_key.get_secret_value(), rh.private_key.get_secret_value())
    except ValueError as exc:
        raise DiscoveryError(f"broker.robinhood_crypto: {exc}") from None

    async def fetch() -> tuple[list[Candidate], dict[str, str]]:
        client = CryptoTradingClient(rh.base_url, signer, timeout=rh.timeout_seconds)
        try:
            return await robinhood_candidates(client)
        finally:
            await client.close()

    with ThreadPoolExecutor(1, thread_name_prefix="robo-tui discovery") as pool:
        return pool.submit(asyncio.run, fetch()).result()


def _fetch(settings: Settings, exchange: Any) -> Selection:
    rules = settings.universe.discovery.rules()
    if settings.universe.discovery.source == "robinhood_crypto":
        found, left_out = _robinhood_fetch(settings)
        chosen = select(found, rules)
        return Selection(chosen.chosen, {**left_out, **chosen.dropped})
    exchange = exchange or open_sync_exchange(settings.feeds.ccxt)
    return select(candidates(exchange), rules)


def discover(settings: Settings, data_dir: Path, now: datetime, *,
             exchange: Any = None, max_age: timedelta | None = None) -> Discovered:
    """The universe from the kept file when younger than `max_age` (`refresh_hours` unless
    given), else from the venue (then kept); the kept one when the venue fails; DiscoveryError
    when there is neither."""
    rules = settings.universe.discovery
    _check_source(settings)
    venue = venue_of(settings)
    path = _cache_path(data_dir, venue)
    kept = _read_cache(path)
    age = timedelta(hours=rules.refresh_hours) if max_age is None else max_age
    if kept is not None and now - kept.at < age:
        return kept
    try:
        chosen = _fetch(settings, exchange)
    except DiscoveryError:
        raise
    except Exception as exc:  # noqa: BLE001 - any venue failure: fall back to the kept universe
        why = f"universe discovery on {venue} failed: {type(exc).__name__}: {str(exc)[:200]}"
        if kept is not None:
            log.warning("%s; using the universe kept from %s", why, kept.at.isoformat())
            return kept
        raise DiscoveryError(why) from None
    if not chosen.chosen:
        raise DiscoveryError(f"no {venue} market passes [universe.discovery] (quote "
                             f"{rules.quote}, min_volume {rules.min_volume:,.0f}, max_spread_bps "
                             f"{rules.max_spread_bps:g}); e.g. " + "; ".join(
                                 f"{s}: {w}" for s, w in list(chosen.dropped.items())[:3]))
    found = Discovered(tuple(chosen.symbols), now, venue, chosen.dropped)
    _write_cache(path, found)
    return found


def _instrument_rows(settings: Settings, symbols: Sequence[str]) -> list[dict[str, Any]]:
    """The universe rows of `symbols`: a configured instrument keeps its sector and name."""
    configured = {i.symbol: i.model_dump() for i in settings.universe.instruments}
    return [configured.get(s) or {"symbol": s, "asset_class": "crypto", "sector": "Crypto",
                                  "name": s.split("-")[0]} for s in symbols]


def discovered_settings(settings: Settings, data_dir: Path, *, now: datetime | None = None,
                        exchange: Any = None) -> Settings:
    """`settings` with the discovered universe (unchanged when discovery is off)."""
    if not settings.universe.discovery.enabled:
        return settings
    if settings.universe.discovery.source == "ccxt" and settings.feeds.kind != "ccxt":
        log.warning("universe.discovery.enabled needs feeds.kind = \"ccxt\" (it is %r): "
                    "trading the instruments listed under [universe]", settings.feeds.kind)
        return settings
    found = discover(settings, data_dir, now or datetime.now(UTC), exchange=exchange)
    log.info("%s", found.describe())
    data = settings.model_dump()
    data["universe"]["instruments"] = _instrument_rows(settings, found.symbols)
    return type(settings).model_validate(data)


REFRESH_MAX_AGE = timedelta(hours=1)
"""The daily refresh asks the venue again unless the kept universe is younger than this (a start
just before the job already asked)."""


def rediscoverer(settings: Settings, data_dir: Path, *, exchange: Any = None
                 ) -> Callable[[datetime], Awaitable[list[Instrument]]]:
    """The daily refresh the engine's schedule runs: the universe discovered now, as instruments
    (the venue is asked in a worker thread; a failing venue falls back to the kept universe)."""

    async def refresh(now: datetime) -> list[Instrument]:
        found = await asyncio.to_thread(discover, settings, data_dir, now, exchange=exchange,
                                        max_age=REFRESH_MAX_AGE)
        log.info("%s", found.describe())
        rows = _instrument_rows(settings, found.symbols)
        return [InstrumentSettings.model_validate(r).to_instrument() for r in rows]

    return refresh

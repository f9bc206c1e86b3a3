"""A local Kraken REST server on 127.0.0.1 that answers the real public endpoints' shapes.

The real ccxt library, unmodified, is pointed at it through `feeds.ccxt.base_url`. It serves
`/0/public/Assets` and `/0/public/AssetPairs` (what `load_markets` reads), `/0/public/OHLC`
and `/0/public/Ticker`, with Kraken's JSON envelope (`{"error": [], "result": {...}}`), string
prices and epoch-second timestamps. Its market is a deterministic minute grid from `start` to
`now` (settable), and the newest bar is the one still forming, as on Kraken.

One difference, on purpose: Kraken's OHLC answers the newest 720 bars after `since`; this
server answers the oldest 720 after it (as Binance or Bitstamp do) unless `newest_only` is set,
so paging is exercised. Tests script a 429 (`throttle`), an outage (`down`), bad prints (`bad_bars`) and tickers
(`ticker_override`), and read back every request (`requests`).
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlparse

ASSETS = {
    "XXBT": {"aclass": "currency", "altname": "XBT", "decimals": 10, "display_decimals": 5,
             "collateral_value": 1.0, "status": "enabled"},
    "XETH": {"aclass": "currency", "altname": "ETH", "decimals": 10, "display_decimals": 5,
             "collateral_value": 1.0, "status": "enabled"},
    "ZUSD": {"aclass": "currency", "altname": "USD", "decimals": 4, "display_decimals": 2,
             "status": "enabled"},
    "USDT": {"aclass": "currency", "altname": "USDT", "decimals": 8, "display_decimals": 4,
             "status": "enabled"},
}


def _pair(altname: str, wsname: str, base: str, quote: str, decimals: int) -> dict[str, Any]:
    return {
        "altname": altname, "wsname": wsname, "aclass_base": "currency", "base": base,
        "aclass_quote": "currency", "quote": quote, "lot": "unit", "cost_decimals": 5,
        "pair_decimals": decimals, "lot_decimals": 8, "lot_multiplier": 1,
        "leverage_buy": [2, 3], "leverage_sell": [2, 3],
        "fees": [[0, 0.4], [10000, 0.35]], "fees_maker": [[0, 0.25], [10000, 0.2]],
        "fee_volume_currency": "ZUSD", "margin_call": 80, "margin_stop": 40,
        "ordermin": "0.00005", "costmin": "0.5", "tick_size": "0.1", "status": "online",
    }


ASSET_PAIRS = {
    "XXBTZUSD": _pair("XBTUSD", "XBT/USD", "XXBT", "ZUSD", 1),
    "XETHZUSD": _pair("ETHUSD", "ETH/USD", "XETH", "ZUSD", 2),
    "XBTUSDT": _pair("XBTUSDT", "XBT/USDT", "XXBT", "USDT", 1),
}
BASE_PRICE = {"XXBTZUSD": 50_000.0, "XETHZUSD": 3_000.0, "XBTUSDT": 50_010.0}


class FakeKraken:
    """Kraken's public REST API over a deterministic market; see the module docstring."""

    def __init__(self, start: int, now: int, step: int = 60) -> None:
        self.start = start - start % step
        self.now = now
        self.step = step
        self.newest_only = False
        self.throttle = 0
        """The next this many requests answer 429 with Retry-After."""
        self.retry_after = "1"
        self.down = False
        """While set, every request answers 503 with Kraken's EService:Unavailable (an outage)."""
        self.bad_bars: dict[tuple[str, int], dict[str, str]] = {}
        """(pair, bar time) -> fields replaced in that bar (e.g. {"close": "0"})."""
        self.ticker_override: dict[str, dict[str, Any]] = {}
        self.requests: list[str] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """The base URL to give ccxt."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def paths(self, prefix: str) -> list[str]:
        """The requests whose path starts with `prefix`."""
        with self._lock:
            return [r for r in self.requests if r.startswith(prefix)]

    def price(self, pair: str, t: int) -> float:
        """The deterministic close of `pair`'s bar opening at `t`."""
        n = (t - self.start) // self.step
        return round(BASE_PRICE[pair] * (1 + 0.01 * math.sin(n / 7.0)) + n * 0.5, 1)

    def bar(self, pair: str, t: int) -> list[Any]:
        """One OHLC row as Kraken sends it: [time, open, high, low, close, vwap, volume, count]."""
        close = self.price(pair, t)
        open_ = self.price(pair, t - self.step) if t > self.start else close
        row = {"open": f"{open_:.1f}", "high": f"{max(open_, close) + 5:.1f}",
               "low": f"{min(open_, close) - 5:.1f}", "close": f"{close:.1f}"}
        row.update(self.bad_bars.get((pair, t), {}))
        return [t, row["open"], row["high"], row["low"], row["close"], row["close"],
                "1.50000000", 12]

    def _ohlc(self, query: dict[str, str]) -> dict[str, Any]:
        pair = query["pair"]
        step = int(query.get("interval", "1")) * 60
        assert step == self.step, "the fake serves one interval"
        last_open = self.now - self.now % step  # the forming bar
        times = list(range(self.start, last_open + 1, step))
        if "since" in query:
            times = [t for t in times if t > int(query["since"])]
        times = times[-720:] if self.newest_only else times[:720]
        rows = [self.bar(pair, t) for t in times]
        return {pair: rows, "last": times[-1] if times else int(query.get("since", 0))}

    def _ticker(self, query: dict[str, str]) -> dict[str, Any]:
        """One pair, several (comma-separated) or, without `pair`, every pair, as Kraken does."""
        pairs = query["pair"].split(",") if "pair" in query else list(ASSET_PAIRS)
        out: dict[str, Any] = {}
        for pair in pairs:
            out.update(self._one_ticker(pair))
        return out

    def _one_ticker(self, pair: str) -> dict[str, Any]:
        last = self.price(pair, self.now - self.now % self.step)
        body = {"a": [f"{last + 0.5:.1f}", "1", "1.000"], "b": [f"{last - 0.5:.1f}", "2", "2.000"],
                "c": [f"{last:.1f}", "0.00100000"], "v": ["10.0", "100.0"],
                "p": [f"{last:.1f}", f"{last:.1f}"], "t": [100, 1000],
                "l": [f"{last - 50:.1f}", f"{last - 90:.1f}"],
                "h": [f"{last + 50:.1f}", f"{last + 90:.1f}"], "o": f"{last - 10:.1f}"}
        body.update(self.ticker_override.get(pair, {}))
        return {pair: body}

    def answer(self, raw: str, path: str, query: dict[str, str]) -> tuple[int, dict[str, str], Any]:
        """Status, headers and JSON body for one GET (`raw` is the path with its query)."""
        with self._lock:
            self.requests.append(raw)
            if self.throttle > 0:
                self.throttle -= 1
                return 429, {"Retry-After": self.retry_after}, {"error": ["EAPI:Rate limit exceeded"]}
            if self.down:
                return 503, {}, {"error": ["EService:Unavailable"]}
        routes = {
            "/0/public/Assets": lambda: ASSETS,
            "/0/public/AssetPairs": lambda: ASSET_PAIRS,
            "/0/public/OHLC": lambda: self._ohlc(query),
            "/0/public/Ticker": lambda: self._ticker(query),
        }
        if path not in routes:
            return 404, {}, {"error": ["EGeneral:Unknown method"]}
        return 200, {}, {"error": [], "result": routes[path]()}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parsed = urlparse(self.path)
                query = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
                status, headers, body = server.answer(self.path, parsed.path, query)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                return

        return Handler

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


@contextmanager
def fake_kraken(start: int, now: int, step: int = 60) -> Iterator[FakeKraken]:
    """A running FakeKraken for the `with` block."""
    with FakeKraken(start, now, step) as server:
        yield server

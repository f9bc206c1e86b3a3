"""A fake Robinhood API on 127.0.0.1 answering the endpoints robin_stocks calls, with the real
response shapes (api.robinhood.com and nummus.robinhood.com paths).

robin_stocks talks HTTPS to fixed hosts through one module-global `requests.Session`
(`robin_stocks.robinhood.helper.SESSION`). `redirect_robin_stocks(server)` mounts a requests
transport adapter on that session for the two hosts that rewrites each request to this server
(`https://api.robinhood.com/x` → `http://127.0.0.1:<port>/api/x`, nummus → `/nummus/x`); URLs in
the payloads stay the real ones, as the library expects. Nothing in robo_tui is patched.

Served: OAuth2 password login (with a TOTP check), accounts, positions, instruments, quotes,
stock orders (create, get, list, cancel), crypto account, currency pairs, forex quotes, crypto
orders and holdings, stock and crypto historicals (series set with `set_bars`). It is a tiny exchange: market orders fill at the set price, limits rest
until the price reaches them, stop orders trigger on price; shares held by open sells cannot be
sold twice; cash and positions are booked. Failure modes: `hang_orders` (an order POST never
answers: the order is *not* created), `accept_then_hang` (the order is created, the answer
comes only when released), `fail_after_create` (the order is created, the answer is this HTTP
error), `order_status_code` (order POSTs fail with this HTTP error, nothing created),
`reject_orders` (400 with a reason).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pyotp
from requests import PreparedRequest, Response
from requests.adapters import HTTPAdapter

API = "https://api.robinhood.com"
NUMMUS = "https://nummus.robinhood.com"
ACCOUNT = "5RH00042"
CRYPTO_PAIRS = {"BTC": "3d961844-d360-45fc-989b-f6fca761d511",
                "ETH": "76637d50-c702-4ed1-bcb5-5b0732a81f48"}


def _num(value: float) -> str:
    return f"{value:.8f}"


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _instrument_id(symbol: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"robinhood-instrument-{symbol}"))


@dataclass(frozen=True)
class Seen:
    """One request the server received."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: dict[str, Any]


class FakeRobinhood:
    """The fake API server (threaded, port 0). `start()` returns its port."""

    def __init__(self, *, username: str = "trader@example.com", password: str = "hunter2-pass",
                 totp_seed: str | None = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", cash: float = 100_000.0) -> None:
        self.username, self.password, self.totp_seed = username, password, totp_seed
        self.cash = cash
        self.prices: dict[str, float] = {}
        self.positions: dict[str, float] = {}  # symbol (AAPL, BTC-USD) → quantity
        self.costs: dict[str, float] = {}  # symbol → total cost basis
        self.orders: dict[str, dict[str, Any]] = {}
        self.crypto_orders: dict[str, dict[str, Any]] = {}
        self.bars: dict[str, list[tuple[datetime, float, float, float, float, float]]] = {}
        self.historical_requests: list[tuple[str, str, str]] = []
        self.seen: list[Seen] = []
        self.tokens: set[str] = set()
        self.fee_per_sell = 0.0
        self.hang_orders = False
        self.accept_then_hang = False
        self.order_status_code: int | None = None
        self.fail_after_create: int | None = None
        self.reject_orders: str | None = None
        self.lock = threading.RLock()
        self._release = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # ------------------------------------------------------------------ control

    def start(self) -> int:
        fake = self

        class Handler(_Handler):
            server_fake = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()
        return self.port

    def stop(self) -> None:
        self._release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def release_hung(self) -> None:
        """Let hung order requests finish."""
        self._release.set()

    def set_price(self, symbol: str, price: float) -> None:
        """The market trades at `price`: resting limits and stops it reaches fill."""
        with self.lock:
            self.prices[symbol] = price
            for o in list(self.orders.values()) + list(self.crypto_orders.values()):
                if o["state"] in ("queued", "confirmed", "unconfirmed") and o["_symbol"] == symbol:
                    self._try_fill(o)

    def requests_to(self, method: str, path_prefix: str) -> list[Seen]:
        return [s for s in self.seen if s.method == method and s.path.startswith(path_prefix)]

    # ------------------------------------------------------------------ exchange

    def _held_for_sells(self, symbol: str) -> float:
        return sum(float(o["quantity"]) - float(o["cumulative_quantity"])
                   for o in list(self.orders.values()) + list(self.crypto_orders.values())
                   if o["_symbol"] == symbol and o["side"] == "sell"
                   and o["state"] in ("queued", "confirmed", "unconfirmed"))

    def _marketable(self, o: dict[str, Any], price: float) -> bool:
        buy = o["side"] == "buy"
        if o.get("trigger") == "stop":
            stop = float(o["stop_price"])
            return price >= stop if buy else price <= stop
        if o["type"] == "market":
            return True
        limit = float(o["price"])
        return price <= limit if buy else price >= limit

    def _try_fill(self, o: dict[str, Any]) -> None:
        price = self.prices.get(o["_symbol"])
        if price is None or not self._marketable(o, price):
            return
        qty = float(o["quantity"]) - float(o["cumulative_quantity"])
        sign = 1 if o["side"] == "buy" else -1
        fee = self.fee_per_sell if sign < 0 and o["_kind"] == "stock" else 0.0
        self.cash -= sign * qty * price + fee
        held = self.positions.get(o["_symbol"], 0.0)
        if sign > 0:
            self.costs[o["_symbol"]] = self.costs.get(o["_symbol"], 0.0) + qty * price
        elif held:
            self.costs[o["_symbol"]] = self.costs.get(o["_symbol"], 0.0) * (held - qty) / held
        self.positions[o["_symbol"]] = held + sign * qty
        if abs(self.positions[o["_symbol"]]) < 1e-12:
            del self.positions[o["_symbol"]]
            self.costs.pop(o["_symbol"], None)
        execution: dict[str, Any] = {"id": str(uuid.uuid4()), "quantity": _num(qty), "timestamp": _now()}
        if o["_kind"] == "crypto":
            execution["effective_price"] = _num(price)
        else:
            execution |= {"price": _num(price), "settlement_date": datetime.now(UTC).date().isoformat()}
        o["executions"].append(execution)
        o["cumulative_quantity"] = _num(float(o["cumulative_quantity"]) + qty)
        o["average_price"] = _num(price)
        o["fees"] = f"{float(o.get('fees') or 0) + fee:.2f}"
        o["state"] = "filled"
        o["updated_at"] = _now()
        o["cancel"] = o["cancel_url"] = None

    def _new_stock_order(self, body: dict[str, str]) -> tuple[int, dict[str, Any]]:
        symbol = body.get("symbol", "")
        side, qty = body.get("side", ""), float(body.get("quantity") or 0)
        if self.reject_orders:
            return 400, {"detail": self.reject_orders}
        if side == "sell" and qty > self.positions.get(symbol, 0.0) - self._held_for_sells(symbol) + 1e-9:
            return 400, {"detail": "Not enough shares to sell."}
        price = self.prices.get(symbol, 0.0)
        if side == "buy" and qty * price > self.cash:
            return 400, {"detail": "You do not have enough buying power to place this order."}
        oid = str(uuid.uuid4())
        o: dict[str, Any] = {
            "id": oid, "ref_id": body.get("ref_id"), "url": f"{API}/orders/{oid}/",
            "account": f"{API}/accounts/{ACCOUNT}/",
            "instrument": f"{API}/instruments/{_instrument_id(symbol)}/",
            "cancel": f"{API}/orders/{oid}/cancel/", "executions": [], "fees": "0.00",
            "state": "queued", "side": side, "type": body.get("type"),
            "trigger": body.get("trigger", "immediate"), "time_in_force": body.get("time_in_force"),
            "quantity": _num(qty), "cumulative_quantity": _num(0), "average_price": None,
            "price": body.get("price"), "stop_price": body.get("stop_price"),
            "reject_reason": None, "created_at": _now(), "updated_at": _now(),
            "_symbol": symbol, "_kind": "stock",
        }
        self.orders[oid] = o
        self._try_fill(o)
        return 201, o

    def _new_crypto_order(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        code = next((c for c, pid in CRYPTO_PAIRS.items() if pid == body.get("currency_pair_id")), "")
        symbol, side, qty = f"{code}-USD", body.get("side", ""), float(body.get("quantity") or 0)
        if self.reject_orders:
            return 400, {"detail": self.reject_orders}
        if side == "sell" and qty > self.positions.get(symbol, 0.0) + 1e-12:
            return 400, {"detail": "Insufficient holdings."}
        oid = str(uuid.uuid4())
        o: dict[str, Any] = {
            "id": oid, "ref_id": body.get("ref_id"), "account_id": "crypto-account-1",
            "currency_pair_id": body.get("currency_pair_id"), "side": side, "type": body.get("type"),
            "time_in_force": body.get("time_in_force"), "quantity": _num(qty),
            "price": _num(float(body.get("price") or 0)), "cumulative_quantity": _num(0),
            "average_price": None, "state": "unconfirmed", "executions": [],
            "cancel_url": f"{NUMMUS}/orders/{oid}/cancel/", "created_at": _now(),
            "updated_at": _now(), "_symbol": symbol, "_kind": "crypto",
        }
        self.crypto_orders[oid] = o
        self._try_fill(o)
        return 201, o

    # ------------------------------------------------------------------ routes

    def handle(self, method: str, path: str, query: dict[str, list[str]],
               headers: dict[str, str], body: dict[str, Any]) -> tuple[int, Any]:
        with self.lock:
            self.seen.append(Seen(method, path, query, headers, body))
        if path == "/api/oauth2/token/" and method == "POST":
            return self._login(body)
        auth = headers.get("Authorization", "")
        if auth.partition(" ")[2] not in self.tokens:
            return 401, {"detail": "Authentication credentials were not provided."}
        if method == "POST" and path in ("/api/orders/", "/nummus/orders/"):
            if self.hang_orders:
                self._release.wait(30)
                return 504, {"detail": "gateway timeout"}
            if self.order_status_code is not None:
                return self.order_status_code, {"detail": "upstream error"}
            with self.lock:
                status, payload = (self._new_stock_order(body) if path == "/api/orders/"
                                   else self._new_crypto_order(body))
            if self.accept_then_hang:
                self._release.wait(30)
            if self.fail_after_create is not None and status < 400:
                return self.fail_after_create, {"detail": "upstream timeout"}
            return status, _public(payload)
        with self.lock:
            return self._route(method, path, query)

    def _login(self, body: dict[str, Any]) -> tuple[int, Any]:
        ok = body.get("username") == self.username and body.get("password") == self.password
        if ok and self.totp_seed is not None:
            ok = pyotp.TOTP(self.totp_seed).verify(str(body.get("mfa_code", "")), valid_window=1)
        if not ok:
            return 400, {"detail": "Unable to log in with provided credentials."}
        token = f"tok-{uuid.uuid4().hex}"
        self.tokens.add(token)
        return 200, {"access_token": token, "token_type": "Bearer", "expires_in": 86400,
                     "refresh_token": f"ref-{uuid.uuid4().hex}", "scope": "internal",
                     "mfa_code": None, "backup_code": None}

    def _account(self) -> dict[str, Any]:
        return {"url": f"{API}/accounts/{ACCOUNT}/", "account_number": ACCOUNT, "type": "cash",
                "cash": f"{self.cash:.2f}", "portfolio_cash": f"{self.cash:.2f}",
                "buying_power": f"{self.cash:.2f}", "crypto_buying_power": f"{self.cash:.2f}",
                "cash_held_for_orders": "0.00", "deactivated": False}

    def _route(self, method: str, path: str, query: dict[str, list[str]]) -> tuple[int, Any]:
        parts = [p for p in path.split("/") if p]
        if path == "/api/accounts/" or path == f"/api/accounts/{ACCOUNT}":
            acct = self._account()
            return 200, (acct if path.endswith(ACCOUNT) else _page([acct]))
        if path == "/api/positions/":
            rows = [{"instrument": f"{API}/instruments/{_instrument_id(s)}/",
                     "account_number": ACCOUNT, "quantity": _num(q),
                     "average_buy_price": f"{self.costs.get(s, 0.0) / q:.4f}",
                     "shares_held_for_sells": _num(self._held_for_sells(s))}
                    for s, q in self.positions.items() if "-" not in s]
            return 200, _page(rows)
        if path == "/api/instruments/":
            symbol = query.get("symbol", [""])[0]
            known = symbol in self.prices
            return 200, _page([_instrument(symbol)] if known else [])
        if parts[:2] == ["api", "instruments"] and len(parts) == 3:
            found = next((s for s in self.prices if _instrument_id(s) == parts[2]), None)
            return (200, _instrument(found)) if found else (404, {"detail": "Not found."})
        if path == "/api/quotes/":
            symbols = query.get("symbols", [""])[0].split(",")
            return 200, {"results": [self._quote(s) if s in self.prices else None for s in symbols]}
        if parts[:2] == ["api", "orders"]:
            return self._order_route(method, parts[2:], self.orders)
        if parts[:2] == ["nummus", "orders"]:
            return self._order_route(method, parts[2:], self.crypto_orders)
        if path == "/nummus/accounts/":
            return 200, _page([{"id": "crypto-account-1", "status": "active"}])
        if path == "/nummus/currency_pairs/":
            return 200, _page([{"id": pid, "symbol": f"{code}-USD", "tradability": "tradable",
                                "asset_currency": {"code": code, "increment": "0.00000001"},
                                "quote_currency": {"code": "USD", "increment": "0.01"},
                                "min_order_quantity_increment": "0.00000001"}
                               for code, pid in CRYPTO_PAIRS.items()])
        if parts[:4] == ["api", "marketdata", "forex", "quotes"]:
            code = next((c for c, pid in CRYPTO_PAIRS.items() if pid == parts[4]), "")
            p = self.prices.get(f"{code}-USD", 0.0)
            return 200, {"id": parts[4], "symbol": f"{code}USD", "ask_price": _num(p),
                         "bid_price": _num(p), "mark_price": _num(p)}
        if path == "/nummus/holdings/":
            holdings: list[dict[str, Any]] = [{"currency": {"code": s.partition("-")[0]}, "quantity": _num(q),
                     "quantity_available": _num(q),
                     "cost_bases": [{"direct_cost_basis": _num(self.costs.get(s, 0.0)),
                                     "direct_quantity": _num(q)}]}
                    for s, q in self.positions.items() if "-" in s]
            return 200, _page(holdings)
        if (answer := self._historicals(parts, query)) is not None:
            return answer
        return 404, {"detail": f"no fake route for {method} {path}"}

    def _order_route(self, method: str, rest: list[str], book: dict[str, dict[str, Any]]) -> tuple[int, Any]:
        if not rest:
            return 200, _page([_public(o) for o in book.values()])
        o = book.get(rest[0])
        if o is None:
            return 404, {"detail": "Not found."}
        if rest[1:] == ["cancel"] and method == "POST":
            if o["state"] not in ("queued", "confirmed", "unconfirmed"):
                return 400, {"detail": "Order cannot be cancelled."}
            o["state"] = "cancelled" if o["_kind"] == "stock" else "canceled"
            o["cancel"] = o["cancel_url"] = None
            o["updated_at"] = _now()
            return 200, {}
        return 200, _public(o)

    def _quote(self, symbol: str) -> dict[str, Any]:
        p = self.prices[symbol]
        return {"symbol": symbol, "ask_price": _num(p), "bid_price": _num(p),
                "last_trade_price": _num(p), "last_extended_hours_trade_price": None,
                "previous_close": _num(p), "trading_halted": False, "has_traded": True,
                "instrument": f"{API}/instruments/{_instrument_id(symbol)}/",
                "updated_at": _now()}

    # ------------------------------------------------------------------ historicals (the feed)

    def set_bars(self, symbol: str, rows: list[tuple[datetime, float, float, float, float, float]]) -> None:
        """The bar series of `symbol` (AAPL or BTC-USD): (begins_at, open, high, low, close, volume)."""
        with self.lock:
            self.bars[symbol] = list(rows)

    def add_bar(self, symbol: str, row: tuple[datetime, float, float, float, float, float]) -> None:
        """One more bar of `symbol` (its price becomes the last close)."""
        with self.lock:
            self.bars.setdefault(symbol, []).append(row)

    def _historical_points(self, symbol: str, span: str) -> list[dict[str, Any]]:
        days = {"hour": 1 / 24, "day": 1, "week": 7, "month": 31, "3month": 92, "year": 366, "5year": 1830}[span]
        rows = self.bars.get(symbol, [])
        if not rows:
            return []
        start = rows[-1][0] - timedelta(days=days)
        return [{"begins_at": ts.isoformat().replace("+00:00", "Z"), "open_price": _num(o),
                 "close_price": _num(c), "high_price": _num(h), "low_price": _num(lo),
                 "volume": int(v), "session": "reg", "interpolated": False}
                for ts, o, h, lo, c, v in rows if ts >= start]

    def _historicals(self, parts: list[str], query: dict[str, list[str]]) -> tuple[int, Any] | None:
        """GET /quotes/historicals/?symbols=&interval=&span=&bounds= (stocks) and
        /marketdata/forex/historicals/<pair id>/ (crypto), in Robinhood's shapes."""
        interval, span = query.get("interval", [""])[0], query.get("span", [""])[0]
        bounds = query.get("bounds", [""])[0]
        if parts == ["api", "quotes", "historicals"]:
            results = []
            for symbol in query.get("symbols", [""])[0].split(","):
                results.append({"symbol": symbol, "interval": interval, "span": span, "bounds": bounds,
                                "instrument": f"{API}/instruments/{_instrument_id(symbol)}/",
                                "historicals": self._historical_points(symbol, span)})
            self.historical_requests.append((",".join(query.get("symbols", [""])), interval, span))
            return 200, {"results": results}
        if parts[:4] == ["api", "marketdata", "forex", "historicals"] and len(parts) == 5:
            code = next((c for c, pid in CRYPTO_PAIRS.items() if pid == parts[4]), None)
            if code is None:
                return 404, {"detail": "Not found."}
            self.historical_requests.append((f"{code}-USD", interval, span))
            return 200, {"bounds": bounds, "interval": interval, "span": span, "symbol": f"{code}USD",
                         "id": parts[4], "open_price": None, "open_time": None,
                         "previous_close_price": None, "previous_close_time": None,
                         "data_points": self._historical_points(f"{code}-USD", span)}
        return None


def _instrument(symbol: str) -> dict[str, Any]:
    iid = _instrument_id(symbol)
    return {"id": iid, "url": f"{API}/instruments/{iid}/", "symbol": symbol, "tradeable": True,
            "fractional_tradability": "tradable", "state": "active", "type": "stock"}


def _page(results: list[Any]) -> dict[str, Any]:
    return {"next": None, "previous": None, "results": results}


def _public(order: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in order.items() if not k.startswith("_")}


class _Handler(BaseHTTPRequestHandler):
    server_fake: FakeRobinhood

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _serve(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode() if length else ""
        body: dict[str, Any] = {}
        if raw:
            if "json" in (self.headers.get("Content-Type") or ""):
                body = json.loads(raw)
            else:
                body = {k: v[-1] for k, v in parse_qs(raw).items()}
        status, payload = self.server_fake.handle(self.command, parts.path, parse_qs(parts.query),
                                                  dict(self.headers), body)
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_DELETE = _serve


class _Redirect(HTTPAdapter):
    """Sends https://api.robinhood.com/... and https://nummus.robinhood.com/... to the fake."""

    def __init__(self, port: int) -> None:
        super().__init__()
        self.port = port

    def send(self, request: PreparedRequest, stream: bool = False,
             timeout: float | tuple[float | None, float | None] | None = None,
             verify: bool | str = True, cert: str | tuple[str, str] | None = None,
             proxies: dict[str, str] | None = None) -> Response:
        url = request.url or ""
        for host, prefix in ((API, "/api"), (NUMMUS, "/nummus")):
            if url.startswith(host):
                request.url = f"http://127.0.0.1:{self.port}{prefix}{url[len(host):]}"
        return super().send(request, stream, timeout if timeout is not None else 10.0,
                            verify, cert, proxies)


@contextmanager
def redirect_robin_stocks(server: FakeRobinhood) -> Iterator[None]:
    """Point robin_stocks' own session at `server`, and reset the library's login state after."""
    from robin_stocks.robinhood import helper

    adapter = _Redirect(server.port)
    helper.SESSION.mount(API + "/", adapter)
    helper.SESSION.mount(NUMMUS + "/", adapter)
    try:
        yield
    finally:
        for prefix in (API + "/", NUMMUS + "/"):
            helper.SESSION.adapters.pop(prefix, None)
        helper.set_login_state(False)
        helper.SESSION.headers.pop("Authorization", None)
        time.sleep(0)

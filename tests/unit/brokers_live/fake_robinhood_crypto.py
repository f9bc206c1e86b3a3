"""A fake of Robinhood's official Crypto Trading API on 127.0.0.1 (plain asyncio HTTP/1.1).

It checks every request as the venue does: the three headers (`x-api-key`, `x-timestamp`,
`x-signature`; a missing one is a 400 in plain text), a known API key, a timestamp within 30 s
of its clock, and the Ed25519 signature over api key + timestamp + path (with query) + method +
body, against the registered public key (a bad one is a 401 with the venue's error envelope).

It is a tiny exchange: `set_price` moves a pair's bid and ask; market orders fill at once,
limits rest until the price reaches them, stop-loss sells trigger on the bid; units reserved by
open sells cannot be sold twice; buying power and holdings are booked. `client_order_id` is
idempotent (a repeat returns the original order). Listings paginate with a cursor
(`page_size`). Failure modes: `drop_next_order_answer` (the order is created, the connection is
closed without an answer), `hang_order_posts` (order POSTs are created but never answered until
`release`), `rate_limit(n, retry_after)` (the next n requests get 429).
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from email.utils import formatdate
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

ACCOUNT = "CRYPTO-5RH00042"
TIMESTAMP_WINDOW = 30
PAIRS = {
    "BTC-USD": ("BTC", "0.01", "0.00000001", "0.000001", "20"),
    "ETH-USD": ("ETH", "0.01", "0.000001", "0.0001", "500"),
}


def _now_iso() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _error(detail: str, kind: str = "client_error", attr: str | None = None) -> dict[str, Any]:
    return {"type": kind, "errors": [{"detail": detail, "attr": attr}]}


def new_keys() -> tuple[str, str]:
    """(private key seed in base64, public key in base64), as Robinhood's key guide makes them."""
    key = Ed25519PrivateKey.generate()
    seed = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return base64.b64encode(seed).decode(), base64.b64encode(public).decode()


@dataclass
class Seen:
    """One request the server received."""

    method: str
    path: str
    headers: dict[str, str]
    body: str
    status: int = 0


@dataclass
class _Answer:
    status: int
    body: Any = None
    text: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False
    hang: bool = False


class FakeCryptoApi:
    """The fake venue. `await start()` returns its base URL."""

    def __init__(self, *, api_key: str = "rh-api-key-0123456789", cash: float = 100_000.0,
                 page_size: int = 2, pairs: dict[str, tuple[str, str, str, str, str]] | None = None) -> None:
        self.api_key = api_key
        self.private_key, public = new_keys()
        self._public = Ed25519PublicKey.from_public_bytes(base64.b64decode(public))
        self.cash = Decimal(str(cash))
        self.page_size = page_size
        self.pairs = dict(pairs or PAIRS)
        self.prices: dict[str, Decimal] = {}
        self.pair_status: dict[str, str] = {}
        """Pair -> its listed status when not "tradable" (e.g. "untradable")."""
        self.half_spread: dict[str, Decimal] = {}
        """Pair -> how far its quoted bid and ask sit from the price (best bid/ask only)."""
        self.holdings: dict[str, Decimal] = {}  # asset code → units
        self.orders: dict[str, dict[str, Any]] = {}  # id → order (creation order kept)
        self.by_client_id: dict[str, str] = {}
        self.seen: list[Seen] = []
        self.clock_offset = 0.0
        self.drop_next_order_answer = False
        self.hang_order_posts = False
        self._rate_limited = 0
        self._retry_after = 1.0
        self._released = asyncio.Event()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.base_url = ""

    # ------------------------------------------------------------------ control

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.base_url = f"http://127.0.0.1:{port}"
        return self.base_url

    async def stop(self) -> None:
        self._released.set()
        for w in list(self._writers):
            w.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def release(self) -> None:
        """Let hung order answers go (the connection is then closed without an answer)."""
        self._released.set()

    def rate_limit(self, requests: int, retry_after: float = 1.0) -> None:
        """Answer the next `requests` requests with 429 and this `Retry-After`."""
        self._rate_limited, self._retry_after = requests, retry_after

    def set_price(self, symbol: str, price: float) -> None:
        """Trade `symbol` at `price` (bid = ask); resting orders that it reaches fill."""
        self.prices[symbol] = Decimal(str(price))
        self._match(symbol)

    def requests_to(self, method: str, path_prefix: str) -> list[Seen]:
        return [s for s in self.seen if s.method == method and s.path.startswith(path_prefix)]

    # ------------------------------------------------------------------ HTTP

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, target, _ = lines[0].split(" ", 2)
                headers = {k.strip().lower(): v.strip() for k, _, v in
                           (line.partition(":") for line in lines[1:] if line)}
                length = int(headers.get("content-length", "0") or 0)
                body = (await reader.readexactly(length)).decode() if length else ""
                seen = Seen(method, target, headers, body)
                self.seen.append(seen)
                answer = self._handle(method, target, headers, body)
                seen.status = answer.status
                if answer.hang:
                    self._released.clear()
                    await self._released.wait()
                    return
                if answer.drop:
                    return
                await self._write(writer, answer, formatdate(time.time() + self.clock_offset,
                                                             usegmt=True))
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            return
        finally:
            self._writers.discard(writer)
            writer.close()

    @staticmethod
    async def _write(writer: asyncio.StreamWriter, answer: _Answer, date: str = "") -> None:
        if answer.text is not None:
            payload, ctype = answer.text.encode(), "text/plain"
        elif answer.body is None:
            payload, ctype = b"", "application/json"
        else:
            payload, ctype = json.dumps(answer.body).encode(), "application/json"
        extra = "".join(f"{k}: {v}\r\n" for k, v in answer.headers.items())
        extra += f"date: {date}\r\n" if date else ""  # the venue's clock, as a real server's
        writer.write(f"HTTP/1.1 {answer.status} X\r\ncontent-type: {ctype}\r\n"
                     f"content-length: {len(payload)}\r\n{extra}\r\n".encode() + payload)
        await writer.drain()

    def _auth(self, method: str, target: str, headers: dict[str, str], body: str) -> _Answer | None:
        key, ts, sig = (headers.get(h) for h in ("x-api-key", "x-timestamp", "x-signature"))
        if not key or not ts or not sig:
            return _Answer(400, text="Request missing required headers. Required headers: "
                           "x-api-key, x-signature, x-timestamp. Please refer to API "
                           "documentation for more information.")
        if key != self.api_key:
            return _Answer(401, _error("Invalid API key."))
        try:
            stamp = int(ts)
        except ValueError:
            return _Answer(401, _error("Invalid timestamp."))
        if abs(time.time() + self.clock_offset - stamp) > TIMESTAMP_WINDOW:
            return _Answer(401, _error("Timestamp is invalid or has expired."))
        try:
            self._public.verify(base64.b64decode(sig), f"{key}{ts}{target}{method}{body}".encode())
        except (InvalidSignature, ValueError):
            return _Answer(401, _error("Failed to verify signature."))
        return None

    def _handle(self, method: str, target: str, headers: dict[str, str], body: str) -> _Answer:
        refused = self._auth(method, target, headers, body)
        if refused is not None:
            return refused
        if self._rate_limited > 0:
            self._rate_limited -= 1
            return _Answer(429, _error("Request was throttled."),
                           headers={"retry-after": f"{self._retry_after:g}"})
        url = urlsplit(target)
        query = parse_qsl(url.query)
        path = url.path
        routes = {
            ("GET", "/api/v1/crypto/trading/accounts/"): lambda: _Answer(200, self._account()),
            ("GET", "/api/v1/crypto/trading/trading_pairs/"): lambda: self._page(target, self._pairs(query), query),
            ("GET", "/api/v1/crypto/trading/holdings/"): lambda: self._page(target, self._holdings(), query),
            ("GET", "/api/v1/crypto/marketdata/best_bid_ask/"): lambda: _Answer(200, {"results": self._quotes(query)}),
            ("GET", "/api/v1/crypto/trading/orders/"): lambda: self._page(target, self._list(query), query),
            ("POST", "/api/v1/crypto/trading/orders/"): lambda: self._place(body),
        }
        route = routes.get((method, path))
        if route is not None:
            return route()
        parts = path.strip("/").split("/")
        if len(parts) >= 6 and parts[:5] == ["api", "v1", "crypto", "trading", "orders"]:
            order = self.orders.get(parts[5])
            if order is None:
                return _Answer(404, _error("Not found."))
            if method == "GET" and len(parts) == 6:
                return _Answer(200, order)
            if method == "POST" and parts[6:] == ["cancel"]:
                if order["state"] not in ("open", "partially_filled"):
                    return _Answer(400, _error(f"Order is {order['state']} and cannot be canceled."))
                order["state"] = "canceled"
                order["updated_at"] = _now_iso()
                return _Answer(200, None)
        return _Answer(404, _error("Not found."))

    def _page(self, target: str, rows: list[dict[str, Any]], query: list[tuple[str, str]]) -> _Answer:
        start = int(dict(query).get("cursor", "0") or 0)
        end = start + self.page_size
        nxt = None
        if end < len(rows):
            rest = [(k, v) for k, v in query if k != "cursor"] + [("cursor", str(end))]
            nxt = f"https://trading.robinhood.com{urlsplit(target).path}?{urlencode(rest)}"
        return _Answer(200, {"next": nxt, "previous": None, "results": rows[start:end]})

    # ------------------------------------------------------------------ the venue

    def _reserved_cash(self) -> Decimal:
        return sum((Decimal(o["limit_order_config"]["asset_quantity"])
                    * Decimal(o["limit_order_config"]["limit_price"])
                    for o in self.orders.values()
                    if o["side"] == "buy" and o["type"] == "limit" and o["state"] == "open"),
                   Decimal(0))

    def _reserved_units(self, code: str) -> Decimal:
        return sum((_qty(o) - Decimal(o["filled_asset_quantity"]) for o in self.orders.values()
                    if o["side"] == "sell" and o["state"] in ("open", "partially_filled")
                    and self.pairs[o["symbol"]][0] == code), Decimal(0))

    def _account(self) -> dict[str, Any]:
        return {"account_number": ACCOUNT, "status": "active",
                "buying_power": str(self.cash - self._reserved_cash()),
                "buying_power_currency": "USD"}

    def _pairs(self, query: list[tuple[str, str]]) -> list[dict[str, Any]]:
        wanted = {v for k, v in query if k == "symbol"}
        return [{"symbol": s, "asset_code": code, "quote_code": "USD", "quote_increment": qi,
                 "asset_increment": ai, "min_order_size": lo, "max_order_size": hi,
                 "status": self.pair_status.get(s, "tradable")}
                for s, (code, qi, ai, lo, hi) in self.pairs.items() if not wanted or s in wanted]

    def _holdings(self) -> list[dict[str, Any]]:
        return [{"account_number": ACCOUNT, "asset_code": code, "total_quantity": str(units),
                 "quantity_available_for_trading": str(units - self._reserved_units(code))}
                for code, units in self.holdings.items() if units > 0]

    def _quotes(self, query: list[tuple[str, str]]) -> list[dict[str, Any]]:
        out = []
        for _, symbol in query:
            price = self.prices.get(symbol)
            if price is not None:
                half = self.half_spread.get(symbol, Decimal(0))
                out.append({"symbol": symbol, "price": str(price),
                            "bid_inclusive_of_sell_spread": str(price - half), "sell_spread": "0",
                            "ask_inclusive_of_buy_spread": str(price + half), "buy_spread": "0",
                            "timestamp": _now_iso()})
        return out

    def _list(self, query: list[tuple[str, str]]) -> list[dict[str, Any]]:
        q = dict(query)
        rows = list(reversed(self.orders.values()))  # newest first, like the venue
        for key in ("symbol", "side", "state", "type"):
            if key in q:
                rows = [o for o in rows if o[key] == q[key]]
        if "created_at_start" in q:
            rows = [o for o in rows if o["created_at"] >= q["created_at_start"]]
        return rows

    def _place(self, text: str) -> _Answer:
        try:
            req = json.loads(text)
        except ValueError:
            return _Answer(400, _error("Malformed JSON.", "validation_error"))
        coid = str(req.get("client_order_id") or "")
        try:
            uuid.UUID(coid)
        except ValueError:
            return _Answer(400, _error("Must be a valid UUID.", "validation_error", "client_order_id"))
        if coid in self.by_client_id:  # idempotent: the original order, nothing new
            return _Answer(201, self.orders[self.by_client_id[coid]])
        problem = self._check(req)
        if problem:
            return _Answer(400, _error(problem[1], "validation_error", problem[0]))
        now = _now_iso()
        order = {"id": str(uuid.uuid4()), "account_number": ACCOUNT, "client_order_id": coid,
                 "symbol": req["symbol"], "side": req["side"], "type": req["type"],
                 "state": "open", "average_price": None, "filled_asset_quantity": "0",
                 "created_at": now, "updated_at": now, "executions": [],
                 f"{req['type']}_order_config": req[f"{req['type']}_order_config"]}
        self.orders[order["id"]] = order
        self.by_client_id[coid] = order["id"]
        self._match(order["symbol"])
        if self.hang_order_posts:
            return _Answer(201, order, hang=True)
        if self.drop_next_order_answer:
            self.drop_next_order_answer = False
            return _Answer(201, order, drop=True)
        return _Answer(201, order)

    def _check(self, req: dict[str, Any]) -> tuple[str, str] | None:
        symbol, kind, side = req.get("symbol"), req.get("type"), req.get("side")
        if symbol not in self.pairs:
            return "symbol", f"{symbol} is not a supported trading pair."
        if side not in ("buy", "sell") or kind not in ("market", "limit", "stop_loss", "stop_limit"):
            return "type", "Invalid side or type."
        config = req.get(f"{kind}_order_config")
        if not isinstance(config, dict):
            return f"{kind}_order_config", "This field is required."
        code, qi, ai, lo, hi = self.pairs[symbol]
        qty = Decimal(str(config.get("asset_quantity", "0")))
        if qty % Decimal(ai) != 0 or qty < Decimal(lo) or qty > Decimal(hi):
            return "asset_quantity", f"Quantity must be a multiple of {ai} between {lo} and {hi}."
        for name in ("limit_price", "stop_price"):
            if name in config and Decimal(str(config[name])) % Decimal(qi) != 0:
                return name, f"Price must be a multiple of {qi}."
        if side == "sell":
            free = self.holdings.get(code, Decimal(0)) - self._reserved_units(code)
            if qty > free:
                return "asset_quantity", "Not enough quantity available for trading."
        elif kind == "market":
            price = self.prices.get(symbol)
            if price is None or qty * price > self.cash - self._reserved_cash():
                return "asset_quantity", "Insufficient buying power."
        return None

    def _match(self, symbol: str) -> None:
        price = self.prices.get(symbol)
        if price is None:
            return
        for order in list(self.orders.values()):
            if order["symbol"] != symbol or order["state"] not in ("open", "partially_filled"):
                continue
            kind, side = order["type"], order["side"]
            config = order[f"{kind}_order_config"]
            if kind == "market":
                hit = True
            elif kind == "limit":
                limit = Decimal(config["limit_price"])
                hit = price <= limit if side == "buy" else price >= limit
            else:  # a sell stop triggers at or below its stop, a buy stop at or above
                stop = Decimal(config["stop_price"])
                hit = price <= stop if side == "sell" else price >= stop
                if kind == "stop_limit":  # then it is a limit order
                    limit = Decimal(config["limit_price"])
                    hit = hit and (price >= limit if side == "sell" else price <= limit)
            if hit:
                self._fill(order, _qty(order) - Decimal(order["filled_asset_quantity"]), price)

    def fill_part(self, symbol: str, fraction: float) -> None:
        """Fill `fraction` of every resting buy limit in `symbol` at its limit (a partial fill)."""
        for order in list(self.orders.values()):
            if (order["symbol"] == symbol and order["type"] == "limit" and order["side"] == "buy"
                    and order["state"] in ("open", "partially_filled")):
                ai = Decimal(self.pairs[symbol][2])
                part = (_qty(order) * Decimal(str(fraction)) / ai).to_integral_value() * ai
                self._fill(order, part, Decimal(order["limit_order_config"]["limit_price"]))

    def _fill(self, order: dict[str, Any], qty: Decimal, price: Decimal) -> None:
        if qty <= 0:
            return
        code = self.pairs[order["symbol"]][0]
        sign = 1 if order["side"] == "buy" else -1
        self.cash -= sign * qty * price
        self.holdings[code] = self.holdings.get(code, Decimal(0)) + sign * qty
        order["executions"].append({"effective_price": str(price), "quantity": str(qty),
                                    "timestamp": _now_iso()})
        filled = Decimal(order["filled_asset_quantity"]) + qty
        order["filled_asset_quantity"] = str(filled)
        order["average_price"] = str(price)
        order["state"] = "filled" if filled >= _qty(order) else "partially_filled"
        order["updated_at"] = _now_iso()


def _qty(order: dict[str, Any]) -> Decimal:
    return Decimal(str(order[f"{order['type']}_order_config"]["asset_quantity"]))
